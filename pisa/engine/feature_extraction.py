"""Extracting clip features once: a registered backbone (built-in or a plugin's, weights
from a local file) over every performance of a config's datasets, with each dataset's
clip sampler and deterministic pipeline, into the feature folders that
:mod:`pisa.data.core.feature_store` describes (and the feature datasets read).

``pisa extract-features CONFIG [--checkpoint CKPT] [--out DIR]`` (:func:`extract_config`)
takes the jobs (:func:`extraction_jobs`) of either kind of config:

- a feature config (its datasets are :class:`~pisa.data.wrappers.feature_datasets.FeatureDataset`): each
  dataset's source adapter, split as the dataset splits it, with the dataset's
  ``extractor``, into its ``feature_root`` (``--out`` instead, when given);
- an end-to-end config: the model's ``<modality>_backbone`` (a pair model's
  ``backbone``) and ``data_preprocessor`` over every dataset's performances (a pair
  dataset's wrapped one), with the test dataset's pipeline and sampler (the
  training pipeline augments, and features are computed once), into ``--out``.

Per performance the clips of all its samples are cut in batches of ``batch_size``; each
batch goes through the source dataset's own pipeline (decoding, crop and resize, mel
images), the data preprocessor (device and normalisation) and the backbone in eval mode,
so a feature is what the end-to-end model's backbone computes for that clip (up to the
rounding that another batch composition may bring).
Files are written atomically, the ``.json`` before the ``.npy``; a complete performance
whose source fingerprint is unchanged is skipped, so a killed extraction resumes where it
stopped. Two processes extracting into one folder at once both compute what is missing
and the last rename wins (each file whole); nothing is locked.
"""
from __future__ import annotations

import copy
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Union

import numpy as np
import torch

from pisa.data.core.bad_samples import BadSampleWarning
from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.core.feature_store import (FEATURE_VERSION, MODALITIES, check_deterministic,
                                          extractor_spec, feature_key, normalisation_of,
                                          performance_complete, performance_fingerprint,
                                          performance_paths, plain_config, sample_layout,
                                          write_manifest, write_performance)
from pisa.io.hashing import file_sha256
from pisa.data.wrappers.feature_datasets import SPLIT_KEYS, FeatureDataset
from pisa.data.wrappers.pair_configs import wrapped_dataset_config
from pisa.data.wrappers.pairs import is_pair_config
from pisa.engine.config_loader import dataset_configs
from pisa.engine.validate import ConfigError
from pisa.models.weights import backbone_prefix, unloaded_tensors, weight_tensors

PathLike = Union[str, os.PathLike]
#: the FeatureDataset arguments that split its source's performances
FEATURE_SPLIT_ARGS = ("split", "split_seed", "val_performances", "folds", "fold")


@dataclass
class ExtractionJob:
    """One source dataset to featurise: ``where`` (the config key it comes from), the
    extractor ``spec`` (:func:`~pisa.data.wrappers.feature_datasets.extractor_spec`), the ``source``
    adapter config (without split keys) and the ``split_args`` that pick its
    performances, the ``feature_root`` to write under and the ``config`` file."""

    where: str
    spec: Dict[str, Any]
    source: Dict[str, Any]
    split_args: Dict[str, Any]
    feature_root: str
    config: str = ""
    notes: List[str] = field(default_factory=list)


def resolve_device(device: Union[None, str, torch.device] = "auto") -> torch.device:
    """``'auto'`` (or None): the GPU when there is one, else the CPU; else ``device``."""
    if device in (None, "auto"):
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def _is_feature_dataset(ds_cfg: Dict[str, Any]) -> bool:
    from pisa.registry import DATASETS

    kind = ds_cfg.get("type")
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    return isinstance(cls, type) and issubclass(cls, FeatureDataset)


def _with_weights(spec: Dict[str, Any], checkpoint: Optional[str], prefix: Optional[str]) -> Dict[str, Any]:
    spec = copy.deepcopy(spec)
    if checkpoint:
        spec["weights"], spec["weights_prefix"] = os.fspath(checkpoint), prefix
    elif prefix:
        spec["weights_prefix"] = prefix
    return spec


