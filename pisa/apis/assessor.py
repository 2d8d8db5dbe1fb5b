"""The assessor of whole recordings: a trained model and the dataset config whose
adapter, pipeline and clip sampler make a recording's samples.

:meth:`Assessor.assess` runs a test loop per recording: a one-recording dataset of the
config's own adapter type, built from its test dataset config (else val, else train)
with the recording as its only performance (:func:`recording_record`), so the config's
pipeline (its decoding transforms, plugin transforms included) and clip sampler (or the
adapter's default) make the samples; a torch ``DataLoader`` with mmengine's
``default_collate`` batches them and ``model.test_step`` predicts them. The recording's
level pools those samples as ``performance_accuracy`` does, so it is the prediction
``pisa test`` scores for that performance. The timeline is a second one-recording
dataset of consecutive segments (``ContiguousSampler`` with the level sampler's clips
and frames), or the level samples themselves when the level sampler already cut exactly
those.

``meta`` (``pisa predict --meta KEY=VALUE``) adds keys to the recording's record, as an
annotation's columns would (e.g. a dive's ``difficulty``, which a pipeline's
``PackAQAInputs(meta_keys=...)`` packs).

The families built on it: :class:`~pisa.apis.pair_assessor.PairAssessor` (exemplar
pairs), :class:`~pisa.apis.feature_assessor.FeatureAssessor` (clip features);
:func:`pisa.apis.inference.init_assessor` chooses one.
"""
from __future__ import annotations

import contextlib
import copy
import os
import tempfile
import sys
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np
import torch

from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.wrappers.pairs import ExemplarDataset
from pisa.data.core.clip_samplers import contiguous_indices
from pisa.evaluation.assessment import RecordingPrediction, average_members, summarise_recording
from pisa.io.ahead import RunAhead

PathLike = Union[str, os.PathLike]


