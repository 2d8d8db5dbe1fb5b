"""torchcodec: PyTorch's decoder, on the system's FFmpeg libraries (4 to 8). Reads video
frames (exact seek mode: the index is read when opened) and audio tracks."""
from __future__ import annotations

from typing import Iterator

import numpy as np

from pisa.io.media.backends import import_probe, register_backend
from pisa.io.media.video import Frame, VideoReader, cannot_open

_probe = import_probe("torchcodec.decoders")


@register_backend("video", "torchcodec", _probe)
class TorchcodecReader(VideoReader):
    """``torchcodec.decoders.VideoDecoder``: it turns frames for display itself and seeks
    to keyframes for a batch of frames."""

    backend = "torchcodec"

    def __init__(self, path: str, threads: int) -> None:
        from torchcodec.decoders import VideoDecoder

        super().__init__(path, threads)
        try:
            self._decoder = VideoDecoder(path, seek_mode="exact", dimension_order="NHWC",
                                         num_ffmpeg_threads=self.threads)
            meta = self._decoder.metadata
            self.num_frames = int(meta.num_frames or 0)
            self.fps = float(meta.average_fps or 0.0)
        except Exception:  # ValueError/RuntimeError with FFmpeg's text
            raise cannot_open(path) from None
        if self.num_frames < (meta.num_frames_from_header or 0):  # the data ends before the index
            raise cannot_open(path)

    def _decode(self, frames: np.ndarray) -> Iterator[Frame]:
        yield from self._decoder.get_frames_at(indices=[int(i) for i in frames]).data.numpy()

    def close(self) -> None:
        self._decoder = None


@register_backend("audio", "torchcodec", _probe)
def read_audio_torchcodec(path: str, rate: int) -> np.ndarray:
    """The first audio track of ``path`` as mono float32 at ``rate`` (libswresample)."""
    from torchcodec.decoders import AudioDecoder

    from pisa.io.media.audio import cannot_read_audio, has_audio_track, no_audio_track

    if not has_audio_track(path):
        raise no_audio_track(path)
    try:
        samples = AudioDecoder(path, sample_rate=int(rate), num_channels=1).get_all_samples().data
    except Exception:  # RuntimeError/ValueError with FFmpeg's text
        raise cannot_read_audio(path) from None
    return samples.numpy().reshape(-1).astype(np.float32, copy=False)
