"""Learning-curve reports: the plot of metrics against the number of training
performances, and the table ``pisa train --train-fraction`` prints.

Both read the curve that :func:`pisa.engine.experiment.run_experiment` (``--train-fraction``) writes
(``learning_curve.json``): ``{'seeds': [...], 'fractions': [{'fraction',
'train_performances' (one count per seed), 'train_performances_mean', 'test_metrics',
'val_metrics'}]}``, the metrics as :func:`pisa.evaluation.reports.summarize_seeds` gives
them (``{name: {'mean', 'std', 'values'}}``, std the sample standard deviation).
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

from pisa.evaluation.reports import new_figure, save_figure

PathLike = Union[str, os.PathLike]

#: the metrics a curve shows when none are named, in this order, those that were measured
DEFAULT_METRICS = ("accuracy", "performance_accuracy", "within1", "mae", "spearman", "rl2")


def curve_metrics(curve: Mapping[str, Any], metrics: Optional[Sequence[str]] = None) -> List[str]:
    """The metric names to show: ``metrics`` (each must have been measured on the test or
    the val split), else those of :data:`DEFAULT_METRICS` that were, else the first four
    measured."""
    points = curve.get("fractions") or []
    measured: List[str] = []
    for point in points:
        for split in ("test_metrics", "val_metrics"):
            measured += [name for name in (point.get(split) or {}) if name not in measured]
    if metrics is not None:
        missing = [m for m in metrics if m not in measured]
        if missing:
            raise ValueError(f"learning curve: metric(s) {missing} were not measured; "
                             f"measured: {measured}")
        return list(metrics)
    return [m for m in DEFAULT_METRICS if m in measured] or measured[:4]


def plot_learning_curve(curve: Mapping[str, Any], path: PathLike,
                        metrics: Optional[Sequence[str]] = None,
                        size_px: Optional[Tuple[int, int]] = None, dpi: int = 100) -> Path:
    """One panel per metric (:func:`curve_metrics`): the test metric's mean over the seeds
    against the number of training performances (the mean over the seeds when the subsets
    differ in size), the sample std as error bars, each seed's value as a dot, and the
    validation metric's mean as a dashed line. PNG of ``size_px`` (default 360 pixels wide
    per panel, 360 high). Returns the path."""
    points = sorted(curve.get("fractions") or [], key=lambda p: p["fraction"])
    if not points:
        raise ValueError("learning curve: no fractions to plot")
    names = curve_metrics(curve, metrics)
    size_px = size_px or (360 * len(names), 360)
    fig = new_figure(size_px, dpi)
    axes = fig.subplots(1, len(names), squeeze=False)[0]
    x = [float(p["train_performances_mean"]) for p in points]
    seeds = curve.get("seeds") or []
    for ax, name in zip(axes, names):
        test = [(xi, (p.get("test_metrics") or {}).get(name)) for xi, p in zip(x, points)]
        test = [(xi, m) for xi, m in test if m]
        if test:
            ax.errorbar([xi for xi, _ in test], [m["mean"] for _, m in test],
                        yerr=[m["std"] for _, m in test], marker="o", capsize=4,
                        label=f"test (mean ± std, {len(seeds)} seed(s))")
            for xi, m in test:
                ax.plot([xi] * len(m["values"]), m["values"], linestyle="none", marker=".",
                        color="grey", alpha=0.6)
        val = [(xi, (p.get("val_metrics") or {}).get(name)) for xi, p in zip(x, points)]
        val = [(xi, m) for xi, m in val if m]
        if val:
            ax.plot([xi for xi, _ in val], [m["mean"] for _, m in val], linestyle="--",
                    marker="s", label="val (mean)")
        ax.set_xlabel("training performances")
        ax.set_title(name)
        ax.legend(fontsize=8)
        ax.grid(True, alpha=0.3)
    for xi, p in zip(x, points):
        axes[0].annotate(f"{p['fraction']:g}", (xi, 0), xycoords=("data", "axes fraction"),
                         xytext=(0, 4), textcoords="offset points", ha="center", fontsize=7,
                         color="grey")
    fig.suptitle(f"learning curve: {Path(str(curve.get('config', ''))).stem}", fontsize=9)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def _cell(summary: Optional[Dict[str, Any]]) -> str:
    return "-" if not summary else f"{summary['mean']:.4f} ± {summary['std']:.4f}"


def format_learning_curve_table(curve: Mapping[str, Any],
                                metrics: Optional[Sequence[str]] = None) -> str:
    """A plain-text table: one row per fraction with its training performances (each
    seed's count) and ``mean ± std`` over the seeds of each metric
    (:func:`curve_metrics`) on test, and of the first one on val."""
    names = curve_metrics(curve, metrics)
    header = ["fraction", "train perfs"] + [f"test {n}" for n in names]
    header += [f"val {names[0]}"] if names else []
    rows = []
    for p in sorted(curve.get("fractions") or [], key=lambda p: p["fraction"]):
        counts = sorted(set(p["train_performances"]))
        row = [f"{p['fraction']:g}", "/".join(str(c) for c in counts)]
        row += [_cell((p.get("test_metrics") or {}).get(n)) for n in names]
        row += [_cell((p.get("val_metrics") or {}).get(names[0]))] if names else []
        rows.append(row)
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header] + rows)
