"""Clip features extracted once (`pisa extract-features`) and trained on: a killed
extraction resumes to the bytes of an uninterrupted one; a changed backbone, weights file
or sampling makes a new folder; training on features computes what the end-to-end model
with the same frozen backbone computes; `pisa test`, `--folds` and `pisa predict` work on
a feature-trained model, and predict agrees with the end-to-end route."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from engine_helpers import REPO, render_tiny_dataset
from pisa.cli import main as pisa_main
from pisa.io.safe_load import load_checkpoint_file, load_pickle
from pisa.plugin_loader import registrations
from pisa.registry import CLIP_SAMPLERS, DATASETS, MODELS, SEQUENCE_HEADS, component_example

FEATURES = REPO / "configs" / "features"
FEATURE_CONFIG = FEATURES / "tiny_c3d-feat_adam-1e-3_2e_synthetic-video-unidist.py"
FROZEN_CONFIG = FEATURES / "tiny_c3d-frozen_adam-1e-3_2e_synthetic-video-unidist.py"
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")
#: the two routes differ only in the backbone's batch composition (float rounding); what
#: they must agree to: probabilities and weights (absolute), and every scalar metric
TOLERANCE = 1e-5


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """One intra-op thread for these small models: on a shared 2-core machine, two threads
    wait on each other far longer than they gain (restored afterwards)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _tiny_c3d_weights(path: Path, seed: int) -> Path:
    from pisa.models.c3d import C3D

    torch.manual_seed(seed)
    torch.save(C3D(widths=(4, 8), feature_dim=16, clip_len=4, size=16).state_dict(), path)
    return path


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    """A rendered synthetic dataset, two tiny-C3D weights files, and the environment the
    feature configs read ($PISA_BACKBONE_WEIGHTS, $PISA_FEATURE_ROOT)."""
    root = tmp_path_factory.mktemp("features")
    data = render_tiny_dataset(root / "data")
    weights = _tiny_c3d_weights(root / "c3d_a.pth", 0)
    other = _tiny_c3d_weights(root / "c3d_b.pth", 1)
    patch = pytest.MonkeyPatch()
    patch.setenv("PISA_BACKBONE_WEIGHTS", str(weights))
    patch.setenv("PISA_FEATURE_ROOT", str(root / "features"))
    yield dict(root=root, data=data, weights=weights, other=other, features=root / "features")
    patch.undo()


def _extract(setup, *args: str, config: Path = FEATURE_CONFIG) -> int:
    return pisa_main(["extract-features", str(config), "--data-root", str(setup["data"]),
                      "--no-progress", *args])


