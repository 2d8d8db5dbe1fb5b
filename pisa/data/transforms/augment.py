"""Training augmentations of both modalities, for small datasets: a random resized crop
and colour jitter of the frames, a random gain and time shift of the audio, and
SpecAugment-style masks on the mel images. (Temporal jitter of the clip positions is the
clip samplers' ``jitter``, :mod:`pisa.data.core.clip_samplers`; mixup is the model's ``mixup``,
:class:`pisa.models.aqa_model.AQAModel`.)

Randomness: each transform draws once per sample from :func:`pisa.data.core.seeding.draw_rng`,
numpy's global generator, which the runner seeds and ``EpochSeedHook`` reseeds each epoch
(in a DataLoader worker from ``(seed, epoch, rank, worker id)``), so an epoch draws the
same whatever ran before it and a resumed run augments like an uninterrupted one. The
frame transforms take their parameters from torchvision's own ``make_params``, run on
torch's CPU generator seeded from that draw and restored afterwards
(:func:`_torch_drawing_from`): the global torch generator the model's dropout and mixup
draw from is left as it was.

Where they go: the frame transforms after ``CropResize`` (on the frames the model sees,
``imgs`` uint8 ``(K, T, H, W, 3)``, decoded or from the prepared cache alike); the audio
transforms between ``LoadAudio`` and ``MelSpectrogram`` (shift before gain: the gain cuts
the track to the sample's span); ``SpecAugment`` after ``MelSpectrogram``. A missing key
or a wrong shape raises an error naming the transform, the key and the sample.
"""
from __future__ import annotations

import contextlib
import math
from typing import Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from pisa.data.core.seeding import draw_rng
from pisa.data.transforms import mel as audio_lib
from pisa.data.transforms.clip_transforms import example_audio, example_frames
from pisa.registry import component


def _where(results: Dict) -> str:
    return f"sample {results.get('sample_id')} ({results.get('ann_source')})"


def _need(results: Dict, key: str, transform: str, after: str) -> object:
    """``results[key]``, or a ``KeyError`` naming the transform, the key and the sample."""
    if key not in results or results[key] is None:
        raise KeyError(f"{transform}: {_where(results)} has no {key!r} (put {transform} "
                       f"after {after}); keys: {sorted(results)}")
    return results[key]


def _frames(results: Dict, transform: str) -> np.ndarray:
    """The sample's ``imgs``, checked to be uint8 ``(K, T, H, W, 3)``."""
    imgs = np.asarray(_need(results, "imgs", transform, "DecodeFrames and CropResize"))
    if imgs.ndim != 5 or imgs.shape[-1] != 3 or imgs.dtype != np.uint8:
        raise ValueError(f"{transform}: {_where(results)}: 'imgs' must be uint8 (K, T, H, W, 3), "
                         f"got {imgs.dtype} {imgs.shape}")
    return imgs


def _as_frame_batch(imgs: np.ndarray) -> torch.Tensor:
    """uint8 ``(K, T, H, W, 3)`` -> ``(K*T, 3, H, W)`` (torchvision's layout; contiguous:
    its colour kernels are many times slower on a channels-last view)."""
    k, t, h, w, c = imgs.shape
    frames = torch.from_numpy(np.ascontiguousarray(imgs)).view(k * t, h, w, c)
    return frames.permute(0, 3, 1, 2).contiguous()


def _from_frame_batch(frames: torch.Tensor, k: int, t: int) -> np.ndarray:
    """``(K*T, 3, H, W)`` -> uint8 ``(K, T, H, W, 3)`` numpy."""
    out = frames.permute(0, 2, 3, 1).contiguous().numpy()
    return out.reshape(k, t, *out.shape[1:])


@contextlib.contextmanager
def _torch_drawing_from(rng: np.random.Generator) -> Iterator[None]:
    """Within: torch's CPU generator seeded from ``rng``; restored on exit (only the CPU
    generator: ``torch.manual_seed`` would reseed CUDA's too)."""
    with torch.random.fork_rng(devices=[]):
        torch.default_generator.manual_seed(int(rng.integers(0, 2**63 - 1)))
        yield


def _range(name: str, value: Sequence[float], transform: str, low: float = 0.0,
           high: float = math.inf) -> Tuple[float, float]:
    lo, hi = (float(v) for v in value)
    if not low <= lo <= hi <= high:
        raise ValueError(f"{transform}: {name} must be (min, max) with {low} <= min <= max "
                         f"<= {high}, got {tuple(value)}")
    return lo, hi


