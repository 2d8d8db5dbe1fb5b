"""The transcription plugin (plugins/pisa-transcription): basic-pitch's notes against the
notes `pisa synth` rendered, the note store's keys, its atomic files and a killed fill
resumed to the same bytes, clear errors on bad audio, and `pisa prepare` filling the
store through a pipeline's LoadNotes."""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import mir_eval
import numpy as np
import pytest

from pisa.cli import main
from pisa.io.media import read_audio, write_video, write_wav
from pisa.plugin_api import note_array_problem
from pisa.registry import DATASETS
from pisa.synth import SynthSettings, synthesize_dataset
from pisa_transcription.note_store import NoteStore
from pisa_transcription.notes import read_notes_csv, shift

# one thread: the test machine's cores are shared
TRANSCRIBER = dict(type="BasicPitchTranscriber", threads=1)
SR = 22050


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    """3 synthetic performances of about 4 s (3.7 s to render) and their records."""
    root = tmp_path_factory.mktemp("synth")
    table = synthesize_dataset(root, SynthSettings(performances=3, seed=0, seconds=4.0, width=96,
                                                   height=72, sample_rate=SR))
    records = [dict(perf_id=str(r["id"]), ann_source="performances.csv",
                    audio_path=str(root / "audio" / f"{r['id']}.wav"),
                    video_path=str(root / "videos" / f"{r['id']}.mp4"),
                    frame_offset=int(r["frame_start"]), fps=float(r["fps"]),
                    num_frames=int(r["frame_end"] - r["frame_start"])) for r in table]
    return root, records


def _note_f1(truth: np.ndarray, estimate: np.ndarray) -> float:
    hz = lambda notes: 440.0 * 2.0 ** ((notes[:, 2] - 69.0) / 12.0)  # noqa: E731
    return mir_eval.transcription.precision_recall_f1_overlap(
        truth[:, :2], hz(truth), estimate[:, :2], hz(estimate), onset_tolerance=0.05, offset_ratio=None)[2]


def _visible(folder: Path) -> dict:
    """The complete note files of a store folder (temporary files are hidden)."""
    return {p.name: p.read_bytes() for p in sorted(folder.glob("*.npy")) if not p.name.startswith(".")}


def test_basic_pitch_notes_match_what_synth_rendered(synth, tmp_path):
    # Floors from measurements (note F1, onset tolerance 50 ms, offsets ignored): on the
    # README demo's 120 performances (~18 s each) mean 0.943, lowest 0.729; on 30 seeds of
    # this test's settings (3 performances of ~4 s) per performance mean 0.983, lowest
    # 0.800, lowest mean of a set of 3 0.919. The floors sit below both minima.
    root, records = synth
    store = NoteStore(TRANSCRIBER, tmp_path)
    paths = store.fill(records, batch=2)
    truth = read_notes_csv(root / "notes.csv")  # video time
    scores = []
    for rec, path in zip(records, paths):
        notes = np.load(path)
        assert note_array_problem(notes) is None and len(notes) > 0
        # performance time: the notes lie within the performance's frames
        assert notes[:, 0].max() < rec["num_frames"] / rec["fps"]
        scores.append(_note_f1(shift(truth[rec["perf_id"]], -rec["frame_offset"] / rec["fps"]), notes))
    assert min(scores) > 0.65 and np.mean(scores) > 0.85, scores


