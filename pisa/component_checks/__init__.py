"""Checks that a component keeps its kind's contract, built from the ``example`` it
declares (:mod:`pisa.registry` states both). The framework's generated tests run
:func:`check_component` on every registered component of the kinds in
:data:`~pisa.registry.EXAMPLE_KEYS`, a plugin's included; a plugin's own tests can call
it on a class before registering it::

    from pisa.component_checks import check_component

    def test_my_transform():
        check_component("transform", MyTransform)

A broken component raises :class:`ComponentCheckError` (an ``AssertionError``) naming the
component and what it got wrong; a missing or incomplete example raises ``ValueError``
(:func:`pisa.registry.component_example`). Nothing here depends on a test framework.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional

from pisa.component_checks.common import (
    PREDICTION_KEYS,
    ComponentCheckError,
    check_example,
    label_of,
)
from pisa.component_checks.data_kinds import check_clip_sampler, check_dataset, check_transform
from pisa.component_checks.evaluation_kinds import (check_baseline, check_decision_rule, check_metric,
                                                    check_transcriber, note_array_problem)
from pisa.component_checks.model_kinds import (
    check_aggregator,
    check_backbone,
    check_fusion,
    check_head,
    check_loss,
    check_sequence_head,
)

CHECKS: Dict[str, Callable[..., Any]] = {
    "backbone": check_backbone,
    "aggregator": check_aggregator,
    "fusion": check_fusion,
    "head": check_head,
    "sequence_head": check_sequence_head,
    "loss": check_loss,
    "transform": check_transform,
    "clip_sampler": check_clip_sampler,
    "metric": check_metric,
    "decision_rule": check_decision_rule,
    "baseline": check_baseline,
    "dataset": check_dataset,
    "transcriber": check_transcriber,
}


def check_component(kind: str, obj: Any, name: Optional[str] = None) -> Any:
    """Build ``obj`` (a component class of ``kind``) from its ``example`` and check its
    kind's contract; returns what the check produced (an output, indices, metrics,
    predictions; None for the model kinds). ``name``: the registered name, for messages."""
    if kind not in CHECKS:
        raise ValueError(f"no check for kind {kind!r}: components of the kinds "
                         f"{', '.join(CHECKS)} declare examples")
    return CHECKS[kind](obj, name)


__all__ = ["CHECKS", "PREDICTION_KEYS", "ComponentCheckError", "check_component", "check_example",
           "label_of", "note_array_problem"] + [check.__name__ for check in CHECKS.values()]
