"""Inception-v1 I3D (Carreira & Zisserman, CVPR 2017), the Kinetics backbone the AQA
field shares (CoRe, TSA, USDL/MUSDL, FineParser, ...), in the key layout of the public
PyTorch port (github.com/piergiaj/pytorch-i3d, ``pytorch_i3d.py``): the state dict of
:class:`I3D` has that port's keys and shapes, key for key (``Conv3d_1a_7x7.conv3d.weight``,
``Mixed_3b.b1b.bn.running_mean``, ..., ``logits.conv3d.bias``), so its released
``rgb_imagenet.pt`` loads as it is.

The other file the field shares, CoRe's ``model_rgb.pth`` (github.com/yuxumin/CoRe,
``models/i3d.py``, a port from github.com/hassony2/kinetics_i3d_pytorch), holds the same
tensors under other names (``conv3d_1a_7x7.batch3d.weight``,
``mixed_3b.branch_1.1.conv3d.weight``, ``conv3d_0c_1x1.conv3d.bias``);
:func:`i3d_state_dict` renames them. Both ports pad like TensorFlow's ``SAME`` (zeros,
the extra row at the end); they differ in their BatchNorms (pytorch-i3d: eps 1e-3,
momentum 0.01; CoRe's: PyTorch's defaults, eps 1e-5, momentum 0.1), which are arguments
here so either recipe runs exactly.
"""
from __future__ import annotations

import re
from typing import Optional, Sequence, Tuple

import torch
import torch.nn.functional as F
from torch import nn

from pisa.models.weights import StateDict, load_backbone_weights
from pisa.registry import component

# (in channels, [b0, b1a, b1b, b2a, b2b, b3b] out channels) per Inception block, as in
# both ports; the pools between them are (kernel, stride)
_LAYERS: Tuple[Tuple[str, object], ...] = (
    ("MaxPool3d_2a_3x3", ((1, 3, 3), (1, 2, 2))),
    ("Conv3d_2b_1x1", (64, 64, (1, 1, 1))),
    ("Conv3d_2c_3x3", (64, 192, (3, 3, 3))),
    ("MaxPool3d_3a_3x3", ((1, 3, 3), (1, 2, 2))),
    ("Mixed_3b", (192, (64, 96, 128, 16, 32, 32))),
    ("Mixed_3c", (256, (128, 128, 192, 32, 96, 64))),
    ("MaxPool3d_4a_3x3", ((3, 3, 3), (2, 2, 2))),
    ("Mixed_4b", (480, (192, 96, 208, 16, 48, 64))),
    ("Mixed_4c", (512, (160, 112, 224, 24, 64, 64))),
    ("Mixed_4d", (512, (128, 128, 256, 24, 64, 64))),
    ("Mixed_4e", (512, (112, 144, 288, 32, 64, 64))),
    ("Mixed_4f", (528, (256, 160, 320, 32, 128, 128))),
    ("MaxPool3d_5a_2x2", ((2, 2, 2), (2, 2, 2))),
    ("Mixed_5b", (832, (256, 160, 320, 32, 128, 128))),
    ("Mixed_5c", (832, (384, 192, 384, 48, 128, 128))),
)
FEATURES = ("mixed_5c", "logits")