def _files(folder: Path) -> dict:
    """Name -> bytes of a feature folder's files (not the hidden temporary ones)."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if not p.name.startswith(".")}


def test_killed_extraction_resumes_to_the_bytes_of_an_uninterrupted_one(setup, tmp_path):
    config = FEATURE_CONFIG  # one clip per forward pass: slow enough to be killed midway
    killed_root, whole_root = tmp_path / "killed", tmp_path / "whole"
    # the thread count of this process (one_thread): the same arithmetic, the same bytes
    env = dict(os.environ, PISA_FEATURE_ROOT=str(killed_root), OMP_NUM_THREADS="1")
    cmd = [sys.executable, "-m", "pisa.cli", "extract-features", str(config), "--data-root",
           str(setup["data"]), "--batch-size", "1", "--no-progress"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        if list(killed_root.glob("*/*.npy")):
            break
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    _, err = proc.communicate()
    assert proc.returncode == -signal.SIGKILL, (
        f"the extraction ended (status {proc.returncode}) before it was killed: {err.decode()[-400:]}")
    (folder,) = killed_root.iterdir()
    before = {p.name: p.stat().st_mtime_ns for p in folder.glob("*.npy")}
    assert 1 <= len(before) < 6, f"killed after {len(before)} of 6 performances"

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PISA_FEATURE_ROOT", str(killed_root))
        assert _extract(setup, "--batch-size", "1", config=config) == 0  # resume
        patch.setenv("PISA_FEATURE_ROOT", str(whole_root))
        assert _extract(setup, "--batch-size", "1", config=config) == 0  # uninterrupted
    (whole,) = whole_root.iterdir()
    assert whole.name == folder.name
    resumed, uninterrupted = _files(folder), _files(whole)
    assert sorted(resumed) == sorted(uninterrupted)
    assert len([n for n in resumed if n.endswith(".npy")]) == 6 and "manifest.json" in resumed
    differing = [n for n in resumed if resumed[n] != uninterrupted[n]]
    assert not differing, f"resumed files differ from an uninterrupted run: {differing}"
    # the performances complete before the kill were skipped, not written again
    assert {n: (folder / n).stat().st_mtime_ns for n in before} == before
    leftovers = [p.name for p in folder.iterdir() if p.name.startswith(".")]
    assert all(".part" in n for n in leftovers), leftovers


def _feature_folders(root: Path) -> set:
    return {p.name for p in root.iterdir() if (p / "manifest.json").is_file()}


def test_a_changed_backbone_weights_file_or_sampling_makes_new_files(setup, tmp_path):
    import json

    from pisa.engine.config_loader import load_config

    root = tmp_path / "keys"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("PISA_FEATURE_ROOT", str(root))
        assert _extract(setup) == 0
        (base,) = _feature_folders(root)
        stamps = {p.name: p.stat().st_mtime_ns for p in (root / base).iterdir()}
        reference = _files(root / base)
        changes = {
            "weights": ([], {"PISA_BACKBONE_WEIGHTS": str(setup["other"])}),
            "sampling": ([f"{n}.dataset.source.clip_sampler.num_clips=3" for n in LOADERS], {}),
            # a backbone setting that keeps the weights' shapes (the file must fit)
            "backbone": ([f"{n}.dataset.extractor.backbone.dropout=0.5" for n in LOADERS], {}),
            "normalisation": ([f"{n}.dataset.extractor.data_preprocessor.mean=[0.5,0.5,0.5]"
                               for n in LOADERS], {}),
        }
        made = {}
        for change, (options, env) in changes.items():
            patch.setenv("PISA_BACKBONE_WEIGHTS", env.get("PISA_BACKBONE_WEIGHTS", str(setup["weights"])))
            assert _extract(setup, *(["--cfg-options", *options] if options else [])) == 0, change
            new = _feature_folders(root) - {base} - set(made.values())
            assert len(new) == 1, f"a changed {change} must make one new folder, got {new}"
            made[change] = new.pop()
            manifest = json.loads((root / made[change] / "manifest.json").read_text())
            if change == "weights":
                assert manifest["weights"]["path"] == str(setup["other"].resolve())
            if change == "sampling":
                assert "num_clips=3" in manifest["sampler"]
        # the end-to-end config's backbone, weights, normalisation, test pipeline and sampler
        # are the feature config's: its extraction finds the same folder complete
        assert _extract(setup, "--out", str(root), config=FROZEN_CONFIG) == 0
        assert _feature_folders(root) == {base, *made.values()}
        # the first folder was neither rewritten nor read for the others
        assert {p.name: p.stat().st_mtime_ns for p in (root / base).iterdir()} == stamps
        assert _files(root / base) == reference
        first = np.load(root / base / "1.npy")
        assert not np.array_equal(first, np.load(root / made["weights"] / "1.npy"))
        assert np.load(root / made["sampling"] / "1.npy").shape[0] == 3 * 3  # 3 samples x 3 clips
        # a dataset of the changed spec reads its own folder; one without features is refused
        cfg = load_config(FEATURE_CONFIG, {"test_dataloader.dataset.source.clip_sampler.num_clips": 3},
                          str(setup["data"]))
        dataset = DATASETS.build(cfg.test_dataloader.dataset)
        assert dataset.feature_dir.name == made["sampling"]
        assert dataset[0]["inputs"]["video"].shape == (3, 16)
        cfg = load_config(FEATURE_CONFIG, {"test_dataloader.dataset.extractor.backbone.dropout": 0.3},
                          str(setup["data"]))
        with pytest.raises(FileNotFoundError, match=r"no features in .*run `pisa extract-features"
                                                    r" CONFIG` first; folders there: .*C3D"):
            DATASETS.build(cfg.test_dataloader.dataset)


def test_extraction_refuses_random_sampling_and_partial_weights(setup, tmp_path):
    from pisa.engine.config_loader import load_config
    from pisa.engine.feature_extraction import extract_config

    cfg = load_config(FEATURE_CONFIG, {f"{n}.dataset.source.pipeline": [
        dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
        dict(type="RandomFlip", prob=0.5), dict(type="PackAQAInputs", modalities=("video",))]
        for n in LOADERS}, str(setup["data"]))
    with pytest.raises(ValueError, match=r"train_dataloader: the pipeline's RandomFlip is random"):
        extract_config(cfg, str(FEATURE_CONFIG), out=str(tmp_path), progress=False)
    partial = tmp_path / "partial.pth"
    state = torch.load(setup["weights"], weights_only=True)
    torch.save({k: v for k, v in state.items() if not k.startswith("fc.")}, partial)
    cfg = load_config(FEATURE_CONFIG, {}, str(setup["data"]))
    with pytest.raises(ValueError, match=r"partial\.pth .*does not hold 2 tensors of C3D: "
                                         r"\['fc\.weight', 'fc\.bias'\]"):
        extract_config(cfg, str(FEATURE_CONFIG), checkpoint=str(partial), out=str(tmp_path),
                       progress=False)


@pytest.fixture(scope="module")
def runs(setup, tmp_path_factory):
    """The tiny model trained twice with one seed from one initial head: end to end with
    the frozen C3D, and on that C3D's extracted features."""
    from pisa.engine.runner import RunOptions, train

    root = tmp_path_factory.mktemp("runs")
    assert _extract(setup) == 0
    torch.manual_seed(7)
    model = MODELS.build(dict(type="FeatureAQAModel", in_features=16,
                              head=dict(type="LevelHead", hidden=8, num_classes=10, dropout=0.2)))
    init = root / "init_head.pth"
    # the end-to-end model builds its C3D first and so draws other head weights from the
    # seed: both runs start from this head (load_from), the seed orders the samples
    torch.save({"state_dict": model.state_dict()}, init)
    options = {"load_from": str(init), "baselines": [], "log_level": "WARNING",
               **{f"{n}.dataset.serialize_data": False for n in LOADERS}}
    out = {}
    for name, config in (("end_to_end", FROZEN_CONFIG), ("features", FEATURE_CONFIG)):
        start = time.perf_counter()
        out[name] = train(str(config), RunOptions(work_dir=str(root / name), data_root=str(setup["data"]),
                                                  cfg_options=dict(options), seed=0,
                                                  dump_predictions=True))
        out[name]["seconds"] = time.perf_counter() - start
    (out["feature_dir"],) = [p for p in setup["features"].iterdir() if p.is_dir()]
    return out


