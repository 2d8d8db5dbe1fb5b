"""The baselines beside the deep model: on recordings whose level is encoded in the click
rate of the audio and the speed of a moving square, the classical features beat the
majority level; the features agree with librosa/numpy computed directly; the majority
baseline's probabilities are the training frequencies; score datasets take the Ridge
path; bad records name their file; and the comparison table has the right shape."""
from __future__ import annotations

import math
from collections import Counter
from pathlib import Path
from typing import Dict, List

import numpy as np
import pytest
from media import decode_every_frame, make_video, moving_square_clip

from pisa.evaluation.baselines.classical import ClassicalFeatureBaseline
from pisa.evaluation.baselines.classical_features import AUDIO_FEATURES, MOTION_FEATURES
from pisa.evaluation.baselines.comparison import evaluate_baselines, format_comparison_table
from pisa.evaluation.baselines.majority import MajorityBaseline
from pisa.io.media import write_video, write_wav
from pisa.registry import BASELINES

SR = 16000
FPS = 16.0
FRAMES = 32  # 2 s
#: per level: clicks per second and pixels per frame of the square
CLICK_RATES = (2.0, 4.0, 8.0)
SPEEDS = (1, 2, 4)
TRAIN_PER_LEVEL = (5, 4, 3)  # level 0 is the majority
TEST_PER_LEVEL = 3


def click_track(seconds: float, rate: float, seed: int) -> np.ndarray:
    """A faint noise floor with short decaying noise bursts about ``rate`` times a second
    (intervals jittered by +-10 %)."""
    rng = np.random.default_rng(seed)
    y = rng.normal(0.0, 0.003, int(seconds * SR)).astype(np.float32)
    burst = (rng.normal(0.0, 0.6, 160) * np.exp(-np.arange(160) / 30.0)).astype(np.float32)
    t = rng.uniform(0.0, 0.1)
    while t < seconds - 0.02:
        i = int(t * SR)
        y[i:i + burst.size] += burst
        t += rng.uniform(0.9, 1.1) / rate
    return y


def record(path: Path, label: int, **extra) -> Dict:
    """A performance record as the datasets keep them (``.performances``)."""
    base = dict(perf_id=path.stem, video_path=str(path), frame_dir=None, audio_path=None,
                frame_offset=0, num_frames=None, fps=None, crop_box=None, label=label,
                score=float(label), group=path.stem, ann_source=f"test row {path.stem}")
    base.update(extra)
    return base


@pytest.fixture(scope="module")
def level_set(tmp_path_factory):
    """mp4s with their own audio track: the level sets the click rate and the square's
    speed. Returns ``(train records, test records)``."""
    root = tmp_path_factory.mktemp("levels")
    train, test = [], []
    for level in range(3):
        for k in range(TRAIN_PER_LEVEL[level] + TEST_PER_LEVEL):
            seed = 100 * level + k
            clip = moving_square_clip(FRAMES, (32, 32), (SPEEDS[level], 0), (220, 220, 220), seed=seed)
            path = write_video(root / f"l{level}_{k}.mp4", clip, FPS,
                               audio=click_track(FRAMES / FPS, CLICK_RATES[level], seed), sample_rate=SR)
            (train if k < TRAIN_PER_LEVEL[level] else test).append(record(path, level))
    return train, test


@pytest.fixture(scope="module")
def level_results(level_set):
    """evaluate_baselines on the level set: the majority and the classical features
    (audio only, video only), LevelMetrics with 5 levels (two never seen)."""
    train, test = level_set
    classical = dict(type="ClassicalFeatureBaseline", sample_rate=SR, video_frames=FRAMES)
    cfgs = [dict(type="MajorityBaseline"),
            dict(classical, name="audio", video=False),
            dict(classical, name="video", audio=False)]
    metrics = [dict(type="LevelMetrics"), dict(type="DumpResults", out_file_path="unused.pkl")]
    return evaluate_baselines(cfgs, train, test, metrics, num_classes=5)