def same_padding(size: Sequence[int], kernel: Sequence[int], stride: Sequence[int]) -> Tuple[int, ...]:
    """TensorFlow's ``SAME`` padding of a ``(T, H, W)`` input as ``F.pad`` wants it
    (last dim first): per dim ``max(k - s, 0)`` when ``s`` divides the size, else
    ``max(k - size % s, 0)``, the odd row at the end."""
    pad = []
    for n, k, s in zip(reversed(tuple(size)), reversed(tuple(kernel)), reversed(tuple(stride))):
        total = max(k - s, 0) if n % s == 0 else max(k - n % s, 0)
        pad += [total // 2, total - total // 2]
    return tuple(pad)


class Unit3D(nn.Module):
    """Conv3d (no bias) + BatchNorm + ReLU with ``SAME`` padding; the logits unit has a
    bias and neither BatchNorm nor ReLU."""

    def __init__(self, in_channels: int, out_channels: int, kernel: Sequence[int] = (1, 1, 1),
                 stride: Sequence[int] = (1, 1, 1), logits: bool = False,
                 bn_eps: float = 1e-3, bn_momentum: float = 0.01) -> None:
        super().__init__()
        self.kernel, self.stride = tuple(kernel), tuple(stride)
        self.conv3d = nn.Conv3d(in_channels, out_channels, self.kernel, self.stride, bias=logits)
        self.bn = None if logits else nn.BatchNorm3d(out_channels, eps=bn_eps, momentum=bn_momentum)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.conv3d(F.pad(x, same_padding(x.shape[2:], self.kernel, self.stride)))
        return x if self.bn is None else F.relu(self.bn(x))


class MaxPool3dSame(nn.MaxPool3d):
    """Max-pool with ``SAME`` zero padding (as both ports pad; inputs follow a ReLU)."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return super().forward(F.pad(x, same_padding(x.shape[2:], self.kernel_size, self.stride)))


class InceptionBlock(nn.Module):
    """Four branches concatenated: 1x1; 1x1 -> 3x3x3; 1x1 -> 3x3x3; 3x3x3 max-pool -> 1x1."""

    def __init__(self, in_channels: int, widths: Sequence[int], **bn) -> None:
        super().__init__()
        w0, w1a, w1b, w2a, w2b, w3b = widths
        self.b0 = Unit3D(in_channels, w0, **bn)
        self.b1a = Unit3D(in_channels, w1a, **bn)
        self.b1b = Unit3D(w1a, w1b, (3, 3, 3), **bn)
        self.b2a = Unit3D(in_channels, w2a, **bn)
        self.b2b = Unit3D(w2a, w2b, (3, 3, 3), **bn)
        self.b3a = MaxPool3dSame((3, 3, 3), (1, 1, 1))
        self.b3b = Unit3D(in_channels, w3b, **bn)
        self.out_channels = w0 + w1b + w2b + w3b

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.b0(x), self.b1b(self.b1a(x)), self.b2b(self.b2a(x)),
                          self.b3b(self.b3a(x))], dim=1)


# CoRe's model_rgb.pth (the hassony2 port) -> pytorch-i3d names
_CORE_BRANCHES = {"branch_0.": "b0.", "branch_1.0.": "b1a.", "branch_1.1.": "b1b.",
                  "branch_2.0.": "b2a.", "branch_2.1.": "b2b.", "branch_3.1.": "b3b."}
_CORE_TOP = re.compile(r"^(conv3d|mixed)_(\w+?)\.")


def _core_name(key: str) -> str:
    if key.startswith("conv3d_0c_1x1."):
        return "logits." + key[len("conv3d_0c_1x1."):]
    key = _CORE_TOP.sub(lambda m: f"{m.group(1).capitalize()}_{m.group(2)}.", key, count=1)
    for old, new in _CORE_BRANCHES.items():
        key = key.replace("." + old, "." + new, 1)
    return key.replace(".batch3d.", ".bn.")


def i3d_layout(state: StateDict) -> str:
    """``'pytorch-i3d'`` (rgb_imagenet.pt's names) or ``'core'`` (model_rgb.pth's), from
    the first convolution's key; ValueError naming both layouts for anything else."""
    if "Conv3d_1a_7x7.conv3d.weight" in state:
        return "pytorch-i3d"
    if "conv3d_1a_7x7.conv3d.weight" in state:
        return "core"
    raise ValueError(
        "not an I3D state dict: expected the pytorch-i3d layout (rgb_imagenet.pt: "
        "'Conv3d_1a_7x7.conv3d.weight', 'Mixed_3b.b1b.bn.weight', ...) or CoRe's "
        "(model_rgb.pth: 'conv3d_1a_7x7.conv3d.weight', 'mixed_3b.branch_1.1.batch3d.weight', "
        f"...); the file's keys start {list(state)[:5]}")


def i3d_state_dict(state: StateDict) -> StateDict:
    """Either shared file's state dict in :class:`I3D`'s (pytorch-i3d's) names."""
    if i3d_layout(state) == "core":
        state = {_core_name(k): v for k, v in state.items()}
    return dict(state)


@component("backbone")
class I3D(nn.Module):
    """Inception-v1 I3D: ``(N, 3, T, H, W)`` -> ``(N, out_features)``.

    ``feature='mixed_5c'``: Mixed_5c averaged over time and space, 1024-d (at the
    reference input, 16 x 224 x 224, Mixed_5c is 2 x 7 x 7 and this is exactly the
    reference ``AvgPool3d((2, 7, 7))`` CoRe and MUSDL take their features from; other
    sizes average every position). ``feature='logits'``: the 1x1x1 logits unit on that
    pooled feature after ``dropout`` (``num_classes``-d; as the unit is linear, the mean
    of the per-position logits pytorch-i3d's ``forward`` returns).

    ``pretrained``: a local weights file in either shared layout (:func:`i3d_state_dict`;
    ``pretrained_prefix`` such as ``'module.'`` is stripped first). Every tensor of the
    network must be in it (a missing ``num_batches_tracked``, absent from files saved
    before PyTorch 0.4.1, is not a tensor of the network's); the load logs the file's
    sha256. ``bn_eps``/``bn_momentum``: pytorch-i3d's 1e-3/0.01 by default; CoRe's port
    uses PyTorch's defaults, 1e-5/0.1.

    Inputs are RGB normalised as the reference does (the data preprocessor's mean/std:
    ImageNet's for CoRe and MUSDL); the spatial size must be at least 32 so Mixed_5c is
    not empty.
    """

    # 8 frames of 32 x 32 leave Mixed_5c 1 x 1 x 1; the full network, so a few seconds
    example = dict(args=dict(), input_shape=(2, 3, 8, 32, 32))

    def __init__(self, feature: str = "mixed_5c", num_classes: int = 400, dropout: float = 0.5,
                 in_channels: int = 3, bn_eps: float = 1e-3, bn_momentum: float = 0.01,
                 pretrained: Optional[str] = None, pretrained_prefix: Optional[str] = None) -> None:
        super().__init__()
        if feature not in FEATURES:
            raise ValueError(f"I3D: feature must be one of {list(FEATURES)}, got {feature!r}")
        self.feature = feature
        bn = dict(bn_eps=bn_eps, bn_momentum=bn_momentum)
        self.Conv3d_1a_7x7 = Unit3D(in_channels, 64, (7, 7, 7), (2, 2, 2), **bn)
        for name, spec in _LAYERS:
            if name.startswith("MaxPool"):
                layer = MaxPool3dSame(*spec)
            elif name.startswith("Conv3d"):
                layer = Unit3D(*spec, **bn)
            else:
                layer = InceptionBlock(*spec, **bn)
            self.add_module(name, layer)
        self.dropout = nn.Dropout(dropout)
        self.logits = Unit3D(1024, num_classes, logits=True)
        if feature == "mixed_5c":  # kept for the layout, not trained (and no unused grads)
            self.logits.requires_grad_(False)
        self.out_features = 1024 if feature == "mixed_5c" else int(num_classes)
        if pretrained:
            try:
                load_backbone_weights(self, pretrained, prefix=pretrained_prefix,
                                      convert=self.convert_state_dict, require_all=True)
            except ValueError as err:
                if str(err).startswith("not an I3D state dict"):
                    raise ValueError(f"I3D: {str(pretrained)!r} is {err}") from None
                raise ValueError(f"I3D: expected the pytorch-i3d layout (rgb_imagenet.pt) or "
                                 f"CoRe's (model_rgb.pth); {err}") from None

    def convert_state_dict(self, state: StateDict) -> StateDict:
        """A shared file's state dict in this network's names, with the BatchNorm counters
        files from before PyTorch 0.4.1 lack (:func:`load_backbone_weights`' ``convert``)."""
        state = i3d_state_dict(state)
        for key, value in self.state_dict().items():  # files from before PyTorch 0.4.1
            if key.endswith("num_batches_tracked") and key not in state:
                state[key] = value.clone()
        return state

    def mixed_5c(self, clips: torch.Tensor) -> torch.Tensor:
        """The Mixed_5c feature map ``(N, 1024, T', H', W')``."""
        x = self.Conv3d_1a_7x7(clips)
        for name, _ in _LAYERS:
            x = getattr(self, name)(x)
        return x

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        if clips.dim() != 5 or clips.shape[1] != self.Conv3d_1a_7x7.conv3d.in_channels:
            raise ValueError(f"I3D expects clips (N, {self.Conv3d_1a_7x7.conv3d.in_channels}, "
                             f"T, H, W), got {tuple(clips.shape)}")
        if min(clips.shape[3:]) < 32:
            raise ValueError(f"I3D needs frames of at least 32 x 32, got {tuple(clips.shape[3:])}")
        pooled = self.mixed_5c(clips).mean(dim=(2, 3, 4), keepdim=True)
        if self.feature == "mixed_5c":
            return pooled.flatten(1)
        return self.logits(self.dropout(pooled)).flatten(1)

