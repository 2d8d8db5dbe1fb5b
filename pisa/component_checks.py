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

import math
import re
from numbers import Number
from typing import Any, Callable, Dict, List, Optional, Sequence

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


def _require(ok: Any, label: str, message: str) -> None:
    if not ok:
        raise ComponentCheckError(f"{label}: {message}")


def _is_shape(shape: Any, ranks: Sequence[int]) -> bool:
    return (isinstance(shape, (tuple, list)) and len(shape) in ranks
            and all(isinstance(d, int) and d > 0 for d in shape))


def _called(value: Any, label: str, key: str) -> Any:
    _require(callable(value), label, f"example {key} must be a callable that makes fresh data, "
                                     f"got {type(value).__name__}")
    return value()


def check_example(kind: str, obj: Any, name: Optional[str] = None) -> Dict[str, Any]:
    """The ``example`` of ``obj`` (a component of ``kind``), checked for its form (keys,
    types and shapes; not yet run): ``ValueError`` when it is missing or lacks a key,
    :class:`ComponentCheckError` when a value has the wrong form."""
    example = component_example(kind, obj)
    label = label_of(kind, obj, name)
    args = example["args"]
    _require(isinstance(args, dict), label, f"example args must be a dict, got {type(args).__name__}")
    if kind in TAKES_IN_FEATURES:
        _require("in_features" not in args, label, "example args must not set in_features (the check adds it)")
    if kind in INPUT_RANKS:
        shape = example["input_shape"]
        _require(_is_shape(shape, INPUT_RANKS[kind]), label,
                 f"example input_shape must be positive ints of rank "
                 f"{' or '.join(map(str, INPUT_RANKS[kind]))}, got {shape!r}")
        if kind == "backbone" and len(shape) == 4:
            _require(shape[1] == 1, label, f"a 4-d backbone input is a mel image (N, 1, F, W), got {shape!r}")
    if kind == "fusion":
        shapes = example["input_shapes"]
        _require(isinstance(shapes, (tuple, list)) and shapes and all(_is_shape(s, (2,)) for s in shapes),
                 label, f"example input_shapes must be a non-empty list of (B, D_i), got {shapes!r}")
        _require(len({s[0] for s in shapes}) == 1, label, f"example input_shapes differ in B: {shapes!r}")
    for key in ("input", "predictions", "records"):
        if key in EXAMPLE_KEYS[kind]:
            _require(callable(example[key]), label, f"example {key} must be a callable that makes "
                                                    f"fresh data, got {type(example[key]).__name__}")
    if kind == "transform":
        adds = example["adds"]
        _require(isinstance(adds, (tuple, list)) and adds and all(isinstance(k, str) for k in adds),
                 label, f"example adds must be a non-empty tuple of key names, got {adds!r}")
    if kind == "clip_sampler":
        _require(isinstance(example["num_frames"], int) and example["num_frames"] > 0, label,
                 f"example num_frames must be a positive int, got {example['num_frames']!r}")
    if kind == "decision_rule":
        _require(isinstance(example["num_classes"], int) and example["num_classes"] >= 2, label,
                 f"example num_classes must be an int >= 2, got {example['num_classes']!r}")
    if kind == "metric":
        _require(isinstance(example["dataset_meta"], dict), label, "example dataset_meta must be a dict")
        perfect = example.get("perfect")
        if perfect is not None:
            _require(isinstance(perfect, dict) and callable(perfect.get("predictions"))
                     and isinstance(perfect.get("values"), dict), label,
                     "example perfect must be dict(predictions=<callable>, values={key: value})")
    return example


# -- the model kinds -----------------------------------------------------------------
def _every_parameter_gets_gradient(module: Any, label: str) -> None:
    params = [(n, p) for n, p in module.named_parameters() if p.requires_grad]
    no_grad = [n for n, p in params if p.grad is None]
    _require(not no_grad, label, f"no gradient reached {no_grad[:5]}")
    _require(sum(float(p.grad.abs().sum()) for _, p in params) > 0 or not params, label,
             "every gradient is zero")


