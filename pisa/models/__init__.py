"""Backbones, aggregators, fusions, heads, losses, the AQA model and its data preprocessor,
and the video recognizer used to pretrain a video backbone."""
from __future__ import annotations

from typing import Callable


def register_components(register: Callable[..., None]) -> None:
    """Register this package's components through the plugin hook's callback."""
    from pisa.models.aggregators import AttentionPoolAggregator, AvgAggregator, MaxAggregator
    from pisa.models.aqa_model import AQAModel
    from pisa.models.audio_resnet import AudioResNet18
    from pisa.models.c3d import C3D
    from pisa.models.data_preprocessor import AQADataPreprocessor
    from pisa.models.fusions import ConcatFusion
    from pisa.models.heads import LevelHead
    from pisa.models.losses import CrossEntropyLoss, L1L2Loss, LabelDistributionLoss
    from pisa.models.recognizer import VideoRecognizer

    for cls in (C3D, AudioResNet18):
        register("backbone", cls)
    for cls in (AvgAggregator, MaxAggregator, AttentionPoolAggregator):
        register("aggregator", cls)
    register("fusion", ConcatFusion)
    register("head", LevelHead)
    for cls in (CrossEntropyLoss, L1L2Loss, LabelDistributionLoss):
        register("loss", cls)
    register("model", AQAModel)
    register("model", AQADataPreprocessor)
    register("model", VideoRecognizer)
