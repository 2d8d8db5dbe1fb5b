"""``pisa predict`` and :mod:`pisa.apis` on generated recordings: the level is the one
``pisa test`` scores, the timeline is consecutive segments, errors name the file."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from matplotlib import image as mpimg
from mmengine.dataset import default_collate

from media import frame_level, make_video, tone_audio
from pisa.apis import init_assessor
from pisa.cli import main
from pisa.engine.config_loader import load_config
from pisa.engine.validate import ConfigError
from pisa.evaluation.assessment import format_prediction
from pisa.evaluation.metrics.level_metrics import pool_by_group
from pisa.io.media import write_video
from pisa.io.safe_load import load_pickle
from pisa.registry import DATASETS, MODELS

REPO = Path(__file__).resolve().parents[1]
FPS = 25.0
CLIPS, CLIP_LEN = 2, 4  # one segment = 8 frames
CROP = (8, 4, 56, 44)
UNIFORM = "test_dataloader.dataset.clip_sampler.type=UniformSampler"
#: the frames of the 5 consecutive segments of the 44-frame recording
SEGMENTS = [(8 * i, 8 * i + 8) for i in range(5)]

# The unpadded last pool: the checks that the crop and the sampling scheme change the
# output were set on this random model, whose multimodal decision its audio nearly fixes.
CONFIG = """
model = dict(
    type='AQAModel',
    data_preprocessor=dict(type='AQADataPreprocessor'),
    video_backbone=dict(type='C3D', widths=(4, 8), feature_dim=16, clip_len={clip_len}, size=16,
                        last_pool_padding=(0, 0, 0)),
    audio_backbone=dict(type='AudioResNet18'),
    fusion=dict(type='ConcatFusion', detach=True),
    head=dict(type='LevelHead', hidden=8, num_classes=10),
    branches=('video', 'audio', 'multimodal'))
test_pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(16, 16)),
    dict(type='LoadAudio', sample_rate=16000),
    dict(type='MelSpectrogram', size=(32, 32), n_fft=512, hop_length=128, n_mels=32),
    dict(type='PackAQAInputs', modalities=('video', 'audio')),
]
test_dataloader = dict(
    batch_size=1, collate_fn=dict(type='default_collate'),
    dataset=dict(type='AQACSVDataset', ann_file='{ann}', split='test',
                 clip_sampler=dict(type='ContiguousSampler', num_clips={clips}, clip_len={clip_len}),
                 pipeline=test_pipeline))
"""


def banded_video(path: Path, frames: int) -> Path:
    """Frame ``i`` flat grey of :func:`media.frame_level`, with a white band left of
    ``CROP`` (so the crop changes what the model sees), and a 440 Hz audio track."""
    video = np.empty((frames, 48, 64, 3), dtype=np.uint8)
    for i in range(frames):
        video[i] = frame_level(i)
    video[:, :, : CROP[0]] = 255
    audio = tone_audio(int(round(frames / FPS * 16000)), 16000, 0)
    return write_video(path, video, FPS, audio=audio, sample_rate=16000)


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    video = banded_video(root / "recital.mp4", 44)
    short = make_video(root / "short.mp4", frames=6, size=(64, 48), fps=FPS, tone_at_frame=0)
    ann = root / "ann.csv"
    ann.write_text("id,split,video,target,crop_x1,crop_y1,crop_x2,crop_y2\n"
                   f"rec,test,recital.mp4,5,{CROP[0]},{CROP[1]},{CROP[2]},{CROP[3]}\n")
    config = root / "tiny_predict.py"
    config.write_text(CONFIG.format(clips=CLIPS, clip_len=CLIP_LEN, ann=ann))
    torch.manual_seed(0)
    model = MODELS.build(load_config(config).model).eval()
    ckpt = root / "tiny.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": model.state_dict()}, ckpt)
    return dict(root=root, video=video, short=short, config=config, ckpt=ckpt, model=model)


def dataset_outputs(model, config: Path, cfg_options=None) -> list:
    """``model.test_step`` on every sample of the config's own test dataset, one by one."""
    dataset = DATASETS.build(load_config(config, cfg_options).test_dataloader.dataset)
    with torch.no_grad():
        return [model.test_step(default_collate([dataset[i]]))[0] for i in range(len(dataset))]


def differ(a, b) -> bool:
    """Probabilities further apart than the agreement the tests ask for."""
    return not np.allclose(a, b, rtol=1e-4, atol=1e-6)


