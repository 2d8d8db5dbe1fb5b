"""pisa plugin: USDL and MUSDL (Tang et al., "Uncertainty-aware Score Distribution
Learning for Action Quality Assessment", CVPR 2020), as the authors' code
(github.com/nzl-thu/MUSDL, ``MTL-AQA/``) runs them.

USDL: the score is a Gaussian label distribution over ``num_bins`` score bins spread
evenly over ``[score_min, score_max]``, learned with a KL divergence. The authors'
MTL-AQA setting (``opts.py``, ``dataset.py``): 101 bins (0..100) over ``[0, label_max =
104.5]``; the target is ``N(score * 100 / 104.5, sigma = 5)`` (sigma in bins) evaluated
at the bins and normalised to sum 1; the prediction is the argmax bin times ``104.5 /
100``. On JIGSAWS (``JIGSAWS/``): 25 bins over the GRS range 6..30, sigma 1.

MUSDL: one distribution per judge, each from its own MLP (``Evaluator``): 7 judges, 21
bins (0..20) over ``[0, judge_max = 10]`` (judges score in steps of 0.5), the same
``sigma = 5``; the loss is the sum over judges of their KL divergences; the prediction
is the diving rule: each judge's argmax bin times ``10 / 20``, sorted, the middle three
(drop the two highest and two lowest) summed, times the dive's difficulty. On JIGSAWS
the six GRS items are the "judges" (5 bins over 1..5, sigma 1), all six summed.

Components:

- head ``USDLHead``: features ``(B, D)`` -> ``{'cls': (B, num_bins) logits, 'reg': (B,)
  decoded score}``; the authors' MLP (``D -> 256 -> 128 -> bins``, ReLU).
- head ``MUSDLHead``: ``{'cls': (B, J * num_bins)`` (judge ``j``'s logits at
  ``[:, j * num_bins:(j + 1) * num_bins]``), ``'reg': (B,)`` (the summed middle judges,
  the score before the difficulty), ``'judges': (B, J)}`` (each judge's decoded score).
- loss ``USDLLoss`` (on ``targets['score']``) and ``MUSDLLoss`` (on
  ``targets['judge_scores']``).
- model ``ScoreDistributionModel``: :class:`pisa.models.aqa_model.AQAModel` that also
  hands ``target_keys`` of ``data_samples`` (``judge_scores``) to the losses, multiplies
  the prediction by ``data_samples[multiply_by]`` (``difficulty``), and predicts in the
  framework's format with ``pred_label = -1`` and ``probs`` the predicted distribution(s).

Where this follows the authors and where it does not:

- Followed: bins, score ranges, sigma, the normalised pdf target, argmax decoding, the
  per-judge MLPs and the summed per-judge KL, the middle-three rule times difficulty,
  ``nn.KLDivLoss()``'s default ``reduction='mean'`` (the mean over batch *and* bins).
- Departures: the backbone is whatever the config names (the authors' is a Kinetics
  I3D, here the framework's C3D: no pretrained I3D ships and nothing downloads); the
  clips come from the framework's samplers over the annotated dive (the authors take 103
  prepared frames with a random shift of 0..6 frames, and 10 clips at frames 0, 10, ...,
  80 and the last 16); ``decode='expectation'`` (the distribution's mean, differentiable)
  is offered beside the authors' argmax.
"""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from pisa.hookspecs import hookimpl
from pisa.models.aqa_model import AQAModel
from pisa.models.batch import sample_column

__version__ = "0.1.0"

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


def _mlp(in_features: int, hidden: Sequence[int], out_features: int) -> nn.Sequential:
    layers: List[nn.Module] = []
    for width in hidden:
        layers += [nn.Linear(in_features, int(width)), nn.ReLU(inplace=True)]
        in_features = int(width)
    return nn.Sequential(*layers, nn.Linear(in_features, out_features))


def _check(name: str, num_bins: int, score_min: float, score_max: float, decode: str = "argmax") -> None:
    if num_bins < 2:
        raise ValueError(f"{name}: num_bins must be >= 2, got {num_bins}")
    if not float(score_max) > float(score_min):
        raise ValueError(f"{name}: the score range [{score_min}, {score_max}] is empty")
    if decode not in DECODES:
        raise ValueError(f"{name}: decode must be one of {DECODES}, got {decode!r}")


