"""The MTL-AQA diving dataset: :class:`MTLAQADataset`.

Annotations (read through the safe unpickler):

- ``final_annotations_dict.pkl`` (``annotation_file``): ``{(video_no, dive_no):
  {'start_frame', 'end_frame', 'final_score', 'difficulty', 'judge_scores', ...}}``;
  frames are 0-based source frames of the video, ``end_frame`` inclusive. ``difficulty``
  (the dive's degree of difficulty) and ``judge_scores`` (the seven judges' scores; in
  the augmented annotations of the USDL/MUSDL and CoRe releases) are optional: each
  record carries them (``None`` when absent), for ``PackAQAInputs(meta_keys=...)`` and
  :class:`~pisa.data.wrappers.pairs.ExemplarDataset`'s ``same``.
- ``train_split_0.pkl`` / ``test_split_0.pkl``: lists of ``(video_no, dive_no)`` keys.

Videos: one per ``video_no``, ``<data_root>/<video_no:02d>.mp4`` (the competition
recording); each dive is trimmed from it by its frame range. The task is the score: the
target is ``final_score`` (label -1). One sample per dive, drawn with the sampler
(default ``CenterClipSampler``; use ``RandomClipSampler`` for training).
"""
from __future__ import annotations

from pathlib import Path
import pickle
from typing import Any, Dict, List, Optional, Sequence, Tuple

import numpy as np

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.io.numbered_media import write_numbered_video
from pisa.io.safe_load import load_pickle
from pisa.data.core.clip_samplers import CenterClipSampler, ClipSampler
from pisa.registry import component


#: one dive: difficulty, final score, judge scores (or None)
Dive = Tuple[float, float, Optional[Sequence[float]]]


# -- the released layout, written (examples and tests) -------------------------------------
def write_released_layout(root: Path, train: Sequence[Dive], test: Sequence[Dive],
                          annotation_files: Sequence[str] = ("final_annotations_dict.pkl",),
                          dive_frames: int = 4) -> Dict:
    """The released layout in little (numbered frames, :mod:`pisa.io.numbered_media`) for
    dives ``(difficulty, final score, judge scores or None)``: dive ``i`` (train dives
    first) is key ``(i + 1, 1)``, ``dive_frames`` frames from ``dive_frames * i`` of its own
    video ``<i + 1:02d>.mp4`` (so its frames tell which dive it is, and each dive has its
    own performer), with the annotation pickle(s) and the split lists. Returns the
    annotations."""
    dives = list(train) + list(test)
    annotations = {}
    for i, (difficulty, score, judges) in enumerate(dives):
        write_numbered_video(root / f"{i + 1:02d}.mp4", frames=dive_frames * (i + 1),
                             size=(32, 24), audio=False)
        ann = {"start_frame": dive_frames * i, "end_frame": dive_frames * i + dive_frames - 1,
               "final_score": float(score), "difficulty": float(difficulty)}
        if judges is not None:
            ann["judge_scores"] = np.asarray(judges, dtype=np.float64)
        annotations[(i + 1, 1)] = ann
    files = {name: annotations for name in annotation_files}
    files["train_split_0.pkl"] = [(i + 1, 1) for i in range(len(train))]
    files["test_split_0.pkl"] = [(len(train) + i + 1, 1) for i in range(len(test))]
    for name, obj in files.items():
        (root / name).write_bytes(pickle.dumps(obj, protocol=3))
    return annotations


def write_example_layout(root: str) -> Dict[str, Any]:
    """Three training dives and one test dive: the example's data."""
    write_released_layout(Path(root), [(2.0, 40.0, None), (3.0, 60.0, None), (3.0, 66.0, None)],
                          [(2.0, 44.0, None)])
    return dict(data_root=str(root))