def test_contiguous_level_and_timeline_are_the_config_datasets_samples(recording):
    assessor = init_assessor(recording["config"], recording["ckpt"], batch_size=2)
    assert assessor.source == "test_dataloader"
    pred = assessor.assess(recording["video"], crop=CROP)
    # 44 frames / 8 per segment = 5 segments; the last 4 frames are left out
    assert len(pred.segments) == 5 and pred.num_frames == 44 and pred.frames_per_segment == 8
    assert [(s.start_frame, s.end_frame) for s in pred.segments] == SEGMENTS
    assert pred.segments[1].start_s == pytest.approx(8 / FPS)
    assert pred.segments[4].end_s == pytest.approx(40 / FPS)
    assert pred.num_samples == 5 and pred.sampler.startswith("ContiguousSampler(")
    assert pred.dataset == "AQACSVDataset from test_dataloader"
    # the annotation has the same crop: the same samples, sample by sample
    expected = dataset_outputs(recording["model"], recording["config"])
    assert len(expected) == 5
    for seg, out in zip(pred.segments, expected):
        np.testing.assert_allclose(seg.probs, out["probs"], rtol=1e-4, atol=1e-6)
        assert seg.level == out["pred_label"] + 1
        assert seg.regression == pytest.approx(out["pred_score"] + 1, abs=1e-4)
    pooled = np.mean([o["probs"] for o in expected], axis=0)
    np.testing.assert_allclose(pred.probs, pooled, rtol=1e-5, atol=1e-7)
    assert pred.level == int(np.argmax(pooled)) + 1
    assert sum(pred.probs) == pytest.approx(1.0, abs=1e-5)
    # the crop is honoured: without it the white band is in view
    uncropped = assessor.assess(recording["video"], timeline=False)
    assert uncropped.segments == [] and uncropped.num_samples == 5
    assert differ(uncropped.probs, pred.probs)
    text = format_prediction(pred)
    # the recording's confidence and one per segment
    assert text.count("confidence") == 6 and "pooled from 5 samples by ContiguousSampler" in text
    assert f"confidence {pred.confidence:.2f}" in text and "decision ArgmaxLevel()" in text


def test_cfg_options_give_a_uniform_level_and_still_a_contiguous_timeline(recording, capsys):
    rc = main(["predict", str(recording["config"]), str(recording["ckpt"]), str(recording["video"]),
               "--crop", ",".join(map(str, CROP)), "--json", "--cfg-options", UNIFORM])
    assert rc == 0
    captured = capsys.readouterr()
    (rec,) = json.loads(captured.out)["recordings"]
    assert rec["sampler"].startswith("UniformSampler(") and rec["num_samples"] == 5
    assert "10/10" in captured.err  # 5 level samples, then 5 segments: two passes
    model = recording["model"]
    uniform = dataset_outputs(model, recording["config"], dict([UNIFORM.split("=")]))
    np.testing.assert_allclose(rec["probs"], np.mean([o["probs"] for o in uniform], axis=0),
                               rtol=1e-5, atol=1e-7)
    contiguous = dataset_outputs(model, recording["config"])
    assert [(s["start_frame"], s["end_frame"]) for s in rec["segments"]] == SEGMENTS
    for seg, out in zip(rec["segments"], contiguous):
        np.testing.assert_allclose(seg["probs"], out["probs"], rtol=1e-4, atol=1e-6)
    # the two schemes see different frames: the level is not the timeline's mean
    assert differ(rec["probs"], np.mean([s["probs"] for s in rec["segments"]], axis=0))


def test_cli_text_output(recording, capsys):
    rc = main(["predict", str(recording["config"]), str(recording["ckpt"]), str(recording["video"]),
               "--no-progress"])
    assert rc == 0
    captured = capsys.readouterr()
    out = captured.out
    head = out.splitlines()[0]
    assert "level" in head and "5 segments" in head
    level = int(head.split("level ")[1].split(",")[0])
    assert 1 <= level <= 10
    probs_line = next(line for line in out.splitlines() if line.startswith("probabilities:"))
    probs = [float(item.split(":")[1]) for item in probs_line.split()[1:]]
    assert len(probs) == 10 and sum(probs) == pytest.approx(1.0, abs=5e-3)
    timeline = [line for line in out.splitlines() if line.startswith("  ") and "confidence" in line]
    assert len(timeline) == 5
    assert timeline[0].split()[0] == "00:00.00-00:00.32"
    assert "task/s" not in captured.err


