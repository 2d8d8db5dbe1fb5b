"""Clip features extracted once by a backbone, and the datasets that read them.

Most long-form AQA work trains small heads on clip features that a large pretrained
backbone computed once. ``pisa extract-features`` (:mod:`pisa.engine.feature_extraction`) writes
them; this module says where they live, what ties them to the backbone that made them,
and reads them back as datasets with the split mechanism, metrics and reports of every
other dataset.

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

Each file is written atomically (:mod:`pisa.io.atomic`), the ``.json`` before the
``.npy``, so a performance is complete exactly when its ``.npy`` exists; an interrupted
extraction resumes by skipping complete performances.

Datasets: :class:`ClipFeatureDataset` is the shared base (an
:class:`~pisa.data.core.base_dataset.AQABaseDataset`: validation carve, folds, bad-sample reports and
level counts as every adapter); :class:`FeatureDataset` reads an extraction of a source
adapter (its labels, scores and splits come from that adapter's annotation);
:mod:`pisa.data.adapters.rg_fisv` reads the released feature layouts of Rhythmic Gymnastics and
Fis-V. A packed sample is ``{'inputs': {modality: float32 (K, D)}, 'data_samples':
{...}}``, the sample contract with clip features in place of clips.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import copy
import functools
import hashlib
import json
import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.core.cache import source_fingerprint
from pisa.data.core.clip_samplers import ClipSampler
from pisa.data.transforms.clip_transforms import KeptOpen
from pisa.registry import component

PathLike = Union[str, os.PathLike]
FEATURE_VERSION = 1
MANIFEST = "manifest.json"
#: the modalities a backbone can featurise, as the sample contract names them
MODALITIES = ("video", "audio")
#: source-dataset keys a FeatureDataset sets itself (its own split mechanism)
SPLIT_KEYS = ("split", "split_seed", "val_performances", "folds", "fold", "recordings",
              "lazy_init", "test_mode")


# -- what ties features to what made them ------------------------------------------------
@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(functools.partial(f.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: PathLike, what: str = "weights file") -> str:
    """sha256 (hex) of a file's bytes, computed once per (path, size, mtime) in a process;
    a missing file raises ``FileNotFoundError`` naming it and ``what`` it is."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} {path} not found")
    st = os.stat(path)
    return _sha256_of(os.path.abspath(path), st.st_size, st.st_mtime_ns)


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


def check_deterministic(pipeline: Sequence[Any], sampler: ClipSampler, where: str) -> None:
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


# -- sampling and transforms over clip features ------------------------------------------
@component("clip_sampler")
class AllClipsSampler(ClipSampler):
    """Every consecutive ``clip_len``-frame clip of the performance as one sample
    ``(1, N, T)``, ``N = floor(F / T)``; the ``F - N*T`` frames left over are dropped
    evenly at the head and the tail (GDLT's feature extraction for Rhythmic Gymnastics,
    ``rg_swintx.py``: "drop head and tail evenly, keep the middle"). ``num_clips`` is the
    fewest clips a performance must have (and the clips of a timeline segment)."""

    def __init__(self, clip_len: int = 32, num_clips: int = 1) -> None:
        super().__init__(num_clips=num_clips, clip_len=clip_len)

    @property
    def sample_frames(self) -> int:
        return self.num_clips * self.clip_len

    def __call__(self, num_frames: int, rng: Optional[np.random.Generator] = None) -> np.ndarray:
        n = int(num_frames) // self.clip_len
        if n < self.num_clips:
            return np.zeros((0, self.num_clips, self.clip_len), dtype=np.int64)
        start = (int(num_frames) - n * self.clip_len) // 2
        return (start + np.arange(n * self.clip_len, dtype=np.int64)).reshape(1, n, self.clip_len)


def _where(results: Dict) -> str:
    return f"sample {results.get('sample_id')} ({results.get('ann_source')})"


