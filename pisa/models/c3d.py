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
    """Five 3x3x3 conv blocks (padding 1, ReLU, then max-pool) and a Linear projection.

    The first pool is spatial only (kernel ``(1, 2, 2)``), the others ``(2, 2, 2)``,
    so a 16-frame clip keeps its temporal extent one block longer (as in C3D). The
    flattened size is computed from ``clip_len`` and ``size``, so the projection fits
    whatever clip shape the config names.

    Input ``(N, in_channels, clip_len, H, W)`` with ``(H, W) = size``; output
    ``(N, feature_dim)`` (ReLU, then dropout). ``pretrained``: a local state dict or
    mmengine checkpoint (``pretrained_prefix`` such as ``'backbone.'`` is stripped).
    """

    example = dict(args=dict(widths=(4, 8, 8, 8, 8), feature_dim=32, clip_len=16, size=32),
                   input_shape=(2, 3, 16, 32, 32))

    def __init__(
        self,
        in_channels: int = 3,
        widths: Sequence[int] = (64, 128, 256, 256, 256),
        feature_dim: int = 4096,
        clip_len: int = 16,
        size: Union[int, Sequence[int]] = 112,
        dropout: float = 0.0,
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
        for index, out_channels in enumerate(widths):
            pool = (1, 2, 2) if index == 0 else (2, 2, 2)
            layers += [
                nn.Conv3d(channels, out_channels, kernel_size=3, padding=1),
                nn.ReLU(inplace=True),
                nn.MaxPool3d(kernel_size=pool, stride=pool),
            ]
            channels = out_channels
            frames, height, width = frames // pool[0], height // pool[1], width // pool[2]
            if min(frames, height, width) < 1:
                raise ValueError(
                    f"C3D: clip_len={clip_len} and size={size} are too small for "
                    f"{len(widths)} pooling stages (block {index + 1} leaves "
                    f"{frames}x{height}x{width})"
                )
        self.features = nn.Sequential(*layers)
        self.flat_features = channels * frames * height * width
        self.fc = nn.Linear(self.flat_features, feature_dim)
        self.relu = nn.ReLU(inplace=True)
        self.dropout = nn.Dropout(dropout)
        self.in_channels = in_channels
        self.out_features = feature_dim
        if pretrained:
            load_backbone_weights(self, pretrained, prefix=pretrained_prefix)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, C, T, H, W)`` -> ``(N, feature_dim)``."""
        expected = (self.in_channels, self.clip_len, *self.size)
        if clips.dim() != 5 or tuple(clips.shape[1:]) != expected:
            raise ValueError(
                f"C3D expects clips of shape (N, {', '.join(map(str, expected))}), "
                f"got {tuple(clips.shape)}; set clip_len/size in the backbone config to match"
            )
        x = self.features(clips).flatten(1)
        return self.dropout(self.relu(self.fc(x)))
