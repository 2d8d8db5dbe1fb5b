"""The configs of a pair-wise dataset (:class:`~pisa.data.wrappers.pairs.ExemplarDataset`):
its wrapped dataset's config in either form, and the exemplar pool's (the training split)."""
from __future__ import annotations

import copy
from typing import Any, Dict, Optional

#: the only split exemplars come from
EXEMPLAR_SPLIT = "train"
#: the arguments that are ExemplarDataset's own; the rest of its config is the wrapped dataset's
PAIR_ARGUMENTS = ("dataset", "dataset_type", "num_exemplars", "same", "fallback", "seed", "exemplars")


def wrapped_config(dataset: Any, dataset_type: Optional[str],
                    dataset_options: Dict[str, Any], name: str) -> Optional[dict]:
    """The wrapped dataset's config from ExemplarDataset's ``dataset`` / ``dataset_type``
    and flat ``dataset_options`` (None for a built ``dataset``)."""
    if (dataset is None) == (dataset_type is None):
        raise ValueError(f"{name}: give the wrapped dataset as dataset=dict(...) or as "
                         "dataset_type=... with its arguments, exactly one of the two")
    if dataset_type is not None:
        return dict(type=dataset_type, **dataset_options)
    if isinstance(dataset, dict):
        return dict(copy.deepcopy(dataset), **dataset_options)
    if dataset_options:
        raise ValueError(f"{name}: arguments {sorted(dataset_options)} need a dataset config, "
                         "not a built dataset")
    return None


def wrapped_dataset_config(cfg: Dict[str, Any]) -> dict:
    """The wrapped (query) dataset's config of an ``ExemplarDataset`` config ``cfg``, in
    either of its forms (``dataset=dict(...)``, or ``dataset_type=...`` with the wrapped
    dataset's arguments flat)."""
    options = {k: v for k, v in cfg.items() if k != "type" and k not in PAIR_ARGUMENTS}
    wrapped = wrapped_config(cfg.get("dataset"), cfg.get("dataset_type"), options,
                             "ExemplarDataset")
    if wrapped is None:
        raise ValueError("ExemplarDataset: the config's dataset is a built dataset, "
                         "not a config")
    return wrapped


def training_split_config(cfg: Dict[str, Any]) -> dict:
    """The exemplar pool's config for the wrapped dataset config ``cfg``: the same config
    (adapter, data root, pipeline, sampler, validation carve and folds) with
    ``split='train'`` and without given ``recordings``; what :class:`~pisa.data.wrappers.pairs.ExemplarDataset`
    builds its pool from when it is not given one."""
    pool = {k: v for k, v in copy.deepcopy(dict(cfg)).items() if k != "recordings"}
    return dict(pool, split=EXEMPLAR_SPLIT)
