"""Extracting clip features once: a registered backbone (built-in or a plugin's, weights
from a local file) over every performance of a config's datasets, with each dataset's
clip sampler and deterministic pipeline, into the feature folders that
:mod:`pisa.data.features` describes and reads.

``pisa extract-features CONFIG [--checkpoint CKPT] [--out DIR]`` (:func:`extract_config`)
takes the jobs (:func:`extraction_jobs`) of either kind of config:

- a feature config (its datasets are :class:`~pisa.data.features.FeatureDataset`): each
  dataset's source adapter, split as the dataset splits it, with the dataset's
  ``extractor``, into its ``feature_root`` (``--out`` instead, when given);
- an end-to-end config: the model's ``<modality>_backbone`` and ``data_preprocessor``
  over every dataset's performances, with the test dataset's pipeline and sampler (the
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

:class:`FreezeModulesHook` trains a model with some of its parts fixed (an end-to-end
model with a frozen backbone: what training on features is equivalent to).
"""
from __future__ import annotations

import copy
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence, Union

import numpy as np
import torch
from mmengine.hooks import Hook

from pisa.data.bad_samples import BadSampleWarning
from pisa.data.base import AQABaseDataset
from pisa.data.features import (FEATURE_VERSION, MANIFEST, SPLIT_KEYS, FeatureDataset,
                                plain_config, check_deterministic, extractor_spec, feature_key,
                                file_sha256, normalisation_of, performance_fingerprint,
                                performance_paths, read_manifest, sample_layout)
from pisa.engine.config_loader import dataset_configs
from pisa.engine.validate import ConfigError
from pisa.io.atomic import atomic_output, atomic_write, to_jsonable, write_json
from pisa.registry import component

PathLike = Union[str, os.PathLike]
#: the FeatureDataset arguments that split its source's performances
FEATURE_SPLIT_ARGS = ("split", "split_seed", "val_performances", "folds", "fold")


