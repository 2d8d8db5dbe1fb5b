"""The PISA adapter: the released annotations rebuilt from the table, splits, and samples
decoded through both media layouts (crop, flip, audio alignment)."""
from __future__ import annotations

import csv
from pathlib import Path

import cv2
import numpy as np
import pytest

from pisa.io.media import write_video, write_wav
from pisa.io.safe_load import load_pickle
from pisa.data.adapters.pisa_dataset import (assign_splits, read_performance_table, write_released_annotations)
from pisa.registry import DATASETS

TABLE_COLUMNS = ["id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
                 "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video", "youtube", "song"]
W, H, FPS, SR = 64, 48, 25.0, 16000
BOX = (16, 8, 48, 40)  # x1, y1, x2, y2: left half red, right half blue inside


def coded_frames(n: int) -> np.ndarray:
    """Grey frames with the crop box painted red | blue; the green channel inside the box
    numbers the frame (``20 + 8 * (i % 25)``)."""
    frames = np.full((n, H, W, 3), 128, dtype=np.uint8)
    x1, y1, x2, y2 = BOX
    mid = (x1 + x2) // 2
    for i in range(n):
        g = 20 + 8 * (i % 25)
        frames[i, y1:y2, x1:mid] = (230, g, 0)
        frames[i, y1:y2, mid:x2] = (0, g, 230)
    return frames


def frame_number(img: np.ndarray) -> int:
    """Frame number (mod 25) read back from a cropped frame's green channel."""
    return int(round((float(np.median(img[..., 1])) - 20) / 8)) % 25


def tone_track(n_frames: int, tone_frame: int) -> np.ndarray:
    n = int(n_frames / FPS * SR)
    out = np.zeros(n, dtype=np.float32)
    start = int(tone_frame / FPS * SR)
    t = np.arange(n - start) / SR
    out[start:] = 0.5 * np.sin(2 * np.pi * 440 * t)
    return out


