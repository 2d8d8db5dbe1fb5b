"""What a recording's assessment holds, and its text and plot.

A recording is assessed as a test loop over two sets of samples of the same recording
(:mod:`pisa.apis.assessor` runs them):

- the *level samples*, cut by the config's own clip sampler (or its adapter's default):
  the samples ``pisa test`` would score. Their class probabilities are averaged with
  :func:`~pisa.evaluation.metrics.level_metrics.pool_by_group`, as ``performance_accuracy`` pools a
  performance's samples, and the argmax is the recording's ``level``; the regression
  value is their mean.
- the *segments* of the timeline: consecutive, non-overlapping stretches of ``K`` clips x
  ``T`` frames (the level sampler's ``K`` and ``T``; the tail shorter than one segment is
  left out), each with its own level.

A score model (no classes: CoRe, USDL, a regression-only head) predicts a score per
sample; the recording's ``score`` is their mean (its ``level`` is 0 and no decision
rule decides it).

:func:`summarise_recording` turns the model's predict outputs (one dict per sample,
DEVELOPERS.md) into a :class:`RecordingPrediction`; :func:`format_prediction` and
:func:`plot_timeline` show it. Levels are 1..C here, as in every report.
"""
from __future__ import annotations

import math
import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.evaluation.metrics.level_metrics import pool_by_group

PathLike = Union[str, os.PathLike]


@dataclass
class SegmentPrediction:
    """One segment: frames ``[start_frame, end_frame)``, times in seconds, the predicted
    ``level`` (1..C), its probability ``confidence``, all ``probs`` and ``regression``
    (on the level scale, 1..C)."""

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    level: int
    confidence: float
    probs: List[float]
    regression: float


@dataclass
class RecordingPrediction:
    """A recording's prediction: ``level`` (1..C, 0 for a model without classes) decided
    by the model's ``decision`` rule from the ``probs`` of its ``num_samples`` level
    samples pooled and their mean ``regression``; ``confidence`` (the pooled probability
    of that level) and ``interval`` (the central 80 % interval ``[low, high]`` of the
    pooled distribution, in levels); the ``temperature`` the probabilities were scaled
    with, the ``members`` (checkpoints) averaged when the model is an ensemble, the
    ``sampler`` that cut those samples and the ``dataset`` type (and config section) whose
    pipeline made them, the ``crop_box`` used, and the ``segments`` timeline of
    ``frames_per_segment`` frames each. ``score``: a score model's prediction (its level
    samples' mean ``pred_score``, on the dataset's own scale, e.g. a dive's final score;
    also its ``regression``), with ``level`` 0 and ``decision`` None; None for a level
    model. ``evidence``: what the pipeline's transforms found in the recording, by name
    (a transform offering ``recording_evidence(record) -> dict``: a transcription
    plugin's ``notes``, with its descriptors and note events ``[onset s, offset s,
    pitch, velocity]`` in the recording's time)."""

    media: str
    fps: float
    num_frames: int
    frames_per_segment: int
    level: int
    probs: List[float]
    regression: float
    num_samples: int
    sampler: str
    dataset: str
    segments: List[SegmentPrediction] = field(default_factory=list)
    crop_box: Optional[List[float]] = None
    confidence: float = math.nan
    interval: Optional[List[int]] = None
    decision: Optional[str] = "ArgmaxLevel()"
    temperature: float = 1.0
    members: int = 1
    score: Optional[float] = None
    evidence: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _probs_and_scores(outputs: Sequence[Dict[str, Any]]) -> Tuple[np.ndarray, np.ndarray]:
    probs = [np.asarray(_plain(o["probs"]), dtype=np.float64).reshape(-1) for o in outputs]
    scores = np.array([float(_plain(o["pred_score"])) for o in outputs], dtype=np.float64)
    return (np.stack(probs) if probs else np.zeros((0, 0))), scores


def decide(outputs: Sequence[Dict[str, Any]], probs: np.ndarray, reg: np.ndarray) -> np.ndarray:
    """Levels (0-based) of rows ``probs (N, C)`` / ``reg (N,)`` by the decision rule the
    ``outputs`` name (``decision``; the classifier's argmax when they name none)."""
    from pisa.registry import DECISION_RULES

    cfg = dict(outputs[0].get("decision") or {"type": "ArgmaxLevel"}) if outputs else {
        "type": "ArgmaxLevel"}
    return np.asarray(DECISION_RULES.build(cfg)(probs, reg), dtype=np.int64)


def rule_label(outputs: Sequence[Dict[str, Any]]) -> str:
    """The readable name of the rule the outputs name, e.g. ``MedianLevel()``."""
    from pisa.registry import DECISION_RULES

    cfg = dict(outputs[0].get("decision") or {"type": "ArgmaxLevel"}) if outputs else {
        "type": "ArgmaxLevel"}
    return repr(DECISION_RULES.build(cfg))


