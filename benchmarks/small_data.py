"""Small-data training: the CPU demo config against its small-data variant (the presets of
``configs/_base_/regularisation/`` and training augmentations), over seeds, on one
rendered synthetic set, and the learning curve of the small-data variant on the same set.

``python -m benchmarks.small_data [--quick] [--seeds 0 1 2] [--epochs N] [--no-curve]
[--out FILE.json] [--keep DIR]``
from the repository root.

For each config and seed: ``pisa.engine.runner.train`` (protocol ``val``: the checkpoint
chosen on the validation split carved from the training performances), then the chosen
checkpoint evaluated on its own training split (``pisa.engine.runner.test`` with the test
pipeline: no augmentation, as many samples per performance as training reads) for the
train/validation gap. The table gives
mean ± sample std over the seeds of the val and test metrics, the training-split
accuracy and the gap (training minus validation accuracy). Then
``pisa.engine.experiment.run_experiment`` (a learning curve) on the small-data config
(fractions 0.25, 0.5, 1).
The synthetic set is rendered in the run (a temporary folder unless ``--keep``); the
report goes to ``--out`` (default ``benchmarks/results-small-data-<mode>.json``) with the
learning curve's JSON and PNG beside it (``<out stem>-learning_curve.json/.png``).

Quick mode (under 10 minutes on 2 busy cores): 40 performances of 4 s (``pisa synth
--performances 40 --seconds 4 --test-fraction 0.3 --seed 0``), 3 epochs for both configs
(the demo config's cosine shortened to match), 2 seeds for the learning curve. Full
mode: the demo's 120 performances of 6 s, the configs' 16 epochs, 3 seeds everywhere.
"""
from __future__ import annotations

import argparse
import contextlib
import datetime
import io
import os
import shutil
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

if __package__ in (None, ""):  # run as a script: make ``benchmarks`` importable
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pisa.io.atomic import write_json  # noqa: E402

REPO = Path(__file__).resolve().parent.parent
CONFIGS = {
    "demo": REPO / "configs" / "synthetic" /
    "pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py",
    "small-data": REPO / "configs" / "synthetic" /
    "pisa_c3d-r18-small-smalldata_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py",
}
#: the metrics the table shows, each as mean ± std over the seeds
TABLE_METRICS = (("val", "accuracy"), ("test", "accuracy"), ("test", "performance_accuracy"),
                 ("test", "within1"), ("test", "mae"))
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


@dataclass
class SmallDataSettings:
    """The synthetic set and the training lengths of one run of this benchmark."""

    quick: bool
    performances: int
    seconds: float
    epochs: Optional[int]  # None: the configs' own
    seeds: Sequence[int] = (0, 1, 2)
    curve_seeds: Sequence[int] = (0, 1, 2)
    fractions: Sequence[float] = (0.25, 0.5, 1.0)
    test_fraction: float = 0.3
    width: int = 160
    height: int = 120

    @classmethod
    def for_mode(cls, quick: bool, seeds: Optional[Sequence[int]] = None,
                 epochs: Optional[int] = None) -> "SmallDataSettings":
        if quick:
            settings = cls(quick=True, performances=40, seconds=4.0, epochs=3, curve_seeds=(0, 1))
        else:
            settings = cls(quick=False, performances=120, seconds=6.0, epochs=None)
        if seeds:
            settings.seeds = tuple(seeds)
        if epochs is not None:
            settings.epochs = int(epochs)
        return settings


def run_options(settings: SmallDataSettings, cache_dir: Path, name: str) -> Dict[str, Any]:
    """``--cfg-options`` of every run: the prepared cache (filled on first read, shared by
    the runs), quiet logs, and in quick mode the shorter training (the demo config's cosine
    ``T_max`` is written for 16 epochs, so it is shortened with them) with checkpoints
    written only for the best and the last epoch (nothing here resumes)."""
    options: Dict[str, Any] = {f"{loader}.dataset.cache_dir": str(cache_dir) for loader in LOADERS}
    options["log_level"] = "WARNING"
    if settings.epochs is not None:
        options["train_cfg.max_epochs"] = settings.epochs
        options["default_hooks.checkpoint.interval"] = settings.epochs
        if name == "demo":
            options["param_scheduler.0.T_max"] = settings.epochs
    return options


