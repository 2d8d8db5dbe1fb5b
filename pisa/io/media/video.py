"""Frames in: a video file through the selected backend, or a folder of jpg frames.

:func:`read_frames` is the one place frames are decoded, for the pipeline's
``DecodeFrames``, the prepared cache, the baselines and prediction alike: each frame is
cropped and resized as soon as it is decoded, so memory holds one chunk at source
resolution at most.

Every backend gives the same frames: frame ``i`` is the ``i``-th frame in presentation
order, RGB uint8, turned as the file's display matrix says (phone videos store their
rotation there). Errors name the file and what is wrong, in the same words whichever
decoder read it.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.io.media.backends import PathLike, check_nonempty_file, decode_threads, resolve_backend

Box = Tuple[int, int, int, int]
Frame = np.ndarray


def cannot_open(path: str) -> ValueError:
    return ValueError(f"{path}: cannot open as a video (truncated, damaged or not a video file)")


def cannot_decode(path: str, frames: np.ndarray) -> ValueError:
    return ValueError(f"{path}: cannot decode source frames {int(frames[0])}-{int(frames[-1])} "
                      "(the file is damaged or ends before its index says)")


class VideoReader:
    """A video file opened by one backend. Subclasses set ``num_frames`` and ``fps`` when
    opened (decoding nothing) and implement :meth:`_decode`; they raise
    :func:`cannot_open`'s error for a file they cannot open. ``threads``: decoder threads."""

    backend = "?"

    def __init__(self, path: str, threads: int) -> None:
        self.path, self.threads = path, int(threads)
        self.num_frames = 0
        self.fps = 0.0

    def _decode(self, frames: np.ndarray) -> Iterator[Frame]:
        """RGB uint8 ``(H, W, 3)`` frames ``frames`` (sorted, distinct, in range), in
        order, turned for display."""
        raise NotImplementedError

    def read(self, frames: np.ndarray, each: Optional[Callable[[Frame], Frame]] = None) -> np.ndarray:
        """Frames ``frames`` (sorted, distinct) as ``(N, H, W, 3)``, each passed through
        ``each`` as soon as it is decoded. Any decoder failure is one error naming the
        file and frames."""
        try:
            out = stack_frames(self._decode(frames), len(frames), each, self.path)
        except ValueError as err:
            if str(err).startswith(self.path):  # ours, already naming the file
                raise
            raise cannot_decode(self.path, frames) from None
        except Exception:  # every decoder raises its own types, with FFmpeg's text
            raise cannot_decode(self.path, frames) from None
        if out is None:
            raise cannot_decode(self.path, frames)
        return out

    def close(self) -> None:
        """Release the file (readers also close when collected)."""


def stack_frames(frames: Iterator[Frame], count: int, each: Optional[Callable[[Frame], Frame]],
                 where: str) -> Optional[np.ndarray]:
    """``count`` frames from ``frames``, each through ``each``, into one array allocated
    at the first (no list of frames, no second copy); None when ``frames`` gives fewer."""
    out, got = None, 0
    for got, frame in enumerate(frames, 1):
        frame = frame if each is None else each(frame)
        if out is None:
            out = np.empty((count,) + frame.shape, dtype=frame.dtype)
        elif frame.shape != out.shape[1:]:
            raise ValueError(f"{where}: frames differ in size")
        out[got - 1] = frame
        if got == count:
            break
    return out if got == count else None


def open_video(path: PathLike, backend: Optional[str] = None) -> VideoReader:
    """``path`` opened by ``backend`` (None: the selected one, see
    :mod:`pisa.io.media.backends`); missing, empty, unreadable or frameless files raise an
    error naming the file."""
    path = check_nonempty_file(path, "video file")
    reader = resolve_backend("video", backend).impl(path, decode_threads())
    if reader.num_frames <= 0:
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


def read_frame_file(name: str) -> Frame:
    """A jpg file as RGB uint8 ``(H, W, 3)``; an unreadable file raises an error naming it."""
    import cv2

    img = cv2.imread(name, cv2.IMREAD_COLOR)
    if img is None:
        raise ValueError(f"{name}: cannot read as an image")
    return cv2.cvtColor(img, cv2.COLOR_BGR2RGB)


