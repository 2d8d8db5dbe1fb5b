"""Assess whole recordings with a trained model, as mmaction2's ``init_recognizer`` /
``inference_recognizer`` do for recognisers::

    from pisa.apis import init_assessor

    assessor = init_assessor('configs/pisa/....py', 'work_dirs/.../best.pth')
    pred = assessor.assess('recital.mp4', crop=(100, 80, 740, 560))
    pred.level, pred.probs, pred.regression, pred.segments

:func:`init_assessor` reads the config once through the one config path
(:func:`pisa.engine.config_loader.load_config`: ``data_root``, ``cfg_options``, validation),
builds the model and loads its weights once. :meth:`Assessor.assess` then runs a test
loop per recording: a one-recording dataset of the config's own adapter type, built from
its test dataset config (else val, else train) with the recording as its only
performance (:func:`recording_record`), so the config's pipeline (its decoding
transforms, plugin transforms included) and clip sampler (or the adapter's default) make
the samples; a torch ``DataLoader`` with mmengine's ``default_collate`` batches them and
``model.test_step`` predicts them. The recording's level pools those samples as
``performance_accuracy`` does, so it is the prediction ``pisa test`` scores for that
performance. The timeline is a second one-recording dataset of consecutive segments
(``ContiguousSampler`` with the level sampler's clips and frames), or the level samples
themselves when the level sampler already cut exactly those.

``meta`` (``pisa predict --meta KEY=VALUE``) adds keys to the recording's record, as an
annotation's columns would (e.g. a dive's ``difficulty``, which a pipeline's
``PackAQAInputs(meta_keys=...)`` packs).

A pair-wise config (its dataset an :class:`~pisa.data.pairs.ExemplarDataset`, e.g. CoRe)
assesses the recording as a query of the wrapped adapter's one-recording dataset, each
sample with exemplars from the config's training split: the pool is built once, from
the test dataset config with ``split='train'``
(:func:`~pisa.data.pairs.training_split_config`, as ``pisa test`` builds it), and the
exemplars are drawn by the dataset's test-time rule (fixed per sample index from its
``seed``, sharing its ``same`` keys, which the recording's ``meta`` must then give).
"""
from __future__ import annotations

import contextlib
import copy
import logging
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch

from pisa.data.base import AQABaseDataset
from pisa.data.pairs import ExemplarDataset, training_split_config, wrapped_dataset_config
from pisa.data.samplers import contiguous_indices
from pisa.engine.config_loader import dataset_configs, load_config
from pisa.engine.validate import ConfigError
from pisa.engine.hooks.calibration_hook import recorded_decision
from pisa.engine.checkpoint import run_member_checkpoints
from pisa.evaluation.assessment import RecordingPrediction, average_members, summarise_recording
from pisa.io.safe_load import install_checkpoint_safety

PathLike = Union[str, os.PathLike]

#: the config sections a recording's dataset is taken from, in order of preference
DATASET_SOURCES = ("test_dataloader", "val_dataloader", "train_dataloader")


def recording_record(media: PathLike, crop: Optional[Sequence[float]] = None,
                     meta: Optional[Dict[str, Any]] = None) -> Dict[str, Any]:
    """The performance record (:mod:`pisa.data.base`) of a whole recording: the video file
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


@contextlib.contextmanager
def logs_to_stderr() -> Iterator[None]:
    """Send what mmengine logs (and anything printed) to stderr while the block runs, so
    stdout carries only what the caller prints itself (e.g. ``pisa predict --json``)."""
    from mmengine.logging import MMLogger

    moved: List[logging.StreamHandler] = []
    # a logger made inside the block binds its handler to the redirected stream
    for logger in list(MMLogger._instance_dict.values()):
        for handler in logger.handlers:
            if isinstance(handler, logging.StreamHandler) and handler.stream is sys.stdout:
                handler.setStream(sys.stderr)
                moved.append(handler)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        for handler in moved:
            handler.setStream(sys.stdout)


def _load_weights(model: torch.nn.Module, checkpoint: PathLike) -> None:
    """Load ``checkpoint`` (mmengine checkpoint or plain state dict) with
    ``weights_only=True`` through the allowlist of :mod:`pisa.io.safe_load`; a missing
    file raises ``FileNotFoundError``, weights that do not fit the model ``ValueError``,
    both naming the file."""
    from mmengine.runner import load_checkpoint

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


def _dataset_class(ds_cfg: Dict[str, Any]) -> Any:
    """The class a dataset config's ``type`` names (a registered name or the class)."""
    from pisa.registry import DATASETS

    kind = ds_cfg.get("type")
    return DATASETS.get(kind) if isinstance(kind, str) else kind


