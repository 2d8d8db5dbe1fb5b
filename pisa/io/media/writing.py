"""Media out: H.264/AAC video with PyAV (which ships its own FFmpeg) and 16-bit wav with
soundfile, for synthetic datasets, examples and tests; files are written atomically."""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Optional

import numpy as np

from pisa.io.atomic import atomic_output
from pisa.io.media.backends import PathLike


def write_video(
    path: PathLike,
    frames: Iterable[np.ndarray],
    fps: float,
    audio: Optional[np.ndarray] = None,
    sample_rate: int = 44100,
    crf: int = 23,
) -> Path:
    """Write RGB uint8 frames ``(H, W, 3)`` as H.264 (yuv420p) at ``fps``, with ``audio``
    (float32 mono ``(S,)`` in -1..1) as an AAC track when given, atomically. Returns the
    path."""
    import av
    from fractions import Fraction

    path = Path(path)
    with atomic_output(path) as tmp:
        with av.open(str(tmp), "w", format="mp4") as container:
            rate = Fraction(fps).limit_denominator(1001)
            vstream = None
            astream = container.add_stream("aac", rate=sample_rate) if audio is not None else None
            for frame in frames:
                if vstream is None:
                    h, w = frame.shape[:2]
                    vstream = container.add_stream("libx264", rate=rate)
                    vstream.width, vstream.height = w - w % 2, h - h % 2
                    vstream.pix_fmt = "yuv420p"
                    # one encoder thread: x264's threaded lookahead and frame threads
                    # give different bytes under CPU contention, and a synthetic
                    # dataset must be the same file for the same seed
                    vstream.options = {"crf": str(crf), "preset": "veryfast", "threads": "1"}
                img = np.ascontiguousarray(frame[: vstream.height, : vstream.width])
                for packet in vstream.encode(av.VideoFrame.from_ndarray(img, format="rgb24")):
                    container.mux(packet)
            if vstream is None:
                raise ValueError(f"{path}: no frames to write")
            for packet in vstream.encode():
                container.mux(packet)
            if astream is not None:
                samples = np.clip(np.asarray(audio, dtype=np.float32), -1.0, 1.0)
                chunk = 1024 * 64
                for start in range(0, len(samples), chunk):
                    part = samples[None, start : start + chunk]
                    aframe = av.AudioFrame.from_ndarray(
                        np.ascontiguousarray(part), format="fltp", layout="mono"
                    )
                    aframe.sample_rate = sample_rate
                    aframe.pts = start
                    for packet in astream.encode(aframe):
                        container.mux(packet)
                for packet in astream.encode(None):
                    container.mux(packet)
    return path


def write_wav(path: PathLike, audio: np.ndarray, sample_rate: int) -> Path:
    """Write mono float audio as 16-bit PCM wav, atomically."""
    import soundfile

    with atomic_output(path) as tmp:
        soundfile.write(str(tmp), np.asarray(audio, dtype=np.float32), sample_rate,
                        subtype="PCM_16", format="WAV")
    return Path(path)
