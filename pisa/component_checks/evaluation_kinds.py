"""Checks of the evaluation kinds: metric, decision rule, baseline."""
from __future__ import annotations

import math
from numbers import Number
from typing import Any, Dict, List, Optional

import numpy as np

from pisa.component_checks.common import (
    PREDICTION_KEYS,
    called,
    check_example,
    finite_number,
    label_of,
    require,
)


def _run_metric(obj: Any, example: Dict[str, Any], predictions: List[Dict[str, Any]],
                label: str) -> Dict[str, Any]:
    metric = obj(**example["args"])
    metric.dataset_meta = dict(example["dataset_meta"])
    require(isinstance(predictions, list) and predictions and all(isinstance(p, dict) for p in predictions),
             label, "example predictions() must return a non-empty list of predict-output dicts")
    metric.process({}, predictions)
    values = metric.compute_metrics(metric.results)
    require(isinstance(values, dict) and values, label,
             f"compute_metrics must return a non-empty dict, got {values!r}")
    return values


def check_metric(obj: Any, name: Optional[str] = None) -> Dict[str, Any]:
    """``process`` then ``compute_metrics`` on the example's predictions: a dict whose
    numbers are finite, holding the example's ``keys`` as numbers; on ``perfect``
    predictions, the values it states. Returns the metrics of ``predictions``."""
    label, example = label_of("metric", obj, name), check_example("metric", obj, name)
    values = _run_metric(obj, example, called(example["predictions"], label, "predictions"), label)
    bad = {k: v for k, v in values.items() if isinstance(v, (Number, np.number)) and not finite_number(v)}
    require(not bad, label, f"gave numbers that are not finite: {bad}")
    keys = tuple(example.get("keys", ()))
    missing = [k for k in keys if not finite_number(values.get(k))]
    require(not missing, label, f"gave no finite number for {missing} (its example's keys); got {sorted(values)}")
    perfect = example.get("perfect")
    if perfect is not None:
        best = _run_metric(obj, example, called(perfect["predictions"], label, "perfect predictions"), label)
        wrong = {k: best.get(k) for k, v in perfect["values"].items()
                 if not finite_number(best.get(k)) or not math.isclose(float(best[k]), float(v), abs_tol=1e-9)}
        require(not wrong, label, f"perfect predictions gave {wrong}, expected "
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
        require(isinstance(levels, np.ndarray) and levels.dtype == np.int64 and levels.shape == (16,),
                 label, f"must return (N,) int64 levels, got {type(levels).__name__} "
                        f"{getattr(levels, 'dtype', '')} {getattr(levels, 'shape', '')} on {what} input")
        require(levels.min() >= 0 and levels.max() < c, label,
                 f"levels {int(levels.min())}..{int(levels.max())} outside 0..{c - 1} on {what} input")
    require(np.array_equal(levels, truth), label,
             f"one-hot probs with reg at the same level must give that level: levels {truth.tolist()} "
             f"gave {levels.tolist()}")


def check_baseline(obj: Any, name: Optional[str] = None) -> List[Dict[str, Any]]:
    """``fit(train)`` then ``predict(test)`` -> one predict-output dict per test record,
    in order, with the model's keys (:data:`PREDICTION_KEYS`) and the record's truth.
    Returns the predictions."""
    label, example = label_of("baseline", obj, name), check_example("baseline", obj, name)
    records = called(example["records"], label, "records")
    require(isinstance(records, (tuple, list)) and len(records) == 2 and all(records), label,
             "example records() must return (train_records, test_records), both non-empty")
    train, test = records
    baseline = obj(**example["args"])
    baseline.fit(train)
    predictions = baseline.predict(test)
    require(isinstance(predictions, list) and len(predictions) == len(test), label,
             f"predict gave {len(predictions) if isinstance(predictions, list) else type(predictions).__name__} "
             f"predictions for {len(test)} records")
    for record, pred in zip(test, predictions):
        missing = [k for k in PREDICTION_KEYS if k not in pred]
        require(not missing, label, f"the prediction for {record.get('perf_id')!r} lacks {missing}")
        require(pred["gt_label"] == int(record["label"]) and math.isclose(pred["gt_score"], float(record["score"]))
                 and pred["sample_id"] == str(record["perf_id"]), label,
                 f"the prediction for {record.get('perf_id')!r} does not carry the record's label, "
                 f"score and perf_id: {pred}")
        require(finite_number(pred["pred_score"]), label, f"pred_score {pred['pred_score']!r} is not finite")
        if int(record["label"]) >= 0:
            probs = np.asarray(pred["probs"], dtype=np.float64)
            require(probs.ndim == 1 and 0 <= pred["pred_label"] < len(probs)
                     and math.isclose(float(probs.sum()), 1.0, abs_tol=1e-6), label,
                     f"pred_label {pred['pred_label']} and probs {probs.tolist()} are not a level "
                     "and a distribution over the levels")
    return predictions


#: kind -> its check (every kind of :data:`pisa.registry.EXAMPLE_KEYS`)


def check_transcriber(obj: Any, name: Optional[str] = None) -> List[np.ndarray]:
    """``transcribe(audios)`` -> one valid note array per recording (:func:`note_array_problem`),
    the same on a second call; ``fingerprint()`` a non-empty string. Returns the notes."""
    label, example = label_of("transcriber", obj, name), check_example("transcriber", obj, name)
    audios = called(example["audio"], label, "audio")
    require(isinstance(audios, list) and audios and all(np.ndim(a) == 1 for a in audios), label,
            "example audio() must return a non-empty list of (S,) arrays")
    transcriber = obj(**example["args"])
    fingerprint = transcriber.fingerprint()
    require(isinstance(fingerprint, str) and fingerprint, label,
            f"fingerprint() must be a non-empty string, got {fingerprint!r}")
    require(int(getattr(transcriber, "sample_rate", 0) or 0) > 0, label,
            "must expose sample_rate (Hz) > 0, the rate its audio is read at")
    first = transcriber.transcribe(audios)
    require(isinstance(first, list) and len(first) == len(audios), label,
            f"transcribe gave {len(first) if isinstance(first, list) else type(first).__name__} "
            f"note arrays for {len(audios)} recordings")
    for i, notes in enumerate(first):
        problem = note_array_problem(notes)
        require(problem is None, label, f"recording {i}: {problem}")
    again = transcriber.transcribe(audios)
    require(all(np.array_equal(a, b) for a, b in zip(first, again)), label,
            "a second transcribe of the same audio gave other notes")
    return first


def note_array_problem(notes: Any) -> Optional[str]:
    """What is wrong with a transcriber's note array (None when nothing): float64
    ``(N, 4)`` rows ``(onset s, offset s, MIDI pitch 0..127, velocity 0..1)``, finite,
    ``onset >= 0``, ``offset > onset``, sorted by onset."""
    if not isinstance(notes, np.ndarray) or notes.dtype != np.float64 or notes.ndim != 2 \
            or notes.shape[1] != 4:
        return (f"notes must be a float64 (N, 4) array, got {type(notes).__name__} "
                f"{getattr(notes, 'dtype', '')} {getattr(notes, 'shape', '')}")
    if not np.isfinite(notes).all():
        return "notes hold NaN or infinite values"
    if len(notes) == 0:
        return None
    onset, offset, pitch, velocity = notes.T
    if (onset < 0).any() or (offset <= onset).any():
        return "every note needs onset >= 0 and offset > onset"
    if (pitch < 0).any() or (pitch > 127).any() or (pitch != np.round(pitch)).any():
        return "pitches must be whole MIDI numbers 0..127"
    if (velocity < 0).any() or (velocity > 1).any():
        return "velocities must lie in 0..1"
    if (np.diff(onset) < 0).any():
        return "notes must be sorted by onset"
    return None
