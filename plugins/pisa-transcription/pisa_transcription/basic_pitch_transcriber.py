"""``BasicPitchTranscriber`` (kind ``transcriber``): Spotify's basic-pitch 0.4.0 (Bittner
et al., ICASSP 2022; Apache-2.0), its ONNX weights as they ship inside the wheel, run by
onnxruntime, whole recordings batched together.

It composes basic-pitch's own steps, as ``basic_pitch.inference.predict`` runs them for
one file: half an overlap of zeros in front of the audio (``get_audio_input``), windows of
``AUDIO_N_SAMPLES`` every ``AUDIO_N_SAMPLES - overlap`` samples (``window_audio_file``),
the model, ``unwrap_output``, ``note_creation.model_output_to_notes``. Only the model
calls differ: the windows of several recordings go through the network in one batch
(each window's output does not depend on its batch neighbours), then are split back per
recording.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
from typing import Any, Dict, List, Optional, Sequence

import numpy as np

from pisa_transcription.notes import empty_notes, sort_notes

#: basic-pitch's metadata pulls TensorFlow, which its ONNX path does not need; the plugin's
#: own requirements bring what that path imports
INSTALL_HINT = "pip install --no-deps basic-pitch==0.4.0` and `pip install -e plugins/pisa-transcription"
#: the weights inside the basic-pitch package
WEIGHTS = ("saved_models", "icassp_2022", "nmp.onnx")
#: the ONNX graph's input and outputs, as ``basic_pitch.inference.Model.predict`` names them
INPUT_NAME = "serving_default_input_2:0"
OUTPUT_NAMES = {"note": "StatefulPartitionedCall:1", "onset": "StatefulPartitionedCall:2",
                "contour": "StatefulPartitionedCall:0"}
#: model frames two neighbouring windows share (``basic_pitch.inference.run_inference``)
OVERLAPPING_FRAMES = 30
DEVICES = ("cpu", "cuda")


def _basic_pitch() -> Dict[str, Any]:
    """basic-pitch's modules, imported with its notices about absent TensorFlow, CoreML
    and TFLite silenced (this plugin runs the ONNX weights only)."""
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)
    try:
        import basic_pitch
        import onnxruntime
        from basic_pitch import constants, inference, note_creation
    except ImportError as err:
        raise ImportError(f"BasicPitchTranscriber needs basic-pitch 0.4.0 and onnxruntime ({err}); "
                          f"install them with `{INSTALL_HINT}`") from None
    finally:
        logging.disable(previous)
    return dict(package=basic_pitch, ort=onnxruntime, constants=constants, inference=inference,
                note_creation=note_creation)


class BasicPitchTranscriber:
    """Audio -> note events with basic-pitch (the ``transcriber`` contract,
    :mod:`pisa.registry`). ``transcribe(audios)`` takes mono float32 ``(S,)`` arrays at
    :attr:`sample_rate` (22050 Hz, basic-pitch's ``AUDIO_SAMPLE_RATE``) and gives one
    float64 ``(N, 4)`` array per recording: onset s, offset s, MIDI pitch, velocity
    (basic-pitch's amplitude clipped to 0..1), sorted by onset then pitch; ``(0, 4)``
    when nothing is heard.

    Arguments: the note-creation thresholds of ``basic_pitch.inference.predict``, with its
    defaults (``onset_threshold``, ``frame_threshold``, ``minimum_note_length`` in ms,
    ``minimum_frequency``/``maximum_frequency`` in Hz, ``melodia_trick``); ``device``
    ``'cpu'`` or ``'cuda'`` (onnxruntime's CUDA provider, from ``onnxruntime-gpu``);
    ``threads`` onnxruntime's intra-op threads (0: its default); ``max_windows`` model
    windows (about 2 s each) per network call, which bounds memory.
    """

    example = dict(args=dict(threads=1), audio=lambda: _example_audio())

    def __init__(self, onset_threshold: float = 0.5, frame_threshold: float = 0.3,
                 minimum_note_length: float = 127.70, minimum_frequency: Optional[float] = None,
                 maximum_frequency: Optional[float] = None, melodia_trick: bool = True,
                 device: str = "cpu", threads: int = 0, max_windows: int = 32) -> None:
        if device not in DEVICES:
            raise ValueError(f"BasicPitchTranscriber: device must be one of {DEVICES}, got {device!r}")
        if not (0 < float(onset_threshold) < 1 and 0 < float(frame_threshold) < 1):
            raise ValueError(f"BasicPitchTranscriber: thresholds must lie in (0, 1), got "
                             f"onset_threshold={onset_threshold}, frame_threshold={frame_threshold}")
        if float(minimum_note_length) <= 0 or int(max_windows) < 1 or int(threads) < 0:
            raise ValueError(f"BasicPitchTranscriber: needs minimum_note_length > 0, max_windows >= 1 "
                             f"and threads >= 0, got {minimum_note_length}, {max_windows}, {threads}")
        self._bp = _basic_pitch()
        c = self._bp["constants"]
        self.sample_rate = int(c.AUDIO_SAMPLE_RATE)
        self.settings = dict(onset_threshold=float(onset_threshold), frame_threshold=float(frame_threshold),
                             minimum_note_length=float(minimum_note_length),
                             minimum_frequency=None if minimum_frequency is None else float(minimum_frequency),
                             maximum_frequency=None if maximum_frequency is None else float(maximum_frequency),
                             melodia_trick=bool(melodia_trick))
        self.device, self.threads, self.max_windows = device, int(threads), int(max_windows)
        self.weights_path = os.path.join(os.path.dirname(self._bp["package"].__file__), *WEIGHTS)
        # as get_audio_input / run_inference window a file
        self.overlap_len = OVERLAPPING_FRAMES * int(c.FFT_HOP)
        self.window_len = int(c.AUDIO_N_SAMPLES)
        self.hop_size = self.window_len - self.overlap_len
        # predict() converts the minimum length from ms to model frames so
        self.min_note_frames = int(np.round(self.settings["minimum_note_length"] / 1000
                                            * (self.sample_rate / int(c.FFT_HOP))))
        self._session = None
        self._fingerprint: Optional[str] = None

    def __repr__(self) -> str:
        return f"BasicPitchTranscriber({self.settings}, device={self.device!r})"

    # -- the model --------------------------------------------------------------------
    def _providers(self) -> List[str]:
        if self.device == "cpu":
            return ["CPUExecutionProvider"]
        available = self._bp["ort"].get_available_providers()
        if "CUDAExecutionProvider" not in available:
            raise RuntimeError(f"BasicPitchTranscriber(device='cuda'): this onnxruntime has no "
                               f"CUDAExecutionProvider (it has {available}); install onnxruntime-gpu "
                               "in place of onnxruntime, or use device='cpu'")
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]

    @property
    def session(self) -> Any:
        """The onnxruntime session over basic-pitch's weights (made on first use)."""
        if self._session is None:
            ort = self._bp["ort"]
            options = ort.SessionOptions()
            options.intra_op_num_threads = self.threads
            options.inter_op_num_threads = 1
            options.log_severity_level = 3  # onnxruntime's own warnings about unused initialisers
            self._session = ort.InferenceSession(self.weights_path, sess_options=options,
                                                 providers=self._providers())
        return self._session

    def fingerprint(self) -> str:
        """sha256 of the weights' bytes, basic-pitch's version and the note-creation
        settings (not the device or threads, which change speed only): the key of stored
        notes."""
        if self._fingerprint is None:
            digest = hashlib.sha256()
            with open(self.weights_path, "rb") as f:
                digest.update(f.read())
            version = getattr(self._bp["package"], "__version__", None)
            if version is None:
                import importlib.metadata

                version = importlib.metadata.version("basic-pitch")
            digest.update(json.dumps(dict(self.settings, basic_pitch=version), sort_keys=True).encode())
            self._fingerprint = digest.hexdigest()[:16]
        return self._fingerprint

    # -- transcription ----------------------------------------------------------------
    def _windows(self, audio: np.ndarray) -> np.ndarray:
        """``(n, AUDIO_N_SAMPLES, 1)``: the recording padded and windowed as
        ``get_audio_input`` does it."""
        padded = np.concatenate([np.zeros(self.overlap_len // 2, dtype=np.float32), audio])
        windows = [w for w, _ in self._bp["inference"].window_audio_file(padded, self.hop_size)]
        return np.stack(windows).astype(np.float32, copy=False)

    def _run(self, windows: np.ndarray) -> Dict[str, np.ndarray]:
        names = list(OUTPUT_NAMES.values())
        parts: Dict[str, List[np.ndarray]] = {k: [] for k in OUTPUT_NAMES}
        for start in range(0, len(windows), self.max_windows):
            outputs = self.session.run(names, {INPUT_NAME: windows[start:start + self.max_windows]})
            for key, value in zip(OUTPUT_NAMES, outputs):
                parts[key].append(value)
        return {k: np.concatenate(v) for k, v in parts.items()}

    def _notes(self, output: Dict[str, np.ndarray]) -> np.ndarray:
        if len(output["note"]) == 0:
            return empty_notes()
        # on silence basic-pitch's inferred onsets divide 0 by 0 (NaN, so no notes): quiet
        with np.errstate(invalid="ignore", divide="ignore"):
            _, events = self._bp["note_creation"].model_output_to_notes(
                output, onset_thresh=self.settings["onset_threshold"],
                frame_thresh=self.settings["frame_threshold"], min_note_len=self.min_note_frames,
                min_freq=self.settings["minimum_frequency"], max_freq=self.settings["maximum_frequency"],
                include_pitch_bends=False,  # bends are not part of a note array
                melodia_trick=self.settings["melodia_trick"])
        if not events:
            return empty_notes()
        notes = np.array([(s, e, p, a) for s, e, p, a, _ in events], dtype=np.float64)
        notes[:, 3] = np.clip(notes[:, 3], 0.0, 1.0)
        notes = notes[np.isfinite(notes).all(axis=1) & (notes[:, 1] > notes[:, 0])]
        return sort_notes(notes)

    def transcribe(self, audios: Sequence[np.ndarray]) -> List[np.ndarray]:
        """One note array per recording (mono ``(S,)`` at :attr:`sample_rate`); the
        windows of all of them go through the network together."""
        audios = [np.asarray(a, dtype=np.float32).reshape(-1) for a in audios]
        for i, audio in enumerate(audios):
            if not np.isfinite(audio).all():
                raise ValueError(f"BasicPitchTranscriber: recording {i} holds NaN or infinite samples")
        if not audios:
            return []
        windows = [self._windows(a) for a in audios]
        output = self._run(np.concatenate(windows))
        bounds = np.cumsum([0] + [len(w) for w in windows])
        unwrap = self._bp["inference"].unwrap_output
        notes = []
        for i, audio in enumerate(audios):
            own = {k: unwrap(v[bounds[i]:bounds[i + 1]], len(audio), OVERLAPPING_FRAMES)
                   for k, v in output.items()}
            notes.append(self._notes(own))
        return notes


def _example_audio() -> List[np.ndarray]:
    """Two recordings of about a second at 22050 Hz: three tones one after another (C4,
    E4, G4), and a C major chord; harmonic tones with a decaying envelope."""
    rate = 22050
    t = np.arange(int(0.3 * rate)) / rate

    def tone(midi: int) -> np.ndarray:
        f0 = 440.0 * 2 ** ((midi - 69) / 12)
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h for h in (1, 2, 3))
        return wave * np.exp(-4.0 * t)

    gap = np.zeros(int(0.05 * rate))
    melody = np.concatenate([np.concatenate([tone(m), gap]) for m in (60, 64, 67)])
    chord = np.concatenate([sum(tone(m) for m in (60, 64, 67)), tone(72), gap])
    return [(0.2 * melody).astype(np.float32), (0.1 * chord).astype(np.float32)]
