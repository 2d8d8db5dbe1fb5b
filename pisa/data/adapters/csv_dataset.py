"""A generic AQA dataset from one annotation file: :class:`AQACSVDataset`.

The file is a CSV (or JSON lines, ``.jsonl``: one object per line with the same keys),
one row per performance::

    id,split,video,audio,target,frame_start,frame_end,crop_x1,crop_y1,crop_x2,crop_y2,performer
    p001,train,videos/p001.mp4,,7,0,900,100,80,740,560,pianist_a
    p002,train,videos/p002.mp4,audio/p002.wav,4,,,,,,,pianist_b
    p003,test,videos/p003.mp4,,9,120,1020,,,,,pianist_c

Required: ``id`` (unique), ``split`` (any name: the dataset's ``split`` selects rows),
``video`` and ``target``. Optional: ``audio`` (a wav aligned with the video; empty: the
video's own track), ``frame_start`` / ``frame_end`` (source frames, end exclusive; empty:
the whole video), ``crop_x1..crop_y2`` (source pixels; empty: no crop), ``group`` (what
pooled metrics group by: rows of one performance; empty: the id), ``performer`` (who
performed, which a validation carve or a fold keeps on one side; empty: the group),
``fps`` (the video's frame rate, checked against the video's own; empty: the video's). Paths are relative to ``data_root``, which
defaults to the annotation file's folder (a relative ``ann_file`` is itself under
``data_root`` when that is given).

``task='level'``: ``target`` is an integer level ``1..num_classes``; label = level - 1,
score = float(label). ``task='score'``: ``target`` is a real score; label = -1.
"""
from __future__ import annotations

import csv
import math
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.io.jsonlines import iter_json_objects
from pisa.io.numbered_media import write_numbered_video
from pisa.registry import component

REQUIRED = ("id", "split", "video", "target")
CROP = ("crop_x1", "crop_y1", "crop_x2", "crop_y2")


def read_annotation_rows(path: Path) -> List[Tuple[str, Dict[str, Any]]]:
    """Rows of a ``.csv`` or ``.jsonl`` annotation file as ``(where, dict)`` pairs with
    string-or-None values; a missing required column raises an error naming the file."""
    if not path.is_file():
        raise FileNotFoundError(f"{path}: annotation file not found")
    rows = []
    if path.suffix == ".jsonl":
        rows = [(where, {k: None if v is None else str(v) for k, v in obj.items()})
                for where, obj in iter_json_objects(path)]
        for where, row in rows:
            missing = [c for c in REQUIRED if c not in row]
            if missing:
                raise ValueError(f"{where}: missing key(s) {', '.join(missing)}")
    else:
        with open(path, newline="") as f:
            reader = csv.DictReader(f)
            missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
            for line_no, row in enumerate(reader, start=2):
                rows.append((f"{path} line {line_no}", dict(row)))
    return rows


def _blank(value: Optional[str]) -> bool:
    return value is None or str(value).strip() == ""


def write_example_layout(root: str) -> Dict[str, Any]:
    """Three short numbered videos and their CSV rows (levels 3, 5, 8): the example's data."""
    rows = ["id,split,video,target,performer"]
    for i, level in enumerate((3, 5, 8)):
        write_numbered_video(Path(root) / "videos" / f"p{i}.mp4", frames=12, size=(32, 24),
                             audio=False)
        rows.append(f"p{i},train,videos/p{i}.mp4,{level},pianist_{i}")
    (Path(root) / "ann.csv").write_text("\n".join(rows) + "\n")
    return dict(ann_file=str(Path(root) / "ann.csv"))


