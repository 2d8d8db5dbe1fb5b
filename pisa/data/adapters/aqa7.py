"""The AQA-7 dataset (Parmar & Morris, "Action Quality Assessment Across Multiple
Actions", WACV 2019): :class:`AQA7Dataset`.

Layout, as the public code that trains on it reads it (CoRe's ``datasets/SevenPair.py``,
github.com/yuxumin/CoRe; AQA-Benchmark's ``datasets/seven.py``,
github.com/ZhouKanglei/AQA-Benchmark)::

    <data_root>/Split_4/split_4_train_list.mat   key 'consolidated_train_list'
    <data_root>/Split_4/split_4_test_list.mat    key 'consolidated_test_list'
    <data_root>/<action>-out/<index:03d>/img_00001.jpg ...   (one folder per sample)

Each ``.mat`` holds an ``(N, 3)`` double matrix, one row per sample: the action's class
number (1-based, :data:`ACTIONS` order: diving, gym_vault, ski_big_air,
snowboard_big_air, sync_diving_3m, sync_diving_10m), the sample number (the frame
folder's ``%03d`` name) and the judges' final score. Rows of other class numbers (the
seventh action, trampoline, which USDL, CoRe and AQA-Benchmark leave out) are ignored.

Each action has its declared score range, the bounds CoRe normalises scores with
(``utils/misc.py``, ``label_ranges``), in :data:`SCORE_RANGES`; the dataset puts it in its
metainfo (``score_range``: the pair for one action, a dict per action for several), so
``ScoreMetrics`` computes relative L2 with it rather than with the test set's own span.

Records: ``action`` (the name), ``action_index`` (1-based class number) and
``sample_number``; the target is the score (label -1). ``perf_id`` and ``group`` are
``'<action>/<sample:03d>'`` (``'diving/001'``): ``ScoreMetrics`` reads the action from
there and reports each action's rho and their Fisher-z average. AQA-7 names no athletes,
so a performance is its own performer for validation carves and folds.

Departures from the public code: CoRe and AQA-Benchmark read a fixed 103 frames
(``img_00001`` .. ``img_00103``); here the folder's frames (sorted by name) make up the
performance and the clip sampler chooses from them. ``action='all'`` trains one model
on the six actions (Parmar & Morris's all-action model); the per-action protocol of USDL
and CoRe is ``action='<name>'``, one run per action. ``video_pattern`` reads video files
instead of frame folders (e.g. ``'Actions/{action}/{index:03d}.avi'``, as the AQA-7
archive's videos are laid out in code that reads them directly).
"""
from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.data.core.clip_samplers import CenterClipSampler, ClipSampler
from pisa.io.numbered_media import write_frame_folder
from pisa.registry import component

#: the six actions, in the split files' class-number order (1-based)
ACTIONS = ("diving", "gym_vault", "ski_big_air", "snowboard_big_air", "sync_diving_3m",
           "sync_diving_10m")
#: each action's score range (CoRe's ``utils/misc.py`` ``label_ranges``)
SCORE_RANGES = {
    "diving": (21.6, 102.6), "gym_vault": (12.3, 16.87), "ski_big_air": (8.0, 50.0),
    "snowboard_big_air": (8.0, 50.0), "sync_diving_3m": (46.2, 104.88),
    "sync_diving_10m": (49.8, 99.36),
}
#: the ``.mat`` variable of each split file
SPLIT_KEYS = {"train": "consolidated_train_list", "test": "consolidated_test_list"}


def read_split_list(path: Union[str, os.PathLike], split: str) -> np.ndarray:
    """A ``split_4_<split>_list.mat`` as a float64 ``(N, 3)`` array (class number, sample
    number, score). Errors name the file: missing, not a MATLAB file, no
    ``consolidated_<split>_list`` variable, not ``(N, >=3)``, a class or sample number
    that is not a whole number >= 1."""
    import scipy.io

    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: AQA-7 split file not found")
    try:
        mat = scipy.io.loadmat(str(path))
    except (ValueError, TypeError, OSError, NotImplementedError) as err:
        raise ValueError(f"{path}: not a readable MATLAB file ({type(err).__name__}: {err})") from None
    key = SPLIT_KEYS[split]
    if key not in mat:
        names = sorted(k for k in mat if not k.startswith("__"))
        raise ValueError(f"{path}: no variable {key!r} (it holds {names})")
    rows = np.asarray(mat[key], dtype=np.float64)
    if rows.ndim != 2 or rows.shape[1] < 3:
        raise ValueError(f"{path}: {key} must be an (N, 3) matrix of class, sample number, "
                         f"score; got shape {rows.shape}")
    ids = rows[:, :2]
    bad = np.flatnonzero(np.any((ids != np.round(ids)) | (ids < 1), axis=1))
    if bad.size:
        raise ValueError(f"{path}: {key} row {int(bad[0]) + 1} has class/sample number "
                         f"{rows[bad[0], :2].tolist()}, not whole numbers >= 1")
    return rows[:, :3]


