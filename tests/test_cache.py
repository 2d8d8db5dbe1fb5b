"""The prepared cache: `pisa prepare` decodes once; reading from the cache runs no decoder
and gives exactly the uncached samples; changes invalidate; interrupted writes leave no
entry."""
from __future__ import annotations

import csv
import os
from pathlib import Path

import numpy as np
import pytest

from pisa.cli import main
from pisa.data.core import cache as cache_lib
from pisa.io.media import video as video_lib
from pisa.io.media import write_video
from pisa.registry import DATASETS

from media import refuse_decoders

FPS, SR = 25.0, 16000
COLUMNS = ["id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
           "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video", "youtube", "song"]

CONFIG = """
pipeline = [
    dict(type='DecodeFrames'),
    dict(type='CropResize', size=(20, 28)),
    dict(type='LoadAudio', sample_rate={sr}),
    dict(type='MelSpectrogram', size=(32, 32)),
    dict(type='PackAQAInputs'),
]
common = dict(type='PISADataset', data_root='not/here', table='{table}', pipeline=pipeline,
              clip_sampler=dict(type='UniformSampler', num_clips=3, clip_len=4), cache_dir='{cache}')
train_dataloader = dict(batch_size=2, dataset=dict(common, split='train'))
test_dataloader = dict(batch_size=2, dataset=dict(common, split='test'))
"""


def noisy_video(n: int, seed: int) -> np.ndarray:
    # texture, so that crop and resize errors would show in the comparison
    return np.random.default_rng(seed).integers(0, 256, size=(n, 48, 64, 3), dtype=np.uint8)


def noise_track(n_frames: int, seed: int) -> np.ndarray:
    return (np.random.default_rng(seed).standard_normal(int(n_frames / FPS * SR)) * 0.2).astype(np.float32)


@pytest.fixture()
def dataset_dir(tmp_path) -> Path:
    media = tmp_path / "media"
    write_video(media / "1.mp4", noisy_video(70, 1), FPS, audio=noise_track(70, 1), sample_rate=SR)
    write_video(media / "2.mp4", noisy_video(40, 2), FPS, audio=noise_track(40, 2), sample_rate=SR)
    with open(tmp_path / "table.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerow([1, "train", FPS, 5.0, 66.0, 3, 3, 10, 6, 50, 40, 1, "", ""])
        writer.writerow([2, "test", FPS, 0.0, 40.0, 8, 8, 0, 0, 64, 48, 2, "", ""])
    (tmp_path / "cfg.py").write_text(CONFIG.format(sr=SR, table=tmp_path / "table.csv",
                                                   cache=tmp_path / "cache"))
    return tmp_path


def dataset(root: Path, split: str, cache: bool):
    from mmengine.config import Config

    cfg = Config.fromfile(str(root / "cfg.py"))
    ds_cfg = dict(cfg[f"{split}_dataloader"]["dataset"], data_root=str(root / "media"))
    if not cache:
        ds_cfg["cache_dir"] = None
    # strict: these tests check what `pisa prepare` wrote (filling is tested on its own)
    return DATASETS.build(dict(ds_cfg, fill_cache=False))


def test_prepare_then_read_without_any_decoder(dataset_dir, monkeypatch):
    assert main(["prepare", str(dataset_dir / "cfg.py"), "--data-root", str(dataset_dir / "media")]) == 0
    entries = sorted(p for p in (dataset_dir / "cache").iterdir())
    assert len(entries) == 2 and not any(p.name.startswith(".") for p in entries)
    frames = np.load(entries[0] / "frames.npy", mmap_mode="r")
    assert frames.dtype == np.uint8 and frames.shape[1:] == (20, 28, 3)
    assert {len(np.load(p / "frames.npy", mmap_mode="r")) for p in entries} == {61, 40}

    uncached = {}
    for split in ("train", "test"):
        ds = dataset(dataset_dir, split, cache=False)
        uncached[split] = [ds[i] for i in range(len(ds))]
    assert [len(v) for v in uncached.values()] == [5, 3]  # 61 // 12, 40 // 12

    refuse_decoders(monkeypatch, "a decoder was called while reading the prepared cache")
    for split, expected in uncached.items():
        ds = dataset(dataset_dir, split, cache=True)
        assert len(ds) == len(expected)
        for i, want in enumerate(expected):
            got = ds[i]
            assert got["data_samples"] == want["data_samples"]
            assert bool((got["inputs"]["video"] == want["inputs"]["video"]).all()), (split, i)
            np.testing.assert_array_equal(got["inputs"]["audio"].numpy(), want["inputs"]["audio"].numpy())


def test_a_changed_source_or_setting_is_not_read_from_the_cache(dataset_dir):
    assert main(["prepare", str(dataset_dir / "cfg.py"), "--data-root", str(dataset_dir / "media")]) == 0
    dataset(dataset_dir, "test", cache=True)  # prepared: fine
    # a different frame size is a different entry
    from mmengine.config import Config

    cfg = Config.fromfile(str(dataset_dir / "cfg.py"))
    ds_cfg = dict(cfg.test_dataloader.dataset, data_root=str(dataset_dir / "media"))
    ds_cfg["pipeline"] = [dict(t, size=(16, 16)) if t["type"] == "CropResize" else t for t in ds_cfg["pipeline"]]
    with pytest.raises(FileNotFoundError, match="no prepared cache entry.*pisa prepare"):
        DATASETS.build(dict(ds_cfg, fill_cache=False))
    # a rewritten source (new size and mtime) too
    video = dataset_dir / "media" / "2.mp4"
    write_video(video, noisy_video(41, 5), FPS, audio=noise_track(41, 5), sample_rate=SR)
    os.utime(video, ns=(1, 1))
    with pytest.raises(FileNotFoundError, match="performance 2 .*no prepared cache entry"):
        dataset(dataset_dir, "test", cache=True)
    assert main(["prepare", str(dataset_dir / "cfg.py"), "--data-root", str(dataset_dir / "media")]) == 0
    assert len(dataset(dataset_dir, "test", cache=True)) == 3


def test_an_interrupted_prepare_leaves_no_entry(dataset_dir, monkeypatch):
    ds = dataset(dataset_dir, "train", cache=False)
    size, sample_rate = ds.cache_settings()
    real = video_lib.crop_resize_frame
    calls = []

    def fail_in_second_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 20:  # a frame of the second chunk of 16
            raise KeyboardInterrupt
        return real(*args, **kwargs)

    monkeypatch.setattr(video_lib, "crop_resize_frame", fail_in_second_chunk)
    cache = dataset_dir / "partial"
    with pytest.raises(KeyboardInterrupt):
        cache_lib.prepare_entry(ds.performances[0], cache, size, sample_rate, chunk=16)
    assert list(cache.iterdir()) == []  # no half-written entry, not even a temporary one
    monkeypatch.setattr(video_lib, "crop_resize_frame", real)
    entry = cache_lib.prepare_entry(ds.performances[0], cache, size, sample_rate, chunk=16)
    assert entry.is_dir() and [p.name for p in cache.iterdir()] == [entry.name]
    meta = cache_lib.read_meta(entry)
    assert meta["num_frames"] == 61 and meta["fps"] == FPS


def test_prepare_reports_a_config_without_cache_dir(tmp_path, capsys):
    cfg = tmp_path / "c.py"
    cfg.write_text("train_dataloader = dict(dataset=dict(type='PISADataset', cache_dir=None))\n")
    assert main(["prepare", str(cfg)]) == 2
    assert "no cache_dir; pass --cache-dir" in capsys.readouterr().err


def test_frames_layout_cache_equals_decoding(tmp_path, monkeypatch):
    import cv2

    from pisa.io.media import write_wav

    frames = noisy_video(30, 7)
    folder = tmp_path / "frames" / "4"
    folder.mkdir(parents=True)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), frame)
    write_wav(tmp_path / "audio" / "4.wav", noise_track(30, 7), SR)
    with open(tmp_path / "table.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerow([4, "train", FPS, 10.0, 40.0, 1, 1, 0, 0, 9, 9, 1, "", ""])
    cfg = dict(type="PISADataset", layout="frames", data_root=str(tmp_path), table=str(tmp_path / "table.csv"),
               clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=5),
               pipeline=[dict(type="DecodeFrames"), dict(type="CropResize", size=(12, 20)),
                         dict(type="LoadAudio", sample_rate=SR), dict(type="MelSpectrogram", size=(16, 16)),
                         dict(type="PackAQAInputs")])
    plain = DATASETS.build(cfg)
    expected = [plain[i] for i in range(len(plain))]
    assert len(expected) == 3
    cache_lib.write_cache(plain, tmp_path / "cache")
    monkeypatch.setattr(cv2, "imread", lambda *a, **k: (_ for _ in ()).throw(AssertionError("decoded")))
    cached = DATASETS.build(dict(cfg, cache_dir=str(tmp_path / "cache")))
    for i, want in enumerate(expected):
        got = cached[i]
        assert bool((got["inputs"]["video"] == want["inputs"]["video"]).all())
        np.testing.assert_array_equal(got["inputs"]["audio"].numpy(), want["inputs"]["audio"].numpy())


