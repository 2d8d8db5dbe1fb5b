"""``pisa data CONFIG [--cfg-options ...] [--data-root DIR]``: what a config's datasets hold,
before a long run: performances and samples per split and level, durations, performers
found on more than one side, media that cannot be read, and the prepared cache's state."""
from __future__ import annotations

import argparse
import copy
import warnings
from typing import Any, Dict, List

from pisa.commands import CLIError, add_config_arguments, load_config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)


def _describe(where: str, dataset: Any) -> Dict[str, Any]:
    from pisa.data.core import cache as cache_lib

    perfs = dataset.performances
    media = getattr(dataset, "media_dataset", dataset)
    seconds = [p["num_frames"] / p["fps"] for p in perfs if p.get("num_frames") and p.get("fps")]
    cache = None
    if media.cache_dir:
        size, rate = media.cache_settings()
        resize = media.frame_resize()
        present = sum(cache_lib.entry_dir(media.cache_dir, p, size, rate, resize).is_dir()
                      for p in perfs)
        cache = f"{present} of {len(perfs)} entries in {media.cache_dir}"
    return {
        "where": where, "type": type(dataset).__name__, "split": getattr(media, "split", None),
        "performances": len(perfs), "samples": len(dataset), "levels": dataset.level_counts(),
        "seconds": (min(seconds), sum(seconds) / len(seconds), max(seconds)) if seconds else None,
        "performers": {str(p.get("performer") or p["perf_id"]) for p in perfs},
        "bad": dataset.bad_sample_records(), "cache": cache,
    }


def run(args: argparse.Namespace) -> int:
    from pisa.engine.config_loader import dataset_configs
    from pisa.evaluation.reports import format_split_counts
    from pisa.registry import DATASETS

    cfg = load_config_from_args(args)
    configs = dataset_configs(cfg)
    if not configs:
        raise CLIError(f"{args.config}: no train/val/test_dataloader.dataset (or dataset) to describe")
    described: List[Dict[str, Any]] = []
    for where, ds_cfg in configs.items():
        # list every problem instead of stopping at the first; read nothing but the check
        ds_cfg = dict(copy.deepcopy(dict(ds_cfg)), on_bad_sample="skip", max_bad_samples=None,
                      cache_dir=None, lazy_init=False)
        cache_dir = configs[where].get("cache_dir")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = DATASETS.build(ds_cfg)
        getattr(dataset, "media_dataset", dataset).cache_dir = cache_dir
        described.append(_describe(where, dataset))
    counts = {f"{d['where']} ({d['split']})": d["levels"] for d in described}
    print("samples per level")
    print(format_split_counts(counts))
    for d in described:
        print(f"\n{d['where']}: {d['type']} split {d['split']!r}: {d['performances']} performances, "
              f"{d['samples']} samples, {len(d['performers'])} performers")
        if d["seconds"]:
            lo, mean, hi = d["seconds"]
            print(f"  duration: {lo:.1f} to {hi:.1f} s (mean {mean:.1f} s)")
        if d["cache"]:
            print(f"  prepared cache: {d['cache']}")
        for record in d["bad"]:
            print(f"  unreadable: {record.get('file')}: {record.get('error')}")
    shared = []
    for i, a in enumerate(described):
        for b in described[i + 1:]:
            both = a["performers"] & b["performers"]
            if both and a["split"] != b["split"]:
                shared.append(f"{a['where']} and {b['where']}: {', '.join(sorted(both)[:10])}"
                              + (f" (+{len(both) - 10} more)" if len(both) > 10 else ""))
    print("\nperformers on more than one side: " + ("; ".join(shared) if shared else "none"))
    return 0
