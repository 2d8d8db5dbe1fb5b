"""Assess whole recordings with a pair-wise model (its dataset an
:class:`~pisa.data.wrappers.pairs.ExemplarDataset`, e.g. CoRe): the recording is a query of the
wrapped adapter's one-recording dataset, each sample with exemplars from the config's
training split. The pool is built once, from the test dataset config with
``split='train'`` (:func:`~pisa.data.wrappers.pair_configs.training_split_config`, as ``pisa test``
builds it), and the exemplars are drawn by the dataset's test-time rule (fixed per
sample index from its ``seed``, sharing its ``same`` keys, which the recording's
``meta`` must then give).
"""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence

from pisa.apis.assessor import Assessor, PathLike
from pisa.data.core.base_dataset import AQABaseDataset
from pisa.data.wrappers.pair_configs import training_split_config, wrapped_dataset_config
from pisa.data.wrappers.pairs import ExemplarDataset


def exemplar_pool(ds_cfg: Dict[str, Any], source: str) -> AQABaseDataset:
    """The training split a pair-wise dataset config's exemplars come from, built once
    from the config as ``pisa test`` builds it (:func:`~pisa.data.wrappers.pair_configs.training_split_config`);
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


class PairAssessor(Assessor):
    """An :class:`~pisa.apis.assessor.Assessor` for a pair-wise dataset config (module
    docstring). ``exemplars``: the training split the exemplars are drawn from (default
    :func:`exemplar_pool` of the config)."""

    def __init__(self, *args: Any, exemplars: Optional[AQABaseDataset] = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.exemplars = exemplars if exemplars is not None else exemplar_pool(self.dataset_cfg, self.source)

    @classmethod
    def prepare(cls, dataset_cfg: Dict[str, Any], source: str) -> Dict[str, Any]:
        """The exemplar pool (:func:`exemplar_pool`), read once."""
        return {"exemplars": exemplar_pool(dataset_cfg, source)}

    def adapter_config(self) -> Dict[str, Any]:
        """The wrapped (query) adapter's config."""
        return wrapped_dataset_config(self.dataset_cfg)

    def check_meta(self, media: PathLike, meta: Optional[Dict[str, Any]]) -> None:
        """A pair-wise config's exemplars share the query's ``same`` keys: ``meta`` must
        give each (a ``ValueError`` naming the missing ones)."""
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
                          meta: Optional[Dict[str, Any]] = None,
                          cache_dir: Optional[str] = None) -> ExemplarDataset:
        """The one-recording dataset's samples with their exemplars from
        :attr:`exemplars` (an :class:`~pisa.data.wrappers.pairs.ExemplarDataset`)."""
        from pisa.registry import DATASETS

        ds_cfg = self.recording_config(media, crop, sampler, meta, cache_dir)
        ds_cfg["exemplars"] = self.exemplars
        return DATASETS.build(ds_cfg)
