"""A predict output's values as plain numbers (tensors or numpy), for the metrics."""
from __future__ import annotations

from typing import Any

import numpy as np


def as_float(value: Any) -> float:
    if hasattr(value, "detach"):
        value = value.detach().cpu()
    return float(np.asarray(value, dtype=np.float64).reshape(()))


def as_probs(value: Any) -> np.ndarray:
    if hasattr(value, "detach"):
        value = value.detach().cpu().float().numpy()
    return np.asarray(value, dtype=np.float64).reshape(-1)