def _is_pairs(ds_cfg: Dict[str, Any]) -> bool:
    """Whether a dataset config is an :class:`~pisa.data.pairs.ExemplarDataset`'s."""
    cls = _dataset_class(ds_cfg)
    return isinstance(cls, type) and issubclass(cls, ExemplarDataset)


def _dataset_config(cfg: Any, source: str) -> Tuple[str, Dict[str, Any], type]:
    """``(section, dataset config, adapter class)``: the first of :data:`DATASET_SOURCES`
    the config holds, which must be an :class:`~pisa.data.base.AQABaseDataset`, or an
    :class:`~pisa.data.pairs.ExemplarDataset` wrapping one (the class is then the
    wrapped adapter's)."""
    found = dataset_configs(cfg)
    key = next((k for k in DATASET_SOURCES if k in found), None)
    if key is None:
        raise ConfigError(
            f"{source}: no {' / '.join(DATASET_SOURCES)} with a dataset; an assessment takes "
            "the dataset type, pipeline and clip sampler from it")
    ds_cfg = copy.deepcopy(found[key])
    field, adapter_cfg = "type", ds_cfg
    if _is_pairs(ds_cfg):
        field, adapter_cfg = "type (the ExemplarDataset's wrapped dataset)", wrapped_dataset_config(ds_cfg)
    kind, cls = adapter_cfg.get("type"), _dataset_class(adapter_cfg)
    if not (isinstance(cls, type) and issubclass(cls, AQABaseDataset)):
        raise ConfigError(
            f"{source}: {key}.dataset.{field}: {kind!r} is not an AQA dataset adapter "
            "(a registered AQABaseDataset subclass), so it cannot hold one recording")
    return key, ds_cfg, cls


def exemplar_pool(ds_cfg: Dict[str, Any], source: str) -> AQABaseDataset:
    """The training split a pair-wise dataset config's exemplars come from, built once
    from the config as ``pisa test`` builds it (:func:`~pisa.data.pairs.training_split_config`);
    data that cannot be read is an error naming the data root."""
    from pisa.registry import DATASETS

    pool_cfg = training_split_config(wrapped_dataset_config(ds_cfg))
    try:
        pool = DATASETS.build(pool_cfg)
        pool.full_init()
    except (FileNotFoundError, ValueError) as err:
        raise type(err)(
            f"{source}: the exemplars of this pair-wise config come from its training split "
            f"({pool_cfg.get('type')}, data root {pool_cfg.get('data_root')!r}), which could "
            f"not be read: {err}") from None
    return pool