def test_classical_features_beat_the_majority_on_held_out_recordings(level_results):
    majority = level_results["MajorityBaseline"]
    # the test set is balanced over 3 levels and the majority is always level 0
    assert majority["accuracy"] == pytest.approx(1 / 3)
    for name in ("audio", "video"):
        assert level_results[name]["accuracy"] >= majority["accuracy"] + 0.4, (name, level_results[name])
        assert level_results[name]["mae"] < majority["mae"]


def test_evaluate_baselines_returns_level_metrics_for_each_baseline(level_results):
    assert list(level_results) == ["MajorityBaseline", "audio", "video"]
    for metrics in level_results.values():
        assert {"accuracy", "mae", "within1", "performance_accuracy", "balanced_accuracy"} <= set(metrics)
        assert np.asarray(metrics["confusion_matrix"]).shape == (5, 5)
        assert np.asarray(metrics["confusion_matrix"]).sum() == 3 * TEST_PER_LEVEL


def test_majority_prediction_and_probs_are_the_training_frequencies():
    labels = [3, 0, 3, 2, 3, 2, 0, 3, 5]
    train = [dict(perf_id=f"p{i}", label=y, score=float(y), group=f"p{i}") for i, y in enumerate(labels)]
    test = [dict(perf_id="t0", label=1, score=1.0, group="t0"), dict(perf_id="t1", label=4, score=4.0)]
    baseline = BASELINES.build(dict(type="MajorityBaseline", num_classes=7)).fit(train)
    counts = Counter(labels)
    expected = [counts.get(level, 0) / len(labels) for level in range(7)]
    out = baseline.predict(test)
    assert [o["sample_id"] for o in out] == ["t0", "t1"] and out[1]["group"] == "t1"
    for o, r in zip(out, test):
        assert o["pred_label"] == counts.most_common(1)[0][0] == 3
        assert o["probs"] == pytest.approx(expected) and len(o["probs"]) == 7
        assert o["pred_score"] == pytest.approx(sum(labels) / len(labels))
        assert (o["gt_label"], o["gt_score"]) == (r["label"], r["score"])
    # the default number of levels: the highest training label + 1
    assert len(MajorityBaseline().fit(train).predict(test)[0]["probs"]) == 6

    scores = [dict(perf_id=f"s{i}", label=-1, score=s) for i, s in enumerate([7.5, 9.0, 3.0])]
    (pred,) = MajorityBaseline().fit(scores).predict(scores[:1])
    assert (pred["pred_label"], pred["probs"]) == (-1, [])
    assert pred["pred_score"] == pytest.approx(19.5 / 3)


def test_features_match_librosa_and_numpy_computed_directly(tmp_path):
    import cv2
    import librosa
    import soundfile

    wav = write_wav(tmp_path / "clicks.wav", click_track(3.0, 5.0, seed=7), SR)
    clip = moving_square_clip(48, (64, 48), (3, 1), (30, 200, 90), seed=3)
    video = write_video(tmp_path / "square.mp4", clip, FPS)
    offset, frames, box, seconds = 8, 32, (8, 4, 56, 44), 1.5
    rec = record(video, 0, audio_path=str(wav), frame_offset=offset, num_frames=frames, fps=FPS,
                 crop_box=box)
    baseline = ClassicalFeatureBaseline(seconds=seconds, video_frames=12, video_size=(24, 20),
                                        sample_rate=SR)
    feats = dict(zip(baseline.feature_names, baseline.features(rec)))
    assert list(feats) == list(AUDIO_FEATURES) + list(MOTION_FEATURES)

    # audio: the 1.5 s from frame 8 (0.5 s), with librosa's defaults
    y, rate = soundfile.read(str(wav), dtype="float32")
    y = y[int(offset / FPS * rate):][:int(seconds * rate)]
    onsets = librosa.onset.onset_detect(y=y, sr=rate, units="time")
    assert len(onsets) >= 4  # a 5 Hz click track over 1.5 s
    assert feats["onset_rate"] == pytest.approx(len(onsets) / seconds)
    centroid = librosa.feature.spectral_centroid(y=y, sr=rate)
    assert feats["centroid_mean"] == pytest.approx(float(centroid.mean()), rel=1e-4)

    # video: 12 frames spread over frames 8..39, cropped, resized, grey, |consecutive diff|
    picks = offset + np.round(np.linspace(0, frames - 1, 12)).astype(int)
    rgb = decode_every_frame(video)[picks][:, box[1]:box[3], box[0]:box[2]]
    small = np.stack([cv2.resize(f, (20, 24), interpolation=cv2.INTER_LINEAR) for f in rgb])
    grey = small.astype(np.float64) @ np.array([0.299, 0.587, 0.114])
    motion = np.abs(np.diff(grey, axis=0)).mean() / 255.0
    assert motion > 0.01  # the square moves
    assert feats["motion_mean"] == pytest.approx(motion, abs=2e-3)


