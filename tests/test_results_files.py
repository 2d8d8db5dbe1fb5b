"""The results types write each file's keys in one place (``to_dict`` in schema order;
``write_json`` sorts them on disk)."""
from __future__ import annotations

import json

from pisa.engine.results import ExperimentSummary, LearningCurve, RunResults, TestResults

RUN_KEYS = ["config", "work_dir", "seed", "deterministic", "protocol", "protocol_description",
            "checkpoint", "epoch", "selected_on", "select_metric", "early_stop", "decision",
            "split_counts", "data_wait", "world_size", "flags", "val_metrics", "test_metrics",
            "baseline_metrics", "bad_samples"]


def _run(work_dir, **extra) -> RunResults:
    values = {k: None for k in RUN_KEYS}
    values.update(config="c.py", work_dir=str(work_dir), protocol="val", selected_on="val",
                  test_metrics={"accuracy": 0.5}, bad_samples=[], **extra)
    return RunResults(**values)


def test_run_results_write_results_json_with_every_key(tmp_path):
    written = _run(tmp_path).write()
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert list(written) == RUN_KEYS and on_disk == written
    assert on_disk["test_metrics"] == {"accuracy": 0.5}
    refit = {"selected_epoch": 2, "select_work_dir": "s", "select_val_metrics": {}}
    _run(tmp_path, refit=refit).write()
    assert json.loads((tmp_path / "results.json").read_text())["refit"] == refit


def test_test_results_of_a_checkpoint_and_of_an_ensemble(tmp_path):
    one = TestResults(config="c.py", checkpoint="best.pth", decision=None,
                      test_metrics={"mae": 1.0}, baseline_metrics={"MajorityBaseline": {}})
    assert list(one.write(str(tmp_path))) == ["config", "checkpoint", "decision",
                                               "test_metrics", "baseline_metrics"]
    assert json.loads((tmp_path / "test_results.json").read_text())["baseline_metrics"] == {
        "MajorityBaseline": {}}
    ensemble = TestResults(config="c.py", checkpoint="runs", decision=None,
                           test_metrics={"mae": 1.0}, members=["a.pth", "b.pth"],
                           member_test_metrics=[{"mae": 1.0}, {"mae": 2.0}])
    assert list(ensemble.write(str(tmp_path))) == [
        "config", "checkpoint", "members", "member_test_metrics", "decision", "test_metrics"]
    assert json.loads((tmp_path / "test_results.json").read_text())["members"] == ["a.pth", "b.pth"]


def test_summary_and_learning_curve_files(tmp_path):
    spread = {"seeds": [0, 1], "split": "test", "metrics": {}}
    summary = ExperimentSummary(spread, {"config": "c.py", "protocol": "val"}).write(str(tmp_path))
    assert list(summary) == ["seeds", "split", "metrics", "config", "protocol"]
    assert json.loads((tmp_path / "summary.json").read_text()) == summary
    point = {"fraction": 1.0, "train_performances": [4], "train_performances_mean": 4.0,
             "test_metrics": {"accuracy": {"mean": 0.5, "std": 0.0, "values": [0.5]}}}
    curve = LearningCurve(config="c.py", protocol="val", protocol_description="d", seeds=[0],
                          work_dir=str(tmp_path), fractions=[point]).write()
    on_disk = json.loads((tmp_path / "learning_curve.json").read_text())
    assert list(curve) == ["config", "protocol", "protocol_description", "seeds", "work_dir",
                           "fractions", "plot"]
    assert on_disk == {k: v for k, v in curve.items() if k != "plot"}
    assert curve["plot"] == str(tmp_path / "learning_curve.png")
    assert (tmp_path / "learning_curve.png").stat().st_size > 0