@component("transform")
class LoadClipFeatures:
    """Read the sample's clip features. Reads ``feature_file`` (a ``(R, D)`` ``.npy``,
    memory-mapped) or ``clip_features`` (the array itself), and ``clip_rows``
    ``(start, stop)``. Adds ``features`` float32 ``(K, D)``. A file that is missing, not
    2-D or shorter than the rows raises an error naming it and the sample."""

    def __init__(self) -> None:
        self._memmaps = KeptOpen(16, functools.partial(np.load, mmap_mode="r"))

    def __call__(self, results: Dict) -> Dict:
        start, stop = (int(v) for v in results["clip_rows"])
        array = results.get("clip_features")
        source = "the recording's features"
        if array is None:
            source = results["feature_file"]
            if not os.path.isfile(source):
                raise FileNotFoundError(f"{_where(results)}: feature file {source} not found")
            array = self._memmaps.get(source)
        if array.ndim != 2 or stop > len(array):
            raise ValueError(f"{_where(results)}: {source} holds {tuple(array.shape)}, the sample "
                             f"needs rows {start}..{stop - 1} of a (rows, D) array")
        results["features"] = np.array(array[start:stop], dtype=np.float32)  # a copy: writable
        return results

    def __repr__(self) -> str:
        return "LoadClipFeatures()"


@component("transform")
class RandomClipWindow:
    """GDLT's temporal crop and padding of a clip-feature sequence: a sequence longer than
    ``clip_num`` is cut to a window of ``clip_num`` clips at a random start (numpy's global
    generator, which ``EpochSeedHook`` seeds per epoch and worker), one shorter is
    zero-padded at the end. GDLT draws the start from ``0 .. K - clip_num - 1`` (its
    ``randint`` excludes the last window); here every start ``0 .. K - clip_num`` can be
    drawn. ``random=False`` takes the centre window (evaluation batches of equal length).
    Reads and replaces ``features`` ``(K, D)``; adds ``clip_window`` (start, valid clips)."""

    def __init__(self, clip_num: int = 68, random: bool = True) -> None:
        if int(clip_num) < 1:
            raise ValueError(f"RandomClipWindow: clip_num must be >= 1, got {clip_num}")
        self.clip_num, self.random = int(clip_num), bool(random)

    def __call__(self, results: Dict) -> Dict:
        feats = results["features"]
        k = len(feats)
        start = 0
        if k > self.clip_num:
            spare = k - self.clip_num
            start = int(np.random.randint(0, spare + 1)) if self.random else spare // 2
            feats = feats[start:start + self.clip_num]
        elif k < self.clip_num:
            padded = np.zeros((self.clip_num, feats.shape[1]), dtype=np.float32)
            padded[:k] = feats
            feats = padded
        results["features"] = np.ascontiguousarray(feats, dtype=np.float32)
        results["clip_window"] = (start, min(k, self.clip_num))
        return results

    def __repr__(self) -> str:
        return f"RandomClipWindow(clip_num={self.clip_num}, random={self.random})"


@component("transform")
class PackFeatureInputs:
    """Pack a clip-feature sample: ``inputs[modality]`` float32 ``(K, D)`` from
    ``features``; ``data_samples`` with ``label``, ``score``, ``sample_id``, ``group``
    (as :class:`~pisa.data.transforms.clip_transforms.PackAQAInputs`)."""

    def __init__(self, modality: str = "video") -> None:
        if modality not in MODALITIES:
            raise ValueError(f"PackFeatureInputs: modality must be one of {MODALITIES}, got {modality!r}")
        self.modality = modality

    def __call__(self, results: Dict) -> Dict:
        import torch

        feats = np.ascontiguousarray(results["features"], dtype=np.float32)
        samples = {"label": int(results["label"]), "score": float(results["score"]),
                   "sample_id": str(results["sample_id"]), "group": str(results["group"])}
        return {"inputs": {self.modality: torch.from_numpy(feats)}, "data_samples": samples}

    def __repr__(self) -> str:
        return f"PackFeatureInputs(modality={self.modality!r})"


