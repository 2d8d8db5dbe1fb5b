"""``pisa synth --out DIR``: render a synthetic PISA-like dataset of piano performances
(see :mod:`pisa.synth` for what is drawn and the files written)."""
from __future__ import annotations

import argparse
import os
import time
from pathlib import Path
from typing import Tuple

from pisa.commands import CLIError


def _size(text: str) -> Tuple[int, int]:
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 160x120, got {text!r}") from None
    return w, h


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--out", required=True, help="folder to write the dataset into")
    parser.add_argument("--seed", type=int, default=0, help="everything follows from it (default 0)")
    parser.add_argument("--performances", type=int, default=20, help="how many (default 20)")
    parser.add_argument("--size", type=_size, default=(160, 120), metavar="WxH",
                        help="frame size in pixels (default 160x120)")
    parser.add_argument("--seconds", type=float, default=18.0,
                        help="mean played length per performance in seconds (default 18)")
    parser.add_argument("--fps", type=float, default=30.0, help="frame rate (default 30)")
    parser.add_argument("--sample-rate", type=int, default=22050, help="audio rate (default 22050)")
    parser.add_argument("--test-fraction", type=float, default=0.4,
                        help="share of each level's performances in the test split (default 0.4)")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="render in this many processes (default: all cores)")
    parser.add_argument("--overwrite", action="store_true",
                        help="write into a folder that already holds a dataset")


def run(args: argparse.Namespace) -> int:
    from pisa.synth import SynthSettings, synthesize_dataset

    out = Path(args.out)
    if (out / "performances.csv").exists() and not args.overwrite:
        raise CLIError(f"{out} already holds a dataset (performances.csv); pass --overwrite to replace it")
    settings = SynthSettings(
        performances=args.performances, seed=args.seed, width=args.size[0], height=args.size[1],
        seconds=args.seconds, fps=args.fps, sample_rate=args.sample_rate,
        test_fraction=args.test_fraction,
    )
    start = time.perf_counter()
    table = synthesize_dataset(out, settings, workers=max(1, args.workers))
    n_test = sum(row["split"] == "test" for row in table)
    print(f"wrote {len(table)} performances ({len(table) - n_test} train, {n_test} test) "
          f"to {out} in {time.perf_counter() - start:.1f} s")
    return 0