class Assessor:
    """A config's model with trained weights, and the dataset config whose adapter,
    pipeline and sampler make each recording's samples (see the module docstring).
    Made by :func:`init_assessor`.

    Attributes:
        cfg: the loaded config. model: the model, in eval mode on ``device``.
        dataset_cfg: the dataset config recordings are assessed with, from ``source``
            (``'test_dataloader'``, ``'val_dataloader'`` or ``'train_dataloader'``).
        dataset_type: its adapter class (an ExemplarDataset's wrapped adapter).
        exemplars: for a pair-wise ``dataset_cfg`` (an ExemplarDataset's), the training
            split the exemplars are drawn from (:func:`exemplar_pool`); else None.
        batch_size: samples per forward pass.
    """

    def __init__(self, cfg: Any, model: Union[torch.nn.Module, Sequence[torch.nn.Module]],
                 dataset_cfg: Dict[str, Any], source: str, dataset_type: type,
                 device: Union[str, torch.device] = "cpu", batch_size: int = 2,
                 exemplars: Optional[AQABaseDataset] = None) -> None:
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
        if _is_pairs(dataset_cfg) and exemplars is None:
            raise ValueError(f"{source}: a pair-wise dataset config needs the training split "
                             "its exemplars come from: exemplars=exemplar_pool(dataset_cfg, source)")
        self.exemplars = exemplars

    def check_meta(self, media: PathLike, meta: Optional[Dict[str, Any]]) -> None:
        """A pair-wise config's exemplars share the query's ``same`` keys: ``meta`` must
        give each (a ``ValueError`` naming the missing ones)."""
        if self.exemplars is None:
            return
        same = self.dataset_cfg.get("same", ())
        same = (same,) if isinstance(same, str) else tuple(same)
        missing = [k for k in same if (meta or {}).get(k) is None]
        if missing:
            given = ", ".join(f"{k}=VALUE" for k in missing)
            raise ValueError(
                f"recording {os.fspath(media)}: no {', '.join(map(repr, missing))}, which its "
                f"exemplars must share ({self.source}.dataset: ExemplarDataset same={same}); "
                f"give it as meta={{{', '.join(f'{k!r}: VALUE' for k in missing)}}} "
                f"(pisa predict --meta {given})")

    def recording_dataset(self, media: PathLike, crop: Optional[Sequence[float]] = None,
                          sampler: Optional[Dict[str, Any]] = None,
                          meta: Optional[Dict[str, Any]] = None
                          ) -> Union[AQABaseDataset, ExemplarDataset]:
        """The one-recording test dataset of ``media`` (its record with the keys of
        ``meta``): the config's adapter type and pipeline, its sampler (or ``sampler``, a
        clip sampler config), no prepared cache, and any bad media an error; for a
        pair-wise config that dataset's samples with their exemplars from
        :attr:`exemplars` (an :class:`~pisa.data.pairs.ExemplarDataset`)."""
        from pisa.registry import DATASETS

        ds_cfg = dict(copy.deepcopy(self.dataset_cfg),
                      recordings=[recording_record(media, crop, meta)],
                      test_mode=True, cache_dir=None, on_bad_sample="error", lazy_init=False)
        if sampler is not None:
            ds_cfg["sampler"] = dict(sampler)
        if self.exemplars is not None:
            ds_cfg["exemplars"] = self.exemplars
        return DATASETS.build(ds_cfg)

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
        with torch.no_grad():
            for batch in loader:
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
        from mmengine.utils import ProgressBar

        media = os.fspath(media)
        if not os.path.isfile(media):
            raise FileNotFoundError(f"recording {media} not found")
        self.check_meta(media, meta)
        with logs_to_stderr():
            level_ds = self.recording_dataset(media, crop, meta=meta)
            query_ds = _query_side(level_ds)
            perf = query_ds.performances[0]
            num_frames, fps = int(perf["num_frames"]), perf.get("fps")
            sampler = query_ds.sampler
            level_frames = None if sampler.random else _frames_of(query_ds)
            segment_frames = np.zeros((0, sampler.num_clips, sampler.clip_len), dtype=np.int64)
            segment_ds = None
            if timeline:
                segment_frames = contiguous_indices(num_frames, sampler.num_clips, sampler.clip_len)
                reuse = level_frames is not None and np.array_equal(level_frames, segment_frames)
                if len(segment_frames) and not reuse:
                    segment_ds = self.recording_dataset(media, crop, sampler=dict(
                        type="ContiguousSampler", num_clips=sampler.num_clips,
                        clip_len=sampler.clip_len), meta=meta)
                    segment_frames = _frames_of(_query_side(segment_ds))
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
        return summarise_recording(
            media, fps, num_frames, level_outputs,
            segment_frames, segment_outputs, sampler=repr(sampler),
            dataset=dataset, crop_box=crop, members=len(self.models))


def _query_side(dataset: Union[AQABaseDataset, ExemplarDataset]) -> AQABaseDataset:
    """The dataset whose samples are assessed: a pair dataset's queries, else itself."""
    return dataset.dataset if isinstance(dataset, ExemplarDataset) else dataset


def _frames_of(dataset: AQABaseDataset) -> np.ndarray:
    """The ``(S, K, T)`` frame indices of a dataset's samples, in order."""
    return np.stack([np.asarray(dataset.get_data_info(i)["frame_inds"], dtype=np.int64)
                     for i in range(len(dataset))])


