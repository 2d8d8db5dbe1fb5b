"""The datasets that read extracted clip features (the layout and format:
:mod:`pisa.data.core.feature_store`), with the split mechanism, metrics and reports of
every other dataset.

:class:`ClipFeatureDataset` is the shared base (an
:class:`~pisa.data.core.base_dataset.AQABaseDataset`: validation carve, folds, bad-sample
reports and level counts as every adapter); :class:`FeatureDataset` reads an extraction of
a source adapter (its labels, scores and splits come from that adapter's annotation);
:mod:`pisa.data.adapters.rg_fisv` reads the released feature layouts of Rhythmic
Gymnastics and Fis-V. A packed sample is ``{'inputs': {modality: float32 (K, D)},
'data_samples': {...}}`` (:mod:`pisa.data.transforms.feature_transforms`), the sample
contract with clip features in place of clips.
"""
from __future__ import annotations

from abc import ABC, abstractmethod

import copy
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.core.clip_samplers import ClipSampler
from pisa.data.core.feature_store import (MANIFEST, check_deterministic, describe_feature_folders,
                                          extractor_spec, feature_key, plain_config,
                                          read_manifest, read_performance)
from pisa.io.hashing import file_sha256
from pisa.registry import component

#: source-dataset keys a FeatureDataset sets itself (its own split mechanism)
SPLIT_KEYS = ("split", "split_seed", "val_performances", "folds", "fold", "recordings",
              "lazy_init", "test_mode")


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
    check_deterministic(pipeline, source.clip_sampler, where)
    return feature_key(spec, file_sha256(spec["weights"]), repr(source.clip_sampler),
                       type(source).__name__, pipeline)


def write_example_features(root: str) -> Dict[str, Any]:
    """A CSV source of three short videos (:mod:`pisa.data.adapters.csv_dataset`), a tiny
    weights file, and 8-d random features of every clip in the feature store as an
    extraction of that source would lay them out: the example's data."""
    import torch
    from mmengine.dataset import BaseDataset

    from pisa.data.adapters.csv_dataset import AQACSVDataset, write_example_layout
    from pisa.data.core.feature_store import (performance_fingerprint, sample_layout,
                                              write_manifest, write_performance)
    from pisa.registry import DATASETS

    source = {k: v for k, v in AQACSVDataset.example["args"].items() if k not in SPLIT_KEYS}
    source.update(type="AQACSVDataset", **write_example_layout(os.path.join(root, "source")))
    weights = os.path.join(root, "weights.pth")
    torch.save({"fc.weight": torch.zeros(8, 8)}, weights)
    extractor = dict(modality="video", backbone=dict(type="C3D"), weights=weights,
                     data_preprocessor=dict(mean=[0.0] * 3, std=[1.0] * 3))
    feature_root = os.path.join(root, "features")
    spec = extractor_spec(extractor)
    pipeline = plain_config(list(source["pipeline"]))
    key = source_feature_key(spec, build_source(source, "train", 0), pipeline, "example")
    folder = Path(feature_root) / key
    write_manifest(folder, {"key": key, "backbone": spec["backbone"], "dim": 8,
                            "weights": {"path": weights, "sha256": file_sha256(weights)},
                            "sampler": key, "dataset_type": "AQACSVDataset"})
    dataset = DATASETS.build(dict(source, test_mode=True))
    records = [BaseDataset.get_data_info(dataset, i) for i in range(len(dataset))]
    rng = np.random.default_rng(0)
    for perf in dataset.performances:
        layout = sample_layout([r for r in records if r["perf_id"] == perf["perf_id"]])
        features = rng.standard_normal((len(layout["frame_inds"]), 8)).astype(np.float32)
        write_performance(folder, perf["perf_id"], features, layout, performance_fingerprint(perf))
    return dict(source=source, extractor=extractor, feature_root=feature_root)


@component("dataset")
class FeatureDataset(ClipFeatureDataset):
    """Clip features that ``pisa extract-features`` wrote for a source adapter's
    performances, with the source's labels, scores and splits.

    Args:
        source: the source adapter's dataset config (``type``, annotation and media
            arguments, ``clip_sampler``, the deterministic ``pipeline`` the features were
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

    example = dict(args=dict(split="train"), make_data=write_example_features)

    def __init__(self, source: Dict[str, Any], extractor: Dict[str, Any],
                 feature_root: str = "work_dirs/features", split: str = "train",
                 val_performances: Union[None, int, float] = None, split_seed: int = 0,
                 pipeline: Sequence[Any] = (), recordings: Optional[Sequence[dict]] = None,
                 metainfo: Optional[dict] = None, **kwargs: Any) -> None:
        for key in ("clip_sampler", "modalities", "cache_dir", "fill_cache", "check_media"):
            # no media are read: the media switches do nothing (callers pass cache_dir=None)
            if kwargs.pop(key, None) is not None and key in ("clip_sampler", "modalities", "cache_dir"):
                raise ValueError(f"FeatureDataset: {key} belongs to the source dataset "
                                 "(the features were made with its settings)")
        self.spec = extractor_spec(extractor, "FeatureDataset.extractor")
        self.modality = self.spec["modality"]
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
                    f"{self.spec['weights']}, {self._source.clip_sampler!r}); run `pisa "
                    f"extract-features CONFIG` first{listing}")
            self.manifest = read_manifest(self.feature_dir)
        meta = dict(self._source.metainfo) if metainfo is None else metainfo
        super().__init__(split=split,
                         pipeline=list(pipeline) or self.default_feature_pipeline(self.modality),
                         clip_sampler=self._source.clip_sampler, modalities=(self.modality,),
                         split_seed=split_seed, val_performances=val_performances,
                         recordings=recordings, metainfo=meta, check_media=False, **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        return self._source.clip_sampler

    def load_performances(self) -> List[Dict]:
        """The source adapter's performances of ``self.split`` (its annotation read, no
        media opened)."""
        self._source.split = self.split
        return self._source.load_performances()

    def feature_layout(self, perf: Dict[str, Any]) -> Dict[str, Any]:
        if perf.get("clip_features") is not None:
            layout = dict(perf["feature_layout"])
            array = np.asarray(perf["clip_features"], dtype=np.float32)
            layout.update(clip_features=array, rows=len(array))
            return layout
        return read_performance(self.feature_dir, perf)
