"""The train/test commands around mmengine: evaluation reproduces training's numbers,
seeds are summarised, runs are reproducible, bad configs name the key, and the fast
paths (bf16 autocast, channels-last) train."""

from __future__ import annotations

import json
import statistics
from pathlib import Path

import pytest
import torch
from engine_helpers import (TINY_CONFIG, assert_same_weights, checkpoint_weights, render_tiny_dataset,
                            tiny_train_args)

from pisa.cli import main


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


@pytest.fixture(scope="module")
def trained(tmp_path_factory, data_root) -> Path:
    work_dir = tmp_path_factory.mktemp("run")
    assert main(tiny_train_args(work_dir, data_root, "--seed", "5")) == 0
    return work_dir


def test_results_json_records_the_run(trained, data_root):
    results = json.loads((trained / "results.json").read_text())
    assert results["seed"] == 5 and results["deterministic"] is True
    assert results["selected_on"] == "val" and results["select_metric"] == "accuracy"
    assert results["protocol"] == "val" and "select_on_test" not in results
    assert Path(results["checkpoint"]).parent == trained
    assert Path(results["checkpoint"]).name.startswith("best_accuracy_epoch_")
    assert results["flags"]["data_root"] == str(data_root)
    for split in ("val", "test"):
        assert 0.0 <= results[f"{split}_metrics"]["accuracy"] <= 1.0


def test_pisa_test_reproduces_the_metrics_training_reported(trained, data_root, tmp_path, capsys):
    results = json.loads((trained / "results.json").read_text())
    assert (
        main(
            [
                "test",
                str(TINY_CONFIG),
                results["checkpoint"],
                "--work-dir",
                str(tmp_path),
                "--data-root",
                str(data_root),
            ]
        )
        == 0
    )
    tested = json.loads((tmp_path / "test_results.json").read_text())
    assert tested["checkpoint"] == results["checkpoint"]
    assert tested["test_metrics"] == results["test_metrics"]
    assert f"accuracy={results['test_metrics']['accuracy']:.4f}" in capsys.readouterr().out


def test_same_seed_and_deterministic_flag_give_identical_runs(trained, data_root, tmp_path):
    assert main(tiny_train_args(tmp_path, data_root, "--seed", "5")) == 0
    first = json.loads((trained / "results.json").read_text())
    second = json.loads((tmp_path / "results.json").read_text())
    assert first["val_metrics"] == second["val_metrics"]
    assert first["test_metrics"] == second["test_metrics"]
    assert_same_weights(
        checkpoint_weights(trained / "epoch_2.pth"), checkpoint_weights(tmp_path / "epoch_2.pth")
    )


@pytest.mark.slow
def test_seeds_run_once_each_and_summarise_mean_and_std(data_root, tmp_path, capsys):
    args = tiny_train_args(
        tmp_path, data_root, "--seeds", "0", "1", "2", "--cfg-options", "train_cfg.max_epochs=1"
    )
    assert main(args) == 0
    runs = [json.loads((tmp_path / f"seed{s}" / "results.json").read_text()) for s in (0, 1, 2)]
    assert [r["seed"] for r in runs] == [0, 1, 2]
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["seeds"] == [0, 1, 2] and summary["split"] == "test"
    for name in ("accuracy", "mae"):
        values = [r["test_metrics"][name] for r in runs]
        assert summary["metrics"][name]["values"] == pytest.approx(values)
        assert summary["metrics"][name]["mean"] == pytest.approx(statistics.mean(values))
        assert summary["metrics"][name]["std"] == pytest.approx(statistics.stdev(values))
    assert "confusion_matrix" not in summary["metrics"]
    out = capsys.readouterr().out
    assert "mean" in out and "std" in out and "seed 2" in out
    # the seeds really differ: different initial weights give different trained weights
    w0 = checkpoint_weights(tmp_path / "seed0" / "epoch_1.pth")
    w1 = checkpoint_weights(tmp_path / "seed1" / "epoch_1.pth")
    assert any(not torch.equal(w0[k], w1[k]) for k in w0)


def test_test_selected_protocol_is_named_in_results(data_root, tmp_path):
    assert (
        main(
            tiny_train_args(
                tmp_path, data_root, "--protocol", "test-selected",
                "--cfg-options", "train_cfg.max_epochs=1"
            )
        )
        == 0
    )
    results = json.loads((tmp_path / "results.json").read_text())
    assert results["protocol"] == "test-selected" and results["selected_on"] == "test"
    assert "select_on_test" not in results
    # selection ran on the test split, so the "validation" numbers are the test numbers
    assert results["val_metrics"] == results["test_metrics"]


