"""``pisa serve`` under concurrent clients against :meth:`pisa.apis.Assessor.assess`
called in process on the same recordings, one after another.

The model is the predict benchmark's (:func:`benchmarks.predicting.write_predict_model`);
each of ``serve_clients`` clients uploads its own generated recording
``serve_requests`` times, one request after another, to a real server (``pisa serve``
in a child process, the default single worker and a queue with room for every client).
The figure is the server's requests per second over the whole run, against the
in-process assessments per second of the same uploads in the same order (half of them
before the server's run, half after); the latencies'
median and 95th percentile are in the notes (a client's latency includes its wait in
the queue, so with one worker it grows with the clients).
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Dict, List, Sequence, Tuple

import numpy as np

from benchmarks.common import Result, Settings, throughput_result


def percentiles(latencies: Sequence[float]) -> Dict[str, float]:
    """``p50`` and ``p95`` of latencies in seconds."""
    values = np.asarray(latencies, dtype=np.float64)
    return {"p50": float(np.percentile(values, 50)), "p95": float(np.percentile(values, 95))}


def direct_pass(assessor: Any, order: Sequence[Path]) -> Tuple[float, List[float], List[int]]:
    """``(seconds, latencies, levels)`` of ``assessor.assess`` on each file of ``order``."""
    latencies, levels = [], []
    start = time.perf_counter()
    for video in order:
        t0 = time.perf_counter()
        levels.append(assessor.assess(video).level)
        latencies.append(time.perf_counter() - t0)
    return time.perf_counter() - start, latencies, levels


def served_pass(url: str, videos: Sequence[Path], requests: int
                ) -> Tuple[float, List[float], Dict[Path, List[int]]]:
    """``(seconds, latencies, levels per file)``: one client thread per file, each
    uploading its file ``requests`` times in a row, all at once."""
    from pisa.serve.client import assess_bytes

    payloads = {video: video.read_bytes() for video in videos}

    def client(video: Path) -> List[Tuple[float, int]]:
        answers = []
        for _ in range(requests):
            t0 = time.perf_counter()
            status, record = assess_bytes(url, payloads[video], video.name)
            if status != 200:
                raise RuntimeError(f"pisa serve answered {status}: {record}")
            answers.append((time.perf_counter() - t0, int(record["level"])))
        return answers

    start = time.perf_counter()
    with ThreadPoolExecutor(len(videos)) as pool:
        answers = list(pool.map(client, videos))
    seconds = time.perf_counter() - start
    latencies = [lat for client_answers in answers for lat, _ in client_answers]
    levels = {video: [level for _, level in a] for video, a in zip(videos, answers)}
    return seconds, latencies, levels


def bench_serve(settings: Settings, work_dir: Path) -> Result:
    """Requests per second of ``pisa serve`` with ``serve_clients`` concurrent clients,
    against ``Assessor.assess`` in process on the same uploads (module docstring)."""
    from benchmarks.media import write_performance
    from benchmarks.predicting import write_predict_model
    from pisa.apis import init_assessor
    from pisa.serve.process import ServerProcess

    s = settings
    work_dir.mkdir(parents=True, exist_ok=True)
    config, checkpoint = write_predict_model(s.predict_widths, s.predict_clips, work_dir)
    videos = [write_performance(work_dir / "recordings", f"client{i}", s.serve_frames,
                                s.serve_size[0], s.serve_size[1], s.fps, 22050, seed=10 + i)[0]
              for i in range(s.serve_clients)]
    order = [video for _ in range(s.serve_requests) for video in videos]
    total = len(order)

    assessor = init_assessor(config, checkpoint)
    direct_pass(assessor, videos)  # warm-up, each file once, not timed
    # the in-process uploads: half before the server's run and half after, so that a
    # change in the machine's load falls on both sides
    half = (total + 1) // 2
    before_s, direct_lat, direct_levels = direct_pass(assessor, order[:half])
    limit_mb = max(1.0, 2 * max(v.stat().st_size for v in videos) / 1e6)
    with ServerProcess([config, checkpoint, "--queue", str(s.serve_clients),
                        "--max-upload-mb", f"{limit_mb:g}"],
                       log_path=work_dir / "serve.log") as server:
        served_pass(server.url, videos, 1)  # warm-up, each file once, not timed
        served_s, served_lat, served_levels = served_pass(server.url, videos, s.serve_requests)
    after_s, after_lat, after_levels = direct_pass(assessor, order[half:])
    direct_s = before_s + after_s
    direct_lat, direct_levels = direct_lat + after_lat, direct_levels + after_levels
    del assessor
    same = all(levels == [direct_levels[i]] * s.serve_requests
               for i, levels in enumerate(served_levels.values()))
    served_p, direct_p = percentiles(served_lat), percentiles(direct_lat)
    size_mb = sum(v.stat().st_size for v in videos) / len(videos) / 1e6
    return throughput_result(
        "serve", f"pisa serve: requests/s, {s.serve_clients} concurrent clients ({total} uploads "
        f"of {s.serve_frames}-frame {s.serve_size[0]}x{s.serve_size[1]} recordings)",
        "Assessor.assess in process on the same files, one after another",
        total / served_s, total / direct_s, 0.8, "req/s",
        notes=[f"latency p50 {served_p['p50']:.2f} s, p95 {served_p['p95']:.2f} s through the "
               f"server (queue wait included; 1 worker) against {direct_p['p50']:.2f} s and "
               f"{direct_p['p95']:.2f} s in process; uploads of {size_mb:.2f} MB; "
               f"{'the same' if same else 'NOT the same'} levels both ways"],
        extra=dict(requests=total, clients=s.serve_clients, served_s=served_s, direct_s=direct_s,
                   served_latency=served_p, direct_latency=direct_p, same_levels=same,
                   upload_mb=size_mb))
