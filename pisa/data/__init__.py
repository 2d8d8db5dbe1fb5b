"""Data: clip samplers, annotation adapters (PISA, generic CSV/JSON lines, MTL-AQA),
pipeline transforms, audio, the prepared cache, and the safe pickle reader."""
from __future__ import annotations

from typing import Callable


def register_components(register: Callable[..., None]) -> None:
    """Register this package's components through the plugin hook's callback."""
    from pisa.data import samplers, transforms
    from pisa.data.aqa_dataset import AQACSVDataset
    from pisa.data.mtl_aqa import MTLAQADataset
    from pisa.data.pisa_dataset import PISADataset

    for cls in (samplers.ContiguousSampler, samplers.UniformSampler, samplers.CenterClipSampler,
                samplers.RandomClipSampler):
        register("clip_sampler", cls)
    for cls in (PISADataset, AQACSVDataset, MTLAQADataset):
        register("dataset", cls)
    for cls in transforms.TRANSFORM_CLASSES:
        register("transform", cls)
    __import__("pisa.data.ucf101", fromlist=["register_components"]).register_components(register)
