"""Which of an adapter's performances a dataset holds: its split, the validation carve,
the folds and the training fraction (the functions: :mod:`pisa.data.core.splits`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Dict, List, Optional, Union

from pisa.data.core.splits import assign_folds, carve_validation, check_fraction, nested_fraction

#: the adapter's performances of one split (``'train'``, ``'val'``, ``'test'``, ...)
LoadSplit = Callable[[Optional[str]], List[Dict]]


@dataclass
class SplitSpec:
    """A dataset's share of its adapter's performances.

    ``split``: the adapter's split (``'train'``, ``'val'``, ``'test'``, or another name an
    adapter knows). ``val_performances``: carve ``'val'`` from the training performances
    (:func:`~pisa.data.core.splits.carve_validation`: a count or a fraction, grouped by
    performer, stratified by level); ``'train'`` is then the rest. ``folds``, ``fold``:
    ``folds``-fold cross-validation over the training performances
    (:func:`~pisa.data.core.splits.assign_folds`): ``'test'`` is fold ``fold``, ``'train'``
    the others (less the carve). ``train_fraction``: the training split cut to this share
    last (:func:`~pisa.data.core.splits.nested_fraction`, seeded by
    ``train_fraction_seed``, None: ``split_seed``). ``carves_val``: the adapter has no
    validation annotations of its own, so ``'val'`` needs ``val_performances``.
    ``owner`` names the dataset in errors."""

    split: Optional[str] = "train"
    val_performances: Union[None, int, float] = None
    split_seed: int = 0
    folds: Optional[int] = None
    fold: int = 0
    train_fraction: Optional[float] = None
    train_fraction_seed: Optional[int] = None
    carves_val: bool = True
    owner: str = "dataset"

    def __post_init__(self) -> None:
        if self.split == "val" and not self.val_performances and self.carves_val:
            raise ValueError(f"{self.owner}: split='val' needs val_performances "
                             "(a count or fraction of the training performances)")
        self.val_performances = self.val_performances or None
        self.split_seed = int(self.split_seed)
        if self.folds is not None and not (isinstance(self.fold, int) and 0 <= self.fold < int(self.folds)):
            raise ValueError(f"fold must be in 0..{int(self.folds) - 1} for folds={self.folds}, "
                             f"got {self.fold!r}")
        self.folds = None if self.folds is None else int(self.folds)
        self.fold = int(self.fold)
        if self.train_fraction is not None:
            self.train_fraction = check_fraction(self.train_fraction, f"{self.owner}: train_fraction")
        self.train_fraction_seed = (self.split_seed if self.train_fraction_seed is None
                                    else int(self.train_fraction_seed))

    def select(self, load: LoadSplit) -> List[Dict]:
        """The performances of :attr:`split`: ``load(split)`` when no carve or fold
        applies, else cut from ``load('train')``; the training split cut to
        ``train_fraction`` last."""
        split = self.split
        carve = bool(self.val_performances) and split in ("train", "val")
        if split not in ("train", "val", "test") or not (self.folds or carve) or (
                split == "val" and not carve):
            return self.training_share(load(split))
        train = load("train")
        if self.folds:
            fold_of = assign_folds(train, self.folds, self.split_seed)
            if split == "test":
                return [p for p, f in zip(train, fold_of) if f == self.fold]
            train = [p for p, f in zip(train, fold_of) if f != self.fold]
        if not self.val_performances:
            return self.training_share(train)
        kept, val = carve_validation(train, self.val_performances, self.split_seed)
        return val if split == "val" else self.training_share(kept)

    def training_share(self, perfs: List[Dict]) -> List[Dict]:
        """``perfs`` cut to ``train_fraction`` when this is the training split."""
        if self.train_fraction is None or self.split != "train":
            return perfs
        return nested_fraction(perfs, self.train_fraction, self.train_fraction_seed)
