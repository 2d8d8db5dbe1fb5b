"""ResNet-18 on one-channel mel-spectrogram images (the PISA aural branch)."""
from __future__ import annotations

from typing import Optional

import torch
from torch import nn
from torchvision.models.resnet import BasicBlock, ResNet

from pisa.models.weights import StateDict, load_backbone_weights
from pisa.registry import component

#: base channels of torchvision's ResNet-18 (the width its pretrained files have)
TORCHVISION_WIDTH = 64


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


@component("backbone")
class AudioResNet18(ResNet):
    """torchvision's ResNet-18 with a 1-channel first conv and no ``fc``.

    Input ``(N, 1, F, W)`` mel images (the paper uses 224x224; any size >= 32 works
    through the adaptive pooling); output ``(N, 8 * width)``: 512 at the default
    ``width=64`` (torchvision's ResNet-18). A smaller ``width`` (base channels; the four
    stages have ``width, 2w, 4w, 8w``) keeps the depth and structure and narrows every
    layer, e.g. ``width=16`` -> 128-d features at about 1/16 of the compute, for CPUs.

    Parameter names are torchvision's, so ``pretrained`` takes a local torchvision
    ResNet-18 state dict (e.g. ImageNet weights saved with ``torch.save``); its RGB
    ``conv1`` is summed to one channel (:func:`rgb_to_mono_resnet_state`). Such files hold
    width-64 layers, so ``pretrained`` with another ``width`` is refused. Nothing is
    downloaded.
    """

    example = dict(args=dict(), input_shape=(2, 1, 32, 32))

    def __init__(self, in_channels: int = 1, width: int = TORCHVISION_WIDTH,
                 pretrained: Optional[str] = None,
                 pretrained_prefix: Optional[str] = None) -> None:
        width = int(width)
        if width < 1:
            raise ValueError(f"AudioResNet18: width must be >= 1, got {width}")
        if pretrained and width != TORCHVISION_WIDTH:
            raise ValueError(
                f"AudioResNet18: pretrained={pretrained!r} is a torchvision ResNet-18 file "
                f"(width {TORCHVISION_WIDTH}), but width={width}; use width={TORCHVISION_WIDTH} "
                "with pretrained weights, or pretrained=None"
            )
        super().__init__(BasicBlock, [2, 2, 2, 2])
        del self.fc
        if width != TORCHVISION_WIDTH:
            # torchvision fixes the base width at 64 for BasicBlock: rebuild the stages
            # with its own _make_layer at the narrower width
            self.inplanes = width
            self.bn1 = self._norm_layer(width)
            self.layer1 = self._make_layer(BasicBlock, width, 2)
            self.layer2 = self._make_layer(BasicBlock, 2 * width, 2, stride=2)
            self.layer3 = self._make_layer(BasicBlock, 4 * width, 2, stride=2)
            self.layer4 = self._make_layer(BasicBlock, 8 * width, 2, stride=2)
            for m in self.modules():  # torchvision's initialisation
                if isinstance(m, nn.Conv2d):
                    nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
                elif isinstance(m, nn.BatchNorm2d):
                    nn.init.constant_(m.weight, 1)
                    nn.init.constant_(m.bias, 0)
        self.conv1 = nn.Conv2d(in_channels, width, kernel_size=7, stride=2, padding=3, bias=False)
        nn.init.kaiming_normal_(self.conv1.weight, mode="fan_out", nonlinearity="relu")
        self.in_channels = in_channels
        self.width = width
        self.out_features = 8 * width
        if pretrained:
            load_backbone_weights(self, pretrained, prefix=pretrained_prefix,
                                  convert=rgb_to_mono_resnet_state)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """``(N, in_channels, F, W)`` -> ``(N, 8 * width)``."""
        if images.dim() != 4 or images.shape[1] != self.in_channels:
            raise ValueError(
                f"AudioResNet18 expects mel images of shape (N, {self.in_channels}, F, W), "
                f"got {tuple(images.shape)}"
            )
        x = self.maxpool(self.relu(self.bn1(self.conv1(images))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return torch.flatten(self.avgpool(x), 1)
