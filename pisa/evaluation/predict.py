"""Whole-recording prediction: a video file (with its audio track) -> a level with its
probabilities, a regression value, and a per-segment timeline.

The recording is cut into consecutive, non-overlapping segments of ``K`` clips x ``T``
frames (the config's clip sampler settings, laid out by
:func:`pisa.data.samplers.contiguous_indices`; the tail shorter than one segment is left
out). The video is decoded once, front to back, with decord; each clip is cropped and
resized by the config's ``CropResize`` as soon as it is decoded (so memory holds one clip
at source resolution), the audio track is read once, and the config's remaining test
transforms (``MelSpectrogram``, ``PackAQAInputs``, ...) make each segment a model sample.
A background thread prepares the next segments while the model runs on the current ones.
Segment probabilities are averaged into the recording's level, as
``performance_accuracy`` pools a performance's samples.
"""
from __future__ import annotations

import math
import os
import queue
import sys
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

PathLike = Union[str, os.PathLike]

#: pipeline transforms that read media; prediction reads the recording itself, once
DECODING_TRANSFORMS = ("DecodeFrames", "LoadAudio")
#: transforms applied to each clip as it is decoded
CLIP_TRANSFORMS = ("CropResize",)
#: where a config states its clip sampler and test pipeline, in order of preference
DATALOADER_KEYS = ("test_dataloader", "val_dataloader", "train_dataloader")


@dataclass
class SegmentPrediction:
    """One segment: frames ``[start_frame, end_frame)``, times in seconds, the predicted
    ``level`` (1..C), its probability ``confidence``, all ``probs`` and ``regression``
    (on the level scale, 1..C)."""

    index: int
    start_frame: int
    end_frame: int
    start_s: float
    end_s: float
    level: int
    confidence: float
    probs: List[float]
    regression: float


@dataclass
class RecordingPrediction:
    """A recording's prediction: ``level`` (1..C) from the segments' averaged ``probs``,
    the mean ``regression``, and the ``segments`` timeline."""

    media: str
    fps: float
    num_frames: int
    frames_per_segment: int
    level: int
    probs: List[float]
    regression: float
    segments: List[SegmentPrediction] = field(default_factory=list)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def _dataset_cfg(cfg: Any) -> Tuple[str, Dict[str, Any]]:
    for key in DATALOADER_KEYS:
        loader = cfg.get(key)
        if loader and isinstance(loader.get("dataset"), dict):
            return key, loader["dataset"]
    raise KeyError(
        f"config has no {' / '.join(DATALOADER_KEYS)} with a dataset; prediction takes the "
        "clip sampler and the test pipeline from it"
    )


def segment_settings(cfg: Any) -> Tuple[int, int]:
    """``(K clips, T frames)`` of the config's dataset ``sampler``, or of its dataset
    class's default sampler when the config names none."""
    from pisa.data.base import build_clip_sampler
    from pisa.registry import DATASETS

    where, dataset = _dataset_cfg(cfg)
    sampler_cfg = dataset.get("sampler")
    if sampler_cfg is None:
        dataset_cls = DATASETS.get(dataset["type"]) if isinstance(dataset.get("type"), str) else dataset.get("type")
        if dataset_cls is None or not hasattr(dataset_cls, "default_sampler"):
            raise KeyError(f"config {where}.dataset has no 'sampler' (num_clips, clip_len) and "
                           f"its type {dataset.get('type')!r} has no default sampler")
        # the adapter's default depends only on its class settings, not on loaded data
        sampler = dataset_cls.default_sampler(object.__new__(dataset_cls))
    else:
        sampler = build_clip_sampler(sampler_cfg, None)
    return int(sampler.num_clips), int(sampler.clip_len)


def split_pipeline(pipeline_cfg: Sequence[Dict[str, Any]]) -> Tuple[List[Any], List[Any], Dict[str, Any]]:
    """Build the config's test pipeline as ``(clip transforms, sample transforms, decoding
    settings)``: decoding transforms are left out (their arguments, e.g. LoadAudio's
    ``sample_rate``, are returned), ``CropResize`` runs per clip, the rest per segment."""
    from pisa.data.base import build_pipeline

    clip_cfgs, sample_cfgs, decoding = [], [], {}
    for step in pipeline_cfg:
        name = step["type"] if isinstance(step["type"], str) else step["type"].__name__
        if name in DECODING_TRANSFORMS:
            decoding[name] = {k: v for k, v in step.items() if k != "type"}
        else:
            (clip_cfgs if name in CLIP_TRANSFORMS else sample_cfgs).append(step)
    return build_pipeline(clip_cfgs), build_pipeline(sample_cfgs), decoding


