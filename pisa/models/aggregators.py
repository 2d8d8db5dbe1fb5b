"""Clip-feature aggregators: ``(B, K, D)`` clip features -> ``(B, D)`` sample feature."""
from __future__ import annotations

import torch
from torch import nn

from pisa.registry import component


def check_clip_features(name: str, feats: torch.Tensor, in_features: int) -> None:
    """Raise a ValueError naming ``name`` unless ``feats`` is ``(B, K, in_features)``."""
    if feats.dim() != 3 or feats.shape[-1] != in_features:
        raise ValueError(
            f"{name} expects clip features (B, K, {in_features}), got {tuple(feats.shape)}"
        )


class _PoolAggregator(nn.Module):
    """Base of the parameter-free aggregators: ``pool`` over the clip dimension."""

    example = dict(args=dict(), input_shape=(2, 3, 16))

    def __init__(self, in_features: int) -> None:
        super().__init__()
        self.in_features = self.out_features = in_features

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        check_clip_features(type(self).__name__, feats, self.in_features)
        return self.pool(feats)


@component("aggregator")
class AvgAggregator(_PoolAggregator):
    """Mean over the K clips (the paper's aggregation)."""

    @staticmethod
    def pool(feats: torch.Tensor) -> torch.Tensor:
        return feats.mean(dim=1)


@component("aggregator")
class MaxAggregator(_PoolAggregator):
    """Element-wise maximum over the K clips."""

    @staticmethod
    def pool(feats: torch.Tensor) -> torch.Tensor:
        return feats.amax(dim=1)


@component("aggregator")
class AttentionPoolAggregator(nn.Module):
    """Learned attention pooling: a small MLP scores each clip, softmax over K, and the
    clip features are summed with those weights."""

    example = dict(args=dict(hidden=8), input_shape=(2, 3, 16))

    def __init__(self, in_features: int, hidden: int = 128, dropout: float = 0.0) -> None:
        super().__init__()
        self.in_features = self.out_features = in_features
        self.score = nn.Sequential(
            nn.Linear(in_features, hidden), nn.Tanh(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def forward(self, feats: torch.Tensor) -> torch.Tensor:
        check_clip_features(type(self).__name__, feats, self.in_features)
        weights = torch.softmax(self.score(feats), dim=1)  # (B, K, 1)
        return (weights * feats).sum(dim=1)