def check_backbone(obj: Any, name: Optional[str] = None) -> None:
    """Built from its example: clips of the example's shape -> ``(N, out_features)``,
    with a gradient on every parameter."""
    import torch

    label, example = label_of("backbone", obj, name), check_example("backbone", obj, name)
    shape = tuple(example["input_shape"])
    torch.manual_seed(0)
    backbone = obj(**example["args"])
    out = backbone(torch.randn(shape))
    _require(tuple(out.shape) == (shape[0], backbone.out_features), label,
             f"output {tuple(out.shape)}, expected {(shape[0], backbone.out_features)}")
    out.square().mean().backward()
    _every_parameter_gets_gradient(backbone, label)


def check_aggregator(obj: Any, name: Optional[str] = None) -> None:
    """``(B, K, D)`` -> ``(B, out_features)``, gradients to the input and every parameter,
    and a ``ValueError`` naming ``(B, K, D)`` for a wrong feature size."""
    import torch

    label, example = label_of("aggregator", obj, name), check_example("aggregator", obj, name)
    shape = tuple(example["input_shape"])
    dim = shape[-1]
    torch.manual_seed(0)
    agg = obj(in_features=dim, **example["args"])
    feats = torch.randn(shape, requires_grad=True)
    out = agg(feats)
    _require(tuple(out.shape) == (shape[0], agg.out_features), label,
             f"output {tuple(out.shape)}, expected {(shape[0], agg.out_features)}")
    out.square().mean().backward()
    _require(feats.grad is not None and feats.grad.abs().sum() > 0, label, "no gradient reached the input")
    _every_parameter_gets_gradient(agg, label)
    try:
        agg(torch.randn(*shape[:-1], dim - 1))
    except ValueError as err:
        _require(re.search(rf"\(B, K, {dim}\)", str(err)), label,
                 f"the error for a wrong feature size must name (B, K, {dim}), got: {err}")
    else:
        raise ComponentCheckError(f"{label}: features of size {dim - 1} (built for {dim}) raised no ValueError")


def check_fusion(obj: Any, name: Optional[str] = None) -> None:
    """``[(B, D_i)]`` -> ``(B, out_features)``, gradients to every input and parameter."""
    import torch

    label, example = label_of("fusion", obj, name), check_example("fusion", obj, name)
    shapes = [tuple(s) for s in example["input_shapes"]]
    torch.manual_seed(0)
    fusion = obj(in_features=[s[-1] for s in shapes], **example["args"])
    feats = [torch.randn(s, requires_grad=True) for s in shapes]
    out = fusion(feats)
    _require(tuple(out.shape) == (shapes[0][0], fusion.out_features), label,
             f"output {tuple(out.shape)}, expected {(shapes[0][0], fusion.out_features)}")
    out.square().mean().backward()
    _require(all(f.grad is not None and f.grad.abs().sum() > 0 for f in feats), label,
             "no gradient reached an input")
    _every_parameter_gets_gradient(fusion, label)


def _check_head_output(out: Any, batch: int, num_classes: Optional[int], label: str) -> None:
    # the contract's keys; a head may add more (OrdinalHead's 'ordinal'), batch first
    _require(isinstance(out, dict) and {"cls", "reg"} <= set(out), label,
             f"output must be a dict with 'cls' and 'reg', got {type(out).__name__} "
             f"{sorted(out) if isinstance(out, dict) else ''}")
    _require(all(v.shape[0] == batch for v in out.values()), label,
             f"every output must be batch first ({batch}), got "
             f"{ {k: tuple(v.shape) for k, v in out.items()} }")
    _require(out["cls"].dim() == 2 and out["reg"].shape == (batch,), label,
             f"'cls' must be (B, C) and 'reg' (B,), got {tuple(out['cls'].shape)} and {tuple(out['reg'].shape)}")
    if num_classes is not None:
        _require(out["cls"].shape[1] == num_classes, label,
                 f"'cls' has {out['cls'].shape[1]} classes, expected num_classes={num_classes}")