def _scalars(metrics: dict) -> dict:
    return {k: v for k, v in metrics.items() if isinstance(v, (int, float))}


def test_training_on_features_matches_the_frozen_end_to_end_model(runs, setup):
    e2e, feat = runs["end_to_end"], runs["features"]
    assert e2e["split_counts"] == feat["split_counts"] and e2e["epoch"] == feat["epoch"]
    for split in ("val_metrics", "test_metrics"):
        a, b = _scalars(e2e[split]), _scalars(feat[split])
        assert a.keys() == b.keys() and a
        assert all(abs(a[k] - b[k]) <= TOLERANCE for k in a), (split, a, b)
    pred_a = load_pickle(Path(e2e["work_dir"]) / "test_predictions.pkl")
    pred_b = load_pickle(Path(feat["work_dir"]) / "test_predictions.pkl")
    assert [p["sample_id"] for p in pred_a] == [p["sample_id"] for p in pred_b]
    assert [p["pred_label"] for p in pred_a] == [p["pred_label"] for p in pred_b]
    np.testing.assert_allclose([p["probs"] for p in pred_a], [p["probs"] for p in pred_b],
                               atol=TOLERANCE, rtol=0)
    weights_a = load_checkpoint_file(e2e["checkpoint"])["state_dict"]
    weights_b = load_checkpoint_file(feat["checkpoint"])["state_dict"]
    init = load_checkpoint_file(str(Path(e2e["work_dir"]).parent / "init_head.pth"))["state_dict"]
    assert set(weights_b) == {k for k in weights_a if k.startswith("heads.")}
    for key, value in weights_b.items():
        torch.testing.assert_close(weights_a[key], value, atol=TOLERANCE, rtol=0)
    assert any(not torch.equal(init[k], weights_b[k]) for k in weights_b), "the head did not train"
    # the end-to-end C3D stayed the extracted one
    backbone = torch.load(setup["weights"], weights_only=True)
    assert all(torch.equal(weights_a[f"video_backbone.{k}"], v) for k, v in backbone.items())


