"""Prediction heads: sample feature ``(B, D)`` -> ``{'cls': (B, C), 'reg': (B,)}``."""
from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from pisa.registry import component


@component("head")
class LevelHead(nn.Module):
    """The paper's per-branch head: Linear to ``hidden`` (128) with ReLU, then a
    classifier (``num_classes`` logits) and a regressor (one value).

    ``num_classes=0`` drops the classifier (score datasets): ``cls`` is then ``(B, 0)``.
    """

    example = dict(args=dict(hidden=8, num_classes=5), input_shape=(3, 16))

    def __init__(self, in_features: int, hidden: int = 128, num_classes: int = 10,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_classes < 0:
            raise ValueError(f"LevelHead: num_classes must be >= 0, got {num_classes}")
        self.in_features = in_features
        self.num_classes = num_classes
        self.fc = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
                                nn.Dropout(dropout))
        self.cls = nn.Linear(hidden, num_classes) if num_classes > 0 else None
        self.reg = nn.Linear(hidden, 1)

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        if feats.dim() != 2 or feats.shape[1] != self.in_features:
            raise ValueError(
                f"LevelHead expects features (B, {self.in_features}), got {tuple(feats.shape)}"
            )
        hidden = self.fc(feats)
        cls = self.cls(hidden) if self.cls is not None else hidden.new_zeros(len(hidden), 0)
        return {"cls": cls, "reg": self.reg(hidden).squeeze(1)}