def write_table(path: Path, rows) -> Path:
    with open(path, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(TABLE_COLUMNS)
        for row in rows:
            writer.writerow(row)
    return path


def pipeline(flip: float = 0.0, size=(24, 24), audio=True):
    steps = [dict(type="DecodeFrames"), dict(type="CropResize", size=size),
             dict(type="RandomFlip", prob=flip)]
    if audio:
        steps += [dict(type="LoadAudio", sample_rate=SR), dict(type="MelSpectrogram", size=(32, 32))]
    return steps + [dict(type="PackAQAInputs", modalities=("video", "audio") if audio else ("video",))]


@pytest.fixture(scope="module")
def video_root(tmp_path_factory) -> Path:
    """Two performances in video layout: id 1 (train, source frames 3..83) and id 2 (test)."""
    root = tmp_path_factory.mktemp("pisa_video")
    write_video(root / "1.mp4", coded_frames(90), FPS, audio=tone_track(90, 43), sample_rate=SR)
    write_video(root / "2.mp4", coded_frames(40), FPS, audio=tone_track(40, 5), sample_rate=SR)
    write_table(root / "table.csv", [
        [1, "train", FPS, 2.6, 83.4, 4, 6, *BOX, 1, "", "a"],
        [2, "test", FPS, 0.0, 40.0, 7, 2, *BOX, 2, "", "b"],
    ])
    return root


def build(root: Path, **kw):
    cfg = dict(type="PISADataset", data_root=str(root), table=str(root / "table.csv"),
               clip_sampler=dict(type="UniformSampler", num_clips=4, clip_len=5), pipeline=pipeline())
    cfg.update(kw)
    return DATASETS.build(cfg)


# -- the released annotations ------------------------------------------------------------
def test_released_annotations_rebuilt_from_the_table(released_pisa_dir, tmp_path):
    table = read_performance_table()  # the shipped copy of performances.csv
    written = write_released_annotations(table, tmp_path)
    assert sorted(p.name for p in written) == sorted(p.name for p in released_pisa_dir.glob("annotations_*.pkl"))
    counts = {}
    for path in written:
        ours, theirs = load_pickle(path), load_pickle(released_pisa_dir / path.name)
        assert sorted(ours) == sorted(theirs), path.name  # same keys (file order is not a fact)
        for key, value in theirs.items():
            mine = ours[key]
            np.testing.assert_array_equal(mine["frames"], value["frames"], err_msg=f"{path.name} {key}")
            assert mine["frames"].dtype == np.int64
            assert mine["framerate"] == pytest.approx(value["framerate"])
            assert (mine["player_level"], mine["song_level"]) == (value["player_level"], value["song_level"])
        counts[path.name] = len(theirs)
    assert counts["annotations_unidist_train.pkl"] == 516
    assert counts["annotations_consecutive_test.pkl"] == 476


def test_released_files_give_the_same_samples_as_the_sampler(released_pisa_dir, tmp_path):
    # no media here: only the sample lists are compared, so the media check is off
    common = dict(type="PISADataset", data_root=str(tmp_path), split="test", scheme="consecutive",
                  check_media=False, pipeline=[], modalities=("video",))
    from_files = DATASETS.build(dict(common, ann_dir=str(released_pisa_dir)))
    derived = DATASETS.build(common)
    assert len(from_files) == len(derived) == 476
    for i in (0, 100, 475):
        a, b = from_files.get_data_info(i), derived.get_data_info(i)
        assert a["sample_id"] == b["sample_id"]
        np.testing.assert_array_equal(a["frame_inds"], b["frame_inds"])
        assert a["label"] == b["label"] and a["frame_offset"] == b["frame_offset"]


def test_splits_released_and_performer_disjoint():
    table = read_performance_table()
    released = assign_splits(table)
    assert sum(s == "test" for s in released.values()) == 24
    disjoint = assign_splits(table, split_mode="performer_disjoint", seed=1)
    by_split = {}
    for row in table:
        by_split.setdefault(disjoint[row["id"]], set()).add(row["source_video"])
    assert set(by_split) == {"train", "test"}
    assert not (by_split["train"] & by_split["test"])
    # the released split shares source videos between train and test; this one must not
    shared = {r["source_video"] for r in table if released[r["id"]] == "test"} & \
             {r["source_video"] for r in table if released[r["id"]] == "train"}
    assert shared == {2, 18, 22, 27, 28}


def test_the_released_val_carve_keeps_every_level_trained():
    # the old carve (5 performances, seed 0, by performance, unstratified) took 58 of the
    # 89 training samples of level 8; the stratified carve by source video takes at most
    # one level-8 performer
    from pisa.data.core.splits import carve_validation

    table = read_performance_table()
    perfs = [dict(perf_id=str(r["id"]), label=r["player_level"] - 1,
                  performer=f"source video {r['source_video']}",
                  num_frames=int(round(r["frame_end"])) - int(round(r["frame_start"])))
             for r in table if r["split"] == "train"]
    for p in perfs:
        p["samples"] = p["num_frames"] // 160
    train, val = carve_validation(perfs, 5, seed=0)
    assert 1 <= len(val) <= 5 and len(train) + len(val) == 37
    assert not ({p["performer"] for p in train} & {p["performer"] for p in val})
    for level in {p["label"] for p in perfs}:
        kept = sum(p["samples"] for p in train if p["label"] == level)
        total = sum(p["samples"] for p in perfs if p["label"] == level)
        assert kept > 0 and (total == 0 or kept / total >= 0.5), (level + 1, kept, total)


def test_val_split_is_carved_from_train(video_root):
    write_table(video_root / "table3.csv", [
        [1, "train", FPS, 2.6, 83.4, 4, 6, *BOX, 1, "", ""],
        [3, "train", FPS, 0.0, 40.0, 5, 6, *BOX, 3, "", ""],
        [2, "test", FPS, 0.0, 40.0, 7, 2, *BOX, 2, "", ""],
    ])
    kw = dict(table=str(video_root / "table3.csv"), val_performances=1, split_seed=0, check_media=False)
    train, val = build(video_root, split="train", **kw), build(video_root, split="val", **kw)
    train_groups = {train.get_data_info(i)["group"] for i in range(len(train))}
    val_groups = {val.get_data_info(i)["group"] for i in range(len(val))}
    assert len(val_groups) == 1 and not (train_groups & val_groups)
    assert train_groups | val_groups == {"1", "3"}


# -- decoding through the layouts --------------------------------------------------------
def test_video_layout_trims_crops_and_labels(video_root):
    ds = build(video_root, label="song")
    # 81 frames (round(83.4) - round(2.6)) // 20 = 4 samples
    assert len(ds) == 4
    item = ds[1]
    video = item["inputs"]["video"]
    assert video.shape == (4, 3, 5, 24, 24) and video.dtype.is_floating_point is False
    assert item["inputs"]["audio"].shape == (4, 1, 32, 32)
    assert item["data_samples"] == {"label": 5, "score": 5.0, "sample_id": "1/1", "group": "1"}
    info = ds.get_data_info(1)
    imgs = video.numpy().transpose(0, 2, 3, 4, 1)  # (K, T, H, W, 3)
    for k in range(4):
        for t in range(5):
            expected = (3 + int(info["frame_inds"][k, t])) % 25  # frame_start rounds to 3
            assert frame_number(imgs[k, t]) == expected
    # only the box: red left, blue right, no grey border
    left, right = imgs[:, :, 4:20, 2:10].astype(int), imgs[:, :, 4:20, 14:22].astype(int)
    assert left[..., 0].min() > 180 and left[..., 2].max() < 60
    assert right[..., 2].min() > 180 and right[..., 0].max() < 60


def test_flip_flips_every_frame_of_a_sample(video_root):
    plain = build(video_root, pipeline=pipeline(flip=0.0))[0]["inputs"]["video"].numpy()
    flipped = build(video_root, pipeline=pipeline(flip=1.0))[0]["inputs"]["video"].numpy()
    np.testing.assert_array_equal(flipped, plain[..., ::-1])
    assert not np.array_equal(flipped, plain)
    # red is now on the right in every frame
    assert flipped[:, 0, :, :, 18:22].min() > 180 and flipped[:, 2, :, :, 18:22].max() < 60


def test_audio_windows_line_up_with_the_clips(video_root):
    ds = build(video_root, clip_sampler=dict(type="ContiguousSampler", num_clips=4, clip_len=5))
    # sample 1 covers trimmed frames 20..39 = source 23..42; sample 2 source 43..62:
    # the tone starts at source frame 43, so sample 1 is silent and sample 2 is not
    quiet, loud = ds[1]["inputs"]["audio"], ds[2]["inputs"]["audio"]
    assert float(quiet.abs().max()) == 0.0
    assert float(loud.std(dim=(1, 2, 3)).min()) > 1.0  # every clip of sample 2 hears it
    # uniform: sample 0's clips start at trimmed frames 0, 20, 40, 60 (source 3, 23, 43,
    # 63), so its first two clips are silent and its last two are not
    mixed = build(video_root)[0]["inputs"]["audio"]
    per_clip = mixed.abs().amax(dim=(1, 2, 3))
    assert per_clip[:2].tolist() == [0.0, 0.0] and bool((mixed[2:].std(dim=(1, 2, 3)) > 1.0).all())


def test_frames_layout_reads_folders_and_wav(tmp_path):
    frames = coded_frames(45)
    x1, y1, x2, y2 = BOX
    folder = tmp_path / "frames" / "5"
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):  # the authors' download is already cropped
        cv2.imwrite(str(folder / f"{i:05d}.jpg"), cv2.cvtColor(frame[y1:y2, x1:x2], cv2.COLOR_RGB2BGR))
    write_wav(tmp_path / "audio" / "5.wav", tone_track(45, 20), SR)
    write_table(tmp_path / "table.csv", [[5, "test", FPS, 100.2, 145.0, 2, 3, 0, 0, 10, 10, 9, "", ""]])
    ds = build(tmp_path, layout="frames", split="test",
               clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=5))
    assert len(ds) == 4  # 45 frames // 10
    item = ds[3]
    video = item["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1)
    assert video.shape == (2, 5, 24, 24, 3)
    # frame folder indices are the trimmed performance's: no offset
    assert [frame_number(f) for f in video[0]] == [(30 + t) % 25 for t in range(5)]
    assert [frame_number(f) for f in video[1]] == [(35 + t) % 25 for t in range(5)]
    # already cropped: the whole image is the box (red left, blue right)
    assert video[..., 2:10, 0].min() > 180 and video[..., 14:22, 2].min() > 180
    # audio: sample 0 (frames 0..9) is before the tone at frame 20, sample 3 after
    assert float(ds[0]["inputs"]["audio"].abs().max()) == 0.0
    assert float(item["inputs"]["audio"].std()) > 1.0
    assert item["data_samples"]["label"] == 1