def test_a_killed_fill_resumes_to_the_files_of_an_uninterrupted_one(synth, tmp_path):
    _, records = synth
    # 12 windows of ~4 s (different keys), one per transcriber call: ~0.1 s each
    windows = [dict(rec, perf_id=f"{rec['perf_id']}@{o}", frame_offset=o, num_frames=None)
               for rec in records for o in (0, 15, 30, 45)]
    (tmp_path / "records.json").write_text(json.dumps(windows))
    killed = tmp_path / "killed"
    folder = NoteStore(TRANSCRIBER, killed).folder
    code = ("import json, sys\nfrom pisa_transcription.note_store import NoteStore\n"
            "NoteStore(json.loads(sys.argv[2]), sys.argv[3]).fill(json.load(open(sys.argv[1])), batch=1)\n")
    proc = subprocess.Popen([sys.executable, "-c", code, str(tmp_path / "records.json"),
                             json.dumps(TRANSCRIBER), str(killed)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while not _visible(folder) and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    partial = _visible(folder)
    assert 1 <= len(partial) < len(windows), f"killed after {len(partial)} of {len(windows)} files"
    for name in partial:  # what is there is complete
        assert note_array_problem(np.load(folder / name)) is None

    NoteStore(TRANSCRIBER, killed).fill(windows, batch=3)
    # in other batches: a window's notes do not depend on the recordings batched with it
    whole = NoteStore(TRANSCRIBER, tmp_path / "whole")
    whole.fill(windows, batch=5)
    resumed, fresh = _visible(folder), _visible(whole.folder)
    assert len(fresh) == len(windows) and resumed == fresh


def test_a_changed_setting_window_or_audio_file_gives_new_files(synth, tmp_path):
    _, records = synth
    wav = tmp_path / "a.wav"
    shutil.copy(records[0]["audio_path"], wav)
    rec = dict(records[0], audio_path=str(wav))
    store = NoteStore(TRANSCRIBER, tmp_path / "store")
    first = store.path(rec)
    # speed settings change nothing that is stored
    assert NoteStore(dict(TRANSCRIBER, threads=2, max_windows=4), tmp_path / "store").path(rec) == first
    stricter = NoteStore(dict(TRANSCRIBER, onset_threshold=0.6), tmp_path / "store")
    assert stricter.folder != store.folder and stricter.path(rec) != first
    assert store.path(dict(rec, frame_offset=rec["frame_offset"] + 1)) != first
    assert store.path(dict(rec, num_frames=rec["num_frames"] - 1)) != first
    assert store.path(dict(rec, num_frames=None)) != first

    notes = store.notes(rec)
    assert first.is_file()
    np.testing.assert_array_equal(store.notes(rec), notes)  # read back, not transcribed again
    audio, rate = read_audio(wav)
    time.sleep(0.01)
    write_wav(wav, np.roll(audio, rate // 2), rate)  # other sound, same length
    changed = store.path(rec)
    assert changed != first and not changed.exists()
    assert note_array_problem(store.notes(rec)) is None and changed.is_file() and first.is_file()


def test_bad_audio_gives_a_clear_error_or_a_valid_note_array(tmp_path):
    store = NoteStore(TRANSCRIBER, tmp_path / "store")
    base = dict(video_path=None, frame_offset=0, fps=10.0, num_frames=10, ann_source="t.csv")
    write_wav(tmp_path / "silent.wav", np.zeros(SR, dtype=np.float32), SR)
    with pytest.raises(ValueError, match=r"performance quiet \(t\.csv\): .*silent\.wav.*silent"):
        store.notes(dict(base, perf_id="quiet", audio_path=str(tmp_path / "silent.wav")))
    noise = (np.random.default_rng(0).standard_normal(SR) * 0.3).astype(np.float32)
    write_wav(tmp_path / "noise.wav", noise, SR)
    notes = store.notes(dict(base, perf_id="noise", audio_path=str(tmp_path / "noise.wav")))
    assert note_array_problem(notes) is None and np.isfinite(notes).all()
    write_video(tmp_path / "mute.mp4", np.zeros((10, 32, 32, 3), dtype=np.uint8), 10.0)
    with pytest.raises(ValueError, match=r"performance mute \(t\.csv\): .*mute\.mp4: has no audio track"):
        store.notes(dict(base, perf_id="mute", audio_path=None, video_path=str(tmp_path / "mute.mp4")))
    with pytest.raises(ValueError, match=r"performance none \(t\.csv\): no audio to transcribe"):
        store.notes(dict(base, perf_id="none", audio_path=None))
    with pytest.raises(ValueError, match=r"performance nofps \(t\.csv\): frame_offset=5.*need the frame rate"):
        store.notes(dict(base, perf_id="nofps", audio_path=str(tmp_path / "noise.wav"), fps=None,
                         frame_offset=5))
    with pytest.raises(ValueError, match=r"performance late \(t\.csv\): the audio window .*past the end of"):
        store.notes(dict(base, perf_id="late", audio_path=str(tmp_path / "noise.wav"), frame_offset=20))
    assert sorted(p.name for p in store.folder.glob("*.npy")) == [store.path(
        dict(base, perf_id="noise", audio_path=str(tmp_path / "noise.wav"))).name]


CONFIG = """
pipeline = [dict(type='DecodeFrames'), dict(type='CropResize', size=(8, 8)),
            dict(type='LoadNotes', transcriber=dict(type='BasicPitchTranscriber', threads=1)),
            dict(type='PackAQAInputs', modalities=('video',))]
common = dict(type='AQACSVDataset', ann_file={ann!r}, modalities=('video',), pipeline=pipeline,
              clip_sampler=dict(type='UniformSampler', num_clips=2, clip_len=4), cache_dir={cache!r})
train_dataloader = dict(batch_size=1, dataset=dict(common, split='train'))
test_dataloader = dict(batch_size=1, dataset=dict(common, split='test'))
"""


def test_pisa_prepare_fills_the_note_store_beside_the_cache(synth, tmp_path):
    root, _ = synth
    cache = tmp_path / "cache"
    config = tmp_path / "cfg.py"
    config.write_text(CONFIG.format(ann=str(root / "annotations.csv"), cache=str(cache)))
    assert main(["prepare", str(config)]) == 0
    stores = list((cache / "notes").iterdir())
    assert len(stores) == 1 and stores[0].name.startswith("BasicPitchTranscriber-")
    files = _visible(stores[0])
    assert len(files) == 3  # 2 train + 1 test performances

    from mmengine.config import Config

    ds = DATASETS.build(Config.fromfile(str(config))["train_dataloader"]["dataset"])
    info = ds.get_data_info(0)
    assert info["cache_entry"] and Path(info["cache_entry"]).parent == cache
    load = next(t for t in ds.pipeline.transforms if type(t).__name__ == "LoadNotes")
    out = load(dict(info))
    stored = load.store(str(cache)).path(info)
    assert stored.name in files
    np.testing.assert_array_equal(out["notes"], np.load(stored))
    assert ds[0]["inputs"]["video"].shape[:2] == (2, 3)
    assert _visible(stores[0]).keys() == files.keys()  # read, nothing transcribed anew


def test_missing_packages_and_devices_are_named(monkeypatch):
    import onnxruntime

    from pisa_transcription.basic_pitch_transcriber import BasicPitchTranscriber

    if "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        with pytest.raises(RuntimeError, match=r"device='cuda'\): this onnxruntime has no CUDAExecutionProvider"):
            BasicPitchTranscriber(device="cuda").transcribe([np.zeros(SR, dtype=np.float32)])
    with pytest.raises(ValueError, match="device must be one of"):
        BasicPitchTranscriber(device="tpu")
    monkeypatch.setitem(sys.modules, "onnxruntime", None)  # as if it were not installed
    with pytest.raises(ImportError, match=r"needs basic-pitch 0\.4\.0 and onnxruntime .*"
                                          r"pip install --no-deps basic-pitch==0\.4\.0"):
        BasicPitchTranscriber()
