"""Run the benchmark suite: ``python -m benchmarks [--quick] [--out FILE.json]`` (or
``python benchmarks/run.py ...``) from the repository root.

Inputs are generated into a temporary folder. Every figure is a ratio against a baseline
measured in the same process and the same run; the table is printed and the figures are
written as JSON (``--out``, default ``benchmarks/results-<mode>.json``).
"""
from __future__ import annotations

import argparse
import datetime
import os
import platform
import subprocess
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.backbones import BACKBONE_KEYS  # noqa: E402
from benchmarks.common import Result, Settings  # noqa: E402
from benchmarks.loading import MEDIA_BACKENDS  # noqa: E402
from pisa.io.atomic import write_json  # noqa: E402

#: every benchmark, in the order they run
PREPARE_KEYS = tuple(f"prepare_throughput_{b}" for b in MEDIA_BACKENDS)
NOCACHE_KEYS = tuple(f"nocache_sample_load_{b}" for b in MEDIA_BACKENDS)
FILL_KEYS = tuple(f"first_epoch_fill_{b}" for b in MEDIA_BACKENDS)
#: every benchmark, in the order they run (a backend's rows are left out where it does not run)
BENCHMARKS = (PREPARE_KEYS + ("cached_sample_load",) + NOCACHE_KEYS
              + ("train_step", "fast_path", "predict", "memory", "data_wait_cached", "data_wait_uncached")
              + FILL_KEYS + ("feature_epoch", "transcription", "transcription_f1", "serve") + BACKBONE_KEYS)


def cpu_model() -> str:
    """``lscpu``'s model name (``platform.processor()`` when lscpu is missing)."""
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return platform.processor() or "unknown"
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return "unknown"


def machine() -> Dict[str, Any]:
    """CPU model, cores, torch threads and the load average (others may share the CPU)."""
    import torch

    return dict(cpu=cpu_model(), cores=os.cpu_count(), torch_threads=torch.get_num_threads(),
                python=platform.python_version(), torch=torch.__version__,
                load_average=list(os.getloadavg()))


def make_inputs(settings: Settings, root: Path) -> Dict[str, Any]:
    """Write the performance (and the long one, when it differs) with its wav, the released
    JPEG folder (all frames in full mode; in quick mode the frames the timed samples read),
    the PISA performance table, and the memory benchmark's performances (hard links to one
    small video, each its own cache entry) with a table of the original size and one 10x."""
    from benchmarks.loading import CLIP_LEN, NUM_CLIPS
    from benchmarks.media import crop_box, extract_jpegs, table_row, write_performance, write_table
    from pisa.data.core.clip_samplers import uniform_indices

    s = settings
    start = time.perf_counter()
    crop = crop_box(s.width, s.height)
    # PISA ids are numbers; 'video' layout files are <data_root>/<id>.mp4
    video, wav = write_performance(root / "perf", "1", s.performance_frames, s.width,
                                   s.height, s.fps, s.sample_rate)
    table = write_table(root / "perf" / "performances.csv",
                        [table_row("1", s.performance_frames, s.fps, crop)])
    long_video = video
    if s.long_frames != s.performance_frames:
        long_video, _ = write_performance(root / "long", "long", s.long_frames, s.width, s.height,
                                          s.fps, s.sample_rate, seed=1)
    needed = None
    if s.quick:
        inds = uniform_indices(s.performance_frames, NUM_CLIPS, CLIP_LEN, max_samples=s.load_samples)
        needed = inds.reshape(-1).tolist()
    jpeg_dir = extract_jpegs(video, root / "frames" / "performance", needed)
    mem = root / "memory"
    source, _ = write_performance(mem, "source", s.memory_frames, s.memory_size[0], s.memory_size[1],
                                  s.fps, 22050, seed=2)
    mem_crop = crop_box(*s.memory_size)
    rows = []
    for i in range(10 * s.memory_performances):
        os.link(source, mem / f"{100 + i}.mp4")
        rows.append(table_row(str(100 + i), s.memory_frames, s.fps, mem_crop, level=1 + i % 10))
    small_table = write_table(mem / "original.csv", rows[:s.memory_performances])
    large_table = write_table(mem / "larger.csv", rows)
    return dict(video=video, wav=wav, long_video=long_video, crop=crop, jpeg_dir=jpeg_dir,
                table=table, small_table=small_table, large_table=large_table,
                seconds=time.perf_counter() - start)