def _query_dataset(ds_cfg: Dict[str, Any]) -> Dict[str, Any]:
    """A pair dataset's (``ExemplarDataset``'s) wrapped dataset config: every performance
    is featurised once, exemplars included; any other dataset config as it is."""
    return wrapped_dataset_config(ds_cfg) if is_pair_config(ds_cfg) else ds_cfg


def extraction_jobs(cfg: Any, config: str, checkpoint: Optional[str] = None,
                    weights_prefix: Optional[str] = None, out: Optional[str] = None,
                    modality: Optional[str] = None) -> List[ExtractionJob]:
    """The jobs of a loaded config (module docstring): one per dataset (``*_dataloader``
    or top-level ``dataset``). ``checkpoint``/``weights_prefix``: the weights file (and
    the key prefix read from it) instead of the config's; ``out``: the feature root
    instead of the datasets'. Raises :class:`~pisa.engine.validate.ConfigError` naming
    the key for a config without datasets, backbone or weights."""
    datasets = dataset_configs(cfg)
    if not datasets:
        raise ConfigError(f"{config}: no train/val/test_dataloader.dataset (or dataset) to featurise")
    features = {k: v for k, v in datasets.items() if _is_feature_dataset(v)}
    jobs = []
    if features:
        for where, ds_cfg in features.items():
            ds_cfg = plain_config(dict(ds_cfg))
            spec = extractor_spec(_with_weights(ds_cfg.get("extractor") or {}, checkpoint,
                                                weights_prefix), f"{where}.dataset.extractor")
            root = out or ds_cfg.get("feature_root") or "work_dirs/features"
            notes = []
            given = [f"--checkpoint {checkpoint}"] * bool(checkpoint) + [f"--out {out}"] * bool(out)
            if given:
                notes.append(f"{where}: features made with {' '.join(given)}: the config's "
                             "datasets read their own extractor.weights and feature_root, so "
                             "set those to train on these")
            jobs.append(ExtractionJob(
                where=where, spec=spec, source=dict(ds_cfg["source"]),
                split_args={k: ds_cfg[k] for k in FEATURE_SPLIT_ARGS if k in ds_cfg},
                feature_root=str(root), config=str(config), notes=notes))
        return jobs
    model = plain_config(dict(cfg.get("model") or {}))
    # the first modality the model has a backbone for, in the model's order
    modality = modality or next((m for m in MODALITIES if model.get(f"{m}_backbone")), "video")
    # a pair model (CoRe) has one video backbone, `backbone`
    backbone = model.get(f"{modality}_backbone") or (modality == "video" and model.get("backbone"))
    if not backbone:
        raise ConfigError(f"{config}: model.{modality}_backbone: missing; extraction runs the "
                          "config's backbone (or give a feature config)")
    if not out:
        raise ConfigError(f"{config}: --out DIR: an end-to-end config names no feature folder")
    spec = extractor_spec(dict(modality=modality, backbone=backbone, weights=checkpoint,
                               weights_prefix=weights_prefix,
                               data_preprocessor=model.get("data_preprocessor") or {}),
                          f"{config}: model")
    reference_key = next(k for k in ("test_dataloader", "val_dataloader", "train_dataloader", "dataset")
                         if k in datasets)
    reference = _query_dataset(plain_config(dict(datasets[reference_key])))
    for where, ds_cfg in datasets.items():
        ds_cfg = _query_dataset(plain_config(dict(ds_cfg)))
        source = {k: v for k, v in ds_cfg.items() if k not in SPLIT_KEYS}
        # features are computed once: every split with the test pipeline and sampler
        source["pipeline"] = reference.get("pipeline") or []
        if "clip_sampler" in reference:
            source["clip_sampler"] = reference["clip_sampler"]
        jobs.append(ExtractionJob(
            where=where, spec=spec, source=source,
            split_args={k: ds_cfg[k] for k in FEATURE_SPLIT_ARGS if k in ds_cfg},
            feature_root=str(out), config=str(config),
            notes=[f"{where}: with {reference_key}'s pipeline and sampler"]))
    return jobs


