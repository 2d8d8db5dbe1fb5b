"""Two-process CPU DDP through torchrun: gloo set up before mmengine's Runner, each rank
trains on its own shard, and both end with the same weights."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from engine_helpers import TINY_CONFIG, assert_same_weights, render_tiny_dataset

# Builds the run config exactly as `pisa train --launcher pytorch` does, adds the hook
# that logs each rank's sample ids, and saves each rank's final weights.
_SCRIPT = """
import sys, torch
from mmengine.runner import Runner
from pisa.engine.runner import RunOptions, build_run_config
config, data_root, work_dir = sys.argv[1:4]
cfg = build_run_config(config, RunOptions(work_dir=work_dir, data_root=data_root,
                                          launcher="pytorch", seed=0, deterministic=True))
cfg.custom_hooks.append(dict(type="SampleIdLogHook"))
runner = Runner.from_cfg(cfg)
runner.train()
model = runner.model.module if hasattr(runner.model, "module") else runner.model
torch.save(model.state_dict(), f"{work_dir}/weights_rank{runner.rank}.pt")
with open(f"{work_dir}/rank{runner.rank}.txt", "w") as f:
    f.write(f"{runner.world_size} {type(runner.model).__name__}")
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _read_ids(path: Path) -> dict:
    by_epoch: dict = {}
    for line in path.read_text().splitlines():
        epoch, sample_id = line.split("\t")
        by_epoch.setdefault(int(epoch), []).append(sample_id)
    return by_epoch


@pytest.mark.slow
def test_two_process_cpu_ddp_shards_data_and_keeps_ranks_in_sync(tmp_path):
    torchrun = Path(sys.executable).with_name("torchrun")
    if not torchrun.exists():
        pytest.skip(f"torchrun not found next to {sys.executable}")
    data_root = render_tiny_dataset(tmp_path / "synth")
    work_dir = tmp_path / "work"
    script = tmp_path / "ddp_train.py"
    script.write_text(_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", CUDA_VISIBLE_DEVICES="")
    proc = subprocess.run(
        [
            str(torchrun),
            "--nproc-per-node",
            "2",
            "--master-addr",
            "127.0.0.1",
            "--master-port",
            str(_free_port()),
            str(script),
            str(TINY_CONFIG),
            str(data_root),
            str(work_dir),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    for rank in (0, 1):
        assert (work_dir / f"rank{rank}.txt").read_text() == "2 MMDistributedDataParallel"

    w0 = torch.load(work_dir / "weights_rank0.pt", weights_only=True)
    w1 = torch.load(work_dir / "weights_rank1.pt", weights_only=True)
    assert_same_weights(w0, w1)

    ids0, ids1 = (
        _read_ids(work_dir / "sample_ids_rank0.txt"),
        _read_ids(work_dir / "sample_ids_rank1.txt"),
    )
    assert sorted(ids0) == sorted(ids1) == [0, 1]
    for epoch in (0, 1):
        a, b = ids0[epoch], ids1[epoch]
        assert len(a) == len(b)
        # mmengine's DefaultSampler pads the smaller shard with at most one repeated sample
        assert len(set(a) & set(b)) <= 1
        assert len(set(a) | set(b)) >= len(a) + len(b) - 1
