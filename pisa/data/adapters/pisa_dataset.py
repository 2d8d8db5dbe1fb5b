"""The PISA dataset (piano skill assessment): the performance table, the released
annotation files, and :class:`PISADataset`.

The performance table (``pisa/resources/pisa_performances.csv``, one row per performance:
``id, split, fps, frame_start, frame_end, player_level, song_level, crop_x1..crop_y2,
source_video, youtube, song``) is the source of truth. ``frame_start``/``frame_end`` are
floats; the trimmed performance is source frames ``round(frame_start)`` up to (not
including) ``round(frame_end)``, so it has ``round(frame_end) - round(frame_start)``
frames. This reproduces the released sample counts exactly (992 samples).

Media layouts (``layout=``):

- ``'frames'``, the authors' download: ``<data_root>/<frames_dir>/<id>/*.jpg`` (sorted;
  the trimmed performance, already cropped) and ``<data_root>/<audio_dir>/<id>.wav`` (the
  trimmed performance's audio).
- ``'video'``: ``<data_root>/<id><video_ext>`` with an audio track, the source recording:
  frames are trimmed to the table's range and cropped with the table's box.
"""
from __future__ import annotations

import csv
import os
import pickle
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Union

import numpy as np

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.io.atomic import atomic_write
from pisa.io.numbered_media import write_numbered_video
from pisa.io.safe_load import load_pickle
from pisa.data.core.clip_samplers import ClipSampler, ContiguousSampler, UniformSampler
from pisa.registry import component

PathLike = Union[str, os.PathLike]
SCHEMES = ("unidist", "consecutive")
SPLITS = ("train", "test")
TABLE_COLUMNS = ("id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
                 "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video")
CLIPS, CLIP_LEN = 10, 16  # the released annotations: 10 clips of 16 frames per sample


def default_table_path() -> Path:
    """The shipped performance table."""
    from pisa.resources import resource_path

    return resource_path("pisa_performances.csv")


