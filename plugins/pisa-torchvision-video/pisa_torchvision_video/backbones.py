"""torchvision's video models without their classifier, as clip backbones (the package
docstring).

One table, :data:`ARCHS`, says per architecture which torchvision Kinetics-400 weights enum
describes its input and which attribute holds its classifier; one class,
:class:`TorchvisionVideoBackbone`, builds any of them; the fixed-architecture classes only
fix ``arch``."""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any, Callable, Dict, Optional, Tuple

import torch
from torch import nn
from torchvision.models import video as tv_video

from pisa.plugin_api import StateDict, load_backbone_weights


@dataclass(frozen=True)
class Arch:
    """What the backbone needs to know of one torchvision video architecture."""

    #: torchvision's weights enum of the architecture (its ``KINETICS400_V1`` member
    #: gives the input recipe: :func:`input_recipe`)
    weights: str
    #: the attribute of torchvision's model that holds the classifier (dropped)
    classifier: str
    #: built for one input size (MViT: positional embeddings of 16 x 224 x 224 clips);
    #: else the recipe's ``min_temporal_size`` x ``min_size`` is the smallest input
    fixed_size: bool = False
    #: a ``pretrained`` file must hold every tensor of the network (not only some)
    require_all: bool = True


#: torchvision architecture name -> :class:`Arch`. The video ResNets load partial files
#: with a warning, as they did before the other architectures were added.
ARCHS: Dict[str, Arch] = {
    "r3d_18": Arch("R3D_18_Weights", "fc", require_all=False),
    "mc3_18": Arch("MC3_18_Weights", "fc", require_all=False),
    "r2plus1d_18": Arch("R2Plus1D_18_Weights", "fc", require_all=False),
    "s3d": Arch("S3D_Weights", "classifier"),
    "mvit_v1_b": Arch("MViT_V1_B_Weights", "head", fixed_size=True),
    "mvit_v2_s": Arch("MViT_V2_S_Weights", "head", fixed_size=True),
    "swin3d_t": Arch("Swin3D_T_Weights", "head"),
    "swin3d_s": Arch("Swin3D_S_Weights", "head"),
    "swin3d_b": Arch("Swin3D_B_Weights", "head"),
}
RESNET_ARCHS: Tuple[str, ...] = ("r3d_18", "mc3_18", "r2plus1d_18")


def _arch(arch: str, choices: Tuple[str, ...] = tuple(ARCHS), who: str = "torchvision video") -> Arch:
    if arch not in choices:
        more = "" if set(choices) == set(ARCHS) else f" (TorchvisionVideoBackbone takes all of {list(ARCHS)})"
        raise ValueError(f"{who}: unknown arch {arch!r}; choose one of {list(choices)}{more}")
    return ARCHS[arch]


def input_recipe(arch: str) -> Dict[str, Any]:
    """The input torchvision's Kinetics-400 weights of ``arch`` expect, read from the weights
    enum at call time (its metadata and ``transforms()``; nothing downloads):
    ``clip_len`` (the frames per clip torchvision's accuracy was estimated with, from the
    metadata's ``_docs``), ``crop_size`` ``(h, w)``, ``resize_size`` (one value: the short
    side; two: ``(h, w)``), ``mean`` and ``std`` (of frames scaled to 0..1),
    ``min_size`` ``(h, w)`` and ``min_temporal_size`` (the smallest input; a
    ``fixed_size`` arch takes exactly ``clip_len`` x ``crop_size``), ``fixed_size`` and
    ``weights`` (the enum member's name, e.g. ``'S3D_Weights.KINETICS400_V1'``)."""
    spec = _arch(arch, who="input_recipe")
    weights = getattr(tv_video, spec.weights).KINETICS400_V1
    preset, meta = weights.transforms(), weights.meta
    found = re.search(r"clip_len=(\d+)", meta.get("_docs", ""))
    if found is None:
        raise ValueError(f"input_recipe: {spec.weights}.KINETICS400_V1's metadata names no "
                         f"clip_len in its _docs: {meta.get('_docs')!r}")
    return dict(clip_len=int(found.group(1)), crop_size=tuple(preset.crop_size),
                resize_size=tuple(preset.resize_size), mean=tuple(preset.mean),
                std=tuple(preset.std), min_size=tuple(meta["min_size"]),
                min_temporal_size=int(meta.get("min_temporal_size", 1)),
                fixed_size=spec.fixed_size, weights=f"{spec.weights}.{weights.name}")


