"""Reports: confusion-matrix and training-curve images, metric tables, seed summaries.

Figures are drawn on matplotlib's Agg canvas (no display, no pyplot state) at a fixed
size in pixels and written atomically (:mod:`pisa.io.atomic`), so a failed write never
leaves a partial report.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.io.atomic import atomic_output
from pisa.io.jsonlines import iter_json_objects

PathLike = Union[str, os.PathLike]

#: keys of mmengine's scalar log that are bookkeeping, not curves
_LOG_BOOKKEEPING = {"step", "epoch", "iter", "time", "data_time", "memory", "lr", "base_lr"}


def new_figure(size_px: Tuple[int, int], dpi: int):
    """A matplotlib ``Figure`` on an Agg canvas of ``size_px`` (width, height) pixels."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(size_px[0] / dpi, size_px[1] / dpi), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def save_figure(fig, path: PathLike, dpi: int) -> Path:
    """Save ``fig`` as a PNG at ``dpi``, atomically. Returns the path."""
    with atomic_output(path) as tmp:
        fig.savefig(tmp, dpi=dpi, format="png")
    return Path(path)


def plot_confusion_matrix(
    cm: Union[np.ndarray, Sequence[Sequence[int]]],
    path: PathLike,
    title: str = "Confusion matrix",
    first_level: int = 1,
    size_px: Tuple[int, int] = (640, 560),
    dpi: int = 100,
) -> Path:
    """Draw ``cm`` ``(C, C)`` (rows = true level, columns = predicted level) with counts
    in the cells, levels ``first_level .. first_level + C - 1`` on both axes, as a PNG
    of ``size_px`` (width, height) pixels. Returns the path."""
    cm = np.asarray(cm, dtype=np.int64)
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise ValueError(f"confusion matrix must be square (C, C), got shape {cm.shape}")
    n = cm.shape[0]
    levels = [str(first_level + i) for i in range(n)]
    fig = new_figure(size_px, dpi)
    ax = fig.add_subplot(1, 1, 1)
    image = ax.imshow(cm, cmap="Blues", vmin=0, vmax=max(int(cm.max()), 1))
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
    ax.set_xticks(range(n), labels=levels)
    ax.set_yticks(range(n), labels=levels)
    ax.set_xlabel("predicted level")
    ax.set_ylabel("true level")
    ax.set_title(title)
    threshold = cm.max() / 2 if cm.max() > 0 else 1
    for i in range(n):
        for j in range(n):
            if cm[i, j]:
                ax.text(j, i, str(cm[i, j]), ha="center", va="center", fontsize=8,
                        color="white" if cm[i, j] > threshold else "black")
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def read_scalar_log(path: PathLike) -> Tuple[Dict[str, List[Tuple[int, float]]],
                                              Dict[str, List[Tuple[int, float]]]]:
    """Read mmengine's ``vis_data/scalars.json`` (one JSON object a line).

    Returns ``(train, val)``: ``name -> [(step, value)]``. Train lines are those with a
    ``loss*`` key (step = iteration); the other lines are validation (step = epoch).
    Bookkeeping keys (time, lr, memory, ...) are left out.
    """
    path = Path(path)
    train: Dict[str, List[Tuple[int, float]]] = {}
    val: Dict[str, List[Tuple[int, float]]] = {}
    for where, row in iter_json_objects(path):
        if "step" not in row:
            raise ValueError(f"{where}: expected an object with a 'step' key")
        target = train if any(k.startswith("loss") for k in row) else val
        for key, value in row.items():
            if key in _LOG_BOOKKEEPING or not isinstance(value, (int, float)):
                continue
            target.setdefault(key, []).append((int(row["step"]), float(value)))
    return train, val


