"""Clip samplers: the released schemes' definitions as properties, and the one-sample
samplers' bounds."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pisa.data.core.clip_samplers import (CenterClipSampler, RandomClipSampler, center_clip_indices,
                                contiguous_indices, random_clip_indices, uniform_indices)
from pisa.registry import CLIP_SAMPLERS

frames_st = st.integers(min_value=0, max_value=5000)
k_st = st.integers(min_value=1, max_value=12)
t_st = st.integers(min_value=1, max_value=24)


@settings(max_examples=200, deadline=None)
@given(frames=frames_st, k=k_st, t=t_st, scheme=st.sampled_from([contiguous_indices, uniform_indices]))
def test_released_schemes_in_bounds_disjoint_and_counted(frames, k, t, scheme):
    out = scheme(frames, k, t)
    n = frames // (k * t)
    assert out.dtype == np.int64 and out.shape == (n, k, t)
    if n:
        flat = out.reshape(-1)
        assert flat.min() >= 0 and flat.max() < n * k * t <= frames  # the tail is dropped
        assert len(np.unique(flat)) == flat.size  # no frame used twice: samples never overlap
        # every clip is T consecutive frames
        assert np.all(np.diff(out, axis=2) == 1)


@settings(max_examples=100, deadline=None)
@given(frames=st.integers(min_value=160, max_value=4000))
def test_released_definitions(frames):
    n = frames // 160
    cons, uni = contiguous_indices(frames), uniform_indices(frames)
    i, j = n - 1, 9
    assert cons[i, 0, 0] == 160 * i and cons[i, -1, -1] == 160 * i + 159
    assert uni[i, j, 0] == 16 * (i + j * n) and uni[i, j, -1] == 16 * (i + j * n) + 15


@settings(max_examples=100, deadline=None)
@given(frames=frames_st, k=k_st, t=t_st, limit=st.integers(min_value=0, max_value=5))
def test_max_samples_limits_the_count_keeping_the_scheme(frames, k, t, limit):
    full = uniform_indices(frames, k, t)
    cut = uniform_indices(frames, k, t, max_samples=limit)
    assert len(cut) == min(limit, len(full))
    np.testing.assert_array_equal(cut, full[: len(cut)])


@settings(max_examples=150, deadline=None)
@given(frames=st.integers(min_value=1, max_value=3000), k=k_st, t=t_st, seed=st.integers(0, 2**16))
def test_one_sample_samplers_stay_in_bounds(frames, k, t, seed):
    if frames < t:
        with pytest.raises(ValueError, match="fewer than one clip"):
            center_clip_indices(frames, k, t)
        return
    for out in (center_clip_indices(frames, k, t),
                random_clip_indices(frames, k, t, np.random.default_rng(seed))):
        assert out.shape == (1, k, t) and out.dtype == np.int64
        assert out.min() >= 0 and out.max() < frames
        assert np.all(np.diff(out, axis=2) == 1)
        assert np.all(np.diff(out[0, :, 0]) >= 0)  # clips in temporal order


def test_center_clip_is_centred_and_random_clip_varies():
    # one clip of 16 in 100 frames: starts at (0 + 84) // 2
    assert center_clip_indices(100, 1, 16)[0, 0, 0] == 42
    starts = {int(random_clip_indices(1000, 1, 16, np.random.default_rng(s))[0, 0, 0]) for s in range(20)}
    assert len(starts) > 5


def test_samplers_build_from_the_registry():
    sampler = CLIP_SAMPLERS.build(dict(type="UniformSampler", num_clips=2, clip_len=3))
    np.testing.assert_array_equal(sampler(13), uniform_indices(13, 2, 3))
    assert CLIP_SAMPLERS.build(dict(type="ContiguousSampler")).sample_frames == 160
    assert RandomClipSampler.random and not CenterClipSampler.random


def _drawn_frames(item_video) -> list:
    """Frame numbers of a packed video ``(K, 3, T, H, W)`` from make_video's grey levels."""
    from media import frame_index_of

    frames = item_video.numpy().transpose(0, 2, 3, 4, 1).reshape(-1, *item_video.shape[-2:], 3)
    return [frame_index_of(f) for f in frames]


def test_random_clips_follow_the_run_seed(tmp_path):
    """Reading a RandomClipSampler dataset draws from numpy's seeded global generator (in
    the main process) and from mmengine's seeded workers: same seed, same clips."""
    import sys
    from functools import partial
    from pathlib import Path

    import torch
    from mmengine.dataset import worker_init_fn

    sys.path.insert(0, str(Path(__file__).parent))
    from media import make_video

    from pisa.registry import DATASETS

    make_video(tmp_path / "v.mp4", frames=50, size=(32, 32), audio=False)
    (tmp_path / "ann.csv").write_text("id,split,video,target\nv,train,v.mp4,5\n")
    ds = DATASETS.build(dict(type="AQACSVDataset", ann_file=str(tmp_path / "ann.csv"),
                             modalities=("video",),
                             clip_sampler=dict(type="RandomClipSampler", num_clips=2, clip_len=4),
                             pipeline=[dict(type="DecodeFrames"),
                                       dict(type="PackAQAInputs", modalities=("video",))]))

    def in_process(seed: int) -> list:
        np.random.seed(seed)
        return [ds.get_data_info(0)["frame_inds"].tolist() for _ in range(4)]

    assert in_process(1) == in_process(1)
    assert in_process(1) != in_process(2)

    def in_workers(seed: int) -> list:
        torch.manual_seed(seed)  # what the runner's seeding does in the main process
        loader = torch.utils.data.DataLoader(
            torch.utils.data.Subset(ds, [0] * 6), batch_size=1, num_workers=2,
            worker_init_fn=partial(worker_init_fn, num_workers=2, rank=0, seed=seed))
        return [_drawn_frames(batch["inputs"]["video"][0]) for batch in loader]

    first = in_workers(7)
    assert first == in_workers(7)
    assert first != in_workers(8)
    assert len({tuple(f) for f in first}) > 1  # the two workers do not repeat each other


