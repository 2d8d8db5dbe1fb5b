"""The released clip-feature layouts of the long-form datasets, as the public GDLT code
reads them (Xu et al., "Likert Scoring with Grade Decoupling for Long-term Action
Assessment", CVPR 2022; github.com/xuangch/CVPR22_GDLT, ``datasets.py``):
:class:`RGFeatureDataset` (Rhythmic Gymnastics) and :class:`FisVFeatureDataset` (Fis-V
figure skating).

Layout (the features and label files released with GDLT)::

    <data_root>/<feature_dir>/<video>.npy   # float (N, D): one row per 32-frame clip
                                            # (Video Swin, D = 1024, averaged per clip)
    <data_root>/train.txt, test.txt         # whitespace-separated rows, one per video

- Rhythmic Gymnastics: a header line, then ``<video> <Difficulty_Score>
  <Execution_Score> <Total_Score>``; ``<video>`` is ``<Apparatus>_<number>`` (``Ball``,
  ``Clubs``, ``Hoop``, ``Ribbon``) and each apparatus is its own task (GDLT's
  ``--action-type``; ``'all'`` reads every row). GDLT skips the first line
  unconditionally; here a first line whose score column is not a number is the header,
  so both agree on the released files.
- Fis-V: ``<video> <TES> <PCS> [more columns]`` without a header (the copies of the
  release in public forks carry a fourth integer column; it is not read). The target is
  TES or PCS (``score_type``), each its own task as in GDLT's Fis-V runs.

Targets: GDLT trains on ``score / 25`` for Rhythmic Gymnastics (``normalize_score``);
its public code has no Fis-V loader, and the public code that reads these Fis-V files
(PAMFN, ``datasets.py``) divides TES and PCS by 45, which ``score_scale`` defaults to
here. The dataset's ``score`` is the scaled target (label -1: a score dataset); metrics
are computed on it (Spearman's rho, as GDLT reports, does not depend on the scale).

One sample per video: all its clips ``(N, D)``. GDLT crops a random window of
``clip_num`` clips (or zero-pads) in training and tests whole videos one at a time: the
configs do the same with :class:`~pisa.data.transforms.feature_transforms.RandomClipWindow` in the training
pipeline and a test batch size of 1. The validation carve and folds are those of every
dataset (:mod:`pisa.data.core.splits`); each video is its own performer (the files name no
athlete).
"""
from __future__ import annotations

from abc import abstractmethod

import math
import os
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pisa.data.wrappers.feature_datasets import ClipFeatureDataset
from pisa.registry import component

RG_APPARATUS = ("Ball", "Clubs", "Hoop", "Ribbon")
RG_SCORES = ("Difficulty_Score", "Execution_Score", "Total_Score")
FISV_SCORES = ("TES", "PCS")