def test_prepare_takes_cfg_options_like_every_command(dataset_dir, capsys):
    # the same --cfg-options as train/test: here the train dataset's cache goes elsewhere
    elsewhere = dataset_dir / "elsewhere"
    assert main(["prepare", str(dataset_dir / "cfg.py"), "--data-root", str(dataset_dir / "media"),
                 "--cfg-options", f"train_dataloader.dataset.cache_dir={elsewhere}"]) == 0
    assert len(list(elsewhere.iterdir())) == 1 and len(list((dataset_dir / "cache").iterdir())) == 1
    assert main(["prepare", str(dataset_dir / "cfg.py"), "--cfg-options", "train_dataloader=3"]) == 2
    assert "train_dataloader" in capsys.readouterr().err


def test_resize_then_centre_crop_is_cached_as_it_is_decoded(dataset_dir):
    # CropResize(resize=...) (the released loader's resize + centre crop) reaches the cache
    # through the same read_frames call and its own entry key
    options = ["--cfg-options", "train_dataloader.dataset.pipeline.1.resize=[30,40]",
               "test_dataloader.dataset.pipeline.1.resize=[30,40]"]
    assert main(["prepare", str(dataset_dir / "cfg.py"), "--data-root", str(dataset_dir / "media"),
                 *options]) == 0
    from pisa.engine.config_loader import load_config

    cfg = load_config(dataset_dir / "cfg.py", {"train_dataloader.dataset.pipeline.1.resize": [30, 40]},
                      str(dataset_dir / "media"))
    cached = DATASETS.build(dict(cfg.train_dataloader.dataset))
    plain = DATASETS.build(dict(cfg.train_dataloader.dataset, cache_dir=None))
    assert cached[0]["inputs"]["video"].shape == plain[0]["inputs"]["video"].shape
    np.testing.assert_array_equal(cached[0]["inputs"]["video"], plain[0]["inputs"]["video"])
    # and it is not the plain resize
    without = dataset(dataset_dir, "train", cache=False)
    assert not np.array_equal(without[0]["inputs"]["video"], plain[0]["inputs"]["video"])