# -- the released layout, written (examples and tests) -------------------------------------
def write_released_layout(root: Path, actions: Dict[str, Tuple[Sequence[float], Sequence[float]]],
                   frames: int = 12, extra_rows: Sequence[Sequence[float]] = ()) -> Dict[str, np.ndarray]:
    """The released layout in little (numbered frames, :mod:`pisa.io.numbered_media`):
    ``<root>/<action>-out/<NNN>/img_XXXXX.jpg`` and ``<root>/Split_4/split_4_{train,test}_list.mat``
    for ``actions = {name: (train scores, test scores)}``; samples are numbered 1.. per
    action (train first). ``extra_rows`` are appended to the train list as they are (e.g.
    a trampoline row, class 7). Returns the two matrices."""
    from scipy.io import savemat

    rows: Dict[str, List[List[float]]] = {"train": [], "test": []}
    for name, (train, test) in actions.items():
        cls = ACTIONS.index(name) + 1
        number = 0
        for split, scores in (("train", train), ("test", test)):
            for score in scores:
                number += 1
                write_frame_folder(root / f"{name}-out" / f"{number:03d}", frames)
                rows[split].append([cls, number, float(score)])
    rows["train"].extend([list(map(float, r)) for r in extra_rows])
    out = {}
    for split, key in (("train", "consolidated_train_list"), ("test", "consolidated_test_list")):
        matrix = np.asarray(rows[split], dtype=np.float64).reshape(-1, 3)
        (root / "Split_4").mkdir(parents=True, exist_ok=True)
        savemat(str(root / "Split_4" / f"split_4_{split}_list.mat"), {key: matrix})
        out[split] = matrix
    return out


def write_example_layout(root: str) -> Dict[str, Any]:
    """Two training dives and one test dive of diving: the example's data."""
    write_released_layout(Path(root), {"diving": ([30.0, 60.0], [45.0])}, frames=8)
    return dict(data_root=str(root))


@component("dataset")
class AQA7Dataset(AQABaseDataset):
    """AQA-7 samples of one action or all six (see the module docstring for the files).

    Args:
        data_root: folder of the ``<action>-out`` frame folders (or of the videos).
        action: one of :data:`ACTIONS`, or ``'all'`` for the six.
        split: ``'train'`` or ``'test'``, or ``'val'`` carved from train with
            ``val_performances``.
        ann_dir: folder of the split files (default ``<data_root>/Split_4``).
        frame_pattern: a sample's frame folder under ``data_root``
            (``'{action}-out/{index:03d}'``).
        video_pattern: a sample's video file under ``data_root`` instead (None: frames).
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset`.
    """

    METAINFO: dict = dict(num_classes=0, actions=ACTIONS, score_range=dict(SCORE_RANGES))
    example = dict(args=dict(split="train", action="diving", pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="CenterClipSampler", num_clips=2, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, data_root: str = "", action: str = "all", split: str = "train",
                 ann_dir: Optional[str] = None, frame_pattern: str = "{action}-out/{index:03d}",
                 video_pattern: Optional[str] = None, modalities: Sequence[str] = ("video",),
                 metainfo: Optional[dict] = None, **kwargs: Any) -> None:
        if split not in ("train", "val", "test"):
            raise ValueError(f"AQA7Dataset: split must be 'train', 'val' (with val_performances) "
                             f"or 'test', got {split!r}")
        if action != "all" and action not in ACTIONS:
            raise ValueError(f"AQA7Dataset: action must be 'all' or one of {ACTIONS}, got {action!r}")
        if "audio" in modalities:
            raise ValueError("AQA7Dataset: only the 'video' modality (AQA-7 ships frames)")
        self.action = action
        self.actions = ACTIONS if action == "all" else (action,)
        self.ann_dir = ann_dir
        self.frame_pattern, self.video_pattern = frame_pattern, video_pattern
        declared = dict(actions=self.actions,
                        score_range=(SCORE_RANGES[action] if action != "all" else dict(SCORE_RANGES)))
        super().__init__(data_root=data_root, split=split, modalities=modalities,
                         metainfo=dict(declared, **(metainfo or {})), **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        return CenterClipSampler(num_clips=1, clip_len=16)

    def load_performances(self) -> List[Dict]:
        root = Path(self.data_root)
        ann_dir = Path(self.ann_dir) if self.ann_dir else root / "Split_4"
        path = ann_dir / f"split_4_{self.split}_list.mat"
        rows = read_split_list(path, self.split)
        perfs, seen = [], {}
        for row_no, (cls, number, score) in enumerate(rows, start=1):
            cls, number = int(cls), int(number)
            if cls > len(ACTIONS) or ACTIONS[cls - 1] not in self.actions:
                continue
            action = ACTIONS[cls - 1]
            where = f"{path.name} row {row_no}"
            perf_id = f"{action}/{number:03d}"
            if perf_id in seen:
                raise ValueError(f"{path}: row {row_no} repeats {action} sample {number} "
                                 f"(row {seen[perf_id]})")
            seen[perf_id] = row_no
            lo, hi = SCORE_RANGES[action]
            if not lo <= float(score) <= hi:
                warnings.warn(f"{path}: row {row_no} ({action} sample {number}) has score "
                              f"{float(score):g} outside the action's range {lo:g}..{hi:g}",
                              UserWarning, stacklevel=2)
            names = dict(action=action, index=number)
            media = ({"video_path": str(root / self.video_pattern.format(**names))}
                     if self.video_pattern else
                     {"frame_dir": str(root / self.frame_pattern.format(**names))})
            perfs.append(dict(
                media, perf_id=perf_id, group=perf_id, performer=perf_id, action=action,
                action_index=cls, sample_number=number, label=-1, score=float(score),
                frame_offset=0, num_frames=None, fps=None, ann_source=where))
        if not perfs:
            raise ValueError(f"{path}: no rows of action(s) {list(self.actions)}")
        return perfs
