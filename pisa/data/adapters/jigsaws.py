"""The JIGSAWS surgical skill dataset (Gao et al., "JHU-ISI Gesture and Skill Assessment
Working Set", M2CAI 2014): :class:`JIGSAWSDataset`, the global rating score (GRS) of
each trial of one task (Suturing, Knot_Tying, Needle_Passing).

Layout of the release (one folder per task)::

    <data_root>/<Task>/meta_file_<Task>.txt
    <data_root>/<Task>/video/<Task>_<U><NNN>_capture1.avi   (and _capture2: the other view)

A meta file line is whitespace-separated (tabs, some doubled): the trial name
``<Task>_<U><NNN>`` (``U`` the user, B..I; ``NNN`` the trial), the self-proclaimed skill
level (N, I, E), the GRS, then the six GRS items (respect for tissue, suture/needle
handling, time and motion, flow of operation, overall performance, quality of the final
product; 1..5 each), the columns public readers of the file name (e.g. a MATLAB
``readtable`` of ``meta_file_Suturing.txt`` in github.com/abcpdo/surgeon-skill-vizualization).
The GRS is their sum (6..30, the declared ``score_range``); a line whose GRS is not the
sum gets a warning and its GRS column is used. The record carries ``user``, ``trial``,
``skill_level`` and ``grs_items``; ``performer`` is the user, so the shared folds
(``folds=k, fold=i``, what ``pisa train --folds k`` sets; grouped by performer) never put
one user's trials in two folds' test parts. ``folds`` equal to the number of users is
leave-one-user-out.

The 4-fold split USDL/MUSDL report on (github.com/nzl-thu/MUSDL, ``JIGSAWS/dataset.py``)
is a fixed list, ``data/info/splits.pkl``: ``{task: [trial names of fold 0, .., fold 3]}``;
``split_file`` reads it (through the restricted unpickler) and ``fold`` then picks its test
fold, the other folds being train (a trial the file lists in no fold is in neither). That split is NOT user-disjoint (in it user B's Needle_Passing trials are in folds 0
and 2), so it measures generalisation to new trials of seen surgeons; the grouped folds
measure new surgeons. MUSDL reads ``<trial>_capture1`` frame folders of its own
extraction (160 frames spread over the trial); here the release's videos are read
(``video_pattern``; ``frame_pattern`` reads such folders instead) and the clip sampler
chooses the frames. MUSDL averages the four folds' rho (plain mean; the Fisher-z average is
over tasks, ``JIGSAWS_avg.xls``).

``split``: ``'all'`` (every trial), or ``'train'`` / ``'test'`` with folds or a split file
(JIGSAWS itself has no train/test partition), ``'val'`` carved from train with
``val_performances``.
"""
from __future__ import annotations

import os
import re
import warnings
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.data.core.clip_samplers import CenterClipSampler, ClipSampler
from pisa.data.core.splits import carve_validation
from pisa.io.numbered_media import write_numbered_video
from pisa.io.safe_load import load_pickle
from pisa.registry import component

TASKS = ("Suturing", "Knot_Tying", "Needle_Passing")
SKILL_LEVELS = ("N", "I", "E")
GRS_ITEMS = ("respect_for_tissue", "suture_needle_handling", "time_and_motion",
             "flow_of_operation", "overall_performance", "quality_of_final_product")
#: six items of 1..5
SCORE_RANGE = (6.0, 30.0)


