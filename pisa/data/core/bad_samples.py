"""Samples whose media fail while training: the report file, its summary, the errors.

A dataset (:class:`pisa.data.core.base_dataset.AQABaseDataset`) that fails to read a sample writes one
JSON line to the run's report file (``<work_dir>/bad_samples.jsonl``, set by
:class:`pisa.engine.hooks.run_hooks.BadSampleHook`)::

    {"split": "train", "stage": "read", "file": ".../p3.mp4", "sample_id": "p3/0",
     "frames": [0, 47], "error": "...", "pid": 4242}

``stage`` is ``'check'`` for a performance dropped while the dataset was built, ``'read'``
for a sample that failed in the pipeline; ``frames`` are the first and last source frame
the sample needed (None at the check). Lines are appended with ``O_APPEND`` in one
``write`` each, so DataLoader workers and ranks on one machine share the file, and counting
its lines counts failures across all of them. :func:`summarize_bad_samples` folds the lines
into one entry per bad sample with a ``count``.
"""
from __future__ import annotations

import os
from typing import Any, Dict, Iterable, List, Optional, Union

from pisa.io.jsonlines import iter_json_objects

#: name of the report file in the work dir
BAD_SAMPLE_REPORT = "bad_samples.jsonl"
#: longest error text kept per line (a line stays one short write)
_MAX_ERROR_CHARS = 600


class BadSampleWarning(UserWarning):
    """A performance or sample was dropped because ``on_bad_sample='skip'``."""


class BadSampleError(ValueError):
    """A sample failed to load and the dataset does not skip it: the message is one line
    naming the sample, the file, the frames and the error."""


class TooManyBadSamplesError(BadSampleError):
    """More bad samples than ``max_bad_samples`` allows; the message lists all of them."""


def one_line(text: str, limit: int = _MAX_ERROR_CHARS) -> str:
    """``text`` with its lines joined by ``' | '`` and cut to ``limit`` characters."""
    joined = " | ".join(part.strip() for part in str(text).splitlines() if part.strip())
    return joined if len(joined) <= limit else joined[: limit - 3] + "..."


def read_records(path: Union[str, os.PathLike], split: Optional[str] = None) -> List[Dict[str, Any]]:
    """The records in the report file ``path`` (all, or those of ``split``); an absent
    file has none. A line that is not a JSON object raises an error naming the line."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        return []
    records = [record for _, record in iter_json_objects(path)
               if split is None or record.get("split") == split]
    return records


def record_key(record: Dict[str, Any]) -> tuple:
    """What makes two records the same bad sample: split, file and sample (or performance)."""
    return (record.get("split"), record.get("file"), record.get("sample_id") or record.get("perf_id"))


def summarize_bad_samples(records: Iterable[Dict[str, Any]]) -> List[Dict[str, Any]]:
    """One entry per bad sample, in order of first failure: ``split``, ``stage``, ``file``,
    ``sample_id``, ``perf_id``, ``frames``, ``error`` (the latest) and ``count`` (how many
    times it failed)."""
    entries: Dict[tuple, Dict[str, Any]] = {}
    for record in records:
        key = record_key(record)
        entry = entries.get(key)
        if entry is None:
            entries[key] = entry = {k: record.get(k) for k in
                                    ("split", "stage", "file", "sample_id", "perf_id", "frames")}
            entry["count"] = 0
        entry["error"] = record.get("error")
        entry["count"] += 1
    return list(entries.values())


def format_bad_samples(summary: List[Dict[str, Any]]) -> str:
    """One line per entry of :func:`summarize_bad_samples`:
    ``[split] file frames a-b (sample s, failed N x): error``."""
    lines = []
    for e in summary:
        frames = f" frames {e['frames'][0]}-{e['frames'][1]}" if e.get("frames") else ""
        what = f"sample {e['sample_id']}" if e.get("sample_id") else f"performance {e.get('perf_id')}"
        lines.append(f"  [{e.get('split')}] {e.get('file')}{frames} ({what}, failed {e['count']}x): "
                     f"{e.get('error')}")
    return "\n".join(lines)


def bad_sample_limit(max_bad_samples: Union[None, int, float], num_samples: int) -> Optional[int]:
    """How many distinct bad samples a dataset of ``num_samples`` tolerates: None (no cap),
    an int count, or a float fraction in ``(0, 1)`` of the samples (rounded down)."""
    if max_bad_samples is None:
        return None
    if isinstance(max_bad_samples, float) and 0 < max_bad_samples < 1:
        return int(max_bad_samples * num_samples)
    return int(max_bad_samples)


def check_max_bad_samples(value: Any) -> None:
    """Raise ``ValueError`` unless ``value`` is None, an int >= 0 or a float in (0, 1)."""
    if value is None:
        return
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"max_bad_samples must be None, a count (int >= 0) or a fraction "
                         f"in (0, 1), got {value!r}")
    if isinstance(value, int) and value < 0 or isinstance(value, float) and not 0 < value < 1:
        raise ValueError(f"max_bad_samples must be None, a count (int >= 0) or a fraction "
                         f"in (0, 1), got {value!r}")


def worker_error_message(err: BaseException) -> str:
    """The message ``err`` was raised with, without the traceback PyTorch's DataLoader puts
    in front when it re-raises an error from a worker process."""
    text = str(err)
    if "Original Traceback" not in text:
        return text
    marker = f"{type(err).__module__}.{type(err).__qualname__}: "
    at = text.rfind(marker)
    return text[at + len(marker):].rstrip("\n") if at >= 0 else text
