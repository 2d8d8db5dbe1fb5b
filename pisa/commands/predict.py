"""``pisa predict CONFIG CKPT MEDIA... [--json] [--crop x1,y1,x2,y2] [--out DIR]``: the
level of whole recordings, with a per-segment timeline."""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import List, Optional, Tuple

from pisa.errors import CLIError


def parse_crop(text: Optional[str]) -> Optional[Tuple[float, float, float, float]]:
    """``"x1,y1,x2,y2"`` -> four floats (source pixels); None stays None."""
    if text is None:
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise CLIError(f"--crop must be four numbers x1,y1,x2,y2, got {text!r}")
    return values  # type: ignore[return-value]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="the model's config file")
    parser.add_argument("checkpoint", help="trained weights (.pth)")
    parser.add_argument("media", nargs="+", help="recordings: video files with their audio track")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--crop", metavar="x1,y1,x2,y2", help="crop box in source pixels")
    parser.add_argument("--out", metavar="DIR",
                        help="write <name>_timeline.png and <name>_prediction.json here")
    parser.add_argument("--device", default="cpu", help="torch device (default: cpu)")
    parser.add_argument("--batch-size", type=int, default=2, help="segments per forward pass")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pisa.evaluation.predict import RecordingPredictor, format_prediction, plot_timeline
    from pisa.evaluation.reports import to_jsonable, write_results_json

    crop = parse_crop(args.crop)
    missing = [m for m in args.media if not Path(m).is_file()]
    if missing:
        raise CLIError(f"recording not found: {', '.join(missing)}")
    predictor = RecordingPredictor(args.config, args.checkpoint, device=args.device,
                                   batch_size=args.batch_size)
    results: List[dict] = []
    for media in args.media:
        pred = predictor.predict(media, crop=crop, progress=not args.no_progress)
        results.append(pred.to_dict())
        if args.out:
            stem = Path(media).stem
            plot_timeline(pred, Path(args.out) / f"{stem}_timeline.png")
            write_results_json(Path(args.out) / f"{stem}_prediction.json", pred.to_dict())
        if not args.json:
            print(format_prediction(pred))
    if args.json:
        json.dump({"config": str(args.config), "checkpoint": str(args.checkpoint),
                   "recordings": to_jsonable(results)}, sys.stdout, indent=2, allow_nan=False)
        sys.stdout.write("\n")
    return 0