def read_meta_file(path: Union[str, os.PathLike], task: str) -> List[Dict[str, Any]]:
    """``meta_file_<Task>.txt`` -> one dict per trial: ``trial`` (the name), ``user``,
    ``trial_number``, ``skill_level``, ``grs`` and ``grs_items`` (six ints), ``where``.
    Errors name the file and line: a line without 9 fields, a name not
    ``<task>_<U><NNN>``, a skill level not N/I/E, a GRS or item that is no whole number
    (items 1..5), a trial listed twice."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: JIGSAWS meta file not found")
    pattern = re.compile(rf"^{re.escape(task)}_(?P<user>[A-Z])(?P<trial>\d{{3}})$")
    trials, seen = [], {}
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        parts = line.split()
        if not parts:
            continue
        where = f"{path} line {line_no}"
        if len(parts) != 3 + len(GRS_ITEMS):
            raise ValueError(f"{where}: expected 9 fields (trial, skill level, GRS, 6 items), "
                             f"got {len(parts)}: {line.strip()!r}")
        name, level, grs, *items = parts
        match = pattern.match(name)
        if not match:
            raise ValueError(f"{where}: trial {name!r} is not named {task}_<user letter><3 digits>")
        if level not in SKILL_LEVELS:
            raise ValueError(f"{where}: skill level {level!r} is not one of {SKILL_LEVELS}")
        try:
            grs_value, item_values = int(grs), [int(v) for v in items]
        except ValueError:
            raise ValueError(f"{where}: GRS and items must be whole numbers, got "
                             f"{[grs, *items]}") from None
        if any(not 1 <= v <= 5 for v in item_values):
            raise ValueError(f"{where}: GRS items must be 1..5, got {item_values}")
        if name in seen:
            raise ValueError(f"{where}: trial {name} is listed twice (line {seen[name]})")
        seen[name] = line_no
        if sum(item_values) != grs_value:
            warnings.warn(f"{where}: GRS {grs_value} is not the sum of its items "
                          f"{item_values} ({sum(item_values)}); using the GRS column",
                          UserWarning, stacklevel=2)
        trials.append(dict(trial=name, user=match["user"], trial_number=int(match["trial"]),
                           skill_level=level, grs=grs_value, grs_items=item_values, where=where))
    if not trials:
        raise ValueError(f"{path}: the meta file lists no trials")
    return trials


def read_split_file(path: Union[str, os.PathLike], task: str) -> List[List[str]]:
    """MUSDL's ``splits.pkl`` -> the task's folds, each a list of trial names. Errors name
    the file: not a dict with the task, a fold that is not a list of names, a trial in
    two folds."""
    path = Path(path)
    splits = load_pickle(path)
    if not isinstance(splits, dict) or task not in splits:
        have = sorted(splits) if isinstance(splits, dict) else type(splits).__name__
        raise ValueError(f"{path}: expected {{task: [fold trial lists]}} with {task!r}, got {have}")
    folds = splits[task]
    if not isinstance(folds, (list, tuple)) or len(folds) < 2 or not all(
            isinstance(f, (list, tuple)) and all(isinstance(t, str) for t in f) for f in folds):
        raise ValueError(f"{path}: {task} must be a list of >= 2 folds of trial names")
    where: Dict[str, int] = {}
    for i, fold in enumerate(folds):
        for trial in fold:
            if trial in where:
                raise ValueError(f"{path}: {task} trial {trial} is in folds {where[trial]} and {i}")
            where[trial] = i
    return [list(f) for f in folds]


# -- the released layout, written (examples and tests) -------------------------------------
def grs_item_scores(grs: int) -> List[int]:
    """Six GRS items of 1..5 summing to ``grs`` (6..30)."""
    items = [1] * 6
    rest = grs - 6
    for i in range(6):
        step = min(4, rest)
        items[i] += step
        rest -= step
    return items


def write_released_layout(root: Path, task: str, trials: Sequence[Tuple[str, int, str, int]],
                      frames: int = 24) -> List[str]:
    """The released layout in little (numbered frames, :mod:`pisa.io.numbered_media`):
    ``<root>/<task>/meta_file_<task>.txt`` (the release's tab layout, doubled tabs
    included) and ``<root>/<task>/video/<trial>_capture1.avi`` for ``trials = [(user
    letter, trial number, skill level, GRS)]``. Returns the trial names."""
    folder = root / task
    lines, names = [], []
    for user, number, level, grs in trials:
        name = f"{task}_{user}{number:03d}"
        items = grs_item_scores(grs)
        lines.append(f"{name}\t\t{level}\t{grs}\t\t" + "\t".join(str(v) for v in items))
        write_numbered_video(folder / "video" / f"{name}_capture1.avi", frames=frames,
                             size=(32, 24), audio=False)
        names.append(name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"meta_file_{task}.txt").write_text("\n".join(lines) + "\n")
    return names


def write_example_layout(root: str) -> Dict[str, Any]:
    """Three surgeons with one Suturing trial each: the example's data."""
    write_released_layout(Path(root), "Suturing", [("B", 1, "N", 10), ("C", 1, "I", 16),
                                                   ("D", 1, "E", 22)], frames=12)
    return dict(data_root=str(root))


