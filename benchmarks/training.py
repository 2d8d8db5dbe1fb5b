"""Training figures: one step through mmengine's Runner against a hand-written PyTorch
loop, the bf16-autocast + channels-last fast path against fp32 on the reference C3D, and
(full mode) the accuracy of a short training on synthetic data in both modes."""
from __future__ import annotations

import copy
import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

import torch
from mmengine.hooks import Hook

from benchmarks.common import Result, Settings, median, overhead_result, speedup_result

MEAN = (0.43216, 0.39466, 0.37645)
STD = (0.22803, 0.22145, 0.21698)


def video_model_cfg(widths: Sequence[int], clip_len: int = 16, size: int = 112) -> Dict[str, Any]:
    """The PISA visual-branch model (``configs/_base_/models/pisa_video.py``) with the
    given C3D widths."""
    return dict(
        type="AQAModel",
        data_preprocessor=dict(type="AQADataPreprocessor", mean=list(MEAN), std=list(STD)),
        video_backbone=dict(type="C3D", widths=tuple(widths), feature_dim=None, clip_len=clip_len,
                            size=size),
        video_aggregator=dict(type="AvgAggregator"),
        head=dict(type="LevelHead", hidden=128, num_classes=10, dropout=0.0),
        losses=[dict(type="CrossEntropyLoss", weight=1.0), dict(type="L1L2Loss", weight=0.1)],
        branches=("video",), decision_branch="video")


def packed_samples(count: int, num_clips: int, clip_len: int = 16, size: int = 112,
                   seed: int = 0) -> List[Dict[str, Any]]:
    """``count`` samples in the dataset->model contract (random uint8 video, labels 0..9)."""
    gen = torch.Generator().manual_seed(seed)
    out = []
    for i in range(count):
        video = torch.randint(0, 256, (num_clips, 3, clip_len, size, size), dtype=torch.uint8,
                              generator=gen)
        out.append({"inputs": {"video": video},
                    "data_samples": {"label": i % 10, "score": float(i % 10),
                                     "sample_id": f"s{i}", "group": f"g{i}"}})
    return out


def data_loader(samples: List[Dict[str, Any]], batch_size: int) -> torch.utils.data.DataLoader:
    """The same in-memory batches for both sides, collated by mmengine's ``default_collate``."""
    from mmengine.dataset import default_collate

    return torch.utils.data.DataLoader(samples, batch_size=batch_size, shuffle=False,
                                       num_workers=0, collate_fn=default_collate)


class IterEndTimes(Hook):
    """Records ``time.perf_counter()`` after each training iteration (all hooks included)."""

    priority = "LOWEST"

    def __init__(self) -> None:
        self.times: List[float] = []

    def after_train_iter(self, runner, batch_idx: int, data_batch: Any = None,
                         outputs: Optional[dict] = None) -> None:
        self.times.append(time.perf_counter())


def step_times(ends: Sequence[float], warmup: int) -> List[float]:
    """Seconds per step from the iteration end times, leaving out the first ``warmup``."""
    ends = list(ends)[warmup:]
    return [b - a for a, b in zip(ends, ends[1:])]


def hand_loop_times(model_cfg: Dict[str, Any], loader: Any, lr: float = 1e-4) -> List[float]:
    """The baseline: the same model trained by a plain PyTorch loop (normalise, forward,
    CE + 0.1 * (L1 + L2), backward, Adam step). Returns the end time of each iteration."""
    import torch.nn.functional as F

    from pisa.registry import MODELS

    torch.manual_seed(0)
    model = MODELS.build(copy.deepcopy(model_cfg)).train()
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    mean = torch.tensor(MEAN).view(1, 1, 3, 1, 1, 1)
    std = torch.tensor(STD).view(1, 1, 3, 1, 1, 1)
    ends = []
    for batch in loader:
        video = (batch["inputs"]["video"].float() / 255.0 - mean) / std
        label = torch.as_tensor(batch["data_samples"]["label"])
        score = torch.as_tensor(batch["data_samples"]["score"]).float()
        out = model.branch_outputs({"video": video})["video"]
        reg = out["reg"]
        loss = F.cross_entropy(out["cls"], label) + 0.1 * (F.l1_loss(reg, score) + F.mse_loss(reg, score))
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ends.append(time.perf_counter())
    return ends


