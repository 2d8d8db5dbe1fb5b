"""Pair sampling (pisa.data.wrappers.pairs.ExemplarDataset) on a generated MTL-AQA layout:
exemplars only from the training split, the same-difficulty rule, seeded training draws,
fixed test-time draws, padding, clear errors, and the training pairs' differences."""
from __future__ import annotations

import itertools
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import pytest
from media import frame_index_of

from pisa.data.adapters.mtl_aqa import write_released_layout
from pisa.data.core.seeding import WorkerEpochSeeds
from pisa.registry import DATASETS

#: frames per generated dive; every frame of the video is distinct (< 53 frames)
DIVE_FRAMES = 4
PIPELINE = [dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
            dict(type="PackAQAInputs", modalities=("video",), meta_keys=("difficulty",))]
SAMPLER = dict(type="CenterClipSampler", num_clips=1, clip_len=DIVE_FRAMES)

Dive = Tuple[float, float, Optional[Sequence[float]]]  # difficulty, final score, judges


TRAIN: List[Dive] = [(2.0, 40.0, None), (2.0, 46.0, None), (2.0, 52.0, None), (3.0, 60.0, None),
                     (3.0, 63.0, None), (3.0, 75.0, None), (3.5, 70.0, None), (3.5, 84.0, None)]
TEST: List[Dive] = [(2.0, 44.0, None), (3.0, 66.0, None), (3.5, 80.0, None)]


@pytest.fixture(scope="module")
def mtl_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mtl_pairs")
    write_released_layout(root, TRAIN, TEST)
    return root


def _pairs(root: Path, split: str, **kwargs):
    # the start-up media check is another test's business; it opens every video
    inner = dict(type="MTLAQADataset", data_root=str(root), split=split, clip_sampler=SAMPLER,
                 pipeline=PIPELINE, test_mode=split == "test", check_media=False)
    inner.update(kwargs.pop("inner", {}))
    return DATASETS.build(dict(type="ExemplarDataset", dataset=inner, **kwargs))


def _dive(sample_id: str) -> int:
    """Dive number (0-based, train first) of a sample id ``'<video:02d>_1/0'``."""
    return int(sample_id.split("_")[0]) - 1


def test_test_time_exemplars_come_from_train_share_the_difficulty_and_are_fixed(mtl_root):
    ds = _pairs(mtl_root, "test", num_exemplars=2, same=("difficulty",))
    assert len(ds) == len(TEST)
    difficulty = {i: d for i, (d, _, _) in enumerate(TRAIN + TEST)}
    score = {i: s for i, (_, s, _) in enumerate(TRAIN + TEST)}
    first = []
    for idx in range(len(ds)):
        sample = ds[idx]
        samples, inputs = sample["data_samples"], sample["inputs"]
        query = _dive(samples["sample_id"])
        ids = samples["exemplar_sample_id"]
        dives = [_dive(s) for s in ids]
        assert all(d < len(TRAIN) for d in dives)  # training dives only
        assert len(set(dives)) == 2 and all(difficulty[d] == difficulty[query] for d in dives)
        assert samples["exemplar_difficulty"].tolist() == [difficulty[d] for d in dives]
        assert samples["exemplar_score"].tolist() == [score[d] for d in dives]
        assert samples["exemplar_valid"].tolist() == [True, True]
        # the packed clips are the exemplars' own frames
        assert inputs["exemplar_video"].shape == (2, 1, 3, DIVE_FRAMES, 16, 16)
        for clip, d in zip(inputs["exemplar_video"], dives):
            frame = clip[0, :, 0].numpy().transpose(1, 2, 0)
            assert frame_index_of(frame) == DIVE_FRAMES * d
        first.append(ids)
    # fixed: read again, or from a dataset built anew
    assert [ds[i]["data_samples"]["exemplar_sample_id"] for i in range(len(ds))] == first
    again = _pairs(mtl_root, "test", num_exemplars=2, same=("difficulty",))
    assert [again[i]["data_samples"]["exemplar_sample_id"] for i in range(len(ds))] == first
    # the seed chooses them: some other seed draws another order for some query
    orders = set()
    for seed in range(6):
        ds.seed = seed
        orders.add(tuple(tuple(ds.exemplar_order(i).tolist()) for i in range(len(ds))))
    assert len(orders) > 1


def test_fewer_candidates_than_exemplars_pad_and_mark_invalid(mtl_root):
    ds = _pairs(mtl_root, "test", num_exemplars=3, same=("difficulty",))
    sample = ds[2]  # difficulty 3.5: two training dives
    samples = sample["data_samples"]
    assert samples["exemplar_valid"].tolist() == [True, True, False]
    assert samples["exemplar_sample_id"][2] == samples["exemplar_sample_id"][0]
    assert {_dive(s) for s in samples["exemplar_sample_id"]} == {6, 7}


