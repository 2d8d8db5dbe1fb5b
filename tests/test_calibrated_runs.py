"""Calibration and decision rule through the engine: fitted on validation after training,
recorded in results.json, and used identically by the run's own test pass, `pisa test`,
the seed ensemble and `pisa predict` (whose --json output is JSON only)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from engine_helpers import REPO, TINY_CONFIG, render_tiny_dataset, tiny_train_args
from pisa.cli import main
from pisa.evaluation.metrics.level_metrics import pool_by_group
from pisa.io.safe_load import load_pickle
from pisa.registry import DECISION_RULES

CALIBRATE = ["--cfg-options", "calibration.temperature=True", "calibration.select_decision=True",
             "calibration.metric=mae"]


@pytest.fixture(scope="module")
def seed_runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("calibrated")
    data = render_tiny_dataset(root / "data")
    work = root / "runs"
    args = tiny_train_args(work, data, "--seeds", "0", "1", *CALIBRATE)
    args.remove("--deterministic")
    assert main(args) == 0
    return data, work


def _independent_level_metrics(predictions, rule_cfg):
    rule = DECISION_RULES.build(dict(rule_cfg))
    gt = np.array([p["gt_label"] for p in predictions])
    probs = np.array([p["probs"] for p in predictions])
    reg = np.array([p["pred_score"] for p in predictions])
    pred = rule(probs, reg)
    names, pooled, group_gt = pool_by_group([p["group"] for p in predictions], probs, gt)
    group_reg = np.array([np.mean([p["pred_score"] for p in predictions if p["group"] == n])
                          for n in names])
    return {"mae": float(np.mean(np.abs(pred - gt))),
            "performance_mae": float(np.mean(np.abs(rule(pooled, group_reg) - group_gt)))}


def test_the_fitted_decision_is_recorded_and_used_by_the_test_pass(seed_runs):
    _, work = seed_runs
    for seed in (0, 1):
        results = json.loads((work / f"seed{seed}" / "results.json").read_text())
        decision = results["decision"]
        assert decision["fitted_on"] == "val" and decision["select_metric"] == "mae"
        assert decision["temperature"] > 0 and decision["fitted_temperature"] > 0
        # every candidate rule was scored on validation, and the chosen one is the best
        errors = decision["val_errors"]
        assert len(errors) == 5
        chosen = repr(DECISION_RULES.build(dict(decision["rule"])))
        assert errors[chosen] == min(errors.values())
        predictions = load_pickle(work / f"seed{seed}" / "test_predictions.pkl")
        assert {repr(sorted(p["decision"].items())) for p in predictions} == {
            repr(sorted(decision["rule"].items()))}
        assert all(p["temperature"] == pytest.approx(decision["temperature"]) for p in predictions)
        expect = _independent_level_metrics(predictions, decision["rule"])
        for key, value in expect.items():
            assert results["test_metrics"][key] == pytest.approx(value), key
        assert 0 <= results["test_metrics"]["ece"] <= 1


def test_pisa_test_reads_the_recorded_decision(seed_runs, tmp_path):
    data, work = seed_runs
    results = json.loads((work / "seed1" / "results.json").read_text())
    assert main(["test", str(TINY_CONFIG), results["checkpoint"], "--data-root", str(data),
                 "--work-dir", str(tmp_path / "test")]) == 0
    tested = json.loads((tmp_path / "test" / "test_results.json").read_text())
    assert tested["decision"]["rule"] == results["decision"]["rule"]
    assert tested["decision"]["temperature"] == pytest.approx(results["decision"]["temperature"])
    for key in ("accuracy", "mae", "performance_mae", "ece"):
        assert tested["test_metrics"][key] == pytest.approx(results["test_metrics"][key]), key


def test_seed_ensemble_averages_the_runs(seed_runs, tmp_path):
    data, work = seed_runs
    summary = json.loads((work / "summary.json").read_text())
    members = [sorted(load_pickle(work / f"seed{s}" / "test_predictions.pkl"),
                      key=lambda p: p["sample_id"]) for s in (0, 1)]
    averaged = [dict(a, probs=list((np.array(a["probs"]) + np.array(b["probs"])) / 2),
                     pred_score=(a["pred_score"] + b["pred_score"]) / 2)
                for a, b in zip(*members)]
    expect = _independent_level_metrics(averaged, members[0][0]["decision"])
    for key, value in expect.items():
        assert summary["ensemble_test_metrics"][key] == pytest.approx(value), key
    # `pisa test` of the run folder tests the same ensemble
    assert main(["test", str(TINY_CONFIG), str(work), "--data-root", str(data),
                 "--work-dir", str(tmp_path / "ens")]) == 0
    tested = json.loads((tmp_path / "ens" / "test_results.json").read_text())
    assert len(tested["members"]) == 2
    for key, value in expect.items():
        assert tested["test_metrics"][key] == pytest.approx(value), key


def test_predict_json_with_the_ensemble_is_json_only(seed_runs):
    data, work = seed_runs
    predictions = load_pickle(work / "seed0" / "test_predictions.pkl")
    group = sorted({p["group"] for p in predictions})[0]
    video = next(Path(data).rglob(f"{Path(group).stem}*.mp4"), None) or Path(group)
    assert video.is_file(), group
    pisa = str(Path(sys.executable).with_name("pisa"))
    env = dict(os.environ, PISA_DATA_ROOT=str(data))
    line = (f"'{pisa}' predict '{TINY_CONFIG}' '{work}' '{video}' --json --no-progress "
            f"| '{sys.executable}' -m json.tool")
    done = subprocess.run(["bash", "-o", "pipefail", "-c", line], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    recording = json.loads(done.stdout)["recordings"][0]
    assert recording["members"] == 2
    assert recording["decision"] == repr(DECISION_RULES.build(dict(predictions[0]["decision"])))
    assert recording["confidence"] == pytest.approx(recording["probs"][recording["level"] - 1])
    low, high = recording["interval"]
    assert 1 <= low <= high <= len(recording["probs"])


def test_the_baselines_are_scored_on_the_runs_own_split(seed_runs):
    """results.json holds the majority, classical-feature and transcription baselines, fitted on the
    run's training performances; the majority's MAE is rebuilt here from the split."""
    from collections import Counter

    from pisa.engine.config_loader import load_config
    from pisa.registry import DATASETS

    data, work = seed_runs
    results = json.loads((work / "seed0" / "results.json").read_text())
    baselines = results["baseline_metrics"]
    assert set(baselines) == {"MajorityBaseline", "ClassicalFeatureBaseline", "TranscriptionBaseline"}
    cfg = load_config(TINY_CONFIG, data_root=str(data))
    train = DATASETS.build(cfg.train_dataloader.dataset).performances
    test = DATASETS.build(cfg.test_dataloader.dataset).performances
    counts = Counter(int(p["label"]) for p in train)
    majority = min(counts, key=lambda level: (-counts[level], level))
    mae = np.mean([abs(int(p["label"]) - majority) for p in test])
    assert baselines["MajorityBaseline"]["mae"] == pytest.approx(mae)
    assert baselines["MajorityBaseline"]["performance_mae"] == pytest.approx(mae)
    assert "ece" in baselines["ClassicalFeatureBaseline"]
    table = (work / "seed0" / "comparison_test.md").read_text()
    assert "| mae |" in table and "MajorityBaseline" in table
