"""Training augmentations: temporal jitter of the clip samplers, the frame and audio
transforms of pisa.data.transforms.augment, mixup in the model's loss, and an exact resume of the
augmented config."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as TF
from engine_helpers import assert_same_weights, checkpoint_weights, render_tiny_dataset
from mmengine.dataset import BaseDataset
from torchvision.transforms.v2 import InterpolationMode
from torchvision.transforms.v2 import functional as F

from pisa.data.transforms import mel as audio_lib
from pisa.data.transforms.augment import (ColorJitter, RandomAudioShift, RandomGain, RandomResizedCrop,
                               SpecAugment)
from pisa.data.core.seeding import worker_epoch_seed
from pisa.data.core.clip_samplers import (ContiguousSampler, UniformSampler, contiguous_indices,
                                uniform_indices)
from pisa.data.transforms.clip_transforms import MelSpectrogram
from pisa.registry import DATASETS, MODELS, TRANSFORMS

REPO = Path(__file__).resolve().parents[1]
AUG_CONFIG = (REPO / "configs" / "synthetic"
              / "pisa_c3d-r18-small-aug_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py")
SR, FPS = 16000, 25.0


def seed_as_worker(epoch: int, seed: int = 3) -> None:
    """Seed numpy's global generator as WorkerEpochSeeds does in worker 0 of rank 0."""
    np.random.seed(worker_epoch_seed(seed, epoch, 0, 0))


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


# ---------------------------------------------------------------- temporal jitter
@pytest.mark.parametrize("cls, exact", [(UniformSampler, uniform_indices),
                                        (ContiguousSampler, contiguous_indices)])
def test_jitter_moves_each_clip_inside_the_performance(cls, exact):
    frames, jitter = 70, 3  # 2 samples of 4 x 8 frames and a 6-frame tail
    sampler = cls(num_clips=4, clip_len=8, jitter=jitter)
    base = exact(frames, 4, 8)
    assert sampler.random and not cls(num_clips=4, clip_len=8).random
    np.testing.assert_array_equal(sampler(frames), base)  # no generator: the exact scheme
    rng = np.random.default_rng(0)
    offsets = []
    for _ in range(200):
        drawn = sampler(frames, rng=rng)
        assert drawn.shape == base.shape and drawn.dtype == np.int64
        assert drawn.min() >= 0 and drawn.max() <= frames - 1
        np.testing.assert_array_equal(np.diff(drawn, axis=-1), 1)  # clips stay whole
        offsets.append(drawn[..., 0] - base[..., 0])
    offsets = np.stack(offsets)  # (draws, S, K)
    assert np.abs(offsets).max() == jitter
    # the clip at frame 0 only moves forward, an inner clip both ways
    first = offsets[:, 0, 0]
    assert first.min() == 0 and first.max() == jitter
    assert set(offsets[:, 1, 1].tolist()) == set(range(-jitter, jitter + 1))
    # clips move independently of each other
    assert any(len(set(o[0].tolist())) > 1 for o in offsets)


def test_jitter_draws_follow_the_generator_and_reject_bad_values():
    sampler = UniformSampler(num_clips=4, clip_len=8, jitter=2)
    a = sampler(100, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, sampler(100, rng=np.random.default_rng(5)))
    assert not np.array_equal(a, sampler(100, rng=np.random.default_rng(6)))
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="UniformSampler: jitter"):
            UniformSampler(num_clips=4, clip_len=8, jitter=bad)


def _dataset(data_root: Path, **kwargs):
    cfg = dict(type="PISADataset", data_root=str(data_root / "videos"),
               table=str(data_root / "performances.csv"), layout="video", scheme="unidist",
               split_mode="performer_disjoint", test_fraction=0.3, modalities=("video",),
               pipeline=[], check_media=False, split="train",
               clip_sampler=dict(type="UniformSampler", num_clips=2, clip_len=8, jitter=3))
    cfg.update(kwargs)
    return DATASETS.build(cfg)


