"""Bad input: each case is a clear error naming the file / row and the problem (or, with
``on_bad_sample='skip'``, a warning and the sample dropped); malicious pickles never run."""
from __future__ import annotations

import os
import pickle
from pathlib import Path

import numpy as np
import pytest

from media import make_video, make_wav  # noqa: E402

from pisa.data.core.bad_samples import BadSampleWarning  # noqa: E402
from pisa.io.media import write_wav  # noqa: E402
from pisa.data.adapters.pisa_dataset import read_performance_table  # noqa: E402
from pisa.io.safe_load import UnsafePickleError, load_pickle  # noqa: E402
from pisa.registry import DATASETS  # noqa: E402

HEADER = "id,split,video,audio,target,frame_start,frame_end,crop_x1,crop_y1,crop_x2,crop_y2\n"
PIPE = [dict(type="DecodeFrames"), dict(type="CropResize", size=(16, 16)),
        dict(type="LoadAudio", sample_rate=16000), dict(type="MelSpectrogram", size=(24, 24)),
        dict(type="PackAQAInputs")]


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("bad")
    make_video(root / "good.mp4", frames=40, tone_at_frame=0)
    make_video(root / "mute.mp4", frames=40, audio=False)
    (root / "empty.mp4").write_bytes(b"")
    data = (root / "good.mp4").read_bytes()
    (root / "truncated.mp4").write_bytes(data[: len(data) // 2])
    (root / "notes.mp4").write_text("these are not video bytes\n" * 20)
    write_wav(root / "silent.wav", np.zeros(16000 * 2, np.float32), 16000)
    make_wav(root / "tone.wav", seconds=2.0, tone_at=0.0)
    return root


def csv_dataset(root: Path, rows: str, header: str = HEADER, **kw):
    ann = root / f"ann_{abs(hash(rows + header))}.csv"
    ann.write_text(header + rows)
    cfg = dict(type="AQACSVDataset", ann_file=str(ann), split="train", pipeline=PIPE,
               clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=4))
    cfg.update(kw)
    return DATASETS.build(cfg)


@pytest.mark.parametrize("video, message", [
    ("missing.mp4", r"missing\.mp4: video file not found"),
    ("empty.mp4", r"empty\.mp4: empty file \(0 bytes\)"),
    ("truncated.mp4", r"truncated\.mp4: cannot open as a video \(truncated, damaged or not a video"),
    ("notes.mp4", r"notes\.mp4: cannot open as a video"),
])
def test_broken_video_files(media, video, message):
    with pytest.raises((ValueError, FileNotFoundError), match=message):
        csv_dataset(media, f"v1,train,{video},,5,,,,,,\n")


def test_broken_video_skipped_with_a_warning(media):
    with pytest.warns(BadSampleWarning, match=r"truncated\.mp4"):
        ds = csv_dataset(media, "v1,train,truncated.mp4,,5,,,,,,\nv2,train,good.mp4,,5,,,,,,\n",
                         on_bad_sample="skip")
    assert {ds.get_data_info(i)["group"] for i in range(len(ds))} == {"v2"}


def test_audio_problems(media):
    with pytest.raises(ValueError, match=r"mute\.mp4: has no audio track, but the audio modality needs one"):
        csv_dataset(media, "v1,train,mute.mp4,,5,,,,,,\n")
    with pytest.raises(ValueError, match=r"silent\.wav: the audio is silent"):
        csv_dataset(media, "v1,train,mute.mp4,silent.wav,5,,,,,,\n")
    # video only: a mute video is fine
    ds = csv_dataset(media, "v1,train,mute.mp4,,5,,,,,,\n", modalities=("video",),
                     pipeline=[PIPE[0], PIPE[1], dict(type="PackAQAInputs", modalities=("video",))])
    assert ds[0]["inputs"]["video"].shape == (2, 3, 4, 16, 16)
    # a separate wav is used when given
    assert csv_dataset(media, "v1,train,mute.mp4,tone.wav,5,,,,,,\n")[0]["inputs"]["audio"].std() > 1


def test_nan_audio_is_refused():
    from pisa.io.media import check_audio

    with pytest.raises(ValueError, match="x.wav: the audio holds NaN"):
        check_audio(np.array([0.1, np.nan], np.float32), "x.wav")


def test_performance_shorter_than_one_sample(media):
    with pytest.raises(ValueError, match=r"performance v1 \(.*line 2\): 7 frames is shorter than one sample \(8 frames"):
        csv_dataset(media, "v1,train,good.mp4,,5,0,7,,,,\n")
    with pytest.warns(BadSampleWarning, match="shorter than one sample"):
        ds = csv_dataset(media, "v1,train,good.mp4,,5,0,7,,,,\nv2,train,good.mp4,,5,0,16,,,,\n",
                         on_bad_sample="skip")
    assert len(ds) == 2 and ds.get_data_info(0)["group"] == "v2"


def test_frames_beyond_the_video(media):
    with pytest.raises(ValueError, match=r"good\.mp4 has 40 frames after frame 0, the samples need 48"):
        csv_dataset(media, "v1,train,good.mp4,,5,0,50,,,,\n")


def test_crop_boxes(media):
    with pytest.raises(ValueError, match=r"line 2: crop box \(30, 4, 10, 40\) is inverted"):
        csv_dataset(media, "v1,train,good.mp4,,5,,,30,4,10,40\n")
    with pytest.raises(ValueError, match=r"performance v1 .*crop box \(0, 0, 65, 40\) lies outside the 64x48 frame"):
        csv_dataset(media, "v1,train,good.mp4,,5,,,0,0,65,40\n")


def test_targets_ids_and_columns(media):
    with pytest.raises(ValueError, match=r"line 3: level '11' is outside 1\.\.10"):
        csv_dataset(media, "v1,train,good.mp4,,5,,,,,,\nv2,train,good.mp4,,11,,,,,,\n")
    with pytest.raises(ValueError, match=r"line 3: duplicate id 'v1' \(first at .*line 2\)"):
        csv_dataset(media, "v1,train,good.mp4,,5,,,,,,\nv1,test,good.mp4,,5,,,,,,\n")
    with pytest.raises(ValueError, match=r"ann_.*\.csv: missing column\(s\) target"):
        csv_dataset(media, "v1,train,good.mp4\n", header="id,split,video\n")


def table_with(tmp_path: Path, edit) -> Path:
    rows = (Path(__file__).resolve().parents[1] / "pisa" / "resources" / "pisa_performances.csv").read_text().splitlines()
    out = tmp_path / "table.csv"
    out.write_text("\n".join(edit(rows)) + "\n")
    return out


def test_performance_table_errors(tmp_path):
    def level_11(rows):
        cells = rows[3].split(",")
        cells[5] = "11"
        return rows[:3] + [",".join(cells)] + rows[4:]

    with pytest.raises(ValueError, match=r"table\.csv line 4: player_level 11 is outside 1\.\.10"):
        read_performance_table(table_with(tmp_path, level_11))
    with pytest.raises(ValueError, match=r"table\.csv line 63: duplicate id 2 \(first on line 3\)"):
        read_performance_table(table_with(tmp_path, lambda rows: rows + [rows[2]]))
    with pytest.raises(ValueError, match=r"table\.csv: missing column\(s\) crop_x2"):
        read_performance_table(table_with(tmp_path, lambda rows: [rows[0].replace("crop_x2", "cropx2")] + rows[1:]))

    def inverted(rows):
        cells = rows[1].split(",")
        cells[7], cells[9] = cells[9], cells[7]
        return [rows[0], ",".join(cells)] + rows[2:]

    with pytest.raises(ValueError, match=r"table\.csv line 2: crop box .* is inverted"):
        read_performance_table(table_with(tmp_path, inverted))


class Payload:
    """Unpickling this would run ``os.system('touch <marker>')``."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def test_malicious_pickles_are_refused_and_never_run(tmp_path):
    marker = tmp_path / "pwned"
    bad = tmp_path / "final_annotations_dict.pkl"
    bad.write_bytes(pickle.dumps({(1, 1): Payload(marker)}))
    with pytest.raises(UnsafePickleError, match=r"final_annotations_dict\.pkl: refused to load global (posix|os)\.system"):
        load_pickle(bad)
    assert not marker.exists()
    # through the adapters, which read every pickle with the safe unpickler
    (tmp_path / "train_split_0.pkl").write_bytes(pickle.dumps([(1, 1)]))
    with pytest.raises(UnsafePickleError, match="refused to load global"):
        DATASETS.build(dict(type="MTLAQADataset", data_root=str(tmp_path), split="train", pipeline=[]))
    for scheme in ("unidist",):
        for split in ("train", "test"):
            (tmp_path / f"annotations_{scheme}_{split}.pkl").write_bytes(
                pickle.dumps({(1, 0): {"frames": Payload(marker)}}))
    with pytest.raises(UnsafePickleError, match=r"annotations_unidist_train\.pkl: refused"):
        DATASETS.build(dict(type="PISADataset", data_root=str(tmp_path), ann_dir=str(tmp_path),
                            check_media=False, pipeline=[]))
    assert not marker.exists()
    # a class outside the allowlist is refused even when harmless
    harmless = tmp_path / "h.pkl"
    harmless.write_bytes(pickle.dumps(Path("x")))
    with pytest.raises(UnsafePickleError, match=r"refused to load global pathlib\."):
        load_pickle(harmless)
    corrupt = tmp_path / "c.pkl"
    corrupt.write_bytes(b"\x80\x03}q\x00")
    with pytest.raises(ValueError, match=r"c\.pkl: not a readable pickle"):
        load_pickle(corrupt)
