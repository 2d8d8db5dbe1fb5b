"""pisa plugin: a pretrained ear. Piano transcription (audio -> note events) as the
``transcriber`` component kind, notes stored beside the prepared cache, and the
transforms that put them into samples.

Components:

- transcriber ``BasicPitchTranscriber``: basic-pitch 0.4.0's ONNX weights (shipped in
  its wheel) run by onnxruntime on CPU or CUDA, recordings batched
  (:mod:`.basic_pitch_transcriber`).
- transform ``LoadNotes``: adds ``notes`` (float64 ``(N, 4)``, performance time) from the
  note store, transcribing on first read; ``pisa prepare`` fills the store
  (:mod:`.note_transforms`).

Modules: :mod:`.notes` (the note-array format and ``pisa synth``'s ``notes.csv``),
:mod:`.note_store` (``NoteStore``: keys, atomic and resumable files); this one registers
the components.
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_transcription.basic_pitch_transcriber import BasicPitchTranscriber
from pisa_transcription.note_transforms import LoadNotes

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    register("transcriber", BasicPitchTranscriber)
    register("transform", LoadNotes)
