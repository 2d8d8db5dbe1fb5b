"""``pisa export-backbone CKPT --prefix backbone. --out FILE``: take one backbone's weights
out of a training checkpoint (e.g. a C3D pretrained on UCF101) as a plain state dict, for
a backbone's ``pretrained=FILE`` in another config."""
from __future__ import annotations

import argparse


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", help="mmengine checkpoint (or a state dict) to read")
    parser.add_argument("--prefix", default="backbone.",
                        help="key prefix of the backbone in the checkpoint, stripped on export "
                             "(default 'backbone.'; 'video_backbone.' for an AQA model)")
    parser.add_argument("--out", required=True, help="weights file to write")


def run(args: argparse.Namespace) -> int:
    from pisa.models.weights import export_backbone_weights

    count = export_backbone_weights(args.checkpoint, args.prefix, args.out)
    print(f"wrote {count} tensors under {args.prefix!r} from {args.checkpoint} to {args.out}")
    return 0
