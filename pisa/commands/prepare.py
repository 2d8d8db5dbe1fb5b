"""``pisa prepare CONFIG [--cache-dir DIR] [--data-root DIR] [--cfg-options ...]``: decode
every performance that the config's datasets read once, and store it in the prepared
cache (:mod:`pisa.data.core.cache`). Training with the dataset's ``cache_dir`` set then reads
memory-mapped arrays and never decodes.

A pipeline transform that stores per-performance results of its own beside the cache (a
plugin's transcribed notes, say) takes part by defining
``prepare_performances(performances, cache_dir)``: it is called with the dataset's
performance records after their entries are written, and fills what is missing."""
from __future__ import annotations

import argparse

from pisa.commands import CLIError, add_config_arguments, load_config_from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_config_arguments(parser)
    parser.add_argument("--cache-dir", help="where to store the cache (default: the datasets' cache_dir)")


def run(args: argparse.Namespace) -> int:
    import copy

    from pisa.data.core.cache import write_cache
    from pisa.data.core.cache_lookup import pipeline_settings
    from pisa.engine.config_loader import dataset_configs
    from pisa.registry import DATASETS

    cfg = load_config_from_args(args)
    datasets = dataset_configs(cfg)
    if not datasets:
        raise CLIError(f"{args.config}: no train/val/test_dataloader.dataset (or dataset) to prepare")
    written = set()
    for where, ds_cfg in datasets.items():
        ds_cfg = copy.deepcopy(dict(ds_cfg))
        cache_dir = args.cache_dir or ds_cfg.get("cache_dir")
        if not cache_dir:
            raise CLIError(f"{args.config}: {where} {ds_cfg.get('type')} has no cache_dir; pass --cache-dir")
        # the prepare step opens each source itself; the dataset only lists performances
        # (so its samples are not serialised for workers: mmengine's gc.collect there took
        # 0.2 s, a third of preparing a 200-frame performance)
        ds_cfg.update(cache_dir=None, check_media=False, lazy_init=False, serialize_data=False)
        dataset = DATASETS.build(ds_cfg)
        print(f"preparing {len(dataset.performances)} performances of {ds_cfg.get('type')} in {cache_dir}")
        media = getattr(dataset, "media_dataset", dataset)
        preparers = [t for t in getattr(media.pipeline, "transforms", [])
                     if callable(getattr(t, "prepare_performances", None))]
        frame_size = pipeline_settings(media.pipeline.transforms)[0]
        if frame_size is not None or not preparers:
            written.update(str(e) for e in write_cache(media, cache_dir))
        else:  # a pipeline that decodes no frames (notes only, say) stores only its own results
            print("(the pipeline decodes no frames: no frame entries)")
        for transform in preparers:
            print(f"\n{type(transform).__name__}: preparing its stored results in {cache_dir}")
            transform.prepare_performances(media.performances, cache_dir)
    print(f"\n{len(written)} frame cache entries ready")
    return 0
