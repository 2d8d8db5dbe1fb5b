"""Pipeline transforms: decoding the frames a sample needs, cropping, resizing, flipping,
reading the audio, the per-clip mel spectrogram, and packing the sample. Reading media
is :mod:`pisa.io.media`'s; the transforms say which frames and where they go.

A dataset hands each pipeline a dict with these keys (see :mod:`pisa.data.core.base_dataset`):
``video_path`` (a video file) or ``frame_dir`` (a folder of ``*.jpg``), ``audio_path``
(a wav, or None for the video's own track), ``frame_offset`` (source frame of the trimmed
performance's frame 0), ``frame_inds`` ``(K, T)`` int64 (relative to the trimmed
performance), ``fps``, ``crop_box`` ``(x1, y1, x2, y2)`` or None, ``cache_entry`` (a
prepared-cache folder or None), ``label``, ``score``, ``sample_id``, ``group`` and
``ann_source`` (where the sample's annotation came from, for error messages).
"""
from __future__ import annotations

import functools
import json
import os
from collections import OrderedDict
from typing import Any, Callable, Dict, Optional, Sequence

import numpy as np
import torch

from pisa.data.transforms import mel as audio_lib
from pisa.io.media import FrameSource, check_crop_box, crop_resize, read_audio, read_frames
from pisa.registry import component


class KeptOpen:
    """The last ``size`` objects ``open(path)`` made, by path, for the next samples (they
    mostly come from the same performance: a video reader kept open decodes on from where
    the last sample ended instead of seeking from the last keyframe). Keyed by process
    (DataLoader workers open their own) and by the file's size and mtime (a replaced or
    truncated file is opened afresh)."""

    def __init__(self, size: int, open: Callable[[str], Any]) -> None:
        self.size, self.open = int(size), open
        self._items: "OrderedDict[tuple, Any]" = OrderedDict()

    def get(self, path: str) -> Any:
        st = os.stat(path) if os.path.exists(path) else None
        key = (os.getpid(), path, st and st.st_size, st and st.st_mtime_ns)
        if key not in self._items:
            self._items[key] = self.open(path)
            while len(self._items) > self.size:
                self._items.popitem(last=False)
        return self._items[key]

    def __getstate__(self) -> dict:
        # open readers do not travel to a spawned worker: it opens its own
        return {"size": self.size, "open": self.open, "_items": OrderedDict()}


def _where(results: Dict) -> str:
    source = results.get("video_path") or results.get("frame_dir")
    return f"sample {results.get('sample_id')} ({results.get('ann_source')}, {source})"


@component("transform")
class DecodeFrames:
    """Read the sample's frames.

    Reads ``frame_inds``, ``frame_offset``, ``video_path`` / ``frame_dir``,
    ``cache_entry``. Adds ``imgs`` uint8 ``(K, T, H, W, 3)`` RGB and ``from_cache`` (True
    when the frames came, already cropped and resized, from the prepared cache: then no
    decoder runs). ``keep_open`` readers stay open for the next samples.

    Directly before a :class:`CropResize`, the pipeline hands it that step
    (:meth:`crop_resize_while_decoding`): each frame is then cropped and resized as soon
    as it is decoded (``sized`` is added, and the step passes the frames on), so a
    sample never holds its frames at source resolution. The frames are the same."""

    example = dict(args=dict(keep_open=1), input=lambda: _example_cache_entry(), adds=("imgs", "from_cache"))

    def __init__(self, keep_open: int = 2) -> None:
        self.keep_open = int(keep_open)
        # memmaps of cache entries and readers open lazily, per worker process
        self._memmaps = KeptOpen(16, functools.partial(np.load, mmap_mode="r"))
        self._sources = KeptOpen(max(self.keep_open, 1), FrameSource)
        self._sizing: Optional["CropResize"] = None

    def crop_resize_while_decoding(self, step: "CropResize") -> None:
        """Crop and resize as ``step`` does while decoding (see the class docstring)."""
        self._sizing = step

    def __call__(self, results: Dict) -> Dict:
        inds = np.asarray(results["frame_inds"], dtype=np.int64)
        k, t = inds.shape
        if results.get("cache_entry"):
            frames = self._memmaps.get(os.path.join(results["cache_entry"], "frames.npy"))
            if inds.max() >= len(frames):
                raise ValueError(f"{_where(results)}: cache entry {results['cache_entry']} holds "
                                 f"{len(frames)} frames, the sample needs frame {int(inds.max())}")
            imgs = np.asarray(frames[inds.reshape(-1)])
            results["from_cache"] = True
        else:
            source = self._sources.get(results.get("video_path") or results.get("frame_dir"))
            sizing = self._sizing
            crop = {} if sizing is None else dict(box=results.get("crop_box"), size=sizing.size,
                                                  resize=sizing.resize)
            imgs = read_frames(source, inds.reshape(-1) + int(results.get("frame_offset", 0)),
                               where=_where(results), **crop)
            results["from_cache"] = False
            results["sized"] = sizing is not None
        results["imgs"] = imgs.reshape(k, t, *imgs.shape[1:])
        return results

    def __repr__(self) -> str:
        return f"DecodeFrames(keep_open={self.keep_open})"


