"""torchvision's video ResNets without their classifier, as clip backbones (the package
docstring)."""
from __future__ import annotations

from typing import Dict, Optional

import torch
from torch import nn
from torchvision.models import video as tv_video

from pisa.plugin_api import StateDict, load_backbone_weights

ARCHS = ("r3d_18", "mc3_18", "r2plus1d_18")


def drop_classifier(state: StateDict) -> StateDict:
    """torchvision state dict -> the same without ``fc.*`` (the backbone has no classifier)."""
    return {k: v for k, v in state.items() if not k.startswith("fc.")}


class TorchvisionVideoResNet(nn.Module):
    """torchvision video ResNet-18 variant ``arch`` without ``fc``: ``(N, 3, T, H, W)`` ->
    ``(N, 512)``. ``pretrained``: local torchvision state dict (``pretrained_prefix``
    is stripped first when given)."""

    # mc3_18 is the cheapest of the three at 4 frames
    example = dict(args=dict(arch="mc3_18"), input_shape=(2, 3, 4, 32, 32))

    def __init__(self, arch: str = "r3d_18", pretrained: Optional[str] = None,
                 pretrained_prefix: Optional[str] = None) -> None:
        super().__init__()
        if arch not in ARCHS:
            raise ValueError(f"{type(self).__name__}: unknown arch {arch!r}; choose one of {list(ARCHS)}")
        self.arch = arch
        self.net = getattr(tv_video, arch)(weights=None)
        self.out_features = self.net.fc.in_features
        self.net.fc = nn.Identity()
        if pretrained:
            load_backbone_weights(self.net, pretrained, prefix=pretrained_prefix,
                                  convert=drop_classifier)

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, 512)``."""
        if clips.dim() != 5 or clips.shape[1] != 3:
            raise ValueError(
                f"{type(self).__name__} expects clips (N, 3, T, H, W), got {tuple(clips.shape)}"
            )
        return self.net(clips)


def _fixed_arch(name: str, arch: str) -> type:
    def __init__(self, pretrained: Optional[str] = None, pretrained_prefix: Optional[str] = None) -> None:
        TorchvisionVideoResNet.__init__(self, arch=arch, pretrained=pretrained,
                                        pretrained_prefix=pretrained_prefix)

    doc = f"torchvision ``{arch}`` without ``fc``: ``(N, 3, T, H, W)`` -> ``(N, 512)``."
    # its own example: the inherited one passes ``arch``, which this constructor does not take
    example = dict(args=dict(), input_shape=(2, 3, 4, 32, 32))
    return type(name, (TorchvisionVideoResNet,), {"__init__": __init__, "__doc__": doc,
                                                  "__module__": __name__, "example": example})


TorchvisionR3D18 = _fixed_arch("TorchvisionR3D18", "r3d_18")
TorchvisionMC318 = _fixed_arch("TorchvisionMC318", "mc3_18")
TorchvisionR2Plus1D18 = _fixed_arch("TorchvisionR2Plus1D18", "r2plus1d_18")

#: registered name -> class
BACKBONES: Dict[str, type] = {
    cls.__name__: cls
    for cls in (TorchvisionVideoResNet, TorchvisionR3D18, TorchvisionMC318, TorchvisionR2Plus1D18)
}
