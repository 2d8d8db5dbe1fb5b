"""What every component check shares: the error, the label that names a component, the
form of an ``example`` (:func:`check_example`)."""
from __future__ import annotations

import math
from numbers import Number
from typing import Any, Dict, Optional, Sequence

import numpy as np

from pisa.registry import EXAMPLE_KEYS, component_example

#: the keys every predict-output dict carries (DEVELOPERS.md, "The sample contract")
PREDICTION_KEYS = ("pred_label", "probs", "pred_score", "gt_label", "gt_score", "sample_id", "group")
#: kinds whose constructor gets ``in_features`` from the example's input, not its args
TAKES_IN_FEATURES = ("aggregator", "fusion", "head", "sequence_head")
#: kind -> the ranks its ``input_shape`` may have (module docstring of pisa.registry)
INPUT_RANKS = {"backbone": (4, 5), "aggregator": (3,), "head": (2,), "sequence_head": (3,)}


class ComponentCheckError(AssertionError):
    """A component broke its kind's contract on its own example."""


def label_of(kind: str, obj: Any, name: Optional[str] = None) -> str:
    """``'<kind> <name> (<module>)'``: how every message here names a component."""
    return f"{kind} {name or getattr(obj, '__name__', obj)!s} ({getattr(obj, '__module__', '?')})"


def require(ok: Any, label: str, message: str) -> None:
    if not ok:
        raise ComponentCheckError(f"{label}: {message}")


def is_shape(shape: Any, ranks: Sequence[int]) -> bool:
    return (isinstance(shape, (tuple, list)) and len(shape) in ranks
            and all(isinstance(d, int) and d > 0 for d in shape))


def called(value: Any, label: str, key: str) -> Any:
    require(callable(value), label, f"example {key} must be a callable that makes fresh data, "
                                     f"got {type(value).__name__}")
    return value()


def check_example(kind: str, obj: Any, name: Optional[str] = None) -> Dict[str, Any]:
    """The ``example`` of ``obj`` (a component of ``kind``), checked for its form (keys,
    types and shapes; not yet run): ``ValueError`` when it is missing or lacks a key,
    :class:`ComponentCheckError` when a value has the wrong form."""
    example = component_example(kind, obj)
    label = label_of(kind, obj, name)
    args = example["args"]
    require(isinstance(args, dict), label, f"example args must be a dict, got {type(args).__name__}")
    if kind in TAKES_IN_FEATURES:
        require("in_features" not in args, label, "example args must not set in_features (the check adds it)")
    if kind in INPUT_RANKS:
        shape = example["input_shape"]
        require(is_shape(shape, INPUT_RANKS[kind]), label,
                 f"example input_shape must be positive ints of rank "
                 f"{' or '.join(map(str, INPUT_RANKS[kind]))}, got {shape!r}")
    if kind == "fusion":
        shapes = example["input_shapes"]
        require(isinstance(shapes, (tuple, list)) and shapes and all(is_shape(s, (2,)) for s in shapes),
                 label, f"example input_shapes must be a non-empty list of (B, D_i), got {shapes!r}")
        require(len({s[0] for s in shapes}) == 1, label, f"example input_shapes differ in B: {shapes!r}")
    for key in ("input", "predictions", "records"):
        if key in EXAMPLE_KEYS[kind]:
            require(callable(example[key]), label, f"example {key} must be a callable that makes "
                                                    f"fresh data, got {type(example[key]).__name__}")
    if kind == "transform":
        adds = example["adds"]
        require(isinstance(adds, (tuple, list)) and adds and all(isinstance(k, str) for k in adds),
                 label, f"example adds must be a non-empty tuple of key names, got {adds!r}")
    if kind == "clip_sampler":
        require(isinstance(example["num_frames"], int) and example["num_frames"] > 0, label,
                 f"example num_frames must be a positive int, got {example['num_frames']!r}")
    if kind == "decision_rule":
        require(isinstance(example["num_classes"], int) and example["num_classes"] >= 2, label,
                 f"example num_classes must be an int >= 2, got {example['num_classes']!r}")
    if kind == "metric":
        require(isinstance(example["dataset_meta"], dict), label, "example dataset_meta must be a dict")
        perfect = example.get("perfect")
        if perfect is not None:
            require(isinstance(perfect, dict) and callable(perfect.get("predictions"))
                     and isinstance(perfect.get("values"), dict), label,
                     "example perfect must be dict(predictions=<callable>, values={key: value})")
    return example


def finite_number(value: Any) -> bool:
    return (isinstance(value, (Number, np.number)) and not isinstance(value, (bool, np.bool_))
            and math.isfinite(float(value)))