@component("transform")
class CropResize:
    """Crop every frame to the annotation's box and resize to ``size = (h, w)`` (cv2
    bilinear; default 112x112, the paper's text), or with ``resize = (h0, w0)`` resize to
    that and cut the centre ``size`` out (the released loader's resize + centre crop).
    Reads ``imgs``, ``crop_box``, ``from_cache``; replaces ``imgs``. Cached frames were
    cropped and resized when prepared, and so were frames ``DecodeFrames`` sized while
    decoding (``sized``), so they pass as they are. A box outside the frame, or inverted,
    raises an error naming the sample."""

    example = dict(args=dict(size=(8, 8)), input=lambda: dict(example_frames(), crop_box=(2, 1, 18, 15)),
                   adds=("imgs",))

    def __init__(self, size: Sequence[int] = (112, 112),
                 resize: Optional[Sequence[int]] = None) -> None:
        self.size = (int(size[0]), int(size[1]))
        self.resize = None if resize is None else (int(resize[0]), int(resize[1]))

    def __call__(self, results: Dict) -> Dict:
        imgs = results["imgs"]
        k, t, h, w, c = imgs.shape
        if results.get("from_cache"):
            if (h, w) != self.size:
                raise ValueError(f"{_where(results)}: cached frames are {h}x{w}, the pipeline "
                                 f"wants {self.size[0]}x{self.size[1]}; run `pisa prepare` again")
            return results
        if results.get("sized"):
            return results
        box = results.get("crop_box")
        if box is not None:
            box = check_crop_box(box, w, h, _where(results))
        out = crop_resize(imgs.reshape(k * t, h, w, c), box, self.size, self.resize)
        results["imgs"] = out.reshape(k, t, *out.shape[1:])
        return results

    def __repr__(self) -> str:
        return f"CropResize(size={self.size}, resize={self.resize})"


@component("transform")
class RandomFlip:
    """Flip the whole sample left-right with probability ``prob`` (the same for every frame
    of every clip). Reads and replaces ``imgs``; adds ``flip`` (bool). Draws from numpy's
    global generator, which ``EpochSeedHook`` seeds each epoch, in a DataLoader worker from
    ``(seed, epoch, rank, worker id)`` (:class:`pisa.data.core.seeding.WorkerEpochSeeds`), so an
    epoch flips the same samples whatever ran before it (a resume included)."""

    example = dict(args=dict(prob=0.5), input=lambda: example_frames(), adds=("imgs", "flip"))

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


@component("transform")
class LoadAudio:
    """Read the performance's mono audio at ``sample_rate``
    (:func:`pisa.io.media.read_audio`), or with None at the file's own rate, resampling
    nothing (as the released PISA loader did); from
    ``audio_path`` (a wav) or, when None, the video's own track; from the prepared cache
    when there is one (at the rate its ``meta.json`` records). Reads ``audio_path``,
    ``video_path``, ``frame_offset``, ``fps``, ``cache_entry``. Adds ``audio`` float32
    ``(S,)``, ``audio_sr`` (the rate of ``audio``) and ``audio_offset`` (the sample index
    of the trimmed performance's frame 0: the audio is aligned with the source video)."""

    example = dict(args=dict(sample_rate=8000), input=lambda: _example_cache_entry(),
                   adds=("audio", "audio_sr", "audio_offset"))

    def __init__(self, sample_rate: Optional[int] = 22050, keep: int = 2) -> None:
        self.sample_rate = None if sample_rate is None else int(sample_rate)
        self.keep = int(keep)
        # consecutive samples mostly come from the same performance: keep a few tracks
        self._tracks = KeptOpen(self.keep, functools.partial(read_audio, sample_rate=self.sample_rate))
        self._entry_rates = KeptOpen(self.keep, _cached_rate)

    def __call__(self, results: Dict) -> Dict:
        if results.get("cache_entry"):
            rate = self._entry_rates.get(os.path.join(results["cache_entry"], "meta.json"))
            if self.sample_rate is not None and rate != self.sample_rate:
                raise ValueError(f"{_where(results)}: cache entry {results['cache_entry']} "
                                 f"holds audio at {rate} Hz, the pipeline reads it at "
                                 f"{self.sample_rate} Hz")
            results["audio"] = np.load(os.path.join(results["cache_entry"], "audio.npy"), mmap_mode="r")
            results["audio_offset"] = 0
        else:
            source = results.get("audio_path") or results.get("video_path")
            if not source:
                raise ValueError(f"{_where(results)}: no audio source (no audio file and no video)")
            results["audio"], rate = self._tracks.get(source)
            results["audio_offset"] = audio_offset(results.get("frame_offset", 0),
                                                   results["fps"], rate)
        results["audio_sr"] = int(rate)
        return results

    def __repr__(self) -> str:
        return f"LoadAudio(sample_rate={self.sample_rate})"


