"""The released long-form feature layouts (Rhythmic Gymnastics, Fis-V, as GDLT's public
code reads them), generated here: the adapters read the right rows, targets and clips,
split like every dataset, name bad files, and the GDLT configs train a step on them."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import torch

from engine_helpers import REPO
from pisa.data.adapters.rg_fisv import write_released_layout
from pisa.registry import DATASETS

FEATURES = REPO / "configs" / "features"
RG_HEADER = "name Difficulty_Score Execution_Score Total_Score"


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread for these small models: on a shared 2-core machine, two threads
    wait on each other far longer than they gain (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _features(rng: np.random.Generator, lengths, dim: int = 1024) -> list:
    return [rng.standard_normal((n, dim)).astype(np.float32) for n in lengths]


@pytest.fixture(scope="module")
def rg_root(tmp_path_factory) -> Path:
    """Routines of the four apparatus, 60..80 clips each: Ball 5 train and 2 test, the
    others 3 train and 1 test."""
    rng = np.random.default_rng(0)
    videos = [f"Ball_{i:03d}" for i in range(1, 8)] + [
        f"{a}_{i:03d}" for a in ("Clubs", "Hoop", "Ribbon") for i in range(1, 5)]
    test = {"Ball_006", "Ball_007", "Clubs_004", "Hoop_004", "Ribbon_004"}
    split = {v: "test" if v in test else "train" for v in videos}
    feats = dict(zip(videos, _features(rng, rng.integers(60, 81, len(videos)))))
    scores = {v: (float(d), float(e), float(d + e)) for v, d, e in
              zip(videos, rng.uniform(5, 10, len(videos)).round(2), rng.uniform(5, 10, len(videos)).round(2))}
    return write_released_layout(tmp_path_factory.mktemp("rg"), feats, scores, split, header=RG_HEADER)


@pytest.fixture(scope="module")
def fisv_root(tmp_path_factory) -> Path:
    """Six programs, headerless rows `<id> <TES> <PCS> <falls>` as the release's copies."""
    rng = np.random.default_rng(1)
    videos = [str(i) for i in (1, 3, 5, 6, 7, 8)]
    split = {v: "test" if v in ("7", "8") else "train" for v in videos}
    feats = dict(zip(videos, _features(rng, rng.integers(110, 140, len(videos)))))
    scores = {v: (float(t), float(p), float(f)) for v, t, p, f in
              zip(videos, rng.uniform(15, 40, 6).round(2), rng.uniform(15, 38, 6).round(2),
                  rng.integers(0, 3, 6))}
    return write_released_layout(tmp_path_factory.mktemp("fisv"), feats, scores, split)


def _rows(path: Path) -> list:
    return [line.split() for line in path.read_text().splitlines()]


def test_rg_adapter_reads_one_apparatus_scaled_as_gdlt(rg_root):
    ds = DATASETS.build(dict(type="RGFeatureDataset", data_root=str(rg_root), split="test",
                             action_type="Ball", test_mode=True))
    rows = {r[0]: r for r in _rows(rg_root / "test.txt")[1:]}
    assert [p["perf_id"] for p in ds.performances] == ["Ball_006", "Ball_007"]
    sample = ds[1]
    expected = np.load(rg_root / "swintx_avg_fps25_clip32" / "Ball_007.npy")
    np.testing.assert_array_equal(sample["inputs"]["video"].numpy(), expected)  # every clip
    assert sample["data_samples"]["score"] == pytest.approx(float(rows["Ball_007"][3]) / 25)
    assert sample["data_samples"]["label"] == -1 and ds.metainfo["num_classes"] == 0
    execution = DATASETS.build(dict(type="RGFeatureDataset", data_root=str(rg_root), split="test",
                                    action_type="all", score_type="Execution_Score", score_scale=1.0))
    assert len(execution) == 2 + 3
    assert {p["perf_id"]: p["score"] for p in execution.performances}["Hoop_004"] == \
        pytest.approx(float(rows["Hoop_004"][2]))


def test_rg_adapter_splits_like_every_dataset(rg_root):
    from pisa.data.core.splits import carve_validation

    base = dict(type="RGFeatureDataset", data_root=str(rg_root), action_type="Ball",
                val_performances=0.25, split_seed=3)
    base["serialize_data"] = False
    train, val = (DATASETS.build(dict(base, split=s)) for s in ("train", "val"))
    everything = DATASETS.build(dict(base, val_performances=None)).performances
    kept, carved = carve_validation(everything, 0.25, seed=3)
    assert [p["perf_id"] for p in val.performances] == [p["perf_id"] for p in carved]
    assert [p["perf_id"] for p in train.performances] == [p["perf_id"] for p in kept]
    folds = [DATASETS.build(dict(base, split="test", folds=2, fold=f, val_performances=None))
             for f in (0, 1)]
    ids = [{p["perf_id"] for p in d.performances} for d in folds]
    assert not ids[0] & ids[1] and ids[0] | ids[1] == {p["perf_id"] for p in everything}