def train_split_accuracy(config: Path, run: Dict[str, Any], data: Path,
                         options: Dict[str, Any]) -> Dict[str, Any]:
    """The run's chosen checkpoint on the run's own training performances (the config's
    test pipeline and sampler, as many samples per performance as training reads), through
    ``pisa.engine.runner.test``. Without the early-stopping hook, which would build the
    training loop (and dataset) for nothing."""
    from pisa.engine.config_loader import load_config
    from pisa.engine.runner import RunOptions, test

    cfg = load_config(config, options, str(data))
    hooks = [dict(h) for h in cfg.custom_hooks if h.type != "EarlyStoppingHook"]
    samples = cfg.train_dataloader.dataset.clip_sampler.get("max_samples")
    opts = RunOptions(work_dir=str(Path(run["work_dir"]) / "train_split"), data_root=str(data),
                      cfg_options={**options, "test_dataloader.dataset.split": "train",
                                   "test_dataloader.dataset.clip_sampler.max_samples": samples,
                                   "custom_hooks": hooks},
                      seed=run["seed"])
    return test(str(config), run["checkpoint"], opts)["test_metrics"]


def mean_std(values: Sequence[float]) -> Dict[str, Any]:
    import numpy as np

    arr = np.asarray([v for v in values if v is not None], dtype=float)
    return {"mean": float(arr.mean()) if arr.size else float("nan"),
            "std": float(arr.std(ddof=1)) if arr.size > 1 else 0.0,
            "values": [float(v) for v in arr]}


def compare(settings: SmallDataSettings, data: Path, root: Path,
            log=print) -> Dict[str, Any]:
    """Train both configs once per seed; returns ``{name: {'runs': [...], 'summary':
    {column: mean_std}}}``."""
    from pisa.engine.runner import RunOptions, train

    out: Dict[str, Any] = {}
    for name, config in CONFIGS.items():
        options = run_options(settings, root / "cache", name)
        runs = []
        for seed in settings.seeds:
            t0 = time.perf_counter()
            with contextlib.redirect_stdout(io.StringIO()):
                run = train(str(config), RunOptions(work_dir=str(root / name / f"seed{seed}"),
                                                    data_root=str(data), cfg_options=options,
                                                    seed=int(seed)))
                train_metrics = train_split_accuracy(config, run, data, options)
            stop = run.get("early_stop") or {}
            runs.append(dict(seed=seed, val=run["val_metrics"], test=run["test_metrics"],
                             train=train_metrics, epoch=run["epoch"],
                             epochs_trained=stop.get("epoch", settings.epochs),
                             early_stopped=bool(stop.get("stopped")), work_dir=run["work_dir"],
                             seconds=time.perf_counter() - t0))
            log(f"  {name} seed {seed}: val accuracy {run['val_metrics']['accuracy']:.3f}, "
                f"test accuracy {run['test_metrics']['accuracy']:.3f}, training split "
                f"{train_metrics['accuracy']:.3f} ({runs[-1]['seconds']:.0f} s)")
        summary = {f"{split} {metric}": mean_std([r[split][metric] for r in runs])
                   for split, metric in TABLE_METRICS}
        summary["train accuracy"] = mean_std([r["train"]["accuracy"] for r in runs])
        summary["train - val accuracy"] = mean_std(
            [r["train"]["accuracy"] - r["val"]["accuracy"] for r in runs])
        summary["train - test accuracy"] = mean_std(
            [r["train"]["accuracy"] - r["test"]["accuracy"] for r in runs])
        summary["selected epoch"] = mean_std([r["epoch"] for r in runs])
        out[name] = dict(config=str(config.relative_to(REPO)), runs=runs, summary=summary,
                         early_stopped=sum(r["early_stopped"] for r in runs))
    return out


def format_comparison(comparison: Dict[str, Any]) -> str:
    """A Markdown table: one row per config, ``mean ± std`` over the seeds per column."""
    columns = list(next(iter(comparison.values()))["summary"])
    lines = ["| config | " + " | ".join(columns) + " | early-stopped runs |",
             "| --- |" + " --- |" * (len(columns) + 1)]
    for name, entry in comparison.items():
        cells = [f"{entry['summary'][c]['mean']:.3f} ± {entry['summary'][c]['std']:.3f}"
                 for c in columns]
        lines.append(f"| {name} | " + " | ".join(cells) +
                     f" | {entry['early_stopped']} of {len(entry['runs'])} |")
    return "\n".join(lines)


def learning_curve(settings: SmallDataSettings, data: Path, root: Path) -> Dict[str, Any]:
    """The learning curve (``run_experiment`` with fractions) of the small-data config on
    the same set."""
    from pisa.engine.experiment import run_experiment
    from pisa.engine.runner import RunOptions

    opts = RunOptions(work_dir=str(root / "curve"), data_root=str(data),
                      cfg_options=run_options(settings, root / "cache", "small-data"))
    with contextlib.redirect_stdout(io.StringIO()):
        curve = run_experiment(str(CONFIGS["small-data"]), opts, seeds=settings.curve_seeds,
                               fractions=settings.fractions)
    curve.pop("runs")
    return curve


