"""``pisa predict CONFIG CKPT MEDIA... [--cfg-options K=V ...] [--data-root DIR] [--json]
[--crop x1,y1,x2,y2] [--meta KEY=VALUE ...] [--out DIR]``: the level (or score) of whole
recordings, as ``pisa test`` would score them, with a per-segment timeline
(:mod:`pisa.apis`); ``--meta`` gives the recordings' record keys an annotation
would (e.g. a dive's difficulty, which a pair-wise config's exemplars must share)."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import List

from pisa.commands import CLIError, add_config_arguments, logs_to_stderr


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("checkpoint", help="trained weights (.pth), or the folder of one "
                        "--seeds/--folds call (the ensemble of its runs)")
    parser.add_argument("media", nargs="+", help="recordings: video files with their audio track")
    parser.add_argument("--json", action="store_true", help="print JSON (only JSON) on stdout")
    parser.add_argument("--crop", metavar="x1,y1,x2,y2", help="crop box in source pixels")
    parser.add_argument("--meta", nargs="+", action="extend", default=[], metavar="KEY=VALUE",
                        help="keys of the recordings' records, as an annotation gives them "
                        "(numbers when they parse), e.g. difficulty=3.2: what a pair-wise "
                        "config's exemplars must share, or a pipeline packs; repeatable")
    parser.add_argument("--out", metavar="DIR",
                        help="write <name>_timeline.png and <name>_prediction.json here")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--batch-size", type=int, default=2, help="samples per forward pass")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pisa.apis import init_assessor
    from pisa.apis.assessment_io import parse_crop, parse_meta, prediction_record
    from pisa.evaluation.assessment import format_prediction, plot_timeline
    from pisa.io.atomic import dumps_json, write_json

    try:
        crop = parse_crop(args.crop)
        meta = parse_meta(args.meta)
    except ValueError as err:
        raise CLIError(str(err)) from None
    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be >= 1, got {args.batch_size}")
    missing = [m for m in args.media if not Path(m).is_file()]
    if missing:
        raise CLIError(f"recording not found: {', '.join(missing)}")
    with logs_to_stderr():  # reading the config logs too (e.g. the data root it used)
        assessor = init_assessor(args.config, args.checkpoint, device=args.device,
                                 cfg_options=dict(args.cfg_options or {}),
                                 data_root=args.data_root, batch_size=args.batch_size)
    results: List[dict] = []
    for media in args.media:
        with logs_to_stderr():
            pred = assessor.assess(media, crop=crop, progress=not args.no_progress, meta=meta)
        record = prediction_record(pred)
        results.append(record)
        if args.out:
            stem = Path(media).stem
            plot_timeline(pred, Path(args.out) / f"{stem}_timeline.png")
            write_json(Path(args.out) / f"{stem}_prediction.json", record)
        if not args.json:
            print(format_prediction(pred), flush=True)
    if args.json:
        sys.stdout.write(dumps_json({
            "config": str(args.config), "checkpoint": str(args.checkpoint),
            "recordings": results}) + "\n")
    return 0