def test_feature_model_tests_and_predicts_like_the_end_to_end_route(runs, setup, tmp_path, capsys):
    import json

    from media import make_video
    from pisa.apis import init_assessor
    from pisa.apis.feature_assessor import manifest_extractor_spec
    from pisa.engine.feature_extraction import load_extractor
    from pisa.engine.runner import RunOptions, test

    feat = runs["features"]
    tested = test(str(FEATURE_CONFIG), feat["checkpoint"], RunOptions(
        work_dir=str(tmp_path / "test"), data_root=str(setup["data"]),
        cfg_options={"baselines": [], "log_level": "WARNING"}))
    assert _scalars(tested["test_metrics"]) == pytest.approx(_scalars(feat["test_metrics"]), abs=1e-9)

    # a new recording: decoded, featurised by the recorded C3D, scored by the trained head
    recording = make_video(tmp_path / "new_recording.mp4", frames=70, size=(64, 48), audio=False)
    capsys.readouterr()
    assert pisa_main(["predict", str(FEATURE_CONFIG), feat["checkpoint"], str(recording),
                      "--data-root", str(setup["data"]), "--json", "--no-progress"]) == 0
    pred_f = json.loads(capsys.readouterr().out)["recordings"][0]
    assert pred_f["dataset"] == "FeatureDataset from test_dataloader"
    # the end-to-end model holding the same C3D and the feature run's head
    state = {f"video_backbone.{k}": v for k, v in torch.load(setup["weights"], weights_only=True).items()}
    state.update(load_checkpoint_file(feat["checkpoint"])["state_dict"])
    combined = tmp_path / "end_to_end.pth"
    torch.save({"state_dict": state}, combined)
    pred_e = init_assessor(FROZEN_CONFIG, combined, data_root=str(setup["data"])).assess(recording)
    # that training checkpoint as the weights (its video_backbone. tensors): the same features
    assert _extract(setup, "--checkpoint", str(combined), "--out", str(tmp_path / "ckpt"),
                    config=FROZEN_CONFIG) == 0
    (from_ckpt,) = (tmp_path / "ckpt").iterdir()
    assert from_ckpt.name != runs["feature_dir"].name  # another weights file, another key
    for npy in runs["feature_dir"].glob("*.npy"):
        np.testing.assert_array_equal(np.load(from_ckpt / npy.name), np.load(npy))
    assert pred_f["level"] == pred_e.level and pred_f["num_frames"] == pred_e.num_frames == 70
    np.testing.assert_allclose(pred_f["probs"], pred_e.probs, atol=TOLERANCE, rtol=0)
    assert len(pred_f["segments"]) == len(pred_e.segments) == 70 // 8
    np.testing.assert_allclose([s["probs"] for s in pred_f["segments"]],
                               [s.probs for s in pred_e.segments], atol=TOLERANCE, rtol=0)
    # the recorded weights must still be what made the features
    manifest = json.loads((runs["feature_dir"] / "manifest.json").read_text())
    manifest["weights"]["path"] = str(setup["other"])
    with pytest.raises(ValueError, match=r"c3d_b\.pth has sha256 .*not the same weights"):
        load_extractor(manifest_extractor_spec(manifest), expected_sha256=manifest["weights"]["sha256"])


def test_feature_datasets_split_like_their_source_under_carve_and_folds(runs, setup):
    from pisa.engine.config_loader import load_config

    cfg = load_config(FEATURE_CONFIG, {}, str(setup["data"]))
    feature_cfg = dict(cfg.train_dataloader.dataset)
    source_cfg = dict(feature_cfg["source"], split_seed=0)
    for folds in ({}, {"folds": 2, "fold": 0}, {"folds": 2, "fold": 1}):
        for split in ("train", "val", "test"):
            args = dict(folds, split=split, val_performances=0.25)
            feats = DATASETS.build(dict(feature_cfg, **args, serialize_data=False))
            source = DATASETS.build(dict(source_cfg, **args, check_media=False, serialize_data=False))
            assert [p["perf_id"] for p in feats.performances] == [p["perf_id"] for p in source.performances]
            assert feats.level_counts() == source.level_counts(), (folds, split)