def test_dataset_redraws_jitter_per_read_but_test_mode_and_annotated_samples_stay_exact(data_root):
    train = _dataset(data_root)
    # the records as stored (the scheme's clips), as level_counts reads them
    stored = [np.asarray(BaseDataset.get_data_info(train, i)["frame_inds"])
              for i in range(len(train))]
    assert len(train) > len(train.performances)  # several samples of one performance
    seed_as_worker(0)
    reads = [[train.get_data_info(i)["frame_inds"] for i in range(len(train))] for _ in range(3)]
    moved = False
    for i, exact in enumerate(stored):
        num_frames = train.get_data_info(i)["num_frames"]
        for read in reads:
            # each sample jitters its own clips (its row of the scheme), inside the performance
            assert np.abs(read[i] - exact).max() <= 3
            assert read[i].min() >= 0 and read[i].max() < num_frames
            moved |= not np.array_equal(read[i], exact)
    assert moved
    # the same worker seed gives the same clips, another epoch others
    seed_as_worker(0)
    again = [train.get_data_info(i)["frame_inds"] for i in range(len(train))]
    np.testing.assert_array_equal(np.stack(again), np.stack(reads[0]))
    seed_as_worker(1)
    other = [train.get_data_info(i)["frame_inds"] for i in range(len(train))]
    assert not np.array_equal(np.stack(other), np.stack(reads[0]))

    test = _dataset(data_root, split="test", test_mode=True)
    assert not test.clip_sampler.random and test.clip_sampler.jitter == 0
    exact_test = _dataset(data_root, split="test", test_mode=True,
                          clip_sampler=dict(type="UniformSampler", num_clips=2, clip_len=8))
    for i in range(len(test)):
        for _ in range(3):
            np.testing.assert_array_equal(test.get_data_info(i)["frame_inds"],
                                          exact_test.get_data_info(i)["frame_inds"])

    # samples an annotation lists are read as listed, jitter or not
    perf = dict(train.performances[0])
    listed = contiguous_indices(perf["num_frames"], 2, 8)[:2]
    record = {k: perf[k] for k in ("perf_id", "video_path", "frame_offset", "num_frames", "fps",
                                   "crop_box", "label", "score", "group", "ann_source")}
    annotated = _dataset(data_root, recordings=[dict(record, samples=listed)])
    for i in range(len(annotated)):
        np.testing.assert_array_equal(annotated.get_data_info(i)["frame_inds"], listed[i])