def test_cli_json_is_only_json_and_files_are_written(recording, capsys, tmp_path):
    from mmengine.logging import MMLogger
    from mmengine.registry import DefaultScope

    out_dir = tmp_path / "out"
    # a logger on stdout and a foreign default scope: mmengine then logs a warning per
    # registry while the model is built
    logger = MMLogger.get_instance("predict-json-test", log_level="INFO")
    try:
        with DefaultScope.overwrite_default_scope("mmaction"):
            rc = main(["predict", str(recording["config"]), str(recording["ckpt"]),
                       str(recording["video"]), "--json", "--crop", ",".join(map(str, CROP)),
                       "--out", str(out_dir)])
    finally:
        for handler in list(logger.handlers):  # bound to this test's captured stdout
            logger.removeHandler(handler)
    assert rc == 0
    captured = capsys.readouterr()
    assert "Failed to search registry" in captured.err
    data = json.loads(captured.out)  # log lines and the progress bar go to stderr
    assert data["checkpoint"] == str(recording["ckpt"])
    (rec,) = data["recordings"]
    assert len(rec["segments"]) == 5 and rec["crop_box"] == list(map(float, CROP))
    assert sum(rec["probs"]) == pytest.approx(1.0, abs=1e-5)
    assert rec["level"] == int(np.argmax(rec["probs"])) + 1
    for seg in rec["segments"]:
        assert seg["confidence"] == pytest.approx(max(seg["probs"]))
    assert "5/5" in captured.err  # contiguous level samples are the segments: one pass
    png = out_dir / "recital_timeline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mpimg.imread(png).shape[:2] == (360, 1000)
    saved = json.loads((out_dir / "recital_prediction.json").read_text())
    assert saved["segments"] == rec["segments"] and saved["probs"] == rec["probs"]