class FrameSource:
    """A video file (read by ``backend``, None: the selected one) or a folder of jpg
    frames, opened once: ``len(source)`` frames, ``source.fps`` (None for a folder),
    :meth:`read` for a sorted array of frame numbers and :meth:`frame_size`. Opening
    decodes nothing."""

    def __init__(self, path: PathLike, backend: Optional[str] = None) -> None:
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            self._files: Optional[List[str]] = list_frame_files(self.path)
            self._reader: Optional[VideoReader] = None
            self.fps: Optional[float] = None
            self.backend = "jpg"
        else:
            self._files = None
            self._reader = open_video(self.path, backend)
            self.fps = float(self._reader.fps)
            self.backend = self._reader.backend

    def __len__(self) -> int:
        return len(self._files) if self._files is not None else self._reader.num_frames

    def frame_size(self) -> Tuple[int, int]:
        """``(height, width)`` of the frames as displayed (reads the first one)."""
        first = self.read(np.array([0]))[0]
        return int(first.shape[0]), int(first.shape[1])

    def read(self, frames: np.ndarray, each: Optional[Callable[[Frame], Frame]] = None) -> np.ndarray:
        """Frames ``frames`` (increasing, distinct) as RGB uint8 ``(N, H, W, 3)``, each
        passed through ``each`` (e.g. a crop and resize) as soon as it is decoded."""
        if self._files is not None:
            files = (read_frame_file(self._files[i]) for i in frames)
            return stack_frames(files, len(frames), each, self.path)
        return self._reader.read(np.asarray(frames, dtype=np.int64), each)

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()


def check_crop_box(box: Sequence[float], width: int, height: int, where: str) -> Box:
    """Return ``box`` as ints after checking ``0 <= x1 < x2 <= width`` and
    ``0 <= y1 < y2 <= height``; otherwise ``ValueError`` naming ``where``."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"{where}: crop box {tuple(box)} is inverted or empty (needs x1 < x2 and y1 < y2)")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise ValueError(f"{where}: crop box {tuple(box)} lies outside the {width}x{height} frame")
    return x1, y1, x2, y2


def crop_resize_frame(frame: Frame, box: Optional[Box], size: Optional[Tuple[int, int]],
                      resize: Optional[Tuple[int, int]] = None) -> Frame:
    """One frame ``(H, W, 3)`` of :func:`crop_resize`."""
    import cv2

    if box is not None:
        x1, y1, x2, y2 = box
        frame = frame[y1:y2, x1:x2]
    if resize is not None and size is not None:
        big = crop_resize_frame(frame, None, resize)
        h, w = int(size[0]), int(size[1])
        if h > big.shape[0] or w > big.shape[1]:
            raise ValueError(f"a {h}x{w} centre crop does not fit frames resized to "
                             f"{big.shape[0]}x{big.shape[1]}")
        top, left = int(round((big.shape[0] - h) / 2.0)), int(round((big.shape[1] - w) / 2.0))
        return np.ascontiguousarray(big[top:top + h, left:left + w])
    if size is None or tuple(frame.shape[:2]) == (int(size[0]), int(size[1])):
        return np.ascontiguousarray(frame)
    return cv2.resize(frame, (int(size[1]), int(size[0])), interpolation=cv2.INTER_LINEAR)


def crop_resize(frames: np.ndarray, box: Optional[Box], size: Optional[Tuple[int, int]],
                resize: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Crop ``frames`` ``(N, H, W, 3)`` uint8 to ``box`` (checked ints, or None) and resize
    each frame to ``size = (h, w)`` with cv2 bilinear (None keeps the size). With
    ``resize = (h0, w0)`` the frames are resized to that instead and the centre ``size``
    cut out of it (torchvision's ``Resize`` + ``CenterCrop``: offsets rounded)."""
    return np.stack([crop_resize_frame(f, box, size, resize) for f in frames])


def read_frames(source: Union[PathLike, FrameSource], indices: Sequence[int],
                box: Optional[Sequence[float]] = None, size: Optional[Tuple[int, int]] = None,
                chunk: Optional[int] = 32, out: Optional[np.ndarray] = None,
                where: Optional[str] = None, resize: Optional[Tuple[int, int]] = None) -> np.ndarray:
    """Source frames ``indices`` (any order, repeats allowed) of a video file or frame
    folder as RGB uint8 ``(len(indices), h, w, 3)``: each distinct frame is decoded once,
    in increasing order, ``chunk`` frames at a time (None: all in one batch), and each
    frame is cropped to ``box`` (source pixels) and resized to ``size = (h, w)`` (or
    resized to ``resize`` and centre-cropped to ``size``: :func:`crop_resize`) as soon
    as it is decoded. ``out``, when given, receives the frames (e.g. a memory-mapped
    array). ``where`` names the sample or performance in errors (default: the source)."""
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
    checked: List[Box] = []

    def each(frame: Frame) -> Frame:
        if box is not None and not checked:  # the frame size is known once decoded
            checked.append(check_crop_box(box, frame.shape[1], frame.shape[0], where))
        return crop_resize_frame(frame, checked[0] if checked else None, size, resize)

    for lo in range(0, len(unique), step):
        hi = min(lo + step, len(unique))
        frames = src.read(unique[lo:hi], each)
        if out is None:
            out = np.empty((len(indices),) + frames.shape[1:], dtype=np.uint8)
        if contiguous:
            out[lo:hi] = frames
        else:
            mask = (inverse >= lo) & (inverse < hi)
            out[mask] = frames[inverse[mask] - lo]
    return out
