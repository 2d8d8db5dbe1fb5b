"""UCF101 pretraining: the dataset over the official split files, the video recognizer,
top-k accuracy, and the hand-off of a pretrained C3D to a PISA config."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from media import make_synth_dataset, make_ucf101_tree

REPO = Path(__file__).resolve().parents[1]
PRETRAIN_CONFIG = REPO / "configs" / "pretrain" / "c3d_16x1x1-ucf101-split1.py"
PISA_TINY_CONFIG = REPO / "configs" / "synthetic" / "tiny_c3d_adam-1e-3_2e_synthetic-video-unidist.py"
TINY_C3D = dict(widths=(4, 8), feature_dim=16, clip_len=4, size=16)


@pytest.fixture(scope="module")
def ucf_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ucf101")
    make_ucf101_tree(root, groups=3, clips_per_group=1, frames=24, size=(40, 32))
    return root


def _pipeline(test: bool):
    crop = dict(type="CenterCrop", size=16) if test else dict(type="RandomCrop", size=16)
    return [dict(type="DecodeFrames"), dict(type="CropResize", size=(20, 24)), crop,
            dict(type="PackAQAInputs", modalities=("video",))]


def _dataset(root: Path, **kwargs):
    from pisa.registry import DATASETS

    test = kwargs.get("test_mode", False)
    cfg = dict(type="UCF101Dataset", data_root=str(root), split=1,
               subset="test" if test else "train", pipeline=_pipeline(test),
               clip_sampler=dict(type="CenterClipSampler" if test else "RandomClipSampler",
                                 num_clips=1, clip_len=4))
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_dataset_reads_the_split_lists_and_packs_clips(ucf_root):
    train = _dataset(ucf_root)
    test = _dataset(ucf_root, test_mode=True)
    assert len(train) == 6 and len(test) == 3  # group 1 of each class is the test list
    assert train.metainfo["num_classes"] == 3
    assert train.metainfo["classes"] == ("ApplyEyeMakeup", "BabyCrawling", "CliffDiving")
    for ds in (train, test):
        for i in range(len(ds)):
            item = ds[i]
            sid = item["data_samples"]["sample_id"]
            class_name = sid.split("_")[1]
            assert item["data_samples"]["label"] == ds.metainfo["classes"].index(class_name)
            assert item["data_samples"]["group"] == sid.split("/")[0].rsplit("_c", 1)[0][2:]
            assert tuple(item["inputs"]["video"].shape) == (1, 3, 4, 16, 16)
            assert item["inputs"]["video"].dtype == torch.uint8
    # testing: the centre clip and centre crop, the same on every read
    assert torch.equal(test[0]["inputs"]["video"], test[0]["inputs"]["video"])
    np.random.seed(0)
    reads = [train[0]["inputs"]["video"] for _ in range(6)]
    assert any(not torch.equal(reads[0], r) for r in reads[1:])  # random clip, crop, flip


def test_split_files_errors_name_the_file_and_line(ucf_root, tmp_path):
    import shutil
    import warnings

    root = tmp_path / "ucf"
    shutil.copytree(ucf_root, root)
    lines = (root / "trainlist01.txt").read_text().splitlines()
    (root / "trainlist01.txt").write_text("\n".join(lines + ["Surfing/v_Surfing_g01_c01.avi 4"]) + "\n")
    with pytest.raises(ValueError, match=r"trainlist01.txt line 7: class 'Surfing' is not in"):
        _dataset(root)
    (root / "trainlist01.txt").write_text("\n".join(lines[:-1] + [lines[-1].replace(" 3", " 2")]) + "\n")
    with pytest.raises(ValueError, match=r"line 6: label '2' disagrees"):
        _dataset(root)
    (root / "trainlist01.txt").write_text("\n".join(lines) + "\n")
    (root / lines[0].split()[0]).unlink()
    with pytest.raises(FileNotFoundError, match=r"trainlist01.txt line 1: video .* not found"):
        _dataset(root)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ds = _dataset(root, on_bad_sample="skip")
    assert len(ds) == 5 and any("line 1" in str(w.message) for w in caught)
    with pytest.raises(ValueError, match="split must be 1, 2 or 3"):
        _dataset(root, split=4)
    (root / "classInd.txt").unlink()
    with pytest.raises(FileNotFoundError, match="classInd.txt"):
        _dataset(root)


def test_crops_keep_the_window_they_report():
    from pisa.data.adapters.ucf101 import CenterCrop, RandomCrop

    imgs = np.arange(2 * 3 * 10 * 12 * 3, dtype=np.int64).reshape(2, 3, 10, 12, 3)
    out = RandomCrop(size=(4, 5))({"imgs": imgs})
    y, x = out["crop_offset"]
    assert np.array_equal(out["imgs"], imgs[:, :, y:y + 4, x:x + 5])
    centre = CenterCrop(size=4)({"imgs": imgs})
    assert centre["crop_offset"] == (3, 4)
    with pytest.raises(ValueError, match="smaller than the 11x11 crop"):
        CenterCrop(size=11)({"imgs": imgs, "sample_id": "s"})


def test_topk_accuracy_matches_a_sort_of_the_scores():
    from pisa.evaluation.metrics.topk import TopKAccuracy

    rng = np.random.default_rng(0)
    scores = rng.random((50, 7))
    gt = rng.integers(0, 7, size=50)
    metric = TopKAccuracy(topk=(1, 3, 5))
    metric.process({}, [{"probs": s, "gt_label": int(g)} for s, g in zip(scores, gt)])
    metric.process({}, [{"probs": scores[0], "gt_label": -1}])  # unlabelled: left out
    result = metric.compute_metrics(metric.results)
    order = np.argsort(-scores, axis=1)
    for k in (1, 3, 5):
        assert result[f"top{k}"] == pytest.approx(np.mean([g in o[:k] for g, o in zip(gt, order)]))
    assert result["top1"] < result["top3"] < result["top5"]
    with pytest.raises(ValueError, match="gt_label 9"):
        metric.process({}, [{"probs": scores[0], "gt_label": 9, "sample_id": "x"}])


def test_recognizer_learns_a_batch_and_predicts_per_sample():
    from pisa.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(dict(type="VideoRecognizer", num_classes=3, dropout=0.0,
                              backbone=dict(type="C3D", **TINY_C3D),
                              data_preprocessor=dict(type="AQADataPreprocessor")))
    video = torch.randint(0, 255, (6, 2, 3, 4, 16, 16), dtype=torch.uint8)
    samples = {"label": torch.tensor([0, 1, 2, 0, 1, 2]), "sample_id": [f"s{i}" for i in range(6)],
               "group": ["g"] * 6}
    data = model.data_preprocessor({"inputs": {"video": video}, "data_samples": samples})
    optim = torch.optim.Adam(model.parameters(), lr=1e-2)
    first = None
    for _ in range(30):
        loss = model(**data, mode="loss")["loss_cls"]
        first = loss.item() if first is None else first
        optim.zero_grad()
        loss.backward()
        optim.step()
    assert loss.item() < 0.5 * first
    preds = model(**data, mode="predict")
    assert [p["gt_label"] for p in preds] == [0, 1, 2, 0, 1, 2]
    assert [p["pred_label"] for p in preds] == [0, 1, 2, 0, 1, 2]
    assert all(abs(sum(p["probs"]) - 1) < 1e-5 and len(p["scores"]) == 3 for p in preds)
    assert set(k.split(".")[0] for k in model.state_dict()) >= {"backbone", "cls_head"}


def _tiny_pretrain_config(tmp_path: Path) -> Path:
    cfg = tmp_path / "tiny_pretrain.py"
    cfg.write_text(f"""