def test_training_draws_follow_seed_epoch_and_index_and_never_the_query(mtl_root):
    def orders(seed: int, epoch: int) -> List[int]:
        ds = _pairs(mtl_root, "train", same=("difficulty",))
        seeds = WorkerEpochSeeds(seed)
        ds.set_worker_epoch_seeds(seeds)
        assert ds.dataset.worker_epoch_seeds is seeds  # the hook reaches the wrapped dataset
        seeds.set_epoch(epoch)
        np.random.seed(12345 + epoch)  # the global generator plays no part
        return [int(ds.exemplar_order(i)[0]) for i in range(len(ds))]

    base = orders(3, 0)
    assert base == orders(3, 0)
    for i, j in enumerate(base):
        assert j != i and TRAIN[j][0] == TRAIN[i][0]  # another dive of the same difficulty
    assert orders(3, 1) != base or orders(3, 2) != base
    assert orders(4, 0) != base or orders(5, 0) != base
    # a real read packs the drawn exemplar
    ds = _pairs(mtl_root, "train", same=("difficulty",))
    seeds = WorkerEpochSeeds(3)
    ds.set_worker_epoch_seeds(seeds)
    seeds.set_epoch(0)
    sample = ds[4]
    assert _dive(sample["data_samples"]["exemplar_sample_id"][0]) == base[4]


def test_a_validation_query_draws_from_the_rest_of_train(mtl_root):
    ds = _pairs(mtl_root, "val", num_exemplars=2, inner=dict(val_performances=2, split_seed=0))
    val = {str(p["perf_id"]) for p in ds.dataset.performances}
    train = {str(p["perf_id"]) for p in ds.exemplars.performances}
    assert len(val) == 2 and not val & train and len(train) == len(TRAIN) - 2
    for idx in range(len(ds)):
        assert set(ds._pool_perf[ds.exemplar_order(idx)]) <= train


def test_no_exemplar_sharing_the_rule_is_a_clear_error(tmp_path):
    write_released_layout(tmp_path, TRAIN + [(1.5, 30.0, None)], TEST + [(4.0, 90.0, None)])
    with pytest.raises(ValueError, match=r"1 test sample\(s\) have no exemplar in the training "
                                         r"split sharing \['difficulty'\]: 13_1/0 \(\{'difficulty': 4.0\}\)"):
        _pairs(tmp_path, "test", same=("difficulty",))
    with pytest.raises(ValueError, match=r"13_1/0"):  # 'self' cannot help a test query
        _pairs(tmp_path, "test", same=("difficulty",), fallback="self")
    anything = _pairs(tmp_path, "test", num_exemplars=2, same=("difficulty",), fallback="any")
    assert len(anything.candidates(3)) == len(TRAIN) + 1
    # a training dive whose difficulty no other has (1.5, dive 8)
    with pytest.raises(ValueError, match=r"1 train sample\(s\).*09_1/0"):
        _pairs(tmp_path, "train", same=("difficulty",))
    alone = _pairs(tmp_path, "train", same=("difficulty",), fallback="self")
    assert alone.candidates(8).tolist() == [8] and 8 not in alone.candidates(0)
    with pytest.raises(KeyError, match=r"01_1/0 .* has no 'judge_scores' to match exemplars on"):
        _pairs(tmp_path, "train", same=("judge_scores",))
    # packing a record key the annotation lacks names the sample and the key
    plain = DATASETS.build(dict(
        type="MTLAQADataset", data_root=str(tmp_path), split="train", clip_sampler=SAMPLER, check_media=False,
        pipeline=PIPELINE[:2] + [dict(type="PackAQAInputs", modalities=("video",), meta_keys=("judge_scores",))]))
    with pytest.raises(KeyError, match=r"sample 01_1/0 .* has no 'judge_scores' \(meta_keys="):
        plain[0]
    with pytest.raises(ValueError, match="exactly one of the two"):
        DATASETS.build(dict(type="ExemplarDataset"))
    with pytest.raises(ValueError, match="fallback must be one of"):
        _pairs(tmp_path, "train", fallback="nearest")


def test_pair_differences_are_those_of_the_training_pairs_the_rule_allows(mtl_root):
    ds = _pairs(mtl_root, "test", same=("difficulty",))
    expected = sorted(abs(a[1] / a[0] - b[1] / b[0]) for a, b in itertools.combinations(TRAIN, 2)
                      if a[0] == b[0])
    np.testing.assert_allclose(sorted(ds.pair_differences(divide_by="difficulty")), expected)
    anyone = _pairs(mtl_root, "test")
    expected = sorted(abs(a[1] - b[1]) for a, b in itertools.combinations(TRAIN, 2))
    np.testing.assert_allclose(sorted(anyone.pair_differences()), expected)
