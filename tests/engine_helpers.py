"""Shared pieces of the engine tests: the tiny config and its command line, a rendered
synthetic data root, and reading weights out of a checkpoint."""

from __future__ import annotations

from pathlib import Path
from typing import Dict

import torch

REPO = Path(__file__).resolve().parents[1]
TINY_CONFIG = REPO / "configs" / "synthetic" / "tiny_c3d_adam-1e-3_2e_synthetic-video-unidist.py"


def render_tiny_dataset(out_dir: Path) -> Path:
    """Six short synthetic performances (2 s, 64x48): 2 test, 1 val, 3 train under the
    synthetic configs' performer-disjoint split."""
    from media import make_synth_dataset

    make_synth_dataset(out_dir, performances=6, seconds=2.0, size=(64, 48))
    return out_dir


def tiny_train_args(work_dir: Path, data_root: Path, *extra: str) -> list:
    """``pisa train`` arguments for the tiny config, deterministic, into ``work_dir``."""
    return ["train", str(TINY_CONFIG), "--work-dir", str(work_dir), "--data-root", str(data_root),
            "--deterministic", *extra]


def checkpoint_weights(path: Path) -> Dict[str, torch.Tensor]:
    """The model weights in a checkpoint, loaded through the allowlisted loader."""
    from pisa.io.safe_load import load_checkpoint_file

    return load_checkpoint_file(str(path), map_location="cpu")["state_dict"]


def assert_same_weights(a: Dict[str, torch.Tensor], b: Dict[str, torch.Tensor]) -> None:
    assert a.keys() == b.keys()
    for key in a:
        assert torch.equal(a[key], b[key]), f"weights differ at {key}"
