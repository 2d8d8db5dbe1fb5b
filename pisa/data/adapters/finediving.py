"""The FineDiving dataset (Xu et al., "FineDiving: A Fine-grained Dataset for
Procedure-aware Action Quality Assessment", CVPR 2022): :class:`FineDivingDataset`.

Layout, as the FineDiving release describes it (github.com/xujinglin/FineDiving
``README.md``, ``Annotations/readme.txt``) and its training code reads it
(``datasets/FineDiving_Pair.py``; AQA-Benchmark's ``datasets/fd.py``)::

    <data_root>/<video name>/<instance>/<frame:05d>.jpg   trimmed frames of one dive
    <ann_dir>/FineDiving_coarse_annotation.pkl
    <ann_dir>/FineDiving_fine-grained_annotation.pkl
    <ann_dir>/train_split.pkl, test_split.pkl

Every pickle is read through the restricted unpickler (:func:`pisa.io.safe_load.load_pickle`:
builtin containers and scalars, numpy arrays and scalars). Keys are ``(video name,
instance)`` tuples (``('FINADivingWorldCup2021_Men3m_final_r1', 0)``); the split files are
lists of them. Per key:

- coarse: ``action_type`` (the dive number, ``'107B'``), ``dive_score``, ``difficulty``,
  ``start_frame`` / ``end_frame`` (source frames of the untrimmed video, which name the
  trimmed folder's first and last jpg) and, in the release, ``judge_scores``;
- fine-grained: ``sub-action_types`` (``{label: name}``), ``frames_labels`` (the step
  label of each trimmed frame), ``steps_transit_frames`` (frames of step transitions),
  ``judge_scores``, and again ``action_type``, ``dive_score``, ``difficulty``.

A key of a split list must be in both annotations, and where both give the action type,
score or difficulty they must agree (errors name the key and file). The target is
``dive_score`` (label -1); the record also carries ``dive_number``, ``difficulty``,
``judge_scores`` (floats, coarse first, else fine-grained), ``start_frame``, ``end_frame``,
``steps_transit_frames`` and ``frame_labels`` (int lists) for methods that use them.
``perf_id`` / ``group`` are ``'<video name>/<instance>'``; the performer is the
competition video (a validation carve or fold keeps a competition on one side; the
annotations name no athletes).

The declared score range, in the metainfo for ``ScoreMetrics``, is ``(0.0, 104.5)``:
AQA-Benchmark's FineDiving configs (``configs/fd-*.yaml``: ``label_min``, ``label_max``).
The release's training code (TSA) instead takes relative L2 over the test set's own
span. Departures: the training code reads ``fine-grained_annotation_aqa.pkl`` (a tuple per
key: dive number, score, difficulty, ..., frame labels) and 96 frames spread over the
folder; here the two documented annotation pickles are read and the clip sampler chooses
the frames.
"""
from __future__ import annotations

from pathlib import Path
import pickle
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.data.core.clip_samplers import CenterClipSampler, ClipSampler
from pisa.io.numbered_media import write_frame_folder
from pisa.io.safe_load import load_pickle
from pisa.registry import component

COARSE_FILE = "FineDiving_coarse_annotation.pkl"
FINE_FILE = "FineDiving_fine-grained_annotation.pkl"
#: AQA-Benchmark's FineDiving label range (configs/fd-*.yaml)
SCORE_RANGE = (0.0, 104.5)


def _key(value: Any, where: str) -> tuple:
    if not isinstance(value, (tuple, list)) or len(value) != 2:
        raise ValueError(f"{where}: expected a (video name, instance) key, got {value!r}")
    name, instance = value
    try:
        return str(name), int(instance)
    except (TypeError, ValueError):
        raise ValueError(f"{where}: key {tuple(value)!r} has instance {instance!r}, not a "
                         "whole number") from None


def _by_key(obj: Any, path: Path) -> Dict[tuple, Dict]:
    """An annotation pickle's dict re-keyed by ``(str name, int instance)``."""
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict keyed by (video name, instance), "
                         f"got {type(obj).__name__}")
    out = {}
    for key, entry in obj.items():
        if not isinstance(entry, dict):
            raise ValueError(f"{path}: entry {key!r} is a {type(entry).__name__}, not a dict")
        out[_key(key, str(path))] = entry
    return out


