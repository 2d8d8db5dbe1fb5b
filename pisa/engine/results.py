"""What a run, a test and an experiment write: one type per file, each writing its JSON
(rank 0) in one place.

- :class:`RunResults`: ``<work_dir>/results.json`` of one training run;
- :class:`TestResults`: ``<work_dir>/test_results.json`` of ``pisa test`` (of one
  checkpoint, or of the ensemble of one ``--seeds``/``--folds`` call's runs);
- :class:`ExperimentSummary`: ``<work_dir>/summary.json`` of ``--seeds`` / ``--folds``
  (mean and sample std over the runs, with the ensemble or pooled metrics);
- :class:`LearningCurve`: ``<work_dir>/learning_curve.json`` and ``learning_curve.png``
  of ``--train-fraction``.

``to_dict`` gives the file's content (keys in the order written); ``write`` writes it
and returns it.
"""
from __future__ import annotations

import os.path as osp
from dataclasses import asdict, dataclass, field
from typing import Any, Dict, List, Optional

from mmengine.dist import is_main_process

from pisa.io.atomic import write_json

RESULTS_FILE = "results.json"
TEST_RESULTS_FILE = "test_results.json"
SUMMARY_FILE = "summary.json"
CURVE_FILE = "learning_curve.json"
CURVE_PLOT = "learning_curve.png"


def _write(folder: str, name: str, content: Dict[str, Any]) -> Dict[str, Any]:
    if is_main_process():
        write_json(osp.join(folder, name), content)
    return content


@dataclass
class RunResults:
    """One training run: what it was, what it chose and what it measured."""

    config: str
    work_dir: str
    seed: Optional[int]
    deterministic: bool
    protocol: str
    protocol_description: str
    checkpoint: Optional[str]
    epoch: Optional[int]
    #: the split the tested checkpoint was chosen on: 'val', 'test' or 'last'
    selected_on: str
    select_metric: Optional[str]
    early_stop: Optional[Dict[str, Any]]
    decision: Optional[Dict[str, Any]]
    split_counts: Dict[str, Dict[str, int]]
    data_wait: Any
    world_size: int
    flags: Dict[str, Any]
    val_metrics: Optional[Dict[str, Any]]
    test_metrics: Optional[Dict[str, Any]]
    baseline_metrics: Optional[Dict[str, Any]]
    bad_samples: List[Dict[str, Any]]
    #: the ``refit`` protocol's selection run (absent from the file otherwise)
    refit: Optional[Dict[str, Any]] = None

    def to_dict(self) -> Dict[str, Any]:
        content = asdict(self)
        if content["refit"] is None:
            del content["refit"]
        return content

    def write(self) -> Dict[str, Any]:
        return _write(self.work_dir, RESULTS_FILE, self.to_dict())


@dataclass
class TestResults:
    """``pisa test`` of one checkpoint, or (``members`` set) of the ensemble of the runs
    of one ``--seeds``/``--folds`` call."""

    __test__ = False  # not a test case

    config: str
    checkpoint: str
    decision: Optional[Dict[str, Any]]
    test_metrics: Optional[Dict[str, Any]]
    baseline_metrics: Optional[Dict[str, Any]] = None
    members: Optional[List[str]] = None
    member_test_metrics: Optional[List[Dict[str, Any]]] = None

    def to_dict(self) -> Dict[str, Any]:
        if self.members is None:
            return {"config": self.config, "checkpoint": self.checkpoint,
                    "decision": self.decision, "test_metrics": self.test_metrics,
                    "baseline_metrics": self.baseline_metrics}
        return {"config": self.config, "checkpoint": self.checkpoint, "members": self.members,
                "member_test_metrics": self.member_test_metrics, "decision": self.decision,
                "test_metrics": self.test_metrics}

    def write(self, work_dir: str) -> Dict[str, Any]:
        return _write(work_dir, TEST_RESULTS_FILE, self.to_dict())


@dataclass
class ExperimentSummary:
    """``--seeds`` or ``--folds``: :func:`pisa.evaluation.reports.summarize_seeds` of the
    runs, then the experiment's own keys (``extra``: ``folds``, ``protocol``,
    ``work_dirs``, ``ensemble_test_metrics`` / ``pooled_test_metrics``)."""

    spread: Dict[str, Any]
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return {**self.spread, **self.extra}

    def write(self, work_dir: str) -> Dict[str, Any]:
        return _write(work_dir, SUMMARY_FILE, self.to_dict())


@dataclass
class LearningCurve:
    """``--train-fraction``: per fraction, the training data each run had and the val and
    test metrics over the seeds."""

    config: str
    protocol: str
    protocol_description: str
    seeds: List[int]
    work_dir: str
    fractions: List[Dict[str, Any]]

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)

    def write(self) -> Dict[str, Any]:
        """Writes the JSON first (the runs' numbers are kept), then the plot; returns the
        curve with ``plot``, the PNG's path."""
        from pisa.evaluation.curves import plot_learning_curve

        curve = self.to_dict()
        plot = osp.join(self.work_dir, CURVE_PLOT)
        _write(self.work_dir, CURVE_FILE, curve)
        if is_main_process():
            plot_learning_curve(curve, plot)
        return {**curve, "plot": plot}
