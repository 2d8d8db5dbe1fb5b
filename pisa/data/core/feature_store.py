"""The feature store: the on-disk format of clip features extracted once by a backbone,
read by the feature datasets (:mod:`pisa.data.wrappers.feature_datasets`) and written by
``pisa extract-features`` (:mod:`pisa.engine.feature_extraction`).

Most long-form AQA work trains small heads on clip features that a large pretrained
backbone computed once. This module says where they live, what ties them to the backbone
that made them, and how one performance's features are written and checked.

Layout. One folder per extraction setting, ``<feature_root>/<key>/``, where ``key``
(:func:`feature_key`) hashes the backbone config, the sha256 of its weights file (and
the key prefix read from it), the clip sampler (its ``repr``), the source dataset type,
and the preprocessing: the source pipeline's config and the data preprocessor's
normalisation (``mean``/``std``, ``audio_mean``/``audio_std``). A changed backbone,
weights file or sampling therefore gives a new folder; the old one is never read for it.
The folder holds

- ``manifest.json``: all of the above in plain text (the backbone config, the weights
  file's path, sha256 and prefix, the sampler, the pipeline, the normalisation, the
  feature size ``dim``), the config file the extraction read and the source dataset's
  config: what ``pisa predict`` uses to featurise a new recording the same way;
- per performance, ``<stem>.npy``: float32 ``(R, D)``, memory-mappable, the features of
  every clip of every sample of the performance in sample order (sample ``i`` is rows
  ``i*K .. (i+1)*K - 1``), and ``<stem>.json`` (:func:`performance_paths`): ``perf_id``,
  ``rows``, ``dim``, ``clips_per_sample`` ``K``, ``sample_indices``, ``frame_inds`` (the
  ``(R, T)`` frame indices of each clip, relative to the trimmed performance),
  ``num_frames``, ``fps`` and the source's fingerprint (paths, sizes and mtimes of its
  media, crop box and frame range, :func:`performance_fingerprint`).

Each file is written atomically (:mod:`pisa.io.atomic`, :func:`write_performance`), the
``.json`` before the ``.npy``, so a performance is complete exactly when its ``.npy``
exists; an interrupted extraction resumes by skipping complete performances
(:func:`performance_complete`).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple, Union

import numpy as np

from pisa.data.core.cache import source_fingerprint
from pisa.io.atomic import atomic_output, atomic_write, to_jsonable, write_json

PathLike = Union[str, os.PathLike]
FEATURE_VERSION = 1
MANIFEST = "manifest.json"
#: the modalities a backbone can featurise, as the sample contract names them
MODALITIES = ("video", "audio", "notes")


# -- what ties features to what made them ------------------------------------------------
def plain_config(value: Any) -> Any:
    """``value`` (mmengine ConfigDicts, tuples) as plain JSON types, keys sorted on dump."""
    if isinstance(value, dict):
        return {str(k): plain_config(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain_config(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def extractor_spec(extractor: Dict[str, Any], where: str = "extractor") -> Dict[str, Any]:
    """The checked, plain form of an extractor config::

        dict(modality='video', backbone=dict(type='C3D', ...), weights='c3d.pth',
             weights_prefix=None, data_preprocessor=dict(type='AQADataPreprocessor',
             mean=[...], std=[...]))

    ``weights`` (else the backbone's own ``pretrained``) is a local file: a plain state
    dict or an mmengine checkpoint; ``weights_prefix`` (else ``pretrained_prefix``) is
    stripped from its keys (None: ``'<modality>_backbone.'`` or ``'backbone.'`` when the
    file's keys start so, else nothing). The returned backbone config has no
    ``pretrained``/``pretrained_prefix``: the weights are tied by their content's hash,
    not their path. Raises ``ValueError`` naming ``where`` and the key."""
    if not isinstance(extractor, dict):
        raise ValueError(f"{where}: must be a dict(modality=..., backbone=..., weights=..., "
                         f"data_preprocessor=...), got {type(extractor).__name__}")
    unknown = set(extractor) - {"modality", "backbone", "weights", "weights_prefix",
                                "data_preprocessor"}
    if unknown:
        raise ValueError(f"{where}: unknown key(s) {sorted(unknown)}; known: modality, backbone, "
                         "weights, weights_prefix, data_preprocessor")
    modality = extractor.get("modality", "video")
    if modality not in MODALITIES:
        raise ValueError(f"{where}.modality: {modality!r} is not one of {MODALITIES}")
    backbone = plain_config(dict(extractor.get("backbone") or {}))
    if not backbone.get("type"):
        raise ValueError(f"{where}.backbone: missing, or without a registered backbone 'type'")
    weights = extractor.get("weights") or backbone.get("pretrained")
    prefix = extractor.get("weights_prefix") or backbone.get("pretrained_prefix")
    backbone.pop("pretrained", None)
    backbone.pop("pretrained_prefix", None)
    if not weights:
        raise ValueError(
            f"{where}.weights: no weights file (nor {where}.backbone.pretrained); features are "
            "tied to the weights that made them: name a local state dict or checkpoint")
    pre = plain_config(dict(extractor.get("data_preprocessor") or {}))
    keys = ("mean", "std") if modality == "video" else ()
    missing = [k for k in keys if k not in pre]
    if missing:
        raise ValueError(f"{where}.data_preprocessor: give {', '.join(missing)} explicitly "
                         "(the normalisation is part of what the features are keyed by)")
    pre.setdefault("type", "AQADataPreprocessor")
    return {"modality": modality, "backbone": backbone, "weights": os.fspath(weights),
            "weights_prefix": prefix, "data_preprocessor": pre}


def normalisation_of(preprocessor: Dict[str, Any]) -> Dict[str, Any]:
    """The numbers of a data preprocessor config that change the backbone's input."""
    return {k: plain_config(preprocessor.get(k)) for k in ("type", "mean", "std", "audio_mean", "audio_std")}


def feature_key(spec: Dict[str, Any], weights_sha256: str, sampler: str, dataset_type: str,
                pipeline: Sequence[Any]) -> str:
    """The folder name of an extraction setting: ``<Backbone>-<modality>-<24 hex>``, the hex
    a sha256 of the backbone config, the weights' sha256 and prefix, the sampler's
    ``repr``, the source dataset type and the preprocessing (pipeline config and
    normalisation), as sorted JSON."""
    settings = {
        "version": FEATURE_VERSION,
        "modality": spec["modality"],
        "backbone": spec["backbone"],
        "weights_sha256": weights_sha256,
        "weights_prefix": spec.get("weights_prefix"),
        "sampler": str(sampler),
        "dataset_type": str(dataset_type),
        "pipeline": plain_config(list(pipeline)),
        "normalisation": normalisation_of(spec["data_preprocessor"]),
    }
    blob = json.dumps(settings, sort_keys=True).encode()
    name = re.sub(r"[^A-Za-z0-9]", "", str(spec["backbone"]["type"])) or "backbone"
    return f"{name}-{spec['modality']}-{hashlib.sha256(blob).hexdigest()[:24]}"


def check_deterministic(pipeline: Sequence[Any], sampler: Any, where: str) -> None:
    """Features are computed once, so their samples must not change between reads:
    ``ValueError`` naming ``where`` for a random clip sampler or a ``Random*`` transform."""
    if getattr(sampler, "random", False):
        raise ValueError(f"{where}: the clip sampler {sampler!r} draws new clips on every read; "
                         "features need fixed clips (e.g. UniformSampler, CenterClipSampler, "
                         "AllClipsSampler)")
    for t in pipeline:
        name = t.get("type") if isinstance(t, dict) else type(t).__name__
        if str(name).startswith("Random"):
            raise ValueError(f"{where}: the pipeline's {name} is random; features are computed "
                             "once, so the extraction pipeline must be deterministic (augment "
                             "the features instead, e.g. RandomClipWindow)")


def performance_fingerprint(perf: Dict[str, Any]) -> str:
    """sha256 (hex) of what a performance's features were computed from: its media files'
    paths, sizes and mtimes (:func:`pisa.data.core.cache.source_fingerprint`), crop box, frame
    offset and annotated length and rate."""
    annotated = perf.get("annotated", perf)
    blob = json.dumps({
        "sources": source_fingerprint(perf),
        "crop_box": None if perf.get("crop_box") is None else [float(v) for v in perf["crop_box"]],
        "frame_offset": int(perf.get("frame_offset") or 0),
        "num_frames": annotated.get("num_frames"),
        "fps": annotated.get("fps"),
    }, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()


def performance_stem(perf_id: str) -> str:
    """The file stem of a performance's features: its id with characters outside
    ``[A-Za-z0-9._-]`` replaced by ``_`` (and no leading dot: temporary files are hidden)."""
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", str(perf_id))
    return "_" + stem[1:] if stem.startswith(".") else stem or "_"


def performance_paths(folder: PathLike, perf_id: str) -> Tuple[Path, Path]:
    """``(<folder>/<stem>.npy, <folder>/<stem>.json)`` of a performance."""
    stem = performance_stem(perf_id)
    return Path(folder) / f"{stem}.npy", Path(folder) / f"{stem}.json"


def sample_layout(records: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The clip layout of one performance's sample records (in sample order, as a dataset
    holds them): ``clips_per_sample`` K, ``sample_indices``, ``frame_inds`` ``(S*K, T)``
    int64, ``num_frames``, ``fps``. Raises ``ValueError`` when the samples differ in K or T."""
    inds = [np.asarray(r["frame_inds"], dtype=np.int64) for r in records]
    shapes = {i.shape for i in inds}
    if len(shapes) != 1:
        raise ValueError(f"performance {records[0].get('perf_id')}: its samples have clip "
                         f"layouts {sorted(shapes)}; features need one (K, T) per performance")
    first = records[0]
    return {"clips_per_sample": int(inds[0].shape[0]),
            "sample_indices": [int(r.get("sample_index", i)) for i, r in enumerate(records)],
            "frame_inds": np.concatenate(inds, axis=0),
            "num_frames": None if first.get("num_frames") is None else int(first["num_frames"]),
            "fps": None if first.get("fps") is None else float(first["fps"])}


def read_manifest(folder: PathLike) -> Dict[str, Any]:
    """The ``manifest.json`` of a feature folder (``FileNotFoundError`` naming it)."""
    path = Path(folder) / MANIFEST
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no feature manifest (not a folder written by "
                                "`pisa extract-features`)")
    with open(path) as f:
        return json.load(f)


def describe_feature_folders(root: PathLike) -> List[str]:
    """One line per complete feature folder under ``root``: key, backbone type, weights
    file (sha256 prefix), sampler: what an error about missing features lists."""
    lines = []
    for manifest in sorted(Path(root).glob(f"*/{MANIFEST}")):
        try:
            m = read_manifest(manifest.parent)
            lines.append(f"{manifest.parent.name}: {m['backbone'].get('type')} weights "
                         f"{m['weights']['path']} (sha256 {m['weights']['sha256'][:12]}), "
                         f"{m['sampler']}, {m['dataset_type']}")
        except (OSError, KeyError, ValueError) as err:
            lines.append(f"{manifest.parent.name}: unreadable manifest ({err})")
    return lines


# -- writing ------------------------------------------------------------------------------
def write_manifest(folder: PathLike, manifest: Dict[str, Any]) -> None:
    """Write ``manifest.json`` into a new feature folder; a folder that has one already
    must hold the same ``key`` (``ValueError`` naming the file otherwise)."""
    path = Path(folder) / MANIFEST
    if path.is_file():
        if read_manifest(folder).get("key") != manifest.get("key"):
            raise ValueError(f"{path}: holds another key; the folder was renamed?")
        return
    write_json(path, manifest)


def performance_complete(folder: PathLike, perf_id: str, fingerprint: str) -> bool:
    """Whether a performance's features are written whole for the source ``fingerprint``
    (:func:`performance_fingerprint`): both files there, the ``.npy`` of the rows and size
    its ``.json`` states."""
    npy, meta_path = performance_paths(folder, perf_id)
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


def write_performance(folder: PathLike, perf_id: str, features: np.ndarray,
                      layout: Dict[str, Any], fingerprint: str, **extra: Any) -> None:
    """Write one performance's features ``(R, D)`` with its clip ``layout``
    (:func:`sample_layout`) and source ``fingerprint``: a stale ``.npy`` is removed first,
    then the ``.json`` and the ``.npy`` are each written atomically, so a ``.json`` never
    describes another ``.npy``. ``extra``: more keys for the ``.json``."""
    npy, meta_path = performance_paths(folder, perf_id)
    npy.unlink(missing_ok=True)
    meta = dict(perf_id=str(perf_id), rows=int(len(features)), dim=int(features.shape[1]),
                clips_per_sample=layout["clips_per_sample"],
                sample_indices=layout["sample_indices"], frame_inds=layout["frame_inds"],
                num_frames=layout["num_frames"], fps=layout["fps"],
                source_fingerprint=fingerprint, **extra)
    # one line: a long performance has thousands of frame indices
    atomic_write(meta_path, json.dumps(to_jsonable(meta), sort_keys=True) + "\n")
    with atomic_output(npy) as tmp:
        np.save(tmp, features)


# -- reading ------------------------------------------------------------------------------
def read_performance(folder: PathLike, perf: Dict[str, Any]) -> Dict[str, Any]:
    """The feature layout of one performance written into ``folder``: ``feature_file``,
    ``rows``, ``clips_per_sample``, ``sample_indices``, ``frame_inds``, ``num_frames``,
    ``fps``. ``FileNotFoundError`` / ``ValueError`` naming the file when its features are
    missing or do not match their ``.json``."""
    where = f"performance {perf['perf_id']} ({perf.get('ann_source')})"
    npy, meta_path = performance_paths(folder, perf["perf_id"])
    if not npy.is_file() or not meta_path.is_file():
        raise FileNotFoundError(
            f"{where}: no features {npy.name} in {folder} (the extraction did "
            "not reach it: run `pisa extract-features CONFIG` again to complete it)")
    with open(meta_path) as f:
        meta = json.load(f)
    if str(meta.get("perf_id")) != str(perf["perf_id"]):
        raise ValueError(f"{where}: {meta_path} holds the features of performance "
                         f"{meta.get('perf_id')!r} (two ids map to one file name)")
    shape = np.load(npy, mmap_mode="r").shape
    if len(shape) != 2 or shape[0] != meta["rows"]:
        raise ValueError(f"{where}: {npy} holds {shape}, its {meta_path.name} says "
                         f"{meta['rows']} rows")
    return dict(feature_file=str(npy), rows=int(meta["rows"]),
                clips_per_sample=meta["clips_per_sample"],
                sample_indices=meta["sample_indices"], frame_inds=meta["frame_inds"],
                num_frames=meta.get("num_frames"), fps=meta.get("fps"))
