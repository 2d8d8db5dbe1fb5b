"""Media that fail to decode during training: each failure is reported with file, frames and
error, the sample is skipped or the run stops as the config says, a cap stops a run with the
list, reports cross DataLoader worker processes, and no bad sample ever becomes a silent
zero tensor."""
from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
from mmengine.config import Config

from engine_helpers import TINY_CONFIG, render_tiny_dataset  # noqa: E402
from media import frame_index_of, make_video  # noqa: E402

from pisa.cli import main  # noqa: E402
from pisa.data.core import bad_samples as bad_lib  # noqa: E402
from pisa.data.core.bad_samples import BadSampleError, TooManyBadSamplesError  # noqa: E402
from pisa.data.core.bad_samples import BadSampleWarning  # noqa: E402
from pisa.registry import DATASETS  # noqa: E402
from pisa.io.media import resolve_backend  # noqa: E402

VIDEO_ONLY = [dict(type="DecodeFrames"), dict(type="PackAQAInputs", modalities=("video",))]


def truncate(path: Path) -> None:
    """Cut a video to half its bytes, as an interrupted copy would (decord then fails)."""
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


# -- the dataset on its own -----------------------------------------------------------
@pytest.fixture()
def csv_media(tmp_path) -> Path:
    for name in ("a", "b", "c"):
        make_video(tmp_path / f"{name}.mp4", frames=16, audio=False)
    (tmp_path / "ann.csv").write_text(
        "id,split,video,target\n" + "".join(f"{n},train,{n}.mp4,{i + 3}\n" for i, n in enumerate("abc")))
    return tmp_path


def csv_dataset(root: Path, **kw):
    cfg = dict(type="AQACSVDataset", ann_file="ann.csv", data_root=str(root), modalities=("video",),
               clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=4), pipeline=VIDEO_ONLY)
    cfg.update(kw)
    return DATASETS.build(cfg)


def indices_of(ds, perf_id: str) -> list:
    return [i for i in range(len(ds)) if ds.get_data_info(i)["perf_id"] == perf_id]


def test_a_file_broken_after_the_build_raises_one_line_naming_file_and_frames(csv_media):
    ds = csv_dataset(csv_media)  # every file checked and fine here
    truncate(csv_media / "b.mp4")
    second_of_b = indices_of(ds, "b")[1]
    with pytest.raises(BadSampleError) as info:
        ds[second_of_b]
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"bad sample b/1 ({csv_media / 'b.mp4'} frames 8-15): ")
    assert "cannot open as a video" in message
    # the failure is kept even without a report file
    [record] = ds.bad_sample_records()
    assert (record["file"], record["sample_id"], record["frames"]) == (str(csv_media / "b.mp4"), "b/1", [8, 15])


