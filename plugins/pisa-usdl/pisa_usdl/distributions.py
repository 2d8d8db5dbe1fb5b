"""Score distributions: USDL's Gaussian target over score bins, the score a distribution
decodes to, and the KL divergence the losses take."""
from __future__ import annotations

import torch
import torch.nn.functional as F

DECODES = ("argmax", "expectation")


def gaussian_score_distribution(score: torch.Tensor, num_bins: int, score_min: float,
                                score_max: float, sigma: float) -> torch.Tensor:
    """USDL's target: ``(B,)`` scores in ``[score_min, score_max]`` -> ``(B, num_bins)``
    rows summing to 1, the pdf of ``N((score - score_min) * (num_bins - 1) / (score_max -
    score_min), sigma)`` at the bins ``0..num_bins - 1``, normalised (the authors'
    ``proc_label``; sigma is in bins)."""
    bins = torch.arange(num_bins, device=score.device, dtype=torch.float32)
    loc = (score.float()[:, None] - float(score_min)) * (num_bins - 1) / (float(score_max) - float(score_min))
    # the pdf's constant cancels in the normalisation: a softmax of the exponent
    return torch.softmax(-((bins[None, :] - loc) ** 2) / (2.0 * float(sigma) ** 2), dim=1)


def decode_scores(logits: torch.Tensor, score_min: float, score_max: float,
                  decode: str = "argmax") -> torch.Tensor:
    """``(..., num_bins)`` logits -> ``(...)`` scores: ``score_min`` plus the argmax bin
    (the authors') or the expected bin, times ``(score_max - score_min) / (num_bins - 1)``."""
    step = (float(score_max) - float(score_min)) / (logits.shape[-1] - 1)
    if decode == "argmax":
        return float(score_min) + logits.argmax(dim=-1).to(logits.dtype) * step
    bins = torch.arange(logits.shape[-1], device=logits.device, dtype=logits.dtype)
    return float(score_min) + (torch.softmax(logits, dim=-1) * bins).sum(dim=-1) * step


def distribution_kl(logits: torch.Tensor, target: torch.Tensor, reduction: str) -> torch.Tensor:
    """``KL(target || softmax(logits))`` over the last dim: ``'mean'`` over every element
    (``nn.KLDivLoss()``'s default, which the authors use) or ``'batchmean'``."""
    pointwise = F.kl_div(F.log_softmax(logits, dim=-1), target, reduction="none")
    if reduction == "mean":
        return pointwise.mean()
    return pointwise.sum() / logits.shape[0]


def check_range(name: str, num_bins: int, score_min: float, score_max: float, decode: str = "argmax") -> None:
    """``ValueError`` naming component ``name`` for fewer than 2 bins, an empty score range
    or an unknown ``decode``."""
    if num_bins < 2:
        raise ValueError(f"{name}: num_bins must be >= 2, got {num_bins}")
    if not float(score_max) > float(score_min):
        raise ValueError(f"{name}: the score range [{score_min}, {score_max}] is empty")
    if decode not in DECODES:
        raise ValueError(f"{name}: decode must be one of {DECODES}, got {decode!r}")