def test_both_modalities_same_seed_same_predictions_unseen_levels_zero(level_set):
    train, test = level_set
    runs = []
    for _ in range(2):
        baseline = ClassicalFeatureBaseline(sample_rate=SR, seed=0, num_classes=5, video_frames=16)
        runs.append(baseline.fit(train).predict(test))
    assert runs[0] == runs[1]
    accuracy = np.mean([o["pred_label"] == r["label"] for o, r in zip(runs[0], test)])
    assert accuracy >= 1 / 3 + 0.4  # the majority's accuracy on the balanced test set is 1/3
    for out, rec in zip(runs[0], test):
        assert len(out["probs"]) == 5 and sum(out["probs"]) == pytest.approx(1.0)
        assert out["probs"][3:] == [0.0, 0.0]  # levels 3 and 4 never trained
        assert out["pred_label"] == int(np.argmax(out["probs"]))
        assert (out["sample_id"], out["group"], out["gt_label"]) == (rec["perf_id"], rec["group"], rec["label"])


def test_score_dataset_takes_the_ridge_path(tmp_path):
    from sklearn.linear_model import Ridge

    rng = np.random.default_rng(0)
    rates = rng.uniform(1.5, 9.0, size=14)
    recs = []
    for i, rate in enumerate(rates):
        wav = write_wav(tmp_path / f"s{i}.wav", click_track(2.0, float(rate), seed=i), SR)
        recs.append(dict(perf_id=f"s{i}", video_path=None, audio_path=str(wav), label=-1,
                         score=float(rate), group=f"s{i}"))
    train, test = recs[:9], recs[9:]
    baseline = ClassicalFeatureBaseline(video=False, sample_rate=SR).fit(train)
    assert isinstance(baseline.pipeline[-1], Ridge)
    out = baseline.predict(test)
    assert all(o["pred_label"] == -1 and o["probs"] == [] and math.isfinite(o["pred_score"]) for o in out)
    result = evaluate_baselines([dict(type="ClassicalFeatureBaseline", video=False, sample_rate=SR)],
                                train, test, dict(type="ScoreMetrics", score_range=(1.0, 10.0)))
    # the same fit through the helper: its Spearman is the one of the predictions above
    from scipy import stats

    rho = stats.spearmanr([r["score"] for r in test], [o["pred_score"] for o in out]).statistic
    assert result["ClassicalFeatureBaseline"]["spearman"] == pytest.approx(rho)
    assert rho > 0.8
    with pytest.raises(ValueError, match="model='logistic' needs levels"):
        ClassicalFeatureBaseline(video=False, model="logistic").fit(train)

    # model='ridge' on levels (the rate's bucket): the rounded score is the level
    for r in recs:
        r["label"] = int(r["score"] > 4.0) + int(r["score"] > 6.5)
        r["score"] = float(r["label"])
    ridge = ClassicalFeatureBaseline(video=False, model="ridge", sample_rate=SR, num_classes=4)
    for o in ridge.fit(train).predict(test):
        assert o["pred_label"] == min(3, max(0, round(o["pred_score"])))
        assert o["probs"] == [float(k == o["pred_label"]) for k in range(4)]