def test_feature_dataset_names_what_is_missing(setup, tmp_path):
    import shutil

    from pisa.engine.config_loader import load_config

    root = tmp_path / "copy"
    assert _extract(setup, "--out", str(root)) == 0
    (folder,) = root.iterdir()
    cfg = load_config(FEATURE_CONFIG, {"train_dataloader.dataset.feature_root": str(root)},
                      str(setup["data"]))
    first = DATASETS.build(cfg.train_dataloader.dataset).performances[0]["perf_id"]
    (folder / f"{first}.npy").unlink()
    with pytest.raises(FileNotFoundError, match=rf"performance {first} .*no features {first}\.npy "
                                                r"in .*run `pisa extract-features CONFIG` again"):
        DATASETS.build(cfg.train_dataloader.dataset)
    with pytest.warns(UserWarning, match=f"skipped: performance {first}"):
        dataset = DATASETS.build(dict(cfg.train_dataloader.dataset, on_bad_sample="skip"))
    assert first not in {p["perf_id"] for p in dataset.performances} and len(dataset) > 0
    shutil.rmtree(folder)
    with pytest.raises(FileNotFoundError, match=r"no features in .* for this backbone, weights "
                                                r"and sampling \(C3D, .*c3d_a\.pth, UniformSampler"):
        DATASETS.build(cfg.train_dataloader.dataset)
    bad = dict(cfg.train_dataloader.dataset, source=dict(cfg.train_dataloader.dataset.source, split="test"))
    with pytest.raises(ValueError, match=r"split belong to the feature dataset itself"):
        DATASETS.build(bad)


def test_all_clips_sampler_and_clip_window():
    from pisa.data.core.all_clips_sampler import AllClipsSampler
    from pisa.data.transforms.feature_transforms import RandomClipWindow

    inds = AllClipsSampler(clip_len=4)(18)
    # 4 clips of 4 frames; the 2 frames left over dropped one at each end
    assert inds.shape == (1, 4, 4) and inds[0, 0, 0] == 1 and inds[0, -1, -1] == 16
    assert AllClipsSampler(clip_len=4, num_clips=5)(18).shape[0] == 0
    feats = np.arange(10 * 2, dtype=np.float32).reshape(10, 2)
    np.random.seed(0)
    starts = {RandomClipWindow(4)({"features": feats})["clip_window"][0] for _ in range(200)}
    assert starts == set(range(7))  # every window, the last one included
    centre = RandomClipWindow(4, random=False)({"features": feats})
    np.testing.assert_array_equal(centre["features"], feats[3:7])
    padded = RandomClipWindow(12)({"features": feats})["features"]
    assert padded.shape == (12, 2) and not padded[10:].any()
    np.testing.assert_array_equal(padded[:10], feats)


@pytest.mark.parametrize("reg", [pytest.param(r, id=r.name) for r in registrations("sequence_head")])
def test_sequence_head_forward_backward(reg):
    example = component_example("sequence_head", reg.obj)
    shape = tuple(example["input_shape"])
    assert len(shape) == 3 and "in_features" not in example["args"]
    torch.manual_seed(0)
    head = SEQUENCE_HEADS.build(dict(type=reg.name, in_features=shape[-1], **example["args"]))
    feats = torch.randn(shape, requires_grad=True)
    out = head(feats)
    num_classes = example["args"].get("num_classes", 0)
    assert out["cls"].shape == (shape[0], num_classes) and out["reg"].shape == (shape[0],)
    loss = out["cls"].square().mean() + out["reg"].square().mean()
    for value in (getattr(head, "auxiliary_losses", lambda o: {})(out) or {}).values():
        loss = loss + value
    loss.backward()
    assert feats.grad is not None and feats.grad.abs().sum() > 0
    no_grad = [n for n, p in head.named_parameters() if p.grad is None]
    assert not no_grad, f"{reg.name}: no gradient reached {no_grad[:5]}"
    # any number of clips; a wrong feature size is refused naming the shape
    assert head.eval()(torch.randn(2, 7, shape[-1]))["reg"].shape == (2,)
    with pytest.raises(ValueError, match=rf"\(B, K, {shape[-1]}\)"):
        head(torch.randn(2, 3, shape[-1] + 1))


