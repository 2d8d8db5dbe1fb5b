"""The public I3D ports' state-dict layouts, kept as data in ``tests/data`` (names and
shapes read off pytorch-i3d's ``InceptionI3d(400)``, the layout of ``rgb_imagenet.pt``,
and CoRe's ``I3D(400, 'rgb')``, the layout of ``model_rgb.pth``; each file's first line
says which), and stand-in weights files in those layouts."""
from __future__ import annotations

from pathlib import Path
from typing import Dict, List, Tuple

import torch

DATA = Path(__file__).parent / "data"
Manifest = List[Tuple[str, Tuple[int, ...]]]


def manifest(name: str) -> Manifest:
    rows = []
    for line in (DATA / name).read_text().splitlines():
        if line and not line.startswith("#"):
            key, shape = line.split()
            rows.append((key, tuple(int(n) for n in shape.split("x"))))
    return rows


PIERGIAJ = manifest("i3d_pytorch-i3d_rgb.txt")
CORE = manifest("i3d_core_rgb.txt")


def random_state(rows: Manifest, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Small random tensors of the manifest's names and shapes (positive variances)."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, shape in rows:
        value = torch.rand(shape, generator=gen) * 0.2 - 0.1
        if key.endswith("running_var"):
            value = value.abs() + 0.5
        state[key] = value
    return state


def stand_in_file(path: Path, rows: Manifest, seed: int = 0) -> Dict[str, torch.Tensor]:
    """Write a weights file in a manifest's layout to ``path``; returns its tensors."""
    state = random_state(rows, seed)
    torch.save(state, path)
    return state
