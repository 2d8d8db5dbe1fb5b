"""ResNet-18 on one-channel mel-spectrogram images (the PISA aural branch)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from pisa.models.weights import StateDict, load_backbone_weights


def rgb_to_mono_resnet_state(state: StateDict) -> StateDict:
    """Adapt a torchvision ResNet state dict to a 1-channel input without a classifier.

    ``conv1.weight`` ``(64, 3, 7, 7)`` becomes ``(64, 1, 7, 7)`` by SUMMING the RGB
    kernels: a grey image fed to the RGB network as three equal channels gives the same
    response as the summed kernel on the one channel. ``fc.*`` is dropped (no classifier).
    """
    out = {k: v for k, v in state.items() if not k.startswith("fc.")}
    conv1 = out.get("conv1.weight")
    if conv1 is not None and conv1.dim() == 4 and conv1.shape[1] == 3:
        out["conv1.weight"] = conv1.sum(dim=1, keepdim=True)
    return out


class AudioResNet18(ResNet):
    """torchvision's ResNet-18 with a 1-channel first conv and no ``fc``.

    Input ``(N, 1, F, W)`` mel images (the paper uses 224x224; any size >= 32 works
    through the adaptive pooling); output ``(N, 512)``. Parameter names are
    torchvision's, so ``pretrained`` takes a local torchvision ResNet-18 state dict
    (e.g. ImageNet weights saved with ``torch.save``); its RGB ``conv1`` is summed to
    one channel (:func:`rgb_to_mono_resnet_state`). Nothing is downloaded.
    """

    def __init__(self, in_channels: int = 1, pretrained: Optional[str] = None,
                 pretrained_prefix: Optional[str] = None) -> None:
        super().__init__(BasicBlock, [2, 2, 2, 2])
        self.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        del self.fc
        self.in_channels = in_channels
        self.out_features = 512
        if pretrained:
            load_backbone_weights(self, pretrained, prefix=pretrained_prefix,
                                  convert=rgb_to_mono_resnet_state)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, F, W)`` -> ``(N, 512)``."""
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"AudioResNet18 expects mel images of shape (N, {self.in_channels}, F, W), "
                f"got {tuple(images.shape)}"
            )
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)
