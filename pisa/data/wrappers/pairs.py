"""Query + exemplar samples for pair-wise methods: :class:`ExemplarDataset`.

A pair-wise method (contrastive regression against an exemplar of known score, CoRe)
sees each sample together with ``E`` exemplars: samples of *other* performances of the
TRAINING split of the same annotation, whose scores the model may use. The wrapper
takes any :class:`~pisa.data.core.base_dataset.AQABaseDataset` (the query side, of any split) and
builds the exemplar pool from the same config with ``split='train'`` (the same
validation carve and folds, so a validation or test query never meets its own split);
a training query draws from its own dataset, never its own performance.

A query dataset of given recordings (``recordings=[...]``, e.g. a new recording to
assess, :mod:`pisa.apis`) belongs to no split of the annotation, so the pool is given
as ``exemplars``: the training split's config, usually
:func:`~pisa.data.wrappers.pair_configs.training_split_config` of the annotated dataset's config (what the pool is built
from by default), or that dataset built once and shared by many recordings. The test-time
rules below apply unchanged (a recording's sample ``i`` draws as test sample ``i`` does);
no pool performance is the recording's own, so none is left out for it and none can
stand in for it (``fallback='self'`` then raises too).

Which exemplars:

- ``same=('difficulty',)``: only exemplars whose record has the same values of these
  keys as the query's (MTL-AQA's dive difficulty). A query with no such exemplar gets,
  by ``fallback``: ``'error'`` (default: a ``ValueError`` at build time naming the
  samples and their values), ``'any'`` (any training exemplar) or ``'self'`` (a training
  query is paired with another draw of its own performance, as CoRe's reference code
  does for a difficulty that only one training dive has; a test query then still
  raises).
- Training (the wrapped dataset's ``test_mode`` False): drawn anew on every read. Under
  ``EpochSeedHook`` (:class:`~pisa.data.core.seeding.WorkerEpochSeeds`) from
  ``numpy.random.default_rng([seed, epoch, index])``, so an epoch's pairs depend on the
  run's seed, the epoch and the sample index only (not on the worker that reads it, nor
  on the batch order); without the hook from :func:`~pisa.data.core.seeding.draw_rng`.
- Testing (``test_mode`` True): fixed per sample, from ``default_rng([seed, index])``
  with this dataset's own ``seed``: every evaluation of a checkpoint votes with the
  same exemplars.
- Without replacement. When a query has fewer candidates than ``E`` the slots left are
  filled with copies of its first exemplar and marked invalid (``exemplar_valid``), so
  batches stack; a model averages over the valid ones.

Sample contract extension (the query's packed sample, DEVELOPERS.md, plus)::

    inputs['exemplar_<modality>']        (E, K, ...)  e.g. 'exemplar_video' uint8
                                                      (E, K, 3, T, H, W)
    data_samples['exemplar_<key>']       for every key of the exemplars' data_samples:
                                         numbers -> (E,) tensor ('exemplar_score'
                                         float32, 'exemplar_label' int64, and e.g.
                                         'exemplar_difficulty' when PackAQAInputs packs
                                         it), strings -> a list of E ('exemplar_sample_id')
    data_samples['exemplar_valid']       (E,) bool: False for a padded slot

After ``default_collate``: tensors ``(B, E, ...)``; string lists become ``E`` lists of
``B``. :meth:`ExemplarDataset.pair_differences` gives the score differences of the
training pairs the rule allows (what CoRe's group-aware regression tree is built from).
"""
from __future__ import annotations

import copy
import numbers
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np
import torch
from mmengine.dataset import BaseDataset
from torch.utils.data import Dataset

from pisa.data.adapters.mtl_aqa import write_example_layout
from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.data.core.dataset_interface import AQADatasetInterface
from pisa.data.core.seeding import WorkerEpochSeeds, draw_rng
from pisa.data.wrappers.pair_configs import EXEMPLAR_SPLIT, training_split_config, wrapped_config
from pisa.registry import component

