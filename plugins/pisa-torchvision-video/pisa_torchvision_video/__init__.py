"""pisa plugin: torchvision's video models as clip backbones.

``TorchvisionVideoBackbone(arch=...)`` wraps ``torchvision.models.video.{r3d_18, mc3_18,
r2plus1d_18, s3d, mvit_v1_b, mvit_v2_s, swin3d_t, swin3d_s, swin3d_b}`` without their
classifier: clips ``(N, 3, T, H, W)`` -> ``(N, D)``, the features torchvision's classifier
reads (512 for the ResNets, 1024 S3D, 768 MViT and Swin3D-T/S, 1024 Swin3D-B).
``TorchvisionVideoResNet(arch=...)`` takes the three ResNets only. ``TorchvisionR3D18``,
``TorchvisionMC318``, ``TorchvisionR2Plus1D18``, ``TorchvisionS3D``,
``TorchvisionMViTV1B``, ``TorchvisionMViTV2S``, ``TorchvisionSwin3DT``,
``TorchvisionSwin3DS`` and ``TorchvisionSwin3DB`` fix the architecture. The network is
always built with ``weights=None`` (nothing downloads); ``pretrained`` names a local
torchvision state-dict file (e.g. Kinetics-400 weights saved with ``torch.save``), loaded
with :func:`pisa.plugin_api.load_backbone_weights`. ``input_recipe(arch)`` (and
``input_recipe()`` on a backbone) gives the clip length, crop, resize, mean and std of
torchvision's Kinetics-400 weights of the architecture, read from torchvision's weights
metadata. README.md in the plugin folder has the table.
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_torchvision_video.backbones import BACKBONES

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    for cls in BACKBONES.values():
        register("backbone", cls)
