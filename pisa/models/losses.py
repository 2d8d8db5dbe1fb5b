"""Losses on one branch's head output: ``loss(head_out, targets) -> scalar``.

``head_out`` is ``{'cls': (B, C), 'reg': (B,)}`` (an ordinal head adds ``'ordinal':
(B, C - 1)``); ``targets`` is ``{'label': (B,) int64,
'score': (B,) float}``. Each loss carries its weight (Eq. 1 of the paper: 1 for the
cross-entropy term, 0.1 for the L1 + L2 term, in every branch), the head output it
reads (``requires``) and the short name the model uses in its loss keys
(``loss_<branch>_<loss_name>``).
"""
from __future__ import annotations

from typing import Dict, Optional, Sequence

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
    define ``labelled_loss`` on the labelled ``(N, C)`` logits and ``(N,)`` labels; the
    logits are ``head_out[requires]`` (``head_logits``)."""

    requires = "cls"
    weight: float

    def forward(self, head_out: Dict[str, torch.Tensor], targets: Dict[str, torch.Tensor]) -> torch.Tensor:
        name = type(self).__name__
        logits = self.head_logits(head_out)
        if logits.shape[-1] == 0:
            raise ValueError(f"{name} needs class logits, but the head has num_classes=0")
        label = _target(targets, "label", name).long()
        valid = label != IGNORE_LABEL
        if not bool(valid.any()):
            return logits.sum() * 0.0
        return self.weight * self.labelled_loss(logits[valid], label[valid])

    def head_logits(self, head_out: Dict[str, torch.Tensor]) -> torch.Tensor:
        """The head output this loss reads: ``head_out[self.requires]``."""
        return head_out[self.requires]


@component("loss")
class CrossEntropyLoss(_LabelLoss):
    """``weight * CE(cls, label)`` over samples whose label is not -1 (0 when none is).

    ``class_weight``: None, or one positive float per class (``C`` of them), torch's
    class-weighted cross-entropy (the mean is weighted by each sample's class weight); e.g.
    inverse level frequencies of the training split, written into the config.
    """

    example = dict(args=dict())

    def __init__(self, weight: float = 1.0, label_smoothing: float = 0.0,
                 loss_name: str = "ce", class_weight: Optional[Sequence[float]] = None) -> None:
        super().__init__()
        if class_weight is not None and (
                not len(class_weight) or not all(float(w) > 0 for w in class_weight)):
            raise ValueError(f"CrossEntropyLoss: class_weight must be None or positive floats, "
                             f"one per class, got {class_weight!r}")
        self.weight = weight
        self.label_smoothing = label_smoothing
        self.loss_name = loss_name
        self.class_weight = None if class_weight is None else [float(w) for w in class_weight]

    def labelled_loss(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        class_weight = None
        if self.class_weight is not None:
            if len(self.class_weight) != logits.shape[1]:
                raise ValueError(f"CrossEntropyLoss: class_weight has {len(self.class_weight)} "
                                 f"values, the head has {logits.shape[1]} classes")
            class_weight = torch.tensor(self.class_weight, dtype=logits.dtype, device=logits.device)
        return F.cross_entropy(logits, label, weight=class_weight,
                               label_smoothing=self.label_smoothing)


@component("loss")
class CoralLoss(_LabelLoss):
    """The CORAL loss (Cao, Mirjalili & Raschka 2020) on an ordinal head's cumulative
    logits: ``weight * mean_n sum_k w_k BCE(ordinal[n, k], [label_n > k])``, k = 0..C-2,
    over samples whose label is not -1 (0 when none is). ``importance_weights``: None
    (all 1) or ``C - 1`` non-negative floats, the paper's per-task weights ``w_k``.

    Reads ``head_out['ordinal']`` ``(B, C - 1)``, which ``OrdinalHead`` gives beside the
    head contract's ``cls`` and ``reg``.
    """

    example = dict(args=dict())
    requires = "ordinal"

    def __init__(self, weight: float = 1.0, importance_weights: Optional[Sequence[float]] = None,
                 loss_name: str = "coral") -> None:
        super().__init__()
        if importance_weights is not None and (
                not len(importance_weights) or not all(float(w) >= 0 for w in importance_weights)):
            raise ValueError(f"CoralLoss: importance_weights must be None or non-negative floats, "
                             f"one per level threshold (C - 1), got {importance_weights!r}")
        self.weight = weight
        self.importance_weights = (None if importance_weights is None
                                   else [float(w) for w in importance_weights])
        self.loss_name = loss_name

    def head_logits(self, head_out: Dict[str, torch.Tensor]) -> torch.Tensor:
        if "ordinal" not in head_out:
            raise KeyError(
                f"CoralLoss needs head_out['ordinal'], the (B, C - 1) cumulative logits of an "
                f"ordinal head such as OrdinalHead; this head gave only {sorted(head_out)} "
                "(the head contract {'cls': (B, C), 'reg': (B,)} has no cumulative logits)")
        return head_out["ordinal"]

    def labelled_loss(self, logits: torch.Tensor, label: torch.Tensor) -> torch.Tensor:
        thresholds = logits.shape[1]
        bad = (label < 0) | (label > thresholds)
        if bool(bad.any()):
            raise ValueError(f"CoralLoss: label {int(label[bad][0])} is outside the levels "
                             f"0..{thresholds} of a head with {thresholds + 1} classes")
        levels = (label[:, None] > torch.arange(thresholds, device=label.device)).to(logits.dtype)
        task_weight = None
        if self.importance_weights is not None:
            if len(self.importance_weights) != thresholds:
                raise ValueError(f"CoralLoss: importance_weights has {len(self.importance_weights)} "
                                 f"values, the head has {thresholds} level thresholds (C - 1)")
            task_weight = torch.tensor(self.importance_weights, dtype=logits.dtype,
                                       device=logits.device)
        per_task = F.binary_cross_entropy_with_logits(logits, levels, weight=task_weight,
                                                      reduction="none")
        return per_task.sum(dim=1).mean()


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