#: what a query without a candidate gets (module docstring)
FALLBACKS = ("error", "any", "self")
def _hashable(value: Any) -> Any:
    """A record value as a dict key: numbers as float (3 and 3.0 match), arrays and
    lists as tuples."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (numbers.Number, np.number)):
        return float(value)
    if isinstance(value, (list, tuple, np.ndarray)):
        return tuple(_hashable(v) for v in np.asarray(value).tolist())
    return value


def _stored_record(dataset: BaseDataset, idx: int) -> Dict:
    """Sample ``idx``'s stored record (no random clip drawn)."""
    return BaseDataset.get_data_info(dataset, idx)


def _stack_column(key: str, values: List[Any]) -> Any:
    """One ``data_samples`` key over the exemplars: a tensor ``(E, ...)`` or a list."""
    first = values[0]
    if isinstance(first, torch.Tensor):
        return torch.stack(values)
    if isinstance(first, (bool, np.bool_)):
        return torch.tensor(values, dtype=torch.bool)
    if isinstance(first, (numbers.Integral, np.integer)):
        return torch.tensor(values, dtype=torch.int64)
    if isinstance(first, (numbers.Real, np.floating)):
        return torch.tensor(values, dtype=torch.float32)
    return list(values)


@component("dataset")
class ExemplarDataset(Dataset, AQADatasetInterface):
    """Each sample of the wrapped dataset with ``num_exemplars`` exemplars from the
    training split (see the module docstring for the rules and the packed keys).

    Args:
        dataset: the wrapped (query) dataset: a config dict, or a built
            :class:`~pisa.data.core.base_dataset.AQABaseDataset` of split ``'train'`` (another split
            needs a config, from which the training split is built).
        dataset_type: instead of ``dataset``: the wrapped dataset's type, with its
            arguments given flat as ``**dataset_options``, so that a config turns a
            base's dataset into a paired one by merging ``type='ExemplarDataset',
            dataset_type=...`` into it (and ``--data-root``, ``--folds`` and the
            protocols reach the wrapped dataset's keys).
        num_exemplars: ``E``, exemplars per sample.
        same: record keys an exemplar must share with its query (e.g. ``('difficulty',)``).
        fallback: ``'error'``, ``'any'`` or ``'self'``: a query no exemplar shares
            ``same`` with (module docstring).
        seed: the seed of the fixed test-time draw.
        exemplars: the exemplar pool, of split ``'train'``: a config, or a built
            :class:`~pisa.data.core.base_dataset.AQABaseDataset` (shared by the datasets given it).
            None (default): the wrapped dataset itself when it is the training split,
            else built from :func:`~pisa.data.wrappers.pair_configs.training_split_config` of its config. Required when
            the wrapped dataset holds given ``recordings`` (module docstring).
        **dataset_options: the wrapped dataset's arguments, with ``dataset_type``; with a
            config ``dataset`` they override its keys.
    """

    example = dict(args=dict(dataset_type="MTLAQADataset", split="train", num_exemplars=2,
                             pipeline=EXAMPLE_PIPELINE, check_media=False,
                             clip_sampler=dict(type="CenterClipSampler", num_clips=1, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, dataset: Union[None, dict, AQABaseDataset] = None,
                 dataset_type: Optional[str] = None, num_exemplars: int = 1,
                 same: Sequence[str] = (), fallback: str = "error", seed: int = 0,
                 exemplars: Union[None, dict, AQABaseDataset] = None,
                 **dataset_options: Any) -> None:
        name = type(self).__name__
        cfg = wrapped_config(dataset, dataset_type, dataset_options, name)
        if isinstance(num_exemplars, bool) or not isinstance(num_exemplars, int) or num_exemplars < 1:
            raise ValueError(f"{name}: num_exemplars must be an integer >= 1, got {num_exemplars!r}")
        if fallback not in FALLBACKS:
            raise ValueError(f"{name}: fallback must be one of {FALLBACKS}, got {fallback!r}")
        if isinstance(same, str):
            same = (same,)
        self.num_exemplars, self.same, self.fallback = num_exemplars, tuple(same), fallback
        self.seed = int(seed)
        self.worker_epoch_seeds: Optional[WorkerEpochSeeds] = None
        #: whether the queries are given recordings (of no split: module docstring)
        self.given_recordings = cfg is not None and cfg.get("recordings") is not None
        if self.given_recordings and exemplars is None:
            raise ValueError(f"{name}: a dataset of given recordings has no training split to "
                             "draw exemplars from; give the pool as exemplars=... (the "
                             "training split's config, e.g. training_split_config of the "
                             "annotated dataset's config, or that dataset built)")
        self.dataset = self._build(cfg) if cfg is not None else dataset
        split = getattr(self.dataset, "split", None)
        if not isinstance(self.dataset, AQABaseDataset) or not isinstance(split, str):
            raise TypeError(f"{name}: the wrapped dataset must be an AQABaseDataset with a split, "
                            f"got {type(self.dataset).__name__} (split {split!r})")
        if exemplars is not None:
            self.exemplars = self._build(copy.deepcopy(exemplars)) if isinstance(exemplars, dict) else exemplars
            pool_split = getattr(self.exemplars, "split", None)
            if not isinstance(self.exemplars, AQABaseDataset) or pool_split != EXEMPLAR_SPLIT:
                raise ValueError(f"{name}: exemplars must be an AQABaseDataset of split 'train', "
                                 f"got {type(self.exemplars).__name__} (split {pool_split!r})")
        elif split == EXEMPLAR_SPLIT:
            self.exemplars = self.dataset
        elif cfg is None:
            raise ValueError(f"{name}: a built {type(self.dataset).__name__} of split {split!r} "
                             "cannot give its training split; pass its config as dataset=dict(...)")
        else:
            self.exemplars = self._build(training_split_config(cfg))
            if getattr(self.exemplars, "split", None) != EXEMPLAR_SPLIT:
                raise ValueError(f"{name}: the exemplar dataset came out as split "
                                 f"{getattr(self.exemplars, 'split', None)!r}, not 'train'")
        self._index_exemplars()

    @staticmethod
    def _build(cfg: dict) -> Any:
        from pisa.registry import DATASETS

        dataset = DATASETS.build(cfg)
        if hasattr(dataset, "full_init"):
            dataset.full_init()
        return dataset

    # -- which exemplars a query may get ------------------------------------------------
    def _key(self, record: Dict, side: str) -> tuple:
        values = []
        for key in self.same:
            if record.get(key) is None:
                raise KeyError(
                    f"{type(self).__name__}: {side} sample {record.get('sample_id')} "
                    f"({record.get('ann_source')}) has no {key!r} to match exemplars on "
                    f"(same={self.same}); record keys: {sorted(record)}")
            values.append(_hashable(record[key]))
        return tuple(values)

    def _index_exemplars(self) -> None:
        """Group the pool's samples by their ``same`` values and resolve, once, which
        group each query draws from (raising for ``fallback='error'``)."""
        pool = [_stored_record(self.exemplars, i) for i in range(len(self.exemplars))]
        self._pool_perf = np.array([str(r["perf_id"]) for r in pool])
        groups: Dict[tuple, List[int]] = {}
        for i, record in enumerate(pool):
            groups.setdefault(self._key(record, "exemplar"), []).append(i)
        self._groups: List[np.ndarray] = [np.array(v, dtype=np.int64) for v in groups.values()]
        group_of_key = {k: g for g, k in enumerate(groups)}
        everything = np.arange(len(pool), dtype=np.int64)
        queries = [_stored_record(self.dataset, i) for i in range(len(self.dataset))]
        self._query_perf = np.array([str(r["perf_id"]) for r in queries])
        if self.exemplars is not self.dataset and not self.given_recordings:
            shared = sorted(set(self._query_perf) & set(self._pool_perf))
            if shared:
                raise ValueError(
                    f"{type(self).__name__}: performances {shared[:5]} are in both the "
                    f"{self.dataset.split!r} split and the training split the exemplars come "
                    "from; the splits must not overlap")
        #: per query: index into self._groups, or -1 (any exemplar), -2 (itself)
        self._query_group = np.empty(len(queries), dtype=np.int64)
        lonely = []
        for q, record in enumerate(queries):
            g = group_of_key.get(self._key(record, "query"), None)
            if g is not None and bool(self._others(q, self._groups[g]).size):
                self._query_group[q] = g
            elif self.fallback == "any" and bool(self._others(q, everything).size):
                self._query_group[q] = -1
            elif self.fallback == "self" and self.exemplars is self.dataset:
                self._query_group[q] = -2
            else:
                lonely.append(record)
        self._everything = everything
        if lonely:
            shown = ", ".join(f"{r['sample_id']} ({dict(zip(self.same, self._key(r, 'query')))})"
                              for r in lonely[:5])
            side = "given recording" if self.given_recordings else str(self.dataset.split)
            itself = ("; fallback='self' cannot pair a given recording with itself: it is not "
                      "in the training split" if self.given_recordings and self.fallback == "self"
                      else "")
            raise ValueError(
                f"{type(self).__name__}: {len(lonely)} {side} sample(s) have no "
                f"exemplar in the training split sharing {list(self.same)}: {shown}"
                f"{' ...' if len(lonely) > 5 else ''}; set fallback='any' (any training "
                f"exemplar) or 'self' (training queries only){itself}")

    def _others(self, idx: int, cands: np.ndarray) -> np.ndarray:
        """``cands`` less the pool samples of query ``idx``'s own performance (a given
        recording has none there)."""
        if self.given_recordings:
            return cands
        return cands[self._pool_perf[cands] != self._query_perf[idx]]

    def candidates(self, idx: int) -> np.ndarray:
        """Exemplar-pool indices query ``idx`` may draw from (int64, ascending)."""
        g = int(self._query_group[idx])
        if g == -2:
            return np.array([idx], dtype=np.int64)
        return self._others(idx, self._everything if g == -1 else self._groups[g])

    def _rng(self, idx: int) -> np.random.Generator:
        if self.test_mode:
            return np.random.default_rng([self.seed % 2**32, int(idx)])
        seeds = self.worker_epoch_seeds
        if seeds is not None and seeds.epoch >= 0:
            return np.random.default_rng([seeds.seed % 2**32, seeds.epoch, int(idx)])
        return draw_rng()

    def exemplar_order(self, idx: int) -> np.ndarray:
        """The candidates of query ``idx`` in the order they are tried: a permutation
        drawn as the module docstring says (fixed in test mode). The first
        ``num_exemplars`` that load are the exemplars."""
        cands = self.candidates(idx)
        return cands[self._rng(idx).permutation(len(cands))]

    # -- reading --------------------------------------------------------------------
    @property
    def test_mode(self) -> bool:
        return bool(getattr(self.dataset, "test_mode", False))

    @property
    def metainfo(self) -> dict:
        return self.dataset.metainfo

    def full_init(self) -> None:
        """Both datasets are initialised when this one is built."""

    def __len__(self) -> int:
        return len(self.dataset)

    def _query(self, idx: int) -> Tuple[int, Dict]:
        """``(index, packed sample)`` of the query; a training query whose media fail
        (``on_bad_sample='skip'``) is replaced by another, as mmengine's refetch does."""
        for _ in range(int(getattr(self.dataset, "max_refetch", 100)) + 1):
            sample = self.dataset.prepare_data(idx)
            if sample is not None:
                return idx, sample
            if self.test_mode:
                break
            idx = int(np.random.randint(0, len(self.dataset)))
        raise ValueError(f"{type(self).__name__}: no readable query sample found "
                         f"(last tried index {idx})")

    def __getitem__(self, idx: int) -> Dict:
        idx, sample = self._query(int(idx))
        loaded: List[Dict] = []
        for j in self.exemplar_order(idx):
            exemplar = self.exemplars.prepare_data(int(j))
            if exemplar is not None:  # None: skipped bad media, try the next candidate
                loaded.append(exemplar)
            if len(loaded) == self.num_exemplars:
                break
        if not loaded:
            raise ValueError(f"{type(self).__name__}: none of the exemplars of sample "
                             f"{sample['data_samples'].get('sample_id')} could be read")
        valid = [True] * len(loaded) + [False] * (self.num_exemplars - len(loaded))
        loaded += [loaded[0]] * (self.num_exemplars - len(loaded))
        inputs = dict(sample["inputs"])
        for modality in sample["inputs"]:
            inputs[f"exemplar_{modality}"] = torch.stack([e["inputs"][modality] for e in loaded])
        samples = dict(sample["data_samples"])
        for key in loaded[0]["data_samples"]:
            samples[f"exemplar_{key}"] = _stack_column(key, [e["data_samples"][key] for e in loaded])
        samples["exemplar_valid"] = torch.tensor(valid, dtype=torch.bool)
        return {"inputs": inputs, "data_samples": samples}

    # -- the framework's hooks reach both datasets ----------------------------------------
    def _datasets(self) -> List[AQABaseDataset]:
        return [self.dataset] if self.exemplars is self.dataset else [self.dataset, self.exemplars]

    def set_worker_epoch_seeds(self, seeds: Optional[WorkerEpochSeeds]) -> None:
        """Seed both datasets' workers per epoch (EpochSeedHook); the training draw of
        exemplars reads ``seeds``' seed and epoch."""
        self.worker_epoch_seeds = seeds
        for dataset in self._datasets():
            dataset.set_worker_epoch_seeds(seeds)

    def set_bad_sample_report(self, path: Optional[str], split: Optional[str] = None,
                              write_build_records: bool = True) -> None:
        """Point both datasets at the bad-sample report (BadSampleHook)."""
        for dataset in self._datasets():
            dataset.set_bad_sample_report(path, split, write_build_records=write_build_records)

    def bad_sample_records(self) -> List[Dict]:
        """The failures of the query and the exemplar datasets."""
        datasets = self._datasets()
        reports = {d.bad_sample_report for d in datasets}
        if len(reports) == 1 and None not in reports:  # one file, tagged alike: read it once
            return datasets[0].bad_sample_records()
        return [r for dataset in datasets for r in dataset.bad_sample_records()]

    def level_counts(self) -> Dict[str, int]:
        """The query dataset's samples per level."""
        return self.dataset.level_counts()

    @property
    def performances(self) -> List[Dict]:
        """The query dataset's performances."""
        return self.dataset.performances

    @property
    def media_dataset(self) -> AQABaseDataset:
        """The query dataset: what `pisa data` and `pisa prepare` read (the training
        loader's entry covers the exemplar pool)."""
        return self.dataset

    def pair_differences(self, divide_by: Optional[str] = None) -> np.ndarray:
        """``|s_i - s_j|`` over the pairs ``i < j`` of distinct training performances
        that share the ``same`` values, where ``s`` is the record's ``score``, divided by
        its ``divide_by`` value when given (CoRe on MTL-AQA: the score over the
        difficulty). float64 ``(P,)``; a ``ValueError`` when the rule allows no pair."""
        first: Dict[str, Dict] = {}
        for i in range(len(self.exemplars)):
            record = _stored_record(self.exemplars, i)
            first.setdefault(str(record["perf_id"]), record)
        groups: Dict[tuple, List[float]] = {}
        for record in first.values():
            value = float(record["score"])
            if divide_by is not None:
                if not record.get(divide_by):
                    raise ValueError(f"{type(self).__name__}: sample {record['sample_id']} "
                                     f"({record.get('ann_source')}) has no non-zero {divide_by!r}")
                value /= float(record[divide_by])
            groups.setdefault(self._key(record, "exemplar"), []).append(value)
        parts = []
        for values in groups.values():
            v = np.asarray(values, dtype=np.float64)
            upper = np.triu_indices(len(v), k=1)
            parts.append(np.abs(v[:, None] - v[None, :])[upper])
        diffs = np.concatenate(parts) if parts else np.zeros(0)
        if not len(diffs):
            raise ValueError(f"{type(self).__name__}: no two training performances share "
                             f"{list(self.same)}, so there are no pair differences")
        return diffs


def is_pair_config(ds_cfg: Dict[str, Any]) -> bool:
    """Whether a dataset config is an :class:`ExemplarDataset`'s (its ``type`` a
    registered name or the class)."""
    from pisa.registry import DATASETS

    kind = ds_cfg.get("type")
    cls = DATASETS.get(kind) if isinstance(kind, str) else kind
    return isinstance(cls, type) and issubclass(cls, ExemplarDataset)