def runner_cfg(model_cfg: Dict[str, Any], work_dir: Path, loader: Any, hook: Hook,
               optim_wrapper: Optional[Dict[str, Any]] = None,
               custom_hooks: Sequence[Any] = (), lr: float = 1e-4) -> Dict[str, Any]:
    """Runner arguments: the framework's default runtime hooks (checkpointing left out: it
    runs after the timed iterations), one epoch over ``loader``."""
    wrapper = dict(optim_wrapper or dict(type="OptimWrapper"))
    wrapper["optimizer"] = dict(type="Adam", lr=lr)
    return dict(
        model=copy.deepcopy(model_cfg), work_dir=str(work_dir), train_dataloader=loader,
        train_cfg=dict(by_epoch=True, max_epochs=1), optim_wrapper=wrapper,
        default_hooks=dict(checkpoint=None, logger=dict(type="LoggerHook", interval=20)),
        custom_hooks=[dict(type="EpochSeedHook"), *custom_hooks, hook], default_scope="pisa",
        randomness=dict(seed=0), env_cfg=dict(dist_cfg=dict(backend="gloo")), log_level="WARNING")


def runner_times(model_cfg: Dict[str, Any], loader: Any, work_dir: Path,
                 optim_wrapper: Optional[Dict[str, Any]] = None,
                 custom_hooks: Sequence[Any] = ()) -> List[float]:
    """Train one epoch through mmengine's Runner; the end time of each iteration."""
    import cv2
    from mmengine.runner import Runner

    hook = IterEndTimes()
    threads = cv2.getNumThreads()
    try:
        runner = Runner(**runner_cfg(model_cfg, work_dir, loader, hook, optim_wrapper, custom_hooks))
        runner.train()
    finally:
        cv2.setNumThreads(threads)  # the Runner sets OpenCV's threads for the whole process
    return hook.times


def bench_train_step(settings: Settings, work_dir: Path) -> Result:
    """Runner step time against the hand-written loop (run before and after the Runner)."""
    model_cfg = video_model_cfg(settings.step_widths)
    samples = packed_samples(settings.step_iters * settings.step_batch, settings.step_clips)
    loader = data_loader(samples, settings.step_batch)
    warmup = 2
    hand_a = step_times(hand_loop_times(model_cfg, loader), warmup)
    ours = step_times(runner_times(model_cfg, loader, work_dir / "runner"), warmup)
    hand_b = step_times(hand_loop_times(model_cfg, loader), warmup)
    baseline = median(hand_a + hand_b)
    return overhead_result(
        "train_step", "one training step through the Runner (data preprocessor, loss, optimizer, hooks)",
        "hand-written PyTorch loop, same model, batches and Adam", median(ours), baseline, 1.05,
        notes=[f"C3D widths {tuple(settings.step_widths)}, batch {settings.step_batch} x "
               f"{settings.step_clips} clips of 16x112x112; median of "
               f"{len(ours)} steps after {warmup} warm-up; baseline run before and after"],
        extra=dict(steps_s=ours, baseline_steps_s=hand_a + hand_b))


def c3d_step(model: torch.nn.Module, clips: torch.Tensor, fast: bool) -> float:
    """Seconds of one forward + backward of ``model`` on ``clips``; ``fast``: bf16 autocast
    with weights and input in ``torch.channels_last_3d``."""
    start = time.perf_counter()
    with torch.autocast("cpu", dtype=torch.bfloat16, enabled=fast):
        out = model(clips)
    out.float().sum().backward()
    return time.perf_counter() - start


