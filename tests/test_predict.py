"""``pisa predict`` on generated recordings with a tiny trained-weights checkpoint."""
from __future__ import annotations

import json
import numpy as np
import pytest
import torch
from matplotlib import image as mpimg

from media import make_video
from pisa.cli import main
from pisa.evaluation.predict import RecordingPredictor, format_prediction
from pisa.registry import DATASETS, MODELS

FPS = 25.0
CLIPS, CLIP_LEN = 2, 4  # one segment = 8 frames
CROP = (8, 4, 56, 44)

CONFIG = """
model = dict(
    type='AQAModel',
    data_preprocessor=dict(type='AQADataPreprocessor'),
    video_backbone=dict(type='C3D', widths=(4, 8), feature_dim=16, clip_len={clip_len}, size=16),
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
    batch_size=1,
    dataset=dict(type='AQACSVDataset', ann_file='{ann}', split='test',
                 sampler=dict(type='ContiguousSampler', num_clips={clips}, clip_len={clip_len}),
                 pipeline=test_pipeline))
"""


@pytest.fixture(scope="module")
def recording(tmp_path_factory):
    root = tmp_path_factory.mktemp("predict")
    video = make_video(root / "recital.mp4", frames=44, size=(64, 48), fps=FPS, tone_at_frame=0)
    short = make_video(root / "short.mp4", frames=6, size=(64, 48), fps=FPS, tone_at_frame=0)
    ann = root / "ann.csv"
    ann.write_text("id,split,video,target,crop_x1,crop_y1,crop_x2,crop_y2\n"
                   f"rec,test,recital.mp4,5,{CROP[0]},{CROP[1]},{CROP[2]},{CROP[3]}\n")
    config = root / "tiny_predict.py"
    config.write_text(CONFIG.format(clips=CLIPS, clip_len=CLIP_LEN, ann=ann))
    torch.manual_seed(0)
    from mmengine.config import Config

    model = MODELS.build(Config.fromfile(str(config)).model)
    ckpt = root / "tiny.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": model.state_dict()}, ckpt)
    return dict(root=root, video=video, short=short, config=config, ckpt=ckpt, model=model)


def test_segments_match_the_dataset_pipeline_and_model(recording):
    predictor = RecordingPredictor(recording["config"], recording["ckpt"], batch_size=2)
    pred = predictor.predict(recording["video"], crop=CROP, progress=False)
    # 44 frames / 8 per segment = 5 segments; the last 4 frames are left out
    assert len(pred.segments) == 5 and pred.num_frames == 44
    assert [(s.start_frame, s.end_frame) for s in pred.segments] == [(8 * i, 8 * i + 8) for i in range(5)]
    assert pred.segments[1].start_s == pytest.approx(8 / FPS)
    # the same samples through the config's own dataset and the model, sample by sample
    from mmengine.config import Config

    dataset = DATASETS.build(Config.fromfile(str(recording["config"])).test_dataloader.dataset)
    assert len(dataset) == 5
    model = recording["model"].eval()
    from mmengine.dataset import default_collate

    for seg, i in zip(pred.segments, range(len(dataset))):
        expected = model.test_step(default_collate([dataset[i]]))[0]
        np.testing.assert_allclose(seg.probs, expected["probs"], rtol=1e-4, atol=1e-6)
        assert seg.level == expected["pred_label"] + 1
        assert seg.regression == pytest.approx(expected["pred_score"] + 1, abs=1e-4)
    pooled = np.mean([s.probs for s in pred.segments], axis=0)
    np.testing.assert_allclose(pred.probs, pooled, rtol=1e-6)
    assert pred.level == int(np.argmax(pooled)) + 1
    assert sum(pred.probs) == pytest.approx(1.0, abs=1e-5)


def test_cli_text_output(recording, capsys):
    rc = main(["predict", str(recording["config"]), str(recording["ckpt"]), str(recording["video"]), "--no-progress"])
    assert rc == 0
    out = capsys.readouterr().out
    head = out.splitlines()[0]
    assert "level" in head and "5 segments" in head
    level = int(head.split("level ")[1].split(" ")[0])
    assert 1 <= level <= 10
    probs_line = next(line for line in out.splitlines() if line.startswith("probabilities:"))
    probs = [float(item.split(":")[1]) for item in probs_line.split()[1:]]
    assert len(probs) == 10 and sum(probs) == pytest.approx(1.0, abs=5e-3)
    timeline = [line for line in out.splitlines() if line.startswith("  ") and "confidence" in line]
    assert len(timeline) == 5
    assert timeline[0].split()[0] == "00:00.00-00:00.32"


def test_cli_json_output_and_files(recording, capsys, tmp_path):
    out_dir = tmp_path / "out"
    rc = main(["predict", str(recording["config"]), str(recording["ckpt"]), str(recording["video"]),
               "--json", "--crop", ",".join(map(str, CROP)), "--out", str(out_dir)])
    assert rc == 0
    captured = capsys.readouterr()
    data = json.loads(captured.out)  # the progress bar goes to stderr
    (rec,) = data["recordings"]
    assert len(rec["segments"]) == 5
    assert sum(rec["probs"]) == pytest.approx(1.0, abs=1e-5)
    assert rec["level"] == int(np.argmax(rec["probs"])) + 1
    for seg in rec["segments"]:
        assert seg["confidence"] == pytest.approx(max(seg["probs"]))
    assert "5/5" in captured.err
    png = out_dir / "recital_timeline.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert mpimg.imread(png).shape[:2] == (360, 1000)
    saved = json.loads((out_dir / "recital_prediction.json").read_text())
    assert saved["segments"] == rec["segments"]


def test_format_prediction_lists_every_segment(recording):
    pred = RecordingPredictor(recording["config"], recording["ckpt"]).predict(recording["video"], progress=False)
    text = format_prediction(pred)
    assert text.count("confidence") == len(pred.segments) == 5


def test_bad_inputs_give_one_line_errors(recording, capsys, tmp_path):
    base = ["predict", str(recording["config"]), str(recording["ckpt"])]
    assert main(base + [str(recording["short"]), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "short.mp4: 6 frames" in err and "fewer than one segment" in err
    assert main(base + [str(recording["video"]), "--crop", "1,2,3"]) == 2
    assert "--crop must be four numbers" in capsys.readouterr().err
    assert main(base + [str(recording["video"]), "--crop", "0,0,500,40", "--no-progress"]) == 2
    assert "outside the 64x48 frame" in capsys.readouterr().err
    assert main(base + [str(tmp_path / "missing.mp4")]) == 2
    assert "recording not found" in capsys.readouterr().err
    # weights of a different model
    other = tmp_path / "other.pth"
    torch.save({"state_dict": {"video_backbone.fc.weight": torch.zeros(3, 3)}}, other)
    assert main(["predict", str(recording["config"]), str(other), str(recording["video"])]) == 2
    assert f"checkpoint {other} does not fit the config's model" in capsys.readouterr().err


def test_segment_settings_from_config_or_dataset_default():
    from mmengine.config import Config

    from pisa.evaluation.predict import segment_settings

    loader = lambda ds: Config(dict(test_dataloader=dict(dataset=ds)))  # noqa: E731
    assert segment_settings(loader(dict(type="AQACSVDataset", sampler=dict(
        type="UniformSampler", num_clips=3, clip_len=5)))) == (3, 5)
    # no sampler named: the adapter's default (PISA: 10 clips x 16 frames)
    assert segment_settings(loader(dict(type="PISADataset"))) == (10, 16)
    with pytest.raises(KeyError, match="test_dataloader / val_dataloader / train_dataloader"):
        segment_settings(Config(dict(model=dict())))