@component("transform")
class RandomResizedCrop:
    """Crop a random box of the frames and resize it to ``size = (h, w)`` (None: the
    frames' own size), the same box for every frame of every clip of a sample. The box is
    torchvision's ``RandomResizedCrop``'s: an area fraction in ``scale`` of the frame and
    an aspect ratio (w / h) in ``ratio`` (log-uniform), 10 tries, else the centred box of
    the nearest ratio; resized with ``torchvision.transforms.v2.functional.resized_crop``
    (``interpolation``, ``antialias``). Reads ``imgs`` uint8 ``(K, T, H, W, 3)``; replaces
    it with uint8 ``(K, T, h, w, 3)``; adds ``resized_crop`` ``(top, left, height,
    width)`` in input pixels."""

    example = dict(args=dict(size=(8, 8)), input=lambda: example_frames(),
                   adds=("imgs", "resized_crop"))

    def __init__(self, scale: Sequence[float] = (0.5, 1.0),
                 ratio: Sequence[float] = (3.0 / 4.0, 4.0 / 3.0),
                 size: Optional[Sequence[int]] = None, interpolation: str = "bilinear",
                 antialias: bool = True) -> None:
        from torchvision.transforms import v2

        self.scale = _range("scale", scale, "RandomResizedCrop", 1e-6, 1.0)
        self.ratio = _range("ratio", ratio, "RandomResizedCrop", 1e-6)
        self.size = None if size is None else (int(size[0]), int(size[1]))
        if self.size is not None and min(self.size) < 1:
            raise ValueError(f"RandomResizedCrop: size must be (h, w) >= 1, got {size!r}")
        try:
            self.interpolation = v2.InterpolationMode(interpolation)
        except ValueError:
            modes = [m.value for m in v2.InterpolationMode]
            raise ValueError(f"RandomResizedCrop: interpolation must be one of {modes}, "
                             f"got {interpolation!r}") from None
        self.antialias = bool(antialias)

    def __call__(self, results: Dict) -> Dict:
        from torchvision.transforms import v2
        from torchvision.transforms.v2 import functional as F

        imgs = _frames(results, "RandomResizedCrop")
        k, t, h, w, _ = imgs.shape
        size = self.size or (h, w)
        crop = v2.RandomResizedCrop(size, scale=self.scale, ratio=self.ratio,
                                    interpolation=self.interpolation, antialias=self.antialias)
        frames = _as_frame_batch(imgs)
        with _torch_drawing_from(draw_rng()):
            box = crop.make_params([frames])
        out = F.resized_crop(frames, box["top"], box["left"], box["height"], box["width"],
                             size=list(size), interpolation=self.interpolation,
                             antialias=self.antialias)
        results["imgs"] = _from_frame_batch(out, k, t)
        results["resized_crop"] = (box["top"], box["left"], box["height"], box["width"])
        return results

    def __repr__(self) -> str:
        return (f"RandomResizedCrop(scale={self.scale}, ratio={self.ratio}, size={self.size}, "
                f"interpolation={self.interpolation.value!r}, antialias={self.antialias})")


@component("transform")
class ColorJitter:
    """Random brightness, contrast, saturation and hue, with torchvision's ``ColorJitter``
    (``v2``): each factor uniform in ``[1 - x, 1 + x]`` for a number ``x`` (or in a given
    ``(min, max)``), hue's shift in ``[-hue, hue]`` (at most 0.5), applied in a random
    order; 0 leaves that property alone. The same factors and order for every frame of
    every clip of a sample (contrast blends each frame with its own mean grey, as
    torchvision does). Reads ``imgs`` uint8 ``(K, T, H, W, 3)``; replaces it (same shape
    and dtype); adds ``color_jitter`` (the factors drawn and the order, a list of 0..3 for
    brightness, contrast, saturation, hue)."""

    example = dict(args=dict(brightness=0.2, contrast=0.2, saturation=0.2, hue=0.05),
                   input=lambda: example_frames(), adds=("imgs", "color_jitter"))

    def __init__(self, brightness: Union[float, Sequence[float]] = 0.0,
                 contrast: Union[float, Sequence[float]] = 0.0,
                 saturation: Union[float, Sequence[float]] = 0.0,
                 hue: Union[float, Sequence[float]] = 0.0) -> None:
        from torchvision.transforms import v2

        try:  # torchvision checks the ranges
            self._jitter = v2.ColorJitter(brightness=brightness, contrast=contrast,
                                          saturation=saturation, hue=hue)
        except (TypeError, ValueError) as err:
            raise ValueError(f"ColorJitter: {err}") from None

    def __call__(self, results: Dict) -> Dict:
        imgs = _frames(results, "ColorJitter")
        k, t = imgs.shape[:2]
        frames = _as_frame_batch(imgs)
        with _torch_drawing_from(draw_rng()):
            params = self._jitter.make_params([frames])
        results["imgs"] = _from_frame_batch(self._jitter.transform(frames, params), k, t)
        results["color_jitter"] = {
            key: value.tolist() if isinstance(value, torch.Tensor) else value
            for key, value in params.items()}
        return results

    def __repr__(self) -> str:
        j = self._jitter
        return (f"ColorJitter(brightness={j.brightness}, contrast={j.contrast}, "
                f"saturation={j.saturation}, hue={j.hue})")


