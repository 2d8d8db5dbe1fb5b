"""The validation carve every adapter shares, the frame-rate check, and the prepared
cache of a dataset whose annotation names no frame rate."""
from __future__ import annotations

import warnings
from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from media import make_video
from pisa.cli import main
from pisa.data.core.splits import SplitWarning, carve_validation, level_counts, strata
from pisa.registry import DATASETS


def _perfs(levels, performers, frames=None):
    return [dict(perf_id=f"p{i}", label=level, score=float(level), performer=f"g{g}",
                 num_frames=None if frames is None else frames[i])
            for i, (level, g) in enumerate(zip(levels, performers))]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 4), st.integers(0, 9), st.integers(10, 500)),
                min_size=4, max_size=40),
       st.integers(0, 3), st.sampled_from([1, 2, 0.2, 0.3]))
def test_the_carve_keeps_performers_whole_and_every_level_trained(rows, seed, amount):
    levels, groups, frames = zip(*rows)
    perfs = _perfs(levels, groups, frames)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", SplitWarning)
            train, val = carve_validation(perfs, amount, seed)
    except (ValueError, SplitWarning) as err:  # too few performers for any carve
        assert "leaves no train" in str(err) or "regardless" in str(err)
        return
    assert sorted(p["perf_id"] for p in train + val) == sorted(p["perf_id"] for p in perfs)
    assert not ({p["performer"] for p in train} & {p["performer"] for p in val})
    want = amount if isinstance(amount, int) else max(1, round(amount * len(perfs)))
    # whole performers: the last one taken may carry the carve past `want`
    assert 1 <= len(val) < want + max(Counter(groups).values())
    for level in set(levels):
        total = sum(p["num_frames"] for p in perfs if p["label"] == level)
        kept = sum(p["num_frames"] for p in train if p["label"] == level)
        assert kept > 0 and kept >= total / 2
    assert carve_validation(perfs, amount, seed) == (train, val)  # seeded


def test_the_carve_takes_a_share_of_each_level_not_one_level():
    # 10 performers of level 0, 10 of level 1: a carve of 4 takes two of each
    perfs = _perfs([0] * 10 + [1] * 10, range(20))
    for seed in range(5):
        _, val = carve_validation(perfs, 4, seed)
        assert Counter(p["label"] for p in val) == {0: 2, 1: 2}


def test_score_datasets_are_stratified_by_score_bins():
    perfs = [dict(perf_id=str(i), label=-1, score=float(i)) for i in range(50)]
    bins = strata(perfs)
    assert sorted(Counter(bins).values()) == [10] * 5
    _, val = carve_validation(perfs, 10, seed=0)
    assert sorted(Counter(bins[int(p["perf_id"])] for p in val).values()) == [2] * 5
    assert level_counts([{"label": -1}, {"label": 3}, {"label": 3}]) == {"4": 2, "score": 1}


def test_a_carve_without_a_safe_performer_warns_and_still_carves_one():
    perfs = _perfs([0, 1, 2], [0, 1, 2])
    with pytest.warns(SplitWarning, match="missing from training"):
        train, val = carve_validation(perfs, 1, seed=0)
    assert len(val) == 1 and len(train) == 2


def test_a_carve_that_cannot_leave_both_sides_is_refused():
    with pytest.raises(ValueError, match="leaves no train"):
        carve_validation(_perfs([0, 1], [0, 1]), 2)
    with pytest.raises(ValueError, match="val_performances must be"):
        carve_validation(_perfs([0, 1, 1], [0, 1, 2]), -1)


@pytest.fixture(scope="module")
def csv_root(tmp_path_factory):
    """Train and test rows only: 6 train performances of 3 pianists, 2 test."""
    root = tmp_path_factory.mktemp("csv")
    rows = ["id,split,video,target,performer"]
    for i in range(8):
        make_video(root / f"v{i}.mp4", frames=24, size=(32, 24), fps=25.0)
        split = "train" if i < 6 else "test"
        rows.append(f"v{i},{split},v{i}.mp4,{1 + i % 2},pianist{i // 2}")
    (root / "ann.csv").write_text("\n".join(rows) + "\n")
    return root


def _csv(root, **kw):
    pipeline = [dict(type="DecodeFrames"), dict(type="CropResize", size=(8, 8)),
                dict(type="PackAQAInputs", modalities=("video",))]
    cfg = dict(type="AQACSVDataset", ann_file=str(root / "ann.csv"), modalities=("video",),
               clip_sampler=dict(type="UniformSampler", num_clips=2, clip_len=4), pipeline=pipeline)
    return DATASETS.build(dict(cfg, **kw))


def test_a_csv_with_only_train_and_test_rows_gets_a_validation_split(csv_root):
    train = _csv(csv_root, split="train", val_performances=1, split_seed=2)
    val = _csv(csv_root, split="val", val_performances=1, split_seed=2)
    groups = lambda ds: {p["performer"] for p in ds.performances}  # noqa: E731
    assert len(groups(val)) == 1 and not (groups(train) & groups(val))
    assert len(train.performances) + len(val.performances) == 6
    assert sum(val.level_counts().values()) == len(val)
    # without a carve, split='val' reads the file's own (here: absent) val rows
    with pytest.raises(ValueError, match="no samples"):
        _csv(csv_root, split="val")