# -- datasets -----------------------------------------------------------------------------
class ClipFeatureDataset(AQABaseDataset, ABC):
    """Base of the clip-feature datasets: performances as every adapter gives them
    (:meth:`load_performances`, split by :class:`~pisa.data.core.base_dataset.AQABaseDataset`: the
    adapter's splits, the validation carve, folds), each cut into samples by its feature
    layout (:meth:`feature_layout`) instead of a clip sampler; no media are opened.

    A sample record carries ``feature_file`` (or ``clip_features``, an in-memory array),
    ``clip_rows`` ``(start, stop)``, ``frame_inds`` ``(K, T)`` when the layout knows them,
    and the performance's ``label``, ``score``, ``group``. The pipeline reads them
    (default: :class:`LoadClipFeatures`, :class:`PackFeatureInputs`)."""

    #: the input key packed samples carry (the backbone's modality)
    modality = "video"

    @abstractmethod
    def feature_layout(self, perf: Dict[str, Any]) -> Dict[str, Any]:
        """``{'feature_file' or 'clip_features', 'rows', 'clips_per_sample' (None: one
        sample of all rows), 'sample_indices', 'frame_inds' ((rows, T) or None),
        'num_frames', 'fps'}`` of one performance; raises ``FileNotFoundError`` /
        ``ValueError`` naming the file when its features are missing or malformed."""

    @staticmethod
    def default_feature_pipeline(modality: str) -> List[Dict[str, Any]]:
        return [dict(type="LoadClipFeatures"), dict(type="PackFeatureInputs", modality=modality)]

    def _samples_of(self, perf: Dict) -> List[Dict]:
        layout = self.feature_layout(perf)
        rows = int(layout["rows"])
        k = int(layout.get("clips_per_sample") or rows)
        where = f"performance {perf['perf_id']} ({perf.get('ann_source')})"
        if rows < 1 or k < 1 or rows % k:
            raise ValueError(f"{where}: {rows} feature rows do not make samples of {k} clips")
        count = rows // k
        indices = list(layout.get("sample_indices") or range(count))
        if len(indices) != count:
            raise ValueError(f"{where}: {count} samples of features but {len(indices)} sample indices")
        frames = layout.get("frame_inds")
        frames = None if frames is None else np.asarray(frames, dtype=np.int64)
        perf.update(num_frames=layout.get("num_frames", perf.get("num_frames")),
                    fps=layout.get("fps") or perf.get("fps"),
                    feature_file=layout.get("feature_file"),
                    clip_features=layout.get("clip_features"))
        records = []
        for s, index in enumerate(indices):
            rows_s = (s * k, (s + 1) * k)
            inds = (frames[rows_s[0]:rows_s[1]] if frames is not None
                    else np.zeros((k, 0), dtype=np.int64))
            records.append(dict(perf, clip_rows=rows_s, frame_inds=inds, sample_index=int(index),
                                sample_id=f"{perf['perf_id']}/{index}", annotated_samples=True,
                                # the file a failed read names in the bad-sample report
                                cache_entry=layout.get("feature_file")))
        return records


def _source_split(split: str, val_performances: Any) -> str:
    """The split a source adapter is built with: its training split when ``'val'`` is a
    carve (the adapter then has no val of its own to check)."""
    return "train" if split == "val" and val_performances else split


def build_source(source: Dict[str, Any], split: str, split_seed: int,
                 val_performances: Any = None, where: str = "source") -> AQABaseDataset:
    """The source adapter of a feature dataset, built lazily (no annotation read, no media
    opened): its sampler, pipeline and :meth:`load_performances` are what is used.
    ``ValueError`` naming ``where`` for split keys in ``source`` or a type that is not an
    :class:`~pisa.data.core.base_dataset.AQABaseDataset`."""
    from pisa.registry import DATASETS

    if not isinstance(source, dict) or not source.get("type"):
        raise ValueError(f"{where}: must be the source dataset's config, dict(type=..., ...)")
    clash = [k for k in SPLIT_KEYS if k in source]
    if clash:
        raise ValueError(f"{where}: {', '.join(clash)} belong to the feature dataset itself "
                         "(it splits the source's performances), not to its source")
    kind = source["type"]
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    if not (isinstance(cls, type) and issubclass(cls, AQABaseDataset)):
        raise ValueError(f"{where}.type: {kind!r} is not an AQA dataset adapter "
                         "(a registered AQABaseDataset subclass)")
    cfg = dict(copy.deepcopy(dict(source)), split=_source_split(split, val_performances),
               split_seed=split_seed, lazy_init=True)
    return DATASETS.build(cfg)


def source_feature_key(spec: Dict[str, Any], source: AQABaseDataset,
                       pipeline: Sequence[Any], where: str) -> str:
    """:func:`feature_key` of an extractor spec over a (lazily built) source adapter
    whose pipeline config is ``pipeline``; refuses random sampling (:func:`check_deterministic`)."""
    check_deterministic(pipeline, source.sampler, where)
    return feature_key(spec, file_sha256(spec["weights"]), repr(source.sampler),
                       type(source).__name__, pipeline)


