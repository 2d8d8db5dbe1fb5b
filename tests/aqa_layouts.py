"""Tiny AQA-7, FineDiving and JIGSAWS trees in their released layouts, made on the fly
(nothing is checked in): frame folders of flat grey jpgs (frame ``i`` has grey level
``media.frame_level(i)``, so a decoded frame tells which one it is), videos from
``media.make_video``, the ``.mat`` split files written with ``scipy.io.savemat`` and the
annotation pickles with the structure the releases have (numpy arrays included)."""
from __future__ import annotations

import pickle
from pathlib import Path
from typing import Callable, Dict, List, Sequence, Tuple

import numpy as np

from media import frame_level, make_video


def write_frame_folder(folder: Path, frames: int, first: int = 1, pattern: str = "img_{:05d}.jpg",
                       size: Tuple[int, int] = (24, 20)) -> List[Path]:
    """``frames`` flat grey jpgs ``size = (W, H)`` named ``pattern.format(first + i)``; frame
    ``i`` has grey level ``frame_level(i)``."""
    import cv2

    folder.mkdir(parents=True, exist_ok=True)
    w, h = size
    paths = []
    for i in range(frames):
        path = folder / pattern.format(first + i)
        assert cv2.imwrite(str(path), np.full((h, w, 3), frame_level(i), dtype=np.uint8))
        paths.append(path)
    return paths


# -- AQA-7 ------------------------------------------------------------------------------
AQA7_ACTIONS = ("diving", "gym_vault", "ski_big_air", "snowboard_big_air", "sync_diving_3m",
                "sync_diving_10m")


def make_aqa7_root(root: Path, actions: Dict[str, Tuple[Sequence[float], Sequence[float]]],
                   frames: int = 12, extra_rows: Sequence[Sequence[float]] = ()) -> Dict[str, np.ndarray]:
    """``<root>/<action>-out/<NNN>/img_XXXXX.jpg`` and ``<root>/Split_4/split_4_{train,test}_list.mat``
    for ``actions = {name: (train scores, test scores)}``; samples are numbered 1.. per
    action (train first). ``extra_rows`` are appended to the train list as they are (e.g.
    a trampoline row, class 7). Returns the two matrices."""
    from scipy.io import savemat

    rows: Dict[str, List[List[float]]] = {"train": [], "test": []}
    for name, (train, test) in actions.items():
        cls = AQA7_ACTIONS.index(name) + 1
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


# -- FineDiving -------------------------------------------------------------------------
def finediving_entries(video: str, instance: int, start: int, frames: int, score: float,
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


def make_finediving_root(root: Path, dives: Sequence[Tuple[str, int, str, float, float, str]],
                         frames: int = 12, protocol: int = 4) -> Dict[str, List[Tuple[str, int]]]:
    """``<root>/<video>/<instance>/<frame:05d>.jpg`` (source frame numbers from 100 *
    (instance + 1)) and ``<root>/Annotations/`` with the coarse and fine-grained pickles
    and ``train_split.pkl`` / ``test_split.pkl``, for ``dives = [(video, instance, split,
    score, difficulty, dive number)]``. Returns the split lists."""
    coarse, fine = {}, {}
    splits: Dict[str, List[Tuple[str, int]]] = {"train": [], "test": []}
    for video, instance, split, score, difficulty, dive in dives:
        start = 100 * (instance + 1)
        write_frame_folder(root / video / str(instance), frames, first=start, pattern="{:05d}.jpg")
        coarse[(video, instance)], fine[(video, instance)] = finediving_entries(
            video, instance, start, frames, score, difficulty, dive)
        splits[split].append((video, instance))
    ann = root / "Annotations"
    ann.mkdir(parents=True, exist_ok=True)
    for name, obj in (("FineDiving_coarse_annotation.pkl", coarse),
                      ("FineDiving_fine-grained_annotation.pkl", fine),
                      ("train_split.pkl", splits["train"]), ("test_split.pkl", splits["test"])):
        (ann / name).write_bytes(pickle.dumps(obj, protocol=protocol))
    return splits


# -- JIGSAWS ----------------------------------------------------------------------------
def jigsaws_items(grs: int) -> List[int]:
    """Six GRS items of 1..5 summing to ``grs`` (6..30)."""
    items = [1] * 6
    rest = grs - 6
    for i in range(6):
        step = min(4, rest)
        items[i] += step
        rest -= step
    return items


def make_jigsaws_root(root: Path, task: str, trials: Sequence[Tuple[str, int, str, int]],
                      frames: int = 24) -> List[str]:
    """``<root>/<task>/meta_file_<task>.txt`` (the release's tab layout, doubled tabs
    included) and ``<root>/<task>/video/<trial>_capture1.avi`` for ``trials = [(user
    letter, trial number, skill level, GRS)]``. Returns the trial names."""
    folder = root / task
    lines, names = [], []
    for user, number, level, grs in trials:
        name = f"{task}_{user}{number:03d}"
        items = jigsaws_items(grs)
        lines.append(f"{name}\t\t{level}\t{grs}\t\t" + "\t".join(str(v) for v in items))
        make_video(folder / "video" / f"{name}_capture1.avi", frames=frames, size=(32, 24),
                   audio=False)
        names.append(name)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"meta_file_{task}.txt").write_text("\n".join(lines) + "\n")
    return names


def make_score_roots(mktemp: Callable[[str], Path], actions: Sequence[str] = ("diving",),
                     frames: int = 16) -> Dict[str, Path]:
    """Small AQA-7 (the given ``actions``), FineDiving and JIGSAWS Suturing roots in their
    released layouts, made in folders from ``mktemp(name)``; ``{'aqa7', 'finediving',
    'jigsaws'} -> root``. Two difficulties with two training dives each (pairs of the same
    difficulty exist), five surgeons with two trials each (folds by surgeon)."""
    roots = {name: Path(mktemp(name)) for name in ("aqa7", "finediving", "jigsaws")}
    make_aqa7_root(roots["aqa7"], {a: ([30.0, 50.0, 70.0, 90.0], [40.0, 80.0]) for a in actions},
                   frames=frames)
    make_finediving_root(roots["finediving"], [
        ("v1", i, split, score, difficulty, "107B") for i, (split, score, difficulty) in enumerate(
            [("train", 60.0, 2.0), ("train", 66.0, 2.0), ("train", 75.0, 3.0), ("train", 81.0, 3.0),
             ("test", 63.0, 2.0), ("test", 78.0, 3.0)])], frames=frames)
    make_jigsaws_root(roots["jigsaws"], "Suturing", [
        (user, n, "N", 10 + 2 * i + n) for i, user in enumerate("BCDEF") for n in (1, 2)], frames=16)
    return roots