def run(settings: SmallDataSettings, root: Path, log=print, curve: bool = True) -> Dict[str, Any]:
    """Render the set under ``root``, compare the configs, draw the learning curve (unless
    ``curve`` is False)."""
    from benchmarks.run import machine
    from pisa.synth import SynthSettings, synthesize_dataset

    start = time.perf_counter()
    report: Dict[str, Any] = dict(mode="quick" if settings.quick else "full", machine=machine(),
                                  date=datetime.datetime.now().isoformat(timespec="seconds"),
                                  settings={k: list(v) if isinstance(v, tuple) else v
                                            for k, v in vars(settings).items()})
    data = root / "synth"
    log(f"rendering {settings.performances} synthetic performances of {settings.seconds} s ...")
    t0 = time.perf_counter()
    table = synthesize_dataset(data, SynthSettings(
        performances=settings.performances, seconds=settings.seconds, seed=0,
        width=settings.width, height=settings.height, test_fraction=settings.test_fraction),
        workers=2)
    report["data"] = dict(performances=len(table), test=sum(r["split"] == "test" for r in table),
                          seconds=time.perf_counter() - t0)
    log("training both configs ...")
    report["comparison"] = compare(settings, data, root, log)
    if curve:
        log("learning curve of the small-data config ...")
        t0 = time.perf_counter()
        report["learning_curve"] = learning_curve(settings, data, root)
        report["learning_curve_seconds"] = time.perf_counter() - t0
    report["machine"]["load_average_end"] = list(os.getloadavg())
    report["seconds"] = time.perf_counter() - start
    return report


def main(argv: Optional[List[str]] = None) -> int:
    from pisa.evaluation.curves import format_learning_curve_table

    parser = argparse.ArgumentParser(prog="python -m benchmarks.small_data",
                                     description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true",
                        help="40 performances of 4 s, 3 epochs (under 10 minutes on 2 cores)")
    parser.add_argument("--seeds", type=int, nargs="+", help="seeds of the comparison (default 0 1 2)")
    parser.add_argument("--epochs", type=int, help="train every run this many epochs "
                        "(default: quick 3, full the configs' 16)")
    parser.add_argument("--out", type=Path, help="JSON report "
                        "(default benchmarks/results-small-data-<quick|full>.json)")
    parser.add_argument("--keep", type=Path, help="render and train here, and keep it")
    parser.add_argument("--no-curve", action="store_true", help="compare the configs only, "
                        "without the learning curve (in full mode 9 more training runs)")
    args = parser.parse_args(argv)
    settings = SmallDataSettings.for_mode(args.quick, args.seeds, args.epochs)
    mode = "quick" if settings.quick else "full"
    out = args.out or Path(__file__).resolve().parent / f"results-small-data-{mode}.json"

    def log(msg: str) -> None:
        print(msg, file=sys.stderr, flush=True)

    with contextlib.ExitStack() as stack:
        if args.keep:
            args.keep.mkdir(parents=True, exist_ok=True)
            root = args.keep
        else:
            root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="pisa-small-data-")))
        report = run(settings, root, log, curve=not args.no_curve)
        curve = report.get("learning_curve")
        if curve is not None:
            stem = out.with_suffix("")
            plot = Path(f"{stem}-learning_curve.png")
            shutil.copyfile(Path(curve["work_dir"]) / "learning_curve.png", plot)
            report["learning_curve_plot"] = str(plot)
            write_json(Path(f"{stem}-learning_curve.json"), curve)
    write_json(out, report)
    m, data = report["machine"], report["data"]
    print(f"\n{mode} run, {report['date']}, {m['cpu']} ({m['cores']} cores), load average "
          f"{m['load_average'][0]:.1f} at start, {m['load_average_end'][0]:.1f} at end, "
          f"{report['seconds']:.0f} s in all; {data['performances']} synthetic performances of "
          f"{settings.seconds} s ({data['test']} test), "
          f"{settings.epochs or 'the configs'} epochs, seeds {list(settings.seeds)}\n")
    print("mean ± sample std over the seeds (val: the carved validation split; train: the "
          "chosen checkpoint on its training performances, test pipeline)\n")
    print(format_comparison(report["comparison"]))
    print(f"\nreport: {out}")
    if curve is not None:
        print(f"\nlearning curve of the small-data config, seeds {curve['seeds']}:\n")
        print(format_learning_curve_table(curve))
        print(f"learning curve: {plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
