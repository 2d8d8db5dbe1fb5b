"""Each evaluation protocol runs on the synthetic set, behaves as it says, and names
itself in results.json."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from engine_helpers import render_tiny_dataset, tiny_train_args

from pisa.cli import main


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


def _train(work: Path, data_root: Path, *extra: str) -> dict:
    assert main(tiny_train_args(work, data_root, "--seed", "1", *extra)) == 0
    return json.loads((work / "results.json").read_text())


@pytest.fixture(scope="module")
def val_run(tmp_path_factory, data_root) -> dict:
    return _train(tmp_path_factory.mktemp("val"), data_root)


def test_val_carves_validation_from_training_and_counts_the_levels(val_run):
    assert val_run["protocol"] == "val" and val_run["selected_on"] == "val"
    counts = val_run["split_counts"]
    assert set(counts) == {"train", "val", "test"} and all(counts.values())
    assert val_run["val_metrics"] and val_run["test_metrics"]
    assert 0.0 < val_run["data_wait"] < 1.0  # DataWaitHook, listed in the default runtime


@pytest.mark.slow
def test_fixed_trains_on_all_training_data_and_tests_the_last_epoch(tmp_path, data_root, val_run):
    results = _train(tmp_path, data_root, "--protocol", "fixed")
    assert results["protocol"] == "fixed" and results["selected_on"] == "last"
    assert results["val_metrics"] is None and results["test_metrics"]
    assert set(results["split_counts"]) == {"train", "test"}
    # the carved validation performances are back in training
    val_counts = val_run["split_counts"]
    merged = {}
    for split in ("train", "val"):
        for level, n in val_counts[split].items():
            merged[level] = merged.get(level, 0) + n
    assert results["split_counts"]["train"] == merged
    assert results["epoch"] == 2  # the tiny config's max_epochs
    assert "all the training data" in results["protocol_description"]


@pytest.mark.slow
def test_refit_retrains_for_the_epochs_chosen_on_validation(tmp_path, data_root):
    results = _train(tmp_path, data_root, "--protocol", "refit")
    assert results["protocol"] == "refit"
    chosen = results["refit"]["selected_epoch"]
    select = json.loads((tmp_path / "select" / "results.json").read_text())
    assert select["protocol"] == "val" and select["epoch"] == chosen and 1 <= chosen <= 2
    assert results["epoch"] == chosen and results["val_metrics"] is None
    assert set(results["split_counts"]) == {"train", "test"}
    assert results["refit"]["select_val_metrics"] == select["val_metrics"]


@pytest.mark.slow
def test_test_selected_is_named_as_such(tmp_path, data_root):
    results = _train(tmp_path, data_root, "--protocol", "test-selected")
    assert results["protocol"] == "test-selected" and results["selected_on"] == "test"
    assert "select_on_test" not in results


def test_the_old_select_on_test_flag_is_gone(tmp_path, data_root, capsys):
    with pytest.raises(SystemExit):
        main(tiny_train_args(tmp_path, data_root, "--select-on-test"))
    assert "unrecognized arguments: --select-on-test" in capsys.readouterr().err


def test_an_unknown_protocol_is_refused(tmp_path, data_root, capsys):
    with pytest.raises(SystemExit):
        main(tiny_train_args(tmp_path, data_root, "--protocol", "best-of-all"))
    assert "invalid choice: 'best-of-all'" in capsys.readouterr().err


@pytest.mark.slow
def test_reproduce_writes_a_table1_shaped_table_beside_the_papers_numbers(tmp_path, data_root, capsys):
    from engine_helpers import TINY_CONFIG

    contiguous = tmp_path / "tiny_contiguous.py"
    contiguous.write_text(
        f"_base_ = [{str(TINY_CONFIG)!r}]\n"
        "_sampler = dict(type='ContiguousSampler', num_clips=2, clip_len=4, max_samples=3)\n"
        "train_dataloader = dict(dataset=dict(clip_sampler=_sampler))\n"
        "val_dataloader = dict(dataset=dict(clip_sampler=_sampler))\n"
        "test_dataloader = dict(dataset=dict(clip_sampler=_sampler))\n")
    work = tmp_path / "work"
    assert main(["reproduce", "--cell", f"video-unidist={TINY_CONFIG}",
                 "--cell", f"video-contiguous={contiguous}", "--seeds", "0", "1",
                 "--protocol", "fixed", "--work-dir", str(work), "--data-root", str(data_root),
                 "--deterministic"]) == 0
    table = (work / "table1.md").read_text()
    assert table.strip() in capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].startswith("Protocol `fixed`: trained on all the training data")
    assert "| modality | contiguous | uniformly distributed |" in lines
    video = next(line for line in lines if line.startswith("| video |"))
    assert "± " in video and "(65.55)" in video and "(73.95)" in video
    assert next(line for line in lines if line.startswith("| audio |")) == "| audio | - (53.36) | - (64.50) |"
    report = json.loads((work / "table1.json").read_text())
    runs = report["cells"]["video-contiguous"]["work_dirs"]
    assert len(runs) == 2 and all((Path(w) / "results.json").is_file() for w in runs)
    assert json.loads((Path(runs[0]) / "results.json").read_text())["protocol"] == "fixed"


def test_reproduce_defaults_to_the_six_table1_configs():
    from engine_helpers import REPO

    from pisa.engine.table1 import PAPER_TABLE1, default_cells, parse_cell

    cells = default_cells(str(REPO / "configs"))
    assert set(cells) == set(PAPER_TABLE1) and all(Path(c).is_file() for c in cells.values())
    assert parse_cell("audio-contiguous=x.py") == (("audio", "contiguous"), "x.py")
    from pisa.engine.validate import ConfigError

    with pytest.raises(ConfigError, match="MODALITY-SCHEME=CONFIG"):
        parse_cell("sound-unidist=x.py")


@pytest.mark.slow
def test_three_folds_keep_groups_apart_and_report_pooled_metrics(tmp_path, data_root, capsys):
    # 4 training performances of the synthetic split (the carve is off: fixed protocol)
    work = tmp_path / "cv"
    assert main(tiny_train_args(work, data_root, "--folds", "3", "--protocol", "fixed")) == 0
    summary = json.loads((work / "summary.json").read_text())
    assert summary["folds"] == 3 and len(summary["work_dirs"]) == 3
    assert set(summary["metrics"]["accuracy"]) == {"mean", "std", "values"}
    assert len(summary["metrics"]["accuracy"]["values"]) == 3
    tested = []
    for fold in range(3):
        results = json.loads((work / f"fold{fold}" / "results.json").read_text())
        assert results["protocol"] == "fixed"
        from pisa.io.safe_load import load_pickle

        groups = {p["group"] for p in load_pickle(work / f"fold{fold}" / "test_predictions.pkl")}
        tested.append(groups)
    # every training performance is tested exactly once, in one fold
    assert not (tested[0] & tested[1]) and not (tested[0] & tested[2]) and not (tested[1] & tested[2])
    pooled = summary["pooled_test_metrics"]
    n = sum(len(t) for t in tested)
    assert 0.0 <= pooled["performance_accuracy"] <= 1.0
    assert pooled["performance_accuracy"] * n == pytest.approx(round(pooled["performance_accuracy"] * n))
    assert "pooled out-of-fold:" in capsys.readouterr().out


def test_each_protocol_is_a_class_that_prepares_the_run_config(data_root):
    from pisa.engine.config_loader import load_config
    from pisa.engine.protocols import (PROTOCOLS, FixedProtocol, Protocol, RefitProtocol,
                                       TestSelectedProtocol, ValProtocol, get_protocol)
    from pisa.engine.validate import ConfigError
    from engine_helpers import TINY_CONFIG

    assert list(PROTOCOLS) == ["val", "refit", "fixed", "test-selected"]
    assert [type(p) for p in PROTOCOLS.values()] == [ValProtocol, RefitProtocol, FixedProtocol,
                                                      TestSelectedProtocol]
    assert all(isinstance(p, Protocol) and p.description for p in PROTOCOLS.values())
    with pytest.raises(ConfigError, match="'select_on_test' is not one of val, refit"):
        get_protocol("select_on_test")

    def prepared(name):
        cfg = load_config(TINY_CONFIG, data_root=str(data_root))
        get_protocol(name).prepare(cfg, "tiny.py")
        return cfg

    val = prepared("val")
    assert val.train_dataloader.dataset.val_performances
    assert val.default_hooks.checkpoint.save_best == "accuracy"
    fixed = prepared("fixed")
    assert not fixed.train_dataloader.dataset.val_performances
    assert fixed.val_dataloader is None and fixed.val_evaluator is None
    assert fixed.default_hooks.checkpoint.save_best is None
    selected = prepared("test-selected")
    assert selected.val_dataloader == selected.test_dataloader
    assert selected.val_evaluator == selected.test_evaluator
    assert prepared("refit").to_dict() == val.to_dict()  # each of its two runs prepares its own
    assert [p.selected_on("accuracy") for p in PROTOCOLS.values()] == ["val", "val", "val", "test"]
    assert {p.selected_on(None) for p in PROTOCOLS.values()} == {"last"}

    cfg = load_config(TINY_CONFIG, data_root=str(data_root))
    cfg.test_dataloader = None
    with pytest.raises(ConfigError, match="tiny.py: --protocol test-selected needs test_dataloader"):
        get_protocol("test-selected").prepare(cfg, "tiny.py")
