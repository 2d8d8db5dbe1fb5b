"""UCF101 for pretraining the video backbone: :class:`UCF101Dataset`, and the spatial
crops its pipelines use (:class:`RandomCrop` for training, :class:`CenterCrop` for testing).

The dataset reads the official split files as they come in ``ucfTrainTestlist``::

    classInd.txt        "1 ApplyEyeMakeup"  (1-based class index, class name)
    trainlist01.txt     "ApplyEyeMakeup/v_ApplyEyeMakeup_g08_c01.avi 1"
    testlist01.txt      "ApplyEyeMakeup/v_ApplyEyeMakeup_g01_c01.avi"

with the videos under ``<data_root>/<ClassName>/v_<ClassName>_gXX_cYY.avi``. The split
files may sit in ``data_root`` or in another folder (``split_dir``). Each video is one
sample of ``K`` clips of ``T`` frames: a random clip in training, the centre clip in
testing (the dataset's default samplers), packed as the AQA sample contract says, with
``label`` = class index - 1 and ``group`` = the video's group (``ClassName_gXX``: clips of
one group come from one long recording).
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

from pisa.data.core.base_dataset import EXAMPLE_PIPELINE, AQABaseDataset
from pisa.data.core.clip_samplers import CenterClipSampler, ClipSampler, RandomClipSampler
from pisa.io.numbered_media import write_numbered_video
from pisa.registry import component

SPLITS = (1, 2, 3)
_GROUP = re.compile(r"^v_(?P<group>.+_g\d+)_c\d+$")


def read_class_index(path: Union[str, os.PathLike]) -> Dict[str, int]:
    """``classInd.txt`` -> ``{class name: 1-based index}``. Errors name the file and line:
    missing file, a line that is not ``<index> <name>``, a repeated name or index."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: UCF101 class index file not found")
    classes: Dict[str, int] = {}
    seen: Dict[int, int] = {}
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2 or not parts[0].isdigit():
            raise ValueError(f"{path} line {line_no}: expected '<index> <ClassName>', got {line.strip()!r}")
        index, name = int(parts[0]), parts[1]
        if name in classes or index in seen:
            raise ValueError(f"{path} line {line_no}: class {name!r} / index {index} appears twice")
        classes[name], seen[index] = index, line_no
    if not classes:
        raise ValueError(f"{path}: no classes")
    if sorted(seen) != list(range(1, len(seen) + 1)):
        raise ValueError(f"{path}: class indices must be 1..{len(seen)}, got {sorted(seen)[:5]}...")
    return classes