def _audio_windows(results: Dict, transform: str) -> Tuple[np.ndarray, np.ndarray]:
    """The sample's track (checked 1-d) and its clips' ``(K, 2)`` sample windows, as
    ``MelSpectrogram`` will cut them."""
    after = "LoadAudio"
    audio = np.asarray(_need(results, "audio", transform, after))
    if audio.ndim != 1:
        raise ValueError(f"{transform}: {_where(results)}: 'audio' must be a mono track (S,), "
                         f"got shape {audio.shape}")
    sr = int(_need(results, "audio_sr", transform, after))
    inds = np.asarray(_need(results, "frame_inds", transform, after))
    if inds.ndim != 2:
        raise ValueError(f"{transform}: {_where(results)}: 'frame_inds' must be (K, T), "
                         f"got shape {inds.shape}")
    windows = audio_lib.clip_windows(inds, float(_need(results, "fps", transform, after)), sr,
                                     int(_need(results, "audio_offset", transform, after)))
    return audio, windows


@component("transform")
class RandomAudioShift:
    """Move the sample's audio against its frames by a random whole number of samples, up
    to ``max_shift_s`` seconds either way, the same for every clip (a recording whose
    sound is a few ms out of sync with its picture). Done on ``audio_offset`` rather than
    the waveform: nothing is copied, and the windows read the track's real neighbouring
    samples (a roll would wrap the end round to the start). The shift is uniform over those
    that keep every clip's window inside the track (none past its start; none further
    past its end than it already was). Reads ``audio``, ``audio_sr``, ``audio_offset``,
    ``frame_inds``, ``fps``; changes ``audio_offset``; adds ``audio_shift`` (samples).
    Place before ``RandomGain``, which cuts the track to the sample's span."""

    example = dict(args=dict(max_shift_s=0.01), input=lambda: example_audio(audio_offset=800),
                   adds=("audio_offset", "audio_shift"))

    def __init__(self, max_shift_s: float = 0.05) -> None:
        if not float(max_shift_s) >= 0:
            raise ValueError(f"RandomAudioShift: max_shift_s must be >= 0, got {max_shift_s!r}")
        self.max_shift_s = float(max_shift_s)

    def __call__(self, results: Dict) -> Dict:
        audio, windows = _audio_windows(results, "RandomAudioShift")
        most = int(round(self.max_shift_s * int(results["audio_sr"])))
        low = max(-most, min(-int(windows[:, 0].min()), 0))
        high = min(most, max(len(audio) - int(windows[:, 1].max()), 0))
        shift = int(draw_rng().integers(low, high, endpoint=True))
        results["audio_offset"] = int(results["audio_offset"]) + shift
        results["audio_shift"] = shift
        return results

    def __repr__(self) -> str:
        return f"RandomAudioShift(max_shift_s={self.max_shift_s})"


@component("transform")
class RandomGain:
    """Scale the sample's waveform by a gain uniform in ``[min_db, max_db]`` dB (the same
    for every clip), on the waveform before the mel; with ``clip`` saturate at full scale
    (±1, as a recorder's converter does), so a positive gain distorts loud passages.

    The framework's mel images are standardised per clip (``power_to_db(ref=max)``, then
    scaled to 0..max): a gain alone leaves them as they were, to float rounding; it shows
    in them only through saturation (``clip=True``), and in audio features that are not
    normalised so. Only the span the sample's clips read is scaled (a copy; the loaded
    track is shared by the next samples): reads ``audio``, ``audio_sr``, ``audio_offset``,
    ``frame_inds``, ``fps``; replaces ``audio`` with float32 samples of that span and
    ``audio_offset`` so that the clips' windows fall on the same samples (it may be
    negative: frame 0 lies before the span); adds ``audio_gain_db``."""

    example = dict(args=dict(min_db=-3.0, max_db=3.0), input=lambda: example_audio(audio_offset=800),
                   adds=("audio", "audio_offset", "audio_gain_db"))

    def __init__(self, min_db: float = -6.0, max_db: float = 6.0, clip: bool = True) -> None:
        if not float(min_db) <= float(max_db):
            raise ValueError(f"RandomGain: needs min_db <= max_db, got {min_db!r} and {max_db!r}")
        self.min_db, self.max_db, self.clip = float(min_db), float(max_db), bool(clip)

    def __call__(self, results: Dict) -> Dict:
        audio, windows = _audio_windows(results, "RandomGain")
        start = max(int(windows[:, 0].min()), 0)
        end = min(int(windows[:, 1].max()), len(audio))
        gain_db = float(draw_rng().uniform(self.min_db, self.max_db))
        span = np.asarray(audio[start:end], dtype=np.float32) * np.float32(10.0 ** (gain_db / 20.0))
        if self.clip:
            np.clip(span, -1.0, 1.0, out=span)
        results["audio"] = span
        results["audio_offset"] = int(results["audio_offset"]) - start
        results["audio_gain_db"] = gain_db
        return results

    def __repr__(self) -> str:
        return f"RandomGain(min_db={self.min_db}, max_db={self.max_db}, clip={self.clip})"