def drop_classifier(state: StateDict, classifier: str = "fc") -> StateDict:
    """torchvision state dict -> the same without ``<classifier>.*`` (the backbone has no
    classifier)."""
    return {k: v for k, v in state.items() if not k.startswith(classifier + ".")}


class _RecipeOf:
    """``backbone.input_recipe()``, and ``Class.input_recipe()`` on a fixed-architecture
    class: :func:`input_recipe` of its ``arch``."""

    def __get__(self, obj: Any, owner: type) -> Callable[[], Dict[str, Any]]:
        arch = getattr(obj if obj is not None else owner, "arch", None)
        if arch is None:
            def unbuilt() -> Dict[str, Any]:
                raise ValueError(f"{owner.__name__}.input_recipe(): the class has no fixed arch; "
                                 "call it on a built backbone or use input_recipe(arch)")
            return unbuilt
        return functools.partial(input_recipe, arch)


class TorchvisionVideoBackbone(nn.Module):
    """torchvision video model ``arch`` (one of :data:`ARCHS`) without its classifier:
    ``(N, 3, T, H, W)`` -> ``(N, out_features)``, the features torchvision's classifier
    reads (r3d_18, mc3_18, r2plus1d_18: 512; s3d: 1024; mvit_v1_b, mvit_v2_s,
    swin3d_t, swin3d_s: 768; swin3d_b: 1024). Built with ``weights=None``: nothing
    downloads. ``pretrained``: a local torchvision state dict of ``arch`` (its classifier
    is dropped; ``pretrained_prefix`` is stripped first when given); it must hold every
    tensor of the network except for the video ResNets. The input the weights expect:
    ``input_recipe()`` (:func:`input_recipe`)."""

    # mc3_18 is the cheapest at 4 frames
    example = dict(args=dict(arch="mc3_18"), input_shape=(2, 3, 4, 32, 32))
    #: the archs this class builds
    archs: Tuple[str, ...] = tuple(ARCHS)
    #: set by a fixed-architecture class, and on every built backbone
    arch: Optional[str] = None
    input_recipe = _RecipeOf()

    def __init__(self, arch: str = "r3d_18", pretrained: Optional[str] = None,
                 pretrained_prefix: Optional[str] = None) -> None:
        super().__init__()
        name = type(self).__name__
        spec = _arch(arch, self.archs, name)
        self.arch = arch
        recipe = input_recipe(arch)
        self.min_input = (recipe["min_temporal_size"], *recipe["min_size"])
        self.fixed_input = (recipe["clip_len"], *recipe["crop_size"]) if spec.fixed_size else None
        self.net = getattr(tv_video, arch)(weights=None)
        last = [m for m in getattr(self.net, spec.classifier).modules()
                if isinstance(m, (nn.Linear, nn.Conv3d))][-1]
        self.out_features = last.in_features if isinstance(last, nn.Linear) else last.in_channels
        setattr(self.net, spec.classifier, nn.Identity())
        if pretrained:
            try:
                load_backbone_weights(self.net, pretrained, prefix=pretrained_prefix,
                                      convert=functools.partial(drop_classifier, classifier=spec.classifier),
                                      require_all=spec.require_all)
            except ValueError as err:
                raise ValueError(f"{name}: expected torchvision's {arch} layout (the state dict of "
                                 f"torchvision.models.video.{arch}, '{spec.classifier}.*' dropped); "
                                 f"{err}") from None

    def forward(self, clips: torch.Tensor) -> torch.Tensor:
        """``(N, 3, T, H, W)`` -> ``(N, out_features)``."""
        name = type(self).__name__
        if clips.dim() != 5 or clips.shape[1] != 3:
            raise ValueError(f"{name} expects clips (N, 3, T, H, W), got {tuple(clips.shape)}")
        thw = tuple(clips.shape[2:])
        if self.fixed_input is not None and thw != self.fixed_input:
            raise ValueError(f"{name} ({self.arch}) takes clips of exactly T, H, W = {self.fixed_input} "
                             f"(its positional embeddings), got {thw}")
        if any(size < least for size, least in zip(thw, self.min_input)):
            raise ValueError(f"{name} ({self.arch}) takes clips of at least T, H, W = {self.min_input}, "
                             f"got {thw}")
        return self.net(clips)


