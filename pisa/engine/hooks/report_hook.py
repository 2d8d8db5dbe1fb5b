"""``AQAReportHook``: writes the confusion matrix, the metrics table and the training
curves into the work dir as validation, testing and training finish.

Listed in ``configs/_base_/default_runtime.py`` (every run writes its reports; a config
that leaves it out of ``custom_hooks`` writes none).

Files (in ``out_dir``, default the runner's work dir): ``confusion_matrix_{val,test}.png``,
``reliability_{val,test}.png`` (level metrics' calibration), ``metrics_{val,test}.md`` after each validation/test epoch (the latest one wins), and
``training_curves.png`` after training, from ``<log_dir>/vis_data/scalars.json``.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any, Dict, Optional

from mmengine.dist import is_main_process
from mmengine.hooks import Hook

from pisa.io.atomic import atomic_write

from pisa.evaluation.calibration import RELIABILITY_KEY, plot_reliability_diagram
from pisa.evaluation.metrics.level_metrics import CONFUSION_MATRIX_KEY
from pisa.evaluation.reports import (
    format_metrics_table,
    plot_confusion_matrix,
    plot_training_curves,
)

from pisa.registry import component


@component("hook")
class AQAReportHook(Hook):
    """Write evaluation reports into ``out_dir`` (default: the runner's work dir).

    Args:
        out_dir: folder for the reports; ``None`` uses ``runner.work_dir``.
        curves: draw ``training_curves.png`` after training.
    """

    priority = "LOW"

    def __init__(self, out_dir: Optional[str] = None, curves: bool = True) -> None:
        self.out_dir = out_dir
        self.curves = curves

    def _folder(self, runner: Any) -> Path:
        return Path(self.out_dir if self.out_dir is not None else runner.work_dir)

    def _write_eval_reports(self, runner: Any, metrics: Optional[Dict[str, Any]], mode: str) -> None:
        if not metrics or not is_main_process():
            return
        folder = self._folder(runner)
        # the metric may carry a prefix ('level/confusion_matrix')
        cm_key = next((k for k in metrics if k.split("/")[-1] == CONFUSION_MATRIX_KEY), None)
        confusion = metrics.get(cm_key) if cm_key is not None else None
        if confusion is not None:
            title = f"{mode} confusion matrix"
            if mode == "val":
                title += f" (epoch {runner.epoch})"
            plot_confusion_matrix(confusion, folder / f"confusion_matrix_{mode}.png", title=title)
        rel_key = next((k for k in metrics if k.split("/")[-1] == RELIABILITY_KEY), None)
        if rel_key is not None:
            ece_key = rel_key[: -len(RELIABILITY_KEY)] + "ece"
            plot_reliability_diagram(metrics[rel_key], folder / f"reliability_{mode}.png",
                                     title=f"{mode} reliability",
                                     ece=float(metrics.get(ece_key, float("nan"))))
        atomic_write(folder / f"metrics_{mode}.md", format_metrics_table(metrics, confusion))

    def after_val_epoch(self, runner: Any, metrics: Optional[Dict[str, Any]] = None) -> None:
        self._write_eval_reports(runner, metrics, "val")

    def after_test_epoch(self, runner: Any, metrics: Optional[Dict[str, Any]] = None) -> None:
        self._write_eval_reports(runner, metrics, "test")

    def after_train(self, runner: Any) -> None:
        if not self.curves or not is_main_process():
            return
        scalars = Path(runner.log_dir) / "vis_data" / "scalars.json"
        if scalars.is_file():
            plot_training_curves(scalars, self._folder(runner) / "training_curves.png")
        else:
            runner.logger.warning(f"AQAReportHook: no scalar log at {scalars}; no training curves drawn")