@dataclass
class ExtractionJob:
    """One source dataset to featurise: ``where`` (the config key it comes from), the
    extractor ``spec`` (:func:`~pisa.data.features.extractor_spec`), the ``source``
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
    modality = modality or ("video" if model.get("video_backbone") else "audio")
    backbone = model.get(f"{modality}_backbone")
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
    reference = plain_config(dict(datasets[reference_key]))
    for where, ds_cfg in datasets.items():
        ds_cfg = plain_config(dict(ds_cfg))
        source = {k: v for k, v in ds_cfg.items() if k not in SPLIT_KEYS}
        # features are computed once: every split with the test pipeline and sampler
        source["pipeline"] = reference.get("pipeline") or []
        if "sampler" in reference:
            source["sampler"] = reference["sampler"]
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


def _file_tensors(path: str) -> Dict[str, torch.Tensor]:
    """The tensors of a weights file (a plain state dict or an mmengine checkpoint's)."""
    from pisa.models.weights import read_checkpoint

    obj = read_checkpoint(path, "extractor.weights")
    state = obj["state_dict"] if isinstance(obj.get("state_dict"), dict) else obj
    return {str(k): v for k, v in state.items() if isinstance(v, torch.Tensor)}


def _auto_prefix(state: Dict[str, torch.Tensor], modality: str) -> Optional[str]:
    """The key prefix of the backbone's tensors in a weights file: ``<modality>_backbone.``
    (an AQA model's checkpoint), ``backbone.`` (a recogniser's), else none."""
    for prefix in (f"{modality}_backbone.", "backbone."):
        if any(k.startswith(prefix) for k in state):
            return prefix
    return None


def unloaded_tensors(module: torch.nn.Module, state: Dict[str, torch.Tensor],
                     prefix: Optional[str]) -> List[str]:
    """The floating-point tensors of ``module`` that no tensor of the weights ``state``
    (under ``prefix``, stripped) equals, matched by name up to a leading module path (a
    backbone wrapping a network, e.g. ``net.stem.0.weight`` for a file's
    ``stem.0.weight``)."""
    if prefix:
        state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
    missing = []
    for key, value in module.state_dict().items():
        if not value.is_floating_point():
            continue
        names = [f for f in state if key == f or key.endswith("." + f) or f.endswith("." + key)]
        match = max(names, key=len) if names else None
        if match is None or state[match].shape != value.shape or not torch.equal(
                state[match].to(value.dtype), value.cpu()):
            missing.append(key)
    return missing


def load_extractor(spec: Dict[str, Any], device: Union[None, str, torch.device] = "auto",
                   expected_sha256: Optional[str] = None) -> Extractor:
    """Build the spec's backbone through the registry (plugins included) with its weights
    file, and its data preprocessor. A backbone that takes ``pretrained`` (and
    ``pretrained_prefix``) loads the file its own way (a wrapper maps the file's names to
    its own); any other gets :func:`~pisa.models.weights.load_backbone_weights`. Then every
    floating-point tensor of the backbone must equal one of the file's
    (:func:`unloaded_tensors`): a partly loaded backbone would make features of random
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
    state = _file_tensors(path)
    prefix = spec.get("weights_prefix") or _auto_prefix(state, spec["modality"])
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
    """The ``manifest.json`` of a feature folder (:mod:`pisa.data.features`)."""
    spec = job.spec
    return {
        "version": FEATURE_VERSION, "key": key, "modality": spec["modality"],
        "backbone": spec["backbone"],
        "weights": {"path": os.path.abspath(spec["weights"]), "sha256": extractor.weights_sha256,
                    "prefix": spec.get("weights_prefix"), "prefix_read": extractor.weights_prefix},
        "sampler": repr(dataset.sampler), "sampler_config": plain_config(job.source.get("sampler")),
        "dataset_type": type(dataset).__name__,
        "pipeline": plain_config(list(job.source.get("pipeline") or [])),
        "data_preprocessor": spec["data_preprocessor"],
        "normalisation": normalisation_of(spec["data_preprocessor"]),
        "dim": extractor.dim, "dtype": "float32",
        "files": "<stem>.npy float32 (rows, dim) and <stem>.json per performance",
        "source_config": job.config, "source_dataset": plain_config(job.source),
    }


def _complete(npy: Path, meta_path: Path, fingerprint: str) -> bool:
    if not (npy.is_file() and meta_path.is_file()):
        return False
    try:
        with open(meta_path) as f:
            meta = json.load(f)
        shape = np.load(npy, mmap_mode="r").shape
    except (OSError, ValueError):
        return False
    return (meta.get("source_fingerprint") == fingerprint
            and shape == (meta.get("rows"), meta.get("dim")))


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
    check_deterministic(pipeline, dataset.sampler, f"{job.config}: {job.where}")
    extractors = {} if extractors is None else extractors
    cache_key = repr((job.spec, str(resolve_device(device))))
    if cache_key not in extractors:
        extractors[cache_key] = load_extractor(job.spec, device)
    extractor = extractors[cache_key]
    key = feature_key(job.spec, extractor.weights_sha256, repr(dataset.sampler),
                      type(dataset).__name__, pipeline)
    folder = Path(job.feature_root) / key
    if (folder / MANIFEST).is_file():
        if read_manifest(folder).get("key") != key:
            raise ValueError(f"{folder / MANIFEST}: holds another key; the folder was renamed?")
    else:
        write_json(folder / MANIFEST, manifest_of(job, dataset, key, extractor))
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
        npy, meta_path = performance_paths(folder, perf_id)
        fingerprint = performance_fingerprint(perf)
        if records and not _complete(npy, meta_path, fingerprint):
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
                # a stale .npy goes first, so a .json never describes another .npy
                npy.unlink(missing_ok=True)
                meta = dict(
                    perf_id=perf_id, rows=int(len(feats)), dim=int(feats.shape[1]),
                    clips_per_sample=layout["clips_per_sample"],
                    sample_indices=layout["sample_indices"], frame_inds=layout["frame_inds"],
                    num_frames=layout["num_frames"], fps=layout["fps"],
                    source_fingerprint=fingerprint, ann_source=perf.get("ann_source"),
                    dataset_type=type(dataset).__name__)
                # one line: a long performance has thousands of frame indices
                atomic_write(meta_path, json.dumps(to_jsonable(meta), sort_keys=True) + "\n")
                with atomic_output(npy) as tmp:
                    np.save(tmp, feats)
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
    (:func:`~pisa.data.features.sample_layout`), as
    :class:`~pisa.data.features.FeatureDataset` takes ``recordings``."""
    by_perf = performance_records(dataset)
    if len(dataset.performances) != 1:
        raise ValueError(f"expected one recording, got {len(dataset.performances)} performances")
    perf = dataset.performances[0]
    records = by_perf[str(perf["perf_id"])]
    layout = sample_layout(records)
    feats = featurise_clips(dataset, records[0], layout["frame_inds"], extractor, batch_size)
    record = {k: v for k, v in perf.items() if k not in ("samples", "sample_indices")}
    return dict(record, clip_features=feats, feature_layout=layout)


@component("hook")
class FreezeModulesHook(Hook):
    """Train with the named submodules of the model fixed (e.g. ``'video_backbone'``): their
    parameters get no gradients (so no optimizer moves them and autograd does not run
    through them) and they stay in eval mode (batch norm statistics and dropout as at
    extraction). An end-to-end model trained so computes what a model on that backbone's
    extracted features computes.

    Config use: ``custom_hooks = [..., dict(type='FreezeModulesHook', modules=['video_backbone'])]``.
    Under DDP the model is wrapped before any hook runs, so the wrapper still waits for
    the frozen parameters' gradients: set ``model_wrapper_cfg.find_unused_parameters=True``.
    """

    priority = "VERY_HIGH"

    def __init__(self, modules: Sequence[str] = ("video_backbone",)) -> None:
        if isinstance(modules, str):
            modules = (modules,)
        if not modules:
            raise ValueError("FreezeModulesHook: name at least one submodule")
        self.modules = tuple(modules)

    def _targets(self, runner) -> List[torch.nn.Module]:
        model = runner.model.module if hasattr(runner.model, "module") else runner.model
        found = []
        for name in self.modules:
            try:
                found.append(model.get_submodule(name))
            except AttributeError:
                children = [n for n, _ in model.named_children()]
                raise ValueError(f"FreezeModulesHook: the model has no submodule {name!r}; "
                                 f"its children: {children}") from None
        return found

    def before_train(self, runner) -> None:
        for module in self._targets(runner):
            module.requires_grad_(False)

    def before_train_iter(self, runner, batch_idx: int, data_batch: Any = None) -> None:
        # the loop puts the whole model in train mode at each epoch's start
        for module in self._targets(runner):
            module.eval()


__all__ = ["ExtractionJob", "Extractor", "FreezeModulesHook", "extract_config",
           "extract_job", "extraction_jobs", "featurise_clips", "load_extractor",
           "recording_features", "resolve_device"]
