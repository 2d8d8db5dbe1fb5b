"""The generic CSV / JSON-lines adapter and the MTL-AQA adapter on generated datasets."""
from __future__ import annotations

import json
import pickle
from pathlib import Path

import pytest

from media import frame_index_of, make_video  # noqa: E402

from pisa.registry import DATASETS  # noqa: E402

PIPE = [dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
        dict(type="LoadAudio", sample_rate=16000), dict(type="MelSpectrogram", size=(24, 24)),
        dict(type="PackAQAInputs")]
VIDEO_ONLY = [dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
              dict(type="PackAQAInputs", modalities=("video",))]


@pytest.fixture(scope="module")
def csv_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("aqa_csv")
    make_video(root / "videos" / "a.mp4", frames=40, tone_at_frame=0)
    make_video(root / "videos" / "b.mp4", frames=30, tone_at_frame=0)
    (root / "ann.csv").write_text(
        "id,split,video,audio,target,frame_start,frame_end,crop_x1,crop_y1,crop_x2,crop_y2,group\n"
        "a,train,videos/a.mp4,,7,4,36,8,8,40,40,pianist_1\n"
        "b,train,videos/b.mp4,,3,,,,,,,\n"
        "c,test,videos/b.mp4,,10,,,,,,,\n"
    )
    return root


def test_csv_level_task(csv_root):
    ds = DATASETS.build(dict(type="AQACSVDataset", ann_file=str(csv_root / "ann.csv"), split="train",
                             clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=4),
                             pipeline=PIPE))
    # a: frames 4..35 (32) -> 4 samples; b: whole video (30) -> 3 samples
    assert len(ds) == 7
    first = ds[0]
    assert first["inputs"]["video"].shape == (2, 3, 4, 16, 16)
    assert first["inputs"]["audio"].shape == (2, 1, 24, 24)
    assert first["data_samples"] == {"label": 6, "score": 6.0, "sample_id": "a/0", "group": "pianist_1"}
    video = first["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1)
    assert [frame_index_of(f) for f in video[1]] == [8, 9, 10, 11]  # frame_start 4 + clip 1
    last = ds[6]
    assert last["data_samples"]["group"] == "b" and last["data_samples"]["label"] == 2
    assert [frame_index_of(f) for f in last["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1)[0]] == [16, 17, 18, 19]


def test_jsonl_score_task(csv_root):
    lines = [{"id": "x", "split": "val", "video": "videos/a.mp4", "target": 71.25},
             {"id": "y", "split": "val", "video": "videos/b.mp4", "target": 40.5, "frame_end": 24}]
    (csv_root / "ann.jsonl").write_text("\n".join(json.dumps(line) for line in lines) + "\n")
    ds = DATASETS.build(dict(type="AQACSVDataset", ann_file=str(csv_root / "ann.jsonl"), split="val",
                             task="score", clip_sampler=dict(type="CenterClipSampler", num_clips=2, clip_len=4),
                             pipeline=VIDEO_ONLY, modalities=("video",)))
    assert len(ds) == 2
    x, y = ds[0], ds[1]
    assert x["data_samples"] == {"label": -1, "score": 71.25, "sample_id": "x/0", "group": "x"}
    assert y["data_samples"]["score"] == 40.5 and "audio" not in y["inputs"]
    # centre clips of 2 segments of 24 frames: starts 4 and 16
    starts = [frame_index_of(c[:, 0].numpy().transpose(1, 2, 0)) for c in y["inputs"]["video"]]
    assert starts == [4, 16]


@pytest.fixture(scope="module")
def mtl_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mtl")
    make_video(root / "01.mp4", frames=50, audio=False)
    make_video(root / "03.mp4", frames=30, audio=False)
    annotations = {
        (1, 1): {"start_frame": 2, "end_frame": 21, "final_score": 45.0, "difficulty": 2.0},
        (1, 2): {"start_frame": 25, "end_frame": 49, "final_score": 80.5, "difficulty": 3.2},
        (3, 7): {"start_frame": 0, "end_frame": 29, "final_score": 60.0, "difficulty": 3.0},
    }
    for name, obj in (("final_annotations_dict.pkl", annotations),
                      ("train_split_0.pkl", [(1, 1), (3, 7)]), ("test_split_0.pkl", [(1, 2)])):
        with open(root / name, "wb") as f:
            pickle.dump(obj, f)
    return root


def test_mtl_aqa_score_dives(mtl_root):
    test = DATASETS.build(dict(type="MTLAQADataset", data_root=str(mtl_root), split="test",
                               clip_sampler=dict(type="CenterClipSampler", num_clips=1, clip_len=5),
                               pipeline=VIDEO_ONLY))
    assert len(test) == 1
    item = test[0]
    assert item["data_samples"] == {"label": -1, "score": 80.5, "sample_id": "01_2/0", "group": "01_2"}
    # dive frames 25..49 (25 frames, end inclusive): the centre 5-frame clip starts at 25 + 10
    frames = item["inputs"]["video"][0].numpy().transpose(1, 2, 3, 0)
    assert [frame_index_of(f) for f in frames] == [35, 36, 37, 38, 39]
    train = DATASETS.build(dict(type="MTLAQADataset", data_root=str(mtl_root), split="train",
                                clip_sampler=dict(type="RandomClipSampler", num_clips=2, clip_len=4),
                                pipeline=VIDEO_ONLY))
    assert [train.get_data_info(i)["sample_id"] for i in range(len(train))] == ["01_1/0", "03_7/0"]
    seen = set()
    for _ in range(8):  # drawn anew on each read, always inside the dive (frames 2..21)
        frames = train[0]["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1).reshape(-1, 16, 16, 3)
        idx = [frame_index_of(f) for f in frames]
        assert min(idx) >= 2 and max(idx) <= 21
        seen.add(tuple(idx))
    assert len(seen) > 1


def test_a_relative_ann_file_is_under_data_root(csv_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)  # not the annotation's folder
    ds = DATASETS.build(dict(type="AQACSVDataset", ann_file="ann.csv", data_root=str(csv_root),
                             split="train", clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=4),
                             pipeline=PIPE))
    assert ds.ann_file == str(csv_root / "ann.csv") and len(ds) == 7
    with pytest.raises(FileNotFoundError, match=r"elsewhere[/\\]ann\.csv: annotation file not found"):
        DATASETS.build(dict(type="AQACSVDataset", ann_file="ann.csv", data_root=str(tmp_path / "elsewhere"),
                            pipeline=PIPE))
