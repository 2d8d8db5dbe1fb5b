"""Training on extracted clip features against training end to end with the same frozen
backbone: one epoch of each, side by side, in the same process, on one rendered
synthetic set.

Both runs are the framework's: mmengine's Runner over the feature config
``configs/features/level_c3d-feat_1xb4-16x1x10-100e_synthetic-video-unidist.py`` (the
PISA visual branch on C3D features: averaged clips, the 128-d level head), and over the
same model end to end (``AQAModel`` with that C3D, its weights, ``FreezeModulesHook`` on
the backbone, the same dataset, split, batches and optimizer). The end-to-end run reads
its frames from the prepared cache (written before the timing), so the figure is the
backbone's cost, not the decoder's. The features are extracted once before the timing
(``pisa extract-features``' code path); its time is in the notes.
"""
from __future__ import annotations

import copy
import gc
import time
from pathlib import Path
from typing import Any, Dict, List

import torch
from mmengine.hooks import Hook

from benchmarks.common import Result, Settings, median, speedup_result

REPO = Path(__file__).resolve().parent.parent
FEATURE_CONFIG = REPO / "configs" / "features" / "level_c3d-feat_1xb4-16x1x10-100e_synthetic-video-unidist.py"
LOADERS = ("train_dataloader", "val_dataloader", "test_dataloader")


class EpochTimes(Hook):
    """Seconds of each training epoch (from before its first batch to after its last)."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.seconds: List[float] = []

    def before_train_epoch(self, runner) -> None:
        self._start = time.perf_counter()

    def after_train_epoch(self, runner) -> None:
        self.seconds.append(time.perf_counter() - self._start)


def _epochs(cfg: Any, work_dir: Path, epochs: int = 1) -> List[float]:
    """Train ``cfg`` (a loaded config) ``epochs`` epochs without validation or checkpoints
    through mmengine's Runner; the seconds of each epoch."""
    from mmengine.runner import Runner

    cfg = copy.deepcopy(cfg)
    cfg.work_dir = str(work_dir)
    cfg.train_cfg = dict(type="EpochBasedTrainLoop", max_epochs=int(epochs), val_interval=10 ** 6)
    cfg.val_dataloader = cfg.val_evaluator = cfg.val_cfg = None
    cfg.test_dataloader = cfg.test_evaluator = cfg.test_cfg = None
    cfg.default_hooks.checkpoint = None
    cfg.default_hooks.logger = dict(type="LoggerHook", interval=50)
    cfg.log_level = "WARNING"
    runner = Runner.from_cfg(cfg)
    timer = EpochTimes()
    runner.register_hook(timer, "LOWEST")
    # the objects this process made before (renderer, configs, other runs) are left out of
    # the garbage collector's passes: its full passes over them would land in either epoch
    gc.collect()
    gc.freeze()
    try:
        runner.train()
    finally:
        gc.unfreeze()
    return timer.seconds


def end_to_end_config(feature_cfg: Any, weights: str, cache_dir: str) -> Any:
    """The feature config's model end to end: ``AQAModel`` with the extractor's backbone
    (its weights, frozen), normalisation, aggregator, head and losses, over the feature
    datasets' sources (their splits and carve, from the prepared cache)."""
    cfg = copy.deepcopy(feature_cfg)
    extractor = cfg.train_dataloader.dataset.extractor
    features_model = cfg.model
    cfg.model = dict(
        type="AQAModel", data_preprocessor=dict(extractor.data_preprocessor),
        video_backbone=dict(extractor.backbone, pretrained=weights),
        video_aggregator=features_model.video_aggregator, head=features_model.head,
        losses=features_model.losses, branches=("video",), decision_branch="video")
    for name in LOADERS:
        ds = cfg[name].dataset
        split = {k: ds[k] for k in ("split", "val_performances", "split_seed", "test_mode") if k in ds}
        cfg[name].dataset = dict(ds.source, **split, cache_dir=cache_dir)
    cfg.custom_hooks = list(cfg.get("custom_hooks") or []) + [
        dict(type="FreezeModulesHook", modules=["video_backbone"])]
    return cfg


def bench_feature_epoch(settings: Settings, work_dir: Path) -> Result:
    """One training epoch on features against one end-to-end epoch with the backbone
    frozen (module docstring): five feature epochs run before and five after the
    end-to-end one, their median the figure (a tiny step is the first to suffer from a
    busy CPU: its few-millisecond operations wait on a thread another process holds);
    target at least 20x faster."""
    from pisa.data.core.cache import write_cache
    from pisa.engine.config_loader import load_config
    from pisa.engine.feature_extraction import extract_config
    from pisa.models.c3d import C3D
    from pisa.registry import DATASETS
    from pisa.synth import SynthSettings, synthesize_dataset

    data = work_dir / "feature_synth"
    synthesize_dataset(data, SynthSettings(performances=settings.wait_performances,
                                           seconds=settings.wait_seconds, seed=4, width=160,
                                           height=120, fps=30.0, test_fraction=0.34), workers=2)
    widths = tuple(settings.step_widths)
    torch.manual_seed(0)
    backbone = C3D(widths=widths, clip_len=16, size=112)
    weights = work_dir / "feature_c3d.pth"
    torch.save(backbone.state_dict(), weights)
    # quick mode's 10 s performances: 4-clip samples, so an epoch has several batches
    num_clips = 10 if not settings.quick else 4
    options: Dict[str, Any] = {"model.in_features": backbone.out_features}
    for name in LOADERS:
        options.update({f"{name}.dataset.extractor.weights": str(weights),
                        f"{name}.dataset.extractor.backbone.widths": widths,
                        f"{name}.dataset.feature_root": str(work_dir / "features"),
                        f"{name}.dataset.source.clip_sampler.num_clips": num_clips})
    cfg = load_config(FEATURE_CONFIG, options, str(data))
    start = time.perf_counter()
    extract_config(cfg, str(FEATURE_CONFIG), progress=False, log=lambda msg: None)
    extract_s = time.perf_counter() - start
    e2e_cfg = end_to_end_config(cfg, str(weights), str(work_dir / "feature_cache"))
    write_cache(DATASETS.build(dict(e2e_cfg.train_dataloader.dataset, cache_dir=None)),
                work_dir / "feature_cache")
    before = _epochs(cfg, work_dir / "features_before", 5)
    (e2e,) = _epochs(e2e_cfg, work_dir / "end_to_end", 1)
    after = _epochs(cfg, work_dir / "features_after", 5)
    samples = len(DATASETS.build(dict(cfg.train_dataloader.dataset, serialize_data=False)))
    return speedup_result(
        "feature_epoch", "one training epoch on extracted clip features",
        "one end-to-end epoch, same model with the C3D frozen, frames from the prepared cache",
        median(before + after), e2e, 20.0,
        notes=[f"{samples} training samples of {num_clips} x 16 frames at 112x112 from "
               f"{settings.wait_performances} synthetic performances of {settings.wait_seconds:g} s; "
               f"C3D widths {widths} ({backbone.out_features}-d features), batch "
               f"{cfg.train_dataloader.batch_size}",
               "feature epochs before and after the end-to-end one: "
               + ", ".join(f"{t * 1000:.1f}" for t in before + after)
               + f" ms; extraction (once, not in the figure): {extract_s:.2f} s",
               f"torch intra-op threads: {torch.get_num_threads()}; a feature step is a few "
               "milliseconds of small operations, which stall when another process holds a "
               "core (the figure then swings by an order of magnitude between runs)"],
        extra=dict(feature_epochs_s=before + after, end_to_end_epoch_s=e2e, extract_s=extract_s,
                   samples=samples))