def read_performance_table(path: Optional[PathLike] = None) -> List[Dict[str, Any]]:
    """Read and check the performance table (default: the shipped one). Returns one dict
    per row with typed values (``crop`` a tuple of 4 ints). Errors name the file, the
    line and the column: missing column, duplicate id, level outside 1..10, bad number,
    unknown split, frame_end <= frame_start, inverted crop box."""
    path = Path(path) if path is not None else default_table_path()
    if not path.is_file():
        raise FileNotFoundError(f"{path}: performance table not found")
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        missing = [c for c in TABLE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise ValueError(f"{path}: missing column(s) {', '.join(missing)}")
        rows, seen = [], {}
        for line, raw in enumerate(reader, start=2):
            where = f"{path} line {line}"

            def num(col: str, kind: type = float) -> Any:
                value = (raw.get(col) or "").strip()
                try:
                    return kind(float(value)) if kind is int else kind(value)
                except ValueError:
                    raise ValueError(f"{where}: column {col!r} is {value!r}, not a number") from None

            row = {"id": num("id", int), "split": (raw["split"] or "").strip(), "fps": num("fps"),
                   "frame_start": num("frame_start"), "frame_end": num("frame_end"),
                   "player_level": num("player_level", int), "song_level": num("song_level", int),
                   "crop": tuple(num(f"crop_{c}", int) for c in ("x1", "y1", "x2", "y2")),
                   "source_video": num("source_video", int),
                   "song": (raw.get("song") or "").strip(), "youtube": (raw.get("youtube") or "").strip()}
            if row["id"] in seen:
                raise ValueError(f"{where}: duplicate id {row['id']} (first on line {seen[row['id']]})")
            seen[row["id"]] = line
            if row["split"] not in SPLITS:
                raise ValueError(f"{where}: split {row['split']!r} is not one of {SPLITS}")
            for col in ("player_level", "song_level"):
                if not 1 <= row[col] <= 10:
                    raise ValueError(f"{where}: {col} {row[col]} is outside 1..10")
            if row["fps"] <= 0:
                raise ValueError(f"{where}: fps {row['fps']} is not positive")
            if row["frame_end"] <= row["frame_start"] or row["frame_start"] < 0:
                raise ValueError(f"{where}: frame range {row['frame_start']}..{row['frame_end']} is empty or negative")
            x1, y1, x2, y2 = row["crop"]
            if x2 <= x1 or y2 <= y1:
                raise ValueError(f"{where}: crop box {row['crop']} is inverted or empty (needs x1 < x2, y1 < y2)")
            rows.append(row)
    if not rows:
        raise ValueError(f"{path}: the performance table has no rows")
    return rows


def performance_frames(row: Dict[str, Any]) -> tuple:
    """``(first source frame, number of frames)`` of a table row's trimmed performance."""
    start = int(round(row["frame_start"]))
    return start, int(round(row["frame_end"])) - start


def build_released_annotations(table: Sequence[Dict[str, Any]]) -> Dict[str, Dict[str, Dict]]:
    """Rebuild the released annotation dicts from the table:
    ``{scheme: {split: {(id, i): {'frames': int64 (160,), 'framerate': float,
    'player_level': 0..9, 'song_level': 0..9}}}}`` for ``scheme`` in ``unidist``,
    ``consecutive`` and ``split`` in ``train``, ``test``."""
    samplers = {"unidist": UniformSampler(CLIPS, CLIP_LEN), "consecutive": ContiguousSampler(CLIPS, CLIP_LEN)}
    out: Dict[str, Dict[str, Dict]] = {s: {p: {} for p in SPLITS} for s in SCHEMES}
    for row in sorted(table, key=lambda r: r["id"]):
        _, num = performance_frames(row)
        for scheme, sampler in samplers.items():
            for i, inds in enumerate(sampler(num)):
                out[scheme][row["split"]][(row["id"], i)] = {
                    "frames": inds.reshape(-1).astype(np.int64),
                    "framerate": float(row["fps"]),
                    "player_level": int(row["player_level"]) - 1,
                    "song_level": int(row["song_level"]) - 1,
                }
    return out


def released_file_name(scheme: str, split: str) -> str:
    return f"annotations_{scheme}_{split}.pkl"


def write_released_annotations(table: Sequence[Dict[str, Any]], out_dir: PathLike) -> List[Path]:
    """Write the four ``annotations_{scheme}_{split}.pkl`` files (pickle protocol 3, as
    released) built by :func:`build_released_annotations`; each written to a temporary
    file and renamed (:func:`pisa.io.atomic.atomic_write`). Returns the paths."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = []
    for scheme, splits in build_released_annotations(table).items():
        for split, data in splits.items():
            path = out_dir / released_file_name(scheme, split)
            atomic_write(path, pickle.dumps(data, protocol=3))
            paths.append(path)
    return paths


def read_released_annotations(ann_dir: PathLike, scheme: str, table: Sequence[Dict[str, Any]]) -> Dict[int, List]:
    """Both splits of a released scheme, through the safe unpickler, checked against the
    table. Returns ``{id: [(sample_index, frames (160,), player_level, song_level)]}``."""
    if scheme not in SCHEMES:
        raise ValueError(f"scheme must be one of {SCHEMES}, got {scheme!r}")
    by_id = {row["id"]: row for row in table}
    out: Dict[int, List] = {}
    for split in SPLITS:
        path = Path(ann_dir) / released_file_name(scheme, split)
        data = load_pickle(path)
        if not isinstance(data, dict):
            raise ValueError(f"{path}: expected a dict keyed by (performance_id, sample_index)")
        for key, value in data.items():
            if not (isinstance(key, tuple) and len(key) == 2):
                raise ValueError(f"{path}: key {key!r} is not (performance_id, sample_index)")
            pid, idx = int(key[0]), int(key[1])
            if pid not in by_id:
                raise ValueError(f"{path}: key {key!r} names performance {pid}, not in the table")
            try:
                frames = np.asarray(value["frames"], dtype=np.int64).reshape(-1)
                levels = int(value["player_level"]), int(value["song_level"])
            except (KeyError, TypeError) as err:
                raise ValueError(f"{path}: entry {key!r} lacks frames/player_level/song_level ({err})") from None
            if frames.size != CLIPS * CLIP_LEN:
                raise ValueError(f"{path}: entry {key!r} has {frames.size} frames, expected {CLIPS * CLIP_LEN}")
            row = by_id[pid]
            if levels != (row["player_level"] - 1, row["song_level"] - 1):
                raise ValueError(f"{path}: entry {key!r} levels {levels} disagree with the table "
                                 f"(player {row['player_level']}, song {row['song_level']}, 1-based)")
            out.setdefault(pid, []).append((idx, frames, levels[0], levels[1]))
    for samples in out.values():
        samples.sort(key=lambda s: s[0])
    return out


def assign_splits(table: Sequence[Dict[str, Any]], split_mode: str = "released", seed: int = 0,
                  test_fraction: Optional[float] = None) -> Dict[int, str]:
    """Performance id -> ``'train'`` or ``'test'``.

    ``split_mode='released'`` keeps the table's split; ``'performer_disjoint'`` re-splits
    by ``source_video`` (one pianist per source video): whole source videos, shuffled with
    ``seed``, go to test until ``test_fraction`` of the performances (default: the
    released share) are there. A validation split is carved from train by the dataset
    (``val_performances``, :mod:`pisa.data.core.splits`), by source video too."""
    if split_mode == "released":
        return {r["id"]: r["split"] for r in table}
    if split_mode != "performer_disjoint":
        raise ValueError(f"split_mode must be 'released' or 'performer_disjoint', got {split_mode!r}")
    rng = np.random.default_rng(seed)
    unit = {r["id"]: r["source_video"] for r in table}
    if test_fraction is None:
        test_fraction = sum(r["split"] == "test" for r in table) / len(table)
    groups = sorted(set(unit.values()))
    rng.shuffle(groups)
    target, test_groups, count = round(test_fraction * len(table)), set(), 0
    for g in groups:
        if count >= target:
            break
        test_groups.add(g)
        count += sum(unit[r["id"]] == g for r in table)
    return {r["id"]: "test" if unit[r["id"]] in test_groups else "train" for r in table}


def write_example_layout(root: str) -> Dict[str, Any]:
    """Two training performances and one test performance in the ``'video'`` layout (short
    numbered videos) with their performance table: the example's data."""
    lines = [",".join(TABLE_COLUMNS)]
    for pid, split, level in ((1, "train", 3), (2, "train", 6), (3, "test", 8)):
        write_numbered_video(Path(root) / f"{pid}.mp4", frames=20, size=(32, 24), audio=False)
        lines.append(f"{pid},{split},25,2,18,{level},{level},0,0,32,24,{pid}")
    (Path(root) / "table.csv").write_text("\n".join(lines) + "\n")
    return dict(data_root=str(root), table=str(Path(root) / "table.csv"))


@component("dataset")
class PISADataset(AQABaseDataset):
    """The PISA dataset: one sample = ``K`` clips of ``T`` frames from one performance.

    Args:
        data_root: the media folder (see the module docstring for ``layout``).
        layout: ``'video'`` or ``'frames'``.
        split: ``'train'``, ``'val'`` (needs ``val_performances``) or ``'test'``.
        scheme: ``'unidist'`` or ``'consecutive'``: the released sampling scheme.
        ann_dir: folder with the released ``annotations_{scheme}_{split}.pkl`` files;
            without it the samples are derived from the table with the sampler.
        table: the performance table CSV (default: the shipped one).
        label: ``'player'`` (default) or ``'song'`` level; label = level - 1.
        split_mode, test_fraction: see :func:`assign_splits` (seeded by ``split_seed``).
        val_performances, split_seed: the validation carve, by source video
            (:class:`pisa.data.core.base_dataset.AQABaseDataset`).
        frames_dir, audio_dir, video_ext: media names under ``data_root``.
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset`.
    """

    example = dict(args=dict(split="train", modalities=("video",), pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="UniformSampler", num_clips=2, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, data_root: str = "", layout: str = "video", split: str = "train",
                 scheme: str = "unidist", ann_dir: Optional[str] = None, table: Optional[str] = None,
                 label: str = "player", split_mode: str = "released",
                 val_performances: Union[None, int, float] = None, split_seed: int = 0,
                 test_fraction: Optional[float] = None, frames_dir: str = "frames",
                 audio_dir: str = "audio", video_ext: str = ".mp4", **kwargs: Any) -> None:
        if layout not in ("video", "frames"):
            raise ValueError(f"PISADataset: layout must be 'video' or 'frames', got {layout!r}")
        if split not in ("train", "val", "test"):
            raise ValueError(f"PISADataset: split must be 'train', 'val' or 'test', got {split!r}")
        if label not in ("player", "song"):
            raise ValueError(f"PISADataset: label must be 'player' or 'song', got {label!r}")
        if scheme not in SCHEMES:
            raise ValueError(f"PISADataset: scheme must be one of {SCHEMES}, got {scheme!r}")
        self.layout, self.scheme, self.label = layout, scheme, label
        self.ann_dir, self.table_path = ann_dir, table
        self.split_args = dict(split_mode=split_mode, seed=split_seed, test_fraction=test_fraction)
        self.frames_dir, self.audio_dir, self.video_ext = frames_dir, audio_dir, video_ext
        super().__init__(data_root=data_root, split=split, val_performances=val_performances,
                         split_seed=split_seed, **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        cls = UniformSampler if getattr(self, "scheme", "unidist") == "unidist" else ContiguousSampler
        return cls(num_clips=CLIPS, clip_len=CLIP_LEN)

    def load_performances(self) -> List[Dict]:
        table = read_performance_table(self.table_path)
        table_name = Path(self.table_path).name if self.table_path else "pisa_performances.csv"
        splits = assign_splits(table, **self.split_args)
        released = read_released_annotations(self.ann_dir, self.scheme, table) if self.ann_dir else None
        root = Path(self.data_root)
        perfs = []
        for row in table:
            if splits[row["id"]] != self.split:
                continue
            pid = row["id"]
            level = row["player_level"] if self.label == "player" else row["song_level"]
            start, num = performance_frames(row)
            perf = {"perf_id": str(pid), "fps": float(row["fps"]), "num_frames": num,
                    "label": level - 1, "score": float(level - 1), "group": str(pid),
                    "performer": f"source video {row['source_video']}",
                    "ann_source": f"{table_name} id {pid}"}
            if self.layout == "frames":
                perf.update(frame_dir=str(root / self.frames_dir / str(pid)), frame_offset=0,
                            audio_path=str(root / self.audio_dir / f"{pid}.wav"), crop_box=None)
            else:
                perf.update(video_path=str(root / f"{pid}{self.video_ext}"), frame_offset=start,
                            crop_box=row["crop"])
            if released is not None:
                entries = released.get(pid, [])
                if not entries:
                    continue  # the released files hold no sample of a too-short performance
                perf["samples"] = np.stack([e[1].reshape(CLIPS, CLIP_LEN) for e in entries])
                perf["sample_indices"] = [e[0] for e in entries]
            perfs.append(perf)
        return perfs
