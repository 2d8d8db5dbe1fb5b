"""What every benchmark shares: the timer, the settings of a quick or full run, and the
result record (a ratio against a baseline measured in the same run)."""
from __future__ import annotations

import statistics
import time
from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Dict, List, Optional, Tuple


@dataclass
class Settings:
    """Input sizes and repeats of one run. ``quick`` scales everything down (short videos,
    narrower models, fewer repeats) to finish in under a minute on 2 CPU cores."""

    quick: bool
    #: the ~90 s performance (frames) and the longest one (frames), both 1280x720 at 30 fps
    performance_frames: int
    long_frames: int
    width: int = 1280
    height: int = 720
    fps: float = 30.0
    sample_rate: int = 44100
    #: samples timed per loader (distinct samples of the performance)
    load_samples: int = 3
    #: the training-step model: C3D widths, clips per sample, batch size, timed steps
    step_widths: Tuple[int, ...] = (64, 128, 256, 256, 256)
    step_clips: int = 2
    step_batch: int = 2
    step_iters: int = 6
    #: fast-path benchmark: clips per forward/backward and timed repeats per mode
    fast_batch: int = 2
    fast_repeats: int = 3
    #: predict benchmark: C3D widths (the reference model) and clips per segment
    predict_widths: Tuple[int, ...] = (64, 128, 256, 256, 256)
    predict_clips: int = 10
    #: memory benchmark: performances in the original dataset (x10 for the larger one)
    memory_performances: int = 8
    #: memory benchmark source video (width, height) and frames per performance
    memory_size: Tuple[int, int] = (320, 240)
    memory_frames: int = 160
    #: full mode only: the short bf16-vs-fp32 training on synthetic data
    accuracy_run: bool = True
    #: data-wait benchmark: synthetic 320x180 30 fps performances, their length in seconds
    wait_performances: int = 8
    wait_seconds: float = 60.0
    #: transcription benchmark: `pisa synth` performances and their mean played seconds
    transcription_performances: int = 40
    transcription_seconds: float = 18.0
    #: serve benchmark: concurrent clients, uploads per client, each one's recording
    serve_clients: int = 4
    serve_requests: int = 4
    serve_frames: int = 300
    serve_size: Tuple[int, int] = (640, 360)

    @classmethod
    def for_mode(cls, quick: bool) -> "Settings":
        if not quick:
            return cls(quick=False, performance_frames=2700, long_frames=10000)
        return cls(quick=True, performance_frames=200, long_frames=200, load_samples=1,
                   step_widths=(16, 32, 64, 64, 64), step_clips=1, step_batch=2, step_iters=6,
                   fast_batch=1, fast_repeats=2, predict_widths=(32, 64, 128, 128, 128),
                   predict_clips=2, memory_performances=2,
                   memory_size=(160, 120), accuracy_run=False, wait_performances=6,
                   wait_seconds=10.0, transcription_performances=8, transcription_seconds=8.0,
                   serve_requests=2, serve_frames=96, serve_size=(320, 240))


@dataclass
class Result:
    """One figure: ``value`` of the framework's way against ``baseline`` (same unit, same
    run), ``ratio`` as the target states it, and whether the target holds."""

    key: str
    figure: str
    baseline_name: str
    unit: str
    value: float
    baseline: float
    ratio: float
    ratio_name: str
    target: str
    met: bool
    notes: List[str] = field(default_factory=list)
    extra: Dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> Dict[str, Any]:
        return asdict(self)


def timed(fn: Callable[[], Any]) -> Tuple[float, Any]:
    """``(seconds, result)`` of one call of ``fn``."""
    start = time.perf_counter()
    out = fn()
    return time.perf_counter() - start, out


def median(values: List[float]) -> float:
    """Median of a non-empty list of timings."""
    return float(statistics.median(values))


def speedup_result(key: str, figure: str, baseline_name: str, ours_s: float, baseline_s: float,
                   at_least: float, notes: Optional[List[str]] = None,
                   extra: Optional[Dict[str, Any]] = None) -> Result:
    """A time figure where the target is ``baseline / ours >= at_least``."""
    ratio = baseline_s / ours_s
    return Result(key, figure, baseline_name, "s", ours_s, baseline_s, ratio, "speed-up",
                  f">= {at_least:g}x", ratio >= at_least, list(notes or []), dict(extra or {}))


def overhead_result(key: str, figure: str, baseline_name: str, ours: float, baseline: float,
                    at_most: float, unit: str = "s", notes: Optional[List[str]] = None,
                    extra: Optional[Dict[str, Any]] = None) -> Result:
    """A figure where the target is ``ours / baseline <= at_most``."""
    ratio = ours / baseline
    return Result(key, figure, baseline_name, unit, ours, baseline, ratio, "ours / baseline",
                  f"<= {at_most:g}x", ratio <= at_most, list(notes or []), dict(extra or {}))


def throughput_result(key: str, figure: str, baseline_name: str, ours: float, baseline: float,
                      at_least: float, unit: str, notes: Optional[List[str]] = None,
                      extra: Optional[Dict[str, Any]] = None) -> Result:
    """A rate figure (higher is better) where the target is ``ours / baseline >= at_least``."""
    ratio = ours / baseline
    return Result(key, figure, baseline_name, unit, ours, baseline, ratio, "ours / baseline",
                  f">= {at_least:g}x", ratio >= at_least, list(notes or []), dict(extra or {}))
