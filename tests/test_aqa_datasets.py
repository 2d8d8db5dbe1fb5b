"""AQA-7, FineDiving and JIGSAWS on tiny trees in their released layouts (each adapter's write_released_layout):
the records, splits and folds each adapter builds, FineDiving's pickles through the
restricted unpickler, ScoreMetrics' declared range and AQA-7's per-action average
against independent computations, and one short `pisa train` of each runnable config."""
from __future__ import annotations

import json
import math
import pickle
from pathlib import Path

import numpy as np
import pytest
from scipy import stats

from engine_helpers import REPO
from media import frame_index_of

from pisa.cli import main
from pisa.data.adapters import aqa7, finediving, jigsaws
from pisa.evaluation.metrics.score_metrics import ScoreMetrics, fisher_z_mean
from pisa.io.safe_load import UnsafePickleError, load_pickle
from pisa.registry import DATASETS

CONFIGS = REPO / "configs"
PIPE = [dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
        dict(type="PackAQAInputs", modalities=("video",))]
SAMPLER = dict(type="CenterClipSampler", num_clips=2, clip_len=4)
AQA7_SCORES = {"diving": ([30.0, 60.0, 90.0], [45.0, 75.0, 95.0]),
               "gym_vault": ([13.0, 15.0, 16.5], [14.0, 16.0, 12.5])}
DIVES = [("CompA", 0, "train", 80.0, 3.2, "107B"), ("CompA", 1, "test", 60.5, 2.8, "5253B"),
         ("CompB", 0, "train", 70.0, 3.0, "205B"), ("CompB", 3, "test", 88.2, 3.4, "107B"),
         ("CompC", 2, "train", 55.0, 2.0, "405C")]
#: 4 users x 2 trials, GRS 8..22
TRIALS = [(u, n, "NIE"[i % 3], 8 + 2 * i) for i, (u, n) in
          enumerate((u, n) for u in "BCDE" for n in (1, 2))]


def build(**cfg):
    return DATASETS.build(dict(pipeline=PIPE, clip_sampler=SAMPLER, **cfg))


@pytest.fixture(scope="module")
def aqa7_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("aqa7")
    aqa7.write_released_layout(root, AQA7_SCORES, extra_rows=[[7, 1, 50.0]])  # a trampoline row
    return root


@pytest.fixture(scope="module")
def finediving_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("finediving")
    finediving.write_released_layout(root, DIVES)
    return root


@pytest.fixture(scope="module")
def jigsaws_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("jigsaws")
    jigsaws.write_released_layout(root, "Suturing", TRIALS)
    return root


