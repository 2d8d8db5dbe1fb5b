"""Every adapter reads the prepared cache the same way: after `pisa prepare` (write_cache)
a training epoch reads only the cache, and without it the first epoch fills the cache
and the next reads only the cache, with the same samples as decoding."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest

from media import make_video, refuse_decoders
from pisa.data.core.cache import entry_lock, write_cache
from pisa.registry import DATASETS

PIPELINE = [dict(type="DecodeFrames"), dict(type="CropResize", size=(12, 16)),
            dict(type="LoadAudio", sample_rate=16000), dict(type="MelSpectrogram", size=(16, 16)),
            dict(type="PackAQAInputs")]
VIDEO_PIPELINE = [dict(type="DecodeFrames"), dict(type="CropResize", size=(12, 16)),
                  dict(type="PackAQAInputs", modalities=("video",))]
SAMPLER = dict(type="UniformSampler", num_clips=2, clip_len=4)


def _csv(root: Path) -> dict:
    make_video(root / "a.mp4", frames=40, tone_at_frame=0)
    make_video(root / "b.mp4", frames=32, tone_at_frame=0)
    (root / "ann.csv").write_text("id,split,video,target,crop_x1,crop_y1,crop_x2,crop_y2\n"
                                  "a,train,a.mp4,3,8,4,56,44\nb,train,b.mp4,5,,,,\n")
    return dict(type="AQACSVDataset", ann_file=str(root / "ann.csv"), split="train")


def _pisa(root: Path) -> dict:
    make_video(root / "1.mp4", frames=44, fps=25.0, tone_at_frame=0)
    make_video(root / "2.mp4", frames=36, fps=25.0, tone_at_frame=0)
    (root / "table.csv").write_text(
        "id,split,fps,frame_start,frame_end,player_level,song_level,crop_x1,crop_y1,crop_x2,"
        "crop_y2,source_video,youtube,song\n"
        "1,train,25.0,2,42,4,4,0,0,64,48,1,,\n2,train,25.0,0,36,7,7,8,8,40,40,2,,\n")
    return dict(type="PISADataset", data_root=str(root), table=str(root / "table.csv"),
                layout="video", split="train")


def _mtl(root: Path) -> dict:
    make_video(root / "01.mp4", frames=48, tone_at_frame=0)
    annotations = {(1, 1): dict(start_frame=2, end_frame=25, final_score=71.5, difficulty=2.0),
                   (1, 2): dict(start_frame=20, end_frame=45, final_score=40.0, difficulty=3.0)}
    (root / "final_annotations_dict.pkl").write_bytes(pickle.dumps(annotations))
    (root / "train_split_0.pkl").write_bytes(pickle.dumps([(1, 1), (1, 2)]))
    (root / "test_split_0.pkl").write_bytes(pickle.dumps([]))
    return dict(type="MTLAQADataset", data_root=str(root), split="train")


def _ucf101(root: Path) -> dict:
    from media import make_ucf101_tree

    make_ucf101_tree(root, groups=2, frames=24)
    # UCF101 is video only (many of its videos have no audio track)
    return dict(type="UCF101Dataset", data_root=str(root), split=1, subset="train",
                pipeline=VIDEO_PIPELINE)


#: adapters with audio or crops worth a layout of their own; every other registered
#: media-reading adapter (a plugin's included) runs on the data its ``example`` writes
LAYOUTS = {"AQACSVDataset": _csv, "PISADataset": _pisa, "MTLAQADataset": _mtl,
           "UCF101Dataset": _ucf101}


def _media_adapters() -> list:
    """Every registered adapter that reads media (the feature datasets read none)."""
    from pisa.data.core.base_dataset import AQABaseDataset
    from pisa.data.wrappers.feature_datasets import ClipFeatureDataset
    from pisa.plugin_loader import registrations

    return sorted(r.name for r in registrations("dataset") if isinstance(r.obj, type)
                  and issubclass(r.obj, AQABaseDataset) and not issubclass(r.obj, ClipFeatureDataset))


def _layout(name: str, root: Path) -> dict:
    if name in LAYOUTS:
        return LAYOUTS[name](root)
    from pisa.registry import component_example

    example = component_example("dataset", DATASETS.get(name))
    args = {k: v for k, v in example["args"].items() if k not in ("pipeline", "clip_sampler")}
    return dict(args, type=name, pipeline=VIDEO_PIPELINE, **example["make_data"](str(root / "data")))


ADAPTERS = _media_adapters()


def test_the_cache_tests_cover_the_media_adapters():
    assert set(LAYOUTS) <= set(ADAPTERS)
    assert {"AQA7Dataset", "FineDivingDataset", "JIGSAWSDataset"} <= set(ADAPTERS)


def _build(cfg: dict, **kw):
    return DATASETS.build(dict(dict(pipeline=PIPELINE, clip_sampler=SAMPLER), **cfg, **kw))


def _samples(ds):
    return [ds[i] for i in range(len(ds))]


def _same(a, b) -> None:
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert x["data_samples"] == y["data_samples"]
        assert x["inputs"].keys() == y["inputs"].keys()
        for key in x["inputs"]:
            np.testing.assert_array_equal(x["inputs"][key].numpy(), y["inputs"][key].numpy())


@pytest.fixture
def no_decoder(monkeypatch):
    """After this, any decoder raises: what is read comes from the cache."""
    return lambda: refuse_decoders(monkeypatch, "a decoder was called while reading the cache")


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_prepare_then_an_epoch_reads_only_the_cache(adapter, tmp_path, no_decoder):
    cfg = _layout(adapter, tmp_path)
    decoded = _samples(_build(cfg))
    assert len(write_cache(_build(cfg, check_media=False), tmp_path / "cache")) >= 1
    no_decoder()
    cached = _build(cfg, cache_dir=str(tmp_path / "cache"), fill_cache=False)
    _same(_samples(cached), decoded)


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_without_prepare_the_first_epoch_fills_the_cache(adapter, tmp_path, no_decoder):
    cfg = _layout(adapter, tmp_path)
    decoded = _samples(_build(cfg))
    cache = tmp_path / "cache"
    first = _build(cfg, cache_dir=str(cache))
    assert not cache.exists() or not any(cache.iterdir())  # nothing written at build time
    _same(_samples(first), decoded)
    entries = [p for p in cache.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(entries) == len(first.performances) and not list(cache.glob("*.lock"))
    no_decoder()
    second = _build(cfg, cache_dir=str(cache))
    _same(_samples(second), decoded)


def test_one_process_holds_an_entry_lock(tmp_path):
    entry = tmp_path / "abc"
    with entry_lock(entry) as mine:
        assert mine
        with entry_lock(entry) as other:
            assert not other
    with entry_lock(entry) as again:
        assert again
    assert not (tmp_path / "abc.lock").exists()
