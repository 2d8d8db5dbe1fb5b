"""USDL's and MUSDL's losses: KL divergences to Gaussian score distributions."""
from __future__ import annotations

from typing import Dict

import torch
from torch import nn

from pisa_usdl.distributions import check_range, distribution_kl, gaussian_score_distribution


class _DistributionLoss(nn.Module):
    def _init(self, sigma: float, weight: float, reduction: str, loss_name: str) -> None:
        name = type(self).__name__
        if not float(sigma) > 0:
            raise ValueError(f"{name}: sigma must be > 0, got {sigma}")
        if reduction not in ("mean", "batchmean"):
            raise ValueError(f"{name}: reduction must be 'mean' or 'batchmean', got {reduction!r}")
        self.sigma, self.weight, self.reduction, self.loss_name = float(sigma), weight, reduction, loss_name


class USDLLoss(_DistributionLoss):
    """``weight * KL(N(score) over the bins || softmax(cls))`` with the target of
    :func:`gaussian_score_distribution` over the head's ``C = cls.shape[1]`` bins and
    ``[score_min, score_max]``; every sample counts (the target is the score, not the
    label)."""

    example = dict(args=dict(score_max=4.0, sigma=1.0))

    def __init__(self, score_max: float = 104.5, score_min: float = 0.0, sigma: float = 5.0,
                 weight: float = 1.0, reduction: str = "mean", loss_name: str = "usdl") -> None:
        super().__init__()
        check_range(type(self).__name__, 2, score_min, score_max)
        self._init(sigma, weight, reduction, loss_name)
        self.score_min, self.score_max = float(score_min), float(score_max)

    def forward(self, head_out: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor]) -> torch.Tensor:
        logits = head_out["cls"]
        if logits.dim() != 2 or logits.shape[1] < 2:
            raise ValueError(f"{type(self).__name__} needs score-bin logits (B, C >= 2), got "
                             f"{tuple(logits.shape)} (a head with num_classes=0?)")
        if "score" not in targets:
            raise KeyError(f"{type(self).__name__} needs targets['score']; got {sorted(targets)}")
        target = gaussian_score_distribution(targets["score"], logits.shape[1], self.score_min,
                                             self.score_max, self.sigma)
        return self.weight * distribution_kl(logits, target.to(logits.dtype), self.reduction)


class MUSDLLoss(_DistributionLoss):
    """``weight * sum over judges j of KL(N(judge score j) || softmax(cls_j))``: the head's
    ``(B, J * bins)`` logits split into ``num_judges`` distributions, each against the
    target of its judge's score in ``targets[judge_key]`` ``(B, J)`` over ``[judge_min,
    judge_max]`` (``(B,)`` with one judge)."""

    # one "judge" reading the score: the registry's generated test feeds label and score only
    example = dict(args=dict(num_judges=1, judge_max=4.0, sigma=1.0, judge_key="score"))

    def __init__(self, num_judges: int = 7, judge_max: float = 10.0, judge_min: float = 0.0,
                 sigma: float = 5.0, judge_key: str = "judge_scores", weight: float = 1.0,
                 reduction: str = "mean", loss_name: str = "musdl") -> None:
        super().__init__()
        check_range(type(self).__name__, 2, judge_min, judge_max)
        self._init(sigma, weight, reduction, loss_name)
        self.num_judges, self.judge_key = int(num_judges), judge_key
        self.judge_min, self.judge_max = float(judge_min), float(judge_max)

    def forward(self, head_out: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor]) -> torch.Tensor:
        name = type(self).__name__
        logits = head_out["cls"]
        if logits.dim() != 2 or logits.shape[1] % self.num_judges or logits.shape[1] // self.num_judges < 2:
            raise ValueError(f"{name}: cls {tuple(logits.shape)} is not {self.num_judges} judges' "
                             "score-bin logits (B, J * bins)")
        if self.judge_key not in targets:
            raise KeyError(f"{name} needs targets[{self.judge_key!r}] (the judges' scores: "
                           f"PackAQAInputs meta_keys and the model's target_keys); got {sorted(targets)}")
        judges = targets[self.judge_key]
        judges = judges[:, None] if judges.dim() == 1 else judges
        if judges.shape != (len(logits), self.num_judges):
            raise ValueError(f"{name}: targets[{self.judge_key!r}] is {tuple(judges.shape)}, expected "
                             f"({len(logits)}, {self.num_judges})")
        bins = logits.shape[1] // self.num_judges
        per_judge = logits.view(len(logits), self.num_judges, bins)
        total = logits.new_zeros(())
        for j in range(self.num_judges):
            target = gaussian_score_distribution(judges[:, j], bins, self.judge_min, self.judge_max,
                                                 self.sigma)
            total = total + distribution_kl(per_judge[:, j], target.to(logits.dtype), self.reduction)
        return self.weight * total
