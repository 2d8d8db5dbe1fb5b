"""What the engine, the commands and the API read from any AQA dataset, an adapter
(:class:`~pisa.data.core.base_dataset.AQABaseDataset`) or a wrapper over one
(:class:`~pisa.data.wrappers.pairs.ExemplarDataset`): one small interface both implement,
so a wrapper does not stand in for the dataset it wraps attribute by attribute."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, Dict, List, Optional


class AQADatasetInterface(ABC):
    """The run-facing part of a dataset.

    ``performances`` (a list attribute or property): the performance records it holds
    (what the baselines fit on and the learning curves count). :attr:`media_dataset`: the
    adapter whose media, split and prepared cache the dataset reads (``pisa data``,
    ``pisa prepare``): the dataset itself for an adapter, the query dataset for a
    wrapper."""

    performances: List[Dict]

    @property
    @abstractmethod
    def media_dataset(self) -> Any:
        """The adapter whose media and prepared cache this dataset reads."""

    @abstractmethod
    def level_counts(self) -> Dict[str, int]:
        """Samples per level (1-based), as the run prints them."""

    @abstractmethod
    def set_bad_sample_report(self, path: Optional[str], split: Optional[str] = None,
                              write_build_records: bool = True) -> None:
        """Write bad-sample records to the JSON-lines ``path`` (``BadSampleHook``)."""

    @abstractmethod
    def bad_sample_records(self) -> List[Dict]:
        """The bad samples recorded so far."""

    @abstractmethod
    def set_worker_epoch_seeds(self, seeds: Any) -> None:
        """Reseed DataLoader workers per epoch (``EpochSeedHook``)."""
