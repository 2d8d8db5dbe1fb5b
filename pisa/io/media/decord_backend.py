"""decord: x86_64 wheels only (decord 0.6.0). Reads video frames in batches; reads audio
at the file's own rate, resampled by libswresample as the other backends do (decord's own
resampler shifts the samples by 16 at its first chunk)."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from pisa.io.media.backends import import_probe, register_backend
from pisa.io.media.video import Frame, VideoReader, cannot_open


@register_backend("video", "decord", import_probe("decord"))
class DecordReader(VideoReader):
    """``decord.VideoReader``: it turns frames for display itself and seeks to keyframes
    within a batch."""

    backend = "decord"

    def __init__(self, path: str, threads: int) -> None:
        import decord

        super().__init__(path, threads)
        try:
            self._reader = decord.VideoReader(path, num_threads=self.threads)
        except Exception:  # decord's own error types, with FFmpeg's text
            raise cannot_open(path) from None
        self.num_frames = len(self._reader)
        self.fps = float(self._reader.get_avg_fps())

    def _decode(self, frames: np.ndarray) -> Iterator[Frame]:
        try:
            batch = self._reader.get_batch([int(i) for i in frames]).asnumpy()
        except Exception:  # decord's own error types, with FFmpeg's text
            rotation = display_rotation(self.path)
            if rotation:  # decord 0.6 turns such frames wrongly and fails to copy them
                raise ValueError(f"{self.path}: decord cannot read videos with a display rotation "
                                 f"({rotation} degrees); select the pyav or torchcodec video backend") from None
            raise
        yield from batch

    def close(self) -> None:
        self._reader = None


def display_rotation(path: str) -> int:
    """The display rotation of ``path``'s first video frame in degrees (PyAV; 0 when none
    or unreadable)."""
    import av

    try:
        with av.open(path) as container:
            return int(next(container.decode(container.streams.video[0])).rotation or 0)
    except Exception:  # unreadable: no rotation to report
        return 0


@register_backend("audio", "decord", import_probe("decord", "av"))
def read_audio_decord(path: str, rate: int) -> np.ndarray:
    """The first audio track of ``path`` (decord) as mono float32 at ``rate``."""
    import decord

    from pisa.io.media.audio import audio_rate, cannot_read_audio, no_audio_track, resample

    native = audio_rate(path)
    try:
        samples = decord.AudioReader(path, sample_rate=native, mono=True)[:].asnumpy()
    except Exception as err:  # decord's own error types, with FFmpeg's text
        if "find audio stream" in str(err):
            raise no_audio_track(path) from None
        raise cannot_read_audio(path) from None
    return resample(np.asarray(samples, dtype=np.float32).reshape(-1), native, int(rate))