def read_split_list(path: Union[str, os.PathLike], classes: Dict[str, int]) -> List[Tuple[str, int, str]]:
    """A ``trainlist0N.txt`` / ``testlist0N.txt`` -> ``[(relative video path, 0-based
    label, where)]``. The class comes from the path's folder; a label given on the line
    must agree with ``classes``. Errors name the file and line."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: UCF101 split file not found")
    out = []
    for line_no, line in enumerate(path.read_text().splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{path} line {line_no}"
        parts = line.split()
        if len(parts) not in (1, 2) or "/" not in parts[0]:
            raise ValueError(f"{where}: expected '<Class>/<video> [<index>]', got {line.strip()!r}")
        rel = parts[0]
        name = rel.split("/", 1)[0]
        if name not in classes:
            raise ValueError(f"{where}: class {name!r} is not in the class index "
                             f"({len(classes)} classes)")
        if len(parts) == 2 and (not parts[1].isdigit() or int(parts[1]) != classes[name]):
            raise ValueError(f"{where}: label {parts[1]!r} disagrees with the class index "
                             f"({name} is {classes[name]})")
        out.append((rel, classes[name] - 1, where))
    if not out:
        raise ValueError(f"{path}: the split file lists no videos")
    return out


def write_example_layout(root: str) -> Dict[str, Any]:
    """Two classes of two groups each (group 1 the test list's) in the official layout,
    short numbered videos: the example's data."""
    root_path = Path(root)
    train, test = [], []
    for index, name in enumerate(("ApplyEyeMakeup", "BabyCrawling"), start=1):
        for group in (1, 2, 3):
            rel = f"{name}/v_{name}_g{group:02d}_c01.avi"
            write_numbered_video(root_path / rel, frames=8, size=(32, 24), audio=False)
            (test if group == 1 else train).append((rel, index))
    (root_path / "classInd.txt").write_text("1 ApplyEyeMakeup\n2 BabyCrawling\n")
    for split in SPLITS:
        (root_path / f"trainlist0{split}.txt").write_text("".join(f"{r} {i}\n" for r, i in train))
        (root_path / f"testlist0{split}.txt").write_text("".join(f"{r}\n" for r, _ in test))
    return dict(data_root=str(root))


@component("dataset")
class UCF101Dataset(AQABaseDataset):
    """UCF101 action recognition, one sample per video (see the module docstring).

    Args:
        data_root: folder holding the class folders.
        split: the official split, 1, 2 or 3.
        subset: ``'train'`` or ``'test'`` (which list of the split to read).
        split_dir: folder of ``classInd.txt`` and the lists (default: ``data_root``).
        clip_sampler: clip sampler; default one 16-frame clip per video, at random in
            training (``RandomClipSampler``) and from the centre in testing
            (``CenterClipSampler``, with ``test_mode=True``).
        Other arguments: :class:`pisa.data.core.base_dataset.AQABaseDataset` (modalities default to
        video only; ``on_bad_sample='skip'`` drops missing or unreadable videos with a
        warning).
    """

    example = dict(args=dict(split=1, subset="train", pipeline=EXAMPLE_PIPELINE,
                             clip_sampler=dict(type="CenterClipSampler", num_clips=1, clip_len=4)),
                   make_data=write_example_layout)

    def __init__(self, data_root: str, split: int = 1, subset: str = "train",
                 split_dir: Optional[str] = None, modalities: Sequence[str] = ("video",),
                 test_mode: bool = False, **kwargs: Any) -> None:
        if int(split) not in SPLITS:
            raise ValueError(f"UCF101Dataset: split must be 1, 2 or 3, got {split!r}")
        if subset not in ("train", "test"):
            raise ValueError(f"UCF101Dataset: subset must be 'train' or 'test', got {subset!r}")
        if "audio" in modalities:
            raise ValueError("UCF101Dataset: only the 'video' modality (many UCF101 videos have no audio)")
        self.official_split, self.subset, self._test = int(split), subset, bool(test_mode)
        self.split_dir = Path(split_dir or data_root)
        self.classes = read_class_index(self.split_dir / "classInd.txt")
        kwargs.setdefault("metainfo", dict(num_classes=len(self.classes),
                                           classes=tuple(sorted(self.classes, key=self.classes.get))))
        super().__init__(data_root=data_root, split=subset, modalities=modalities, test_mode=test_mode,
                         **kwargs)

    def default_clip_sampler(self) -> ClipSampler:
        return CenterClipSampler(1, 16) if self._test else RandomClipSampler(1, 16)

    def load_performances(self) -> List[Dict]:
        root = Path(self.data_root)
        list_file = self.split_dir / f"{self.subset}list0{self.official_split}.txt"
        perfs = []
        for rel, label, where in read_split_list(list_file, self.classes):
            video = root / rel
            if not video.is_file():
                self._bad(FileNotFoundError(f"{where}: video {video} not found"))
                continue
            stem = Path(rel).stem
            match = _GROUP.match(stem)
            perfs.append({
                "perf_id": stem, "video_path": str(video), "label": label, "score": float(label),
                "group": match.group("group") if match else stem, "ann_source": where,
            })
        return perfs


@component("transform")
class RandomCrop:
    """Crop every frame of the sample at one random ``size = (h, w)`` window (the same for
    all clips and frames). Reads and replaces ``imgs`` ``(K, T, H, W, 3)``; adds
    ``crop_offset`` ``(y, x)``. Frames smaller than ``size`` raise an error naming the
    sample."""

    example = dict(args=dict(size=8),
                   input=lambda: {"imgs": np.zeros((1, 2, 12, 14, 3), np.uint8), "sample_id": "example"},
                   adds=("imgs", "crop_offset"))

    def __init__(self, size: Union[int, Sequence[int]] = 112) -> None:
        self.size = (int(size), int(size)) if isinstance(size, int) else (int(size[0]), int(size[1]))

    def _offset(self, h: int, w: int) -> Tuple[int, int]:
        return int(np.random.randint(0, h - self.size[0] + 1)), int(np.random.randint(0, w - self.size[1] + 1))

    def __call__(self, results: Dict) -> Dict:
        imgs = results["imgs"]
        h, w = imgs.shape[2:4]
        if h < self.size[0] or w < self.size[1]:
            raise ValueError(f"sample {results.get('sample_id')} ({results.get('video_path')}): "
                             f"frames are {h}x{w}, smaller than the {self.size[0]}x{self.size[1]} crop")
        y, x = self._offset(h, w)
        results["imgs"] = np.ascontiguousarray(imgs[:, :, y:y + self.size[0], x:x + self.size[1]])
        results["crop_offset"] = (y, x)
        return results

    def __repr__(self) -> str:
        return f"{type(self).__name__}(size={self.size})"


@component("transform")
class CenterCrop(RandomCrop):
    """:class:`RandomCrop` at the centre of the frame (testing)."""

    example = dict(args=dict(size=(8, 10)),
                   input=lambda: {"imgs": np.zeros((1, 2, 12, 14, 3), np.uint8), "sample_id": "example"},
                   adds=("imgs", "crop_offset"))

    def _offset(self, h: int, w: int) -> Tuple[int, int]:
        return (h - self.size[0]) // 2, (w - self.size[1]) // 2

