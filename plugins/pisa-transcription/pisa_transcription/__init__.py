"""pisa plugin: a pretrained ear. Piano transcription (audio -> note events) as the
``transcriber`` component kind, notes stored beside the prepared cache, and the
transforms that put them into samples.

Components:

- transcriber ``BasicPitchTranscriber``: basic-pitch 0.4.0's ONNX weights (shipped in
  its wheel) run by onnxruntime on CPU or CUDA, recordings batched
  (:mod:`.basic_pitch_transcriber`).
- transform ``LoadNotes``: adds ``notes`` (float64 ``(N, 4)``, performance time) from the
  note store, transcribing on first read; ``pisa prepare`` fills the store, and
  ``pisa predict`` reports the recording's notes and descriptors (:mod:`.note_transforms`).
- transforms ``PianoRoll`` (a piano roll per clip) and ``NoteDescriptors`` (the note
  descriptors per clip and of the whole performance) (:mod:`.roll_transforms`).
- backbone ``PianoRollEncoder``: the notes branch's small CNN over a clip's piano roll
  (:mod:`.encoder`).
- baseline ``TranscriptionBaseline``: the whole performance's note descriptors and an
  ordinal (or linear) model, scored beside the model in every report (:mod:`.baseline`).

Modules: :mod:`.notes` (the note-array format and ``pisa synth``'s ``notes.csv``),
:mod:`.note_store` (``NoteStore``: keys, atomic and resumable files), :mod:`.descriptors`
(definitions and sources: ``DESCRIPTORS.md``), :mod:`.piano_roll`; this one registers
the components.
"""
from __future__ import annotations

from pisa.plugin_api import hookimpl
from pisa_transcription.baseline import TranscriptionBaseline
from pisa_transcription.basic_pitch_transcriber import BasicPitchTranscriber
from pisa_transcription.encoder import PianoRollEncoder
from pisa_transcription.note_transforms import LoadNotes
from pisa_transcription.roll_transforms import NoteDescriptors, PianoRoll

__version__ = "0.1.0"


@hookimpl
def pisa_register_components(register) -> None:
    register("transcriber", BasicPitchTranscriber)
    register("transform", LoadNotes)
    register("transform", PianoRoll)
    register("transform", NoteDescriptors)
    register("backbone", PianoRollEncoder)
    register("baseline", TranscriptionBaseline)
