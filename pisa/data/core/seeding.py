"""Randomness of a sample's draws, reproducible under the run's seed.

:func:`draw_rng` is the one generator a random clip sampler or transform draws from.
In DataLoader workers (:class:`WorkerEpochSeeds`, set by ``EpochSeedHook``): at the first
sample a worker prepares in an epoch, its ``random``, numpy and torch generators are
seeded from ``(seed, epoch, rank, worker id)``, persistent workers included, so the flips
and random clips of an epoch do not depend on what the worker did before (a resumed run
draws like an uninterrupted one).
"""
from __future__ import annotations

import multiprocessing
import random
from typing import Optional

import numpy as np


def draw_rng() -> np.random.Generator:
    """A generator for one random draw of a sample, reproducible under the run's seed:
    seeded from numpy's global generator. That one is seeded by the runner and each epoch
    by ``EpochSeedHook`` in the main process; in a DataLoader worker, each epoch from
    ``(seed, epoch, rank, worker id)`` (:class:`WorkerEpochSeeds`), or, in a worker
    without them, once by mmengine's ``worker_init_fn``: then torch's worker seed is
    mixed in, so that epochs still draw differently."""
    import torch.utils.data

    entropy = [int(np.random.randint(0, 2**31 - 1))]
    worker = torch.utils.data.get_worker_info()
    # torch's worker seed comes from the main process's generator when the iterator is
    # made, which a resume makes at another epoch: left out when seeded per epoch
    if worker is not None and not _worker_seeded_per_epoch:
        entropy.append(int(worker.seed) % 2**63)
    return np.random.default_rng(entropy)


#: True in a DataLoader worker once :class:`WorkerEpochSeeds` has seeded it
_worker_seeded_per_epoch = False


def worker_epoch_seed(seed: int, epoch: int, rank: int, worker_id: int) -> int:
    """The seed of DataLoader worker ``worker_id`` of rank ``rank`` in ``epoch``: the first
    32-bit word of ``numpy.random.SeedSequence([seed mod 2**64, epoch, rank, worker_id])``
    (a hash of the four, so no two tuples are seeded alike by construction)."""
    entropy = [int(seed) % 2**64, int(epoch), int(rank), int(worker_id)]
    return int(np.random.SeedSequence(entropy).generate_state(1)[0])


class WorkerEpochSeeds:
    """Seeds DataLoader workers per epoch. The main process publishes the epoch with
    :meth:`set_epoch` before the epoch's batches are requested; a worker, at the first
    sample it prepares in a new epoch (:meth:`reseed_worker`), seeds ``random``, numpy's
    global generator and torch with :func:`worker_epoch_seed` ``(seed, epoch, rank, worker
    id)``. The epoch lives in shared memory made before the workers start, so forked (or
    spawned) workers see every later value, persistent workers included; with persistent
    workers torch sends an epoch's first indices only when the loop calls ``iter()``,
    after ``before_train_epoch``. Does nothing in the main process (``num_workers=0``)."""

    def __init__(self, seed: int, rank: int = 0) -> None:
        self.seed, self.rank = int(seed), int(rank)
        self._epoch = multiprocessing.RawValue("q", -1)
        self._seeded_epoch: Optional[int] = None  # per process: each worker has its copy

    @property
    def epoch(self) -> int:
        """The epoch last published (-1 before the first)."""
        return int(self._epoch.value)

    def set_epoch(self, epoch: int) -> None:
        """Publish ``epoch`` to the workers (main process, before the epoch's batches)."""
        self._epoch.value = int(epoch)

    def reseed_worker(self) -> None:
        """In a DataLoader worker, seed its generators for the published epoch unless done."""
        global _worker_seeded_per_epoch
        import torch
        import torch.utils.data

        worker = torch.utils.data.get_worker_info()
        epoch = self.epoch
        if worker is None or epoch < 0 or epoch == self._seeded_epoch:
            return
        self._seeded_epoch = epoch
        seed = worker_epoch_seed(self.seed, epoch, self.rank, worker.id)
        random.seed(seed)
        np.random.seed(seed)
        torch.manual_seed(seed)
        _worker_seeded_per_epoch = True
