"""The bottom layer: atomic writes, strict JSON, JSON lines, chunked frame reading."""
from __future__ import annotations

import json
import multiprocessing
from pathlib import Path

import numpy as np
import pytest

from media import make_video
from pisa.io.atomic import atomic_folder, atomic_output, to_jsonable, write_json
from pisa.io.jsonlines import append_json_line, iter_json_objects
from pisa.io.media import read_frames


def test_results_json_is_strict_json_with_numpy_values(tmp_path):
    out = write_json(tmp_path / "results.json", {
        "metrics": {"accuracy": np.float32(0.5), "spearman": float("nan")},
        "confusion_matrix": np.eye(2, dtype=np.int64),
    })
    data = json.loads(out.read_text())
    assert data == {"metrics": {"accuracy": 0.5, "spearman": None}, "confusion_matrix": [[1, 0], [0, 1]]}


def test_results_json_failed_write_leaves_previous_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "results.json"
    write_json(path, {"metrics": {"accuracy": 0.1}})
    before = path.read_text()

    real_write_bytes = Path.write_bytes

    def half_then_fail(self, text, *args, **kwargs):
        real_write_bytes(self, text[: len(text) // 2], *args, **kwargs)
        raise OSError("disk full")

    monkeypatch.setattr(Path, "write_bytes", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        write_json(path, {"metrics": {"accuracy": 0.9, "mae": 0.1}})
    monkeypatch.undo()
    assert path.read_text() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.json"]


def test_failed_first_write_leaves_no_file(tmp_path):
    path = tmp_path / "results.json"
    with pytest.raises(ValueError):
        with atomic_output(path) as tmp:
            tmp.write_bytes(b'{"metrics": ')
            raise ValueError("interrupted")
    assert list(tmp_path.iterdir()) == []


def test_atomic_folder_appears_whole_or_not_at_all(tmp_path):
    target = tmp_path / "entry"
    with pytest.raises(RuntimeError):
        with atomic_folder(target) as tmp:
            (tmp / "frames.npy").write_bytes(b"partial")
            raise RuntimeError("killed")
    assert list(tmp_path.iterdir()) == []
    with atomic_folder(target) as tmp:
        (tmp / "meta.json").write_text("{}")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["entry"]
    # a second writer of the same entry keeps the first one's folder
    with atomic_folder(target) as tmp:
        (tmp / "meta.json").write_text('{"second": true}')
    assert (target / "meta.json").read_text() == "{}"


def test_to_jsonable_makes_every_value_strict_json():
    import torch

    value = {"a": np.int64(3), "b": torch.tensor([1.5, float("inf")]), 4: (np.float32(0.25),),
             "c": Path("a/b")}
    out = to_jsonable(value)
    json.dumps(out, allow_nan=False)
    assert out["a"] == 3 and out["b"] == [1.5, None] and out["4"] == [0.25]
    assert out["c"] == "a/b"


def _append(path: str, worker: int) -> None:
    for i in range(200):
        append_json_line(path, {"worker": worker, "i": i, "pad": "x" * 300})


def test_json_lines_from_many_processes_never_interleave(tmp_path):
    path = tmp_path / "report.jsonl"
    procs = [multiprocessing.Process(target=_append, args=(str(path), w)) for w in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    rows = [obj for _, obj in iter_json_objects(path)]
    assert len(rows) == 800
    assert sorted((r["worker"], r["i"]) for r in rows) == [(w, i) for w in range(4) for i in range(200)]


def test_read_frames_chunked_with_crop_equals_whole_then_crop(tmp_path):
    video = make_video(tmp_path / "v.mp4", frames=30, size=(64, 48), fps=25.0)
    inds = np.array([5, 3, 3, 17, 29, 0, 12])
    whole = read_frames(video, inds)
    assert whole.shape == (7, 48, 64, 3) and np.array_equal(whole[1], whole[2])
    box, size = (8, 4, 56, 44), (16, 24)
    chunked = read_frames(video, inds, box=box, size=size, chunk=2)
    expected = read_frames(video, inds, box=box, size=size)
    assert chunked.shape == (7, 16, 24, 3) and np.array_equal(chunked, expected)
    out = np.zeros((30, 16, 24, 3), dtype=np.uint8)
    read_frames(video, np.arange(30), box=box, size=size, chunk=7, out=out)
    assert np.array_equal(out[inds], expected)
    with pytest.raises(ValueError, match=r"v\.mp4 has 30 frames"):
        read_frames(video, [29, 30])
    with pytest.raises(ValueError, match=r"crop box \(0, 0, 65, 40\) lies outside the 64x48 frame"):
        read_frames(video, [0], box=(0, 0, 65, 40))


def test_resize_then_centre_crop_is_torchvisions_resize_and_center_crop(tmp_path):
    import cv2

    rng = np.random.default_rng(0)
    frames = rng.integers(0, 256, size=(3, 48, 64, 3), dtype=np.uint8)
    from pisa.io.media import crop_resize

    out = crop_resize(frames, (4, 2, 60, 46), (16, 16), resize=(21, 27))
    # by hand: crop, cv2 bilinear resize to 27x21 (w x h), centre 16x16 with rounded offsets
    expected = []
    for frame in frames[:, 2:46, 4:60]:
        big = cv2.resize(frame, (27, 21), interpolation=cv2.INTER_LINEAR)
        top, left = int(round((21 - 16) / 2.0)), int(round((27 - 16) / 2.0))
        expected.append(big[top:top + 16, left:left + 16])
    np.testing.assert_array_equal(out, np.stack(expected))
    assert not np.array_equal(out, crop_resize(frames, (4, 2, 60, 46), (16, 16)))
    with pytest.raises(ValueError, match="does not fit"):
        crop_resize(frames, None, (32, 32), resize=(20, 40))


def test_run_ahead_gives_every_item_in_order_and_the_error_where_it_happened():
    from pisa.io.ahead import RunAhead

    def items():
        yield from range(5)
        raise ValueError("item 5 is bad")

    got = []
    with RunAhead(items, depth=2) as ahead:
        with pytest.raises(ValueError, match="item 5 is bad"):
            for item in ahead:
                got.append(item)
    assert got == [0, 1, 2, 3, 4]
    endless = RunAhead(lambda: iter(int, 1), depth=3)  # never ends: close stops it
    assert [next(endless) for _ in range(4)] == [0, 0, 0, 0]
    endless.close()
    assert not endless._thread.is_alive()


def test_run_ahead_threads_stop_before_the_process_forks_and_readers_start_anew(tmp_path):
    import multiprocessing

    from pisa.io.media import FrameSource, read_frames
    from pisa.io.numbered_media import frame_index_of, write_numbered_video

    video = write_numbered_video(tmp_path / "v.mp4", frames=40, audio=False)
    source = FrameSource(video, backend="pyav")
    first = read_frames(source, [0, 1])  # its decoding thread now runs ahead
    ctx = multiprocessing.get_context("fork")
    child = ctx.Process(target=read_frames, args=(FrameSource(video, backend="pyav"), [5]))
    child.start()
    child.join(60)
    assert child.exitcode == 0
    # the thread was stopped for the fork; the reader seeks and reads on
    assert [frame_index_of(f) for f in read_frames(source, [2, 3, 30])] == [2, 3, 30]
    assert [frame_index_of(f) for f in first] == [0, 1]
