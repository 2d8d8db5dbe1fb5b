"""Assess whole recordings with a model trained on extracted clip features.

A feature-trained model's config reads a :class:`~pisa.data.wrappers.feature_datasets.FeatureDataset`,
whose feature folder's manifest records how the features were made. A new recording is
decoded by the manifest's source dataset config (its adapter type, deterministic
pipeline and clip sampler), featurised with the recorded backbone and weights (the
weights file must still hold the content the features were made with: its sha256 is
checked), and the features go through the config's feature dataset (its pipeline packs
them) to the model, as in :class:`~pisa.apis.assessor.Assessor`; the timeline's
segments are featurised the same way.
"""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional, Sequence

from pisa.apis.assessor import Assessor, PathLike, recording_record
from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.wrappers.feature_datasets import FeatureDataset
from pisa.engine.feature_extraction import Extractor, load_extractor, recording_features
from pisa.engine.validate import ConfigError


def manifest_extractor_spec(manifest: Dict[str, Any]) -> Dict[str, Any]:
    """The extractor spec a feature manifest records (backbone, weights, normalisation)."""
    weights = manifest["weights"]
    return {"modality": manifest["modality"], "backbone": manifest["backbone"],
            "weights": weights["path"], "weights_prefix": weights.get("prefix_read") or weights.get("prefix"),
            "data_preprocessor": manifest["data_preprocessor"]}


class FeatureAssessor(Assessor):
    """An :class:`~pisa.apis.assessor.Assessor` for a model on clip features (module
    docstring). ``extractor``: the recorded backbone, loaded once."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not issubclass(self.dataset_type, FeatureDataset):
            raise ConfigError(
                f"{self.source}.dataset.type: {self.dataset_type.__name__} reads features "
                "without a record of the backbone that made them; predicting a recording "
                "needs a FeatureDataset (features of `pisa extract-features`, whose manifest "
                "names the backbone and weights)")
        from pisa.registry import DATASETS

        features = DATASETS.build(dict(copy.deepcopy(self.dataset_cfg), lazy_init=True))
        self.feature_dir, self.manifest = features.feature_dir, features.manifest
        self.extractor: Extractor = load_extractor(
            manifest_extractor_spec(self.manifest), self.device,
            expected_sha256=self.manifest["weights"]["sha256"])

    def media_config(self) -> Dict[str, Any]:
        """The manifest's source dataset config: it decodes the recording's media."""
        return self.manifest["source_dataset"]

    def sizes_frames(self) -> bool:
        """False: the recording's frames reach the recorded backbone through the feature
        dataset's own pipeline, which keeps no frame cache."""
        return False

    def recording_dataset(self, media: PathLike, crop: Optional[Sequence[float]] = None,
                          sampler: Optional[Dict[str, Any]] = None,
                          meta: Optional[Dict[str, Any]] = None,
                          cache_dir: Optional[str] = None) -> AQABaseDataset:
        """The one-recording feature dataset of ``media``: decoded by the manifest's source
        dataset (``sampler``: another clip sampler config, for the timeline; ``cache_dir``:
        a cache it fills, None: none), featurised by the recorded backbone, packed by the
        config's feature dataset; ``meta`` keys go into the recording's record."""
        from pisa.registry import DATASETS

        source_cfg = dict(copy.deepcopy(self.manifest["source_dataset"]),
                          recordings=[recording_record(media, crop, meta)], test_mode=True,
                          cache_dir=cache_dir, on_bad_sample="error", lazy_init=False,
                          serialize_data=False)
        if sampler is not None:
            source_cfg["clip_sampler"] = dict(sampler)
        source = DATASETS.build(source_cfg)
        record = recording_features(source, self.extractor,
                                    batch_size=max(16, self.batch_size))
        ds_cfg = dict(copy.deepcopy(self.dataset_cfg), recordings=[record], test_mode=True,
                      on_bad_sample="error", lazy_init=False, serialize_data=False)
        return DATASETS.build(ds_cfg)