def check_head(obj: Any, name: Optional[str] = None, kind: str = "head") -> None:
    """``(B, D)`` (a sequence head: ``(B, K, D)``) -> ``{'cls': (B, C), 'reg': (B,)}``,
    with a gradient on every parameter."""
    import torch

    label, example = label_of(kind, obj, name), check_example(kind, obj, name)
    shape = tuple(example["input_shape"])
    torch.manual_seed(0)
    head = obj(in_features=shape[-1], **example["args"])
    out = head(torch.randn(shape))
    num_classes = example["args"].get("num_classes", getattr(head, "num_classes", None))
    _check_head_output(out, shape[0], num_classes, label)
    (out["cls"].square().mean() + out["reg"].square().mean()).backward()
    _every_parameter_gets_gradient(head, label)


def check_sequence_head(obj: Any, name: Optional[str] = None) -> None:
    """As :func:`check_head`, over clip features ``(B, K, D)``."""
    check_head(obj, name, kind="sequence_head")


def check_loss(obj: Any, name: Optional[str] = None) -> None:
    """A 5-class head output and targets -> a finite positive scalar whose gradient
    reaches the head output; a loss trained on the label ignores a sample labelled -1."""
    import torch

    label, example = label_of("loss", obj, name), check_example("loss", obj, name)
    loss = obj(**example["args"])
    torch.manual_seed(0)
    # a 5-class head's output, with the cumulative logits (C - 1) an ordinal head adds
    head_out = {"cls": torch.randn(4, 5, requires_grad=True), "reg": torch.randn(4, requires_grad=True),
                "ordinal": torch.randn(4, 4, requires_grad=True)}
    targets = {"label": torch.tensor([0, 4, 2, -1]), "score": torch.tensor([0.0, 4.0, 2.0, 1.0])}
    value = loss(head_out, targets)
    _require(value.dim() == 0 and torch.isfinite(value) and value > 0, label,
             f"expected a finite positive scalar, got {value!r}")
    value.backward()
    reached = [k for k, v in head_out.items() if v.grad is not None and v.grad.abs().sum() > 0]
    _require(reached, label, "no gradient reached the head output")
    requires = getattr(loss, "requires", None)
    if requires in ("cls", "ordinal"):  # trained on the label: the sample labelled -1 is ignored
        _require(reached == [requires] and torch.all(head_out[requires].grad[3] == 0), label,
                 f"a loss on {requires!r} must send gradient to {requires!r} only and none to the "
                 f"sample labelled -1; reached {reached}")


# -- the data and evaluation kinds ----------------------------------------------------
def check_transform(obj: Any, name: Optional[str] = None) -> Dict[str, Any]:
    """Built from its example, called on a fresh ``input()``: returns a dict holding
    every key of ``adds``. Returns that output."""
    label, example = label_of("transform", obj, name), check_example("transform", obj, name)
    transform = obj(**example["args"])
    results = _called(example["input"], label, "input")
    _require(isinstance(results, dict), label, f"example input() must return a dict, got {type(results).__name__}")
    out = transform(results)
    _require(isinstance(out, dict), label, f"output must be a dict, got {type(out).__name__}")
    missing = [k for k in example["adds"] if k not in out]
    _require(not missing, label, f"output lacks {missing} (its example promises adds={tuple(example['adds'])}); "
                                 f"output keys: {sorted(out)}")
    return out


