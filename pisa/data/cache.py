"""The prepared cache: each performance decoded once, cropped and resized to the training
size, stored as memory-mappable ``.npy`` files, so that training reads samples with
``np.load(mmap_mode='r')`` and never runs a decoder.

An entry is a folder ``<cache_dir>/<key>/`` holding ``frames.npy`` (uint8
``(F, H, W, 3)``, the trimmed performance), ``audio.npy`` (float32 ``(S,)``, mono, at the
pipeline's rate, starting at the performance's first frame; only when audio is used) and
``meta.json`` (``num_frames``, ``fps``, the settings). ``key`` hashes the source files'
paths, sizes and modification times and the preprocessing settings, so a changed source
or setting gives a new key and the old entry is no longer read. An entry is written in a
temporary folder that is renamed into place when complete: an interrupted prepare leaves
no folder under an entry's name.
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple, Union

import numpy as np

from pisa.data import audio as audio_lib
from pisa.data.transforms import (audio_offset, check_crop_box, crop_resize, list_frame_files,
                                  open_video, read_frame_files)

PathLike = Union[str, os.PathLike]
CACHE_VERSION = 1


def _stat(path: str) -> List[Any]:
    st = os.stat(path)
    return [os.path.abspath(path), st.st_size, st.st_mtime_ns]


def source_fingerprint(perf: Dict) -> List[Any]:
    """Path, size and mtime of every source file the performance is read from."""
    parts: List[Any] = []
    if perf.get("video_path"):
        parts.append(_stat(perf["video_path"]))
    else:
        parts.extend(_stat(f) for f in list_frame_files(perf["frame_dir"]))
    if perf.get("audio_path"):
        parts.append(_stat(perf["audio_path"]))
    return parts


def entry_key(perf: Dict, size: Tuple[int, int], sample_rate: Optional[int]) -> str:
    """Hash of the performance's sources and its preprocessing settings."""
    settings = {
        "version": CACHE_VERSION,
        "sources": source_fingerprint(perf),
        "crop_box": None if perf.get("crop_box") is None else [float(v) for v in perf["crop_box"]],
        "frame_offset": int(perf.get("frame_offset", 0)),
        "num_frames": perf.get("num_frames"),
        "fps": perf.get("fps"),
        "size": [int(size[0]), int(size[1])],
        "sample_rate": sample_rate,
    }
    blob = json.dumps(settings, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def entry_dir(cache_dir: PathLike, perf: Dict, size: Tuple[int, int], sample_rate: Optional[int]) -> Path:
    """Where the performance's entry lives (complete iff it exists: see module docstring)."""
    return Path(cache_dir) / entry_key(perf, size, sample_rate)


def read_meta(entry: PathLike) -> Dict:
    """The entry's ``meta.json``."""
    with open(Path(entry) / "meta.json") as f:
        return json.load(f)


def _chunks(start: int, stop: int, chunk: int) -> Iterable[Tuple[int, int]]:
    for lo in range(start, stop, chunk):
        yield lo, min(lo + chunk, stop)


def prepare_entry(perf: Dict, cache_dir: PathLike, size: Tuple[int, int],
                  sample_rate: Optional[int], chunk: int = 64) -> Path:
    """Decode the performance once, in order and in chunks of ``chunk`` frames, crop and
    resize to ``size = (h, w)``, read its audio at ``sample_rate`` (None: no audio), and
    write the entry atomically. An entry already present is kept. Returns its folder."""
    cache_dir = Path(cache_dir)
    final = entry_dir(cache_dir, perf, size, sample_rate)
    if final.is_dir():
        return final
    cache_dir.mkdir(parents=True, exist_ok=True)
    where = f"performance {perf['perf_id']} ({perf.get('ann_source')})"
    tmp = Path(tempfile.mkdtemp(prefix=f".{final.name}.", suffix=".part", dir=cache_dir))
    try:
        offset = int(perf.get("frame_offset", 0))
        if perf.get("video_path"):
            reader = open_video(perf["video_path"])
            available = len(reader)
            fps = float(perf["fps"]) if perf.get("fps") else float(reader.get_avg_fps())

            def read(lo: int, hi: int) -> np.ndarray:
                return reader.get_batch(list(range(lo, hi))).asnumpy()
            first = reader.get_batch([0]).asnumpy()
        else:
            files = list_frame_files(perf["frame_dir"])
            available = len(files)
            fps = float(perf["fps"])

            def read(lo: int, hi: int) -> np.ndarray:
                return read_frame_files(files[lo:hi])
            first = read(0, 1)
        num = perf.get("num_frames")
        num = available - offset if num is None else int(num)
        if offset + num > available:
            source = perf.get("video_path") or perf.get("frame_dir")
            raise ValueError(f"{where}: {source} has {available} frames, the performance needs "
                             f"frames {offset}..{offset + num - 1}")
        box = perf.get("crop_box")
        if box is not None:
            box = check_crop_box(box, first.shape[2], first.shape[1], where)
        frames = np.lib.format.open_memmap(tmp / "frames.npy", mode="w+", dtype=np.uint8,
                                           shape=(num, int(size[0]), int(size[1]), 3))
        for lo, hi in _chunks(offset, offset + num, chunk):
            frames[lo - offset:hi - offset] = crop_resize(read(lo, hi), box, size)
        frames.flush()
        del frames
        if sample_rate is not None:
            track = audio_lib.load_audio(perf.get("audio_path") or perf["video_path"], sample_rate)
            start = audio_offset(offset, fps, sample_rate)
            # one second past the last frame: room for the last clip's window
            stop = start + int(np.ceil(num / fps * sample_rate)) + int(sample_rate)
            np.save(tmp / "audio.npy", np.ascontiguousarray(track[start:stop], dtype=np.float32))
        meta = {"perf_id": str(perf["perf_id"]), "num_frames": num, "fps": fps,
                "size": list(size), "sample_rate": sample_rate}
        (tmp / "meta.json").write_text(json.dumps(meta))
        try:
            os.rename(tmp, final)
        except OSError:
            if not final.is_dir():  # another process finished the same entry first: fine
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)
    return final


def write_cache(dataset: Any, cache_dir: PathLike, chunk: int = 64) -> List[Path]:
    """Prepare an entry for every performance a dataset (:class:`pisa.data.base.AQABaseDataset`)
    reads, with an mmengine progress bar. A bad performance raises, or with the dataset's
    ``on_bad_sample='skip'`` is reported as a warning and left out. Returns the entry
    folders."""
    import warnings

    from mmengine.utils import ProgressBar

    from pisa.data.base import BadSampleWarning

    size, sample_rate = dataset.cache_settings()
    perfs = dataset.performances
    bar = ProgressBar(len(perfs))
    out = []
    for perf in perfs:
        try:
            out.append(prepare_entry(perf, cache_dir, size, sample_rate, chunk))
        except (ValueError, FileNotFoundError) as err:
            if dataset.on_bad_sample != "skip":
                raise
            warnings.warn(f"skipped: {err}", BadSampleWarning, stacklevel=2)
        bar.update()
    return out