def read_score_list(path: Path, column: int, min_columns: int,
                    header_allowed: bool = True) -> List[Tuple[str, float, str]]:
    """Rows ``(video, score of column, where)`` of a whitespace-separated label list. A
    first line whose score column is not a number is a header (when ``header_allowed``);
    any other bad line raises ``ValueError`` naming the file and line."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: label list not found")
    rows, seen = [], {}
    with open(path) as f:
        for line_no, line in enumerate(f, start=1):
            parts = line.split()
            if not parts:
                continue
            where = f"{path} line {line_no}"
            try:
                score = float(parts[column]) if len(parts) >= min_columns else math.nan
            except ValueError:
                if line_no == 1 and header_allowed:
                    continue  # the header
                score = math.nan
            if not math.isfinite(score):
                raise ValueError(f"{where}: expected {min_columns} columns with a number in "
                                 f"column {column + 1}, got {line.strip()!r}")
            if parts[0] in seen:
                raise ValueError(f"{where}: video {parts[0]!r} listed twice (first at line "
                                 f"{seen[parts[0]]})")
            seen[parts[0]] = line_no
            rows.append((parts[0], score, where))
    if not rows:
        raise ValueError(f"{path}: the label list has no rows")
    return rows


class _ReleasedFeatureDataset(ClipFeatureDataset):
    """Shared part of the released layouts: ``split`` picks ``train_list`` or
    ``test_list`` (``'val'`` is carved from train with ``val_performances``), each row a
    performance whose features are ``<feature_dir>/<video>.npy``."""

    METAINFO: dict = dict(num_classes=0)

    def __init__(self, data_root: str = "", feature_dir: str = "swintx_avg_fps25_clip32",
                 train_list: str = "train.txt", test_list: str = "test.txt",
                 split: str = "train", score_scale: float = 25.0, modality: str = "video",
                 pipeline: Sequence[Any] = (), **kwargs: Any) -> None:
        if split not in ("train", "val", "test"):
            raise ValueError(f"{type(self).__name__}: split must be 'train', 'val' (with "
                             f"val_performances) or 'test', got {split!r}")
        if not float(score_scale) > 0:
            raise ValueError(f"{type(self).__name__}: score_scale must be > 0, got {score_scale}")
        for key in ("cache_dir", "clip_sampler", "check_media"):
            if kwargs.pop(key, None) is not None and key != "check_media":
                raise ValueError(f"{type(self).__name__}: {key} does not apply to released "
                                 "features (there are no media to read)")
        self.modality = modality
        self.score_scale = float(score_scale)
        root = Path(data_root)
        self.feature_path = root / feature_dir
        self.lists = {"train": root / train_list, "test": root / test_list}
        super().__init__(data_root=data_root, split=split, pipeline=list(pipeline) or
                         self.default_feature_pipeline(modality), modalities=(modality,),
                         check_media=False, **kwargs)

    @abstractmethod
    def rows(self, path: Path) -> List[Tuple[str, float, str]]:
        """``(video, raw score, where)`` of the videos of this dataset's task in ``path``."""

    def load_performances(self) -> List[Dict]:
        perfs = []
        for video, score, where in self.rows(self.lists[self.split]):
            perfs.append({"perf_id": video, "label": -1, "score": score / self.score_scale,
                          "raw_score": score, "group": video, "ann_source": where,
                          "feature_file": str(self.feature_path / f"{video}.npy")})
        return perfs

    def feature_layout(self, perf: Dict[str, Any]) -> Dict[str, Any]:
        path = perf["feature_file"]
        where = f"performance {perf['perf_id']} ({perf.get('ann_source')})"
        if not os.path.isfile(path):
            raise FileNotFoundError(f"{where}: feature file {path} not found")
        try:
            shape = np.load(path, mmap_mode="r").shape
        except ValueError as err:
            raise ValueError(f"{where}: {path} is not a readable .npy array ({err})") from None
        if len(shape) != 2 or shape[0] < 1:
            raise ValueError(f"{where}: {path} holds {shape}, expected clip features (N, D)")
        return dict(feature_file=path, rows=int(shape[0]), clips_per_sample=None,
                    sample_indices=[0], frame_inds=None, num_frames=None, fps=None)


def _example_features(root: str, videos: Sequence[str], scores: Sequence[Sequence[float]],
                      header: Optional[str]) -> Dict[str, Any]:
    """Random 8-d features of 6..9 clips per video, the last video the test split."""
    rng = np.random.default_rng(0)
    features = {v: rng.standard_normal((6 + i, 8)).astype(np.float32) for i, v in enumerate(videos)}
    split_of = {v: "test" if i == len(videos) - 1 else "train" for i, v in enumerate(videos)}
    write_released_layout(Path(root), features, dict(zip(videos, scores)), split_of, header=header)
    return dict(data_root=str(root))


def write_rg_example(root: str) -> Dict[str, Any]:
    """Three Ball routines (two training, one test): the example's data."""
    return _example_features(root, ["Ball_001", "Ball_002", "Ball_003"],
                             [(6.5, 7.0, 13.5), (8.0, 8.5, 16.5), (7.0, 6.0, 13.0)],
                             header="name Difficulty_Score Execution_Score Total_Score")


def write_fisv_example(root: str) -> Dict[str, Any]:
    """Three programs (two training, one test), headerless rows: the example's data."""
    return _example_features(root, ["1", "3", "5"],
                             [(30.0, 28.5, 0), (22.0, 25.0, 1), (35.5, 33.0, 0)], header=None)