# -- the backbone ------------------------------------------------------------------------
@dataclass
class Extractor:
    """A backbone with its weights loaded, in eval mode on ``device``, and the data
    preprocessor that normalises its input; ``dim`` its feature size."""

    spec: Dict[str, Any]
    backbone: torch.nn.Module
    preprocessor: torch.nn.Module
    device: torch.device
    weights_sha256: str
    weights_prefix: Optional[str]
    dim: int

    @property
    def modality(self) -> str:
        return self.spec["modality"]

    @torch.no_grad()
    def __call__(self, clips: torch.Tensor) -> torch.Tensor:
        """Packed clips of one performance ``(k, ...)`` (uint8 video or float mel images,
        as the pipeline packs them) -> float32 features ``(k, D)`` on the CPU."""
        batch = self.preprocessor({"inputs": {self.modality: clips[None]}, "data_samples": None})
        feats = self.backbone(batch["inputs"][self.modality][0])
        return feats.float().cpu()


def load_extractor(spec: Dict[str, Any], device: Union[None, str, torch.device] = "auto",
                   expected_sha256: Optional[str] = None) -> Extractor:
    """Build the spec's backbone through the registry (plugins included) with its weights
    file, and its data preprocessor. A backbone that takes ``pretrained`` (and
    ``pretrained_prefix``) loads the file its own way (a wrapper maps the file's names to
    its own); any other gets :func:`~pisa.models.weights.load_backbone_weights`. Then every
    floating-point tensor of the backbone must equal one of the file's (in the backbone's
    names, through its ``convert_state_dict`` when it has one)
    (:func:`~pisa.models.weights.unloaded_tensors`): a partly loaded backbone would make features of random
    weights. ``expected_sha256``: refuse a weights file whose content is not the one the
    features were made with."""
    import inspect

    from pisa.models.weights import load_backbone_weights
    from pisa.registry import BACKBONES, MODELS

    device = resolve_device(device)
    path = spec["weights"]
    sha = file_sha256(path)
    if expected_sha256 and sha != expected_sha256:
        raise ValueError(f"weights file {path} has sha256 {sha[:12]}..., the features were made "
                         f"with {expected_sha256[:12]}...: not the same weights")
    state = weight_tensors(path, "extractor.weights")
    prefix = spec.get("weights_prefix") or backbone_prefix(state, spec["modality"])
    cfg = dict(spec["backbone"])
    cls = BACKBONES.get(cfg["type"]) if isinstance(cfg["type"], str) else cfg["type"]
    takes = inspect.signature(cls).parameters
    if "pretrained" in takes and (prefix is None or "pretrained_prefix" in takes):
        cfg["pretrained"] = path
        if prefix is not None:
            cfg["pretrained_prefix"] = prefix
        backbone = BACKBONES.build(cfg)
    else:
        backbone = BACKBONES.build(cfg)
        load_backbone_weights(backbone, path, prefix=prefix, cfg_key="extractor.weights")
    if hasattr(backbone, "convert_state_dict"):  # a file in another layout (I3D: CoRe's)
        if prefix:
            state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
        state, prefix = backbone.convert_state_dict(state), None
    missing = unloaded_tensors(backbone, state, prefix)
    if missing:
        raise ValueError(f"weights file {path} (prefix {prefix!r}) does not hold {len(missing)} "
                         f"tensors of {type(backbone).__name__}: {missing[:5]}; features need "
                         "the whole backbone")
    backbone.eval().to(device)
    preprocessor = MODELS.build(dict(spec["data_preprocessor"])).to(device)
    return Extractor(spec=spec, backbone=backbone, preprocessor=preprocessor, device=device,
                     weights_sha256=sha, weights_prefix=prefix,
                     dim=int(getattr(backbone, "out_features")))


