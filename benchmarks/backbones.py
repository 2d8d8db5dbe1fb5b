"""Forward throughput of the clip backbones: clips/s in eval mode without gradients, each
at its own input size, in float32 and with bf16 autocast, on the CPU (and on CUDA when
there is one). The figure of a backbone is its bf16 / fp32 throughput ratio on the CPU;
both clips/s figures are in the notes.

The backbones timed are :data:`BACKBONES`: one line each, a registered backbone name, its
build arguments and its input ``(C, T, H, W)``; ``None`` for the input takes the
backbone's own ``input_recipe()`` (the torchvision backbones': ``clip_len`` frames of the
recipe's crop). This module imports nothing heavy at the top: ``benchmarks.run`` lists its
keys.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from benchmarks.common import Result, Settings, median, throughput_result

Entry = Tuple[str, Dict[str, Any], Optional[Tuple[int, int, int, int]]]

#: (registered name, build args, input (C, T, H, W) or None: the backbone's input_recipe())
BACKBONES: Tuple[Entry, ...] = (
    ("I3D", {}, (3, 16, 224, 224)),  # the reference input of CoRe and MUSDL
    ("TorchvisionR3D18", {}, None),
    ("TorchvisionMC318", {}, None),
    ("TorchvisionR2Plus1D18", {}, None),
    ("TorchvisionS3D", {}, None),
    ("TorchvisionMViTV1B", {}, None),
    ("TorchvisionMViTV2S", {}, None),
    ("TorchvisionSwin3DT", {}, None),
    ("TorchvisionSwin3DS", {}, None),
    ("TorchvisionSwin3DB", {}, None),
)


def result_key(name: str) -> str:
    """The result key of the backbone registered as ``name``."""
    return f"backbone_forward_{name}"


#: the result keys, one per entry of :data:`BACKBONES` (``benchmarks.run.BENCHMARKS`` lists them)
BACKBONE_KEYS: Tuple[str, ...] = tuple(result_key(name) for name, _, _ in BACKBONES)


def input_shape(backbone: Any, shape: Optional[Sequence[int]]) -> Tuple[int, int, int, int]:
    """``shape``, else ``(3, clip_len, *crop_size)`` of the backbone's ``input_recipe()``."""
    if shape is not None:
        return tuple(int(s) for s in shape)
    recipe = backbone.input_recipe()
    return (3, int(recipe["clip_len"]), *(int(s) for s in recipe["crop_size"]))


def _forward_seconds(backbone: Any, clips: Any, device: str, bf16: bool) -> Tuple[float, Any]:
    import torch

    with torch.no_grad(), torch.autocast(device, dtype=torch.bfloat16, enabled=bf16):
        if device == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        out = backbone(clips)
        if device == "cuda":
            torch.cuda.synchronize()
        return time.perf_counter() - start, out.float()


def time_modes(backbone: Any, clips: Any, device: str, warmup: int, timed: int) -> Dict[str, Any]:
    """Clips/s of ``backbone`` on ``clips`` in fp32 and with bf16 autocast (medians of
    ``timed`` forwards after ``warmup`` forwards of the first clip, the modes alternating),
    and the relative difference of the bf16 features from the fp32 ones."""
    times: Dict[str, List[float]] = {"fp32": [], "bf16": []}
    outs: Dict[str, Any] = {}
    for i in range(warmup + timed):
        for mode in ("fp32", "bf16"):
            seconds, outs[mode] = _forward_seconds(backbone, clips if i >= warmup else clips[:1],
                                                   device, mode == "bf16")
            if i >= warmup:
                times[mode].append(seconds)
    n = clips.shape[0]
    ref = outs["fp32"]
    rel = float((outs["bf16"] - ref).norm() / ref.norm().clamp_min(1e-12))
    return dict(fp32_clips_per_s=n / median(times["fp32"]), bf16_clips_per_s=n / median(times["bf16"]),
                fp32_times_s=times["fp32"], bf16_times_s=times["bf16"], feature_rel_diff=rel)


def bench_backbone_forward(settings: Settings, work_dir: Path,
                           entries: Sequence[Entry] = BACKBONES) -> List[Result]:
    """One :class:`Result` per entry (default :data:`BACKBONES`): bf16 autocast against
    fp32 forward clips/s on the CPU, batch 2, after a warm-up forward of one clip per mode
    (quick mode: one timed batch per mode; full mode: the median of 3), target >= 1x (bf16
    is not slower); on CUDA, when available, the same pair (2 warm-ups, then the median
    of 3, full mode 10) in the notes and ``extra['cuda']``.
    ``work_dir`` is unused (nothing is written)."""
    import torch

    from pisa.registry import BACKBONES as REGISTRY

    batch = 2
    timed = 1 if settings.quick else 3
    results = []
    for name, args, shape in entries:
        torch.manual_seed(0)
        backbone = REGISTRY.build(dict(type=name, **args)).eval()
        size = input_shape(backbone, shape)
        clips = torch.randn(batch, *size)
        cpu = time_modes(backbone, clips, "cpu", 1, timed)
        notes = [f"{name}{f' {args}' if args else ''} on {size[1]}x{size[2]}x{size[3]} clips, batch {batch}, "
                 f"eval, no grad; median of {timed} after a warm-up of 1 clip, modes alternating",
                 f"CPU: fp32 {cpu['fp32_clips_per_s']:.3g} clips/s, bf16 autocast "
                 f"{cpu['bf16_clips_per_s']:.3g} clips/s; relative difference of the bf16 "
                 f"features {cpu['feature_rel_diff']:.4f}"]
        extra: Dict[str, Any] = dict(input_shape=[batch, *size], cpu=cpu)
        if torch.cuda.is_available():
            gpu = time_modes(backbone.cuda(), clips.cuda(), "cuda", 2, 3 if settings.quick else 10)
            backbone.cpu()
            torch.cuda.empty_cache()
            extra["cuda"] = dict(gpu, device=torch.cuda.get_device_name())
            notes.append(f"CUDA ({extra['cuda']['device']}): fp32 {gpu['fp32_clips_per_s']:.3g} "
                         f"clips/s, bf16 autocast {gpu['bf16_clips_per_s']:.3g} clips/s "
                         f"({gpu['bf16_clips_per_s'] / gpu['fp32_clips_per_s']:.2f}x); relative "
                         f"difference {gpu['feature_rel_diff']:.4f}")
        else:
            notes.append("CUDA: not available")
        results.append(throughput_result(
            result_key(name), f"{name} forward, {size[1]}x{size[2]}x{size[3]} clips, bf16 autocast (CPU)",
            "the same in fp32", cpu["bf16_clips_per_s"], cpu["fp32_clips_per_s"], 1.0, "clips/s",
            notes=notes, extra=extra))
        del backbone, clips
    return results
