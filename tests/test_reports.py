"""Reports: PNG images of the set size, the metrics table, and the report hook inside a
real mmengine Runner."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib import image as mpimg

from pisa.evaluation.reports import (
    format_metrics_table,
    plot_confusion_matrix,
    plot_training_curves,
    read_scalar_log,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def png_size(path: Path) -> tuple:
    assert path.read_bytes()[:8] == PNG_MAGIC
    height, width = mpimg.imread(path).shape[:2]
    return width, height


def test_confusion_matrix_png_has_requested_size(tmp_path):
    cm = np.zeros((10, 10), dtype=int)
    cm[3, 3], cm[3, 4], cm[9, 0] = 5, 2, 1
    out = plot_confusion_matrix(cm, tmp_path / "sub" / "cm.png", size_px=(640, 560))
    assert png_size(out) == (640, 560)
    big = plot_confusion_matrix(cm, tmp_path / "cm_big.png", size_px=(800, 700))
    assert png_size(big) == (800, 700)
    assert not list(tmp_path.rglob("*.part*"))


def test_confusion_matrix_rejects_non_square(tmp_path):
    with pytest.raises(ValueError, match=r"square.*\(3, 4\)"):
        plot_confusion_matrix(np.zeros((3, 4)), tmp_path / "cm.png")
    assert not (tmp_path / "cm.png").exists()


def write_scalars(path: Path) -> None:
    # the line format mmengine's LocalVisBackend writes: train lines per logged
    # iteration, val lines per epoch
    rows = [
        {"lr": 0.01, "data_time": 0.1, "loss": 2.3, "loss_cls": 2.0, "time": 0.5, "epoch": 1, "iter": 2, "memory": 0, "step": 2},
        {"lr": 0.01, "data_time": 0.1, "loss": 1.9, "loss_cls": 1.7, "time": 0.5, "epoch": 1, "iter": 4, "memory": 0, "step": 4},
        {"accuracy": 0.25, "mae": 2.0, "data_time": 0.1, "time": 0.2, "step": 1},
        {"lr": 0.01, "data_time": 0.1, "loss": 1.2, "loss_cls": 1.0, "time": 0.5, "epoch": 2, "iter": 6, "memory": 0, "step": 6},
        {"accuracy": 0.5, "mae": 1.0, "data_time": 0.1, "time": 0.2, "step": 2},
    ]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")


def test_read_scalar_log_splits_train_and_val(tmp_path):
    scalars = tmp_path / "scalars.json"
    write_scalars(scalars)
    train, val = read_scalar_log(scalars)
    assert train["loss"] == [(2, 2.3), (4, 1.9), (6, 1.2)]
    assert set(train) == {"loss", "loss_cls"}
    assert val == {"accuracy": [(1, 0.25), (2, 0.5)], "mae": [(1, 2.0), (2, 1.0)]}


def test_read_scalar_log_names_bad_line(tmp_path):
    scalars = tmp_path / "scalars.json"
    scalars.write_text('{"loss": 1.0, "step": 1}\n{"loss": \n')
    with pytest.raises(ValueError, match=r"scalars\.json line 2: not valid JSON"):
        read_scalar_log(scalars)


def test_training_curves_png(tmp_path):
    scalars = tmp_path / "scalars.json"
    write_scalars(scalars)
    out = plot_training_curves(scalars, tmp_path / "curves.png", size_px=(900, 300))
    assert png_size(out) == (900, 300)


def test_metrics_table_lists_scalars_and_confusion_with_levels_1_to_10():
    cm = np.zeros((10, 10), dtype=int)
    cm[0, 0], cm[4, 5] = 3, 7
    metrics = {"accuracy": 0.75, "mae": 0.3333333, "confusion_matrix": cm.tolist()}
    table = format_metrics_table(metrics, cm)
    lines = table.splitlines()
    assert "| accuracy | 0.7500 |" in lines
    assert "| mae | 0.3333 |" in lines
    assert not any(line.startswith("| confusion_matrix") for line in lines)
    assert "| true \\ pred | 1 | 2 | 3 | 4 | 5 | 6 | 7 | 8 | 9 | 10 |" in lines
    assert "| 1 | 3 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 | 0 |" in lines
    assert "| 5 | 0 | 0 | 0 | 0 | 0 | 7 | 0 | 0 | 0 | 0 |" in lines


class PackedSamples:
    """A map-style dataset of packed samples (the dataset -> model contract), small
    random clips; samples 2i and 2i+1 are performance i, of level i mod 10."""

    def __init__(self, n: int, seed: int) -> None:
        import torch

        gen = torch.Generator().manual_seed(seed)
        self.items = [
            {"inputs": {"video": torch.randint(0, 256, (2, 3, 4, 16, 16), dtype=torch.uint8, generator=gen)},
             "data_samples": {"label": (i // 2) % 10, "score": float((i // 2) % 10), "sample_id": f"s{i}",
                              "group": f"perf{i // 2}"}}
            for i in range(n)
        ]

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, i: int):
        return self.items[i]


TINY_VIDEO_MODEL = dict(
    type="AQAModel",
    data_preprocessor=dict(type="AQADataPreprocessor"),
    video_backbone=dict(type="C3D", widths=(4, 8), feature_dim=16, clip_len=4, size=16),
    head=dict(type="LevelHead", hidden=8, num_classes=10),
    branches=("video",),
)


def test_report_hook_in_a_real_runner_writes_reports(tmp_path):
    from mmengine.runner import Runner

    loader = dict(batch_size=4, num_workers=0, sampler=dict(type="DefaultSampler", shuffle=False),
                  collate_fn=dict(type="default_collate"))
    runner = Runner(
        model=TINY_VIDEO_MODEL,
        work_dir=str(tmp_path / "work"),
        train_dataloader=dict(loader, dataset=PackedSamples(12, seed=0)),
        val_dataloader=dict(loader, dataset=PackedSamples(10, seed=1)),
        test_dataloader=dict(loader, dataset=PackedSamples(10, seed=2)),
        train_cfg=dict(by_epoch=True, max_epochs=2, val_interval=1),
        val_cfg=dict(), test_cfg=dict(),
        optim_wrapper=dict(optimizer=dict(type="SGD", lr=0.01)),
        val_evaluator=[dict(type="LevelMetrics"), dict(type="ScoreMetrics", score_range=(0, 9))],
        test_evaluator=[dict(type="LevelMetrics")],
        custom_hooks=[dict(type="AQAReportHook")],
        default_hooks=dict(logger=dict(type="LoggerHook", interval=1), checkpoint=None),
        default_scope="pisa",
        log_level="WARNING",
    )
    runner.train()
    metrics = runner.test()
    work = tmp_path / "work"
    for name in ("confusion_matrix_val.png", "confusion_matrix_test.png", "training_curves.png"):
        assert (work / name).read_bytes()[:8] == PNG_MAGIC, name
    val_table = (work / "metrics_val.md").read_text().splitlines()
    for key in ("accuracy", "performance_accuracy", "mae", "within1", "balanced_accuracy",
                "spearman", "rl2"):
        assert any(line.startswith(f"| {key} | ") for line in val_table), key
    # every validation sample counted once in the confusion matrix (10 samples)
    test_table = (work / "metrics_test.md").read_text()
    rows = [line for line in test_table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert len(rows) == 10
    assert sum(int(v) for line in rows for v in line.strip("| ").split(" | ")[1:]) == 10
    assert f"| accuracy | {metrics['accuracy']:.4f} |" in test_table
    # the scalar log the curves came from holds both epochs' validation accuracy
    scalars = next(work.glob("*/vis_data/scalars.json"))
    _, val = read_scalar_log(scalars)
    assert [step for step, _ in val["accuracy"]] == [1, 2]
