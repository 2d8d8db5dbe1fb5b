"""The post-training phases are hooks listed in the runtime (calibration, baseline
comparison, reports): a run of the tiny config writes each one's output, ``pisa test``
runs them too, and a config that leaves a hook out of its list gets none of its output."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import TINY_CONFIG, render_tiny_dataset

from pisa.engine.config_loader import load_config
from pisa.engine import runner
from pisa.engine.runner import RunOptions, train
from pisa.engine.validate import ConfigError

POST_TRAINING_HOOKS = ("AQAReportHook", "CalibrationHook", "BaselineComparisonHook")
REPORT_FILES = ("confusion_matrix_val.png", "confusion_matrix_test.png", "metrics_val.md",
                "metrics_test.md", "training_curves.png")
CALIBRATE = {"calibration.temperature": True, "calibration.select_decision": True}


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


def _opts(work_dir: Path, data_root: Path, **cfg_options) -> RunOptions:
    return RunOptions(work_dir=str(work_dir), data_root=str(data_root), deterministic=True,
                      cfg_options={"train_cfg.max_epochs": 1, **cfg_options})


def test_the_runtime_lists_the_post_training_hooks(data_root):
    cfg = load_config(TINY_CONFIG, data_root=str(data_root))
    listed = [h["type"] for h in cfg.custom_hooks]
    assert [h for h in listed if h in POST_TRAINING_HOOKS] == list(POST_TRAINING_HOOKS)


def test_every_listed_phase_writes_its_output(tmp_path, data_root):
    results = train(TINY_CONFIG, _opts(tmp_path / "run", data_root, **CALIBRATE))
    run = tmp_path / "run"
    for name in REPORT_FILES + ("comparison_test.md",):
        assert (run / name).is_file() and (run / name).stat().st_size > 0, name
    assert "accuracy" in (run / "metrics_test.md").read_text()
    decision = results["decision"]
    assert decision["fitted_on"] == "val" and decision["fitted_temperature"] > 0
    assert decision["val_errors"] and decision["val_samples"] > 0
    # the transcription plugin is installed (and loaded in tests): its baseline is scored too
    assert set(results["baseline_metrics"]) == {"MajorityBaseline", "ClassicalFeatureBaseline",
                                                "TranscriptionBaseline"}
    assert json.loads((run / "results.json").read_text())["decision"] == decision
    # `pisa test` runs the same hooks: its reports and the comparison, the fitted decision
    tested = runner.test(TINY_CONFIG, results["checkpoint"], _opts(tmp_path / "test", data_root))
    assert tested["decision"]["rule"] == decision["rule"]
    assert tested["decision"]["temperature"] == pytest.approx(decision["temperature"])
    assert set(tested["baseline_metrics"]) == set(results["baseline_metrics"])
    for name in ("confusion_matrix_test.png", "metrics_test.md", "comparison_test.md"):
        assert (tmp_path / "test" / name).is_file(), name


def test_a_hook_left_out_of_the_list_leaves_its_output_out(tmp_path, data_root):
    cfg = load_config(TINY_CONFIG, data_root=str(data_root))
    kept = [dict(h) for h in cfg.custom_hooks if h["type"] not in POST_TRAINING_HOOKS]
    results = train(TINY_CONFIG, _opts(tmp_path, data_root, custom_hooks=kept))
    for name in REPORT_FILES + ("comparison_test.md", "reliability_test.png"):
        assert not (tmp_path / name).exists(), name
    assert results["baseline_metrics"] is None
    assert "fitted_on" not in results["decision"]  # the model's configured rule, not fitted
    assert results["test_metrics"]["accuracy"] >= 0.0  # the run itself is whole


def test_a_calibration_section_without_its_hook_is_refused(tmp_path, data_root):
    cfg = load_config(TINY_CONFIG, data_root=str(data_root))
    kept = [dict(h) for h in cfg.custom_hooks if h["type"] != "CalibrationHook"]
    with pytest.raises(ConfigError, match="calibration: .*no CalibrationHook"):
        train(TINY_CONFIG, _opts(tmp_path, data_root, custom_hooks=kept, **CALIBRATE))
    assert not (tmp_path / "results.json").exists()