@component("dataset")
class FeatureDataset(ClipFeatureDataset):
    """Clip features that ``pisa extract-features`` wrote for a source adapter's
    performances, with the source's labels, scores and splits.

    Args:
        source: the source adapter's dataset config (``type``, annotation and media
            arguments, ``sampler``, the deterministic ``pipeline`` the features were
            made with), without split keys: ``split``, ``split_seed``, the carve and the
            folds are this dataset's and reach the source's performances exactly as they
            would reach the adapter's own (:class:`~pisa.data.core.base_dataset.AQABaseDataset`).
        extractor: the backbone, weights and normalisation (:func:`extractor_spec`).
        feature_root: the folder ``pisa extract-features`` wrote into; the features are
            read from ``<feature_root>/<key>`` (module docstring), so a config whose
            backbone, weights or sampling changed never reads another's features (the
            weights file must be there: the key holds its content's sha256).
        pipeline: transforms over the clip features (default: load and pack; training may
            add :class:`RandomClipWindow`).
        recordings: performance records that carry their features in memory
            (``clip_features`` ``(R, D)`` and ``feature_layout`` as :func:`sample_layout`
            gives it): one recording assessed by ``pisa predict``.
        Other arguments: :class:`~pisa.data.core.base_dataset.AQABaseDataset`.

    A missing feature folder, or a performance without features, raises an error that
    names the folder and what it expected (listing the folders there and what made
    them), or with ``on_bad_sample='skip'`` drops the performance with a warning.
    """

    def __init__(self, source: Dict[str, Any], extractor: Dict[str, Any],
                 feature_root: str = "work_dirs/features", split: str = "train",
                 val_performances: Union[None, int, float] = None, split_seed: int = 0,
                 pipeline: Sequence[Any] = (), recordings: Optional[Sequence[dict]] = None,
                 metainfo: Optional[dict] = None, **kwargs: Any) -> None:
        for key in ("sampler", "modalities", "cache_dir", "fill_cache", "check_media"):
            # no media are read: the media switches do nothing (callers pass cache_dir=None)
            if kwargs.pop(key, None) is not None and key in ("sampler", "modalities", "cache_dir"):
                raise ValueError(f"FeatureDataset: {key} belongs to the source dataset "
                                 "(the features were made with its settings)")
        self.spec = extractor_spec(extractor, "FeatureDataset.extractor")
        self.modality = self.spec["modality"]
        self.split = split
        self.source_cfg = copy.deepcopy(dict(source))
        self._source = build_source(self.source_cfg, split, split_seed, val_performances,
                                    "FeatureDataset.source")
        self._carves_val = type(self._source)._carves_val
        self.feature_root = os.fspath(feature_root)
        self.feature_dir: Optional[Path] = None
        self.manifest: Optional[Dict[str, Any]] = None
        if recordings is None:
            self.key = source_feature_key(self.spec, self._source,
                                          plain_config(list(self.source_cfg.get("pipeline") or [])),
                                          "FeatureDataset.source")
            self.feature_dir = Path(self.feature_root) / self.key
            if not (self.feature_dir / MANIFEST).is_file():
                known = describe_feature_folders(self.feature_root) if os.path.isdir(
                    self.feature_root) else []
                listing = ("; folders there: " + " | ".join(known)) if known else ""
                raise FileNotFoundError(
                    f"FeatureDataset: no features in {self.feature_dir} for this backbone, "
                    f"weights and sampling ({self.spec['backbone']['type']}, "
                    f"{self.spec['weights']}, {self._source.sampler!r}); run `pisa "
                    f"extract-features CONFIG` first{listing}")
            self.manifest = read_manifest(self.feature_dir)
        meta = dict(self._source.metainfo) if metainfo is None else metainfo
        super().__init__(pipeline=list(pipeline) or self.default_feature_pipeline(self.modality),
                         sampler=self._source.sampler, modalities=(self.modality,),
                         split_seed=split_seed, val_performances=val_performances,
                         recordings=recordings, metainfo=meta, check_media=False, **kwargs)

    def default_sampler(self) -> ClipSampler:
        return self._source.sampler

    def load_performances(self) -> List[Dict]:
        """The source adapter's performances of ``self.split`` (its annotation read, no
        media opened)."""
        self._source.split = self.split
        return self._source.load_performances()

    def feature_layout(self, perf: Dict[str, Any]) -> Dict[str, Any]:
        where = f"performance {perf['perf_id']} ({perf.get('ann_source')})"
        if perf.get("clip_features") is not None:
            layout = dict(perf["feature_layout"])
            array = np.asarray(perf["clip_features"], dtype=np.float32)
            layout.update(clip_features=array, rows=len(array))
            return layout
        npy, meta_path = performance_paths(self.feature_dir, perf["perf_id"])
        if not npy.is_file() or not meta_path.is_file():
            raise FileNotFoundError(
                f"{where}: no features {npy.name} in {self.feature_dir} (the extraction did "
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