def test_bad_records_name_their_file(tmp_path):
    missing = tmp_path / "gone.mp4"
    with pytest.raises(FileNotFoundError, match="gone.mp4"):
        ClassicalFeatureBaseline().fit([record(missing, 0), record(missing, 1)])
    silent_video = make_video(tmp_path / "no_track.mp4", frames=20, size=(32, 32), audio=False)
    recs = [record(silent_video, 0), record(silent_video, 1, perf_id="other", frame_offset=2)]
    with pytest.raises(ValueError, match=r"no_track\.mp4.*has no audio track"):
        ClassicalFeatureBaseline(sample_rate=SR).fit(recs)
    # told to skip: the audio features are imputed, the video ones still count
    baseline = ClassicalFeatureBaseline(sample_rate=SR, missing_modality="skip").fit(recs)
    feats = baseline.features(recs[0])
    assert np.isnan(feats[:len(AUDIO_FEATURES)]).all() and np.isfinite(feats[len(AUDIO_FEATURES):]).all()
    assert len(baseline.predict(recs)) == 2
    with pytest.raises(FileNotFoundError, match="gone.wav"):
        ClassicalFeatureBaseline(video=False).fit([record(silent_video, 0, audio_path=str(tmp_path / "gone.wav"))])


def test_comparison_table_rows_and_columns(level_results):
    model = {"accuracy": 0.875, "model_only": 0.5, "mae": 0.25, "confusion_matrix": [[1, 0], [0, 1]],
             "within1": 1.0}
    baselines = {name: level_results[name] for name in ("MajorityBaseline", "video")}
    table = format_comparison_table(model, baselines)
    rows: List[List[str]] = [[c.strip() for c in line.strip("|").split("|")]
                             for line in table.strip().splitlines()]
    assert rows[0] == ["metric", "model", "MajorityBaseline", "video"]
    body = rows[2:]
    # the model's scalar metrics every baseline has, in the model's order
    assert [r[0] for r in body] == ["accuracy", "mae", "within1"]
    acc = body[0]
    assert float(acc[1]) == 0.875
    assert float(acc[2]) == pytest.approx(level_results["MajorityBaseline"]["accuracy"], abs=5e-5)
    assert float(acc[3]) == pytest.approx(level_results["video"]["accuracy"], abs=5e-5)
    chosen = format_comparison_table(model, baselines, keys=["model_only"]).strip().splitlines()
    assert [c.strip() for c in chosen[-1].strip("|").split("|")] == ["model_only", "0.5000", "n/a", "n/a"]


def test_baselines_run_on_a_real_datasets_performances(tmp_path):
    """The records a dataset keeps (PISADataset over a rendered synthetic root: offsets,
    crop boxes, fps from the annotation) go straight in; probs have the dataset's C."""
    from engine_helpers import TINY_CONFIG, render_tiny_dataset

    from pisa.engine.config_loader import load_config
    from pisa.registry import DATASETS

    cfg = load_config(TINY_CONFIG, data_root=str(render_tiny_dataset(tmp_path / "synth")))
    with pytest.warns(UserWarning):  # the tiny split leaves a level out of training
        train = DATASETS.build(cfg.train_dataloader.dataset)
    test = DATASETS.build(cfg.test_dataloader.dataset)
    assert any(p["frame_offset"] > 0 and p["crop_box"] is not None for p in test.performances)
    classes = test.metainfo["num_classes"]
    baseline = ClassicalFeatureBaseline(sample_rate=16000, num_classes=classes).fit(train.performances)
    out = baseline.predict(test.performances)
    assert [o["sample_id"] for o in out] == [p["perf_id"] for p in test.performances]
    assert all(len(o["probs"]) == classes for o in out)
    result = evaluate_baselines([dict(type="MajorityBaseline")], train.performances,
                                test.performances, cfg.test_evaluator, num_classes=classes)
    assert "accuracy" in result["MajorityBaseline"]