def _prefetch(items: Iterable[Any], depth: int) -> Iterator[Any]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead; an error there is
    raised here."""
    buffer: "queue.Queue" = queue.Queue(maxsize=max(1, depth))
    done = object()
    stop = threading.Event()

    def work() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        buffer.put((item, None), timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            buffer.put((done, None))
        except BaseException as err:  # handed to the consumer, which raises it
            buffer.put((done, err))

    thread = threading.Thread(target=work, name="pisa-predict-decode", daemon=True)
    thread.start()
    try:
        while True:
            item, err = buffer.get()
            if err is not None:
                raise err
            if item is done:
                return
            yield item
    finally:
        stop.set()
        thread.join(timeout=5)


def _load_weights(model: torch.nn.Module, checkpoint: PathLike) -> None:
    """Load ``checkpoint`` (mmengine checkpoint or plain state dict) with
    ``weights_only=True`` through the engine's allowlist; a checkpoint that does not fit
    the model raises ``ValueError`` naming the file."""
    from mmengine.runner import load_checkpoint

    from pisa.engine.checkpoint import install_checkpoint_safety

    install_checkpoint_safety()
    path = os.fspath(checkpoint)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path} not found")
    try:
        load_checkpoint(model, path, map_location="cpu", strict=True, logger="silent")
    except RuntimeError as err:
        first = str(err).strip().splitlines()
        raise ValueError(
            f"checkpoint {path} does not fit the config's model: {' '.join(first[:3])[:400]}"
        ) from None


class RecordingPredictor:
    """A config's model with trained weights, ready to predict whole recordings.

    Args:
        config: an mmengine config file (or a loaded ``Config``) with ``model`` and a
            dataloader whose dataset gives ``sampler`` and ``pipeline``.
        checkpoint: weights (mmengine checkpoint or a plain state dict).
        device: torch device for the model.
        batch_size: segments per forward pass.
    """

    def __init__(self, config: Any, checkpoint: PathLike, device: str = "cpu", batch_size: int = 2) -> None:
        from mmengine.config import Config

        from pisa.registry import MODELS

        cfg = config if isinstance(config, Config) else Config.fromfile(os.fspath(config))
        if "model" not in cfg:
            raise KeyError(f"config {getattr(cfg, 'filename', '')} has no 'model'")
        if batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.num_clips, self.clip_len = segment_settings(cfg)
        _, dataset = _dataset_cfg(cfg)
        self.clip_transforms, self.sample_transforms, decoding = split_pipeline(dataset.get("pipeline", []))
        self.sample_rate: Optional[int] = None
        if "LoadAudio" in decoding:
            self.sample_rate = int(decoding["LoadAudio"].get("sample_rate", 22050))
        self.model = MODELS.build(cfg.model)
        _load_weights(self.model, checkpoint)
        self.model.to(device).eval()
        self.batch_size = int(batch_size)

    @property
    def frames_per_segment(self) -> int:
        return self.num_clips * self.clip_len

    def _segments(self, media: str, reader: Any, inds: np.ndarray, fps: float,
                  audio: Optional[np.ndarray], crop: Optional[Sequence[float]]) -> Iterator[Dict]:
        """Packed samples, one per segment of ``inds`` ``(S, K, T)``, decoding in order."""
        for s, seg in enumerate(inds):
            where = {"video_path": media, "sample_id": f"segment {s}", "ann_source": "pisa predict"}
            clips = []
            for clip in seg:
                frames = reader.get_batch(clip.tolist()).asnumpy()
                results = dict(where, imgs=frames[None], crop_box=crop, from_cache=False)
                for tf in self.clip_transforms:
                    results = tf(results)
                clips.append(results["imgs"][0])
            results = dict(where, imgs=np.stack(clips), frame_inds=seg, fps=fps, crop_box=crop,
                           from_cache=False, label=-1, score=float("nan"), group=media)
            if audio is not None:
                results.update(audio=audio, audio_sr=self.sample_rate, audio_offset=0)
            for tf in self.sample_transforms:
                results = tf(results)
            yield results

    def predict(self, media: PathLike, crop: Optional[Sequence[float]] = None,
                progress: bool = True) -> RecordingPrediction:
        """Predict one recording; ``crop`` ``(x1, y1, x2, y2)`` in source pixels (needs a
        ``CropResize`` in the pipeline). Shows mmengine's progress bar on stderr."""
        from mmengine.dataset import default_collate
        from mmengine.utils import ProgressBar

        from pisa.data import audio as audio_lib
        from pisa.data.samplers import contiguous_indices
        from pisa.data.transforms import open_video

        media = os.fspath(media)
        if crop is not None and not self.clip_transforms:
            raise ValueError("a crop box was given but the config's pipeline has no CropResize")
        reader = open_video(media)
        num_frames, fps = len(reader), float(reader.get_avg_fps())
        inds = contiguous_indices(num_frames, self.num_clips, self.clip_len)
        if len(inds) == 0:
            raise ValueError(
                f"{media}: {num_frames} frames ({num_frames / fps:.2f} s) are fewer than one "
                f"segment of {self.num_clips} clips x {self.clip_len} frames = "
                f"{self.frames_per_segment} frames"
            )
        audio = audio_lib.load_audio(media, self.sample_rate) if self.sample_rate else None
        bar = ProgressBar(len(inds), file=sys.stderr) if progress else None
        outputs: List[Dict[str, Any]] = []
        batch: List[Dict] = []
        samples = _prefetch(self._segments(media, reader, inds, fps, audio, crop), depth=2 * self.batch_size)

        def run(batch: List[Dict]) -> None:
            with torch.no_grad():
                outputs.extend(self.model.test_step(default_collate(batch)))
            if bar is not None:
                for _ in batch:
                    bar.update()

        for sample in samples:
            batch.append(sample)
            if len(batch) == self.batch_size:
                run(batch)
                batch = []
        if batch:
            run(batch)
        if bar is not None:
            sys.stderr.write("\n")
        return self._summarise(media, fps, num_frames, inds, outputs)

    def _summarise(self, media: str, fps: float, num_frames: int, inds: np.ndarray,
                   outputs: List[Dict[str, Any]]) -> RecordingPrediction:
        probs = np.array([np.asarray(o["probs"], dtype=np.float64).reshape(-1) for o in outputs])
        regression = np.array([float(o["pred_score"]) for o in outputs])
        has_classes = probs.ndim == 2 and probs.shape[1] > 0
        # level datasets train the regression on the 0-based level: show it as a level
        shift = 1.0 if has_classes else 0.0
        segments = []
        for s, (seg, p, r) in enumerate(zip(inds, probs, regression)):
            start, end = int(seg[0, 0]), int(seg[-1, -1]) + 1
            label = int(np.argmax(p)) if has_classes else -1
            segments.append(SegmentPrediction(
                index=s, start_frame=start, end_frame=end, start_s=start / fps, end_s=end / fps,
                level=label + 1 if has_classes else 0,
                confidence=float(p[label]) if has_classes else math.nan,
                probs=p.tolist(), regression=float(r) + shift))
        pooled = probs.mean(axis=0) if has_classes else np.zeros(0)
        return RecordingPrediction(
            media=media, fps=fps, num_frames=num_frames, frames_per_segment=self.frames_per_segment,
            level=int(np.argmax(pooled)) + 1 if has_classes else 0, probs=pooled.tolist(),
            regression=float(regression.mean()) + shift, segments=segments)


