"""Loading a training sample (160 frames + 10 mel images) three ways, and ``pisa prepare``.

- the released loader's approach, rebuilt here as the baseline: per-frame JPEG files
  opened with PIL, cropped and resized, and ``librosa.load`` of the whole wav, per sample;
- the framework without a cache: :class:`~pisa.data.adapters.pisa_dataset.PISADataset` decoding
  the mp4 and its audio track through its pipeline, once with each decoder backend;
- the framework with the prepared cache (memory-mapped arrays);
- ``pisa prepare`` (the real command) with each backend, against the fastest backend's
  plain decoding of the same file in order (RGB frames, nothing else).
"""
from __future__ import annotations

import contextlib
import copy
import os
import time
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.common import Result, speedup_result, throughput_result, timed

FRAME_SIZE = (112, 112)
MEL_SIZE = (224, 224)
AUDIO_RATE = 22050
NUM_CLIPS, CLIP_LEN = 10, 16
#: the decoder backends the rows compare, in the default order
MEDIA_BACKENDS = ("pyav", "torchcodec", "decord")


def runnable_backends(among: Sequence[str] = MEDIA_BACKENDS) -> List[str]:
    """The backends of ``among`` that run here (video and audio)."""
    from pisa.io.media import unavailable_reason

    return [b for b in among if unavailable_reason("video", b) is None
            and unavailable_reason("audio", b) is None]


@contextlib.contextmanager
def selected_backend(name: str):
    """Select ``name`` for video and audio while the block runs (as a config would)."""
    from pisa.io.media import AUDIO_ENV, VIDEO_ENV

    saved = {k: os.environ.get(k) for k in (VIDEO_ENV, AUDIO_ENV)}
    os.environ[VIDEO_ENV] = os.environ[AUDIO_ENV] = name
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


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
                  crop: Sequence[int], num_samples: int,
                  backends: Sequence[str] = MEDIA_BACKENDS) -> List[Result]:
    """The cached and uncached (once per backend) sample-loading figures against the
    released loader's approach (``cache_dir`` must hold the prepared entry; ``crop`` is
    the annotation's box). Times ``num_samples`` distinct samples."""
    cached = build_dataset(dataset_cfg(table, cache_dir))
    indices = list(range(min(num_samples, len(cached))))
    base_times = []
    for i in indices:
        inds = cached.get_data_info(i)["frame_inds"]
        seconds, (frames, mels) = timed(lambda: released_loader_sample(jpeg_dir, wav, inds, fps, crop))
        base_times.append(seconds)
    baseline = float(np.mean(base_times))
    # a cached read is short: read the samples 5 times over for a steadier mean
    cache, cache_times = time_dataset_samples(cached, indices * 5)
    samples = f"mean of {len(indices)} distinct samples of one performance"
    released = "released loader: 160 JPEGs via PIL + librosa.load of the wav + 10 mels"
    results = [speedup_result(
        "cached_sample_load", "load one training sample from the prepared cache", released, cache,
        baseline, 100.0, notes=[samples + " (cached: each read 5 times)"],
        extra=dict(times_s=cache_times, baseline_times_s=base_times))]
    for backend in runnable_backends(backends):
        with selected_backend(backend):
            plain = build_dataset(dataset_cfg(table))
            nocache, nocache_times = time_dataset_samples(plain, indices)
        results.append(speedup_result(
            f"nocache_sample_load_{backend}", f"load one training sample decoding the mp4 with {backend} (no cache)",
            released, nocache, baseline, 1.5,
            notes=[samples + "; the first sample also decodes the audio track"],
            extra=dict(times_s=nocache_times, baseline_times_s=base_times)))
    return results