@component("dataset")
class RGFeatureDataset(_ReleasedFeatureDataset):
    """Rhythmic Gymnastics clip features in GDLT's released layout (module docstring).

    Args:
        data_root: folder of the feature folder and the label lists.
        feature_dir: the features' folder under ``data_root`` (GDLT's
            ``swintx_avg_fps25_clip32``).
        train_list, test_list: the label lists under ``data_root``.
        split: ``'train'``, ``'test'``, or ``'val'`` carved from train.
        action_type: ``'Ball'``, ``'Clubs'``, ``'Hoop'``, ``'Ribbon'`` (the rows whose
            video name starts ``<apparatus>_``) or ``'all'``.
        score_type: ``'Total_Score'`` (GDLT's), ``'Difficulty_Score'`` or
            ``'Execution_Score'``.
        score_scale: the target is ``score / score_scale`` (GDLT: 25).
        Other arguments: :class:`~pisa.data.core.base_dataset.AQABaseDataset`.
    """

    example = dict(args=dict(split="train", action_type="Ball"), make_data=write_rg_example)

    def __init__(self, action_type: str = "Ball", score_type: str = "Total_Score",
                 score_scale: float = 25.0, **kwargs: Any) -> None:
        if action_type not in RG_APPARATUS + ("all",):
            raise ValueError(f"RGFeatureDataset: action_type must be one of "
                             f"{RG_APPARATUS + ('all',)}, got {action_type!r}")
        if score_type not in RG_SCORES:
            raise ValueError(f"RGFeatureDataset: score_type must be one of {RG_SCORES}, got {score_type!r}")
        self.action_type, self.score_type = action_type, score_type
        super().__init__(score_scale=score_scale, **kwargs)

    def rows(self, path: Path) -> List[Tuple[str, float, str]]:
        column = 1 + RG_SCORES.index(self.score_type)
        rows = read_score_list(path, column, min_columns=4)
        return [r for r in rows
                if self.action_type == "all" or r[0].split("_")[0] == self.action_type]


@component("dataset")
class FisVFeatureDataset(_ReleasedFeatureDataset):
    """Fis-V clip features in the layout released with GDLT (module docstring).

    Args:
        score_type: ``'TES'`` (technical element score) or ``'PCS'`` (program component
            score): the column of the label lists that is the target.
        score_scale: the target is ``score / score_scale`` (default 45, as PAMFN reads
            these files).
        Other arguments: :class:`RGFeatureDataset`'s (no ``action_type``).
    """

    example = dict(args=dict(split="train"), make_data=write_fisv_example)

    def __init__(self, score_type: str = "TES", score_scale: float = 45.0,
                 **kwargs: Any) -> None:
        if score_type not in FISV_SCORES:
            raise ValueError(f"FisVFeatureDataset: score_type must be one of {FISV_SCORES}, "
                             f"got {score_type!r}")
        self.score_type = score_type
        super().__init__(score_scale=score_scale, **kwargs)

    def rows(self, path: Path) -> List[Tuple[str, float, str]]:
        return read_score_list(path, 1 + FISV_SCORES.index(self.score_type), min_columns=3)


def write_released_layout(root: Path, features: Dict[str, np.ndarray],
                          scores: Dict[str, Sequence[float]], split_of: Dict[str, str],
                          header: Optional[str] = None,
                          feature_dir: str = "swintx_avg_fps25_clip32") -> Path:
    """Write features and label lists in the released layout (one ``.npy`` per video,
    ``train.txt``/``test.txt`` rows ``<video> <scores...>``, after ``header`` when given),
    atomically. For tests and conversions; returns ``root``."""
    from pisa.io.atomic import atomic_output, atomic_write

    root = Path(root)
    for video, array in features.items():
        with atomic_output(root / feature_dir / f"{video}.npy") as tmp:
            np.save(tmp, np.asarray(array))
    for split in ("train", "test"):
        lines = [header] if header else []
        lines += [" ".join([video] + [f"{s:g}" for s in scores[video]])
                  for video in features if split_of[video] == split]
        atomic_write(root / f"{split}.txt", "\n".join(lines) + "\n")
    return root