def check_clip_sampler(obj: Any, name: Optional[str] = None) -> np.ndarray:
    """``sampler(num_frames)`` -> ``(S, K, T)`` int64 in ``0..num_frames-1`` with
    ``S >= 1``; the same indices on every call unless the sampler is ``random``; with
    an ``rng`` seeded alike, the same indices either way. Returns the indices."""
    label, example = label_of("clip_sampler", obj, name), check_example("clip_sampler", obj, name)
    sampler = obj(**example["args"])
    num_frames = example["num_frames"]

    def draw(rng: Optional[np.random.Generator] = None) -> np.ndarray:
        inds = sampler(num_frames) if rng is None else sampler(num_frames, rng=rng)
        _require(isinstance(inds, np.ndarray) and inds.dtype == np.int64 and inds.ndim == 3, label,
                 f"must return an int64 array (S, K, T), got {type(inds).__name__} "
                 f"{getattr(inds, 'dtype', '')} {getattr(inds, 'shape', '')}")
        _require(inds.shape[0] >= 1 and inds.shape[1] >= 1 and inds.shape[2] >= 1, label,
                 f"gave no sample of {num_frames} frames: shape {inds.shape}")
        _require(inds.min() >= 0 and inds.max() < num_frames, label,
                 f"indices {int(inds.min())}..{int(inds.max())} are outside 0..{num_frames - 1}")
        return inds

    steady = not getattr(sampler, "random", False)
    first = draw()
    if steady:
        _require(np.array_equal(first, draw()), label, "not random, but gave different indices on two calls")
    seeded = draw(np.random.default_rng(0))
    _require(np.array_equal(seeded, draw(np.random.default_rng(0))), label,
             "two rngs seeded alike gave different indices")
    if steady:
        _require(np.array_equal(first, seeded), label, "not random, but gave other indices with an rng")
    return first


def _finite_number(value: Any) -> bool:
    return (isinstance(value, (Number, np.number)) and not isinstance(value, (bool, np.bool_))
            and math.isfinite(float(value)))


def _run_metric(obj: Any, example: Dict[str, Any], predictions: List[Dict[str, Any]],
                label: str) -> Dict[str, Any]:
    metric = obj(**example["args"])
    metric.dataset_meta = dict(example["dataset_meta"])
    _require(isinstance(predictions, list) and predictions and all(isinstance(p, dict) for p in predictions),
             label, "example predictions() must return a non-empty list of predict-output dicts")
    metric.process({}, predictions)
    values = metric.compute_metrics(metric.results)
    _require(isinstance(values, dict) and values, label,
             f"compute_metrics must return a non-empty dict, got {values!r}")
    return values


def check_metric(obj: Any, name: Optional[str] = None) -> Dict[str, Any]:
    """``process`` then ``compute_metrics`` on the example's predictions: a dict whose
    numbers are finite, holding the example's ``keys`` as numbers; on ``perfect``
    predictions, the values it states. Returns the metrics of ``predictions``."""
    label, example = label_of("metric", obj, name), check_example("metric", obj, name)
    values = _run_metric(obj, example, _called(example["predictions"], label, "predictions"), label)
    bad = {k: v for k, v in values.items() if isinstance(v, (Number, np.number)) and not _finite_number(v)}
    _require(not bad, label, f"gave numbers that are not finite: {bad}")
    keys = tuple(example.get("keys", ()))
    missing = [k for k in keys if not _finite_number(values.get(k))]
    _require(not missing, label, f"gave no finite number for {missing} (its example's keys); got {sorted(values)}")
    perfect = example.get("perfect")
    if perfect is not None:
        best = _run_metric(obj, example, _called(perfect["predictions"], label, "perfect predictions"), label)
        wrong = {k: best.get(k) for k, v in perfect["values"].items()
                 if not _finite_number(best.get(k)) or not math.isclose(float(best[k]), float(v), abs_tol=1e-9)}
        _require(not wrong, label, f"perfect predictions gave {wrong}, expected "
                                   f"{ {k: perfect['values'][k] for k in wrong} }")
    return values