def member_checkpoints(checkpoint: Union[PathLike, Sequence[PathLike]]) -> List[str]:
    """The checkpoint files an assessor loads: one file, several (an ensemble), or the
    folder of one ``--seeds``/``--folds`` call (its runs' selected checkpoints,
    :func:`~pisa.engine.checkpoint.run_member_checkpoints`)."""
    paths = [checkpoint] if isinstance(checkpoint, (str, os.PathLike)) else list(checkpoint)
    if not paths:
        raise ValueError("no checkpoint given")
    found: List[str] = []
    for path in map(os.fspath, paths):
        if os.path.isdir(path):
            found.extend(run_member_checkpoints(path))
        elif not os.path.isfile(path):
            raise FileNotFoundError(f"checkpoint {path} not found")
        else:
            found.append(path)
    return found


def init_assessor(config: PathLike, checkpoint: Union[PathLike, Sequence[PathLike]],
                  device: Union[str, torch.device] = "cpu",
                  cfg_options: Optional[Dict[str, Any]] = None, data_root: Optional[str] = None,
                  batch_size: int = 2) -> Assessor:
    """An :class:`Assessor` from a config file and trained weights (an mmengine
    checkpoint or a plain state dict; several, or a ``--seeds``/``--folds`` run folder,
    make an ensemble whose members' probabilities are averaged): the config read by
    :func:`pisa.engine.config_loader.load_config` with ``cfg_options`` and ``data_root``, the
    model built from its ``model`` and the weights loaded strictly. Each member predicts
    with the decision rule and temperature its training run recorded
    (:func:`~pisa.engine.hooks.calibration_hook.recorded_decision`) unless ``cfg_options`` set them.
    Errors name the file: a missing config or checkpoint (``FileNotFoundError``), a bad
    config (:class:`~pisa.engine.validate.ConfigError`), weights that do not fit
    (``ValueError``)."""
    from pisa.engine.hooks.calibration_hook import explicit_decision
    from pisa.registry import MODELS

    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    with logs_to_stderr():  # reading the config logs too (e.g. the data root it used)
        cfg = load_config(config, cfg_options, data_root)
        source, ds_cfg, dataset_type = _dataset_config(cfg, os.fspath(config))
        paths = member_checkpoints(checkpoint)  # before a model is built: fail fast
        pairs = _is_pairs(ds_cfg)
        if pairs and _reads_features(dataset_type):
            raise ConfigError(f"{os.fspath(config)}: {source}.dataset pairs clip features "
                              "(ExemplarDataset over a feature dataset); a recording is "
                              "assessed with pairs of decoded media only")
        exemplars = exemplar_pool(ds_cfg, os.fspath(config)) if pairs else None
        models = []
        for path in paths:
            model = MODELS.build(cfg.model)
            _load_weights(model, path)
            record = None if explicit_decision(cfg_options) else recorded_decision(path)
            if record is not None and hasattr(model, "set_decision"):
                model.set_decision(record["rule"], float(record.get("temperature", 1.0)))
            models.append(model.to(device).eval())
        if _reads_features(dataset_type):
            return _feature_assessor(cfg, models, ds_cfg, source, dataset_type, device, batch_size)
    return Assessor(cfg, models, ds_cfg, source, dataset_type, device=device,
                    batch_size=batch_size, exemplars=exemplars)


def _reads_features(dataset_type: type) -> bool:
    """Whether the config's dataset reads extracted clip features instead of media."""
    from pisa.data.features import ClipFeatureDataset

    return issubclass(dataset_type, ClipFeatureDataset)


def _feature_assessor(cfg: Any, models: List[torch.nn.Module], ds_cfg: Dict[str, Any],
                      source: str, dataset_type: type, device: Union[str, torch.device],
                      batch_size: int) -> Assessor:
    """The assessor of a model trained on clip features: a recording is decoded and
    featurised as its features' manifest records (:mod:`pisa.apis.feature_assessor`)."""
    from pisa.apis.feature_assessor import FeatureAssessor

    return FeatureAssessor(cfg, models, ds_cfg, source, dataset_type, device=device,
                           batch_size=batch_size)
