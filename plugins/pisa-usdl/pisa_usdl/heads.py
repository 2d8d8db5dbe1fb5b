"""USDL's and MUSDL's evaluators: features -> score-bin logits and the decoded score."""
from __future__ import annotations

from typing import Dict, List, Sequence

import torch
from torch import nn

from pisa_usdl.distributions import check_range, decode_scores


def _mlp(in_features: int, hidden: Sequence[int], out_features: int) -> nn.Sequential:
    layers: List[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, int(width)), nn.ReLU(inplace=True)]
        in_features = int(width)
    return nn.Sequential(*layers, nn.Linear(in_features, out_features))


class USDLHead(nn.Module):
    """USDL's evaluator: ``(B, in_features)`` -> ``{'cls': (B, num_bins) logits, 'reg':
    (B,) decoded score}``; ``num_classes`` is ``num_bins``."""

    example = dict(args=dict(num_bins=11, score_max=10.0, hidden=(8, 8)), input_shape=(3, 16))

    def __init__(self, in_features: int, num_bins: int = 101, score_max: float = 104.5,
                 score_min: float = 0.0, hidden: Sequence[int] = (256, 128),
                 decode: str = "argmax") -> None:
        super().__init__()
        check_range(type(self).__name__, num_bins, score_min, score_max, decode)
        self.in_features, self.num_bins, self.num_classes = in_features, num_bins, num_bins
        self.score_min, self.score_max, self.decode = float(score_min), float(score_max), decode
        self.mlp = _mlp(in_features, hidden, num_bins)

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        if feats.dim() != 2 or feats.shape[1] != self.in_features:
            raise ValueError(f"{type(self).__name__} expects features (B, {self.in_features}), "
                             f"got {tuple(feats.shape)}")
        logits = self.mlp(feats)
        return {"cls": logits, "reg": decode_scores(logits, self.score_min, self.score_max, self.decode)}

    def probabilities(self, cls: torch.Tensor) -> torch.Tensor:
        """``(B, num_bins)`` logits -> the predicted score distribution."""
        return torch.softmax(cls.float(), dim=1)


class MUSDLHead(nn.Module):
    """MUSDL's evaluator: one MLP per judge; ``(B, in_features)`` -> ``{'cls': (B, J *
    num_bins)``, ``'reg': (B,)`` the sum of the judges' decoded scores without the
    ``drop_extremes`` highest and lowest, ``'judges': (B, J)}``. ``num_classes`` is
    ``J * num_bins`` (the logits' width)."""

    example = dict(args=dict(num_judges=3, num_bins=5, judge_max=4.0, hidden=(8,), drop_extremes=1),
                   input_shape=(3, 16))

    def __init__(self, in_features: int, num_judges: int = 7, num_bins: int = 21,
                 judge_max: float = 10.0, judge_min: float = 0.0,
                 hidden: Sequence[int] = (256, 128), drop_extremes: int = 2,
                 decode: str = "argmax") -> None:
        super().__init__()
        name = type(self).__name__
        check_range(name, num_bins, judge_min, judge_max, decode)
        if not 0 <= 2 * drop_extremes < num_judges:
            raise ValueError(f"{name}: dropping {drop_extremes} highest and lowest of "
                             f"{num_judges} judges leaves none")
        self.in_features, self.num_judges, self.num_bins = in_features, num_judges, num_bins
        self.num_classes = num_judges * num_bins
        self.judge_min, self.judge_max = float(judge_min), float(judge_max)
        self.drop_extremes, self.decode = drop_extremes, decode
        self.judges = nn.ModuleList([_mlp(in_features, hidden, num_bins) for _ in range(num_judges)])

    def forward(self, feats: torch.Tensor) -> Dict[str, torch.Tensor]:
        if feats.dim() != 2 or feats.shape[1] != self.in_features:
            raise ValueError(f"{type(self).__name__} expects features (B, {self.in_features}), "
                             f"got {tuple(feats.shape)}")
        logits = torch.stack([judge(feats) for judge in self.judges], dim=1)  # (B, J, bins)
        judges = decode_scores(logits, self.judge_min, self.judge_max, self.decode)
        kept = judges.sort(dim=1).values[:, self.drop_extremes:self.num_judges - self.drop_extremes]
        return {"cls": logits.flatten(1), "reg": kept.sum(dim=1), "judges": judges}

    def probabilities(self, cls: torch.Tensor) -> torch.Tensor:
        """``(B, J * num_bins)`` logits -> each judge's distribution, flattened alike."""
        return torch.softmax(cls.float().view(len(cls), self.num_judges, self.num_bins), dim=2).flatten(1)