class TorchvisionVideoResNet(TorchvisionVideoBackbone):
    """:class:`TorchvisionVideoBackbone` limited to the video ResNet-18 variants
    (r3d_18, mc3_18, r2plus1d_18): ``(N, 3, T, H, W)`` -> ``(N, 512)``."""

    archs = RESNET_ARCHS


def _fixed_arch(name: str, arch: str, example_shape: Tuple[int, ...]) -> type:
    def __init__(self, pretrained: Optional[str] = None, pretrained_prefix: Optional[str] = None) -> None:
        TorchvisionVideoBackbone.__init__(self, arch=arch, pretrained=pretrained,
                                          pretrained_prefix=pretrained_prefix)

    doc = (f"torchvision ``{arch}`` without its classifier (:class:`TorchvisionVideoBackbone` "
           f"with ``arch='{arch}'``); ``input_recipe()`` gives the input its weights expect.")
    # its own example: the inherited one passes ``arch``, which this constructor does not take
    example = dict(args=dict(), input_shape=example_shape)
    return type(name, (TorchvisionVideoBackbone,), {"__init__": __init__, "__doc__": doc, "arch": arch,
                                                    "__module__": __name__, "example": example})


# the examples are the smallest clips each takes (the component tests run forward and
# backward on them): MViT only takes 16 x 224 x 224, S3D at least 14 x 224 x 224
TorchvisionR3D18 = _fixed_arch("TorchvisionR3D18", "r3d_18", (2, 3, 4, 32, 32))
TorchvisionMC318 = _fixed_arch("TorchvisionMC318", "mc3_18", (2, 3, 4, 32, 32))
TorchvisionR2Plus1D18 = _fixed_arch("TorchvisionR2Plus1D18", "r2plus1d_18", (2, 3, 4, 32, 32))
TorchvisionS3D = _fixed_arch("TorchvisionS3D", "s3d", (1, 3, 14, 224, 224))
TorchvisionMViTV1B = _fixed_arch("TorchvisionMViTV1B", "mvit_v1_b", (1, 3, 16, 224, 224))
TorchvisionMViTV2S = _fixed_arch("TorchvisionMViTV2S", "mvit_v2_s", (1, 3, 16, 224, 224))
TorchvisionSwin3DT = _fixed_arch("TorchvisionSwin3DT", "swin3d_t", (2, 3, 2, 32, 32))
TorchvisionSwin3DS = _fixed_arch("TorchvisionSwin3DS", "swin3d_s", (2, 3, 2, 32, 32))
TorchvisionSwin3DB = _fixed_arch("TorchvisionSwin3DB", "swin3d_b", (2, 3, 2, 32, 32))

#: torchvision architecture name -> its fixed-architecture class
FIXED_ARCH: Dict[str, type] = {
    cls.arch: cls
    for cls in (TorchvisionR3D18, TorchvisionMC318, TorchvisionR2Plus1D18, TorchvisionS3D,
                TorchvisionMViTV1B, TorchvisionMViTV2S, TorchvisionSwin3DT, TorchvisionSwin3DS,
                TorchvisionSwin3DB)
}

#: registered name -> class
BACKBONES: Dict[str, type] = {
    cls.__name__: cls
    for cls in (TorchvisionVideoBackbone, TorchvisionVideoResNet, *FIXED_ARCH.values())
}
