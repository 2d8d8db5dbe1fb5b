"""A notes model from outside: `pisa predict` reports the notes the transcriber heard (in
the recording's time), their descriptors, and draws the piano roll under the level
timeline; `pisa extract-features` stores its encoder's clip features (the feature
track), the features the model itself computes."""
from __future__ import annotations

import json
from pathlib import Path

import mir_eval
import numpy as np
import pytest
import torch
from matplotlib import image as mpimg

from pisa.cli import main
from pisa.engine.config_loader import load_config
from pisa.registry import MODELS
from pisa.synth import SynthSettings, synthesize_dataset
from pisa_transcription.descriptors import DESCRIPTOR_NAMES, note_descriptors
from pisa_transcription.notes import read_notes_csv

CONFIG = """
required_plugins = ['pisa-transcription']
model = dict(
    type='AQAModel',
    data_preprocessor=dict(type='AQADataPreprocessor'),
    notes_backbone=dict(type='PianoRollEncoder', width=2, feature_dim=8),
    extra_features=dict(notes=dict(clip=21, sample=21)),
    fusion=None,
    head=dict(type='LevelHead', hidden=8, num_classes=10),
    branches=('notes', ), decision_branch='notes')
pipeline = [
    dict(type='LoadNotes', transcriber=dict(type='BasicPitchTranscriber', threads=1)),
    dict(type='PianoRoll', width=16),
    dict(type='NoteDescriptors', performance=True),
    dict(type='PackAQAInputs', modalities=('notes', ), extra_inputs=dict(
        notes_clip_features='note_descriptors', notes_sample_features='performance_descriptors')),
]
test_dataloader = dict(
    batch_size=2, collate_fn=dict(type='default_collate'),
    dataset=dict(type='AQACSVDataset', ann_file='{ann}', split='test', modalities=('notes', ),
                 clip_sampler=dict(type='UniformSampler', num_clips=2, clip_len=16),
                 pipeline=pipeline))
"""


@pytest.fixture(scope="module")
def notes_model(tmp_path_factory):
    root = tmp_path_factory.mktemp("notes_predict")
    table = synthesize_dataset(root, SynthSettings(performances=1, seed=3, seconds=4.0, width=96,
                                                   height=72, sample_rate=22050))
    perf = table[0]
    ann = root / "ann.csv"
    ann.write_text(f"id,split,video,target\n{perf['id']},test,videos/{perf['id']}.mp4,5\n")
    config = root / "tiny_notes.py"
    config.write_text(CONFIG.format(ann=ann))
    torch.manual_seed(0)
    model = MODELS.build(load_config(config).model).eval()
    ckpt = root / "tiny_notes.pth"
    torch.save({"meta": {"epoch": 1}, "state_dict": model.state_dict()}, ckpt)
    return dict(root=root, perf=perf, config=config, ckpt=ckpt,
                video=root / "videos" / f"{perf['id']}.mp4")


def test_predict_reports_the_notes_heard_and_draws_their_piano_roll(notes_model, tmp_path, capsys,
                                                                     monkeypatch):
    monkeypatch.setenv("PISA_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "out"
    assert main(["predict", str(notes_model["config"]), str(notes_model["ckpt"]),
                 str(notes_model["video"]), "--json", "--out", str(out)]) == 0
    record = json.loads(capsys.readouterr().out)["recordings"][0]  # --json prints only JSON
    notes = record["evidence"]["notes"]
    assert notes["transcriber"] == "BasicPitchTranscriber"
    events = np.asarray(notes["events"], dtype=np.float64)
    assert notes["count"] == len(events) > 0
    # the events are in the recording's time: they match what synth rendered (video time)
    truth = read_notes_csv(notes_model["root"] / "notes.csv")[str(notes_model["perf"]["id"])]
    hz = lambda n: 440.0 * 2.0 ** ((n[:, 2] - 69.0) / 12.0)  # noqa: E731
    f1 = mir_eval.transcription.precision_recall_f1_overlap(
        truth[:, :2], hz(truth), events[:, :2], hz(events), onset_tolerance=0.05, offset_ratio=None)[2]
    assert f1 > 0.65
    # the descriptors are those of the whole recording's notes
    assert set(notes["descriptors"]) == set(DESCRIPTOR_NAMES)
    length = record["num_frames"] / record["fps"]
    expected = note_descriptors(events, 0.0, length)
    assert np.allclose([notes["descriptors"][n] for n in DESCRIPTOR_NAMES], expected, atol=1e-5)
    # the note store was filled beside the (here: default) cache
    assert list((tmp_path / "cache" / "notes").glob("*/*.npy"))
    # the plot has the piano-roll panel under the timeline: the taller figure
    plot = next(out.glob("*_timeline.png"))
    assert mpimg.imread(plot).shape[:2] == (600, 1000)


def test_extract_features_stores_the_notes_encoders_clip_features(notes_model, tmp_path, monkeypatch):
    from mmengine.dataset import default_collate

    from pisa.registry import DATASETS

    monkeypatch.setenv("PISA_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "features"
    assert main(["extract-features", str(notes_model["config"]), "--checkpoint",
                 str(notes_model["ckpt"]), "--out", str(out), "--no-progress"]) == 0
    stored = np.load(next(out.glob("PianoRollEncoder-notes-*/*.npy")))
    # the same clips through the model's own encoder (its pipeline, its preprocessor)
    cfg = load_config(notes_model["config"])
    dataset = DATASETS.build(cfg.test_dataloader.dataset)
    model = MODELS.build(cfg.model).eval()
    model.load_state_dict(torch.load(notes_model["ckpt"], weights_only=True)["state_dict"])
    batch = model.data_preprocessor(default_collate([dataset[i] for i in range(len(dataset))]))
    rolls = batch["inputs"]["notes"]
    with torch.no_grad():
        expected = model.notes_backbone(rolls.flatten(0, 1)).numpy()
    assert stored.shape == expected.shape == (len(dataset) * 2, 8)
    assert np.allclose(stored, expected, atol=1e-5)
