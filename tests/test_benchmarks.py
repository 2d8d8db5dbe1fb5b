"""The benchmark suite's options and functions (timings are never asserted here: they live
in the benchmark output only)."""
from __future__ import annotations

import json
import math

import pytest
import torch

# benchmarks/ is a top-level folder of the repository, not part of the installed package

from benchmarks.common import Settings  # noqa: E402
from benchmarks.loading import MEDIA_BACKENDS  # noqa: E402
from benchmarks.run import BENCHMARKS, format_table, run_suite  # noqa: E402
from pisa.io.atomic import write_json  # noqa: E402
from benchmarks.training import (data_loader, packed_samples, runner_cfg, step_times,  # noqa: E402
                                 video_model_cfg)

#: optim wrapper and hooks of each training option; fp32 with the default layout is the default
OPTIONS = {
    "fp32": (None, []),
    "bf16": (dict(type="AutocastOptimWrapper", dtype="bfloat16"), []),
    "channels_last": (None, [dict(type="ChannelsLastHook")]),
    "bf16+channels_last": (dict(type="AutocastOptimWrapper", dtype="bfloat16"),
                           [dict(type="ChannelsLastHook")]),
}


@pytest.mark.parametrize("option", list(OPTIONS))
def test_training_option_builds_and_trains_through_mmengine(option, tmp_path):
    from mmengine.hooks import Hook
    from mmengine.runner import Runner

    wrapper, hooks = OPTIONS[option]
    model_cfg = video_model_cfg((2, 4), clip_len=4, size=16)
    loader = data_loader(packed_samples(4, num_clips=2, clip_len=4, size=16), batch_size=2)

    class Record(Hook):
        def __init__(self):
            self.times, self.seen, self.losses = [], [], []

        def before_train(self, runner):
            conv = runner.model.video_backbone.features[0]
            self.initial = conv.weight.detach().clone()
            conv.register_forward_hook(lambda mod, args, out: self.seen.append(
                (args[0].is_contiguous(memory_format=torch.channels_last_3d), out.dtype)))

        def after_train_iter(self, runner, batch_idx, data_batch=None, outputs=None):
            self.times.append(batch_idx)
            self.losses.append(float(outputs["loss"]))

    record = Record()
    runner = Runner(**runner_cfg(model_cfg, tmp_path, loader, record, wrapper, hooks))
    runner.train()
    conv = runner.model.video_backbone.features[0]
    assert len(record.times) == 2 and all(math.isfinite(v) for v in record.losses)
    assert not torch.equal(conv.weight.detach(), record.initial), "the optimizer step changed nothing"
    assert conv.weight.dtype == torch.float32  # autocast keeps float32 parameters
    bf16 = "bf16" in option
    channels_last = "channels_last" in option
    assert all(dtype == (torch.bfloat16 if bf16 else torch.float32) for _, dtype in record.seen)
    assert all(cl == channels_last for cl, _ in record.seen)
    assert conv.weight.is_contiguous(memory_format=torch.channels_last_3d) == channels_last


def test_step_times_leave_out_warmup():
    assert step_times([1.0, 3.0, 4.0, 6.0, 7.5], warmup=2) == [2.0, 1.5]


def tiny_settings() -> Settings:
    """Everything as small as each benchmark allows (one 170-frame 192x112 video)."""
    return Settings(quick=True, performance_frames=170, long_frames=170, width=192, height=112,
                    sample_rate=22050, load_samples=1, step_widths=(2, 4, 4, 4, 4), step_clips=1,
                    step_batch=1, step_iters=4, fast_batch=1, fast_repeats=1,
                    predict_widths=(2, 4, 4, 4, 4), predict_clips=2, memory_performances=1,
                    memory_size=(64, 48), memory_frames=160, accuracy_run=False,
                    wait_performances=6, wait_seconds=4.0, transcription_performances=2,
                    transcription_seconds=2.0, serve_clients=2, serve_requests=1, serve_frames=40,
                    serve_size=(64, 48))


@pytest.mark.slow
def test_quick_suite_runs_every_benchmark_and_writes_the_json_keys(tmp_path):
    # one backbone row stands for all: each times a full-size network (minutes for all;
    # tests/test_torchvision_video_models.py runs the row's code on a tiny clip); and the
    # first decoder backend's rows stand for the others' (the same code, looped)
    others = tuple(f"_{b}" for b in MEDIA_BACKENDS[1:])
    keys = [k for k in BENCHMARKS if (not k.startswith("backbone_forward_")
            or k == "backbone_forward_TorchvisionR3D18") and not k.endswith(others)]
    report = run_suite(tiny_settings(), tmp_path / "work", only=keys, log=lambda msg: None)
    assert report["mode"] == "quick" and report["scaled_down"].startswith("QUICK MODE")
    assert set(report["results"]) == set(keys)
    errors = {k: r["error"] for k, r in report["results"].items() if "error" in r}
    assert not errors
    for key, r in report["results"].items():
        assert r["key"] == key
        assert r["value"] > 0 and r["baseline"] > 0
        # the ratio is the stated one of the two measured figures
        expected = r["baseline"] / r["value"] if r["ratio_name"] == "speed-up" else r["value"] / r["baseline"]
        assert r["ratio"] == pytest.approx(expected)
        bound = float(r["target"].split()[1].rstrip("x"))
        assert r["met"] == (r["ratio"] >= bound if r["target"].startswith(">=") else r["ratio"] <= bound)
    assert report["results"]["predict"]["extra"]["segments"] == 170 // 32
    memory = report["results"]["memory"]["extra"]
    assert memory["larger"]["samples"] == 10 * memory["original"]["samples"]
    assert report["machine"]["cores"] >= 1 and report["machine"]["cpu"]
    table = format_table(report)
    assert len(table.splitlines()) == 2 + len(keys)
    out = tmp_path / "figures.json"
    write_json(out, report)
    assert json.loads(out.read_text())["results"].keys() == report["results"].keys()
    assert not list(tmp_path.glob(".*.part*"))  # written atomically


def test_unknown_benchmark_name_is_refused(tmp_path):
    with pytest.raises(ValueError, match="unknown benchmark"):
        run_suite(tiny_settings(), tmp_path, only=["warp_speed"], log=lambda msg: None)