# ---------------------------------------------------------------- frames
def _video(k: int = 2, t: int = 3, h: int = 24, w: int = 32, seed: int = 0) -> np.ndarray:
    """uint8 (K, T, H, W, 3): a colour gradient with a bright square, different per frame."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w]
    base = np.stack([x * 255 // w, y * 255 // h, (x + y) * 255 // (w + h)], axis=-1)
    imgs = np.empty((k, t, h, w, 3), dtype=np.uint8)
    for i in range(k):
        for j in range(t):
            frame = base.copy()
            top, left = rng.integers(0, h - 6), rng.integers(0, w - 6)
            frame[top:top + 6, left:left + 6] = (250, 240, 30)
            imgs[i, j] = frame
    return imgs


def _sample(imgs: np.ndarray) -> dict:
    return {"imgs": imgs, "sample_id": "p/0", "ann_source": "table id p", "label": 3,
            "frame_inds": np.arange(6).reshape(2, 3)}


def _chw(frame: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)


def test_resized_crop_cuts_one_box_for_the_whole_sample():
    imgs = _video()
    crop = RandomResizedCrop(scale=(0.3, 0.6), ratio=(0.75, 1.33))
    seed_as_worker(0)
    out = crop(_sample(imgs.copy()))
    top, left, height, width = out["resized_crop"]
    assert out["imgs"].shape == imgs.shape and out["imgs"].dtype == np.uint8
    assert 0.3 * 24 * 32 * 0.9 <= height * width <= 0.6 * 24 * 32 * 1.1
    assert top + height <= 24 and left + width <= 32
    # every frame of every clip: that box of itself, resized by torchvision
    for i in range(2):
        for j in range(3):
            expected = F.resized_crop(_chw(imgs[i, j]), top, left, height, width, [24, 32],
                                      interpolation=InterpolationMode.BILINEAR, antialias=True)
            np.testing.assert_array_equal(out["imgs"][i, j], expected.permute(1, 2, 0).numpy())
    assert out["label"] == 3 and out["sample_id"] == "p/0"
    # a given output size
    sized = RandomResizedCrop(size=(16, 20))(_sample(imgs.copy()))
    assert sized["imgs"].shape == (2, 3, 16, 20, 3)


def test_colour_jitter_changes_colours_alike_everywhere_and_nothing_else():
    imgs = _video()
    jitter = ColorJitter(brightness=0.4, contrast=0.4, saturation=0.4, hue=0.1)
    seed_as_worker(0)
    out = jitter(_sample(imgs.copy()))
    assert out["imgs"].shape == imgs.shape and out["imgs"].dtype == np.uint8
    assert not np.array_equal(out["imgs"], imgs)
    p = out["color_jitter"]
    assert sorted(p["fn_idx"]) == [0, 1, 2, 3] and 0.6 <= p["brightness_factor"] <= 1.4
    assert abs(p["hue_factor"]) <= 0.1
    steps = {0: lambda x: F.adjust_brightness(x, p["brightness_factor"]),
             1: lambda x: F.adjust_contrast(x, p["contrast_factor"]),
             2: lambda x: F.adjust_saturation(x, p["saturation_factor"]),
             3: lambda x: F.adjust_hue(x, p["hue_factor"])}
    for i in range(2):
        for j in range(3):  # each frame: the same factors, in the same order
            x = _chw(imgs[i, j])
            for step in p["fn_idx"]:
                x = steps[step](x)
            np.testing.assert_array_equal(out["imgs"][i, j], x.permute(1, 2, 0).numpy())
    assert out["label"] == 3 and np.array_equal(out["frame_inds"], np.arange(6).reshape(2, 3))
    # brightness alone scales every pixel where it was: the geometry is untouched
    bright = ColorJitter(brightness=0.5)(_sample(imgs.copy()))
    factor = bright["color_jitter"]["brightness_factor"]
    np.testing.assert_allclose(bright["imgs"].astype(float),
                               np.clip(np.round(imgs * factor), 0, 255), atol=1)


def test_frame_transforms_name_the_missing_or_malformed_key():
    for transform in (RandomResizedCrop(), ColorJitter(brightness=0.2)):
        name = type(transform).__name__
        with pytest.raises(KeyError, match=f"{name}: sample p/0 .* no 'imgs'"):
            transform({"sample_id": "p/0"})
        with pytest.raises(ValueError, match=rf"{name}: .*'imgs' must be uint8 \(K, T, H, W, 3\)"):
            transform(_sample(_video()[0]))
        with pytest.raises(ValueError, match=f"{name}: .*got float32"):
            transform(_sample(_video().astype(np.float32)))
    with pytest.raises(ValueError, match="ColorJitter"):
        ColorJitter(hue=0.7)
    with pytest.raises(ValueError, match="RandomResizedCrop: scale"):
        RandomResizedCrop(scale=(0.8, 0.5))


# ---------------------------------------------------------------- audio
def _track(seconds: float = 3.0, seed: int = 0) -> np.ndarray:
    """A chirp over noise: every window sounds different."""
    t = np.arange(int(seconds * SR)) / SR
    rng = np.random.default_rng(seed)
    track = 0.3 * np.sin(2 * np.pi * (200 + 400 * t) * t) + 0.02 * rng.standard_normal(t.size)
    return track.astype(np.float32)


def _audio_sample(offset: int = 4000, first_frame: int = 0) -> dict:
    inds = first_frame + np.array([[0, 1, 2, 3], [10, 11, 12, 13], [20, 21, 22, 23]])
    return {"audio": _track(), "audio_sr": SR, "audio_offset": offset, "frame_inds": inds,
            "fps": FPS, "sample_id": "p/0", "ann_source": "table id p", "label": 1}


def _windows(results: dict) -> np.ndarray:
    return audio_lib.clip_windows(results["frame_inds"], results["fps"], results["audio_sr"],
                                  results["audio_offset"])


def test_audio_shift_moves_every_clip_alike_within_the_track():
    shift = RandomAudioShift(max_shift_s=0.05)
    seen = set()
    for epoch in range(40):
        seed_as_worker(epoch)
        sample = _audio_sample()
        track, before = sample["audio"], _windows(sample)
        out = shift(sample)
        assert out["audio"] is track  # the waveform is not touched
        moved = _windows(out) - before
        assert (moved == out["audio_shift"]).all()  # the same shift for every clip
        assert abs(out["audio_shift"]) <= 0.05 * SR
        seen.add(out["audio_shift"])
    assert min(seen) < 0 < max(seen)
    # at the start of the track the audio only moves later
    for epoch in range(20):
        seed_as_worker(epoch)
        out = shift(_audio_sample(offset=0))
        assert 0 <= out["audio_shift"] <= 0.05 * SR and _windows(out).min() >= 0


def test_gain_scales_the_sample_alike_and_the_mel_image_follows_the_same_windows():
    sample = _audio_sample()
    original = sample["audio"].copy()
    before = _windows(sample)
    seed_as_worker(0)
    out = RandomGain(min_db=-6.0, max_db=6.0, clip=False)(dict(sample))
    gain = 10 ** (out["audio_gain_db"] / 20)
    assert -6.0 <= out["audio_gain_db"] <= 6.0 and out["audio"].dtype == np.float32
    np.testing.assert_array_equal(sample["audio"], original)  # the loaded track is shared
    after = _windows(out)
    for (s0, e0), (s1, e1) in zip(before, after):  # each clip: its own samples, scaled alike
        np.testing.assert_allclose(out["audio"][s1:e1], original[s0:e0] * gain, rtol=1e-6)
    # the mel image is standardised per clip: the scaled span gives the original's image
    mel = MelSpectrogram(size=(32, 32), n_fft=512, hop_length=128, n_mels=32)
    np.testing.assert_allclose(mel(dict(out))["mel"], mel(dict(sample))["mel"], atol=1e-3)
    # saturating at full scale changes it
    seed_as_worker(0)
    loud = RandomGain(min_db=12.0, max_db=12.0, clip=True)(dict(sample))
    assert np.abs(loud["audio"]).max() == 1.0
    assert np.abs(mel(dict(loud))["mel"] - mel(dict(sample))["mel"]).max() > 1.0


def test_spec_augment_fills_only_its_bands_freq_alike_time_per_clip():
    rng = np.random.default_rng(0)
    mel = (1.0 + rng.random((3, 1, 32, 40))).astype(np.float32)  # no value is 0
    masks = SpecAugment(freq_masks=2, freq_width=6, time_masks=2, time_width=8)
    time_bands = []
    for epoch in range(5):
        seed_as_worker(epoch)
        out = masks({"mel": mel.copy(), "sample_id": "p/0"})
        got = out["mel"]
        assert got.shape == mel.shape and got.dtype == np.float32
        drawn = out["spec_masks"]
        expected = np.zeros(mel.shape, dtype=bool)
        for start, width in drawn["freq"]:
            assert width <= 6 and start + width <= 32
            expected[:, :, start:start + width, :] = True
        for clip, bands in enumerate(drawn["time"]):
            for start, width in bands:
                assert width <= 8 and start + width <= 40
                expected[clip, :, :, start:start + width] = True
        assert (got[expected] == 0.0).all()
        np.testing.assert_array_equal(got[~expected], mel[~expected])
        # a frequency band is masked in every clip: whole rows of zeros, the same rows
        zero_rows = [set(np.flatnonzero((got[c, 0] == 0).all(axis=1))) for c in range(3)]
        assert zero_rows[0] == zero_rows[1] == zero_rows[2]
        time_bands.append(drawn["time"])
    assert any(len({tuple(b) for b in bands}) > 1 for bands in time_bands)  # drawn per clip
    seed_as_worker(0)
    mean = SpecAugment(freq_masks=1, freq_width=32, time_masks=0, fill="mean")(
        {"mel": mel.copy(), "sample_id": "p/0"})
    start, width = mean["spec_masks"]["freq"][0]
    if width:
        for c in range(3):
            np.testing.assert_allclose(mean["mel"][c, 0, start:start + width], mel[c].mean(),
                                       rtol=1e-6)


def test_audio_transforms_name_the_missing_or_malformed_key():
    for transform in (RandomAudioShift(), RandomGain()):
        name = type(transform).__name__
        sample = _audio_sample()
        del sample["audio_offset"]
        with pytest.raises(KeyError, match=f"{name}: sample p/0 .* no 'audio_offset'"):
            transform(sample)
        with pytest.raises(ValueError, match=rf"{name}: .*'audio' must be a mono track"):
            transform(dict(_audio_sample(), audio=np.zeros((2, 100), np.float32)))
    with pytest.raises(KeyError, match="SpecAugment: sample p/0 .* no 'mel'"):
        SpecAugment()({"sample_id": "p/0"})
    with pytest.raises(ValueError, match=r"SpecAugment: .*'mel' must be \(K, 1, H, W\)"):
        SpecAugment()({"mel": np.zeros((3, 32, 40), np.float32), "sample_id": "p/0"})
    with pytest.raises(ValueError, match="SpecAugment: fill"):
        SpecAugment(fill="median")


# ---------------------------------------------------------------- every transform
def _run(transform, epoch: int):
    seed_as_worker(epoch)
    if isinstance(transform, (RandomResizedCrop, ColorJitter)):
        return transform(_sample(_video()))["imgs"]
    if isinstance(transform, SpecAugment):
        return transform({"mel": np.ones((3, 1, 32, 40), np.float32), "sample_id": "p/0"})["mel"]
    out = transform(_audio_sample())
    head = np.asarray(out["audio"][:1000], dtype=np.float64)
    return np.concatenate([head, [out["audio_offset"]]])


@pytest.mark.parametrize("name, args", [
    ("RandomResizedCrop", dict(scale=(0.3, 1.0))),
    ("ColorJitter", dict(brightness=0.3, contrast=0.3, saturation=0.3, hue=0.05)),
    ("RandomAudioShift", dict(max_shift_s=0.05)),
    ("RandomGain", dict(min_db=-6.0, max_db=6.0)),
    ("SpecAugment", dict(freq_masks=2, freq_width=8, time_masks=2, time_width=8)),
])
def test_each_transform_is_registered_and_draws_from_the_worker_epoch_seed(name, args):
    transform = TRANSFORMS.build(dict(type=name, **args))
    assert type(transform).__name__ == name and name in repr(transform)
    first = _run(transform, 0)
    np.testing.assert_array_equal(_run(transform, 0), first)
    assert not np.array_equal(_run(transform, 1), first)
    # torch's global generator (the model's dropout and mixup) is left alone
    torch.manual_seed(0)
    state = torch.get_rng_state()
    _run(transform, 2)
    assert torch.equal(torch.get_rng_state(), state)


# ---------------------------------------------------------------- mixup
def _model(mixup=None):
    torch.manual_seed(0)
    return MODELS.build(dict(
        type="AQAModel", mixup=mixup,
        video_backbone=dict(type="C3D", widths=(4, 8), feature_dim=8, clip_len=4, size=16),
        audio_backbone=dict(type="AudioResNet18", width=4),
        head=dict(type="LevelHead", hidden=8, num_classes=10, dropout=0.0)))


def _batch(b: int = 4):
    g = torch.Generator().manual_seed(1)
    inputs = {"video": torch.randn(b, 2, 3, 4, 16, 16, generator=g),
              "audio": torch.randn(b, 2, 1, 32, 32, generator=g)}
    samples = {"label": [0, 3, 7, -1][:b], "score": [0.0, 3.0, 7.0, 5.5][:b]}
    return inputs, samples


def _plain_losses(model, inputs, label, score):
    """Eq. 1 per branch, written out: CE over labelled samples + 0.1 (L1 + L2)."""
    out = {}
    for branch, head in model.branch_outputs(inputs).items():
        valid = label != -1
        diff = head["reg"] - score
        out[branch] = (TF.cross_entropy(head["cls"][valid], label[valid]),
                       0.1 * (diff.abs().mean() + diff.pow(2).mean()))
    return out


def test_mixup_blends_inputs_and_losses_from_the_global_generator():
    mixed_model, plain_model = _model(dict(alpha=0.4, prob=1.0)), _model()
    plain_model.load_state_dict(mixed_model.state_dict())
    inputs, samples = _batch()
    label, score = torch.tensor(samples["label"]), torch.tensor(samples["score"])
    perm = torch.tensor([2, 0, 3, 1])
    # lam = 1: the plain loss, whatever the permutation
    plain = plain_model.loss(inputs, samples)
    same = mixed_model.loss(inputs, samples, mix=(1.0, perm))
    assert same.keys() == plain.keys()
    for key in plain:
        torch.testing.assert_close(same[key], plain[key])
    # lam = 0: the plain loss of the reordered batch
    reordered = plain_model.loss({k: v[perm] for k, v in inputs.items()},
                                 {"label": label[perm], "score": score[perm]})
    swapped = mixed_model.loss(inputs, samples, mix=(0.0, perm))
    for key in plain:
        torch.testing.assert_close(swapped[key], reordered[key])

    # drawn in training: u, lam ~ Beta(alpha, alpha), perm, from torch's global generator
    torch.manual_seed(11)
    drawn = mixed_model.loss(inputs, samples)
    torch.manual_seed(11)
    torch.rand(())
    alpha = torch.tensor(0.4, dtype=torch.float64)
    lam = float(torch.distributions.Beta(alpha, alpha).sample())
    perm = torch.randperm(4)
    assert 0.0 < lam < 1.0 and not torch.equal(perm, torch.arange(4))
    blended = {k: lam * v + (1 - lam) * v[perm] for k, v in inputs.items()}
    with torch.no_grad():
        a = _plain_losses(plain_model, blended, label, score)
        b = _plain_losses(plain_model, blended, label[perm], score[perm])
    for branch in ("video", "audio", "multimodal"):
        for term, name in enumerate(("ce", "reg")):
            torch.testing.assert_close(drawn[f"loss_{branch}_{name}"].detach(),
                                       lam * a[branch][term] + (1 - lam) * b[branch][term])
    assert not torch.allclose(drawn["loss_multimodal_ce"], plain["loss_multimodal_ce"])

    # not in eval mode, not with prob=0 (the same weights and BatchNorm statistics again)
    mixed_model.load_state_dict(plain_model.state_dict())
    mixed_model.eval()
    plain_model.eval()
    for key, value in plain_model.loss(inputs, samples).items():
        torch.testing.assert_close(mixed_model.loss(inputs, samples)[key], value)
    never = _model(dict(alpha=0.4, prob=0.0))
    never.load_state_dict(plain_model.state_dict())
    never.train()
    plain_model.train()
    for key, value in plain_model.loss(inputs, samples).items():
        torch.testing.assert_close(never.loss(inputs, samples)[key], value)
    for bad in (dict(alpha=0.0), dict(alpha=0.2, prob=1.5), dict(alpha=0.2, beta=1.0)):
        with pytest.raises(ValueError, match="AQAModel: mixup"):
            _model(bad)


# ---------------------------------------------------------------- the augmented config
def test_augmented_config_resumes_exactly(tmp_path, data_root):
    from pisa.engine.config_loader import load_config
    from pisa.engine.runner import RunOptions, train

    cfg = load_config(str(AUG_CONFIG), {}, str(data_root))
    types = [t["type"] for t in cfg.train_dataloader.dataset.pipeline]
    test_types = [t["type"] for t in cfg.test_dataloader.dataset.pipeline]
    augmentations = ("RandomResizedCrop", "ColorJitter", "RandomAudioShift", "RandomGain",
                     "SpecAugment")
    for name in augmentations:
        assert name in types and name not in test_types
    assert cfg.train_dataloader.dataset.clip_sampler.jitter > 0 and cfg.model.mixup is not None

    # the demo model narrowed, no test pass; interrupted after epoch 1 = resumed from the
    # uninterrupted run's epoch-1 checkpoint (a run stopped by max_epochs=1 would differ:
    # its lr schedule ends at its max_epochs)
    small = {"model.video_backbone.widths": (4, 8), "model.video_backbone.feature_dim": 16,
             "model.audio_backbone.width": 4, "model.head.hidden": 8, "train_cfg.max_epochs": 2,
             "test_dataloader": None, "test_evaluator": None, "test_cfg": None}

    def run(work_dir: Path, resume=None) -> None:
        train(str(AUG_CONFIG), RunOptions(
            work_dir=str(work_dir), data_root=str(data_root), seed=3, deterministic=True,
            protocol="fixed", resume=resume, cfg_options=small))

    run(tmp_path / "straight")
    interrupted = tmp_path / "interrupted"
    interrupted.mkdir()
    shutil.copy(tmp_path / "straight" / "epoch_1.pth", interrupted / "epoch_1.pth")
    after_first = checkpoint_weights(interrupted / "epoch_1.pth")
    run(interrupted, resume=True)
    resumed = checkpoint_weights(interrupted / "epoch_2.pth")
    assert_same_weights(resumed, checkpoint_weights(tmp_path / "straight" / "epoch_2.pth"))
    assert any(not torch.equal(after_first[k], resumed[k]) for k in resumed)
