"""Pipeline transforms: decoding the frames a sample needs (decord), cropping, resizing,
flipping, reading the audio, the per-clip mel spectrogram, and packing the sample.

A dataset hands each pipeline a dict with these keys (see :mod:`pisa.data.base`):
``video_path`` (a video file) or ``frame_dir`` (a folder of ``*.jpg``), ``audio_path``
(a wav, or None for the video's own track), ``frame_offset`` (source frame of the trimmed
performance's frame 0), ``frame_inds`` ``(K, T)`` int64 (relative to the trimmed
performance), ``fps``, ``crop_box`` ``(x1, y1, x2, y2)`` or None, ``cache_entry`` (a
prepared-cache folder or None), ``label``, ``score``, ``sample_id``, ``group`` and
``ann_source`` (where the sample's annotation came from, for error messages).
"""
from __future__ import annotations

import os
from collections import OrderedDict
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import torch

from pisa.data import audio as audio_lib


def _where(results: Dict) -> str:
    source = results.get("video_path") or results.get("frame_dir")
    return f"sample {results.get('sample_id')} ({results.get('ann_source')}, {source})"


def check_crop_box(box: Sequence[float], width: int, height: int, where: str) -> Tuple[int, int, int, int]:
    """Return ``box`` as ints after checking ``0 <= x1 < x2 <= width`` and
    ``0 <= y1 < y2 <= height``; otherwise ``ValueError`` naming ``where``."""
    x1, y1, x2, y2 = (int(round(float(v))) for v in box)
    if x2 <= x1 or y2 <= y1:
        raise ValueError(f"{where}: crop box {tuple(box)} is inverted or empty (needs x1 < x2 and y1 < y2)")
    if x1 < 0 or y1 < 0 or x2 > width or y2 > height:
        raise ValueError(
            f"{where}: crop box {tuple(box)} lies outside the {width}x{height} frame"
        )
    return x1, y1, x2, y2


