"""A dataset's use of the prepared cache (:mod:`pisa.data.core.cache`): the settings its
pipeline fixes, the entry of a performance, and filling an entry on first read."""
from __future__ import annotations

import os
from typing import Any, Dict, Optional, Sequence, Tuple

from pisa.data.core import cache as cache_lib
from pisa.data.transforms.clip_transforms import CropResize, LoadAudio

Size = Optional[Tuple[int, int]]


def pipeline_settings(transforms: Sequence[Any]) -> Tuple[Size, Optional[int], Size]:
    """``(size, sample_rate, resize)`` a pipeline's ``CropResize`` and ``LoadAudio`` fix:
    the stored frame size, the audio rate (None without audio, ``cache.NATIVE_RATE`` for
    the file's own rate) and the resize before the centre crop."""
    size = sample_rate = resize = None
    for t in transforms:
        if isinstance(t, CropResize):
            size, resize = t.size, t.resize
        if isinstance(t, LoadAudio):
            # None means "no audio" to the cache: the file's own rate is NATIVE_RATE
            sample_rate = cache_lib.NATIVE_RATE if t.sample_rate is None else t.sample_rate
    return size, sample_rate, resize


class CacheLookup:
    """The cache entries of one dataset's performances: ``cache_dir`` with the pipeline's
    ``size``, ``sample_rate`` and ``resize``; ``fill``: write a missing entry on first
    read (else a missing entry is an error)."""

    def __init__(self, cache_dir: str, size: Tuple[int, int], sample_rate: Optional[int],
                 resize: Size, fill: bool = True, fps_mismatch: str = "error") -> None:
        self.cache_dir, self.size, self.sample_rate = cache_dir, size, sample_rate
        self.resize, self.fill, self.fps_mismatch = resize, bool(fill), fps_mismatch

    def locate(self, perf: Dict) -> bool:
        """Point the performance at its cache entry (True), or with ``fill`` at the entry
        it will fill (False); a missing entry otherwise raises naming it."""
        where = f"performance {perf['perf_id']} ({perf['ann_source']})"
        try:
            entry = cache_lib.entry_dir(self.cache_dir, perf, self.size, self.sample_rate, self.resize)
        except FileNotFoundError as err:
            raise FileNotFoundError(f"{where}: source not found: {err.filename or err}") from None
        if not entry.is_dir() and self.fill:
            perf["cache_fill"] = str(entry)
            return False
        if not entry.is_dir():
            raise FileNotFoundError(
                f"{where}: no prepared cache entry in {self.cache_dir} for the current source "
                "files and settings; run `pisa prepare CONFIG --cache-dir ...`"
            )
        meta = cache_lib.read_meta(entry)
        perf["num_frames"], perf["fps"], perf["cache_entry"] = meta["num_frames"], meta["fps"], str(entry)
        return True

    def filled_entry(self, info: Dict) -> Optional[str]:
        """The cache entry of a sample whose performance had none when the dataset was
        built: already written (by this or another process), or written now from the
        sample's record; None while another process writes it (the sample is then read
        from its sources)."""
        entry = info["cache_fill"]
        if not os.path.isdir(entry):
            with cache_lib.entry_lock(entry) as mine:
                if not mine:
                    return None
                cache_lib.prepare_entry(info, self.cache_dir, self.size, self.sample_rate,
                                        fps_mismatch=self.fps_mismatch, resize=self.resize)
        return entry
