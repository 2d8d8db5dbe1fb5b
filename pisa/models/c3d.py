"""The PISA paper's small 3D CNN for video clips (Sec. 5, Fig. 4)."""
from __future__ import annotations

from typing import Optional, Sequence, Tuple, Union

import torch
from torch import nn

from pisa.models.weights import load_backbone_weights
from pisa.registry import component


def _pair(size: Union[int, Sequence[int]]) -> Tuple[int, int]:
    if isinstance(size, int):
        return size, size
    height, width = size
    return int(height), int(width)


@component("backbone")
class C3D(nn.Module):
    """The paper's C3D: five 3x3x3 conv blocks (padding 1, ReLU, then max-pool),
    C64-P-C128-P-C256-P-C256-P-C256-P, whose flattened last pool is the feature.

    The first pool is spatial only (kernel ``(1, 2, 2)``), the others ``(2, 2, 2)``,
    so a 16-frame clip keeps its temporal extent one block longer (as in C3D). The last
    pool pads its spatial dims by one (``last_pool_padding=(0, 1, 1)``, as C3D's pool5
    does), so a 16x112x112 clip leaves 256 x 1 x 4 x 4 = 4096 values: the 4096-d feature
    of Fig. 4, with no fully connected layer between the 3D CNN and the heads. Shapes are
    computed from ``clip_len`` and ``size``, so any clip shape the config names fits.

    ``feature_dim=None`` (the paper's layout): the output is the flattened last pool
    (``out_features = flat_features``), then dropout; no extra ReLU, since the pooled
    values follow a ReLU already. ``feature_dim=int`` adds a Linear projection of that
    size, then ReLU and dropout (for narrowed models that want a small feature).

    Parameters at the paper's widths (64, 128, 256, 256, 256): 4,651,008 without a
    projection (the five convs, ``sum(27 * c_in * c_out + c_out)``); with
    ``feature_dim=4096`` a 4096 -> 4096 Linear adds 16,781,312 (21,432,320 in all). The
    earlier layout (unpadded pool5, 2304 values, Linear 2304 -> 4096) had 14,092,288, of
    which 9,441,280 in the Linear; it is ``last_pool_padding=(0, 0, 0), feature_dim=4096``.

    Input ``(N, in_channels, clip_len, H, W)`` with ``(H, W) = size``; output
    ``(N, out_features)``. ``pretrained``: a local state dict or mmengine checkpoint
    (``pretrained_prefix`` such as ``'backbone.'`` is stripped); the conv keys do not
    depend on the projection, so a file with an ``fc`` loads its convs into a C3D
    without one (``fc`` is reported unexpected), and an ``fc`` of another shape raises.
    """

    # the paper's layout (no projection) at test size: 8 x 1 x 2 x 2 = 32-d
    example = dict(args=dict(widths=(4, 8, 8, 8, 8), clip_len=16, size=32),
                   input_shape=(2, 3, 16, 32, 32))

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (64, 128, 256, 256, 256),
        feature_dim: Optional[int] = None,
        clip_len: int = 16,
        size: Union[int, Sequence[int]] = 112,
        dropout: float = 0.0,
        last_pool_padding: Sequence[int] = (0, 1, 1),
        pretrained: Optional[str] = None,
        pretrained_prefix: Optional[str] = None,
    ) -> None:
        super().__init__()
        if not widths:
            raise ValueError("C3D: widths must name at least one block's channels")
        self.clip_len = int(clip_len)
        self.size = _pair(size)
        layers = []
        channels = in_channels
        frames, height, width = self.clip_len, *self.size
        last_pad = tuple(int(p) for p in last_pool_padding)
        if len(last_pad) != 3 or any(p not in (0, 1) for p in last_pad):
            raise ValueError(f"C3D: last_pool_padding must be three 0/1 values, got {last_pool_padding}")
        for index, out_channels in enumerate(widths):
            pool = (1, 2, 2) if index == 0 else (2, 2, 2)
            pad = last_pad if index == len(widths) - 1 else (0, 0, 0)
            if any(p and k == 1 for p, k in zip(pad, pool)):
                raise ValueError(f"C3D: last_pool_padding {last_pad} pads a dim of pool kernel {pool}")
            layers += [
                nn.Conv3d(channels, out_channels, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=pool, stride=pool, padding=pad),
            ]
            channels = out_channels
            # MaxPool3d's output size: floor((n + 2 * pad - kernel) / stride) + 1
            frames, height, width = ((n + 2 * p - k) // k + 1
                                     for n, p, k in zip((frames, height, width), pad, pool))
            if min(frames, height, width) < 1:
                raise ValueError(
                    f"C3D: clip_len={clip_len} and size={size} are too small for "
                    f"{len(widths)} pooling stages (block {index + 1} leaves "
                    f"{frames}x{height}x{width})"
                )
        self.features = nn.Sequential(*layers)
        self.pool_shape = (channels, frames, height, width)
        self.flat_features = channels * frames * height * width
        if feature_dim is None:
            self.fc = None
            self.out_features = self.flat_features
        else:
            if int(feature_dim) < 1:
                raise ValueError(f"C3D: feature_dim must be None or >= 1, got {feature_dim}")
            self.fc = nn.Linear(self.flat_features, int(feature_dim))
            self.out_features = int(feature_dim)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.in_channels = in_channels
        if pretrained:
            load_backbone_weights(self, pretrained, prefix=pretrained_prefix)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, H, W)`` -> ``(N, out_features)``."""
        expected = (self.in_channels, self.clip_len, *self.size)
        if clips.dim() != 5 or tuple(clips.shape[1:]) != expected:
            raise ValueError(
                f"C3D expects clips of shape (N, {', '.join(map(str, expected))}), "
                f"got {tuple(clips.shape)}; set clip_len/size in the backbone config to match"
            )
        x = self.features(clips).flatten(1)
        if self.fc is not None:
            x = self.relu(self.fc(x))
        return self.dropout(x)