def plot_training_curves(
    scalars_json: PathLike,
    path: PathLike,
    size_px: Tuple[int, int] = (1500, 400),
    dpi: int = 100,
    gap_metric: str = "accuracy",
) -> Path:
    """Draw from mmengine's scalar log, as a PNG of ``size_px`` pixels: the losses per
    iteration (left), the validation metrics per epoch (middle) and, to show over-fitting,
    training against validation per epoch (right): the training loss averaged over each
    epoch's logged iterations beside the validation ``gap_metric`` (else the first one
    logged) on a second axis, and, for a name logged in both (a validation loss, a
    training-split metric), the two on one scale. mmengine logs only losses in training,
    so without an evaluation of the training split the right panel pairs the training
    loss with the validation metric: a loss still falling while the metric stalls or drops
    is over-fitting. A validation logged twice for one epoch (the selected checkpoint
    evaluated again after training) counts once, the first. Returns the path."""
    train, val = read_scalar_log(scalars_json)
    if not train and not val:
        raise ValueError(f"{scalars_json}: no losses or metrics to plot")
    # per epoch: the training rows carry their epoch, validation rows are one per epoch
    train_epochs: Dict[str, Dict[int, List[float]]] = {}
    val_epochs: Dict[str, Dict[int, float]] = {}
    for _, row in iter_json_objects(Path(scalars_json)):
        is_train = any(k.startswith("loss") for k in row)
        for key, value in row.items():
            if key in _LOG_BOOKKEEPING or key == "data_wait" or not isinstance(value, (int, float)):
                continue
            if is_train and "epoch" in row:
                train_epochs.setdefault(key, {}).setdefault(int(row["epoch"]), []).append(float(value))
            elif not is_train:
                val_epochs.setdefault(key, {}).setdefault(int(row["step"]), float(value))
    fig = new_figure(size_px, dpi)
    ax_loss, ax_val, ax_gap = fig.subplots(1, 3)
    losses = {name: points for name, points in train.items() if name.startswith("loss")}
    for name, points in sorted(losses.items()):
        steps, values = zip(*points)
        ax_loss.plot(steps, values, label=name)
    ax_loss.set_xlabel("iteration")
    ax_loss.set_title("training loss")
    for name, points in sorted(val.items()):
        steps, values = zip(*points)
        ax_val.plot(steps, values, marker="o", label=name)
    ax_val.set_xlabel("epoch")
    ax_val.set_title("validation")
    for ax, series in ((ax_loss, losses), (ax_val, val)):
        if series:
            ax.legend(fontsize=8)
        else:
            ax.text(0.5, 0.5, "none logged", ha="center", va="center", transform=ax.transAxes)

    def per_epoch(series: Dict[int, Any]) -> Tuple[List[int], List[float]]:
        epochs = sorted(series)
        return epochs, [float(np.mean(series[e])) for e in epochs]

    both = sorted(set(train_epochs) & set(val_epochs))
    train_loss = train_epochs.get("loss")
    metric = gap_metric if gap_metric in val_epochs else next(iter(sorted(val_epochs)), None)
    lines = []
    if train_loss:
        lines += ax_gap.plot(*per_epoch(train_loss), marker="o", color="C0",
                             label="training loss (epoch mean)")
        ax_gap.set_ylabel("loss")
    for i, name in enumerate(n for n in both if n != "loss" or train_loss):
        color = f"C{2 + i}"
        if name != "loss":
            lines += ax_gap.plot(*per_epoch(train_epochs[name]), marker="o", color=color,
                                 label=f"training {name}")
        lines += ax_gap.plot(*per_epoch(val_epochs[name]), marker="s", linestyle="--",
                             color=color, label=f"validation {name}")
    if metric is not None and metric not in both:
        twin = ax_gap.twinx() if lines else ax_gap
        lines += twin.plot(*per_epoch(val_epochs[metric]), marker="s", linestyle="--",
                           color="C1", label=f"validation {metric}")
        twin.set_ylabel(metric)
    ax_gap.set_xlabel("epoch")
    ax_gap.set_title("training vs validation per epoch")
    if lines:
        ax_gap.legend(lines, [line.get_label() for line in lines], fontsize=8)
    else:
        ax_gap.text(0.5, 0.5, "no per-epoch values logged", ha="center", va="center",
                    transform=ax_gap.transAxes)
    fig.tight_layout()
    return save_figure(fig, path, dpi)


def format_metrics_table(
    metrics: Mapping[str, Any], confusion: Optional[Any] = None, first_level: int = 1
) -> str:
    """A markdown table of the scalar ``metrics`` (name | value, 4 decimals; non-scalars
    left out) and, when ``confusion`` ``(C, C)`` is given, the confusion matrix as a
    second table with rows = true level, columns = predicted level."""
    lines = ["| metric | value |", "| --- | --- |"]
    for name, value in metrics.items():
        if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool):
            lines.append(f"| {name} | {float(value):.4f} |")
    if confusion is not None:
        cm = np.asarray(confusion, dtype=np.int64)
        levels = [str(first_level + i) for i in range(cm.shape[0])]
        lines += ["", "Confusion matrix (rows: true level, columns: predicted level)", "",
                  "| true \\ pred | " + " | ".join(levels) + " |",
                  "| --- |" + " --- |" * len(levels)]
        for level, row in zip(levels, cm):
            lines.append(f"| {level} | " + " | ".join(str(int(v)) for v in row) + " |")
    return "\n".join(lines) + "\n"