def bench_fast_path(settings: Settings) -> Result:
    """bf16 autocast + channels-last 3D on the reference C3D against fp32, forward + backward,
    the two modes alternating so that both see the same machine load."""
    from pisa.models.c3d import C3D

    torch.manual_seed(0)
    fp32 = C3D()
    fast = copy.deepcopy(fp32).to(memory_format=torch.channels_last_3d)
    clips = torch.randn(settings.fast_batch, 3, 16, 112, 112)
    clips_cl = clips.contiguous(memory_format=torch.channels_last_3d)
    c3d_step(fp32, clips, False)
    c3d_step(fast, clips_cl, True)
    base_t, fast_t = [], []
    for _ in range(settings.fast_repeats):
        base_t.append(c3d_step(fp32, clips, False))
        fast_t.append(c3d_step(fast, clips_cl, True))
    with torch.no_grad():
        ref = fp32(clips)
        with torch.autocast("cpu", dtype=torch.bfloat16):
            low = fast(clips_cl).float()
    rel = float((low - ref).norm() / ref.norm().clamp_min(1e-12))
    return speedup_result(
        "fast_path", "reference C3D forward + backward, bf16 autocast + channels_last_3d",
        "the same in fp32 (default layout)", median(fast_t), median(base_t), 1.3,
        notes=[f"{settings.fast_batch} clip(s) of 16x112x112 per step, median of "
               f"{settings.fast_repeats} after 1 warm-up, modes alternating",
               f"relative difference of the bf16 features: {rel:.4f}"],
        extra=dict(times_s=fast_t, baseline_times_s=base_t, feature_rel_diff=rel))


