"""Decision rules: the level (0..C-1) a model answers for a sample, or for a pooled
performance, from its predictive distribution and its regression output.

A level is ordinal: answering 7 for a 3 is worse than answering 4. The classifier's
argmax (the PISA paper's decision, the default) ignores that; the other rules here use
the order. Every rule is a registered ``decision_rule`` (:mod:`pisa.registry`)::

    rule = DECISION_RULES.build(dict(type='MedianLevel'))
    levels = rule(probs, reg)   # probs (N, C), reg (N,) on the 0-based level scale -> (N,) int64

The model applies its rule in ``predict`` (``pred_label``) and names it in each output
(``decision``), and the level metrics and a recording's assessment build the same rule
from that name to decide a pooled performance, so ``pisa test``, ``pisa predict`` and the
metrics answer the same level for the same probabilities.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional, Union

import numpy as np

from pisa.registry import component

#: the rule a model uses when its config names none: the classifier's argmax (the paper)
DEFAULT_DECISION = "ArgmaxLevel"


def _checked(probs: Any, reg: Any) -> tuple:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 2 or probs.shape[1] < 1:
        raise ValueError(f"decision rule: probs must be (N, C) with C >= 1, got shape {probs.shape}")
    reg = np.asarray(reg, dtype=np.float64).reshape(-1)
    if reg.shape[0] != probs.shape[0]:
        raise ValueError(f"decision rule: {probs.shape[0]} probability rows but {reg.shape[0]} "
                         "regression values")
    return probs, reg


def _round_level(values: np.ndarray, num_classes: int) -> np.ndarray:
    # halves round up (2.5 -> 3), not to even, so neighbouring levels are treated alike
    return np.clip(np.floor(values + 0.5), 0, num_classes - 1).astype(np.int64)


class DecisionRule(ABC):
    """Base: ``rule(probs (N, C), reg (N,)) -> (N,) int64`` levels in ``0..C-1``."""

    def __call__(self, probs: Any, reg: Any) -> np.ndarray:
        probs, reg = _checked(probs, reg)
        return self.decide(probs, reg)

    @abstractmethod
    def decide(self, probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
        """Levels of checked ``probs (N, C)`` float64 and ``reg (N,)`` float64."""

    def config(self) -> Dict[str, Any]:
        """The config that builds this rule again (what predict outputs carry)."""
        return {"type": type(self).__name__}

    def __repr__(self) -> str:
        args = ", ".join(f"{k}={v!r}" for k, v in self.config().items() if k != "type")
        return f"{type(self).__name__}({args})"


@component("decision_rule")
class ArgmaxLevel(DecisionRule):
    """The most probable level (the classifier's argmax; ties go to the lower level)."""

    example = dict(args=dict(), num_classes=4)

    def decide(self, probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
        return probs.argmax(axis=1).astype(np.int64)


@component("decision_rule")
class ExpectedLevel(DecisionRule):
    """The expected level ``sum_k k p_k``, rounded: minimises the squared error in levels
    under the predictive distribution."""

    example = dict(args=dict(), num_classes=4)

    def decide(self, probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
        return _round_level(expected_level(probs), probs.shape[1])


@component("decision_rule")
class MedianLevel(DecisionRule):
    """The median of the predictive distribution (the lowest level whose cumulative
    probability reaches 1/2): minimises the expected absolute error in levels."""

    example = dict(args=dict(), num_classes=4)

    def decide(self, probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
        cumulative = np.cumsum(probs / probs.sum(axis=1, keepdims=True), axis=1)
        # a tiny tolerance: 0.5 reached through float sums counts as reached
        return np.argmax(cumulative >= 0.5 - 1e-9, axis=1).astype(np.int64)


@component("decision_rule")
class RegressionLevel(DecisionRule):
    """The regression output (trained on the 0-based level), rounded and clipped to
    ``0..C-1``."""

    example = dict(args=dict(), num_classes=4)

    def decide(self, probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
        return _round_level(reg, probs.shape[1])


@component("decision_rule")
class BlendLevel(DecisionRule):
    """``weight * expected level + (1 - weight) * regression``, rounded and clipped."""

    example = dict(args=dict(weight=0.5), num_classes=4)

    def __init__(self, weight: float = 0.5) -> None:
        if not 0.0 <= float(weight) <= 1.0:
            raise ValueError(f"BlendLevel: weight must be in [0, 1], got {weight}")
        self.weight = float(weight)

    def decide(self, probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
        blend = self.weight * expected_level(probs) + (1.0 - self.weight) * reg
        return _round_level(blend, probs.shape[1])

    def config(self) -> Dict[str, Any]:
        return {"type": type(self).__name__, "weight": self.weight}


def expected_level(probs: np.ndarray) -> np.ndarray:
    """``(N, C)`` probabilities -> ``(N,)`` expected 0-based level."""
    probs = np.asarray(probs, dtype=np.float64)
    return (probs / probs.sum(axis=1, keepdims=True)) @ np.arange(probs.shape[1], dtype=np.float64)


#: the rules a run may choose among on validation (``decision=dict(select=...)``)
CANDIDATE_RULES: List[Dict[str, Any]] = [
    dict(type="ArgmaxLevel"), dict(type="ExpectedLevel"), dict(type="MedianLevel"),
    dict(type="RegressionLevel"), dict(type="BlendLevel", weight=0.5),
]

RuleConfig = Union[None, str, Dict[str, Any], DecisionRule]


def build_decision_rule(cfg: RuleConfig) -> DecisionRule:
    """A rule from a config dict, a registered name, an instance, or None (the default,
    :data:`DEFAULT_DECISION`)."""
    from pisa.registry import DECISION_RULES

    if isinstance(cfg, DecisionRule):
        return cfg
    if cfg is None:
        cfg = DEFAULT_DECISION
    if isinstance(cfg, str):
        cfg = {"type": cfg}
    rule = DECISION_RULES.build(dict(cfg))
    if not isinstance(rule, DecisionRule):
        raise TypeError(f"decision rule {cfg!r} built a {type(rule).__name__}, not a DecisionRule")
    return rule


def rule_name(cfg: Optional[Dict[str, Any]]) -> str:
    """A short readable name of a rule config, e.g. ``BlendLevel(weight=0.5)``."""
    return repr(build_decision_rule(cfg))


def tempered_probs(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """``softmax(logits / temperature)`` row-wise, ``(N, C)`` float64."""
    z = np.asarray(logits, dtype=np.float64) / float(temperature)
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
