"""Audio in: the mono float32 samples of a wav or of a video's audio track, through the
selected audio backend (:mod:`pisa.io.media.backends`). Rate and channel conversion is
libswresample's in every backend, so they give the same samples."""
from __future__ import annotations

from typing import Optional, Tuple

import numpy as np

from pisa.io.media.backends import PathLike, check_nonempty_file, resolve_backend


def no_audio_track(path: str) -> ValueError:
    return ValueError(f"{path}: has no audio track, but the audio modality needs one")


def cannot_read_audio(path: str) -> ValueError:
    return ValueError(f"{path}: cannot read audio (truncated, damaged or not a media file)")


def _audio_header(path: str) -> Optional[int]:
    """The first audio stream's sample rate from the header (None: no audio stream)."""
    import av

    try:
        with av.open(path, mode="r") as container:
            streams = container.streams.audio
            return int(streams[0].codec_context.sample_rate or 0) if streams else None
    except av.error.FFmpegError:
        raise cannot_read_audio(path) from None


def has_audio_track(path: PathLike) -> bool:
    """Whether ``path`` holds an audio stream (read from the header; PyAV)."""
    return _audio_header(check_nonempty_file(path, "audio source")) is not None


def audio_rate(path: PathLike) -> int:
    """The sample rate of ``path``'s first audio stream, from the container's header
    (PyAV; nothing is decoded). Errors name the file."""
    path = check_nonempty_file(path, "audio source")
    rate = _audio_header(path)
    if rate is None:
        raise no_audio_track(path)
    if rate <= 0:
        raise ValueError(f"{path}: the audio track has no sample rate")
    return rate


def resample(samples: np.ndarray, rate: int, to: int) -> np.ndarray:
    """Mono float32 ``samples`` at ``rate`` resampled to ``to`` by libswresample (PyAV),
    as the backends resample while decoding."""
    import av

    if int(rate) == int(to):
        return samples
    frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples[None], dtype=np.float32),
                                       format="flt", layout="mono")
    frame.sample_rate = int(rate)
    resampler = av.AudioResampler(format="flt", layout="mono", rate=int(to))
    parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
    parts += [f.to_ndarray().reshape(-1) for f in resampler.resample(None)]
    return np.concatenate(parts) if parts else np.zeros(0, np.float32)


def read_audio(path: PathLike, sample_rate: Optional[int] = None,
               backend: Optional[str] = None) -> Tuple[np.ndarray, int]:
    """``(samples, rate)``: mono float32 samples ``(S,)`` of ``path`` (wav, or a video with
    an audio track) at ``rate``: ``sample_rate``, or with None the file's own rate
    (:func:`audio_rate`; nothing is resampled then). ``backend``: None for the selected
    one. Errors name the file: missing, no audio track, unreadable, NaN, or silent
    throughout."""
    path = check_nonempty_file(path, "audio source")
    rate = audio_rate(path) if sample_rate is None else int(sample_rate)
    samples = resolve_backend("audio", backend).impl(path, rate)
    samples = np.asarray(samples, dtype=np.float32).reshape(-1)
    check_audio(samples, path)
    return samples, rate


def load_audio(path: PathLike, sample_rate: Optional[int]) -> np.ndarray:
    """The samples of :func:`read_audio` (``sample_rate`` None: the file's own rate)."""
    return read_audio(path, sample_rate)[0]


def check_audio(samples: np.ndarray, source: str) -> None:
    """Raise ``ValueError`` naming ``source`` when ``samples`` are empty, hold NaN/inf, or
    are silent (all exactly zero)."""
    if samples.size == 0:
        raise ValueError(f"{source}: the audio track is empty")
    if not np.all(np.isfinite(samples)):
        raise ValueError(f"{source}: the audio holds NaN or infinite samples")
    if not np.any(samples):
        raise ValueError(f"{source}: the audio is silent (every sample is 0)")