def check_decision_rule(obj: Any, name: Optional[str] = None) -> None:
    """Random ``probs (N, C)`` and ``reg (N,)`` -> ``(N,)`` int64 in ``0..C-1``; a
    one-hot ``probs`` with ``reg`` at the same level -> that level."""
    label, example = label_of("decision_rule", obj, name), check_example("decision_rule", obj, name)
    rule = obj(**example["args"])
    c = example["num_classes"]
    rng = np.random.default_rng(0)
    truth = np.arange(16) % c
    inputs = {"random": (rng.dirichlet(np.ones(c), size=16), rng.uniform(-0.5, c - 0.5, size=16)),
              "one-hot": (np.eye(c)[truth], truth.astype(np.float64))}
    for what, (probs, reg) in inputs.items():
        levels = rule(probs, reg)
        _require(isinstance(levels, np.ndarray) and levels.dtype == np.int64 and levels.shape == (16,),
                 label, f"must return (N,) int64 levels, got {type(levels).__name__} "
                        f"{getattr(levels, 'dtype', '')} {getattr(levels, 'shape', '')} on {what} input")
        _require(levels.min() >= 0 and levels.max() < c, label,
                 f"levels {int(levels.min())}..{int(levels.max())} outside 0..{c - 1} on {what} input")
    _require(np.array_equal(levels, truth), label,
             f"one-hot probs with reg at the same level must give that level: levels {truth.tolist()} "
             f"gave {levels.tolist()}")


def check_baseline(obj: Any, name: Optional[str] = None) -> List[Dict[str, Any]]:
    """``fit(train)`` then ``predict(test)`` -> one predict-output dict per test record,
    in order, with the model's keys (:data:`PREDICTION_KEYS`) and the record's truth.
    Returns the predictions."""
    label, example = label_of("baseline", obj, name), check_example("baseline", obj, name)
    records = _called(example["records"], label, "records")
    _require(isinstance(records, (tuple, list)) and len(records) == 2 and all(records), label,
             "example records() must return (train_records, test_records), both non-empty")
    train, test = records
    baseline = obj(**example["args"])
    baseline.fit(train)
    predictions = baseline.predict(test)
    _require(isinstance(predictions, list) and len(predictions) == len(test), label,
             f"predict gave {len(predictions) if isinstance(predictions, list) else type(predictions).__name__} "
             f"predictions for {len(test)} records")
    for record, pred in zip(test, predictions):
        missing = [k for k in PREDICTION_KEYS if k not in pred]
        _require(not missing, label, f"the prediction for {record.get('perf_id')!r} lacks {missing}")
        _require(pred["gt_label"] == int(record["label"]) and math.isclose(pred["gt_score"], float(record["score"]))
                 and pred["sample_id"] == str(record["perf_id"]), label,
                 f"the prediction for {record.get('perf_id')!r} does not carry the record's label, "
                 f"score and perf_id: {pred}")
        _require(_finite_number(pred["pred_score"]), label, f"pred_score {pred['pred_score']!r} is not finite")
        if int(record["label"]) >= 0:
            probs = np.asarray(pred["probs"], dtype=np.float64)
            _require(probs.ndim == 1 and 0 <= pred["pred_label"] < len(probs)
                     and math.isclose(float(probs.sum()), 1.0, abs_tol=1e-6), label,
                     f"pred_label {pred['pred_label']} and probs {probs.tolist()} are not a level "
                     "and a distribution over the levels")
    return predictions


#: kind -> its check (every kind of :data:`pisa.registry.EXAMPLE_KEYS`)
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
}


def check_component(kind: str, obj: Any, name: Optional[str] = None) -> Any:
    """Build ``obj`` (a component class of ``kind``) from its ``example`` and check its
    kind's contract; returns what the check produced (an output, indices, metrics,
    predictions; None for the model kinds). ``name``: the registered name, for messages."""
    if kind not in CHECKS:
        raise ValueError(f"no check for kind {kind!r}: components of the kinds "
                         f"{', '.join(CHECKS)} declare examples")
    return CHECKS[kind](obj, name)

