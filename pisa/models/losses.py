"""Losses on one branch's head output: ``loss(head_out, targets) -> scalar``.

``head_out`` is ``{'cls': (B, C), 'reg': (B,)}``; ``targets`` is ``{'label': (B,) int64,
'score': (B,) float}``. Each loss carries its weight (Eq. 1 of the paper: 1 for the
cross-entropy term, 0.1 for the L1 + L2 term, in every branch), the head output it
reads (``requires``) and the short name the model uses in its loss keys
(``loss_<branch>_<loss_name>``).
"""
from __future__ import annotations

from typing import Dict, Optional

import torch
import torch.nn.functional as F
from torch import nn

from pisa.registry import component

IGNORE_LABEL = -1  # the sample contract's "no class label"


def _target(targets: Dict[str, torch.Tensor], key: str, loss: str) -> torch.Tensor:
    if key not in targets:
        raise KeyError(f"{loss} needs targets[{key!r}]; got keys {sorted(targets)}")
    return targets[key]


class _LabelLoss(nn.Module):
    """Base of the losses on class logits: ``weight * labelled_loss(logits, label)`` over
    the samples whose label is not -1 (0, still differentiable, when none is). Subclasses
    define ``labelled_loss`` on the labelled ``(N, C)`` logits and ``(N,)`` labels."""

    requires = "cls"
    weight: float

    def forward(self, head_out: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor]) -> torch.Tensor:
        name = type(self).__name__
        logits = head_out["cls"]
        if logits.shape[-1] == 0:
            raise ValueError(f"{name} needs class logits, but the head has num_classes=0")
        label = _target(targets, "label", name).long()
        valid = label != IGNORE_LABEL
        if not bool(valid.any()):
            return logits.sum() * 0.0
        return self.weight * self.labelled_loss(logits[valid], label[valid])


@component("loss")
class CrossEntropyLoss(_LabelLoss):
    """``weight * CE(cls, label)`` over samples whose label is not -1 (0 when none is)."""

    example = dict(args=dict())

    def __init__(self, weight: float = 1.0, label_smoothing: float = 0.0,
                 loss_name: str = "ce") -> None:
        super().__init__()
        self.weight = weight
        self.label_smoothing = label_smoothing
        self.loss_name = loss_name

    def labelled_loss(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        return F.cross_entropy(logits, label, label_smoothing=self.label_smoothing)


@component("loss")
class L1L2Loss(nn.Module):
    """``weight * (l1 * mean |reg - score| + l2 * mean (reg - score)^2)``: the paper's
    distance term (Eq. 1: L_Reg = L1 + L2, so ``l1 = l2 = 1``); ``l2=0`` gives L1 alone."""

    example = dict(args=dict())
    requires = "reg"

    def __init__(self, weight: float = 0.1, l1: float = 1.0, l2: float = 1.0,
                 loss_name: str = "reg") -> None:
        super().__init__()
        if l1 < 0 or l2 < 0 or l1 == l2 == 0:
            raise ValueError(f"L1L2Loss: l1 and l2 must be >= 0 and not both 0, got {l1} and {l2}")
        self.weight = weight
        self.l1 = l1
        self.l2 = l2
        self.loss_name = loss_name

    def forward(self, head_out: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor]) -> torch.Tensor:
        score = _target(targets, "score", type(self).__name__)
        diff = head_out["reg"] - score.to(head_out["reg"].dtype)
        return self.weight * (self.l1 * diff.abs().mean() + self.l2 * diff.pow(2).mean())


@component("loss")
class LabelDistributionLoss(_LabelLoss):
    """``weight * KL(N(label, sigma) over the classes || softmax(cls))``.

    An ordinal alternative to cross-entropy: the target is a discretised Gaussian around
    the true class, so predicting a neighbouring level costs less than a distant one.
    Samples with label -1 are ignored.
    """

    example = dict(args=dict(sigma=0.7))

    def __init__(self, weight: float = 1.0, sigma: float = 1.0, loss_name: str = "ld") -> None:
        super().__init__()
        if sigma <= 0:
            raise ValueError(f"LabelDistributionLoss: sigma must be > 0, got {sigma}")
        self.weight = weight
        self.sigma = sigma
        self.loss_name = loss_name

    def target_distribution(self, label: torch.Tensor, num_classes: int) -> torch.Tensor:
        """``(B,)`` labels -> ``(B, num_classes)`` rows summing to 1."""
        classes = torch.arange(num_classes, device=label.device, dtype=torch.float32)
        logits = -((classes[None, :] - label[:, None].float()) ** 2) / (2 * self.sigma ** 2)
        return torch.softmax(logits, dim=1)

    def labelled_loss(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        target = self.target_distribution(label, logits.shape[1]).to(logits.dtype)
        return F.kl_div(F.log_softmax(logits, dim=1), target, reduction="batchmean")


def loss_name_of(loss: nn.Module) -> str:
    """The short name a loss contributes to the model's loss keys."""
    name: Optional[str] = getattr(loss, "loss_name", None)
    return name or type(loss).__name__.lower()
