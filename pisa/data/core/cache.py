"""The prepared cache: each performance decoded once, cropped and resized to the training
size, stored as memory-mappable ``.npy`` files, so that training reads samples with
``np.load(mmap_mode='r')`` and never runs a decoder.

An entry is a folder ``<cache_dir>/<key>/`` holding ``frames.npy`` (uint8
``(F, H, W, 3)``, the trimmed performance), ``audio.npy`` (float32 ``(S,)``, mono, at the
pipeline's rate or the file's own, starting at the performance's first frame; only when
audio is used) and ``meta.json`` (``num_frames``, ``fps``, the settings; ``sample_rate``
is the rate ``audio.npy`` holds). ``key`` hashes the source files'
paths, sizes and modification times and the preprocessing settings, so a changed source
or setting gives a new key and the old entry is no longer read. The key is built only
from what is known before any media is opened (the annotation's values, not what the
video fills in), so ``pisa prepare`` and training compute the same one for every
adapter. An entry is written in a temporary folder that is renamed into place when
complete: an interrupted prepare leaves no folder under an entry's name.

Entries are written by ``pisa prepare`` ahead of time (:func:`write_cache`, with a
progress bar), or by the dataset itself the first time it reads a performance that has
none (``fill_cache``, the default): one process takes ``<entry>.lock``
(:func:`entry_lock`) and writes the entry while the others read the sources, so the first
epoch decodes and the later ones read memory-mapped arrays.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
from concurrent.futures import ThreadPoolExecutor
import os
import time
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, Tuple, Union

import numpy as np

from pisa.data.core.bad_samples import BadSampleWarning
from pisa.data.core.records import resolve_fps
from pisa.data.transforms.clip_transforms import audio_offset
from pisa.io.atomic import atomic_folder
from pisa.io.media import FrameSource, list_frame_files, read_audio, read_frames

PathLike = Union[str, os.PathLike]
CACHE_VERSION = 1
#: ``sample_rate`` of an entry whose audio is read at the file's own rate (None: no audio);
#: its ``meta.json`` records the rate that was read
NATIVE_RATE = "native"


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


def entry_key(perf: Dict, size: Tuple[int, int], sample_rate: Optional[int],
              resize: Optional[Tuple[int, int]] = None) -> str:
    """Hash of the performance's sources and its preprocessing settings."""
    settings = {
        "version": CACHE_VERSION,
        "sources": source_fingerprint(perf),
        "crop_box": None if perf.get("crop_box") is None else [float(v) for v in perf["crop_box"]],
        "frame_offset": int(perf.get("frame_offset", 0)),
        # as annotated (known before any media is opened), not as filled in from the video
        "num_frames": perf.get("annotated", perf).get("num_frames"),
        "fps": perf.get("annotated", perf).get("fps"),
        "size": [int(size[0]), int(size[1])],
        "sample_rate": sample_rate,
    }
    if resize is not None:  # only then: entries written without the option keep their keys
        settings["resize"] = [int(resize[0]), int(resize[1])]
    blob = json.dumps(settings, sort_keys=True).encode()
    return hashlib.sha256(blob).hexdigest()[:32]


def entry_dir(cache_dir: PathLike, perf: Dict, size: Tuple[int, int], sample_rate: Optional[int],
              resize: Optional[Tuple[int, int]] = None) -> Path:
    """Where the performance's entry lives (complete iff it exists: see module docstring)."""
    return Path(cache_dir) / entry_key(perf, size, sample_rate, resize)


def default_cache_dir() -> str:
    """Where ``cache_dir='auto'`` keeps entries: ``$PISA_CACHE_DIR``, else
    ``~/.cache/pisa/prepared``."""
    return os.environ.get("PISA_CACHE_DIR") or os.path.join(
        os.path.expanduser("~"), ".cache", "pisa", "prepared")


#: a lock older than this (seconds) was left by a process that died while writing
STALE_LOCK_S = 3600.0