@pytest.mark.parametrize(
    "option, key",
    [
        (
            "optim_wrapper.optimizer.lr=-0.001",
            "optim_wrapper.optimizer.lr: must be a positive number",
        ),
        (
            "model.video_backbone.clip_len=0",
            "model.video_backbone.clip_len: must be a positive integer",
        ),
        (
            "train_dataloader.dataset.clip_sampler.num_clips=0",
            "train_dataloader.dataset.clip_sampler.num_clips: must be a positive integer",
        ),
        (
            "train_dataloader.batch_size=two",
            "train_dataloader.batch_size: must be a positive integer",
        ),
        ("train_cfg.max_epoch=3", "train_cfg.max_epoch: unknown key (did you mean 'max_epochs'?)"),
        (
            "train_dataloder.batch_size=2",
            "train_dataloder: unknown key (did you mean 'train_dataloader'?)",
        ),
        (
            "model.video_backbone.clip_len=8",
            "train_dataloader.dataset.clip_sampler.clip_len: 4 frames per clip, "
            "but model.video_backbone.clip_len is 8",
        ),
        (
            "optim_wrapper.type=AmpOptimWrapper",
            "optim_wrapper.type: mmengine's AmpOptimWrapper needs a GPU",
        ),
        # more clips than a performance has frames: the dataset names the performance
        (
            "train_dataloader.dataset.clip_sampler.num_clips=100",
            "frames is shorter than one sample (400 frames",
        ),
    ],
)
def test_bad_config_values_are_reported_by_key(option, key, data_root, tmp_path, capsys):
    if "AmpOptimWrapper" in option and torch.cuda.is_available():
        pytest.skip("AmpOptimWrapper is valid where a GPU is present")
    code = main(tiny_train_args(tmp_path, data_root, "--cfg-options", option))
    err = capsys.readouterr().err
    assert code == 2
    assert key in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("*.pth"))


def test_absolute_data_root_in_a_config_file_is_refused(tmp_path, capsys):
    config = tmp_path / "abs_root.py"
    config.write_text(
        f"_base_ = ['{TINY_CONFIG}']\n"
        "train_dataloader = dict(dataset=dict(data_root='/srv/data/videos'))\n"
    )
    assert main(["config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "train_dataloader.dataset.data_root = '/srv/data/videos' is an absolute path" in err


def test_missing_data_root_and_missing_launcher_environment_are_named(
    tmp_path, capsys, monkeypatch
):
    assert main(tiny_train_args(tmp_path, tmp_path / "nowhere")) == 2
    assert (
        f"data root {tmp_path / 'nowhere'} (from --data-root) is not a folder"
        in capsys.readouterr().err
    )
    for var in ("RANK", "WORLD_SIZE", "MASTER_ADDR", "MASTER_PORT"):
        monkeypatch.delenv(var, raising=False)
    if not torch.cuda.is_available():
        assert main(tiny_train_args(tmp_path, tmp_path, "--launcher", "pytorch")) == 2
        assert "RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT are not set" in capsys.readouterr().err


def test_pisa_config_prints_the_merged_config(data_root, capsys):
    assert (
        main(
            [
                "config",
                str(TINY_CONFIG),
                "--data-root",
                str(data_root),
                "--cfg-options",
                "train_cfg.max_epochs=7",
            ]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "max_epochs=7" in out
    assert f"table='{data_root}/performances.csv'" in out
    assert "type='AtomicCheckpointHook'" in out


def _train_in_process(config, work_dir: Path, data_root: Path, cfg_options: dict, hooks=()):
    from mmengine.runner import Runner

    from pisa.engine.runner import RunOptions, build_run_config

    cfg = build_run_config(
        config,
        RunOptions(
            work_dir=str(work_dir), data_root=str(data_root), seed=1, cfg_options=cfg_options
        ),
    )
    cfg.custom_hooks = list(cfg.custom_hooks) + [dict(type=h) for h in hooks]
    runner = Runner.from_cfg(cfg)
    initial = {k: v.clone() for k, v in runner.model.state_dict().items()}
    runner.train()
    return runner, initial


@pytest.mark.slow
def test_fast_paths_build_and_train(data_root, tmp_path):
    one_epoch = {"train_cfg.max_epochs": 1}
    plain, _ = _train_in_process(TINY_CONFIG, tmp_path / "fp32", data_root, one_epoch)
    bf16, initial = _train_in_process(
        TINY_CONFIG,
        tmp_path / "bf16",
        data_root,
        {
            **one_epoch,
            "optim_wrapper.type": "AutocastOptimWrapper",
            "optim_wrapper.dtype": "bfloat16",
        },
    )
    assert type(bf16.optim_wrapper).__name__ == "AutocastOptimWrapper"
    trained = bf16.model.state_dict()
    assert all(torch.isfinite(v).all() for v in trained.values() if v.is_floating_point())
    assert any(not torch.equal(initial[k], trained[k]) for k in trained)
    assert trained["video_backbone.features.0.weight"].dtype == torch.float32

    cl, _ = _train_in_process(
        TINY_CONFIG, tmp_path / "cl", data_root, one_epoch, hooks=["ChannelsLastHook"]
    )
    weight = cl.model.video_backbone.features[0].weight
    assert weight.is_contiguous(memory_format=torch.channels_last_3d)
    # the same training as plain fp32, up to float rounding of the reordered kernels
    for key, value in plain.model.state_dict().items():
        assert torch.allclose(value, cl.model.state_dict()[key], atol=1e-5), key


def test_autocast_wrapper_rejects_float16(data_root, tmp_path, capsys):
    code = main(
        tiny_train_args(
            tmp_path,
            data_root,
            "--cfg-options",
            "optim_wrapper.type=AutocastOptimWrapper",
            "optim_wrapper.dtype=float16",
        )
    )
    assert code == 2
    assert (
        "optim_wrapper.dtype: 'float16' is not supported by AutocastOptimWrapper"
        in capsys.readouterr().err
    )