def featurise_clips(dataset: AQABaseDataset, template: Dict[str, Any], frame_inds: np.ndarray,
                    extractor: Extractor, batch_size: int = 16) -> np.ndarray:
    """The features ``(R, D)`` float32 of the clips ``frame_inds`` ``(R, T)`` of the
    performance whose sample record is ``template``: ``batch_size`` clips at a time
    through the dataset's pipeline, the data preprocessor and the backbone."""
    frame_inds = np.asarray(frame_inds, dtype=np.int64)
    out = np.empty((len(frame_inds), extractor.dim), dtype=np.float32)
    for start in range(0, len(frame_inds), int(batch_size)):
        chunk = frame_inds[start:start + int(batch_size)]
        packed = dataset.pipeline(dict(template, frame_inds=chunk))
        clips = packed["inputs"].get(extractor.modality)
        if clips is None:
            raise ValueError(f"{dataset.__class__.__name__}: the pipeline packs no "
                             f"{extractor.modality!r} input (PackAQAInputs modalities)")
        feats = extractor(clips)
        if feats.shape != (len(chunk), extractor.dim):
            raise ValueError(f"{type(extractor.backbone).__name__} gave {tuple(feats.shape)} for "
                             f"{len(chunk)} clips, expected ({len(chunk)}, {extractor.dim})")
        out[start:start + len(chunk)] = feats.numpy()
    return out


def performance_records(dataset: AQABaseDataset) -> Dict[str, List[Dict[str, Any]]]:
    """The sample records of a dataset by ``perf_id``, in the dataset's order."""
    from mmengine.dataset import BaseDataset

    out: Dict[str, List[Dict[str, Any]]] = {}
    for i in range(len(dataset)):
        info = BaseDataset.get_data_info(dataset, i)  # stored records, nothing drawn
        out.setdefault(str(info["perf_id"]), []).append(info)
    return out


# -- one job ------------------------------------------------------------------------------
def _source_dataset(job: ExtractionJob) -> AQABaseDataset:
    from pisa.registry import DATASETS

    # read once, in order: no serialised copy for DataLoader workers
    cfg = dict(copy.deepcopy(job.source), **job.split_args, test_mode=True, serialize_data=False)
    cfg.pop("lazy_init", None)
    dataset = DATASETS.build(cfg)
    if not isinstance(dataset, AQABaseDataset):
        raise ConfigError(f"{job.config}: {job.where}: {type(dataset).__name__} is not an AQA "
                          "dataset adapter (an AQABaseDataset)")
    return dataset


def manifest_of(job: ExtractionJob, dataset: AQABaseDataset, key: str,
                extractor: Extractor) -> Dict[str, Any]:
    """The ``manifest.json`` of a feature folder (:mod:`pisa.data.core.feature_store`)."""
    spec = job.spec
    return {
        "version": FEATURE_VERSION, "key": key, "modality": spec["modality"],
        "backbone": spec["backbone"],
        "weights": {"path": os.path.abspath(spec["weights"]), "sha256": extractor.weights_sha256,
                    "prefix": spec.get("weights_prefix"), "prefix_read": extractor.weights_prefix},
        "sampler": repr(dataset.clip_sampler), "sampler_config": plain_config(job.source.get("clip_sampler")),
        "dataset_type": type(dataset).__name__,
        "pipeline": plain_config(list(job.source.get("pipeline") or [])),
        "data_preprocessor": spec["data_preprocessor"],
        "normalisation": normalisation_of(spec["data_preprocessor"]),
        "dim": extractor.dim, "dtype": "float32",
        "files": "<stem>.npy float32 (rows, dim) and <stem>.json per performance",
        "source_config": job.config, "source_dataset": plain_config(job.source),
    }


