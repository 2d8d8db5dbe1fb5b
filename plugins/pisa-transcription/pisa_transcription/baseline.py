"""The transcription baseline: what a pianist plays, as note descriptors of the whole
performance, then a linear or ordinal model."""
from __future__ import annotations

from typing import Any, Dict, List, Optional, Tuple

import numpy as np

from pisa.plugin_api import LinearFeatureBaseline, default_cache_dir
from pisa_transcription.descriptors import DESCRIPTOR_NAMES, log_scale, note_descriptors
from pisa_transcription.note_store import NoteStore
from pisa_transcription.notes import performance_seconds


class TranscriptionBaseline(LinearFeatureBaseline):
    """Per performance, the note descriptors (:mod:`pisa_transcription.descriptors`) of
    every note the transcriber hears from its first frame to its last, then the
    imputer, scaler and model of :class:`pisa.plugin_api.LinearFeatureBaseline`
    (``model='ordinal'``, the default here, uses the order of the levels; ``'logistic'``,
    ``'ridge'`` and ``'auto'`` as there), after the ``log1p`` of the heavy-tailed ones
    (:func:`~pisa_transcription.descriptors.log_scale`, as the notes branch sees them).
    Notes come from the note store
    (:class:`~pisa_transcription.note_store.NoteStore`): transcribed once per recording
    and setting, then read back.

    Args:
        transcriber: the ``transcriber`` config (or a built one).
        store_dir: where notes are stored (None or ``'auto'``: pisa's default cache
            folder, ``$PISA_CACHE_DIR`` when set).
        split_pitch: the pitch that separates the hands' descriptors.
        model, C, seed, num_classes: :class:`pisa.plugin_api.LinearFeatureBaseline`'s.
    """

    example = dict(args=dict(model="logistic", store_dir=None), records=lambda: _example_records())

    def __init__(self, transcriber: Any = dict(type="BasicPitchTranscriber"),
                 store_dir: Optional[str] = None, split_pitch: int = 60, model: str = "ordinal",
                 C: float = 1.0, seed: int = 0, num_classes: Optional[int] = None) -> None:
        super().__init__(model=model, C=C, seed=seed, num_classes=num_classes)
        self.store = NoteStore(transcriber, default_cache_dir() if store_dir in (None, "auto")
                               else store_dir)
        self.split_pitch = int(split_pitch)

    @property
    def feature_names(self) -> List[str]:
        return list(DESCRIPTOR_NAMES)

    def _compute_features(self, record: Dict[str, Any]) -> np.ndarray:
        notes = self.store.notes(record)
        return log_scale(note_descriptors(notes, 0.0, performance_seconds(record, notes),
                                          split_pitch=self.split_pitch))


def _example_records() -> Tuple[List[Dict[str, Any]], List[Dict[str, Any]]]:
    """Training and test records of 2 levels, each a wav of a few piano-like tones in a
    temporary folder removed at exit (the ``example``): the higher level plays more
    notes per second."""
    import atexit
    import os
    import shutil
    import tempfile

    from scipy.io import wavfile

    folder = tempfile.mkdtemp(prefix="pisa-example-")
    atexit.register(shutil.rmtree, folder, True)
    records = []
    for i in range(6):
        level = i % 2
        count = 2 + 4 * level
        onsets = np.linspace(0.1, 1.6, count)
        pitches = 60 + (np.arange(count) * (3 + i)) % 14
        path = os.path.join(folder, f"p{i}.wav")
        wavfile.write(path, 22050, _tones(onsets, pitches, seconds=2.0, rate=22050))
        records.append({"perf_id": f"p{i}", "audio_path": path, "video_path": None, "frame_offset": 0,
                        "num_frames": 20, "fps": 10.0, "crop_box": None, "label": level,
                        "score": float(level), "group": f"p{i}", "ann_source": "example"})
    return records[:4], records[4:]


def _tones(onsets: np.ndarray, pitches: np.ndarray, seconds: float, rate: int) -> np.ndarray:
    """Decaying harmonic tones (a plucked-string timbre) at ``onsets`` s and MIDI
    ``pitches``, as int16 samples."""
    t = np.arange(int(seconds * rate)) / rate
    out = np.zeros_like(t)
    for onset, pitch in zip(onsets, pitches):
        f0 = 440.0 * 2.0 ** ((pitch - 69) / 12.0)
        local = np.clip(t - onset, 0.0, None)
        sounding = (t >= onset) * np.exp(-3.0 * local)
        out += sounding * sum(np.sin(2 * np.pi * f0 * h * local) / h for h in (1, 2, 3))
    return (0.3 * out / max(1e-9, np.abs(out).max()) * 32767).astype(np.int16)
