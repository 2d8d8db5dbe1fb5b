"""Reading a collated batch's ``data_samples`` (the sample contract in DEVELOPERS.md)."""
from __future__ import annotations

from typing import Any, Callable, Dict, List, Optional

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


#: the ground-truth keys of a predict-output dict -> (``data_samples`` key, cast)
TRUTH_KEYS = {"gt_label": ("label", int), "gt_score": ("score", float),
              "sample_id": ("sample_id", str), "group": ("group", str)}


def sample_truths(data_samples: Optional[dict], batch: int) -> List[Dict[str, Any]]:
    """One dict per sample with the keys a predict-output dict carries from its sample
    (``gt_label``, ``gt_score``, ``sample_id``, ``group``; None where the batch lacks
    the ``data_samples`` key), to update with the model's own predictions."""
    columns = {out: sample_column(data_samples, key, cast, batch)
               for out, (key, cast) in TRUTH_KEYS.items()}
    return [{out: values[i] for out, values in columns.items()} for i in range(batch)]
