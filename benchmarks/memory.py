"""Peak resident memory while training from the prepared cache: the original dataset
against one 10x larger, each trained in its own subprocess (DataLoader workers included).

Run as a module, ``python -m benchmarks.memory TABLE CACHE_DIR WORKERS`` trains one
epoch and prints one JSON line: the peak resident set (``VmHWM`` of ``/proc/<pid>/status``,
kernel-tracked) of the process and of each worker, and the peaks of resident anonymous and
file-backed memory (``RssAnon`` / ``RssFile``, summed over the process and its workers,
sampled after every step). ``ru_maxrss`` is not used: Linux carries it across ``exec``,
so a child started from a large benchmark process would report its parent's peak."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, List

from benchmarks.common import Result, overhead_result

FRAME_SIZE = (112, 112)
NUM_CLIPS, CLIP_LEN = 10, 16


def dataset_cfg(table: str, cache_dir: Any) -> Dict[str, Any]:
    """Video-only ``PISADataset`` over the prepared cache (10 clips x 16 frames, 112x112;
    videos ``<table folder>/<id>.mp4``)."""
    return dict(type="PISADataset", data_root=str(Path(table).parent), table=str(table),
                layout="video", split="train", scheme="unidist", cache_dir=cache_dir,
                modalities=("video",),
                pipeline=[dict(type="DecodeFrames"), dict(type="CropResize", size=FRAME_SIZE),
                          dict(type="RandomFlip", prob=0.5), dict(type="PackAQAInputs", modalities=("video",))],
                check_media=False)


def _status_kib(pid: int) -> Dict[str, int]:
    out = {}
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                key, _, value = line.partition(":")
                if key in ("VmHWM", "VmRSS", "RssAnon", "RssFile", "RssShmem"):
                    out[key] = int(value.split()[0])
    except OSError:  # a worker that has just exited
        pass
    return out


def _children(pid: int) -> List[int]:
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def train_and_measure(ann_file: str, cache_dir: str, workers: int) -> Dict[str, Any]:
    """One epoch of a small video model over the cached dataset (batch 1, so that every
    worker loads samples even from the original, small set; ``workers`` DataLoader
    workers); memory figures as in the module docstring."""
    import torch
    from mmengine.dataset import default_collate
    from mmengine.optim import OptimWrapper

    from pisa.registry import DATASETS, MODELS

    torch.manual_seed(0)
    dataset = DATASETS.build(dataset_cfg(ann_file, cache_dir))
    loader = torch.utils.data.DataLoader(dataset, batch_size=1, shuffle=True, num_workers=workers,
                                         collate_fn=default_collate)
    model = MODELS.build(dict(
        type="AQAModel", data_preprocessor=dict(type="AQADataPreprocessor"),
        video_backbone=dict(type="C3D", widths=(4, 8, 8, 8, 8), feature_dim=64, clip_len=CLIP_LEN,
                            size=FRAME_SIZE[0]),
        head=dict(type="LevelHead", hidden=16, num_classes=10), branches=("video",)))
    optim = OptimWrapper(torch.optim.Adam(model.parameters(), lr=1e-3))
    me = os.getpid()
    peak_anon = peak_file = peak_rss = steps = 0
    worker_hwm: Dict[int, int] = {}
    for batch in loader:
        model.train_step(batch, optim)
        steps += 1
        stats = {p: _status_kib(p) for p in [me, *_children(me)]}
        for pid, st in stats.items():
            if pid != me and "VmHWM" in st:  # monotonic: the last reading is the peak so far
                worker_hwm[pid] = st["VmHWM"]
        peak_anon = max(peak_anon, sum(s.get("RssAnon", 0) for s in stats.values()))
        peak_file = max(peak_file, sum(s.get("RssFile", 0) + s.get("RssShmem", 0) for s in stats.values()))
        peak_rss = max(peak_rss, sum(s.get("VmRSS", 0) for s in stats.values()))
    del loader
    return dict(samples=len(dataset), steps=steps, workers=workers,
                hwm_self_kib=_status_kib(me)["VmHWM"], hwm_workers_kib=sorted(worker_hwm.values()),
                peak_sum_rss_kib=peak_rss, peak_sum_anon_kib=peak_anon, peak_sum_file_kib=peak_file)


def run_child(ann_file: Path, cache_dir: Path, workers: int) -> subprocess.Popen:
    """Start the measurement in a fresh interpreter (its peaks are its own)."""
    root = Path(__file__).resolve().parent.parent
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen([sys.executable, "-m", "benchmarks.memory", str(ann_file), str(cache_dir),
                             str(workers)], cwd=str(root), env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def _child_result(proc: subprocess.Popen, what: str) -> Dict[str, Any]:
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"memory measurement ({what}) failed with exit {proc.returncode}: {err[-800:]}")
    return json.loads(out.strip().splitlines()[-1])


def bench_memory(small_ann: Path, large_ann: Path, cache_dir: Path, workers: int = 2) -> Result:
    """Peak memory training on ``large_ann`` (10x the performances) against ``small_ann``;
    both subprocesses run at the same time (memory, not time, is measured)."""
    procs = [run_child(small_ann, cache_dir, workers), run_child(large_ann, cache_dir, workers)]
    small, large = _child_result(procs[0], "original size"), _child_result(procs[1], "10x")

    def peak(r: Dict[str, Any]) -> float:
        return (r["hwm_self_kib"] + sum(r["hwm_workers_kib"])) / 1024.0

    anon_growth = large["peak_sum_anon_kib"] / max(1, small["peak_sum_anon_kib"]) - 1.0
    result = overhead_result(
        "memory", f"peak resident memory training on {large['samples']} samples (10x)",
        f"the same on {small['samples']} samples", peak(large), peak(small), 1.10, unit="MiB",
        notes=[f"peak = VmHWM of the training process + that of each of its {workers} "
               "DataLoader workers (shared pages counted in each)",
               f"anonymous (private) memory alone grows {100 * anon_growth:+.1f} %; the rest is "
               "file-backed pages of the memory-mapped cache, shared and reclaimable"],
        extra=dict(original=small, larger=large, anon_growth=anon_growth))
    result.ratio_name = "peak 10x / peak 1x"
    return result


if __name__ == "__main__":
    ann, cache, nworkers = sys.argv[1], sys.argv[2], int(sys.argv[3])
    print(json.dumps(train_and_measure(ann, cache, nworkers)))
