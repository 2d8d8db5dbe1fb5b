"""The transcription plugin's transcriber (plugins/pisa-transcription, ``BasicPitchTranscriber``
with its defaults) on freshly synthesized ``pisa synth`` performances: note F1 against the
``notes.csv`` the renderer wrote (mir_eval, onset tolerance 50 ms, offsets ignored), and
its speed beside decoding the same audio (``read_audio`` of the wavs at the
transcriber's rate) in the same run.
"""
from __future__ import annotations

import contextlib
import io
from pathlib import Path
from typing import List

import numpy as np

from benchmarks.common import Result, Settings, overhead_result, throughput_result

#: recordings per transcriber call, as ``NoteStore.fill`` batches them
BATCH = 8


def note_f1(truth: np.ndarray, estimate: np.ndarray) -> float:
    """mir_eval's note F1 (onset within 50 ms, same pitch; offsets ignored) of two note
    arrays ``(N, 4)`` (onset s, offset s, MIDI pitch, velocity)."""
    import mir_eval

    def hz(notes: np.ndarray) -> np.ndarray:
        return 440.0 * 2.0 ** ((notes[:, 2] - 69.0) / 12.0)

    return float(mir_eval.transcription.precision_recall_f1_overlap(
        truth[:, :2], hz(truth), estimate[:, :2], hz(estimate), onset_tolerance=0.05,
        offset_ratio=None)[2])


def bench_transcription(settings: Settings, root: Path) -> List[Result]:
    """``transcription`` (seconds to transcribe the set against seconds to decode its
    audio) and ``transcription_f1`` (mean note F1 against a perfect transcription, 1.0)."""
    import time

    from pisa.io.media import read_audio
    from pisa.synth import SynthSettings, synthesize_dataset
    from pisa_transcription.basic_pitch_transcriber import BasicPitchTranscriber
    from pisa_transcription.notes import read_notes_csv

    out = root / "transcription"
    # the smallest frames the renderer allows: only the audio and notes.csv are read
    synth = SynthSettings(performances=settings.transcription_performances, seed=11,
                          seconds=settings.transcription_seconds, width=64, height=48)
    start = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        synthesize_dataset(out, synth)
    render_s = time.perf_counter() - start
    truth = read_notes_csv(out / "notes.csv")
    ids = sorted(truth, key=int)
    wavs = [out / "audio" / f"{i}.wav" for i in ids]
    transcriber = BasicPitchTranscriber()
    rate = transcriber.sample_rate
    transcriber.transcribe([np.zeros(rate, dtype=np.float32)])  # the session, made once

    def decode() -> float:
        t0 = time.perf_counter()
        for wav in wavs:
            read_audio(wav, rate)
        return time.perf_counter() - t0

    before = decode()
    audios = [read_audio(wav, rate)[0] for wav in wavs]
    t0 = time.perf_counter()
    notes = []
    for i in range(0, len(audios), BATCH):
        notes.extend(transcriber.transcribe(audios[i:i + BATCH]))
    transcribe_s = time.perf_counter() - t0
    decode_s = (before + decode()) / 2
    audio_s = sum(len(a) for a in audios) / rate
    scores = [note_f1(truth[i], n) for i, n in zip(ids, notes)]
    where = (f"{len(ids)} `pisa synth` performances (seed 11, ~{settings.transcription_seconds:g} s "
             f"played each, {audio_s:.0f} s of audio with lead-ins), rendered in {render_s:.1f} s")
    speed = overhead_result(
        "transcription", "transcribing the audio of synthetic performances (BasicPitchTranscriber, "
        f"batches of {BATCH})", "decoding the same audio (read_audio of the wavs)",
        transcribe_s, decode_s, at_most=10.0,
        notes=[where, f"{audio_s / transcribe_s:.1f}x real time ({transcribe_s:.2f} s for {audio_s:.0f} s "
                      f"of audio); decoding {audio_s / decode_s:.0f}x real time (mean of a pass before "
                      "and after)"],
        extra=dict(audio_s=audio_s, x_real_time=audio_s / transcribe_s, render_s=render_s,
                   performances=len(ids)))
    f1 = throughput_result(
        "transcription_f1", "note F1 of BasicPitchTranscriber against `pisa synth`'s notes.csv "
        "(onset 50 ms, offsets ignored), mean over performances", "a perfect transcription",
        float(np.mean(scores)), 1.0, at_least=0.85, unit="F1",
        notes=[where, f"per performance: lowest {min(scores):.3f}, median {np.median(scores):.3f}"],
        extra=dict(f1=scores, ids=ids))
    return [speed, f1]