def test_fisv_adapter_reads_headerless_tes_and_pcs(fisv_root):
    rows = {r[0]: r for r in _rows(fisv_root / "train.txt")}
    assert len(rows["1"]) == 4  # id, TES, PCS and the copies' fourth column
    for score_type, column in (("TES", 1), ("PCS", 2)):
        ds = DATASETS.build(dict(type="FisVFeatureDataset", data_root=str(fisv_root),
                                 split="train", score_type=score_type))
        assert len(ds) == 4  # no first row taken for a header
        got = {p["perf_id"]: p["score"] for p in ds.performances}
        assert got == pytest.approx({k: float(r[column]) / 45 for k, r in rows.items()})


def test_released_layouts_name_their_bad_files(tmp_path, rg_root):
    bad = tmp_path / "bad"
    (bad / "swintx_avg_fps25_clip32").mkdir(parents=True)
    (bad / "train.txt").write_text(f"{RG_HEADER}\nBall_001 1 2 3\nBall_002 1 two 3\n")
    (bad / "test.txt").write_text(f"{RG_HEADER}\nBall_003 1 2 3\n")
    with pytest.raises(ValueError, match=r"train\.txt line 3: expected 4 columns with a number in column 3"):
        DATASETS.build(dict(type="RGFeatureDataset", data_root=str(bad), split="train",
                            score_type="Execution_Score"))
    with pytest.raises(FileNotFoundError, match=r"performance Ball_003 .*Ball_003\.npy not found"):
        DATASETS.build(dict(type="RGFeatureDataset", data_root=str(bad), split="test"))
    np.save(bad / "swintx_avg_fps25_clip32" / "Ball_003.npy", np.zeros(5, dtype=np.float32))
    with pytest.raises(ValueError, match=r"Ball_003\.npy holds \(5,\), expected clip features"):
        DATASETS.build(dict(type="RGFeatureDataset", data_root=str(bad), split="test"))
    with pytest.raises(ValueError, match="action_type must be one of"):
        DATASETS.build(dict(type="RGFeatureDataset", data_root=str(rg_root), action_type="Rope"))


@pytest.mark.parametrize("config, root", [
    ("gdlt_vst-feat_1xb32-32x1x68-250e_rg-ball.py", "rg_root"),
    ("gdlt_vst-feat_1xb32-32x1x124-320e_fisv-tes.py", "fisv_root"),
])
def test_gdlt_config_trains_a_step_on_the_released_layout(config, root, request, tmp_path):
    from mmengine.runner import Runner

    from pisa.engine.runner import RunOptions, build_run_config

    data_root = request.getfixturevalue(root)
    cfg = build_run_config(FEATURES / config, RunOptions(
        work_dir=str(tmp_path), data_root=str(data_root),
        cfg_options={"train_cfg.max_epochs": 1, "log_level": "WARNING", "baselines": []}))
    runner = Runner.from_cfg(cfg)
    model = runner.model.train()
    optim_wrapper = runner.build_optim_wrapper(cfg.optim_wrapper)
    loader = runner.build_dataloader(cfg.train_dataloader)
    assert len(loader) == 1 and loader.batch_size == 32  # one step takes every training video
    batch = next(iter(loader))
    clip_num = cfg.train_dataloader.dataset.pipeline[1].clip_num
    assert batch["inputs"]["video"].shape[1:] == (clip_num, 1024)  # GDLT's training window
    before = {k: v.detach().clone() for k, v in model.state_dict().items()}
    losses = model.train_step(batch, optim_wrapper)
    assert {"loss_video_mse", "loss_video_triplet"} <= set(losses)
    assert all(np.isfinite(float(v)) and float(v) > 0 for v in losses.values()), losses
    after = model.state_dict()
    moved = {k.split(".")[2] for k in before
             if before[k].dtype.is_floating_point and not torch.equal(before[k], after[k])}
    assert {"in_proj", "encoder", "decoder", "prototype", "regressor"} <= moved, moved
    metrics = runner.test()
    assert "spearman" in metrics and runner.test_dataloader.batch_size == 1


@pytest.mark.parametrize("config", sorted(p.name for p in FEATURES.glob("gdlt_vst-feat_*.py")))
def test_every_released_layout_config_builds_on_generated_files(config, rg_root, fisv_root):
    from pisa.engine.config_loader import load_config
    from pisa.registry import MODELS

    root = rg_root if "_rg-" in config else fisv_root
    cfg = load_config(FEATURES / config, {}, str(root))
    for name in ("train_dataloader", "val_dataloader", "test_dataloader"):
        dataset = DATASETS.build(dict(cfg[name].dataset, serialize_data=False))
        assert len(dataset) > 0, (config, name)
    assert MODELS.build(cfg.model).heads["video"].in_features == 1024
