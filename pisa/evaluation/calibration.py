"""Calibration of level predictions: expected calibration error, the reliability diagram,
and temperature scaling.

The confidence of a prediction is the probability the model gives to the level it
answers (``probs[pred]``, whichever decision rule chose ``pred``); it is calibrated when,
among predictions made with confidence about c, a fraction about c is right. The
expected calibration error (ECE) bins the predictions by confidence into equal-width
bins and averages ``|accuracy - mean confidence|`` weighted by the bins' sizes (Guo et
al., "On Calibration of Modern Neural Networks", ICML 2017, Eq. 3; 15 bins there).
Temperature scaling (the same paper, Sec. 4.2) divides the logits by one ``T > 0``
fitted on validation by minimising the negative log-likelihood; it changes the
confidences, never the argmax.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Tuple, Union

import numpy as np

PathLike = Union[str, os.PathLike]

#: bins of the expected calibration error and the reliability diagram (Guo et al.)
ECE_BINS = 15

#: the range a fitted temperature is searched in
TEMPERATURE_RANGE = (0.05, 20.0)

#: the metric key under which LevelMetrics returns the reliability bins (a list, not a
#: scalar: kept as runtime info and drawn by the report hook)
RELIABILITY_KEY = "reliability"


def reliability_bins(confidence: Any, correct: Any, bins: int = ECE_BINS) -> List[Dict[str, float]]:
    """Equal-width confidence bins over ``[0, 1]`` (the last one closed): for each, its
    ``lower``/``upper`` edge, ``count``, mean ``confidence`` and ``accuracy`` (0 for an
    empty bin)."""
    conf = np.asarray(confidence, dtype=np.float64).reshape(-1)
    hit = np.asarray(correct, dtype=np.float64).reshape(-1)
    if conf.shape != hit.shape:
        raise ValueError(f"reliability: {conf.size} confidences but {hit.size} outcomes")
    if conf.size and (conf.min() < 0 or conf.max() > 1 + 1e-9):
        raise ValueError("reliability: confidences must lie in [0, 1]")
    edges = np.linspace(0.0, 1.0, bins + 1)
    index = np.clip(np.searchsorted(edges, conf, side="right") - 1, 0, bins - 1)
    out = []
    for b in range(bins):
        member = index == b
        n = int(member.sum())
        out.append({"lower": float(edges[b]), "upper": float(edges[b + 1]), "count": n,
                    "confidence": float(conf[member].mean()) if n else 0.0,
                    "accuracy": float(hit[member].mean()) if n else 0.0})
    return out


def expected_calibration_error(confidence: Any, correct: Any, bins: int = ECE_BINS) -> float:
    """``sum_b (n_b / N) |accuracy_b - confidence_b|`` over :func:`reliability_bins`."""
    table = reliability_bins(confidence, correct, bins)
    total = sum(b["count"] for b in table)
    if not total:
        raise ValueError("expected calibration error needs at least one prediction")
    return float(sum(b["count"] * abs(b["accuracy"] - b["confidence"]) for b in table) / total)


def log_probs(probs: Any) -> np.ndarray:
    """Logits recovered from probabilities (``log p``, clipped away from 0): softmax of
    them gives ``probs`` back, so a temperature can be fitted on any model's outputs."""
    return np.log(np.clip(np.asarray(probs, dtype=np.float64), 1e-12, None))


def _nll(logits: np.ndarray, labels: np.ndarray, temperature: float) -> float:
    z = logits / temperature
    z = z - z.max(axis=1, keepdims=True)
    log_norm = np.log(np.exp(z).sum(axis=1))
    return float(np.mean(log_norm - z[np.arange(len(labels)), labels]))


def fit_temperature(logits: Any, labels: Any) -> float:
    """The ``T`` in :data:`TEMPERATURE_RANGE` minimising the mean negative log-likelihood
    of ``labels`` (N,) under ``softmax(logits (N, C) / T)`` (a bounded scalar search over
    ``log T``)."""
    from scipy.optimize import minimize_scalar

    logits = np.asarray(logits, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    if logits.ndim != 2 or len(logits) != len(labels) or not len(labels):
        raise ValueError(f"fit_temperature: need logits (N, C) and N labels, got "
                         f"{logits.shape} and {labels.shape}")
    if labels.min() < 0 or labels.max() >= logits.shape[1]:
        raise ValueError(f"fit_temperature: labels must lie in 0..{logits.shape[1] - 1}")
    lo, hi = np.log(TEMPERATURE_RANGE[0]), np.log(TEMPERATURE_RANGE[1])
    found = minimize_scalar(lambda t: _nll(logits, labels, float(np.exp(t))), bounds=(lo, hi),
                            method="bounded", options={"xatol": 1e-4})
    return float(np.exp(found.x))


def plot_reliability_diagram(bins: List[Dict[str, float]], path: PathLike,
                             title: str = "Reliability", ece: float = float("nan"),
                             size_px: Tuple[int, int] = (560, 560), dpi: int = 100) -> Path:
    """Draw :func:`reliability_bins` as a PNG: accuracy per confidence bin as bars, the
    diagonal of perfect calibration, each bin's count above it, the ECE in the title."""
    from pisa.evaluation.reports import new_figure, save_figure

    fig = new_figure(size_px, dpi)
    ax = fig.add_subplot(1, 1, 1)
    for b in bins:
        if not b["count"]:
            continue
        width = b["upper"] - b["lower"]
        ax.bar(b["lower"], b["accuracy"], width=width, align="edge", color="tab:blue",
               edgecolor="white", alpha=0.8)
        ax.bar(b["lower"], b["confidence"] - b["accuracy"], bottom=b["accuracy"], width=width,
               align="edge", color="tab:red", alpha=0.25)
        ax.text(b["lower"] + width / 2, min(b["accuracy"], 0.95) + 0.02, str(b["count"]),
                ha="center", fontsize=7)
    ax.plot([0, 1], [0, 1], color="black", linestyle="--", linewidth=1, label="calibrated")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.05)
    ax.set_xlabel("confidence (probability of the answered level)")
    ax.set_ylabel("accuracy")
    ax.set_title(f"{title} (ECE {ece:.3f})" if np.isfinite(ece) else title)
    ax.legend(loc="upper left", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi)
