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


#: smallest class probability :class:`OrdinalHead` passes to the log (float32 saturation)
MIN_CLASS_PROB = 1e-6


@component("head")
class OrdinalHead(nn.Module):
    """A cumulative-link (CORAL, Cao, Mirjalili & Raschka 2020) head: Linear to ``hidden``
    with ReLU and dropout as :class:`LevelHead`, then one shared score ``f(x)`` (a Linear
    without bias) and ``C - 1`` ordered biases: ``ordinal_k = f(x) + b_k`` and
    ``P(level > k) = sigmoid(ordinal_k)``, k = 0..C-2.

    The biases are kept ordered, ``b_0 >= b_1 >= ...`` (``b_k = b_0 - sum_{j<k}
    softplus(g_j)``), so the cumulative probabilities fall with ``k`` for every input and
    parameter value, not only at the loss's optimum (CORAL's rank consistency), and every
    class probability below is non-negative. They start where the class distribution is
    uniform (``P(level > k) = (C - 1 - k) / C``).

    Output, the head contract plus one key:

    - ``cls`` ``(B, C)``: log class probabilities, ``P(0) = 1 - P(>0)``, ``P(k) = P(>k-1)
      - P(>k)``, ``P(C-1) = P(>C-2)`` (clamped at :data:`MIN_CLASS_PROB` and
      renormalised), so ``softmax(cls)`` is that distribution and every consumer of class
      logits (cross-entropy, ``predict``'s probabilities) works unchanged;
    - ``reg`` ``(B,)``: the expected 0-based level ``sum_k P(level > k)``, the scale the
      regression losses train on (``score`` is the 0-based level for level datasets);
    - ``ordinal`` ``(B, C - 1)``: the cumulative logits, which ``CoralLoss`` trains.
    """

    example = dict(args=dict(hidden=8, num_classes=5), input_shape=(3, 16))

    def __init__(self, in_features: int, hidden: int = 128, num_classes: int = 10,
                 dropout: float = 0.0) -> None:
        super().__init__()
        if num_classes < 2:
            raise ValueError(f"OrdinalHead: num_classes must be >= 2 (ordered levels), got {num_classes}")
        self.in_features = in_features
        self.num_classes = num_classes
        self.fc = nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(inplace=True),
                                nn.Dropout(dropout))
        self.score = nn.Linear(hidden, 1, bias=False)
        above = torch.arange(num_classes - 1, 0, -1, dtype=torch.float32) / num_classes
        start = torch.logit(above)  # P(level > k) = (C - 1 - k) / C: uniform classes
        self.first_bias = nn.Parameter(start[:1].clone())
        gaps = start[:-1] - start[1:]  # > 0; softplus^-1(gap) = log(expm1(gap))
        self.bias_gaps = nn.Parameter(torch.log(torch.expm1(gaps)))

    def biases(self) -> torch.Tensor:
        """The ``(C - 1,)`` non-increasing biases ``b_k``."""
        steps = nn.functional.softplus(self.bias_gaps).cumsum(0)
        return torch.cat([self.first_bias, self.first_bias - steps])

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        if feats.dim() != 2 or feats.shape[1] != self.in_features:
            raise ValueError(
                f"OrdinalHead expects features (B, {self.in_features}), got {tuple(feats.shape)}"
            )
        ordinal = self.score(self.fc(feats)) + self.biases()  # (B, C - 1)
        above = torch.sigmoid(ordinal)  # P(level > k)
        probs = torch.cat([torch.sigmoid(-ordinal[:, :1]),  # 1 - P(> 0), without cancellation
                           above[:, :-1] - above[:, 1:], above[:, -1:]], dim=1)
        probs = probs.clamp_min(MIN_CLASS_PROB)
        probs = probs / probs.sum(dim=1, keepdim=True)
        return {"cls": probs.log(), "reg": above.sum(dim=1), "ordinal": ordinal}