class USDLHead(nn.Module):
    """USDL's evaluator: ``(B, in_features)`` -> ``{'cls': (B, num_bins) logits, 'reg':
    (B,) decoded score}``; ``num_classes`` is ``num_bins``."""

    example = dict(args=dict(num_bins=11, score_max=10.0, hidden=(8, 8)), input_shape=(3, 16))

    def __init__(self, in_features: int, num_bins: int = 101, score_max: float = 104.5,
                 score_min: float = 0.0, hidden: Sequence[int] = (256, 128),
                 decode: str = "argmax") -> None:
        super().__init__()
        _check(type(self).__name__, num_bins, score_min, score_max, decode)
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
        _check(name, num_bins, judge_min, judge_max, decode)
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
        _check(type(self).__name__, 2, score_min, score_max)
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
        _check(type(self).__name__, 2, judge_min, judge_max)
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


class ScoreDistributionModel(AQAModel):
    """:class:`~pisa.models.aqa_model.AQAModel` for score-distribution heads.

    Args:
        target_keys: ``data_samples`` keys handed to the losses besides ``label`` and
            ``score``, as float32 tensors (``('judge_scores',)`` for MUSDL; the dataset
            packs them with ``PackAQAInputs(meta_keys=...)``).
        multiply_by: a ``data_samples`` key the heads' ``reg`` is multiplied by to give
            ``pred_score`` (``'difficulty'`` for MUSDL), or None.
        Other arguments: :class:`~pisa.models.aqa_model.AQAModel`.

    ``predict``: one dict per sample, the framework's format: ``pred_label`` -1 (a score
    model), ``probs`` the head's predicted distribution(s) (``head.probabilities``),
    ``pred_score``, ``gt_label``, ``gt_score``, ``sample_id``, ``group``, ``branches``
    (each branch's own three), and ``pred_judge_scores`` when the head decodes judges.
    """

    def __init__(self, target_keys: Sequence[str] = (), multiply_by: Optional[str] = None,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.target_keys = (target_keys,) if isinstance(target_keys, str) else tuple(target_keys)
        self.multiply_by = multiply_by

    def _column(self, data_samples: Optional[dict], key: str, device: torch.device) -> torch.Tensor:
        if not isinstance(data_samples, dict) or data_samples.get(key) is None:
            got = sorted(data_samples) if isinstance(data_samples, dict) else None
            raise KeyError(f"{type(self).__name__}: data_samples[{key!r}] is missing (pack it with "
                           f"PackAQAInputs(meta_keys=(..., {key!r}))); got {got}")
        value = data_samples[key]
        if not isinstance(value, torch.Tensor):
            value = torch.as_tensor(value)
        return value.to(device=device, dtype=torch.float32)

    def _targets(self, data_samples: Optional[dict], device: torch.device) -> Dict[str, torch.Tensor]:
        targets = super()._targets(data_samples, device)
        for key in self.target_keys:
            targets[key] = self._column(data_samples, key, device)
        return targets

    @torch.no_grad()
    def predict(self, inputs: Dict[str, torch.Tensor], data_samples: Optional[dict] = None) -> List[dict]:
        outputs = self.branch_outputs(inputs)
        device = next(iter(outputs.values()))["reg"].device
        factor = (self._column(data_samples, self.multiply_by, device)
                  if self.multiply_by is not None else None)
        per_branch = {}
        for branch, out in outputs.items():
            head = self.heads[branch]
            cls = out["cls"].float()
            probs = head.probabilities(cls) if hasattr(head, "probabilities") else torch.softmax(cls, dim=1)
            score = out["reg"].float() if factor is None else out["reg"].float() * factor
            judges = out.get("judges")
            per_branch[branch] = (probs.tolist(), score.tolist(),
                                  None if judges is None else judges.float().tolist())
        batch = len(next(iter(per_branch.values()))[1])
        columns = {key: sample_column(data_samples, key, cast, batch)
                   for key, cast in (("label", int), ("score", float), ("sample_id", str), ("group", str))}
        results = []
        for i in range(batch):
            branches = {b: {"pred_label": -1, "probs": v[0][i], "pred_score": v[1][i]}
                        for b, v in per_branch.items()}
            result = dict(branches[self.decision_branch], gt_label=columns["label"][i],
                          gt_score=columns["score"][i], sample_id=columns["sample_id"][i],
                          group=columns["group"][i], branches=branches)
            judges = per_branch[self.decision_branch][2]
            if judges is not None:
                result["pred_judge_scores"] = judges[i]
            results.append(result)
        return results


@hookimpl
def pisa_register_components(register) -> None:
    register("head", USDLHead)
    register("head", MUSDLHead)
    register("loss", USDLLoss)
    register("loss", MUSDLLoss)
    register("model", ScoreDistributionModel)
