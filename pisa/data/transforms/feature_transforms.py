"""Transforms over extracted clip features (:mod:`pisa.data.core.feature_store`): read a
sample's rows, GDLT's temporal window, and packing into the sample contract."""
from __future__ import annotations

import functools
import os
from typing import Dict

import numpy as np

from pisa.data.core.feature_store import MODALITIES
from pisa.data.transforms.clip_transforms import KeptOpen
from pisa.registry import component


def _where(results: Dict) -> str:
    return f"sample {results.get('sample_id')} ({results.get('ann_source')})"


@component("transform")
class LoadClipFeatures:
    """Read the sample's clip features. Reads ``feature_file`` (a ``(R, D)`` ``.npy``,
    memory-mapped) or ``clip_features`` (the array itself), and ``clip_rows``
    ``(start, stop)``. Adds ``features`` float32 ``(K, D)``. A file that is missing, not
    2-D or shorter than the rows raises an error naming it and the sample."""

    example = dict(args=dict(), input=lambda: {"clip_features": np.ones((10, 6), np.float32),
                                              "clip_rows": (2, 6), "sample_id": "example"},
                   adds=("features",))

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

    example = dict(args=dict(clip_num=4), input=lambda: {"features": np.ones((6, 3), np.float32)},
                   adds=("features", "clip_window"))

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

    example = dict(args=dict(modality="video"),
                   input=lambda: {"features": np.ones((4, 3), np.float32), "label": 1, "score": 1.5,
                                  "sample_id": "example", "group": "example"},
                   adds=("inputs", "data_samples"))

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