def _number(entry: Dict, field: str, key: tuple, path: Path) -> float:
    try:
        return float(entry[field])
    except KeyError:
        raise ValueError(f"{path}: entry {key!r} has no {field!r}") from None
    except (TypeError, ValueError):
        raise ValueError(f"{path}: entry {key!r} has {field}={entry[field]!r}, not a number") from None


def _ints(value: Any) -> List[int]:
    return [int(v) for v in np.asarray(value).reshape(-1)]


# -- the released layout, written (examples and tests) -------------------------------------
def annotation_entries(video: str, instance: int, start: int, frames: int, score: float,
                       difficulty: float, dive: str) -> Tuple[Dict, Dict]:
    """The coarse and fine-grained annotation entries of one dive, with the release's
    fields and types (numpy arrays for the frame labels and transitions)."""
    judges = [round(score / difficulty / 3, 1)] * 7
    labels = np.repeat(np.arange(3, dtype=np.int64), [frames // 3, frames // 3, frames - 2 * (frames // 3)])
    transits = np.array([frames // 3, 2 * (frames // 3)], dtype=np.int64)
    coarse = {"action_type": dive, "dive_score": np.float64(score), "difficulty": difficulty,
              "judge_scores": judges, "start_frame": start, "end_frame": start + frames - 1}
    fine = {"action_type": dive, "dive_score": score, "difficulty": np.float64(difficulty),
            "judge_scores": judges, "sub-action_types": {0: "Forward", 1: "1 Som.Pike", 2: "Entry"},
            "frames_labels": labels, "steps_transit_frames": transits}
    return coarse, fine


def write_released_layout(root: Path, dives: Sequence[Tuple[str, int, str, float, float, str]],
                         frames: int = 12, protocol: int = 4) -> Dict[str, List[Tuple[str, int]]]:
    """The released layout in little (numbered frames, :mod:`pisa.io.numbered_media`):
    ``<root>/<video>/<instance>/<frame:05d>.jpg`` (source frame numbers from 100 *
    (instance + 1)) and ``<root>/Annotations/`` with the coarse and fine-grained pickles
    and ``train_split.pkl`` / ``test_split.pkl``, for ``dives = [(video, instance, split,
    score, difficulty, dive number)]``. Returns the split lists."""
    coarse, fine = {}, {}
    splits: Dict[str, List[Tuple[str, int]]] = {"train": [], "test": []}
    for video, instance, split, score, difficulty, dive in dives:
        start = 100 * (instance + 1)
        write_frame_folder(root / video / str(instance), frames, first=start, pattern="{:05d}.jpg")
        coarse[(video, instance)], fine[(video, instance)] = annotation_entries(
            video, instance, start, frames, score, difficulty, dive)
        splits[split].append((video, instance))
    ann = root / "Annotations"
    ann.mkdir(parents=True, exist_ok=True)
    for name, obj in ((COARSE_FILE, coarse), (FINE_FILE, fine),
                      ("train_split.pkl", splits["train"]), ("test_split.pkl", splits["test"])):
        (ann / name).write_bytes(pickle.dumps(obj, protocol=protocol))
    return splits


def write_example_layout(root: str) -> Dict[str, Any]:
    """Two training dives and one test dive: the example's data."""
    write_released_layout(Path(root), [("v1", 0, "train", 60.0, 2.0, "107B"),
                                       ("v1", 1, "train", 75.0, 3.0, "107B"),
                                       ("v1", 2, "test", 66.0, 2.0, "107B")], frames=9)
    return dict(data_root=str(root))


@component("dataset")
class FineDivingDataset(AQABaseDataset):
    """FineDiving dives (see the module docstring for the files and the record).

    Args:
        data_root: folder of the trimmed frame folders (``FINADiving_MTL_256s``).
        split: ``'train'`` or ``'test'`` (``<split>_split.pkl``), or ``'val'`` carved from
            train with ``val_performances``.
        ann_dir: folder of the pickles (default ``<data_root>/Annotations``).
        frame_pattern: a dive's frame folder under ``data_root`` (``'{video}/{instance}'``).
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset`.
    """

    METAINFO: dict = dict(num_classes=0, score_range=SCORE_RANGE)
    example = dict(args=dict(split="train", pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="CenterClipSampler", num_clips=2, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, data_root: str = "", split: str = "train", ann_dir: Optional[str] = None,
                 frame_pattern: str = "{video}/{instance}", modalities: Sequence[str] = ("video",),
                 **kwargs: Any) -> None:
        if split not in ("train", "val", "test"):
            raise ValueError(f"FineDivingDataset: split must be 'train', 'val' (with "
                             f"val_performances) or 'test', got {split!r}")
        if "audio" in modalities:
            raise ValueError("FineDivingDataset: only the 'video' modality (FineDiving ships frames)")
        self.ann_dir, self.frame_pattern = ann_dir, frame_pattern
        super().__init__(data_root=data_root, split=split, modalities=modalities, **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        return CenterClipSampler(num_clips=1, clip_len=16)

    def load_performances(self) -> List[Dict]:
        root = Path(self.data_root)
        ann_dir = Path(self.ann_dir) if self.ann_dir else root / "Annotations"
        coarse_path, fine_path = ann_dir / COARSE_FILE, ann_dir / FINE_FILE
        split_path = ann_dir / f"{self.split}_split.pkl"
        coarse = _by_key(load_pickle(coarse_path), coarse_path)
        fine = _by_key(load_pickle(fine_path), fine_path)
        keys = load_pickle(split_path)
        if not isinstance(keys, (list, tuple)):
            raise ValueError(f"{split_path}: expected a list of (video name, instance) keys, "
                             f"got {type(keys).__name__}")
        perfs, seen = [], set()
        for i, raw in enumerate(keys):
            key = _key(raw, f"{split_path} item {i}")
            if key in seen:
                raise ValueError(f"{split_path}: key {key!r} is listed twice")
            seen.add(key)
            for path, table in ((coarse_path, coarse), (fine_path, fine)):
                if key not in table:
                    raise ValueError(f"{split_path}: key {key!r} is not in {path.name}")
            perfs.append(self._record(key, coarse[key], fine[key], coarse_path, fine_path, root))
        if not perfs:
            raise ValueError(f"{split_path}: the split lists no dives")
        return perfs

    def _record(self, key: tuple, c: Dict, f: Dict, coarse_path: Path, fine_path: Path,
                root: Path) -> Dict:
        score = _number(c, "dive_score", key, coarse_path)
        difficulty = _number(c, "difficulty", key, coarse_path)
        dive_number = str(c.get("action_type", f.get("action_type", "")))
        checks = (("dive_score", score), ("difficulty", difficulty))
        for field, value in checks:
            if field in f and not np.isclose(_number(f, field, key, fine_path), value):
                raise ValueError(f"{fine_path}: entry {key!r} has {field}={f[field]!r}, "
                                 f"{coarse_path.name} says {value!r}")
        if "action_type" in f and "action_type" in c and str(f["action_type"]) != dive_number:
            raise ValueError(f"{fine_path}: entry {key!r} has action_type {f['action_type']!r}, "
                             f"{coarse_path.name} says {dive_number!r}")
        judges = c.get("judge_scores", f.get("judge_scores"))
        video, instance = key
        perf_id = f"{video}/{instance}"
        return {
            "perf_id": perf_id, "group": perf_id, "performer": f"video {video}",
            "frame_dir": str(root / self.frame_pattern.format(video=video, instance=instance)),
            "frame_offset": 0, "num_frames": None, "fps": None,
            "label": -1, "score": score, "difficulty": difficulty, "dive_number": dive_number,
            "judge_scores": None if judges is None else [float(j) for j in np.asarray(judges).reshape(-1)],
            "start_frame": int(c["start_frame"]) if "start_frame" in c else None,
            "end_frame": int(c["end_frame"]) if "end_frame" in c else None,
            "steps_transit_frames": _ints(f["steps_transit_frames"]) if "steps_transit_frames" in f else None,
            "frame_labels": _ints(f["frames_labels"]) if "frames_labels" in f else None,
            "ann_source": f"{coarse_path.name} entry {key!r}",
        }