def test_gdlt_head_scores_within_its_grades():
    from pisa.models.sequence_heads import GDLTHead, grade_triplet_loss

    torch.manual_seed(0)
    head = GDLTHead(16, hidden=8, num_queries=4, dropout=0.0, score_range=(0.0, 25.0)).eval()
    out = head(torch.randn(5, 9, 16))
    # a convex combination of the grades 0, 1/3, 2/3, 1, scaled to the score range
    assert torch.allclose(out["grade_weights"].sum(dim=1), torch.ones(5))
    assert bool(((out["reg"] > 0) & (out["reg"] < 25)).all())
    apart = torch.eye(4).repeat(3, 1, 1)  # each query its own direction: no violation
    assert float(grade_triplet_loss(apart, margin=0.5)) == 0.0
    same = torch.ones(3, 4, 4)  # all queries alike: every anchor violates by the margin
    assert float(grade_triplet_loss(same, margin=0.5)) == pytest.approx(0.5)


def test_a_plugin_backbone_loads_a_torchvision_file_its_own_way(tmp_path):
    from torchvision.models import video

    from pisa.engine.feature_extraction import load_extractor

    torch.manual_seed(0)
    state = video.mc3_18(weights=None).state_dict()  # torchvision's names, with its fc
    path = tmp_path / "mc3_18.pth"
    torch.save(state, path)
    spec = dict(modality="video", backbone=dict(type="TorchvisionMC318"), weights=str(path),
                weights_prefix=None, data_preprocessor=dict(type="AQADataPreprocessor",
                                                            mean=[0.4, 0.4, 0.4], std=[0.2, 0.2, 0.2]))
    extractor = load_extractor(spec, "cpu")
    assert extractor.dim == 512 and not extractor.backbone.training
    net = extractor.backbone.net.state_dict()
    assert all(torch.equal(net[k], v) for k, v in state.items() if not k.startswith("fc."))
    clips = torch.randint(0, 256, (2, 3, 4, 16, 16), dtype=torch.uint8)
    assert extractor(clips).shape == (2, 512)
    torch.save({k: v for k, v in state.items() if not k.startswith("layer4.")}, path)
    with pytest.raises(ValueError, match=r"does not hold \d+ tensors of TorchvisionMC318: \['net\.layer4"):
        load_extractor(spec, "cpu")


def test_extract_features_runs_a_paper_config_with_the_shared_i3d_file(tmp_path, monkeypatch):
    """`pisa extract-features` on CoRe's I3D config (a pair model and a pair dataset) with
    a stand-in of CoRe's model_rgb.pth: every dive once, its 10 clips of CoRe's window,
    each feature what that I3D computes for the clip."""
    from i3d_manifests import CORE, stand_in_file

    from pisa.data.adapters.mtl_aqa import write_released_layout
    from pisa.data.core.feature_store import read_performance
    from pisa.engine.config_loader import load_config
    from pisa.models.i3d import I3D

    config = REPO / "configs" / "core" / "core_i3d_1xb1-16x1x10-200e_mtl-aqa-video-score.py"
    root = tmp_path / "mtl"
    root.mkdir()
    write_released_layout(root, [(2.0, 40.0, None), (2.0, 50.0, None)], [(2.0, 45.0, None)],
                          dive_frames=12)
    stand_in_file(tmp_path / "model_rgb.pth", CORE)
    monkeypatch.setenv("PISA_BACKBONE_WEIGHTS", str(tmp_path / "model_rgb.pth"))
    small = ["test_dataloader.dataset.pipeline.1.size=(32,32)",
             "test_dataloader.dataset.pipeline.1.resize=(65,37)"]  # CoRe's 455 x 256 -> 224, / 7
    out = tmp_path / "features"
    assert pisa_main(["extract-features", str(config), "--data-root", str(root), "--out", str(out),
                      "--no-progress", "--device", "cpu", "--cfg-options", *small]) == 0
    (folder,) = [p for p in out.iterdir() if p.is_dir()]
    cfg = load_config(config, {"test_dataloader.dataset.pipeline.1.size": (32, 32),
                               "test_dataloader.dataset.pipeline.1.resize": (65, 37),
                               "test_dataloader.dataset.num_exemplars": 1}, str(root))
    test = DATASETS.build(cfg.test_dataloader.dataset)
    sample = test[0]  # the one test dive (video 03, dive 1): its query clips
    layout = read_performance(folder, {"perf_id": "03_1"})
    feats = np.load(layout["feature_file"])
    assert feats.shape == (10, 1024)
    window = CLIP_SAMPLERS.build(cfg.test_dataloader.dataset.clip_sampler)(12)  # CoRe's, 12-frame dive
    np.testing.assert_array_equal(np.asarray(layout["frame_inds"]).reshape(window.shape), window)
    backbone = I3D(bn_eps=1e-5, bn_momentum=0.1, pretrained=str(tmp_path / "model_rgb.pth")).eval()
    clips = sample["inputs"]["video"].float() / 255.0
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1, 1)
    with torch.no_grad():
        expected = backbone((clips - mean) / std)
    np.testing.assert_allclose(feats, expected.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("name,arch,clip", [
    ("TorchvisionS3D", "s3d", (1, 3, 14, 224, 224)),          # classifier: a conv
    ("TorchvisionMViTV2S", "mvit_v2_s", (1, 3, 16, 224, 224)),  # exactly its recipe's clip
    ("TorchvisionSwin3DT", "swin3d_t", (1, 3, 2, 32, 32)),       # head: a linear
])
def test_extraction_loads_each_kind_of_torchvision_file_and_gives_the_backbones_features(
        name, arch, clip, tmp_path):
    """The extractor takes torchvision's own weights file (classifier included) for the
    new video models, holds every tensor of it, and computes the backbone's features."""
    from torchvision.models import video

    from pisa.engine.feature_extraction import load_extractor
    from pisa.registry import BACKBONES

    torch.manual_seed(0)
    path = tmp_path / f"{arch}.pth"
    torch.save(getattr(video, arch)(weights=None).state_dict(), path)
    spec = dict(modality="video", backbone=dict(type=name), weights=str(path), weights_prefix=None,
                data_preprocessor=dict(type="AQADataPreprocessor", mean=[0.45] * 3, std=[0.225] * 3))
    extractor = load_extractor(spec, "cpu")
    clips = torch.randint(0, 256, clip, dtype=torch.uint8)
    reference = BACKBONES.build(dict(type=name, pretrained=str(path))).eval()
    with torch.no_grad():
        expected = reference((clips.float() / 255.0 - 0.45) / 0.225)
    got = extractor(clips)
    assert got.shape == (1, reference.out_features)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)
    path.unlink()