def plain_sequential_fps(video: Path, backend: str, chunk: int = 64) -> float:
    """Frames per second of ``backend`` decoding every frame of ``video`` to RGB in order
    (its own API, its decoder threads as the framework sizes them), and nothing else."""
    from pisa.io.media import decode_threads

    threads = decode_threads()
    start = time.perf_counter()
    if backend == "decord":
        import decord

        reader = decord.VideoReader(str(video), num_threads=threads)
        total = len(reader)
        for lo in range(0, total, chunk):
            reader.get_batch(list(range(lo, min(total, lo + chunk)))).asnumpy()
    elif backend == "torchcodec":
        from torchcodec.decoders import VideoDecoder

        decoder = VideoDecoder(str(video), num_ffmpeg_threads=threads, dimension_order="NHWC")
        total = len(decoder)
        for lo in range(0, total, chunk):
            decoder.get_frames_in_range(lo, min(total, lo + chunk)).data.numpy()
    else:
        import av

        total = 0
        with av.open(str(video)) as container:
            stream = container.streams.video[0]
            stream.thread_type, stream.thread_count = "AUTO", threads
            for frame in container.decode(stream):
                frame.to_ndarray(format="rgb24")
                total += 1
    return total / (time.perf_counter() - start)


def fastest_plain_decode(video: Path) -> Tuple[float, Dict[str, float]]:
    """The fastest backend's :func:`plain_sequential_fps` and every backend's."""
    each = {b: plain_sequential_fps(video, b) for b in runnable_backends()}
    return max(each.values()), each


def bench_prepare(table: Path, video: Path, cache_dir: Path, work_dir: Path,
                  backends: Sequence[str] = MEDIA_BACKENDS) -> List[Result]:
    """``pisa prepare`` (through :func:`pisa.cli.main`, on a config naming the dataset)
    frames per second with each backend, against the fastest backend's plain sequential
    decoding of the same video. The first backend's entry is written to ``cache_dir``."""
    import io

    from pisa.cli import main as pisa_main
    from pisa.io.media import FrameSource

    num_frames = len(FrameSource(video))
    config = work_dir / "prepare_config.py"
    # as a user writes it: no absolute data root in the config, --data-root names it
    config.write_text(f"dataset = {dict(dataset_cfg(table), data_root='')!r}\n")
    # one-time start-up (imports, plugin loading) is not throughput: build the dataset once first
    build_dataset(dataset_cfg(table))
    before, before_each = fastest_plain_decode(video)
    runs = {}
    for i, backend in enumerate(runnable_backends(backends)):
        out = io.StringIO()
        target = cache_dir if i == 0 else work_dir / f"prepare_cache_{backend}"
        with selected_backend(backend), contextlib.redirect_stdout(out), contextlib.redirect_stderr(out):
            seconds, code = timed(lambda: pisa_main(["prepare", str(config), "--cache-dir", str(target),
                                                     "--data-root", str(Path(table).parent)]))
        if code != 0:
            raise RuntimeError(f"pisa prepare ({backend}) failed (exit {code}): {out.getvalue()[-400:]}")
        runs[backend] = seconds
    after, after_each = fastest_plain_decode(video)
    baseline = (before + after) / 2
    fastest = max(before_each, key=lambda b: before_each[b] + after_each[b])
    return [throughput_result(
        f"prepare_throughput_{backend}", f"pisa prepare throughput with {backend} (frames/s; higher is better)",
        f"the fastest plain sequential decode of the same file ({fastest}: RGB frames, nothing else)",
        num_frames / seconds, baseline, 0.9, unit="frames/s",
        notes=["includes reading the config, listing the performances, reading the audio track, "
               "cropping, resizing and writing the entry; not the one-time imports",
               "baseline: mean of the fastest backend's decode before and after; each backend's: "
               + ", ".join(f"{b} {before_each[b]:.0f}/{after_each[b]:.0f}" for b in before_each)],
        extra=dict(baseline_runs_fps=[before, after], plain_fps_before=before_each,
                   plain_fps_after=after_each, frames=num_frames, prepare_s=seconds))
        for backend, seconds in runs.items()]
