"""``LoadNotes`` (kind ``transform``): a sample's transcribed notes, from the note store
(:mod:`pisa_transcription.note_store`) or transcribed on first read."""
from __future__ import annotations

import os
from collections import OrderedDict
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from pisa.plugin_api import default_cache_dir
from pisa_transcription.note_store import NoteStore
from pisa_transcription.notes import performance_seconds


class LoadNotes:
    """Add ``notes``: the performance's notes, float64 ``(N, 4)`` rows ``(onset s,
    offset s, MIDI pitch, velocity 0..1)`` in performance time (seconds from frame
    ``frame_offset``, the time base of the prepared cache's audio and of ``frame_inds /
    fps``), sorted by onset. Reads the performance record's ``perf_id``, ``audio_path``
    or ``video_path``, ``frame_offset``, ``fps``, ``num_frames`` (``annotated``),
    ``ann_source`` and, to place the store, ``cache_entry`` / ``cache_fill``.

    ``transcriber``: the transcriber's config (or a built one). ``store_dir``: where the
    notes are kept (under ``notes/``); None or ``'auto'``: beside the prepared cache the
    sample comes from (the folder holding its ``cache_entry``), else
    :func:`pisa.plugin_api.default_cache_dir`. Notes missing from the store are
    transcribed on first read and stored; ``pisa prepare`` fills them ahead of time
    (:meth:`prepare_performances`). The last ``keep`` arrays stay in memory, since
    consecutive samples mostly share a performance."""

    example = dict(args=dict(transcriber=dict(type="BasicPitchTranscriber", threads=1)),
                   input=lambda: _example_results(), adds=("notes",))

    def __init__(self, transcriber: Any = None, store_dir: Optional[str] = None,
                 keep: int = 4, batch: int = 8) -> None:
        self.transcriber = dict(type="BasicPitchTranscriber") if transcriber is None else transcriber
        self.store_dir = None if store_dir in (None, "auto") else os.fspath(store_dir)
        self.keep, self.batch = max(1, int(keep)), max(1, int(batch))
        self._stores: Dict[str, NoteStore] = {}
        self._recent: "OrderedDict[str, np.ndarray]" = OrderedDict()

    def __repr__(self) -> str:
        return f"LoadNotes(transcriber={self.transcriber!r}, store_dir={self.store_dir!r})"

    def store(self, store_dir: str) -> NoteStore:
        """The note store in ``store_dir`` (one per folder, built on first use; the
        transcriber's session is then made in the process that reads, e.g. a DataLoader
        worker)."""
        store_dir = os.path.abspath(store_dir)
        if store_dir not in self._stores:
            transcriber = next(iter(self._stores.values())).transcriber if self._stores else self.transcriber
            self._stores[store_dir] = NoteStore(transcriber, store_dir)
        return self._stores[store_dir]

    def _store_dir(self, results: Dict[str, Any]) -> str:
        if self.store_dir is not None:
            return self.store_dir
        entry = results.get("cache_entry") or results.get("cache_fill")
        return os.path.dirname(os.path.abspath(entry)) if entry else default_cache_dir()

    def __call__(self, results: Dict[str, Any]) -> Dict[str, Any]:
        store = self.store(self._store_dir(results))
        path = str(store.path(results))
        notes = self._recent.pop(path, None)
        if notes is None:
            notes = store.notes(results)
        self._recent[path] = notes
        while len(self._recent) > self.keep:
            self._recent.popitem(last=False)
        results["notes"] = notes
        return results

    def recording_evidence(self, record: Dict[str, Any]) -> Dict[str, Any]:
        """What ``pisa predict`` reports of a recording it assesses: ``{'notes':
        {'transcriber', 'count', 'descriptors': {name: value}, 'events': [[onset s,
        offset s, pitch, velocity], ...]}}``, the descriptors over the whole performance
        (:func:`~pisa_transcription.descriptors.note_descriptors`, unscaled) and the
        events in the recording's own time (from its first frame, not the performance's)."""
        from pisa_transcription.descriptors import DESCRIPTOR_NAMES, note_descriptors

        notes = self(dict(record))["notes"]
        fps = float(record.get("fps") or 0.0)
        start = int(record.get("frame_offset") or 0) / fps if fps else 0.0
        values = note_descriptors(notes, 0.0, performance_seconds(record, notes))
        events = notes.copy()
        events[:, :2] += start
        transcriber = next(iter(self._stores.values())).transcriber
        return {"notes": {"transcriber": type(transcriber).__name__, "count": int(len(notes)),
                          "descriptors": {n: float(v) for n, v in zip(DESCRIPTOR_NAMES, values)},
                          "events": np.round(events, 6).tolist()}}

    def prepare_performances(self, performances: Sequence[Dict[str, Any]], cache_dir: str) -> List[str]:
        """Transcribe every performance that has no stored notes (``pisa prepare`` calls
        it after writing the cache): into ``store_dir``, or beside the cache in
        ``cache_dir``. Returns the note files."""
        store = self.store(self.store_dir or cache_dir)
        return [str(p) for p in store.fill(list(performances), batch=self.batch)]


def _example_results() -> Dict[str, Any]:
    """A sample's results dict: a 1.5 s wav of two tones (in a temporary folder removed
    at exit), performance frames 5..12 at 10 fps, read from a prepared cache in the same
    folder (so the notes are stored there)."""
    import atexit
    import shutil
    import tempfile

    import soundfile

    folder = tempfile.mkdtemp(prefix="pisa-notes-example-")
    atexit.register(shutil.rmtree, folder, True)
    rate = 22050
    t = np.arange(int(0.75 * rate)) / rate
    tones = [np.sin(2 * np.pi * f * t) * np.exp(-3.0 * t) for f in (261.63, 392.0)]
    path = os.path.join(folder, "example.wav")
    soundfile.write(path, (0.3 * np.concatenate(tones)).astype(np.float32), rate)
    entry = os.path.join(folder, "cache", "example-entry")
    os.makedirs(entry)
    return {"perf_id": "example", "ann_source": "LoadNotes example", "audio_path": path,
            "video_path": None, "frame_offset": 5, "fps": 10.0, "num_frames": 8,
            "annotated": {"num_frames": 8, "fps": 10.0}, "cache_entry": entry,
            "frame_inds": np.arange(8, dtype=np.int64).reshape(2, 4)}