def test_the_gdlt_style_config_extracts_and_trains_on_ones_own_recordings(setup, tmp_path, monkeypatch):
    """The GDLT-style feature config end to end on the one-CSV route: `pisa extract-features`
    (a stand-in torchvision file; Swin3D-T for Swin3D-B and 32 x 32 frames, to keep the CPU
    test short) writes one row per 32-frame clip, then `pisa train` runs GDLT's
    head on them."""
    from torchvision.models import video

    from pisa.data.core.feature_store import read_performance

    config = FEATURES / "gdlt_swin3d-b-feat_1xb32-32x1x68-250e_aqa-csv-score.py"
    torch.manual_seed(0)
    torch.save(video.swin3d_t(weights=None).state_dict(), tmp_path / "swin3d_t.pth")
    monkeypatch.setenv("PISA_BACKBONE_WEIGHTS", str(tmp_path / "swin3d_t.pth"))
    monkeypatch.setenv("PISA_FEATURE_ROOT", str(tmp_path / "features"))
    monkeypatch.setenv("AQA_ANN_FILE", str(setup["data"] / "annotations.csv"))
    small = [f"{n}.dataset.{k}" for n in LOADERS for k in (
        "extractor.backbone.type=TorchvisionSwin3DT", "source.pipeline.1.size=(32,32)",
        "source.pipeline.1.resize=(36,64)")]
    assert pisa_main(["extract-features", str(config), "--no-progress", "--device", "cpu",
                      "--cfg-options", *small]) == 0
    (folder,) = [p for p in (tmp_path / "features").iterdir() if p.is_dir()]
    (first,) = [p.stem for p in folder.glob("*.npy")][:1]
    layout = read_performance(folder, {"perf_id": first})
    feats = np.load(layout["feature_file"])
    frames = np.asarray(layout["frame_inds"]).reshape(len(feats), -1)
    assert feats.shape[1] == 768 and frames.shape[1] == 32  # Swin3D-T's dim, 32-frame clips
    assert np.all(np.diff(frames.reshape(-1)) == 1)  # consecutive, non-overlapping clips
    assert pisa_main(["train", str(config), "--work-dir", str(tmp_path / "run"), "--cfg-options", *small,
                      "train_cfg.max_epochs=1", "model.in_features=768", "baselines=[]",
                      "train_dataloader.batch_size=4"]) == 0
    assert (tmp_path / "run" / "results.json").is_file()
