"""Loading a training sample (160 frames + 10 mel images) three ways, and ``pisa prepare``.

- the released loader's approach, rebuilt here as the baseline: per-frame JPEG files
  opened with PIL, cropped and resized, and ``librosa.load`` of the whole wav, per sample;
- the framework without a cache: :class:`~pisa.data.adapters.pisa_dataset.PISADataset` decoding
  the mp4 and its audio track (decord) through its pipeline;
- the framework with the prepared cache (memory-mapped arrays);
- ``pisa prepare`` (the real command) against decord decoding the same file in order.
"""
from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.common import Result, speedup_result, throughput_result, timed

FRAME_SIZE = (112, 112)
MEL_SIZE = (224, 224)
AUDIO_RATE = 22050
NUM_CLIPS, CLIP_LEN = 10, 16


def sample_pipeline() -> List[dict]:
    """The PISA multimodal training pipeline (frames 112x112, mel images 224x224)."""
    return [
        dict(type="DecodeFrames"),
        dict(type="CropResize", size=FRAME_SIZE),
        dict(type="LoadAudio", sample_rate=AUDIO_RATE),
        dict(type="MelSpectrogram", size=MEL_SIZE),
        dict(type="PackAQAInputs", modalities=("video", "audio")),
    ]


def dataset_cfg(table: Path, cache_dir: Any = None) -> Dict[str, Any]:
    """``PISADataset`` config (``'video'`` layout: ``<table folder>/<id>.mp4`` with its own
    audio track) with the unidist scheme, 10 clips x 16 frames."""
    return dict(type="PISADataset", data_root=str(Path(table).parent), table=str(table),
                layout="video", split="train", scheme="unidist",
                pipeline=sample_pipeline(), cache_dir=None if cache_dir is None else str(cache_dir),
                check_media=False)


def build_dataset(cfg: Dict[str, Any]) -> Any:
    """The dataset, built with the framework's registry."""
    from pisa.registry import DATASETS

    return DATASETS.build(copy.deepcopy(cfg))


def released_loader_sample(jpeg_dir: Path, wav: Path, frame_inds: np.ndarray, fps: float,
                           crop: Sequence[int]) -> Tuple[np.ndarray, np.ndarray]:
    """The baseline: the released loader's way for one sample. ``frame_inds`` ``(K, T)``
    (0-based; files are ``img_<i+1>.jpg``). Returns frames uint8 ``(K*T, 112, 112, 3)`` and
    mel images ``(K, 224, 224)``."""
    import librosa
    from PIL import Image

    from pisa.data.transforms.mel import MEL_DEFAULTS, clip_windows, mel_images

    frames = []
    for index in np.asarray(frame_inds).reshape(-1):
        with Image.open(jpeg_dir / f"img_{int(index) + 1:05d}.jpg") as img:
            img = img.convert("RGB").crop(tuple(crop)).resize(FRAME_SIZE[::-1], Image.BILINEAR)
            frames.append(np.asarray(img))
    track, sr = librosa.load(str(wav), sr=AUDIO_RATE)
    # one clip at a time, as the released loader did
    mels = [mel_images([track[start:end]], sr, MEL_SIZE, **MEL_DEFAULTS)[0]
            for start, end in clip_windows(frame_inds, fps, sr)]
    return np.stack(frames), np.stack(mels)


def time_dataset_samples(dataset: Any, indices: Sequence[int]) -> Tuple[float, List[float]]:
    """Mean seconds per ``dataset[i]`` over ``indices`` (read in order, one pipeline, as a
    DataLoader worker reads them), and each time."""
    times = []
    for i in indices:
        seconds, sample = timed(lambda: dataset[i])
        if sample["inputs"]["video"].shape != (NUM_CLIPS, 3, CLIP_LEN, *FRAME_SIZE):
            raise RuntimeError(f"sample {i}: unexpected video shape {tuple(sample['inputs']['video'].shape)}")
        times.append(seconds)
    return float(np.mean(times)), times


