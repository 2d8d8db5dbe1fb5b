"""A DataLoader sampler that balances the levels: every level is drawn equally often.

:class:`ClassBalancedSampler` is mmengine's ``DefaultSampler`` (rank/world-size shards,
``round_up``, ``set_epoch``, a seed shared by the ranks from ``sync_random_seed()`` when
none is given) with the epoch's ``len(dataset)`` indices drawn with replacement instead of
permuted: a sample's probability is inversely proportional to how common its level is, so
each level present makes ``1 / L`` of the draws (``L`` levels present). With
``by='performance'`` a level's share is further split equally among its performances (the
sample record's ``group``) and then among each performance's samples, so a long
performance (many samples) is not drawn more than a short one of the same level;
``by='sample'`` splits it equally among the level's samples.

The labels are read from the dataset's stored records (``get_data_info(i)['label']``,
and ``['group']``); no media are decoded and, for an mmengine ``BaseDataset`` (every AQA
dataset), no random clips are drawn.
"""
from __future__ import annotations

import math
from collections import Counter
from typing import Any, Dict, Iterator, List, Optional, Sized, Tuple

import torch
from mmengine.dataset import BaseDataset
from mmengine.dist import get_dist_info, sync_random_seed
from torch.utils.data import Sampler

from pisa.registry import component

BALANCE_BY = ("performance", "sample")
NO_LABEL = -1  # the sample contract's "no class label"


def sample_record(dataset: Sized, index: int) -> Dict[str, Any]:
    """The stored record of sample ``index``: for an mmengine ``BaseDataset`` its
    serialised data-list entry (an AQA dataset's own ``get_data_info`` would draw random
    clips), else ``dataset.get_data_info(index)``."""
    if isinstance(dataset, BaseDataset):
        return BaseDataset.get_data_info(dataset, index)
    get_info = getattr(dataset, "get_data_info", None)
    if not callable(get_info):
        raise TypeError(f"ClassBalancedSampler needs a dataset with get_data_info(i) "
                        f"(sample records with 'label'), got {type(dataset).__name__}")
    return get_info(index)


def balanced_weights(labels: List[int], groups: Optional[List[str]] = None) -> torch.Tensor:
    """``(N,)`` float64 drawing weights summing to 1: each of the ``L`` distinct labels
    gets ``1 / L``, split equally among its groups (``groups`` given: the performances)
    and then among each group's samples, or equally among its samples (``groups`` None)."""
    keys: List[Tuple[int, Any]] = [(lab, None if groups is None else groups[i])
                                   for i, lab in enumerate(labels)]
    per_key = Counter(keys)  # samples of each (label, group)
    keys_per_label = Counter(lab for lab, _ in per_key)  # groups of each label
    num_labels = len(keys_per_label)
    weights = [1.0 / (num_labels * keys_per_label[k[0]] * per_key[k]) for k in keys]
    return torch.tensor(weights, dtype=torch.float64)


@component("data_sampler")
class ClassBalancedSampler(Sampler):
    """Level-balanced sampling with replacement, sharded like mmengine's ``DefaultSampler``.

    Args:
        dataset: a dataset whose sample records carry ``label`` (0..C-1, never -1 here)
            and, for ``by='performance'``, ``group``.
        shuffle: True: each epoch draws anew from ``seed + epoch``. False: every epoch
            uses the draw of ``seed`` alone, in dataset order.
        seed: shared by every rank; None: ``mmengine.dist.sync_random_seed()``.
        round_up: as ``DefaultSampler``: repeat the first indices so that every rank gets
            ``ceil(len(dataset) / world_size)``; False: rank r gets positions r, r +
            world_size, ... of the epoch's draw and nothing is repeated.
        by: ``'performance'`` or ``'sample'`` (module docstring).
        rank, world_size: this process's shard; None: ``mmengine.dist.get_dist_info()``.

    One epoch draws ``len(dataset)`` indices in all ranks together (the same draw on
    every rank, then sharded), as many as ``DefaultSampler`` yields.
    """

    def __init__(self, dataset: Sized, shuffle: bool = True, seed: Optional[int] = None,
                 round_up: bool = True, by: str = "performance",
                 rank: Optional[int] = None, world_size: Optional[int] = None) -> None:
        if by not in BALANCE_BY:
            raise ValueError(f"ClassBalancedSampler: by must be one of {BALANCE_BY}, got {by!r}")
        dist_rank, dist_world_size = get_dist_info()
        self.rank = dist_rank if rank is None else int(rank)
        self.world_size = dist_world_size if world_size is None else int(world_size)
        if not 0 <= self.rank < self.world_size:
            raise ValueError(f"ClassBalancedSampler: rank must be in 0..world_size-1, got rank "
                             f"{self.rank} of world_size {self.world_size}")
        self.dataset = dataset
        self.shuffle = shuffle
        self.seed = sync_random_seed() if seed is None else seed
        self.epoch = 0
        self.round_up = round_up
        self.by = by
        self.weights = self._weights()
        if self.round_up:
            self.num_samples = math.ceil(len(self.dataset) / self.world_size)
            self.total_size = self.num_samples * self.world_size
        else:
            self.num_samples = math.ceil((len(self.dataset) - self.rank) / self.world_size)
            self.total_size = len(self.dataset)

    def _weights(self) -> torch.Tensor:
        name = type(self.dataset).__name__
        if len(self.dataset) == 0:
            raise ValueError(f"ClassBalancedSampler: the dataset ({name}) is empty")
        records = [sample_record(self.dataset, i) for i in range(len(self.dataset))]
        wanted = ("label", "group") if self.by == "performance" else ("label",)
        for i, record in enumerate(records):
            missing = [k for k in wanted if k not in record]
            if missing:
                raise KeyError(f"ClassBalancedSampler(by={self.by!r}): sample {i} of {name} "
                               f"has no {missing} (keys: {sorted(record)})")
        labels = [int(r["label"]) for r in records]
        unlabelled = [i for i, lab in enumerate(labels) if lab == NO_LABEL]
        if unlabelled:
            where = records[unlabelled[0]].get("sample_id", unlabelled[0])
            raise ValueError(f"ClassBalancedSampler: {len(unlabelled)} of {len(labels)} samples "
                             f"of {name} have no level (label -1, first: {where}); it balances "
                             "level datasets only")
        groups = [str(r["group"]) for r in records] if self.by == "performance" else None
        return balanced_weights(labels, groups)

    def epoch_draw(self) -> List[int]:
        """This epoch's ``len(dataset)`` indices before sharding, the same on every rank."""
        generator = torch.Generator()
        generator.manual_seed(self.seed + self.epoch if self.shuffle else self.seed)
        indices = torch.multinomial(self.weights, len(self.dataset), replacement=True,
                                    generator=generator)
        if not self.shuffle:
            indices = indices.sort().values
        return indices.tolist()

    def __iter__(self) -> Iterator[int]:
        """This rank's indices of the epoch."""
        indices = self.epoch_draw()
        if self.round_up:  # as DefaultSampler: repeat the draw up to total_size
            indices = (indices * int(self.total_size / len(indices) + 1))[:self.total_size]
        return iter(indices[self.rank:self.total_size:self.world_size])

    def __len__(self) -> int:
        """The number of indices this rank yields per epoch."""
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Draw epoch ``epoch`` next (called by mmengine's ``DistSamplerSeedHook``)."""
        self.epoch = epoch
