"""Media in and out.

Reading is decord's (video frames and audio tracks) and OpenCV's (jpg frame folders):
:func:`read_frames` is the one place frames are decoded, optionally cropped and resized
chunk by chunk as they are decoded, for the pipeline's ``DecodeFrames``, the prepared
cache and prediction alike. Writing (:func:`write_video`, :func:`write_wav`) uses PyAV,
which ships its own FFmpeg, and soundfile; files are written atomically.

Every error names the file and what is wrong with it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.io.atomic import atomic_output

PathLike = Union[str, os.PathLike]
Box = Tuple[int, int, int, int]


def check_nonempty_file(path: PathLike, what: str) -> str:
    """``path`` as a str after checking it is a file of at least one byte; else
    ``FileNotFoundError`` / ``ValueError`` naming it and ``what`` it should have been."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: {what} not found")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file (0 bytes), where a {what} was expected")
    return path


# -- frames ------------------------------------------------------------------------
def open_video(path: PathLike):
    """A ``decord.VideoReader`` for ``path``; missing, empty or unreadable files raise an
    error naming the file."""
    import decord

    path = check_nonempty_file(path, "video file")
    try:
        reader = decord.VideoReader(path, num_threads=1)
    except Exception as err:  # decord raises RuntimeError/DECORDError for any bad input
        raise ValueError(
            f"{path}: cannot open as a video (truncated or not a video file: "
            f"{str(err).splitlines()[0][:160]})"
        ) from None
    if len(reader) == 0:
        raise ValueError(f"{path}: the video has no frames")
    return reader


def list_frame_files(frame_dir: PathLike) -> List[str]:
    """Sorted ``*.jpg`` files of a frame folder; a missing or empty folder raises an error
    naming it."""
    folder = Path(frame_dir)
    if not folder.is_dir():
        raise FileNotFoundError(f"{frame_dir}: frame folder not found")
    files = sorted(str(p) for p in folder.glob("*.jpg"))
    if not files:
        raise ValueError(f"{frame_dir}: frame folder holds no .jpg files")
    return files


def read_frame_files(files: Sequence[str]) -> np.ndarray:
    """Read jpg files as RGB uint8 ``(N, H, W, 3)``; an unreadable file raises an error
    naming it."""
    import cv2

    out = []
    for name in files:
        img = cv2.imread(name, cv2.IMREAD_COLOR)
        if img is None:
            raise ValueError(f"{name}: cannot read as an image")
        out.append(cv2.cvtColor(img, cv2.COLOR_BGR2RGB))
    if len({im.shape for im in out}) > 1:
        raise ValueError(f"{os.path.dirname(files[0])}: frames differ in size")
    return np.stack(out)


class FrameSource:
    """A video file (decord) or a folder of jpg frames, opened once: ``len(source)``
    frames, ``source.fps`` (None for a folder), :meth:`read` for a sorted array of frame
    numbers and :meth:`frame_size`. Opening decodes nothing."""

    def __init__(self, path: PathLike) -> None:
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            self._files: Optional[List[str]] = list_frame_files(self.path)
            self._reader = None
            self.fps: Optional[float] = None
        else:
            self._files = None
            self._reader = open_video(self.path)
            self.fps = float(self._reader.get_avg_fps())

    def __len__(self) -> int:
        return len(self._files) if self._files is not None else len(self._reader)

    def frame_size(self) -> Tuple[int, int]:
        """``(height, width)`` of the frames (reads the first one)."""
        first = self.read(np.array([0]))[0]
        return int(first.shape[0]), int(first.shape[1])

    def read(self, frames: np.ndarray) -> np.ndarray:
        """Frames ``frames`` (increasing, distinct) as RGB uint8 ``(N, H, W, 3)``."""
        if self._files is not None:
            return read_frame_files([self._files[i] for i in frames])
        try:
            return self._reader.get_batch([int(i) for i in frames]).asnumpy()
        except Exception as err:  # decord raises its own error types for every decode failure
            raise ValueError(
                f"{self.path}: cannot decode source frames {int(frames[0])}-{int(frames[-1])} "
                f"({str(err).splitlines()[0][:160]})"
            ) from None


