"""A dataset's log of bad samples (the report format and the counting:
:mod:`pisa.data.core.bad_samples`): performances dropped while the dataset was built and
samples whose media failed later, kept in the process until a report file is set
(``BadSampleHook``), then appended there, so the count covers every worker and rank."""
from __future__ import annotations

import os
import warnings
from typing import Callable, Dict, List, Optional, Union

import numpy as np

from pisa.data.core import bad_samples as bad_lib
from pisa.data.core.bad_samples import BadSampleWarning
from pisa.io.jsonlines import append_json_line


def failed_file(info: Dict, err: Exception) -> Optional[str]:
    """The sample's source the error names (video, audio, frame folder or cache entry),
    else its video or frame folder."""
    text = str(err)
    sources = [info.get(k) for k in ("video_path", "audio_path", "frame_dir", "cache_entry")]
    for source in sources:
        if source and str(source) in text:
            return str(source)
    return next((str(s) for s in sources if s), None)


class BadSampleLog:
    """The bad samples of one dataset: ``split`` tags its records, ``max_bad_samples``
    caps them (a count, a fraction of the dataset's samples, or None), ``on_bad_sample``
    (``'error'`` or ``'skip'``) says whether a failure raises or is dropped."""

    def __init__(self, split: str, on_bad_sample: str = "error",
                 max_bad_samples: Union[None, int, float] = None) -> None:
        if on_bad_sample not in ("error", "skip"):
            raise ValueError(f"on_bad_sample must be 'error' or 'skip', got {on_bad_sample!r}")
        bad_lib.check_max_bad_samples(max_bad_samples)
        self.split, self.on_bad_sample = split, on_bad_sample
        self.max_bad_samples = max_bad_samples
        self.report: Optional[str] = None
        # failures seen in this process while no report file is set
        self.pending: List[Dict] = []

    def build_failure(self, err: Exception, perf: Optional[Dict] = None) -> None:
        """A performance failed while the dataset was built: raise, or with ``'skip'``
        warn and keep a ``'check'`` record for the report."""
        if self.on_bad_sample != "skip":
            raise err
        warnings.warn(f"skipped: {err}", BadSampleWarning, stacklevel=4)
        perf = perf or {}
        self.pending.append(dict(
            split=self.split, stage="check", perf_id=perf.get("perf_id"), sample_id=None,
            frames=None, file=failed_file(perf, err), error=bad_lib.one_line(err),
            pid=os.getpid()))

    def set_report(self, path: Optional[str], split: Optional[str] = None,
                   write_build_records: bool = True,
                   num_samples: Callable[[], int] = lambda: 0) -> None:
        """Write failures to the JSON-lines report ``path`` from now on (None: keep them
        in this process), tagged with ``split``; the records kept so far go to the file
        first (``write_build_records``; one rank writes them), then the cap is checked
        against the dataset's ``num_samples()`` (asked only then)."""
        if split is not None:
            self.split = split
            for record in self.pending:
                record["split"] = split
        self.report = os.fspath(path) if path else None
        if self.report is None:
            return
        pending, self.pending = self.pending, []
        if write_build_records:
            for record in pending:
                append_json_line(self.report, record)
        if pending:
            self.check_cap(num_samples())

    def records(self) -> List[Dict]:
        """Failures recorded so far for this split: from the report file (every worker and
        rank) when one is set, else those seen in this process."""
        if self.report:
            return bad_lib.read_records(self.report, self.split)
        return list(self.pending)

    def check_cap(self, num: int) -> None:
        """Raise :class:`~pisa.data.core.bad_samples.TooManyBadSamplesError`, listing
        them, when more distinct bad samples were recorded than ``max_bad_samples`` allows
        of ``num`` samples."""
        limit = bad_lib.bad_sample_limit(self.max_bad_samples, num)
        if limit is None:
            return
        summary = bad_lib.summarize_bad_samples(self.records())
        if len(summary) > limit:
            raise bad_lib.TooManyBadSamplesError(
                f"{len(summary)} bad samples in the {self.split} data exceed "
                f"max_bad_samples={self.max_bad_samples!r} ({limit} of {num} samples); "
                f"stopping. Bad samples:\n{bad_lib.format_bad_samples(summary)}")

    def read_failure(self, info: Dict, err: Exception) -> str:
        """Record a sample that failed in the pipeline; returns its one-line description."""
        inds = np.asarray(info.get("frame_inds", []), dtype=np.int64) + int(info.get("frame_offset") or 0)
        frames = [int(inds.min()), int(inds.max())] if inds.size else None
        record = dict(split=self.split, stage="read", perf_id=info.get("perf_id"),
                      sample_id=info.get("sample_id"), frames=frames,
                      file=failed_file(info, err), error=bad_lib.one_line(err), pid=os.getpid())
        if self.report:
            append_json_line(self.report, record)
        else:
            self.pending.append(record)
        span = f" frames {frames[0]}-{frames[1]}" if frames else ""
        return f"bad sample {record['sample_id']} ({record['file']}{span}): {record['error']}"