def damage_second_half(path: Path) -> None:
    """Rewrite an mp4 with its index first (``faststart``) and random bytes over the second
    half of its frame data: the file opens, its frames do not decode."""
    import av

    moved = path.with_suffix(".faststart.mp4")
    with av.open(str(path)) as src, av.open(str(moved), "w", options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = bytearray(moved.read_bytes())
    start = data.find(b"mdat") + 4
    half = start + (len(data) - start) // 2
    data[half:] = np.random.default_rng(0).integers(0, 256, len(data) - half, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    moved.unlink()


@pytest.mark.skipif(resolve_backend("video").name == "decord",
                    reason="decord refuses such a file when it opens it (tests/test_bad_inputs.py)")
def test_frames_that_cannot_be_decoded_are_reported_like_a_broken_file(tmp_path):
    # the file opens (the start-up check passes) but its frames fail to decode: a real
    # decode failure at training time
    make_video(tmp_path / "damaged.mp4", frames=16, audio=False)
    damage_second_half(tmp_path / "damaged.mp4")
    (tmp_path / "ann.csv").write_text("id,split,video,target\nt,train,damaged.mp4,4\n")
    ds = csv_dataset(tmp_path)
    with pytest.raises(BadSampleError, match=r"^bad sample t/0 \(.*damaged\.mp4 frames 0-7\): .*damaged\.mp4: "
                       r"cannot decode source frames 0-7 \(the file is damaged"):
        ds[0]


def test_skip_replaces_the_sample_reports_it_and_the_cap_stops_with_the_list(csv_media, tmp_path):
    ds = csv_dataset(csv_media, on_bad_sample="skip", max_bad_samples=2)
    report = tmp_path / "report.jsonl"
    ds.set_bad_sample_report(str(report), "train")
    truncate(csv_media / "a.mp4")
    np.random.seed(0)
    for idx in indices_of(ds, "a"):
        with pytest.warns(BadSampleWarning, match=r"a\.mp4"):
            item = ds[idx]
        # the replacement is a real sample of a good video, not zeros
        assert item["data_samples"]["group"] in ("b", "c")
        frames = item["inputs"]["video"].numpy().transpose(0, 2, 3, 4, 1).reshape(-1, 48, 64, 3)
        assert [frame_index_of(f) for f in frames] in (list(range(8)), list(range(8, 16)))
    records = [json.loads(line) for line in report.read_text().splitlines()]
    assert {(r["file"], r["sample_id"], tuple(r["frames"]), r["stage"]) for r in records} == {
        (str(csv_media / "a.mp4"), "a/0", (0, 7), "read"), (str(csv_media / "a.mp4"), "a/1", (8, 15), "read")}
    truncate(csv_media / "c.mp4")  # a third bad sample exceeds the cap of 2
    with pytest.raises(TooManyBadSamplesError) as info:
        with pytest.warns(BadSampleWarning):
            ds[indices_of(ds, "c")[0]]
    message = str(info.value)
    assert "3 bad samples in the train data exceed max_bad_samples=2 (2 of 6 samples)" in message
    assert message.count("a.mp4 frames") == 2 and message.count("c.mp4 frames 0-7") == 1


def test_the_cap_counts_distinct_samples_and_accepts_a_fraction(csv_media, tmp_path):
    ds = csv_dataset(csv_media, on_bad_sample="skip", max_bad_samples=0.4)  # 6 samples -> 2
    ds.set_bad_sample_report(str(tmp_path / "r.jsonl"), "train")
    truncate(csv_media / "a.mp4")
    with pytest.warns(BadSampleWarning):
        for _ in range(3):  # the same two samples failing again do not add up
            for idx in indices_of(ds, "a"):
                assert ds.prepare_data(idx) is None  # None: mmengine then reads another
    summary = bad_lib.summarize_bad_samples(ds.bad_sample_records())
    assert [(e["sample_id"], e["count"]) for e in summary] == [("a/0", 3), ("a/1", 3)]
    truncate(csv_media / "b.mp4")
    with pytest.raises(TooManyBadSamplesError, match=r"max_bad_samples=0\.4 \(2 of 6 samples\)"):
        with pytest.warns(BadSampleWarning):
            ds.prepare_data(indices_of(ds, "b")[0])
    for bad in (-1, 1.5, 0.0, "3", True):
        with pytest.raises(ValueError, match="max_bad_samples must be"):
            csv_dataset(csv_media, max_bad_samples=bad)


def test_test_mode_never_skips(csv_media):
    ds = csv_dataset(csv_media, on_bad_sample="skip", test_mode=True)
    truncate(csv_media / "c.mp4")
    with pytest.raises(BadSampleError, match=r"c\.mp4.*\(a test_mode dataset never skips\)"):
        ds[indices_of(ds, "c")[0]]


def test_performances_dropped_at_the_build_go_to_the_report(csv_media, tmp_path):
    truncate(csv_media / "a.mp4")
    with pytest.warns(BadSampleWarning, match=r"a\.mp4"):
        ds = csv_dataset(csv_media, on_bad_sample="skip")
    report = tmp_path / "r.jsonl"
    ds.set_bad_sample_report(str(report), "val")
    [record] = bad_lib.read_records(report)
    assert (record["split"], record["stage"], record["perf_id"], record["file"], record["frames"]) == (
        "val", "check", "a", str(csv_media / "a.mp4"), None)


def test_an_error_in_a_worker_process_keeps_its_own_message(csv_media):
    ds = csv_dataset(csv_media)
    truncate(csv_media / "a.mp4")
    loader = torch.utils.data.DataLoader(ds, batch_size=1, num_workers=1)
    with pytest.raises(BadSampleError) as info:
        next(iter(loader))
    assert "Original Traceback" in str(info.value)  # what PyTorch makes of it
    assert bad_lib.worker_error_message(info.value) == (
        f"bad sample a/0 ({csv_media / 'a.mp4'} frames 0-7): {csv_media / 'a.mp4'}: "
        + str(info.value).split(f"{csv_media / 'a.mp4'}: ", 1)[1].strip())
    assert "\n" not in bad_lib.worker_error_message(info.value)


# -- whole training runs through `pisa train` -----------------------------------------
@pytest.fixture(scope="module")
def rendered(tmp_path_factory) -> Path:
    return render_tiny_dataset(tmp_path_factory.mktemp("synth"))


def broken_copy(rendered: Path, tmp_path: Path) -> tuple:
    """A copy of the rendered dataset with two of its training videos truncated; returns
    (data root, the two broken files)."""
    root = tmp_path / "data"
    shutil.copytree(rendered, root)
    os.environ["PISA_DATA_ROOT"] = str(root)
    try:
        cfg = Config.fromfile(str(TINY_CONFIG))
    finally:
        del os.environ["PISA_DATA_ROOT"]
    train = DATASETS.build(cfg.train_dataloader.dataset)  # built while every file is fine
    videos = sorted({p["video_path"] for p in train.performances})
    assert len(videos) == 3
    broken = videos[:2]
    for video in broken:
        truncate(Path(video))
    return root, broken


def train_args(root: Path, work: Path, *options: str) -> list:
    return ["train", str(TINY_CONFIG), "--data-root", str(root), "--work-dir", str(work),
            "--cfg-options", "train_cfg.max_epochs=1",
            # the media are opened only when training reads them, as after a late corruption
            "train_dataloader.dataset.check_media=False", *options]


@pytest.mark.slow
def test_training_skips_bad_files_in_worker_processes_and_lists_them(rendered, tmp_path):
    root, broken = broken_copy(rendered, tmp_path)
    work = tmp_path / "run"
    assert main(train_args(root, work, "train_dataloader.dataset.on_bad_sample=skip",
                           "train_dataloader.num_workers=2")) == 0
    results = json.loads((work / "results.json").read_text())
    listed = results["bad_samples"]
    assert {e["file"] for e in listed} == set(broken)
    assert all(e["split"] == "train" and e["stage"] == "read" and e["count"] >= 1 for e in listed)
    assert all("cannot open as a video" in e["error"] and len(e["frames"]) == 2 for e in listed)
    # written by the worker processes, read back by the main one
    pids = {json.loads(line)["pid"] for line in (work / "bad_samples.jsonl").read_text().splitlines()}
    assert os.getpid() not in pids
    # and the log lists them after the epoch
    [log] = work.glob("*/*.log")
    text = log.read_text()
    assert "bad sample(s) after epoch" in text and all(video in text for video in broken)
    assert results["val_metrics"]["accuracy"] is not None


@pytest.mark.slow
def test_training_with_on_bad_sample_error_stops_with_one_line(rendered, tmp_path, capsys):
    root, broken = broken_copy(rendered, tmp_path)
    assert main(train_args(root, tmp_path / "run", "train_dataloader.num_workers=0")) == 2
    err = capsys.readouterr().err
    # (an mmengine logger left over from an earlier in-process run may complain on stderr
    # about its closed capture stream; the command's own error is its last line)
    assert "Original Traceback" not in err and "File \"" not in err.split("pisa train: error:")[-1]
    [line] = [line for line in err.splitlines() if line.startswith("pisa train: error:")]
    assert err.rstrip().endswith(line) and line.startswith("pisa train: error: bad sample ")
    assert any(f"({video} frames " in line for video in broken) and "cannot open as a video" in line


@pytest.mark.slow
def test_training_stops_at_the_cap_with_the_list(rendered, tmp_path, capsys):
    root, broken = broken_copy(rendered, tmp_path)
    assert main(train_args(root, tmp_path / "run", "train_dataloader.dataset.on_bad_sample=skip",
                           "train_dataloader.dataset.max_bad_samples=1",
                           "train_dataloader.num_workers=2")) == 2
    err = capsys.readouterr().err
    assert "Original Traceback" not in err
    assert "exceed max_bad_samples=1" in err
    listed = [line for line in err.splitlines() if line.startswith("  [train] ")]
    assert len(listed) >= 2 and all(any(v in line for v in broken) for line in listed)
    assert not (tmp_path / "run" / "results.json").exists()