@component("dataset")
class JIGSAWSDataset(AQABaseDataset):
    """JIGSAWS trials of one task, scored by their GRS (module docstring).

    Args:
        data_root: folder of the task folders.
        task: ``'Suturing'``, ``'Knot_Tying'`` or ``'Needle_Passing'``.
        split: ``'all'``, ``'train'``, ``'test'`` or ``'val'`` (module docstring).
        split_file: MUSDL's ``splits.pkl``: its folds instead of the grouped ones
            (``fold`` picks the test fold; ``folds``, when given, must match its count).
        view: camera, 1 (left, as MUSDL) or 2.
        video_pattern: a trial's video under ``data_root``
            (``'{task}/video/{trial}_capture{view}.avi'``).
        frame_pattern: a trial's frame folder under ``data_root`` instead (None: videos;
            MUSDL's: ``'frames/{trial}_capture{view}'``).
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset`.
    """

    METAINFO: dict = dict(num_classes=0, score_range=SCORE_RANGE)
    example = dict(args=dict(split="all", pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="CenterClipSampler", num_clips=2, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, data_root: str = "", task: str = "Suturing", split: str = "all",
                 split_file: Optional[str] = None, view: int = 1,
                 video_pattern: str = "{task}/video/{trial}_capture{view}.avi",
                 frame_pattern: Optional[str] = None, modalities: Sequence[str] = ("video",),
                 **kwargs: Any) -> None:
        if task not in TASKS:
            raise ValueError(f"JIGSAWSDataset: task must be one of {TASKS}, got {task!r}")
        if split not in ("all", "train", "val", "test"):
            raise ValueError(f"JIGSAWSDataset: split must be 'all', 'train', 'val' or 'test', "
                             f"got {split!r}")
        if int(view) not in (1, 2):
            raise ValueError(f"JIGSAWSDataset: view must be 1 or 2, got {view!r}")
        if "audio" in modalities:
            raise ValueError("JIGSAWSDataset: only the 'video' modality (JIGSAWS has no audio)")
        self.task, self.view = task, int(view)
        self.split_file = split_file
        self.video_pattern, self.frame_pattern = video_pattern, frame_pattern
        super().__init__(data_root=data_root, split=split, modalities=modalities, **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        return CenterClipSampler(num_clips=10, clip_len=16)

    @property
    def meta_file(self) -> Path:
        return Path(self.data_root) / self.task / f"meta_file_{self.task}.txt"

    def all_trials(self) -> List[Dict]:
        """Every trial of the task as a performance record (module docstring)."""
        root = Path(self.data_root)
        perfs = []
        for t in read_meta_file(self.meta_file, self.task):
            names = dict(task=self.task, trial=t["trial"], view=self.view)
            media = ({"frame_dir": str(root / self.frame_pattern.format(**names))}
                     if self.frame_pattern else
                     {"video_path": str(root / self.video_pattern.format(**names))})
            perfs.append(dict(
                media, perf_id=t["trial"], group=t["trial"], performer=f"user {t['user']}",
                user=t["user"], trial=t["trial_number"], skill_level=t["skill_level"],
                grs_items=t["grs_items"], label=-1, score=float(t["grs"]),
                frame_offset=0, num_frames=None, fps=None, ann_source=t["where"]))
        return perfs

    def load_performances(self) -> List[Dict]:
        if self.split == "all" or self.folds:
            return self.all_trials()
        raise ValueError(f"JIGSAWSDataset: split={self.split!r} needs folds=k with fold=i "
                         "(grouped by user) or split_file (the released folds); JIGSAWS has no "
                         "train/test partition of its own (split='all' reads every trial)")

    def _split_performances(self) -> List[Dict]:
        if self.split_file is None or self.split == "all":
            return super()._split_performances()
        folds = read_split_file(self.split_file, self.task)
        if self.folds is not None and self.folds != len(folds):
            raise ValueError(f"JIGSAWSDataset: folds={self.folds} but {self.split_file} has "
                             f"{len(folds)} folds for {self.task}")
        if not 0 <= self.fold < len(folds):
            raise ValueError(f"JIGSAWSDataset: fold must be in 0..{len(folds) - 1} for "
                             f"{self.split_file}, got {self.fold}")
        trials = self.all_trials()
        known = {p["perf_id"] for p in trials}
        unknown = sorted({t for f in folds for t in f} - known)
        if unknown:
            raise ValueError(f"{self.split_file}: {self.task} trial(s) {unknown[:5]} are not in "
                             f"{self.meta_file}")
        test = set(folds[self.fold])
        if self.split == "test":
            return [p for p in trials if p["perf_id"] in test]
        # the other folds' trials: a trial the file lists in no fold is in neither part
        others = {t for i, f in enumerate(folds) if i != self.fold for t in f}
        train = [p for p in trials if p["perf_id"] in others]
        if not self.val_performances:
            return train
        kept, val = carve_validation(train, self.val_performances, self.split_seed)
        return val if self.split == "val" else kept