@component("dataset")
class AQACSVDataset(AQABaseDataset):
    """Performances from a CSV / JSON-lines file (format in the module docstring).

    Args:
        ann_file: the annotation file; a relative path is under ``data_root`` when that is
            given, else under the current folder.
        split: the ``split`` value of the rows to use; with ``val_performances``,
            ``'val'`` is carved from the ``'train'`` rows instead (by ``group``, stratified
            by level, by ``performer``), so a file with only train and test rows has a
            validation split.
        task: ``'level'`` or ``'score'``.
        num_classes: levels are ``1..num_classes`` (task ``'level'``).
        data_root: folder of the relative paths (default: the annotation file's folder).
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset`; the default sampler is
        ``UniformSampler(num_clips=10, clip_len=16)``.
    """

    _carves_val = False
    example = dict(args=dict(split="train", modalities=("video",), pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="UniformSampler", num_clips=2, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, ann_file: str, split: str = "train", task: str = "level",
                 num_classes: int = 10, data_root: Optional[str] = None, **kwargs: Any) -> None:
        if task not in ("level", "score"):
            raise ValueError(f"AQACSVDataset: task must be 'level' or 'score', got {task!r}")
        # without a carve, split='val' reads the file's own 'val' rows
        self.task, self.num_classes = task, int(num_classes)
        self.ann_path = Path(ann_file)
        if data_root not in (None, "") and not self.ann_path.is_absolute():
            self.ann_path = Path(data_root) / self.ann_path  # as mmengine's BaseDataset joins it
        root = data_root if data_root not in (None, "") else str(self.ann_path.parent)
        kwargs.setdefault("metainfo", dict(num_classes=self.num_classes))
        super().__init__(data_root=root, split=split, **kwargs)
        self.ann_file = str(self.ann_path)

    def _target(self, value: Optional[str], where: str) -> tuple:
        try:
            target = float(value) if not _blank(value) else math.nan
        except ValueError:
            target = math.nan
        if not math.isfinite(target):
            raise ValueError(f"{where}: target {value!r} is not a number")
        if self.task == "score":
            return -1, target
        if target != int(target) or not 1 <= target <= self.num_classes:
            raise ValueError(f"{where}: level {value!r} is outside 1..{self.num_classes}")
        return int(target) - 1, float(int(target) - 1)

    def load_performances(self) -> List[Dict]:
        root = Path(self.data_root)
        perfs, seen = [], {}
        for where, row in read_annotation_rows(self.ann_path):
            pid = (row.get("id") or "").strip()
            if not pid:
                raise ValueError(f"{where}: empty id")
            if pid in seen:
                raise ValueError(f"{where}: duplicate id {pid!r} (first at {seen[pid]})")
            seen[pid] = where
            if (row.get("split") or "").strip() != self.split:
                continue
            if _blank(row.get("video")):
                raise ValueError(f"{where}: empty video path")
            label, score = self._target(row.get("target"), where)
            try:
                start = 0 if _blank(row.get("frame_start")) else int(float(row["frame_start"]))
                end = None if _blank(row.get("frame_end")) else int(float(row["frame_end"]))
                crop_values = [row.get(c) for c in CROP]
                crop = None if all(_blank(v) for v in crop_values) else tuple(int(float(v)) for v in crop_values)
            except (TypeError, ValueError):
                raise ValueError(f"{where}: frame_start/frame_end/crop values must be numbers "
                                 "(all four crop values, or none)") from None
            try:
                fps = None if _blank(row.get("fps")) else float(row["fps"])
            except ValueError:
                fps = math.nan
            if fps is not None and not (math.isfinite(fps) and fps > 0):
                raise ValueError(f"{where}: fps {row.get('fps')!r} is not a positive number")
            if start < 0 or (end is not None and end <= start):
                raise ValueError(f"{where}: frame range {start}..{end} is empty or negative")
            if crop is not None and (crop[2] <= crop[0] or crop[3] <= crop[1]):
                raise ValueError(f"{where}: crop box {crop} is inverted or empty (needs x1 < x2, y1 < y2)")
            perfs.append({
                "perf_id": pid, "video_path": str(root / row["video"].strip()),
                "audio_path": None if _blank(row.get("audio")) else str(root / row["audio"].strip()),
                "frame_offset": start, "num_frames": None if end is None else end - start,
                "fps": fps, "crop_box": crop, "label": label, "score": score,
                "group": pid if _blank(row.get("group")) else row["group"].strip(),
                # who performed: a validation carve or a fold keeps each on one side
                "performer": next((row[c].strip() for c in ("performer", "group")
                                   if not _blank(row.get(c))), pid),
                "ann_source": where,
            })
        return perfs