_base_ = [{str(PRETRAIN_CONFIG)!r}]
clip_len = 4
model = dict(backbone=dict(widths=(4, 8), feature_dim=16, clip_len=4, size=16), num_classes=3)
train_pipeline = [
    dict(type='DecodeFrames'), dict(type='CropResize', size=(20, 24)),
    dict(type='RandomCrop', size=16), dict(type='RandomFlip', prob=0.5),
    dict(type='PackAQAInputs', modalities=('video', ))]
test_pipeline = [
    dict(type='DecodeFrames'), dict(type='CropResize', size=(20, 24)),
    dict(type='CenterCrop', size=16), dict(type='PackAQAInputs', modalities=('video', ))]
train_dataloader = dict(batch_size=3, num_workers=0, dataset=dict(
    pipeline=train_pipeline, clip_sampler=dict(type='RandomClipSampler', num_clips=1, clip_len=4)))
val_dataloader = dict(batch_size=3, num_workers=0, dataset=dict(
    pipeline=test_pipeline, clip_sampler=dict(type='CenterClipSampler', num_clips=1, clip_len=4)))
test_dataloader = val_dataloader
val_evaluator = dict(type='TopKAccuracy', topk=(1, 2))
test_evaluator = val_evaluator
optim_wrapper = dict(optimizer=dict(lr=0.01))
train_cfg = dict(max_epochs=2, val_interval=1)
default_hooks = dict(logger=dict(interval=1), checkpoint=dict(interval=1))
""")
    return cfg


@pytest.mark.slow
def test_pretrain_export_and_start_a_pisa_training_from_it(ucf_root, tmp_path, capsys):
    from pisa.cli import main
    from pisa.engine.runner import RunOptions, build_run_config
    from pisa.models.weights import read_checkpoint
    from pisa.registry import MODELS

    work = tmp_path / "pretrain"
    assert main(["train", str(_tiny_pretrain_config(tmp_path)), "--data-root", str(ucf_root),
                 "--work-dir", str(work)]) == 0
    results = json.loads((work / "results.json").read_text())
    assert set(results["val_metrics"]) >= {"top1", "top2"}
    checkpoint = results["checkpoint"]
    state = read_checkpoint(checkpoint)["state_dict"]
    exported = tmp_path / "c3d_ucf101.pth"
    capsys.readouterr()
    assert main(["export-backbone", checkpoint, "--prefix", "backbone.", "--out", str(exported)]) == 0
    assert "wrote" in capsys.readouterr().out
    weights = torch.load(exported, map_location="cpu", weights_only=True)
    backbone_keys = sorted(k[len("backbone."):] for k in state if k.startswith("backbone."))
    assert sorted(weights) == backbone_keys and backbone_keys
    for key, value in weights.items():
        assert torch.equal(value, state["backbone." + key])

    # a PISA config starts from the pretrained C3D: same tensors in its video backbone
    data = tmp_path / "synthetic"
    make_synth_dataset(data, performances=4, seconds=6.0, seed=2)
    options = {"model.video_backbone.pretrained": str(exported)}
    cfg = build_run_config(PISA_TINY_CONFIG, RunOptions(data_root=str(data), cfg_options=options,
                                                        work_dir=str(tmp_path / "pisa")))
    pisa_model = MODELS.build(cfg.model)
    own = pisa_model.video_backbone.state_dict()
    for key, value in weights.items():
        assert torch.equal(own[key], value), key
    assert main(["train", str(PISA_TINY_CONFIG), "--data-root", str(data), "--work-dir",
                 str(tmp_path / "pisa"), "--cfg-options", f"model.video_backbone.pretrained={exported}",
                 "train_cfg.max_epochs=1"]) == 0
    log = "\n".join(p.read_text() for p in (tmp_path / "pisa").rglob("*.log"))
    assert f"C3D: loaded {len(weights)} tensors from {exported}" in log