@component("dataset")
class MTLAQADataset(AQABaseDataset):
    """MTL-AQA dives (see the module docstring for the files).

    Args:
        data_root: folder of the videos.
        ann_dir: folder of the annotation pickles (default: ``data_root``).
        split: ``'train'`` or ``'test'`` (reads ``<split>_split_<split_index>.pkl``), or ``'val'``
            carved from train with ``val_performances`` (grouped by video: a dive's
            performer is its competition video here).
        video_pattern: video file of a ``video_no`` (default ``'{video_no:02d}.mp4'``).
        annotation_file: the annotation pickle in ``ann_dir`` (default
            ``'final_annotations_dict.pkl'``; e.g. ``'augmented_final_annotations_dict.pkl'``).
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset`.
    """

    METAINFO: dict = dict(num_classes=0)
    example = dict(args=dict(split="train", pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="CenterClipSampler", num_clips=1, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, data_root: str = "", ann_dir: Optional[str] = None, split: str = "train",
                 split_index: int = 0, video_pattern: str = "{video_no:02d}.mp4",
                 modalities: tuple = ("video",),
                 annotation_file: str = "final_annotations_dict.pkl", **kwargs: Any) -> None:
        if split not in ("train", "val", "test"):
            raise ValueError(f"MTLAQADataset: split must be 'train', 'val' (with val_performances) "
                             f"or 'test', got {split!r}")
        self.split_index, self.video_pattern = int(split_index), video_pattern
        self.ann_dir, self.annotation_file = ann_dir, annotation_file
        super().__init__(data_root=data_root, split=split, modalities=modalities, **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        return CenterClipSampler(num_clips=1, clip_len=16)

    def load_performances(self) -> List[Dict]:
        ann_dir = Path(self.ann_dir or self.data_root)
        ann_path = ann_dir / self.annotation_file
        split_path = ann_dir / f"{self.split}_split_{self.split_index}.pkl"
        annotations = load_pickle(ann_path)
        keys = load_pickle(split_path)
        if not isinstance(annotations, dict):
            raise ValueError(f"{ann_path}: expected a dict keyed by (video_no, dive_no)")
        if not isinstance(keys, (list, tuple)):
            raise ValueError(f"{split_path}: expected a list of (video_no, dive_no) keys")
        perfs, seen = [], set()
        for key in keys:
            key = tuple(key) if isinstance(key, (list, tuple)) else key
            if key in seen:
                raise ValueError(f"{split_path}: duplicate key {key!r}")
            seen.add(key)
            if key not in annotations:
                raise ValueError(f"{split_path}: key {key!r} is not in {ann_path.name}")
            ann = annotations[key]
            try:
                start, end = int(ann["start_frame"]), int(ann["end_frame"])
                score = float(ann["final_score"])
            except (KeyError, TypeError, ValueError) as err:
                raise ValueError(f"{ann_path}: entry {key!r} needs numeric start_frame, end_frame, "
                                 f"final_score ({type(err).__name__}: {err})") from None
            if end < start or start < 0:
                raise ValueError(f"{ann_path}: entry {key!r} has frame range {start}..{end}")
            difficulty, judges = ann.get("difficulty"), ann.get("judge_scores")
            try:
                difficulty = None if difficulty is None else float(difficulty)
                judges = None if judges is None else [float(j) for j in judges]
            except (TypeError, ValueError) as err:
                raise ValueError(f"{ann_path}: entry {key!r}: difficulty must be a number and "
                                 f"judge_scores a list of numbers ({type(err).__name__}: {err})") from None
            video_no, dive_no = key
            perfs.append({
                "perf_id": f"{int(video_no):02d}_{int(dive_no)}",
                "video_path": str(Path(self.data_root) / self.video_pattern.format(video_no=int(video_no))),
                "frame_offset": start, "num_frames": end - start + 1, "fps": None,
                "label": -1, "score": score, "group": f"{int(video_no):02d}_{int(dive_no)}",
                "performer": f"video {int(video_no):02d}",
                "difficulty": difficulty, "judge_scores": judges,
                "ann_source": f"{ann_path.name} entry {key!r}",
            })
        return perfs