def summarize_seeds(runs: Sequence[Dict[str, Any]], split: str = "test") -> Dict[str, Any]:
    """Mean and spread over runs of each numeric ``<split>_metrics`` value:
    ``{'seeds': [...], 'metrics': {name: {'mean', 'std', 'values'}}}``; ``std`` is the sample
    standard deviation (ddof=1; 0.0 for a single run)."""
    names: List[str] = []
    for run in runs:
        for key, value in (run.get(f"{split}_metrics") or {}).items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and key not in names:
                names.append(key)
    metrics = {}
    for name in names:
        values = [
            run[f"{split}_metrics"][name]
            for run in runs
            if isinstance((run.get(f"{split}_metrics") or {}).get(name), (int, float))
        ]
        arr = np.asarray(values, dtype=float)
        metrics[name] = {
            "mean": float(arr.mean()),
            "std": float(arr.std(ddof=1)) if len(arr) > 1 else 0.0,
            "values": [float(v) for v in arr],
        }
    return {"seeds": [run.get("seed") for run in runs], "split": split, "metrics": metrics}


def format_metrics(metrics: Dict[str, Any]) -> str:
    """``name=value`` pairs of the scalar metrics (lists such as confusion matrices left out)."""
    return "  ".join(
        f"{k}={v:.4f}"
        for k, v in metrics.items()
        if isinstance(v, (int, float)) and not isinstance(v, bool)
    )


def format_seed_table(summary: Dict[str, Any]) -> str:
    """A plain-text table: one row per metric with mean, std and the value of each run
    (per seed, or per fold for a cross-validation summary)."""
    runs = ([f"fold {i}" for i in range(summary["folds"])] if summary.get("folds")
            else [f"seed {s}" for s in summary["seeds"]])
    header = ["metric", "mean", "std"] + runs
    rows = [
        [name, f"{m['mean']:.4f}", f"{m['std']:.4f}"] + [f"{v:.4f}" for v in m["values"]]
        for name, m in summary["metrics"].items()
    ]
    widths = [max(len(str(r[i])) for r in [header] + rows) for i in range(len(header))]
    lines = ["  ".join(str(c).ljust(w) for c, w in zip(row, widths)) for row in [header] + rows]
    return "\n".join(lines)


def format_split_counts(counts: Mapping[str, Mapping[str, int]]) -> str:
    """A plain-text table of samples per level (columns) for each split (rows), with a
    total column: what a run prints at start-up."""
    levels = sorted({k for c in counts.values() for k in c},
                    key=lambda k: (k == "score", int(k) if k.isdigit() else 0))
    header = ["split"] + [f"level {k}" if k.isdigit() else k for k in levels] + ["total"]
    rows = [[split] + [str(c.get(k, 0)) for k in levels] + [str(sum(c.values()))]
            for split, c in counts.items()]
    widths = [max(len(r[i]) for r in [header] + rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(row, widths)) for row in [header] + rows)


def format_table1(cells: Mapping[Tuple[str, str], Optional[Mapping[str, Any]]],
                  paper: Mapping[Tuple[str, str], float], metric: str = "accuracy",
                  protocol: str = "", protocol_description: str = "",
                  seeds: Sequence[int] = ()) -> str:
    """A Table 1-shaped markdown table: rows video / audio / multimodal, columns contiguous
    / uniformly distributed; each run cell ``mean ± std`` of ``metric`` (a summary from
    :func:`summarize_seeds`, in percent) with the paper's number beside it, ``-`` for a
    cell not run. The protocol and the seeds head the table."""
    columns = (("contiguous", "contiguous"), ("unidist", "uniformly distributed"))
    lines = [f"Protocol `{protocol}`: {protocol_description}. Test {metric} (%), mean ± sample "
             f"std over seeds {list(seeds)}; the paper's number in parentheses.", "",
             "| modality | " + " | ".join(name for _, name in columns) + " |",
             "| --- |" + " --- |" * len(columns)]
    for modality in ("video", "audio", "multimodal"):
        row = []
        for scheme, _ in columns:
            summary = cells.get((modality, scheme))
            reference = paper.get((modality, scheme))
            ref = f" ({reference:.2f})" if reference is not None else ""
            if summary is None:
                row.append(f"-{ref}")
            else:
                row.append(f"{100 * summary['mean']:.2f} ± {100 * summary['std']:.2f}{ref}")
        lines.append(f"| {modality} | " + " | ".join(row) + " |")
    return "\n".join(lines)

