"""The dataset base configs: they parse, take their data root from the environment, and
build datasets that give samples of the paper's shapes."""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pytest
from mmengine.config import Config

from media import make_video  # noqa: E402

from pisa.registry import DATASETS  # noqa: E402

CONFIGS = Path(__file__).resolve().parents[1] / "configs" / "_base_" / "datasets"


#: every dataset base config (a new one is checked without editing this file); a name
#: starting with ``_`` is a part the bases share, naming no dataset of its own
BASE_CONFIGS = sorted(p.stem for p in CONFIGS.glob("*.py") if not p.stem.startswith("_"))


def _environment_variables(path: Path) -> set:
    """The ``{{$VAR:default}}`` variables a config (and the bases it names) reads."""
    found = set(re.findall(r"\{\{\$(\w+):", path.read_text()))
    for base in re.findall(r"['\"](\./[\w./]+\.py)['\"]", path.read_text()):
        found |= _environment_variables((path.parent / base).resolve())
    return found


def test_every_dataset_base_config_is_checked():
    assert {"pisa_unidist", "pisa_consecutive", "aqa_csv", "mtl_aqa"} <= set(BASE_CONFIGS)


@pytest.mark.parametrize("name", BASE_CONFIGS)
def test_configs_hold_no_absolute_paths(name, monkeypatch):
    for var in _environment_variables(CONFIGS / f"{name}.py"):
        monkeypatch.delenv(var, raising=False)
    cfg = Config.fromfile(str(CONFIGS / f"{name}.py"))
    for loader in ("train_dataloader", "val_dataloader", "test_dataloader"):
        ds = cfg[loader]["dataset"]
        root = ds.get("data_root") or ds.get("ann_file")
        assert root.startswith("data/"), (loader, root)
    assert cfg.train_dataloader.dataset.split == "train" and cfg.test_dataloader.dataset.split == "test"


def test_pisa_configs_set_the_paper_sampling(monkeypatch):
    unidist = Config.fromfile(str(CONFIGS / "pisa_unidist.py"))
    consecutive = Config.fromfile(str(CONFIGS / "pisa_consecutive.py"))
    assert unidist.train_dataloader.dataset.clip_sampler == dict(type="UniformSampler", num_clips=10, clip_len=16)
    for split in ("train_dataloader", "test_dataloader"):
        ds = consecutive[split].dataset
        assert ds.scheme == "consecutive" and ds.clip_sampler.type == "ContiguousSampler"
    assert any(t["type"] == "RandomFlip" for t in unidist.train_dataloader.dataset.pipeline)
    assert not any(t["type"] == "RandomFlip" for t in unidist.test_dataloader.dataset.pipeline)


@pytest.mark.slow
def test_pisa_config_builds_paper_shaped_samples(tmp_path, monkeypatch):
    make_video(tmp_path / "1.mp4", frames=170, tone_at_frame=0)
    with open(tmp_path / "table.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
                         "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video", "youtube", "song"])
        writer.writerow([1, "train", 25.0, 4.0, 168.0, 6, 2, 4, 4, 60, 44, 1, "", ""])
    monkeypatch.setenv("PISA_DATA_ROOT", str(tmp_path))
    cfg = Config.fromfile(str(CONFIGS / "pisa_unidist.py"))
    ds_cfg = cfg.train_dataloader.dataset
    assert ds_cfg.data_root == str(tmp_path)
    # one performance: no validation split can be carved from it
    ds = DATASETS.build(dict(ds_cfg, table=str(tmp_path / "table.csv"), val_performances=0))
    assert len(ds) == 1  # 164 frames: one sample of 160
    item = ds[0]
    assert item["inputs"]["video"].shape == (10, 3, 16, 112, 112)
    assert item["inputs"]["audio"].shape == (10, 1, 224, 224)
    assert item["data_samples"]["label"] == 5
