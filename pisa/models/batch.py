"""Reading a collated batch's ``data_samples`` (the sample contract in DEVELOPERS.md)."""
from __future__ import annotations

from typing import Any, Callable, List, Optional

import torch


def sample_column(data_samples: Optional[dict], key: str, cast: Callable[[Any], Any],
                  batch: int, default: Any = None) -> List[Any]:
    """``data_samples[key]`` (a tensor or a list, one entry per sample) as a list of
    ``cast`` values; ``[default] * batch`` when the batch has no such key."""
    values = data_samples.get(key) if isinstance(data_samples, dict) else None
    if values is None:
        return [default] * batch
    if isinstance(values, torch.Tensor):
        values = values.tolist()
    return [cast(v) for v in values]