def _cached_rate(meta_path: str) -> int:
    """The audio rate a prepared-cache entry stores (its ``meta.json``)."""
    with open(meta_path) as f:
        rate = json.load(f).get("sample_rate")
    if not rate:
        raise ValueError(f"{meta_path}: the cache entry holds no audio "
                         "(prepared without LoadAudio)")
    return int(rate)


def audio_offset(frame_offset: int, fps: float, sample_rate: int) -> int:
    """Audio sample index of source frame ``frame_offset``."""
    return int(round(int(frame_offset) / float(fps) * int(sample_rate)))


@component("transform")
class MelSpectrogram:
    """Per clip, the audio from the clip's first to its last frame
    (``samples = frame / fps * sr``) as a mel image (:func:`pisa.data.transforms.mel.mel_images`,
    released settings by default). Reads ``audio``, ``audio_sr``, ``audio_offset``,
    ``frame_inds``, ``fps``. Adds ``mel`` float32 ``(K, 1, H, W)``. ``pad_mode``,
    ``image`` and ``max_value`` are :func:`~pisa.data.transforms.mel.mel_images`'s: the defaults
    (zero padding, float image, 0..255) are this framework's; the released loader's
    recipe is ``pad_mode='reflect', image='release', max_value=1.0`` with
    ``LoadAudio(sample_rate=None)``."""

    example = dict(args=dict(size=(16, 16), n_fft=256, hop_length=64, n_mels=16, fmax=4000.0),
                   input=lambda: example_audio(), adds=("mel",))

    def __init__(self, size: Sequence[int] = (224, 224), n_fft: int = 2048, hop_length: int = 512,
                 n_mels: int = 128, fmin: float = 20.0, fmax: float = 8300.0, top_db: float = 80.0,
                 pad_mode: str = "constant", image: str = "float", max_value: float = 255.0,
                 max_shortfall_s: float = 0.1) -> None:
        self.size = (int(size[0]), int(size[1]))
        audio_lib.check_image_settings(image, max_value)  # a config error shows when built
        self.mel_args = dict(n_fft=n_fft, hop_length=hop_length, n_mels=n_mels, fmin=fmin,
                             fmax=fmax, top_db=top_db, pad_mode=str(pad_mode), image=str(image),
                             max_value=float(max_value))
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


