"""Tiny test media, generated on the fly (nothing is checked in).

- :func:`make_video`: an mp4 whose frame ``i`` is a flat grey of level
  :func:`frame_level(i) <frame_level>` (so a decoded frame tells which frame it is, see
  :func:`frame_index_of`), with an optional audio track that is silent except for a tone
  starting at a chosen frame.
- :func:`make_wav`: the same audio as a wav file.
- :func:`make_ucf101_tree`: a UCF101-layout folder (class folders of clips and the
  official split files) with a few classes that differ in motion.
- :func:`make_synth_dataset`: a tiny rendered PISA-like dataset (:mod:`pisa.synth`).
"""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from pisa.io.media import write_video, write_wav
from pisa.io.numbered_media import (TONE_HZ, frame_index_of, frame_level,  # noqa: F401
                                    tone_audio, write_numbered_video)


def make_video(path, frames: int = 32, size: Tuple[int, int] = (64, 48), fps: float = 25.0,
               audio: bool = True, tone_at_frame: Optional[int] = None,
               sample_rate: int = 16000) -> Path:
    """Write an mp4 of ``frames`` numbered grey frames (:mod:`pisa.io.numbered_media`)."""
    return write_numbered_video(path, frames, size, fps, audio, tone_at_frame, sample_rate)


def decode_every_frame(path) -> np.ndarray:
    """Every frame of a video as RGB uint8 ``(N, H, W, 3)``, decoded in order with PyAV
    directly (a reference beside the framework's readers)."""
    import av

    with av.open(str(path)) as container:
        return np.stack([f.to_ndarray(format="rgb24") for f in container.decode(container.streams.video[0])])


def refuse_decoders(monkeypatch, why: str = "a decoder was called") -> None:
    """From now on any video or audio backend raises ``AssertionError(why)``."""
    from pisa.io.media import audio, video

    def refuse(*args, **kwargs):
        raise AssertionError(why)

    monkeypatch.setattr(video, "resolve_backend", refuse)
    monkeypatch.setattr(audio, "resolve_backend", refuse)


def make_wav(path, seconds: float = 1.0, sample_rate: int = 16000,
             tone_at: Optional[float] = None) -> Path:
    """Write a mono wav of ``seconds``: silence, then a 440 Hz tone from ``tone_at`` s on."""
    n = int(round(seconds * sample_rate))
    start = None if tone_at is None else int(round(tone_at * sample_rate))
    return write_wav(path, tone_audio(n, sample_rate, start), sample_rate)


def moving_square_clip(frames: int, size: Tuple[int, int], direction: Tuple[int, int],
                       colour: Sequence[int], seed: int = 0) -> np.ndarray:
    """uint8 ``(frames, H, W, 3)``: a square of ``colour`` moving by ``direction``
    pixels per frame (wrapping around) over a noisy grey background."""
    w, h = size
    rng = np.random.default_rng(seed)
    video = np.empty((frames, h, w, 3), dtype=np.uint8)
    background = rng.integers(60, 120, size=(h, w, 1), dtype=np.uint8).repeat(3, axis=2)
    side = max(4, min(w, h) // 4)
    x0, y0 = int(rng.integers(0, w)), int(rng.integers(0, h))
    ys = np.arange(h)[:, None]
    xs = np.arange(w)[None, :]
    for f in range(frames):
        x, y = (x0 + direction[0] * f) % w, (y0 + direction[1] * f) % h
        inside = (((xs - x) % w) < side) & (((ys - y) % h) < side)
        video[f] = background
        video[f][inside] = colour
    return video


#: UCF101 class names used by :func:`make_ucf101_tree` and the motion of each
UCF101_TOY_CLASSES: Dict[str, Tuple[Tuple[int, int], Tuple[int, int, int]]] = {
    "ApplyEyeMakeup": ((2, 0), (230, 60, 60)),
    "BabyCrawling": ((0, 2), (60, 230, 60)),
    "CliffDiving": ((-2, -2), (60, 60, 230)),
}


def make_ucf101_tree(root, groups: int = 3, clips_per_group: int = 1, frames: int = 24,
                     size: Tuple[int, int] = (40, 32), fps: float = 25.0,
                     classes: Optional[Sequence[str]] = None, test_groups: Sequence[int] = (1,),
                     ext: str = ".avi") -> Dict[str, List[str]]:
    """Write a UCF101-layout tree under ``root``: ``<root>/<Class>/v_<Class>_gXX_cYY<ext>``
    (H.264 in an mp4 container; decord reads it whatever the extension), ``classInd.txt``,
    and ``trainlist0{1,2,3}.txt`` / ``testlist0{1,2,3}.txt``. Groups in ``test_groups`` go
    to the test lists of every split. Returns ``{'train': [...], 'test': [...]}`` with the
    relative paths of split 1."""
    root = Path(root)
    classes = list(classes or UCF101_TOY_CLASSES)
    split: Dict[str, List[str]] = {"train": [], "test": []}
    for ci, name in enumerate(classes):
        direction, colour = UCF101_TOY_CLASSES.get(name, ((1, 1), (200, 200, 200)))
        for g in range(1, groups + 1):
            for c in range(1, clips_per_group + 1):
                rel = f"{name}/v_{name}_g{g:02d}_c{c:02d}{ext}"
                clip = moving_square_clip(frames, size, direction, colour, seed=ci * 1000 + g * 10 + c)
                write_video(root / rel, clip, fps)
                split["test" if g in test_groups else "train"].append(rel)
    index = {name: i + 1 for i, name in enumerate(classes)}
    (root / "classInd.txt").write_text("".join(f"{i} {n}\n" for n, i in index.items()))
    for s in (1, 2, 3):
        (root / f"trainlist0{s}.txt").write_text(
            "".join(f"{rel} {index[rel.split('/')[0]]}\n" for rel in split["train"]))
        (root / f"testlist0{s}.txt").write_text("".join(f"{rel}\n" for rel in split["test"]))
    return split


def make_synth_dataset(out_dir, performances: int = 4, seconds: float = 6.0, seed: int = 0,
                       size: Tuple[int, int] = (96, 72), fps: float = 30.0):
    """Render a tiny synthetic PISA-like dataset into ``out_dir`` (see
    :func:`pisa.synth.synthesize_dataset`); returns its performance-table rows."""
    from pisa.synth import SynthSettings, synthesize_dataset

    settings = SynthSettings(performances=performances, seed=seed, width=size[0], height=size[1],
                             seconds=seconds, fps=fps, sample_rate=16000)
    return synthesize_dataset(out_dir, settings)