# -- AQA-7 ------------------------------------------------------------------------------
def test_aqa7_reads_the_mat_split_lists_per_action(aqa7_root):
    train = build(type="AQA7Dataset", data_root=str(aqa7_root), split="train")
    # the trampoline row (class 7) is left out, as in USDL / CoRe
    assert [(p["perf_id"], p["action"], p["score"]) for p in train.performances] == [
        ("diving/001", "diving", 30.0), ("diving/002", "diving", 60.0),
        ("diving/003", "diving", 90.0), ("gym_vault/001", "gym_vault", 13.0),
        ("gym_vault/002", "gym_vault", 15.0), ("gym_vault/003", "gym_vault", 16.5)]
    assert train.metainfo["actions"][:2] == ("diving", "gym_vault")
    assert train.metainfo["score_range"]["gym_vault"] == (12.3, 16.87)
    test = build(type="AQA7Dataset", data_root=str(aqa7_root), split="test", action="gym_vault")
    assert [p["sample_number"] for p in test.performances] == [4, 5, 6]
    assert test.metainfo["score_range"] == (12.3, 16.87)
    item = test[1]
    assert item["data_samples"] == {"label": -1, "score": 16.0, "sample_id": "gym_vault/005/0",
                                    "group": "gym_vault/005"}
    # frames img_00001..img_00012 of folder gym_vault-out/005: centre clips of 2 halves
    clips = item["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1)
    assert [[frame_index_of(f) for f in clip] for clip in clips] == [[1, 2, 3, 4], [7, 8, 9, 10]]
    with pytest.raises(ValueError, match="action must be 'all' or one of"):
        build(type="AQA7Dataset", data_root=str(aqa7_root), action="trampoline")


def test_aqa7_errors_name_the_split_file(tmp_path):
    from scipy.io import savemat

    (tmp_path / "Split_4").mkdir()
    savemat(str(tmp_path / "Split_4" / "split_4_train_list.mat"), {"wrong_name": np.ones((2, 3))})
    with pytest.raises(ValueError, match=r"split_4_train_list\.mat: no variable 'consolidated_train_list'"):
        build(type="AQA7Dataset", data_root=str(tmp_path))
    savemat(str(tmp_path / "Split_4" / "split_4_train_list.mat"),
            {"consolidated_train_list": np.array([[1, 2.5, 40.0]])})
    with pytest.raises(ValueError, match="row 1 has class/sample number"):
        build(type="AQA7Dataset", data_root=str(tmp_path))


# -- FineDiving ---------------------------------------------------------------------------
def test_finediving_records_through_the_restricted_unpickler(finediving_root):
    ann = finediving_root / "Annotations"
    fine = load_pickle(ann / "FineDiving_fine-grained_annotation.pkl")  # numpy arrays inside
    assert isinstance(fine[("CompA", 0)]["frames_labels"], np.ndarray)
    train = build(type="FineDivingDataset", data_root=str(finediving_root), split="train")
    first = train.performances[0]
    assert [p["perf_id"] for p in train.performances] == ["CompA/0", "CompB/0", "CompC/2"]
    assert (first["score"], first["difficulty"], first["dive_number"]) == (80.0, 3.2, "107B")
    assert first["judge_scores"] == [8.3] * 7 and first["steps_transit_frames"] == [4, 8]
    assert first["frame_labels"] == [0] * 4 + [1] * 4 + [2] * 4
    assert (first["start_frame"], first["end_frame"]) == (100, 111)  # the jpgs' own numbers
    assert first["performer"] == "video CompA" and first["num_frames"] == 12
    assert train.metainfo["score_range"] == (0.0, 104.5)
    test = build(type="FineDivingDataset", data_root=str(finediving_root), split="test")
    item = test[1]
    assert item["data_samples"] == {"label": -1, "score": 88.2, "sample_id": "CompB/3/0",
                                    "group": "CompB/3"}
    clips = item["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1)
    assert [frame_index_of(c[0]) for c in clips] == [1, 7]


def test_finediving_refuses_a_forbidden_type_and_inconsistent_annotations(tmp_path):
    finediving.write_released_layout(tmp_path, DIVES[:2], protocol=2)  # protocol 2: the latin1 stand-in
    ann = tmp_path / "Annotations"
    assert b"_codecs\nencode" in (ann / "FineDiving_fine-grained_annotation.pkl").read_bytes()
    ds = build(type="FineDivingDataset", data_root=str(tmp_path), split="train")
    assert ds.performances[0]["frame_labels"] == [0] * 4 + [1] * 4 + [2] * 4

    class Payload:
        def __reduce__(self):
            return (print, ("payload ran",))

    (ann / "test_split.pkl").write_bytes(pickle.dumps([("CompA", 1), Payload()]))
    with pytest.raises(UnsafePickleError, match=r"test_split\.pkl: refused to load global builtins\.print"):
        build(type="FineDivingDataset", data_root=str(tmp_path), split="test")
    # protocol 2 calling another codec through _codecs.encode: the stand-in answers only latin1
    crafted = (b"\x80\x02c_codecs\nencode\nX\x03\x00\x00\x00abcX\x06\x00\x00\x00rot_13"
               b"\x86R.")
    (ann / "test_split.pkl").write_bytes(crafted)
    with pytest.raises(UnsafePickleError, match=r"refused _codecs\.encode\(str, 'rot_13'\)"):
        load_pickle(ann / "test_split.pkl")
    coarse, fine = finediving.annotation_entries("CompA", 1, 200, 12, 60.5, 2.8, "5253B")
    fine["dive_score"] = 61.0
    (ann / "FineDiving_fine-grained_annotation.pkl").write_bytes(
        pickle.dumps({("CompA", 0): fine, ("CompA", 1): fine}))
    (ann / "test_split.pkl").write_bytes(pickle.dumps([("CompA", 1)]))
    with pytest.raises(ValueError, match=r"entry \('CompA', 1\) has dive_score=61\.0, "
                                         r"FineDiving_coarse_annotation\.pkl says 60\.5"):
        build(type="FineDivingDataset", data_root=str(tmp_path), split="test")


# -- JIGSAWS ------------------------------------------------------------------------------
def test_jigsaws_grs_users_and_user_disjoint_folds(jigsaws_root):
    everything = build(type="JIGSAWSDataset", data_root=str(jigsaws_root), split="all")
    perfs = {p["perf_id"]: p for p in everything.performances}
    b2 = perfs["Suturing_B002"]
    assert (b2["score"], b2["user"], b2["trial"], b2["skill_level"]) == (10.0, "B", 2, "I")
    assert sum(b2["grs_items"]) == 10 and b2["performer"] == "user B"
    assert everything.metainfo["score_range"] == (6.0, 30.0)
    tests = []
    for fold in range(4):
        test = build(type="JIGSAWSDataset", data_root=str(jigsaws_root), split="test", folds=4, fold=fold)
        train = build(type="JIGSAWSDataset", data_root=str(jigsaws_root), split="train", folds=4, fold=fold)
        test_users = {p["user"] for p in test.performances}
        assert test_users.isdisjoint({p["user"] for p in train.performances})
        assert len(test) + len(train) == len(TRIALS)
        tests.append(test_users)
    assert all(a.isdisjoint(b) for i, a in enumerate(tests) for b in tests[i + 1:])
    assert set().union(*tests) == set("BCDE")
    with pytest.raises(ValueError, match="needs folds=k with fold=i"):
        build(type="JIGSAWSDataset", data_root=str(jigsaws_root), split="test")


def test_jigsaws_released_folds_from_a_split_file(jigsaws_root, tmp_path):
    # MUSDL's splits.pkl layout: {task: [fold trial names]}; one user in two folds
    folds = [["Suturing_B001", "Suturing_C002"], ["Suturing_B002", "Suturing_D001"],
             ["Suturing_C001", "Suturing_E002"], ["Suturing_D002", "Suturing_E001"]]
    split_file = tmp_path / "splits.pkl"
    split_file.write_bytes(pickle.dumps({"Suturing": folds, "Knot_Tying": [[], []]}))
    args = dict(type="JIGSAWSDataset", data_root=str(jigsaws_root), split_file=str(split_file))
    test = build(split="test", fold=1, **args)
    train = build(split="train", fold=1, folds=4, **args)
    assert [p["perf_id"] for p in test.performances] == folds[1]
    assert sorted(p["perf_id"] for p in train.performances) == sorted(folds[0] + folds[2] + folds[3])
    with pytest.raises(ValueError, match="folds=2 but .*splits.pkl has 4 folds"):
        build(split="test", fold=1, folds=2, **args)
    with pytest.raises(ValueError, match=r"line 3: skill level 'X'"):
        bad = tmp_path / "bad" / "Suturing"
        bad.mkdir(parents=True)
        lines = (jigsaws_root / "Suturing" / "meta_file_Suturing.txt").read_text().splitlines()
        lines[2] = lines[2].replace("\tE\t", "\tX\t")
        (bad / "meta_file_Suturing.txt").write_text("\n".join(lines))
        build(type="JIGSAWSDataset", data_root=str(tmp_path / "bad"), split="all")


# -- ScoreMetrics -------------------------------------------------------------------------
def _pred(gt, pred, group):
    return {"gt_score": gt, "pred_score": pred, "group": group, "sample_id": f"{group}/0"}


def test_score_metrics_take_the_declared_range(jigsaws_root):
    gt = np.array([10.0, 14.0, 20.0, 25.0])
    pred = np.array([12.0, 13.0, 21.0, 22.0])
    metric = ScoreMetrics()
    metric.dataset_meta = build(type="JIGSAWSDataset", data_root=str(jigsaws_root)).metainfo
    metric.process({}, [_pred(g, p, str(i)) for i, (g, p) in enumerate(zip(gt, pred))])
    out = metric.evaluate(4)
    assert out["rl2"] == pytest.approx(100 * np.mean(((gt - pred) / (30 - 6)) ** 2))
    assert out["rl2_score_range"] == "dataset 6..30"
    explicit = ScoreMetrics(score_range=(0, 50))
    explicit.dataset_meta = metric.dataset_meta
    explicit.process({}, [_pred(g, p, str(i)) for i, (g, p) in enumerate(zip(gt, pred))])
    assert explicit.evaluate(4)["rl2"] == pytest.approx(100 * np.mean(((gt - pred) / 50) ** 2))
    bare = ScoreMetrics()
    bare.process({}, [_pred(g, p, str(i)) for i, (g, p) in enumerate(zip(gt, pred))])
    with pytest.warns(RuntimeWarning, match="evaluated set's own range 10..25"):
        out = bare.evaluate(4)
    assert out["rl2"] == pytest.approx(100 * np.mean(((gt - pred) / 15) ** 2))
    assert out["rl2_score_range"] == "evaluated set 10..25"


def test_aqa7_per_action_rho_and_fisher_z_average(aqa7_root):
    rng = np.random.default_rng(0)
    ranges = {"diving": (21.6, 102.6), "gym_vault": (12.3, 16.87)}
    samples, by_action = [], {}
    for action, (lo, hi) in ranges.items():
        gt = rng.uniform(lo, hi, 9)
        pred = gt + rng.normal(0, (hi - lo) / 4, 9)
        by_action[action] = (gt, pred)
        samples += [_pred(g, p, f"{action}/{i:03d}") for i, (g, p) in enumerate(zip(gt, pred))]
    metric = ScoreMetrics()
    metric.dataset_meta = build(type="AQA7Dataset", data_root=str(aqa7_root), split="test").metainfo
    metric.process({}, samples)
    out = metric.evaluate(len(samples))
    rhos = {a: stats.spearmanr(g, p)[0] for a, (g, p) in by_action.items()}
    z = [0.5 * math.log((1 + r) / (1 - r)) for r in rhos.values()]
    expected = (math.exp(2 * np.mean(z)) - 1) / (math.exp(2 * np.mean(z)) + 1)
    assert out["spearman_avg_fisher_z"] == pytest.approx(expected)
    assert out["spearman_avg_fisher_z"] != pytest.approx(np.mean(list(rhos.values())), abs=1e-9)
    for action, (gt, pred) in by_action.items():
        lo, hi = ranges[action]
        assert out[f"spearman_{action}"] == pytest.approx(rhos[action])
        assert out[f"rl2_{action}"] == pytest.approx(100 * np.mean(((gt - pred) / (hi - lo)) ** 2))
    assert out["rl2_score_range"] == "dataset per action"
    # MUSDL's spreadsheet: S 0.71, NP 0.69, KT 0.71 -> 0.70345520496988045
    assert fisher_z_mean([0.71, 0.69, 0.71]) == pytest.approx(0.70345520496988045)


# -- one short training run of each runnable config --------------------------------------
SHRINK = ["train_cfg.max_epochs=1", "model.video_backbone.widths=[4,8]",
          "model.video_backbone.feature_dim=16", "model.video_backbone.clip_len=4",
          "model.video_backbone.size=16", "model.head.hidden=8", "default_hooks.logger.interval=1"]
for loader in ("train_dataloader", "test_dataloader"):
    SHRINK += [f"{loader}.batch_size=2", f"{loader}.num_workers=0",
               f"{loader}.dataset.pipeline.1.size=[16,16]", f"{loader}.dataset.clip_sampler.num_clips=2",
               f"{loader}.dataset.clip_sampler.clip_len=4"]


def train(config: str, data_root: Path, work: Path, *extra: str) -> dict:
    assert main(["train", str(CONFIGS / config), "--data-root", str(data_root), "--work-dir",
                 str(work), *extra, "--cfg-options", *SHRINK]) == 0
    return json.loads((work / ("summary.json" if "--folds" in extra else "results.json")).read_text())


@pytest.mark.parametrize("config, root, range_note", [
    ("aqa7/c3d_1xb4-16x1x6-100e_aqa7-video-score.py", "aqa7_root", "dataset per action"),
    ("finediving/c3d_1xb4-16x1x6-100e_finediving-video-score.py", "finediving_root",
     "dataset 0..104.5"),
])
def test_runnable_config_trains_and_tests(config, root, range_note, request, tmp_path):
    results = train(config, request.getfixturevalue(root), tmp_path / "work")
    metrics = results["test_metrics"]
    assert metrics["rl2_score_range"] == range_note and math.isfinite(metrics["rl2"])
    if "aqa7" in config:
        assert {"spearman_diving", "spearman_gym_vault", "spearman_avg_fisher_z"} <= set(metrics)


def test_jigsaws_config_runs_user_disjoint_folds(jigsaws_root, tmp_path):
    summary = train("jigsaws/c3d_1xb4-16x1x10-100e_jigsaws-suturing-video-score.py", jigsaws_root,
                    tmp_path / "work", "--folds", "2")
    assert summary["folds"] == 2 and len(summary["metrics"]["rl2"]["values"]) == 2
    users = []
    for fold in range(2):
        predictions = load_pickle(tmp_path / "work" / f"fold{fold}" / "test_predictions.pkl")
        users.append({p["group"].split("_")[1][0] for p in predictions})
    assert users[0].isdisjoint(users[1]) and users[0] | users[1] == set("BCDE")
    run = json.loads((tmp_path / "work" / "fold0" / "results.json").read_text())
    assert run["test_metrics"]["rl2_score_range"] == "dataset 6..30"