def test_a_video_whose_fps_disagrees_with_its_annotation_is_named(tmp_path):
    table = ("id,split,fps,frame_start,frame_end,player_level,song_level,crop_x1,crop_y1,"
             "crop_x2,crop_y2,source_video,youtube,song\n1,test,30.0,0,24,3,3,0,0,32,24,1,,\n")
    (tmp_path / "table.csv").write_text(table)
    cfg = dict(type="PISADataset", data_root=str(tmp_path), table=str(tmp_path / "table.csv"),
               layout="video", split="test", modalities=("video",),
               clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=4),
               pipeline=[dict(type="DecodeFrames"), dict(type="PackAQAInputs", modalities=("video",))])
    make_video(tmp_path / "1.mp4", frames=30, size=(32, 24), fps=25.0)
    with pytest.raises(ValueError, match=r"1\.mp4 runs at 25\.000 fps but the annotation says 30\.000 fps"):
        DATASETS.build(cfg)
    with pytest.warns(UserWarning, match="following the video"):
        ds = DATASETS.build(dict(cfg, fps_mismatch="video"))
    assert ds.performances[0]["fps"] == pytest.approx(25.0)


def test_prepare_and_training_find_the_same_entries_without_an_annotated_fps(csv_root, tmp_path):
    # the CSV names no fps and no frame range: the entry key must not depend on what the
    # media fill in
    config = tmp_path / "cfg.py"
    config.write_text(
        "pipeline = [dict(type='DecodeFrames'), dict(type='CropResize', size=(8, 8)),\n"
        "            dict(type='PackAQAInputs', modalities=('video',))]\n"
        f"dataset = dict(type='AQACSVDataset', ann_file={str(csv_root / 'ann.csv')!r}, split='train',\n"
        "               modalities=('video',), pipeline=pipeline,\n"
        "               clip_sampler=dict(type='UniformSampler', num_clips=2, clip_len=4))\n")
    assert main(["prepare", str(config), "--cache-dir", str(tmp_path / "cache")]) == 0
    cached = _csv(csv_root, split="train", cache_dir=str(tmp_path / "cache"))
    plain = _csv(csv_root, split="train")
    assert len(cached) == len(plain) == 6 * 3  # 24 frames: 3 samples of 2 clips x 4
    for i in range(len(plain)):
        np.testing.assert_array_equal(cached[i]["inputs"]["video"], plain[i]["inputs"]["video"])


def test_pisa_data_summarises_splits_levels_and_bad_media(csv_root, tmp_path, capsys):
    import shutil

    root = tmp_path / "ds"
    shutil.copytree(csv_root, root)
    (root / "v7.mp4").write_bytes(b"not a video")  # a test performance that cannot be read
    config = tmp_path / "cfg.py"
    config.write_text(
        "pipeline = [dict(type='DecodeFrames'), dict(type='CropResize', size=(8, 8)),\n"
        "            dict(type='PackAQAInputs', modalities=('video',))]\n"
        "common = dict(type='AQACSVDataset', ann_file='ann.csv', modalities=('video',),\n"
        "              pipeline=pipeline, val_performances=1,\n"
        "              clip_sampler=dict(type='UniformSampler', num_clips=2, clip_len=4))\n"
        "train_dataloader = dict(dataset=dict(common, split='train'))\n"
        "val_dataloader = dict(dataset=dict(common, split='val'))\n"
        "test_dataloader = dict(dataset=dict(common, split='test'))\n")
    assert main(["data", str(config), "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "split" in out and "level 1" in out and "level 2" in out
    assert "test_dataloader: AQACSVDataset split 'test': 1 performances, 3 samples" in out
    assert "unreadable: " in out and "v7.mp4" in out
    assert "performers on more than one side: none" in out


def test_an_optional_fps_column_is_checked_against_the_video(tmp_path):
    make_video(tmp_path / "v.mp4", frames=24, size=(32, 24), fps=25.0)
    base = dict(type="AQACSVDataset", ann_file=str(tmp_path / "ann.csv"), modalities=("video",),
                clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=4),
                pipeline=[dict(type="DecodeFrames"), dict(type="PackAQAInputs", modalities=("video",))])
    (tmp_path / "ann.csv").write_text("id,split,video,target,fps\nv,train,v.mp4,3,25\n")
    assert DATASETS.build(base).performances[0]["fps"] == pytest.approx(25.0)
    (tmp_path / "ann.csv").write_text("id,split,video,target,fps\nv,train,v.mp4,3,30\n")
    with pytest.raises(ValueError, match=r"v\.mp4 runs at 25\.000 fps but the annotation says 30\.000"):
        DATASETS.build(base)
    (tmp_path / "ann.csv").write_text("id,split,video,target,fps\nv,train,v.mp4,3,fast\n")
    with pytest.raises(ValueError, match=r"ann\.csv line 2: fps 'fast' is not a positive number"):
        DATASETS.build(base)