def recording_record(media: PathLike, crop: Optional[Sequence[float]] = None,
                     meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The performance record (:mod:`pisa.data.core.base_dataset`) of a whole recording: the video file
    with its own audio track, all its frames at its own frame rate, cropped to ``crop``
    ``(x1, y1, x2, y2)`` source pixels when given, without a target, and with the keys of
    ``meta`` (e.g. ``{'difficulty': 3.2}``), which may not replace the record's own."""
    media = os.fspath(media)
    record = {
        "perf_id": Path(media).stem, "video_path": media, "audio_path": None,
        "frame_offset": 0, "num_frames": None, "fps": None,
        "crop_box": None if crop is None else tuple(float(v) for v in crop),
        "label": -1, "score": float("nan"), "group": media, "ann_source": f"recording {media}",
    }
    clash = sorted(set(meta or {}) & set(record))
    if clash:
        raise ValueError(f"recording {media}: meta keys {clash} are the recording record's own "
                         f"fields ({', '.join(sorted(record))}); give other keys")
    record.update(meta or {})
    return record


class Assessor:
    """A config's model with trained weights, and the dataset config whose adapter,
    pipeline and sampler make each recording's samples (see the module docstring).
    Made by :func:`init_assessor`.

    Attributes:
        cfg: the loaded config. model: the model, in eval mode on ``device``.
        dataset_cfg: the dataset config recordings are assessed with, from ``source``
            (``'test_dataloader'``, ``'val_dataloader'`` or ``'train_dataloader'``).
        dataset_type: its adapter class (an ExemplarDataset's wrapped adapter).
        batch_size: samples per forward pass.
    """

    def __init__(self, cfg: Any, model: Union[torch.nn.Module, Sequence[torch.nn.Module]],
                 dataset_cfg: Dict[str, Any], source: str, dataset_type: type,
                 device: Union[str, torch.device] = "cpu", batch_size: int = 2) -> None:
        if int(batch_size) < 1:
            raise ValueError(f"batch_size must be >= 1, got {batch_size}")
        self.cfg = cfg
        #: the ensemble's members (one model unless several checkpoints were given)
        self.models = list(model) if isinstance(model, (list, tuple)) else [model]
        self.model = self.models[0]
        self.dataset_cfg = dataset_cfg
        self.source = source
        self.dataset_type = dataset_type
        self.device = torch.device(device)
        self.batch_size = int(batch_size)

    @classmethod
    def prepare(cls, dataset_cfg: Dict[str, Any], source: str) -> Dict[str, Any]:
        """What this family reads once from the dataset config before a model is built
        (so that bad data fails fast), as keyword arguments of the constructor; none here."""
        return {}

    def check_meta(self, media: PathLike, meta: Optional[Dict[str, Any]]) -> None:
        """Check a recording's ``meta`` before it is assessed (nothing to check here)."""

    def adapter_config(self) -> Dict[str, Any]:
        """The config of the adapter that holds the recording (here the dataset config)."""
        return self.dataset_cfg

    def media_config(self) -> Dict[str, Any]:
        """The config of the dataset that decodes the recording's media (here the
        adapter's)."""
        return self.adapter_config()

    def describe(self) -> Dict[str, Any]:
        """What this assessor answers, before any recording is assessed: ``dataset`` (as
        an assessment names it), ``modalities`` (what the media check demands of a
        recording: ``'video'``, ``'audio'``, ``'notes'``; a recording is always a video
        file, its frames set the samples), ``clip_sampler`` (the config's, None: the
        adapter's default), ``task`` (``'level'`` or ``'score'``), ``num_classes`` (levels
        1..C; 0 for a score model), the ``decision`` rule and ``temperature`` of a level
        model (the first member's), and ``members`` (checkpoints averaged)."""
        import inspect

        cfg = self.adapter_config()
        meta = dict(getattr(self.dataset_type, "METAINFO", None) or {})
        meta.update(cfg.get("metainfo") or {})
        classes = 0 if cfg.get("task") == "score" else int(
            cfg.get("num_classes", meta.get("num_classes", 0)) or 0)
        media = self.media_config()
        default = inspect.signature(AQABaseDataset.__init__).parameters["modalities"].default
        rule = getattr(self.model, "decision_rule", None)
        return {"dataset": f"{self.dataset_type.__name__} from {self.source}", "modalities": list(media.get("modalities") or default),
                "clip_sampler": media.get("clip_sampler"),
                "task": "level" if classes else "score", "num_classes": classes,
                "decision": repr(rule) if classes and rule is not None else None,
                "temperature": float(getattr(self.model, "temperature", 1.0)) if classes else None,
                "members": len(self.models)}

    def recording_config(self, media: PathLike, crop: Optional[Sequence[float]] = None,
                         sampler: Optional[Dict[str, Any]] = None,
                         meta: Optional[Dict[str, Any]] = None,
                         cache_dir: Optional[str] = None) -> Dict[str, Any]:
        """The dataset config of the one-recording test dataset of ``media`` (its record
        with the keys of ``meta``): the config's adapter type and pipeline, its sampler
        (or ``sampler``, a clip sampler config), the cache ``cache_dir`` that fills
        itself (None: none), any bad media an error, and its few samples not serialised
        (mmengine's serialisation runs a full ``gc.collect``, a quarter of a second in a
        loaded process)."""
        ds_cfg = dict(copy.deepcopy(self.dataset_cfg),
                      recordings=[recording_record(media, crop, meta)],
                      test_mode=True, cache_dir=cache_dir, on_bad_sample="error", lazy_init=False,
                      serialize_data=False)
        if sampler is not None:
            ds_cfg["clip_sampler"] = dict(sampler)
        return ds_cfg

    def recording_dataset(self, media: PathLike, crop: Optional[Sequence[float]] = None,
                          sampler: Optional[Dict[str, Any]] = None,
                          meta: Optional[Dict[str, Any]] = None, cache_dir: Optional[str] = None
                          ) -> Union[AQABaseDataset, ExemplarDataset]:
        """The one-recording test dataset of ``media``, built from
        :meth:`recording_config`."""
        from pisa.registry import DATASETS

        return DATASETS.build(self.recording_config(media, crop, sampler, meta, cache_dir))

    def sizes_frames(self) -> bool:
        """Whether the pipeline crops and resizes frames (``CropResize``): then a
        recording's frames can be decoded once into a cache entry."""
        steps = self.media_config().get("pipeline") or ()
        return any(isinstance(t, dict) and t.get("type") == "CropResize" for t in steps)

    def predict_samples(self, dataset: AQABaseDataset,
                        progress: Any = None) -> List[Dict[str, Any]]:
        """``model.test_step`` over every sample of ``dataset``, in order, batched by a torch
        ``DataLoader`` with mmengine's ``default_collate``; one output dict per sample.
        ``progress``: an mmengine ``ProgressBar`` to advance per sample. An ensemble's
        members each predict every batch; their outputs are averaged
        (:func:`~pisa.evaluation.assessment.average_members`)."""
        from mmengine.dataset import default_collate

        loader = torch.utils.data.DataLoader(dataset, batch_size=self.batch_size, shuffle=False,
                                             num_workers=0, collate_fn=default_collate)
        members: List[List[Dict[str, Any]]] = [[] for _ in self.models]
        # the next batch decodes while the model runs on this one
        with torch.no_grad(), RunAhead(lambda: loader, depth=2) as batches:
            for batch in batches:
                for outputs, model in zip(members, self.models):
                    step = model.test_step(batch)
                    outputs.extend(step)
                if progress is not None:
                    for _ in step:
                        progress.update()
        return members[0] if len(members) == 1 else average_members(members)

    def assess(self, media: PathLike, crop: Optional[Sequence[float]] = None,
               progress: bool = False, timeline: bool = True,
               meta: Optional[Dict[str, Any]] = None) -> RecordingPrediction:
        """Assess one recording (a video file with its audio track); ``crop``
        ``(x1, y1, x2, y2)`` in source pixels reaches the pipeline as an annotation's
        crop box does, and ``meta`` adds keys to its record (e.g. ``{'difficulty':
        3.2}``; a pair-wise config needs its ``same`` keys). ``progress`` shows mmengine's
        progress bar on stderr; ``timeline=False`` leaves out the segments. Errors name
        the file: missing, bad media, a crop box outside the frame, fewer frames than one
        sample, a ``same`` key ``meta`` lacks, no training exemplar sharing it."""
        media = os.fspath(media)
        if not os.path.isfile(media):
            raise FileNotFoundError(f"recording {media} not found")
        self.check_meta(media, meta)
        # with a timeline the samples cover every frame: each frame is decoded once, into
        # a cache entry the first sample fills, not once per sample that holds it
        once = timeline and self.sizes_frames()
        with tempfile.TemporaryDirectory(prefix="pisa-recording-") if once else contextlib.nullcontext() as cache:
            return self._assess(media, crop, progress, timeline, meta, cache)

    def _assess(self, media: str, crop: Optional[Sequence[float]], progress: bool, timeline: bool,
                meta: Optional[Dict[str, Any]], cache: Optional[str]) -> RecordingPrediction:
        from mmengine.utils import ProgressBar

        level_ds = self.recording_dataset(media, crop, meta=meta, cache_dir=cache)
        query_ds = query_side(level_ds)
        perf = query_ds.performances[0]
        num_frames, fps = int(perf["num_frames"]), perf.get("fps")
        sampler = query_ds.clip_sampler
        level_frames = None if sampler.random else frames_of(query_ds)
        segment_frames = np.zeros((0, sampler.num_clips, sampler.clip_len), dtype=np.int64)
        segment_ds = None
        if timeline:
            segment_frames = contiguous_indices(num_frames, sampler.num_clips, sampler.clip_len)
            reuse = level_frames is not None and np.array_equal(level_frames, segment_frames)
            if len(segment_frames) and not reuse:
                segment_ds = self.recording_dataset(media, crop, sampler=dict(
                    type="ContiguousSampler", num_clips=sampler.num_clips,
                    clip_len=sampler.clip_len), meta=meta, cache_dir=cache)
                segment_frames = frames_of(query_side(segment_ds))
        total = len(level_ds) + (len(segment_ds) if segment_ds is not None else 0)
        bar = ProgressBar(total, file=sys.stderr) if progress else None
        level_outputs = self.predict_samples(level_ds, bar)
        if not timeline or not len(segment_frames):
            segment_outputs: List[Dict[str, Any]] = []
        elif segment_ds is None:  # the level sampler cut exactly the segments
            segment_outputs = level_outputs
        else:
            segment_outputs = self.predict_samples(segment_ds, bar)
        if bar is not None:
            sys.stderr.write("\n")
        dataset = f"{self.dataset_type.__name__} from {self.source}"
        if isinstance(level_ds, ExemplarDataset):
            dataset = (f"{type(level_ds).__name__}({dataset}, {level_ds.num_exemplars} "
                       f"exemplars per sample from its training split)")
        pred = summarise_recording(
            media, fps, num_frames, level_outputs,
            segment_frames, segment_outputs, sampler=repr(sampler),
            dataset=dataset, crop_box=crop, members=len(self.models))
        pred.evidence = recording_evidence(query_ds)
        return pred


def recording_evidence(dataset: AQABaseDataset) -> Dict[str, Any]:
    """What the pipeline's transforms report about the dataset's one recording: each
    transform offering ``recording_evidence(record) -> dict`` (a transcription plugin's
    notes, say) adds its entries."""
    evidence: Dict[str, Any] = {}
    for transform in getattr(dataset.pipeline, "transforms", []):
        report = getattr(transform, "recording_evidence", None)
        if callable(report):
            evidence.update(report(dataset.performances[0]))
    return evidence


def query_side(dataset: Union[AQABaseDataset, ExemplarDataset]) -> AQABaseDataset:
    """The dataset whose samples are assessed: a pair dataset's queries, else itself."""
    return dataset.dataset if isinstance(dataset, ExemplarDataset) else dataset


def frames_of(dataset: AQABaseDataset) -> np.ndarray:
    """The ``(S, K, T)`` frame indices of a dataset's samples, in order."""
    return np.stack([np.asarray(dataset.get_data_info(i)["frame_inds"], dtype=np.int64)
                     for i in range(len(dataset))])
