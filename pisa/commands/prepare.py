"""``pisa prepare CONFIG [--cache-dir DIR] [--data-root DIR]``: decode every performance
that the config's train/val/test datasets read once, and store it in the prepared cache
(:mod:`pisa.data.cache`). Training with the dataset's ``cache_dir`` set then reads
memory-mapped arrays and never decodes."""
from __future__ import annotations

import argparse
from typing import Any, Dict, List

from pisa.errors import CLIError

DATALOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("config", help="an experiment or dataset config file")
    parser.add_argument("--cache-dir", help="where to store the cache (default: the datasets' cache_dir)")
    parser.add_argument("--data-root", help="replace the datasets' data_root")


def dataset_configs(cfg: Any) -> List[Dict]:
    """The dataset configs of the config's dataloaders (top-level ``dataset`` too)."""
    found = []
    for key in DATALOADERS:
        loader = cfg.get(key)
        if loader and loader.get("dataset"):
            found.append(loader["dataset"])
    if not found and cfg.get("dataset"):
        found.append(cfg["dataset"])
    return found


def run(args: argparse.Namespace) -> int:
    import copy

    from mmengine.config import Config

    from pisa.data.cache import write_cache
    from pisa.registry import DATASETS

    cfg = Config.fromfile(args.config)
    datasets = dataset_configs(cfg)
    if not datasets:
        raise CLIError(f"{args.config}: no train/val/test_dataloader.dataset (or dataset) to prepare")
    written = set()
    for ds_cfg in datasets:
        ds_cfg = copy.deepcopy(dict(ds_cfg))
        cache_dir = args.cache_dir or ds_cfg.get("cache_dir")
        if not cache_dir:
            raise CLIError(f"{args.config}: dataset {ds_cfg.get('type')} has no cache_dir; pass --cache-dir")
        if args.data_root:
            ds_cfg["data_root"] = args.data_root
        # the prepare step opens each source itself; the dataset only lists performances
        ds_cfg.update(cache_dir=None, check_media=False, lazy_init=False)
        dataset = DATASETS.build(ds_cfg)
        print(f"preparing {len(dataset.performances)} performances of {ds_cfg.get('type')} in {cache_dir}")
        written.update(str(e) for e in write_cache(dataset, cache_dir))
    print(f"\n{len(written)} cache entries ready")
    return 0