@contextlib.contextmanager
def entry_lock(entry: PathLike) -> Iterator[bool]:
    """Try to become the one process that writes ``entry`` (DataLoader workers, ranks):
    yields True when this process holds ``<entry>.lock`` (removed afterwards), False when
    another one does. A lock older than :data:`STALE_LOCK_S` is taken over."""
    lock = Path(f"{os.fspath(entry)}.lock")
    lock.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            try:
                if time.time() - lock.stat().st_mtime > STALE_LOCK_S:
                    lock.unlink()
                    continue
            except FileNotFoundError:
                continue  # released meanwhile: try again
            yield False
            return
        os.close(fd)
        try:
            yield True
        finally:
            lock.unlink(missing_ok=True)
        return
    yield False


def read_meta(entry: PathLike) -> Dict:
    """The entry's ``meta.json``."""
    with open(Path(entry) / "meta.json") as f:
        return json.load(f)


def prepare_entry(perf: Dict, cache_dir: PathLike, size: Tuple[int, int],
                  sample_rate: Optional[int], chunk: int = 64, fps_mismatch: str = "error",
                  resize: Optional[Tuple[int, int]] = None) -> Path:
    """Decode the performance once, in order and in chunks of ``chunk`` frames, crop and
    resize to ``size = (h, w)`` (:func:`pisa.io.media.read_frames`), read its audio at
    ``sample_rate`` (:data:`NATIVE_RATE`: the file's own rate; None: no audio; the rate
    read is ``meta.json``'s ``sample_rate``), and write the entry atomically. An entry already
    present is kept. Returns its folder."""
    final = entry_dir(cache_dir, perf, size, sample_rate, resize)
    if final.is_dir():
        return final
    where = f"performance {perf['perf_id']} ({perf.get('ann_source')})"
    source = FrameSource(perf.get("video_path") or perf["frame_dir"])
    offset = int(perf.get("frame_offset", 0))
    fps = resolve_fps(perf, source.fps, where, fps_mismatch)
    num = perf.get("num_frames")
    num = len(source) - offset if num is None else int(num)
    if offset + num > len(source):
        raise ValueError(f"{where}: {source.path} has {len(source)} frames, the performance "
                         f"needs frames {offset}..{offset + num - 1}")
    with atomic_folder(final) as tmp, ThreadPoolExecutor(1) as audio_reader:
        # the audio track decodes on a thread of its own while the frames decode here
        # (both decoders release the GIL while they work)
        track = None if sample_rate is None else audio_reader.submit(
            read_audio, perf.get("audio_path") or perf["video_path"],
            None if sample_rate == NATIVE_RATE else int(sample_rate))
        frames = np.lib.format.open_memmap(tmp / "frames.npy", mode="w+", dtype=np.uint8,
                                           shape=(num, int(size[0]), int(size[1]), 3))
        read_frames(source, np.arange(offset, offset + num), perf.get("crop_box"), size,
                    chunk=chunk, out=frames, where=where, resize=resize)
        frames.flush()
        del frames
        rate = None
        if track is not None:
            samples, rate = track.result()
            start = audio_offset(offset, fps, rate)
            # one second past the last frame: room for the last clip's window
            stop = start + int(np.ceil(num / fps * rate)) + int(rate)
            np.save(tmp / "audio.npy", np.ascontiguousarray(samples[start:stop], dtype=np.float32))
        meta = {"perf_id": str(perf["perf_id"]), "num_frames": num, "fps": fps,
                "size": list(size), "sample_rate": rate}
        (tmp / "meta.json").write_text(json.dumps(meta))
    return final


def write_cache(dataset: Any, cache_dir: PathLike, chunk: int = 64) -> List[Path]:
    """Prepare an entry for every performance a dataset (:class:`pisa.data.core.base_dataset.AQABaseDataset`)
    reads, with an mmengine progress bar. A bad performance raises, or with the dataset's
    ``on_bad_sample='skip'`` is reported as a warning and left out. Returns the entry
    folders."""
    import warnings

    from mmengine.utils import ProgressBar

    size, sample_rate = dataset.cache_settings()
    perfs = dataset.performances
    bar = ProgressBar(len(perfs))
    out = []
    for perf in perfs:
        try:
            out.append(prepare_entry(perf, cache_dir, size, sample_rate, chunk,
                                     fps_mismatch=dataset.fps_mismatch,
                                     resize=dataset.frame_resize()))
        except (ValueError, FileNotFoundError) as err:
            if dataset.on_bad_sample != "skip":
                raise
            warnings.warn(f"skipped: {err}", BadSampleWarning, stacklevel=2)
        bar.update()
    return out