def test_a_dataset_names_its_clip_sampler_clip_sampler(tmp_path):
    """A dataset's clip sampler is ``clip_sampler``; the old ``sampler`` (the dataloader's
    index sampler's name) is refused with the new name, by every adapter."""
    from pisa.registry import DATASETS

    (tmp_path / "ann.csv").write_text("id,split,video,target\nv,train,v.mp4,5\n")
    cfg = dict(type="AQACSVDataset", ann_file=str(tmp_path / "ann.csv"), modalities=("video",),
               check_media=False, lazy_init=True)
    ds = DATASETS.build(dict(cfg, clip_sampler=dict(type="CenterClipSampler", num_clips=2, clip_len=4)))
    assert isinstance(ds.clip_sampler, CenterClipSampler) and ds.clip_sampler.num_clips == 2
    with pytest.raises(TypeError, match="'sampler' is now 'clip_sampler'"):
        DATASETS.build(dict(cfg, sampler=dict(type="CenterClipSampler", num_clips=2, clip_len=4)))


# -- the I3D papers' windows, rebuilt from their loaders -------------------------------
def _config_sampler(name: str, loader: str):
    from pathlib import Path

    from pisa.engine.config_loader import load_config

    cfg = load_config(Path(__file__).resolve().parents[1] / "configs" / name)
    return CLIP_SAMPLERS.build(cfg[loader].dataset.clip_sampler)


def _core_reference(num_frames: int, shift: int) -> np.ndarray:
    """CoRe's MTLPair.load_video + Backbone.forward: the 103 frames before the end frame
    (moved by the shift), clips of 16 at start_idx; relative to the dive's first frame.
    (CoRe reads on past the annotated end into the recording; a trimmed performance
    repeats its last frame there.)"""
    end = num_frames - 1
    start = end + shift - 103
    video = [min(start + i, end) for i in range(103)]
    return np.array([video[i:i + 16] for i in [0, 10, 20, 30, 40, 50, 60, 70, 80, 86]])


def _musdl_reference(num_frames: int, shift: int) -> np.ndarray:
    """MUSDL's dataset.get_imgs + main.py: frames 0..102 moved by the shift, clips 10*i
    for i < 9 and the last 16."""
    video = list(np.arange(0, 103) + shift)
    return np.array([video[10 * i:10 * i + 16] for i in range(9)] + [video[-16:]])


def _finediving_reference(num_frames: int) -> np.ndarray:
    """FineDiving_Pair.load_video + Backbone.forward: 96 frames by linspace, clips at
    range(0, 90, 10)."""
    frame_list = np.linspace(0, num_frames - 1, 96).astype(int)
    return np.array([frame_list[i:i + 16] for i in range(0, 90, 10)])


@pytest.mark.parametrize("name,reference,shifts", [
    ("core/core_i3d_1xb1-16x1x10-200e_mtl-aqa-video-score.py", _core_reference, range(-3, 4)),
    ("usdl/usdl_i3d_1xb4-16x1x10-100e_mtl-aqa-video-score.py", _musdl_reference, range(0, 7)),
])
def test_the_mtl_aqa_windows_are_the_reference_loaders(name, reference, shifts):
    train, test = _config_sampler(name, "train_dataloader"), _config_sampler(name, "test_dataloader")
    rng = np.random.default_rng(0)
    for num_frames in (120, 160, 250):
        np.testing.assert_array_equal(test(num_frames)[0], reference(num_frames, 0))
        seen = set()
        for _ in range(60):
            got = train(num_frames, rng=rng)[0]
            matches = [s for s in shifts if np.array_equal(got, reference(num_frames, s))]
            assert len(matches) == 1, got[:, 0]
            seen.add(matches[0])
        assert seen == set(shifts)  # every shift the reference draws, and only those


def test_the_finediving_window_is_the_reference_loader():
    name = "core/core_i3d_1xb8-16x1x9-200e_finediving-video-score.py"
    train, test = _config_sampler(name, "train_dataloader"), _config_sampler(name, "test_dataloader")
    for num_frames in (97, 130, 333):
        np.testing.assert_array_equal(test(num_frames)[0], _finediving_reference(num_frames))
        np.testing.assert_array_equal(train(num_frames, rng=np.random.default_rng(1))[0],
                                      _finediving_reference(num_frames))


def test_a_window_past_the_performance_repeats_its_end_frames():
    from pisa.data.core.clip_samplers import WindowClipSampler

    sampler = WindowClipSampler(window=10, starts=(0, 6), clip_len=4, anchor="end", offset=-1)
    out = sampler(6)[0]  # frames -5..4 of a 6-frame performance
    np.testing.assert_array_equal(out, [[0, 0, 0, 0], [1, 2, 3, 4]])
    with pytest.raises(ValueError, match="window"):
        WindowClipSampler(window=10, starts=(0, 8), clip_len=4)
