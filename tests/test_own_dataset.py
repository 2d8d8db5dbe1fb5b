"""The own-dataset route as a new user walks it: a folder of videos and a CSV with only
train and test rows and no fps column -> train (validation carved from train) -> test ->
predict, through the command line, over the generic CSV base config unchanged."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from media import make_video
from pisa.cli import main

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_a_csv_of_train_and_test_rows_trains_tests_and_predicts(tmp_path, monkeypatch, capsys):
    media = tmp_path / "recordings"
    rows = ["id,split,video,target,performer"]
    for i in range(10):
        make_video(media / f"r{i}.mp4", frames=170, size=(64, 48), fps=25.0, tone_at_frame=0)
        rows.append(f"r{i},{'train' if i < 8 else 'test'},r{i}.mp4,{1 + i % 3},player{i // 2}")
    (media / "annotations.csv").write_text("\n".join(rows) + "\n")
    monkeypatch.setenv("AQA_ANN_FILE", str(media / "annotations.csv"))
    monkeypatch.setenv("PISA_CACHE_DIR", str(tmp_path / "cache"))
    config = tmp_path / "my_dataset.py"
    # the dataset base as shipped; only a tiny model and a short schedule on top
    config.write_text(f"""
_base_ = [{str(REPO / 'configs/_base_/datasets/aqa_csv.py')!r},
          {str(REPO / 'configs/_base_/models/pisa_multimodal.py')!r},
          {str(REPO / 'configs/_base_/schedules/adam_1e-4_100e.py')!r},
          {str(REPO / 'configs/_base_/default_runtime.py')!r}]
model = dict(video_backbone=dict(widths=(4, 8), feature_dim=16, size=112),
             audio_backbone=dict(width=4), head=dict(hidden=8))
train_cfg = dict(max_epochs=2)
# the base's two workers in training: they fill the cache on first read
train_dataloader = dict(batch_size=2, dataset=dict(cache_dir='auto'))
val_dataloader = dict(num_workers=0, batch_size=2, dataset=dict(cache_dir='auto'))
test_dataloader = dict(num_workers=0, batch_size=2, dataset=dict(cache_dir='auto'))
""")
    work = tmp_path / "work"
    assert main(["train", str(config), "--work-dir", str(work)]) == 0
    results = json.loads((work / "results.json").read_text())
    counts = results["split_counts"]
    assert sum(counts["val"].values()) > 0 and sum(counts["test"].values()) > 0
    assert results["protocol"] == "val" and results["val_metrics"] and results["test_metrics"]
    # one decoded entry per performance, beside the note store the transcription
    # baseline filled for its training and test performances (the same 'auto' folder)
    entries = [p for p in (tmp_path / "cache").iterdir() if p.is_dir() and p.name != "notes"]
    assert len(entries) == 10 and not list((tmp_path / "cache").glob("*.lock"))
    assert 0 < len(list((tmp_path / "cache" / "notes").glob("*/*.npy"))) < 10
    checkpoint = results["checkpoint"]
    assert main(["test", str(config), checkpoint, "--work-dir", str(work)]) == 0
    capsys.readouterr()
    assert main(["predict", str(config), checkpoint, str(media / "r9.mp4"), "--json",
                 "--no-progress"]) == 0
    prediction = json.loads(capsys.readouterr().out)["recordings"][0]
    assert 1 <= prediction["level"] <= 10 and prediction["segments"]