def bench_loading(table: Path, jpeg_dir: Path, wav: Path, cache_dir: Path, fps: float,
                  crop: Sequence[int], num_samples: int) -> List[Result]:
    """The cached and uncached sample-loading figures against the released loader's approach
    (``cache_dir`` must hold the prepared entry; ``crop`` is the annotation's box). Times
    ``num_samples`` distinct samples."""
    plain = build_dataset(dataset_cfg(table))
    cached = build_dataset(dataset_cfg(table, cache_dir))
    indices = list(range(min(num_samples, len(plain))))
    base_times = []
    for i in indices:
        inds = plain.get_data_info(i)["frame_inds"]
        seconds, (frames, mels) = timed(lambda: released_loader_sample(jpeg_dir, wav, inds, fps, crop))
        base_times.append(seconds)
    baseline = float(np.mean(base_times))
    nocache, nocache_times = time_dataset_samples(plain, indices)
    # a cached read is short: read the samples 5 times over for a steadier mean
    cache, cache_times = time_dataset_samples(cached, indices * 5)
    samples = f"mean of {len(indices)} distinct samples of one performance"
    return [
        speedup_result(
            "cached_sample_load", "load one training sample from the prepared cache",
            "released loader: 160 JPEGs via PIL + librosa.load of the wav + 10 mels", cache,
            baseline, 100.0, notes=[samples + " (cached: each read 5 times)"],
            extra=dict(times_s=cache_times, baseline_times_s=base_times)),
        speedup_result(
            "nocache_sample_load", "load one training sample decoding the mp4 (no cache)",
            "released loader: 160 JPEGs via PIL + librosa.load of the wav + 10 mels", nocache,
            baseline, 4.0, notes=[samples + "; the first sample also decodes the audio track"],
            extra=dict(times_s=nocache_times, baseline_times_s=base_times)),
    ]


def decord_sequential_fps(video: Path, chunk: int = 64) -> float:
    """Frames per second of decord decoding every frame of ``video`` in order, in batches
    of ``chunk`` (default reader settings), and nothing else."""
    import decord

    start = time.perf_counter()
    reader = decord.VideoReader(str(video))
    total = len(reader)
    for lo in range(0, total, chunk):
        reader.get_batch(list(range(lo, min(total, lo + chunk)))).asnumpy()
    return total / (time.perf_counter() - start)


def bench_prepare(table: Path, video: Path, cache_dir: Path, work_dir: Path) -> Result:
    """``pisa prepare`` (through :func:`pisa.cli.main`, on a config naming the dataset)
    frames per second against decord's sequential decoding of the same video."""
    import contextlib
    import io

    import decord

    from pisa.cli import main as pisa_main

    num_frames = len(decord.VideoReader(str(video)))
    config = work_dir / "prepare_config.py"
    # as a user writes it: no absolute data root in the config, --data-root names it
    config.write_text(f"dataset = {dict(dataset_cfg(table), data_root='')!r}\n")
    # one-time start-up (imports, plugin loading) is not throughput: build the dataset once first
    build_dataset(dataset_cfg(table))
    before = decord_sequential_fps(video)
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
        seconds, code = timed(lambda: pisa_main(["prepare", str(config), "--cache-dir", str(cache_dir),
                                                 "--data-root", str(Path(table).parent)]))
    if code != 0:
        raise RuntimeError(f"pisa prepare failed (exit {code}): {out.getvalue()[-400:]}")
    after = decord_sequential_fps(video)
    baseline = (before + after) / 2
    ours = num_frames / seconds
    return throughput_result(
        "prepare_throughput", "pisa prepare throughput (frames/s; higher is better)",
        "decord decoding the same file in order, nothing else", ours, baseline, 0.8,
        unit="frames/s",
        notes=["includes reading the config, listing the performances, reading the audio track, "
               "cropping, resizing and writing the entry; not the one-time imports",
               "baseline: mean of a decode before and after"],
        extra=dict(baseline_runs_fps=[before, after], frames=num_frames, prepare_s=seconds))