def central_interval(probs: np.ndarray, mass: float = 0.8) -> List[int]:
    """``[low, high]`` (0-based levels): the lowest level whose cumulative probability
    exceeds ``(1 - mass) / 2`` and the lowest reaching ``(1 + mass) / 2``."""
    cumulative = np.cumsum(np.asarray(probs, dtype=np.float64) / np.sum(probs))
    tail = (1.0 - mass) / 2
    low = int(np.argmax(cumulative > tail - 1e-12))
    high = int(np.argmax(cumulative >= 1.0 - tail - 1e-12))
    return [low, high]


def average_members(members: Sequence[Sequence[Dict[str, Any]]]) -> List[Dict[str, Any]]:
    """An ensemble's outputs: for each sample (the members predicted the same samples
    in the same order), the members' ``probs`` and ``pred_score`` averaged and
    ``pred_label`` decided again on the averages by the first member's rule."""
    if not members:
        raise ValueError("an ensemble needs at least one member")
    sizes = {len(m) for m in members}
    if len(sizes) != 1:
        raise ValueError(f"ensemble members predicted different numbers of samples: {sorted(sizes)}")
    averaged = []
    for rows in zip(*members):
        ids = {str(r.get("sample_id")) for r in rows}
        if len(ids) != 1:
            raise ValueError(f"ensemble members disagree on the sample order: {sorted(ids)}")
        probs, scores = _probs_and_scores(rows)
        out = dict(rows[0], probs=probs.mean(axis=0).tolist() if probs.size else [],
                   pred_score=float(scores.mean()), branches={})
        if probs.size and probs.shape[1]:
            out["pred_label"] = int(decide(rows, probs.mean(axis=0, keepdims=True),
                                           scores.mean(keepdims=True))[0])
        averaged.append(out)
    return averaged


def _plain(value: Any) -> Any:
    if hasattr(value, "detach"):
        return value.detach().cpu().float().numpy()
    return value


def summarise_recording(
    media: str,
    fps: Optional[float],
    num_frames: int,
    level_outputs: Sequence[Dict[str, Any]],
    segment_frames: np.ndarray,
    segment_outputs: Sequence[Dict[str, Any]],
    sampler: str,
    dataset: str,
    crop_box: Optional[Sequence[float]] = None,
    members: int = 1,
) -> RecordingPrediction:
    """A :class:`RecordingPrediction` from the model's predict outputs: ``level_outputs``
    for the level samples, ``segment_outputs`` for the segments whose frame indices are
    ``segment_frames`` ``(S, K, T)`` (S may be 0: no timeline); ``members``: how many
    models' outputs were averaged into them."""
    if not level_outputs:
        raise ValueError(f"{media}: no samples to assess")
    segment_frames = np.asarray(segment_frames, dtype=np.int64)
    if len(segment_frames) != len(segment_outputs):
        raise ValueError(f"{media}: {len(segment_frames)} segments but "
                         f"{len(segment_outputs)} predictions for them")
    probs, scores = _probs_and_scores(level_outputs)
    has_classes = probs.shape[1] > 0
    # the pooling of performance_accuracy: every level sample is of this one recording
    _, pooled, _ = pool_by_group([str(o.get("group", media)) for o in level_outputs], probs,
                                 [int(_plain(o.get("gt_label", -1))) for o in level_outputs])
    if len(pooled) != 1:
        raise ValueError(f"{media}: the level samples belong to {len(pooled)} groups, expected one")
    # level datasets train the regression on the 0-based level: show it as a level
    shift = 1.0 if has_classes else 0.0
    rate = float(fps) if fps else math.nan
    segments = []
    if len(segment_outputs):
        seg_probs, seg_scores = _probs_and_scores(segment_outputs)
        seg_labels = (decide(segment_outputs, seg_probs, seg_scores) if has_classes
                      else np.full(len(seg_scores), -1))
        for s, (inds, p, r, label) in enumerate(zip(segment_frames, seg_probs, seg_scores,
                                                    seg_labels)):
            start, end = int(inds.min()), int(inds.max()) + 1
            label = int(label)
            segments.append(SegmentPrediction(
                index=s, start_frame=start, end_frame=end, start_s=start / rate, end_s=end / rate,
                level=label + 1 if has_classes else 0,
                confidence=float(p[label]) if has_classes else math.nan,
                probs=p.tolist(), regression=float(r) + shift))
    frames_per_segment = int(segment_frames[0].size) if len(segment_frames) else 0
    level = confidence = math.nan
    interval = None
    score: Optional[float] = None if has_classes else float(scores.mean())
    if has_classes:
        level = int(decide(level_outputs, pooled, scores.mean(keepdims=True))[0])
        confidence = float(pooled[0][level])
        interval = [v + 1 for v in central_interval(pooled[0])]
    return RecordingPrediction(
        media=media, fps=rate, num_frames=int(num_frames), frames_per_segment=frames_per_segment,
        level=level + 1 if has_classes else 0, probs=pooled[0].tolist(),
        regression=float(scores.mean()) + shift, num_samples=len(level_outputs),
        sampler=sampler, dataset=dataset, segments=segments,
        crop_box=None if crop_box is None else [float(v) for v in crop_box],
        confidence=confidence, interval=interval,
        decision=rule_label(level_outputs) if has_classes else None,
        temperature=float(_plain(level_outputs[0].get("temperature", 1.0))), members=int(members),
        score=score)