@component("transform")
class PackAQAInputs:
    """Pack the sample as the model expects (DEVELOPERS.md, "The sample contract"):
    ``inputs.video`` uint8 ``(K, 3, T, H, W)`` from ``imgs``, ``inputs.audio`` float32
    ``(K, 1, H, W)`` from ``mel`` and ``inputs.notes`` float32 ``(K, C, P, W)`` from
    ``piano_roll`` (a transcription plugin's), for the listed ``modalities``; each
    ``extra_inputs`` entry ``{input key: results key}`` packs a float32 array as it is
    (e.g. ``notes_clip_features='note_descriptors'``, the model's ``extra_features``);
    ``data_samples`` with ``label``, ``score``, ``sample_id``, ``group``, and each of
    ``meta_keys`` copied from the sample's record (a number as float, a list or array as a
    float32 tensor, a string as it is; e.g. MTL-AQA's ``difficulty`` and
    ``judge_scores``; a record without it is an error)."""

    example = dict(args=dict(modalities=("video", "audio")),
                   input=lambda: dict(example_frames(), mel=np.zeros((2, 1, 16, 16), np.float32), label=1,
                                      score=1.5, group="example"),
                   adds=("inputs", "data_samples"))

    #: modality -> the results key it is packed from
    SOURCES = {"video": "imgs", "audio": "mel", "notes": "piano_roll"}

    def __init__(self, modalities: Sequence[str] = ("video", "audio"),
                 meta_keys: Sequence[str] = (), extra_inputs: Optional[Dict[str, str]] = None) -> None:
        unknown = set(modalities) - set(self.SOURCES)
        if unknown or not modalities:
            raise ValueError(f"PackAQAInputs: modalities must be a non-empty subset of "
                             f"{tuple(self.SOURCES)}, got {tuple(modalities)}")
        self.modalities = tuple(modalities)
        self.meta_keys = (meta_keys,) if isinstance(meta_keys, str) else tuple(meta_keys)
        self.extra_inputs = dict(extra_inputs or {})
        clash = set(self.extra_inputs) & set(self.SOURCES)
        if clash:
            raise ValueError(f"PackAQAInputs: extra_inputs may not replace the modality inputs {sorted(clash)}")

    def __call__(self, results: Dict) -> Dict:
        inputs = {}
        if "video" in self.modalities:
            imgs = np.ascontiguousarray(np.asarray(results["imgs"]).transpose(0, 4, 1, 2, 3))
            inputs["video"] = torch.from_numpy(imgs)
        for modality in ("audio", "notes"):
            if modality in self.modalities:
                inputs[modality] = self._float_input(results, self.SOURCES[modality])
        for key, source in self.extra_inputs.items():
            inputs[key] = self._float_input(results, source)
        samples = {"label": int(results["label"]), "score": float(results["score"]),
                   "sample_id": str(results["sample_id"]), "group": str(results["group"])}
        for key in self.meta_keys:
            value = results.get(key)
            if value is None:
                raise KeyError(f"PackAQAInputs: {_where(results)} has no {key!r} (meta_keys="
                               f"{self.meta_keys}); the annotation does not provide it")
            samples[key] = (value if isinstance(value, str) else float(value) if np.ndim(value) == 0
                            else torch.as_tensor(np.asarray(value, dtype=np.float32)))
        return {"inputs": inputs, "data_samples": samples}

    @staticmethod
    def _float_input(results: Dict, key: str) -> torch.Tensor:
        if key not in results:
            raise KeyError(f"PackAQAInputs: {_where(results)} has no {key!r}; the pipeline "
                           "needs the transform that adds it before PackAQAInputs")
        return torch.from_numpy(np.ascontiguousarray(results[key], dtype=np.float32))

    def __repr__(self) -> str:
        return (f"PackAQAInputs(modalities={self.modalities}, meta_keys={self.meta_keys}, "
                f"extra_inputs={self.extra_inputs})")


# -- examples (pisa.registry): the results dicts the transforms read, made in code -----
def example_frames() -> Dict:
    """Frames ``(2, 4, 16, 20, 3)`` as DecodeFrames leaves them (the transforms' examples)."""
    imgs = np.random.default_rng(0).integers(0, 256, (2, 4, 16, 20, 3), dtype=np.uint8)
    return {"imgs": imgs, "from_cache": False, "crop_box": None, "sample_id": "example",
            "ann_source": "example"}


def example_audio(audio_offset: int = 0) -> Dict:
    """One second of noise at 8 kHz and the frames of two clips at 10 fps, the frames'
    audio starting ``audio_offset`` samples in (the transforms' examples)."""
    audio = 0.1 * np.random.default_rng(0).standard_normal(8000).astype(np.float32)
    return {"audio": audio, "audio_sr": 8000, "audio_offset": audio_offset, "fps": 10.0,
            "frame_inds": np.arange(8, dtype=np.int64).reshape(2, 4), "sample_id": "example",
            "ann_source": "example"}


def _example_cache_entry() -> Dict:
    """A prepared-cache entry (frames, audio at 8 kHz, ``meta.json``) in a temporary
    folder removed at exit, and the frames of two clips from it."""
    import atexit
    import shutil
    import tempfile

    folder = tempfile.mkdtemp(prefix="pisa-example-")
    atexit.register(shutil.rmtree, folder, True)
    np.save(os.path.join(folder, "frames.npy"), example_frames()["imgs"].reshape(8, 16, 20, 3))
    np.save(os.path.join(folder, "audio.npy"), example_audio()["audio"])
    with open(os.path.join(folder, "meta.json"), "w") as f:
        json.dump({"sample_rate": 8000}, f)
    return {"cache_entry": folder, "frame_inds": np.arange(8, dtype=np.int64).reshape(2, 4),
            "frame_offset": 0, "fps": 10.0, "sample_id": "example", "ann_source": "example"}