def prepare_memory_cache(large_table: Path, cache_dir: Path) -> None:
    """Prepare the memory benchmark's entries (the original set's are a subset)."""
    import contextlib
    import io

    from benchmarks.memory import dataset_cfg
    from pisa.data.core.cache import write_cache
    from pisa.registry import DATASETS

    with contextlib.redirect_stderr(io.StringIO()), contextlib.redirect_stdout(io.StringIO()):
        write_cache(DATASETS.build(dataset_cfg(str(large_table), None)), cache_dir)


def profile_summary(profiler: Any, top: int = 12) -> List[str]:
    """The ``top`` functions by own time of a ``cProfile.Profile``, one line each:
    ``own s, cumulative s, calls, file:line(function)`` (main thread only)."""
    import pstats

    stats = pstats.Stats(profiler)
    rows = sorted(stats.stats.items(), key=lambda kv: kv[1][2], reverse=True)[:top]
    out = []
    for (filename, line, func), (_, calls, own, cum, _) in rows:
        where = "/".join(Path(filename).parts[-2:]) if filename != "~" else ""
        out.append(f"{own:8.3f} s own {cum:8.3f} s cum {calls:7d} calls  {where}:{line}({func})")
    return out


def run_suite(settings: Settings, root: Path, only: Optional[Sequence[str]] = None,
              log: Callable[[str], None] = print, profile: bool = False) -> Dict[str, Any]:
    """Generate the inputs under ``root`` and run the benchmarks (``only``: a subset of
    :data:`BENCHMARKS`). Returns the report: ``mode``, ``scaled_down``, ``machine``,
    ``date``, ``inputs``, ``results`` (key -> :class:`Result` dict, or ``{'error': ...}``),
    ``seconds`` and, with ``profile``, ``profiles`` (benchmark -> :func:`profile_summary`;
    profiling slows the figures, so profile runs are for finding bounds, not for figures)."""
    from benchmarks import (backbones, features, loading, memory, predicting, serving, training,
                            transcription)

    wanted = list(BENCHMARKS if only is None else only)
    unknown = [w for w in wanted if w not in BENCHMARKS]
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; choose from {list(BENCHMARKS)}")
    start = time.perf_counter()
    report: Dict[str, Any] = dict(
        mode="quick" if settings.quick else "full",
        scaled_down=scaled_down_note(settings),
        machine=machine(), date=datetime.datetime.now().isoformat(timespec="seconds"),
        settings={k: list(v) if isinstance(v, tuple) else v for k, v in vars(settings).items()},
        results={}, profiles={})
    log(f"generating inputs in {root} ...")
    inputs = make_inputs(settings, root)
    report["inputs"] = dict(performance_frames=settings.performance_frames,
                            long_frames=settings.long_frames,
                            size=[settings.width, settings.height], fps=settings.fps,
                            sample_rate=settings.sample_rate, crop_box=list(inputs["crop"]),
                            generation_s=inputs["seconds"])
    cache_dir = root / "cache"
    # the cached loader reads the entry that the prepare benchmark writes
    if not set(PREPARE_KEYS) & set(wanted) and set(NOCACHE_KEYS + ("cached_sample_load",)) & set(wanted):
        wanted.insert(0, PREPARE_KEYS[0])
    # the backends whose rows are wanted (the prepare rows: the first one writes the cache)
    backends = [b for b in MEDIA_BACKENDS if any(k.endswith(f"_{b}") for k in wanted)]
    steps: Dict[str, Callable[[], List[Result]]] = {
        "prepare_throughput": lambda: loading.bench_prepare(inputs["table"], inputs["video"], cache_dir, root,
                                                            backends),
        "cached_sample_load": lambda: loading.bench_loading(
            inputs["table"], inputs["jpeg_dir"], inputs["wav"], cache_dir, settings.fps, inputs["crop"],
            settings.load_samples, backends),
        "train_step": lambda: [training.bench_train_step(settings, root)],
        "fast_path": lambda: [fast_path_with_accuracy(settings, root)],
        "predict": lambda: [predicting.bench_predict(inputs["long_video"], inputs["crop"],
                                                     settings.predict_widths, root,
                                                     settings.predict_clips)],
        "memory": lambda: [memory_result(inputs, root)],
        "data_wait_cached": lambda: training.bench_data_wait(settings, root, backends),
        "feature_epoch": lambda: [features.bench_feature_epoch(settings, root)],
        "transcription": lambda: transcription.bench_transcription(settings, root),
        "serve": lambda: [serving.bench_serve(settings, root / "serve")],
        "backbone_forward": lambda: backbones.bench_backbone_forward(
            settings, root, [e for e in backbones.BACKBONES if backbones.result_key(e[0]) in wanted]),
    }
    # the benchmarks that give several figures: each figure's key -> its benchmark
    step_of = {"data_wait_uncached": "data_wait_cached", "transcription_f1": "transcription",
               **{k: "prepare_throughput" for k in PREPARE_KEYS},
               **{k: "cached_sample_load" for k in NOCACHE_KEYS},
               **{k: "data_wait_cached" for k in FILL_KEYS},
               **{k: "backbone_forward" for k in BACKBONE_KEYS}}
    done = set()
    for key in wanted:
        step = step_of.get(key, key)
        if step in done:
            continue
        done.add(step)
        log(f"running {key} ...")
        t0 = time.perf_counter()
        profiler = None
        if profile:
            import cProfile

            profiler = cProfile.Profile()
            profiler.enable()
        try:
            results = steps[step]()
        except Exception as err:  # one failing benchmark is reported, the others still run
            keys = [k for k in wanted if step_of.get(k, k) == step]
            for k in keys:
                report["results"][k] = dict(error=f"{type(err).__name__}: {err}",
                                            traceback=traceback.format_exc(limit=4))
            log(f"  {key} failed: {type(err).__name__}: {err}")
            continue
        finally:
            if profiler is not None:
                profiler.disable()
                report["profiles"][step] = profile_summary(profiler)
        for result in results:
            if result.key in wanted:
                report["results"][result.key] = result.to_dict()
        log(f"  done in {time.perf_counter() - t0:.1f} s")
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["seconds"] = time.perf_counter() - start
    return report