def accuracy_runs(work_dir: Path, performances: int = 24, seconds: float = 10.0,
                  epochs: int = 6) -> Dict[str, Any]:
    """Train the CPU demo config (``configs/synthetic/pisa_c3d-r18-small...``: the PISA
    multimodal model, narrowed) in fp32 and with the fast path (``AutocastOptimWrapper``
    bf16 + ``ChannelsLastHook`` added to the config's hooks) on ``performances`` rendered
    by ``pisa synth``, same seed; returns both runs' test accuracy (percent) and times."""
    from mmengine.config import Config

    from pisa.engine.config_loader import DATALOADERS
    from pisa.engine.runner import RunOptions, train
    from pisa.synth import SynthSettings, synthesize_dataset

    data = work_dir / "synth"
    synthesize_dataset(data, SynthSettings(performances=performances, seconds=seconds, seed=0,
                                           width=160, height=120), workers=2)
    config = Path(__file__).resolve().parent.parent / "configs" / "synthetic" / \
        "pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py"
    hooks = list(Config.fromfile(str(config)).get("custom_hooks") or [])
    # a few training performances held out for validation, whatever the set's size
    val = max(1, performances // 6)
    common = {f"{loader}.dataset.val_performances": val
              for loader in DATALOADERS}
    common.update({"train_cfg.max_epochs": epochs, "log_level": "WARNING"})
    fast = {"optim_wrapper.type": "AutocastOptimWrapper", "optim_wrapper.dtype": "bfloat16",
            "custom_hooks": hooks + [dict(type="ChannelsLastHook")]}
    runs = {}
    for name, options in (("fp32", {}), ("bf16_channels_last", fast)):
        start = time.perf_counter()
        res = train(str(config), RunOptions(work_dir=str(work_dir / name), data_root=str(data),
                                            cfg_options={**common, **options}, seed=0))
        accuracy = (res["test_metrics"] or {}).get("accuracy", float("nan"))
        runs[name] = dict(test_accuracy=100.0 * float(accuracy), seconds=time.perf_counter() - start)
    return runs


def bench_data_wait(settings: Settings, work_dir: Path, backends: Sequence[str]) -> List[Result]:
    """The share of the training step spent waiting for data (``DataWaitHook``'s
    ``data_wait``: mmengine's ``data_time`` over the step ``time``, both of the same run)
    when the CPU demo config (the PISA multimodal model, narrowed) trains one epoch with
    two DataLoader workers on ``settings.wait_performances`` synthetic 320x180 30 fps
    performances of ``settings.wait_seconds`` s: from the prepared cache, and decoding."""
    from pisa.cli import main as pisa_main
    from pisa.engine.config_loader import DATALOADERS
    from pisa.engine.runner import RunOptions, train
    from pisa.synth import SynthSettings, synthesize_dataset

    data = work_dir / "wait_synth"
    synthesize_dataset(data, SynthSettings(performances=settings.wait_performances,
                                           seconds=settings.wait_seconds, seed=1, width=320,
                                           height=180, fps=30.0, test_fraction=0.34), workers=2)
    config = str(Path(__file__).resolve().parent.parent / "configs" / "synthetic" /
                 "pisa_c3d-r18-small_1xb4-8x1x4-16e_synthetic-multimodal-unidist.py")
    results = []
    for key, cache in (("data_wait_cached", work_dir / "wait_cache"), ("data_wait_uncached", None)):
        options = {f"{loader}.dataset.cache_dir": None if cache is None else str(cache)
                   for loader in DATALOADERS}
        options.update({f"{loader}.dataset.val_performances": 1 for loader in DATALOADERS})
        options.update({"train_dataloader.num_workers": 2, "train_cfg.max_epochs": 1,
                        "log_level": "WARNING"})
        if cache is not None:  # ahead of time, as `pisa prepare` does
            import contextlib
            import io

            with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
                code = pisa_main(["prepare", config, "--data-root", str(data), "--cache-dir", str(cache)])
            if code != 0:
                raise RuntimeError(f"pisa prepare failed (exit {code})")
        res = train(config, RunOptions(work_dir=str(work_dir / key), data_root=str(data),
                                       cfg_options=options, seed=0))
        if res["data_wait"] is None:
            raise RuntimeError(f"{key}: the epoch had no step after its first; give the "
                               "benchmark more performances")
        wait = float(res["data_wait"])
        at_most = 0.10 if cache is not None else 0.50
        how = "memory-mapped entries of the prepared cache" if cache is not None else "decoding each sample"
        results.append(overhead_result(
            key, f"share of the training step waiting for data, {how}",
            "the whole training step (same run)", 100.0 * wait, 100.0, at_most, unit="%",
            notes=[f"{settings.wait_performances} synthetic performances of "
                   f"{settings.wait_seconds:g} s at 320x180, 30 fps, with audio; one epoch of the "
                   "CPU demo config, 2 DataLoader workers",
                   "target: under 10 % cached (the project's), under 50 % decoding (ours)"],
            extra=dict(split_counts=res["split_counts"])))
    from benchmarks.loading import runnable_backends, selected_backend

    for backend in runnable_backends(backends):
        with selected_backend(backend):
            results.append(first_epoch_fill(config, data, work_dir, settings, backend))
    return results


def first_epoch_fill(config: str, data: Path, work_dir: Path, settings: Settings, backend: str) -> Result:
    """Per sample of a first epoch (the demo config's test split, every sample once, in
    order) decoding with ``backend`` (selected by the caller): a dataset whose cache
    fills itself (each performance decoded once, its other samples read from the new
    entry) against decoding each sample from the video (no cache), measured before and
    after it."""
    from pisa.engine.config_loader import load_config
    from pisa.registry import DATASETS

    cfg = load_config(config, {}, str(data))
    ds_cfg = dict(cfg.test_dataloader.dataset)

    def per_sample(cache_dir: Optional[str]) -> Tuple[float, int]:
        dataset = DATASETS.build(dict(ds_cfg, cache_dir=cache_dir))
        start = time.perf_counter()
        for i in range(len(dataset)):
            dataset[i]
        return (time.perf_counter() - start) / len(dataset), len(dataset)

    before, count = per_sample(None)
    filled, _ = per_sample(str(work_dir / f"fill_cache_{backend}"))
    after, _ = per_sample(None)
    return speedup_result(
        f"first_epoch_fill_{backend}", f"first epoch, per sample, with a cache that fills itself ({backend})",
        "decoding each sample from the video (no cache)", filled, (before + after) / 2, 3.0,
        notes=[f"{count} samples of the demo config's test split on the {settings.wait_seconds:g} s "
               "320x180 synthetic performances; each performance decoded once into its entry",
               "baseline: mean of a pass before and after"])

