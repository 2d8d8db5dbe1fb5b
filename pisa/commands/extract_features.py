"""``pisa extract-features CONFIG [--checkpoint CKPT] [--out DIR] [--data-root DIR]
[--cfg-options ...]``: run a backbone once over every performance of a config's datasets
and store per-clip features keyed by the backbone, its weights, the sampling and the
preprocessing (:mod:`pisa.engine.feature_extraction`, layout in :mod:`pisa.data.wrappers.feature_datasets`).
Resumable: a second run skips the performances already written."""
from __future__ import annotations

import argparse

from pisa.commands import CLIError, add_config_arguments, load_config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--checkpoint", metavar="CKPT",
                        help="weights file for the backbone instead of the config's: a training "
                             "checkpoint (its <modality>_backbone. or backbone. tensors) or a "
                             "plain state dict")
    parser.add_argument("--weights-prefix", help="key prefix of the backbone in the weights file "
                        "(default: found from the file's keys)")
    parser.add_argument("--out", metavar="DIR", help="feature root to write <key>/ folders into "
                        "(default: the feature datasets' feature_root; required for an "
                        "end-to-end config)")
    parser.add_argument("--modality", choices=["video", "audio", "notes"],
                        help="which backbone of an end-to-end config (default: the first of video, audio, "
                        "notes that it has)")
    parser.add_argument("--device", default="auto", help="torch device (default: the GPU if any, else cpu)")
    parser.add_argument("--batch-size", type=int, default=16, help="clips per forward pass (default 16)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def run(args: argparse.Namespace) -> int:
    from pisa.engine.feature_extraction import extract_config

    if args.batch_size < 1:
        raise CLIError(f"--batch-size must be >= 1, got {args.batch_size}")
    cfg = load_config_from_args(args)
    folders = extract_config(cfg, args.config, checkpoint=args.checkpoint,
                             weights_prefix=args.weights_prefix, out=args.out,
                             modality=args.modality, device=args.device,
                             batch_size=args.batch_size, progress=not args.no_progress)
    for folder in dict.fromkeys(str(f) for f in folders):
        print(f"features: {folder}")
    return 0