def fast_path_with_accuracy(settings: Settings, root: Path) -> Result:
    """The fast-path timing, plus (full mode) the synthetic-set accuracy of both modes."""
    from benchmarks import training

    result = training.bench_fast_path(settings)
    if settings.accuracy_run:
        runs = training.accuracy_runs(root / "accuracy")
        diff = runs["bf16_channels_last"]["test_accuracy"] - runs["fp32"]["test_accuracy"]
        result.extra["accuracy"] = dict(runs, difference_points=diff)
        within = abs(diff) <= 1.0
        result.notes.append(f"synthetic-set test accuracy fp32 {runs['fp32']['test_accuracy']:.1f} %, "
                            f"fast path {runs['bf16_channels_last']['test_accuracy']:.1f} % "
                            f"({diff:+.1f} points; target within 1)")
        result.met = result.met and within
    else:
        result.notes.append("accuracy comparison (short synthetic training in both modes): full mode only")
    return result


def memory_result(inputs: Dict[str, Any], root: Path) -> Result:
    from benchmarks import memory

    cache_dir = root / "memory_cache"
    prepare_memory_cache(inputs["large_table"], cache_dir)
    return memory.bench_memory(inputs["small_table"], inputs["large_table"], cache_dir)


def scaled_down_note(settings: Settings) -> str:
    """What quick mode scales down (empty in full mode)."""
    if not settings.quick:
        return ""
    return (f"QUICK MODE: a {settings.performance_frames}-frame video stands in for the 2700-frame "
            f"and 10,000-frame performances; {settings.load_samples} sample(s) per loader; "
            f"narrower C3D for the training step (widths {tuple(settings.step_widths)}) and predict "
            f"({tuple(settings.predict_widths)}, {settings.predict_clips}-clip segments); "
            f"{settings.fast_repeats} repeats; "
            f"memory on {settings.memory_performances} vs {10 * settings.memory_performances} "
            f"performances; transcription on {settings.transcription_performances} synthetic "
            f"performances of {settings.transcription_seconds:g} s; serve with "
            f"{settings.serve_clients} clients x {settings.serve_requests} uploads of "
            f"{settings.serve_frames} frames; no accuracy run; "
            f"backbone forward: one timed batch of 2 per mode")