def _bands(rng: np.random.Generator, count: int, max_width: int,
           size: int) -> List[Tuple[int, int]]:
    """``count`` ``(start, width)`` bands of an axis of ``size``: width uniform in
    ``0..min(max_width, size)``, start uniform where the band fits (SpecAugment's rule)."""
    bands = []
    for _ in range(count):
        width = int(rng.integers(0, min(max_width, size), endpoint=True))
        bands.append((int(rng.integers(0, size - width, endpoint=True)), width))
    return bands


@component("transform")
class SpecAugment:
    """SpecAugment's masks on the mel images (Park et al., 2019; no time warping):
    ``freq_masks`` bands of mel rows, each up to ``freq_width`` rows wide, and
    ``time_masks`` bands of columns, each up to ``time_width`` wide, set to ``fill`` (a
    number, by default 0, the floor of either image recipe; or ``'mean'``: each clip
    image's own mean). A band's width is uniform in ``0..max`` and its start uniform where
    it fits. Frequency bands are the same for every clip of a sample: a band missing from
    the whole recording, as SpecAugment masks a band over a whole utterance, so the clips'
    average cannot fill it in from another clip. Time bands are drawn per clip: the clips
    are different windows of the performance, and the same columns of two clips are
    unrelated moments. Reads ``mel`` float32 ``(K, 1, H, W)`` (rows: mel bands, low to
    high; columns: time, as ``MelSpectrogram`` lays it out); replaces it (same shape and
    dtype); adds ``spec_masks`` ``{'freq': [(start, width)], 'time': [[(start, width)]
    per clip]}``."""

    example = dict(args=dict(freq_masks=1, freq_width=4, time_masks=1, time_width=4),
                   input=lambda: {"mel": np.random.default_rng(0).random((2, 1, 16, 16), dtype=np.float32),
                                  "sample_id": "example"},
                   adds=("mel", "spec_masks"))

    def __init__(self, freq_masks: int = 2, freq_width: int = 8, time_masks: int = 2,
                 time_width: int = 8, fill: Union[float, str] = 0.0) -> None:
        counts = dict(freq_masks=freq_masks, freq_width=freq_width, time_masks=time_masks,
                      time_width=time_width)
        for name, value in counts.items():
            if isinstance(value, bool) or int(value) != value or value < 0:
                raise ValueError(f"SpecAugment: {name} must be a whole number >= 0, got {value!r}")
        if isinstance(fill, str) and fill != "mean":
            raise ValueError(f"SpecAugment: fill must be a number or 'mean', got {fill!r}")
        self.freq_masks, self.freq_width = int(freq_masks), int(freq_width)
        self.time_masks, self.time_width = int(time_masks), int(time_width)
        self.fill = fill if isinstance(fill, str) else float(fill)

    def __call__(self, results: Dict) -> Dict:
        mel = np.asarray(_need(results, "mel", "SpecAugment", "MelSpectrogram"))
        if mel.ndim != 4 or mel.shape[1] != 1:
            raise ValueError(f"SpecAugment: {_where(results)}: 'mel' must be (K, 1, H, W), "
                             f"got shape {mel.shape}")
        k, _, height, width = mel.shape
        rng = draw_rng()
        freq = _bands(rng, self.freq_masks, self.freq_width, height)
        time = [_bands(rng, self.time_masks, self.time_width, width) for _ in range(k)]
        out = np.array(mel, dtype=np.float32)  # a copy: the input may be shared
        for clip in range(k):
            fill = float(mel[clip].mean()) if self.fill == "mean" else self.fill
            for start, size in freq:
                out[clip, :, start:start + size, :] = fill
            for start, size in time[clip]:
                out[clip, :, :, start:start + size] = fill
        results["mel"] = out
        results["spec_masks"] = {"freq": freq, "time": time}
        return results

    def __repr__(self) -> str:
        return (f"SpecAugment(freq_masks={self.freq_masks}, freq_width={self.freq_width}, "
                f"time_masks={self.time_masks}, time_width={self.time_width}, fill={self.fill!r})")

