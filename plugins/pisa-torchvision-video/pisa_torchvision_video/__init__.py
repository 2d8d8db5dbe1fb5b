"""pisa plugin: torchvision's video ResNets as clip backbones.

``TorchvisionVideoResNet(arch=...)`` wraps ``torchvision.models.video.{r3d_18, mc3_18,
r2plus1d_18}`` without their classifier: clips ``(N, 3, T, H, W)`` -> ``(N, 512)``.
``TorchvisionR3D18``, ``TorchvisionMC318`` and ``TorchvisionR2Plus1D18`` fix the
architecture. The network is always built with ``weights=None`` (nothing downloads);
``pretrained`` names a local torchvision state-dict file (e.g. Kinetics-400 weights
saved with ``torch.save``), loaded with :func:`pisa.plugin_api.load_backbone_weights`.
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_torchvision_video.backbones import BACKBONES

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    for cls in BACKBONES.values():
        register("backbone", cls)