def check_crop_box(box: Sequence[float], width: int, height: int, where: str) -> Box:
    """Return ``box`` as ints after checking ``0 <= x1 < x2 <= width`` and
    ``0 <= y1 < y2 <= height``; otherwise ``ValueError`` naming ``where``."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"{where}: crop box {tuple(box)} is inverted or empty (needs x1 < x2 and y1 < y2)")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise ValueError(f"{where}: crop box {tuple(box)} lies outside the {width}x{height} frame")
    return x1, y1, x2, y2


def crop_resize(frames: np.ndarray, box: Optional[Box], size: Optional[Tuple[int, int]],
                resize: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Crop ``frames`` ``(N, H, W, 3)`` uint8 to ``box`` (checked ints, or None) and resize
    each frame to ``size = (h, w)`` with cv2 bilinear (None keeps the size). With
    ``resize = (h0, w0)`` the frames are resized to that instead and the centre ``size``
    cut out of it (torchvision's ``Resize`` + ``CenterCrop``: offsets rounded)."""
    import cv2

    if box is not None:
        x1, y1, x2, y2 = box
        frames = frames[:, y1:y2, x1:x2]
    if resize is not None and size is not None:
        big = crop_resize(frames, None, resize)
        h, w = int(size[0]), int(size[1])
        if h > big.shape[1] or w > big.shape[2]:
            raise ValueError(f"a {h}x{w} centre crop does not fit frames resized to "
                             f"{big.shape[1]}x{big.shape[2]}")
        top, left = int(round((big.shape[1] - h) / 2.0)), int(round((big.shape[2] - w) / 2.0))
        return np.ascontiguousarray(big[:, top:top + h, left:left + w])
    if size is None or tuple(frames.shape[1:3]) == (int(size[0]), int(size[1])):
        return np.ascontiguousarray(frames)
    out = np.empty((frames.shape[0], int(size[0]), int(size[1]), 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i] = cv2.resize(frame, (int(size[1]), int(size[0])), interpolation=cv2.INTER_LINEAR)
    return out


def read_frames(source: Union[PathLike, FrameSource], indices: Sequence[int],
                box: Optional[Sequence[float]] = None, size: Optional[Tuple[int, int]] = None,
                chunk: Optional[int] = None, out: Optional[np.ndarray] = None,
                where: Optional[str] = None, resize: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Source frames ``indices`` (any order, repeats allowed) of a video file or frame
    folder as RGB uint8 ``(len(indices), h, w, 3)``: each distinct frame is decoded once,
    in increasing order, ``chunk`` frames at a time (None: all in one batch), and each
    chunk is cropped to ``box`` (source pixels) and resized to ``size = (h, w)`` (or
    resized to ``resize`` and centre-cropped to ``size``: :func:`crop_resize`) as soon
    as it is decoded, so memory holds at most one chunk at source resolution. ``out``,
    when given, receives the frames (e.g. a memory-mapped array). ``where`` names the
    sample or performance in errors (default: the source)."""
    src = source if isinstance(source, FrameSource) else FrameSource(source)
    where = where or src.path
    indices = np.asarray(indices, dtype=np.int64).reshape(-1)
    if indices.size == 0:
        raise ValueError(f"{where}: no frames asked for")
    unique, inverse = np.unique(indices, return_inverse=True)
    if unique[0] < 0 or unique[-1] >= len(src):
        raise ValueError(f"{where}: needs source frame {int(unique[-1] if unique[-1] >= len(src) else unique[0])} "
                         f"but {src.path} has {len(src)} frames")
    step = len(unique) if chunk is None else max(1, int(chunk))
    # a sorted run of distinct frames (the cache's case) is written chunk by chunk
    contiguous = np.array_equal(inverse, np.arange(len(indices)))
    checked = None
    for lo in range(0, len(unique), step):
        hi = min(lo + step, len(unique))
        frames = src.read(unique[lo:hi])
        if box is not None and checked is None:  # the frame size is known once decoded
            checked = check_crop_box(box, frames.shape[2], frames.shape[1], where)
        frames = crop_resize(frames, checked, size, resize)
        if out is None:
            out = np.empty((len(indices),) + frames.shape[1:], dtype=np.uint8)
        if contiguous:
            out[lo:hi] = frames
        else:
            mask = (inverse >= lo) & (inverse < hi)
            out[mask] = frames[inverse[mask] - lo]
    return out


# -- audio -------------------------------------------------------------------------
def _no_audio_track(path: str) -> ValueError:
    return ValueError(f"{path}: has no audio track, but the audio modality needs one")


def audio_rate(path: PathLike) -> int:
    """The sample rate of ``path``'s first audio stream (the one decord reads), from the
    container's header (PyAV; nothing is decoded). decord reads a track at its own rate
    with ``sample_rate=-1`` but does not report that rate (``AudioReader.sample_rate``
    stays -1 and ``duration()`` is whole seconds). Errors name the file."""
    import av

    path = check_nonempty_file(path, "audio source")
    try:
        with av.open(path, mode="r") as container:
            streams = container.streams.audio
            rate = int(streams[0].codec_context.sample_rate or 0) if streams else None
    except av.error.FFmpegError as err:
        raise ValueError(f"{path}: cannot read audio ({str(err).splitlines()[0][:200]})") from None
    if rate is None:
        raise _no_audio_track(path)
    if rate <= 0:
        raise ValueError(f"{path}: the audio track has no sample rate")
    return rate


def read_audio(path: PathLike, sample_rate: Optional[int] = None) -> Tuple[np.ndarray, int]:
    """``(samples, rate)``: mono float32 samples ``(S,)`` of ``path`` (wav, or a video with
    an audio track) at ``rate``: ``sample_rate``, or with None the file's own rate
    (:func:`audio_rate`; the samples are then as stored, nothing is resampled). Errors
    name the file: missing, no audio track, unreadable, NaN, or silent throughout."""
    import decord

    path = check_nonempty_file(path, "audio source")
    # the native rate is asked for by value, so the rate returned is by construction the
    # one decord delivered (resampling to the stream's own rate changes nothing)
    rate = audio_rate(path) if sample_rate is None else int(sample_rate)
    try:
        reader = decord.AudioReader(path, sample_rate=rate, mono=True)
        samples = reader[:].asnumpy()
    except Exception as err:  # decord raises its own error types for every failure
        text = str(err)
        if "find audio stream" in text:
            raise _no_audio_track(path) from None
        raise ValueError(f"{path}: cannot read audio ({text.splitlines()[0][:200]})") from None
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


# -- writing -----------------------------------------------------------------------
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