def test_bad_inputs_give_one_line_errors(recording, capsys, tmp_path):
    base = ["predict", str(recording["config"]), str(recording["ckpt"])]
    assert main(base + [str(recording["short"]), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert str(recording["short"]) in err and "6 frames is shorter than one sample" in err
    assert main(base + [str(recording["video"]), "--crop", "1,2,3"]) == 2
    assert "--crop must be four numbers" in capsys.readouterr().err
    assert main(base + [str(recording["video"]), "--crop", "0,0,500,40", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "outside the 64x48 frame" in err and "recital.mp4" in err
    assert main(base + [str(tmp_path / "missing.mp4")]) == 2
    assert "recording not found" in capsys.readouterr().err
    assert main(base + [str(recording["video"]), "--cfg-options",
                        "test_dataloader.batch_size=0"]) == 2
    assert "test_dataloader.batch_size: must be a positive integer" in capsys.readouterr().err
    # weights of a different model, and none at all
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"video_backbone.fc.weight": torch.zeros(3, 3)}}, other)
    assert main(["predict", str(recording["config"]), str(other), str(recording["video"])]) == 2
    assert f"checkpoint {other} does not fit the config's model" in capsys.readouterr().err
    with pytest.raises(FileNotFoundError, match=f"checkpoint {tmp_path / 'none.pth'} not found"):
        init_assessor(recording["config"], tmp_path / "none.pth")


def test_the_dataset_comes_from_test_then_val_then_train(recording, tmp_path):
    text = recording["config"].read_text()
    only_train = tmp_path / "only_train.py"
    only_train.write_text(text.replace("test_dataloader = ", "train_dataloader = "))
    assessor = init_assessor(only_train, recording["ckpt"])
    assert assessor.source == "train_dataloader"
    no_data = tmp_path / "no_data.py"
    no_data.write_text(text.split("test_dataloader = ")[0])
    with pytest.raises(ConfigError, match="no test_dataloader / val_dataloader / train_dataloader"):
        init_assessor(no_data, recording["ckpt"])


# -- the level `pisa test` scores ---------------------------------------------------
TRAIN_CONFIG = """
_base_ = ['{repo}/configs/_base_/schedules/adam_1e-4_100e.py',
          '{repo}/configs/_base_/default_runtime.py']
data_root = '{{{{$PISA_DATA_ROOT:data/none}}}}'
model = dict(
    type='AQAModel', data_preprocessor=dict(type='AQADataPreprocessor'),
    video_backbone=dict(type='C3D', widths=(4, 8), feature_dim=16, clip_len=4, size=16),
    audio_backbone=None, fusion=None,
    head=dict(type='LevelHead', hidden=8, num_classes=10),
    branches=('video', ))
pipeline = [dict(type='DecodeFrames'), dict(type='CropResize', size=(16, 16)),
            dict(type='PackAQAInputs', modalities=('video', ))]
dataset = dict(type='AQACSVDataset', data_root=data_root, ann_file='ann.csv',
               clip_sampler=dict(type='UniformSampler', num_clips=2, clip_len=4),
               modalities=('video', ), pipeline=pipeline)
loader = dict(batch_size=2, num_workers=0, collate_fn=dict(type='default_collate'))
train_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=True),
                        dataset=dict(dataset, split='train'))
val_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                      dataset=dict(dataset, split='val', test_mode=True))
test_dataloader = dict(loader, sampler=dict(type='DefaultSampler', shuffle=False),
                       dataset=dict(dataset, split='test', test_mode=True))
val_evaluator = dict(type='LevelMetrics', num_classes=10)
test_evaluator = [dict(type='LevelMetrics', num_classes=10),
                  dict(type='DumpResults', out_file_path='{dump}')]
optim_wrapper = dict(optimizer=dict(lr=1e-3))
train_cfg = dict(max_epochs=1)
default_hooks = dict(logger=dict(interval=1))
"""
TEST_CROP = (4, 2, 60, 46)
#: id, split, frames, level
PERFORMANCES = [("a", "train", 40, 2), ("b", "train", 48, 5), ("c", "train", 56, 8),
                ("v", "val", 40, 5), ("t1", "test", 60, 3), ("t2", "test", 52, 7)]


def test_predict_gives_the_level_pisa_test_scores_for_a_uniform_sampled_model(tmp_path, capsys):
    data = tmp_path / "data"
    rows = ["id,split,video,target,crop_x1,crop_y1,crop_x2,crop_y2"]
    for pid, split, frames, level in PERFORMANCES:
        make_video(data / f"{pid}.mp4", frames=frames, size=(64, 48), fps=FPS, audio=False)
        rows.append(f"{pid},{split},{pid}.mp4,{level}," + ",".join(map(str, TEST_CROP)))
    (data / "ann.csv").write_text("\n".join(rows) + "\n")
    dump = tmp_path / "test_predictions.pkl"
    config = tmp_path / "tiny_unidist.py"
    config.write_text(TRAIN_CONFIG.format(repo=REPO, dump=dump))

    assert main(["train", str(config), "--data-root", str(data),
                 "--work-dir", str(tmp_path / "train")]) == 0
    checkpoint = json.loads((tmp_path / "train" / "results.json").read_text())["checkpoint"]
    dump.unlink()  # the training run's own test pass wrote it: keep only `pisa test`'s
    assert main(["test", str(config), checkpoint, "--data-root", str(data),
                 "--work-dir", str(tmp_path / "test")]) == 0
    samples = load_pickle(dump)
    assert len(samples) == 60 // 8 + 52 // 8
    # the performance-level prediction of `pisa test` (LevelMetrics' performance_accuracy)
    names, pooled, _ = pool_by_group([s["group"] for s in samples],
                                     np.array([s["probs"] for s in samples]),
                                     [s["gt_label"] for s in samples])
    capsys.readouterr()

    videos = [str(data / f"{name}.mp4") for name in names]
    assert main(["predict", str(config), checkpoint, *videos, "--data-root", str(data), "--json",
                 "--crop", ",".join(map(str, TEST_CROP)), "--no-progress"]) == 0
    recordings = json.loads(capsys.readouterr().out)["recordings"]
    assert [r["media"] for r in recordings] == videos
    for name, probs, rec in zip(names, pooled, recordings):
        counted = sum(s["group"] == name for s in samples)
        assert rec["num_samples"] == counted and rec["sampler"].startswith("UniformSampler(")
        assert rec["level"] == int(np.argmax(probs)) + 1, name
        np.testing.assert_allclose(rec["probs"], probs, atol=1e-5)
    # the contiguous timeline sees other frames, so its mean is not what `pisa test` pools
    timeline_means = [np.mean([s["probs"] for s in r["segments"]], axis=0) for r in recordings]
    assert any(differ(m, p) for m, p in zip(timeline_means, pooled))