def crop_resize(frames: np.ndarray, box: Optional[Sequence[int]], size: Optional[Tuple[int, int]]) -> np.ndarray:
    """Crop ``frames`` ``(N, H, W, 3)`` uint8 to ``box`` (checked ints, or None) and resize
    each frame to ``size = (h, w)`` with cv2 bilinear (None keeps the size). The prepared
    cache uses this same function, so cached and decoded samples agree."""
    import cv2

    if box is not None:
        x1, y1, x2, y2 = box
        frames = frames[:, y1:y2, x1:x2]
    if size is None or tuple(frames.shape[1:3]) == (int(size[0]), int(size[1])):
        return np.ascontiguousarray(frames)
    out = np.empty((frames.shape[0], int(size[0]), int(size[1]), 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        out[i] = cv2.resize(frame, (int(size[1]), int(size[0])), interpolation=cv2.INTER_LINEAR)
    return out


def open_video(path: str):
    """A ``decord.VideoReader`` for ``path``; missing, empty or unreadable files raise an
    error naming the file."""
    import decord

    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: video file not found")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file (0 bytes), not a video")
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


def list_frame_files(frame_dir: str) -> List[str]:
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


def decode_frames(results: Dict, indices: np.ndarray) -> np.ndarray:
    """Decode source frames ``indices`` (any order, repeats allowed) of the sample's video or
    frame folder: each distinct frame once, in increasing order, in one decord
    ``get_batch``. Returns uint8 ``(len(indices), H, W, 3)``."""
    unique, inverse = np.unique(indices, return_inverse=True)
    if results.get("video_path"):
        reader = open_video(results["video_path"])
        if unique[-1] >= len(reader):
            raise ValueError(
                f"{_where(results)}: needs source frame {int(unique[-1])} but the video has "
                f"{len(reader)} frames"
            )
        try:
            frames = reader.get_batch(unique.tolist()).asnumpy()
        except Exception as err:  # decord raises its own error types for every decode failure
            raise ValueError(
                f"{results['video_path']}: cannot decode source frames {int(unique[0])}-"
                f"{int(unique[-1])} ({str(err).splitlines()[0][:160]})"
            ) from None
    else:
        files = list_frame_files(results["frame_dir"])
        if unique[-1] >= len(files):
            raise ValueError(
                f"{_where(results)}: needs frame {int(unique[-1])} but the folder has {len(files)} frames"
            )
        frames = read_frame_files([files[i] for i in unique])
    return frames[inverse.reshape(-1)]


class DecodeFrames:
    """Read the sample's frames.

    Reads ``frame_inds``, ``frame_offset``, ``video_path`` / ``frame_dir``,
    ``cache_entry``. Adds ``imgs`` uint8 ``(K, T, H, W, 3)`` RGB and ``from_cache`` (True
    when the frames came, already cropped and resized, from the prepared cache: then no
    decoder runs)."""

    def __init__(self) -> None:
        self._memmaps: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def _cached(self, entry: str, name: str) -> np.ndarray:
        # memmaps open lazily, per worker process, and stay open for the next sample
        key = os.path.join(entry, name)
        if key not in self._memmaps:
            self._memmaps[key] = np.load(key, mmap_mode="r")
            while len(self._memmaps) > 16:
                self._memmaps.popitem(last=False)
        return self._memmaps[key]

    def __call__(self, results: Dict) -> Dict:
        inds = np.asarray(results["frame_inds"], dtype=np.int64)
        k, t = inds.shape
        if results.get("cache_entry"):
            frames = self._cached(results["cache_entry"], "frames.npy")
            if inds.max() >= len(frames):
                raise ValueError(f"{_where(results)}: cache entry {results['cache_entry']} holds "
                                 f"{len(frames)} frames, the sample needs frame {int(inds.max())}")
            imgs = np.asarray(frames[inds.reshape(-1)])
            results["from_cache"] = True
        else:
            imgs = decode_frames(results, inds.reshape(-1) + int(results.get("frame_offset", 0)))
            results["from_cache"] = False
        results["imgs"] = imgs.reshape(k, t, *imgs.shape[1:])
        return results

    def __repr__(self) -> str:
        return "DecodeFrames()"


class CropResize:
    """Crop every frame to the annotation's box and resize to ``size = (h, w)`` (cv2
    bilinear; default 112x112). Reads ``imgs``, ``crop_box``, ``from_cache``; replaces
    ``imgs``. Cached frames were cropped and resized when prepared, so they pass as they
    are. A box outside the frame, or inverted, raises an error naming the sample."""

    def __init__(self, size: Sequence[int] = (112, 112)) -> None:
        self.size = (int(size[0]), int(size[1]))

    def __call__(self, results: Dict) -> Dict:
        imgs = results["imgs"]
        k, t, h, w, c = imgs.shape
        if results.get("from_cache"):
            if (h, w) != self.size:
                raise ValueError(f"{_where(results)}: cached frames are {h}x{w}, the pipeline "
                                 f"wants {self.size[0]}x{self.size[1]}; run `pisa prepare` again")
            return results
        box = results.get("crop_box")
        if box is not None:
            box = check_crop_box(box, w, h, _where(results))
        out = crop_resize(imgs.reshape(k * t, h, w, c), box, self.size)
        results["imgs"] = out.reshape(k, t, *out.shape[1:])
        return results

    def __repr__(self) -> str:
        return f"CropResize(size={self.size})"


class RandomFlip:
    """Flip the whole sample left-right with probability ``prob`` (the same for every frame
    of every clip). Reads and replaces ``imgs``; adds ``flip`` (bool)."""

    def __init__(self, prob: float = 0.5) -> None:
        self.prob = float(prob)

    def __call__(self, results: Dict) -> Dict:
        flip = bool(np.random.random() < self.prob)
        if flip:
            results["imgs"] = np.ascontiguousarray(results["imgs"][:, :, :, ::-1])
        results["flip"] = flip
        return results

    def __repr__(self) -> str:
        return f"RandomFlip(prob={self.prob})"


class LoadAudio:
    """Read the performance's mono audio at ``sample_rate`` (decord): from ``audio_path``
    (a wav) or, when None, the video's own track; from the prepared cache when there is
    one. Reads ``audio_path``, ``video_path``, ``frame_offset``, ``fps``, ``cache_entry``.
    Adds ``audio`` float32 ``(S,)``, ``audio_sr`` and ``audio_offset`` (the sample index of
    the trimmed performance's frame 0: the audio is aligned with the source video)."""

    def __init__(self, sample_rate: int = 22050, keep: int = 2) -> None:
        self.sample_rate = int(sample_rate)
        self.keep = int(keep)
        self._tracks: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def _track(self, path: str) -> np.ndarray:
        # consecutive samples mostly come from the same performance: keep a few tracks
        if path not in self._tracks:
            self._tracks[path] = audio_lib.load_audio(path, self.sample_rate)
            while len(self._tracks) > self.keep:
                self._tracks.popitem(last=False)
        return self._tracks[path]

    def __call__(self, results: Dict) -> Dict:
        if results.get("cache_entry"):
            results["audio"] = np.load(os.path.join(results["cache_entry"], "audio.npy"), mmap_mode="r")
            results["audio_offset"] = 0
        else:
            source = results.get("audio_path") or results.get("video_path")
            if not source:
                raise ValueError(f"{_where(results)}: no audio source (no audio file and no video)")
            results["audio"] = self._track(source)
            results["audio_offset"] = audio_offset(results.get("frame_offset", 0), results["fps"],
                                                   self.sample_rate)
        results["audio_sr"] = self.sample_rate
        return results

    def __repr__(self) -> str:
        return f"LoadAudio(sample_rate={self.sample_rate})"


def audio_offset(frame_offset: int, fps: float, sample_rate: int) -> int:
    """Audio sample index of source frame ``frame_offset``."""
    return int(round(int(frame_offset) / float(fps) * int(sample_rate)))


class MelSpectrogram:
    """Per clip, the audio from the clip's first to its last frame
    (``samples = frame / fps * sr``) as a mel image (:func:`pisa.data.audio.mel_images`,
    released settings by default). Reads ``audio``, ``audio_sr``, ``audio_offset``,
    ``frame_inds``, ``fps``. Adds ``mel`` float32 ``(K, 1, H, W)``."""

    def __init__(self, size: Sequence[int] = (224, 224), n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, fmin: float = 20.0, fmax: float = 8300.0, top_db: float = 80.0,
                 max_shortfall_s: float = 0.1) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.mel_args = dict(n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin,
                             fmax=fmax, top_db=top_db)
        self.max_shortfall_s = float(max_shortfall_s)

    def __call__(self, results: Dict) -> Dict:
        audio, sr = results["audio"], int(results["audio_sr"])
        windows = audio_lib.clip_windows(results["frame_inds"], results["fps"], sr, results["audio_offset"])
        segments = []
        for k, (start, end) in enumerate(windows):
            # an audio track may end a few ms before the last video frame
            if end > len(audio) + self.max_shortfall_s * sr:
                raise ValueError(
                    f"{_where(results)}: clip {k} needs audio up to {end / sr:.2f} s but the "
                    f"audio ends at {len(audio) / sr:.2f} s"
                )
            segment = np.asarray(audio[start:end])
            if segment.size == 0:
                raise ValueError(f"{_where(results)}: clip {k} ({start / sr:.2f}-{end / sr:.2f} s): "
                                 "the audio window is empty")
            segments.append(segment)
        results["mel"] = audio_lib.mel_images(segments, sr, self.size, **self.mel_args)[:, None]
        return results

    def __repr__(self) -> str:
        return f"MelSpectrogram(size={self.size}, {self.mel_args})"


class PackAQAInputs:
    """Pack the sample as the model expects (DEVELOPERS.md, "The sample contract"):
    ``inputs.video`` uint8 ``(K, 3, T, H, W)`` from ``imgs`` and ``inputs.audio`` float32
    ``(K, 1, H, W)`` from ``mel``, for the listed ``modalities``; ``data_samples`` with
    ``label``, ``score``, ``sample_id``, ``group``."""

    def __init__(self, modalities: Sequence[str] = ("video", "audio")) -> None:
        unknown = set(modalities) - {"video", "audio"}
        if unknown or not modalities:
            raise ValueError(f"PackAQAInputs: modalities must be a non-empty subset of "
                             f"('video', 'audio'), got {tuple(modalities)}")
        self.modalities = tuple(modalities)

    def __call__(self, results: Dict) -> Dict:
        inputs = {}
        if "video" in self.modalities:
            imgs = np.ascontiguousarray(np.asarray(results["imgs"]).transpose(0, 4, 1, 2, 3))
            inputs["video"] = torch.from_numpy(imgs)
        if "audio" in self.modalities:
            inputs["audio"] = torch.from_numpy(np.ascontiguousarray(results["mel"], dtype=np.float32))
        samples = {"label": int(results["label"]), "score": float(results["score"]),
                   "sample_id": str(results["sample_id"]), "group": str(results["group"])}
        return {"inputs": inputs, "data_samples": samples}

    def __repr__(self) -> str:
        return f"PackAQAInputs(modalities={self.modalities})"


TRANSFORM_CLASSES = [DecodeFrames, CropResize, RandomFlip, LoadAudio, MelSpectrogram, PackAQAInputs]