def format_prediction(pred: RecordingPrediction) -> str:
    """Text report: the level with its probabilities, the regression value, and one
    timeline line per segment (start-end time, level, confidence)."""
    lines = [f"{pred.media}: level {pred.level} (regression {pred.regression:.2f}), "
             f"{len(pred.segments)} segments of {pred.frames_per_segment} frames at {pred.fps:.2f} fps"]
    if pred.probs:
        lines.append("probabilities: " + "  ".join(
            f"{i + 1}:{p:.3f}" for i, p in enumerate(pred.probs)))
    lines.append("timeline:")
    for seg in pred.segments:
        lines.append(f"  {_clock(seg.start_s)}-{_clock(seg.end_s)}  level {seg.level:>2}  "
                     f"confidence {seg.confidence:.3f}  regression {seg.regression:.2f}")
    return "\n".join(lines)


def _clock(seconds: float) -> str:
    minutes, secs = divmod(seconds, 60.0)
    return f"{int(minutes):02d}:{secs:05.2f}"


def plot_timeline(pred: RecordingPrediction, path: PathLike, size_px: Tuple[int, int] = (1000, 360),
                  dpi: int = 100) -> Path:
    """PNG of ``size_px`` pixels: each segment's level as a bar over its time span
    (shaded by confidence), the regression value as a line, and the pooled level dashed."""
    from pisa.evaluation.reports import new_figure, save_figure

    fig = new_figure(size_px, dpi)
    ax = fig.add_subplot(1, 1, 1)
    for seg in pred.segments:
        alpha = 0.25 + 0.75 * (seg.confidence if math.isfinite(seg.confidence) else 1.0)
        ax.bar(seg.start_s, seg.level, width=seg.end_s - seg.start_s, align="edge",
               color="tab:blue", alpha=alpha, edgecolor="white")
    mids = [(s.start_s + s.end_s) / 2 for s in pred.segments]
    ax.plot(mids, [s.regression for s in pred.segments], color="tab:orange", marker="o",
            label="regression")
    ax.axhline(pred.level, color="black", linestyle="--", label=f"recording level {pred.level}")
    top = max(len(pred.probs), 1)
    finite = [s.regression for s in pred.segments if math.isfinite(s.regression)]
    # an untrained or extrapolating regressor may leave the level range: keep it in view
    ax.set_ylim(min([0.0] + finite) - 0.5, max([top] + finite) + 0.5)
    ax.set_yticks(range(1, top + 1))
    ax.set_xlabel("time (s)")
    ax.set_ylabel("level")
    ax.set_title(f"{Path(pred.media).name}: predicted level per segment")
    ax.legend(loc="upper right", fontsize=8)
    fig.tight_layout()
    return save_figure(fig, path, dpi)