def extract_job(job: ExtractionJob, device: Union[None, str, torch.device] = "auto",
                batch_size: int = 16, progress: bool = True,
                extractors: Optional[Dict[str, Extractor]] = None,
                log: Callable[[str], None] = print) -> Path:
    """Featurise every performance of a job into ``<feature_root>/<key>/`` (module
    docstring); performances already complete are skipped. A performance whose media
    fail raises, or with the source's ``on_bad_sample='skip'`` is left out with a
    warning. ``extractors``: loaded backbones by weights path, shared between jobs.
    Returns the feature folder."""
    from mmengine.utils import ProgressBar

    dataset = _source_dataset(job)
    pipeline = plain_config(list(job.source.get("pipeline") or []))
    check_deterministic(pipeline, dataset.clip_sampler, f"{job.config}: {job.where}")
    extractors = {} if extractors is None else extractors
    cache_key = repr((job.spec, str(resolve_device(device))))
    if cache_key not in extractors:
        extractors[cache_key] = load_extractor(job.spec, device)
    extractor = extractors[cache_key]
    key = feature_key(job.spec, extractor.weights_sha256, repr(dataset.clip_sampler),
                      type(dataset).__name__, pipeline)
    folder = Path(job.feature_root) / key
    write_manifest(folder, manifest_of(job, dataset, key, extractor))
    by_perf = performance_records(dataset)
    stems: Dict[str, str] = {}
    for perf_id in by_perf:
        stem = performance_paths(folder, perf_id)[0].name
        if stem in stems:
            raise ValueError(f"{job.where}: performances {stems[stem]!r} and {perf_id!r} map to "
                             f"one feature file {stem}")
        stems[stem] = perf_id
    log(f"{job.where}: {len(dataset.performances)} performances of {type(dataset).__name__} "
        f"-> {folder}")
    bar = ProgressBar(len(dataset.performances), file=sys.stdout) if progress else None
    written = 0
    for perf in dataset.performances:
        perf_id = str(perf["perf_id"])
        records = by_perf.get(perf_id, [])
        fingerprint = performance_fingerprint(perf)
        if records and not performance_complete(folder, perf_id, fingerprint):
            layout = sample_layout(records)
            try:
                feats = featurise_clips(dataset, records[0], layout["frame_inds"], extractor,
                                        batch_size)
            except (ValueError, OSError) as err:
                if dataset.on_bad_sample != "skip":
                    raise
                warnings.warn(f"skipped: {err}", BadSampleWarning, stacklevel=2)
                feats = None
            if feats is not None:
                write_performance(folder, perf_id, feats, layout, fingerprint,
                                  ann_source=perf.get("ann_source"),
                                  dataset_type=type(dataset).__name__)
                written += 1
        if bar is not None:
            bar.update()
    if bar is not None:
        sys.stdout.write("\n")
    log(f"{job.where}: {written} performances featurised, "
        f"{len(dataset.performances) - written} already complete or skipped")
    return folder


def extract_config(cfg: Any, config: str, checkpoint: Optional[str] = None,
                   weights_prefix: Optional[str] = None, out: Optional[str] = None,
                   modality: Optional[str] = None, device: Union[None, str, torch.device] = "auto",
                   batch_size: int = 16, progress: bool = True,
                   log: Callable[[str], None] = print) -> List[Path]:
    """Run every job of a loaded config (:func:`extraction_jobs`); returns the feature
    folders, one per job (jobs of one setting share a folder)."""
    if int(batch_size) < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    jobs = extraction_jobs(cfg, config, checkpoint, weights_prefix, out, modality)
    extractors: Dict[str, Extractor] = {}
    folders = []
    for job in jobs:
        for note in job.notes:
            log(note)
        folders.append(extract_job(job, device, batch_size, progress, extractors, log))
    return folders


# -- a new recording ----------------------------------------------------------------------
def recording_features(dataset: AQABaseDataset, extractor: Extractor,
                       batch_size: int = 16) -> Dict[str, Any]:
    """The one performance of a one-recording source dataset (``recordings=[...]``),
    featurised: its record with ``clip_features`` ``(R, D)`` and ``feature_layout``
    (:func:`~pisa.data.wrappers.feature_datasets.sample_layout`), as
    :class:`~pisa.data.wrappers.feature_datasets.FeatureDataset` takes ``recordings``."""
    by_perf = performance_records(dataset)
    if len(dataset.performances) != 1:
        raise ValueError(f"expected one recording, got {len(dataset.performances)} performances")
    perf = dataset.performances[0]
    records = by_perf[str(perf["perf_id"])]
    layout = sample_layout(records)
    feats = featurise_clips(dataset, records[0], layout["frame_inds"], extractor, batch_size)
    record = {k: v for k, v in perf.items() if k not in ("samples", "sample_indices")}
    return dict(record, clip_features=feats, feature_layout=layout)


__all__ = ["ExtractionJob", "Extractor", "extract_config",
           "extract_job", "extraction_jobs", "featurise_clips", "load_extractor",
           "recording_features", "resolve_device"]