def _fmt(value: float, unit: str) -> str:
    if unit == "s":
        return f"{value * 1000:.1f} ms" if value < 1.0 else f"{value:.2f} s"
    if unit == "F1":
        return f"F1 {value:.3f}"
    if unit == "clips/s":
        return f"{value:.3g} clips/s"
    if unit == "req/s":
        return f"{value:.2f} req/s"
    return f"{value:.1f} {unit}"


def format_table(report: Dict[str, Any]) -> str:
    """The report as a Markdown table (one row per figure)."""
    lines = ["| figure | ours | baseline (same run) | ratio | target | met |",
             "| --- | --- | --- | --- | --- | --- |"]
    for key in BENCHMARKS:
        r = report["results"].get(key)
        if r is None:
            continue
        if "error" in r:
            lines.append(f"| {key} | error: {r['error'][:80]} | | | | no |")
            continue
        lines.append(f"| {r['figure']} | {_fmt(r['value'], r['unit'])} | {r['baseline_name']}: "
                     f"{_fmt(r['baseline'], r['unit'])} | {r['ratio']:.2f}x ({r['ratio_name']}) | "
                     f"{r['target']} | {'yes' if r['met'] else 'NO'} |")
    return "\n".join(lines)


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="short inputs, narrow models, few repeats (under a minute on 2 cores)")
    parser.add_argument("--out", type=Path, help="JSON file for the figures "
                        "(default benchmarks/results-<quick|full>.json)")
    parser.add_argument("--only", nargs="+", choices=BENCHMARKS, help="run only these benchmarks")
    parser.add_argument("--keep", type=Path, help="generate the inputs here and keep them")
    parser.add_argument("--profile", action="store_true",
                        help="profile each benchmark with cProfile (summary in the JSON and printed)")
    args = parser.parse_args(argv)
    settings = Settings.for_mode(args.quick)
    out = args.out or Path(__file__).resolve().parent / f"results-{'quick' if args.quick else 'full'}.json"
    if settings.quick:
        print(scaled_down_note(settings))

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    if args.keep:
        args.keep.mkdir(parents=True, exist_ok=True)
        report = run_suite(settings, args.keep, args.only, log, args.profile)
    else:
        with tempfile.TemporaryDirectory(prefix="pisa-bench-") as tmp:
            report = run_suite(settings, Path(tmp), args.only, log, args.profile)
    m = report["machine"]
    print(f"\n{report['mode']} run, {report['date']}, {m['cpu']} ({m['cores']} cores), load average "
          f"{m['load_average'][0]:.1f} at start, {m['load_average_end'][0]:.1f} at end, "
          f"{report['seconds']:.1f} s in all\n")
    print(format_table(report))
    for key, r in report["results"].items():
        for note in r.get("notes", []):
            print(f"- {key}: {note}")
    for step, lines in report["profiles"].items():
        print(f"\nprofile of {step} (top functions by own time, main thread):")
        print("\n".join(lines))
    write_json(out, report)
    print(f"\nfigures written to {out}")
    return 1 if any("error" in r for r in report["results"].values()) else 0


if __name__ == "__main__":
    sys.exit(main())