def format_prediction(pred: RecordingPrediction) -> str:
    """Text report: the level with its probabilities and the regression value (a score
    model: the score), the samples pooled, and one timeline line per segment (start-end
    time, level, confidence)."""
    sure = ""
    if pred.interval is not None:
        sure = (f", confidence {pred.confidence:.2f}, 80% interval "
                f"{pred.interval[0]}-{pred.interval[1]}")
    ensemble = f", an ensemble of {pred.members} models" if pred.members > 1 else ""
    what = (f"score {pred.score:.2f}" if pred.score is not None
            else f"level {pred.level}{sure} (regression {pred.regression:.2f})")
    decided = (f"decision {pred.decision}, temperature {pred.temperature:.3f}"
               if pred.decision is not None else "no decision rule (a score model)")
    lines = [f"{pred.media}: {what}, "
             f"{len(pred.segments)} segments of {pred.frames_per_segment} frames "
             f"at {pred.fps:.2f} fps",
             f"{'score averaged over' if pred.score is not None else 'level pooled from'} "
             f"{pred.num_samples} samples by {pred.sampler} ({pred.dataset}); {decided}{ensemble}"]
    if pred.probs:
        lines.append("probabilities: " + "  ".join(
            f"{i + 1}:{p:.3f}" for i, p in enumerate(pred.probs)))
    notes = pred.evidence.get("notes")
    if isinstance(notes, dict) and isinstance(notes.get("descriptors"), dict):
        lines.append(f"notes ({notes.get('transcriber', 'transcribed')}): " + "  ".join(
            f"{k} {v:.3g}" for k, v in notes["descriptors"].items()))
    lines.append("timeline:")
    for seg in pred.segments:
        lines.append(f"  {_clock(seg.start_s)}-{_clock(seg.end_s)}  level {seg.level:>2}  "
                     f"confidence {seg.confidence:.3f}  regression {seg.regression:.2f}")
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    if not math.isfinite(seconds):
        return "--:--.--"
    minutes, secs = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{secs:05.2f}"


def plot_timeline(pred: RecordingPrediction, path: PathLike, size_px: Optional[Tuple[int, int]] = None,
                  dpi: int = 100) -> Path:
    """PNG (default 1000x360 pixels, 1000x600 with notes): each segment's level as a bar
    over its time span (shaded by confidence), the regression value as a line, and the
    recording's level dashed; below it, on the same time axis, the piano roll of the
    recording's notes when its ``evidence`` holds them (a transcription plugin's)."""
    from pisa.evaluation.reports import new_figure, save_figure

    notes = pred.evidence.get("notes") if isinstance(pred.evidence, dict) else None
    events = np.asarray((notes or {}).get("events") or np.zeros((0, 4)), dtype=np.float64).reshape(-1, 4)
    with_roll = isinstance(notes, dict)
    fig = new_figure(size_px or ((1000, 600) if with_roll else (1000, 360)), dpi)
    ax = fig.add_subplot(2, 1, 1) if with_roll else fig.add_subplot(1, 1, 1)
    for seg in pred.segments:
        alpha = 0.25 + 0.75 * (seg.confidence if math.isfinite(seg.confidence) else 1.0)
        ax.bar(seg.start_s, seg.level, width=seg.end_s - seg.start_s, align="edge",
               color="tab:blue", alpha=alpha, edgecolor="white")
    mids = [(s.start_s + s.end_s) / 2 for s in pred.segments]
    ax.plot(mids, [s.regression for s in pred.segments], color="tab:orange", marker="o",
            label="regression")
    sure = (f", confidence {pred.confidence:.2f}, 80% interval {pred.interval[0]}-{pred.interval[1]}"
            if pred.interval is not None else "")
    ax.axhline(pred.level, color="black", linestyle="--",
               label=f"recording level {pred.level}{sure} ({pred.decision or 'no decision rule'})")
    top = max(len(pred.probs), 1)
    finite = [s.regression for s in pred.segments if math.isfinite(s.regression)]
    # an untrained or extrapolating regressor may leave the level range: keep it in view
    ax.set_ylim(min([0.0] + finite) - 0.5, max([top] + finite) + 0.5)
    ax.set_yticks(range(1, top + 1))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("level")
    ax.set_title(f"{Path(pred.media).name}: predicted level per segment")
    ax.legend(loc="upper right", fontsize=8)
    if with_roll:
        roll = fig.add_subplot(2, 1, 2, sharex=ax)
        # one bar per note, its darkness the velocity
        for onset, offset, pitch, velocity in events:
            roll.barh(pitch, offset - onset, left=onset, height=0.8, color="black",
                      alpha=0.3 + 0.7 * float(np.clip(velocity, 0.0, 1.0)))
        if len(events):
            roll.set_ylim(events[:, 2].min() - 2, events[:, 2].max() + 2)
        roll.set_xlabel("time (s)")
        roll.set_ylabel("MIDI pitch")
        roll.set_title(f"{len(events)} notes heard ({notes.get('transcriber', 'transcribed')})")
    fig.tight_layout()
    return save_figure(fig, path, dpi)
