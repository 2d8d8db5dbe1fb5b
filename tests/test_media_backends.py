"""Every decoder backend gives the same frames, samples and errors.

Videos are generated here (PyAV's encoders): several codecs and containers, frame rates,
display rotations, variable frame rate and a single frame. Each frame carries its number
as a grey block (:mod:`pisa.io.numbered_media`) beside a random texture, so a test sees
both that backends agree pixel for pixel and that frame ``i`` is the ``i``-th frame shown.
"""
from __future__ import annotations

import os
import subprocess
import sys
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest

from pisa.io.media import (AUDIO_ENV, THREADS_ENV, VIDEO_ENV, FrameSource,
                           backend_names, decode_threads, read_audio, read_frames, resample,
                           unavailable_reason, write_video, write_wav)
from pisa.io.numbered_media import frame_index_of, frame_level


def backend_params(kind):
    """Each registered backend of ``kind``; one whose libraries are missing here is
    skipped with the reason."""
    return [pytest.param(name, marks=pytest.mark.skipif(
        unavailable_reason(kind, name) is not None, reason=f"{name}: {unavailable_reason(kind, name)}"))
        for name in backend_names(kind)]


VIDEO_BACKENDS = backend_params("video")
AUDIO_BACKENDS = backend_params("audio")
W, H = 64, 48


def numbered_textured(i: int, rng: np.random.Generator) -> np.ndarray:
    """Frame ``i``: random texture with a flat grey block on the left telling ``i``."""
    img = rng.integers(0, 256, (H, W, 3), dtype=np.uint8)
    img[:, : W // 2] = frame_level(i)
    return img


def encode(path: Path, codec: str, rate, frames: int = 40, fmt=None, rotation: int = 0,
           pix_fmt: str = "yuv420p", stamps=None, options=None) -> Path:
    """Write ``frames`` numbered frames with ``codec`` at ``rate`` (fps, a Fraction for
    NTSC rates), a display rotation, or explicit timestamps in ms (variable rate)."""
    import av

    rng = np.random.default_rng(0)
    with av.open(str(path), "w", format=fmt) as container:
        stream = container.add_stream(codec, rate=rate)
        stream.width, stream.height, stream.pix_fmt = W, H, pix_fmt
        stream.codec_context.gop_size = 8  # keyframes every 8 frames: reads seek
        stream.options = dict(options or {})
        if stamps is not None:
            stream.codec_context.time_base = Fraction(1, 1000)
            stream.time_base = Fraction(1, 1000)
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(frames):
            frame = av.VideoFrame.from_ndarray(numbered_textured(i, rng), format="rgb24")
            if stamps is not None:
                frame.pts, frame.time_base = int(stamps[i]), Fraction(1, 1000)
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


#: name -> (writer arguments, fps expected)
VIDEOS = {
    "h264-25": (dict(codec="libx264", rate=25, fmt="mp4"), 25.0),
    "h264-ntsc": (dict(codec="libx264", rate=Fraction(30000, 1001), fmt="mp4"), 30000 / 1001),
    "hevc-mkv-50": (dict(codec="libx265", rate=50, fmt="matroska", options={"x265-params": "log-level=none"}), 50.0),
    # (the grey levels that number the frames need a high bit rate in these two)
    "mpeg4-avi-24": (dict(codec="mpeg4", rate=24, fmt="avi", options={"b": "20M"}), 24.0),
    "mjpeg-mov-15": (dict(codec="mjpeg", rate=15, fmt="mov", pix_fmt="yuvj420p", options={"b": "20M"}), 15.0),
    "h264-rot90": (dict(codec="libx264", rate=25, fmt="mp4", rotation=90), 25.0),
    "h264-rot270": (dict(codec="libx264", rate=25, fmt="mp4", rotation=-90), 25.0),
    "h264-rot180": (dict(codec="libx264", rate=25, fmt="mp4", rotation=180), 25.0),
    # variable frame rate: gaps of 20, 40 and 60 ms in turn, 40 ms on average
    "h264-vfr": (dict(codec="libx264", rate=25, fmt="mp4",
                      stamps=np.cumsum([0] + [20, 40, 60] * 13)[:40]), None),
}
SUFFIX = {"mp4": ".mp4", "matroska": ".mkv", "webm": ".webm", "avi": ".avi", "mov": ".mov"}


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    folder = tmp_path_factory.mktemp("codecs")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return {name: encode(folder / f"{name}{SUFFIX[kw['fmt']]}", **kw)
                for name, (kw, _) in VIDEOS.items()}


def read_all_ways(path: Path, backend: str):
    """``(len, fps, every frame in order, a sparse read with backward jumps)``: the sparse
    reads go through one open source, as a dataset's reader does."""
    source = FrameSource(path, backend=backend)
    n = len(source)
    every = read_frames(source, np.arange(n), chunk=7)
    picks = [np.array([n - 3, n - 1]), np.array([1, 2]), np.array([17, 30]), np.array([0, 9, 33])]
    sparse = [source.read(p) for p in picks]
    return n, source.fps, every, np.concatenate(sparse), np.concatenate(picks)


def frame_numbers_in_order(frames: np.ndarray) -> bool:
    """Whether the grey blocks (levels rising with the frame number, whatever scale a
    codec's colour range gives them) rise frame after frame: frame i is the i-th shown."""
    greys = [float(np.median(f[:, 4:W // 2 - 4])) for f in frames]
    return bool(np.all(np.diff(greys) > 1.0))


#: decord 0.6's defects, each shown by the test: (video, what goes wrong)
DECORD_FAILS = {
    "h264-rot90": "rotated by 90 degrees: decord's batch copy fails (4 channels for 3)",
    "h264-rot270": "rotated by 270 degrees: decord's batch copy fails (4 channels for 3)",
    "hevc-mkv-50": "HEVC in Matroska: sparse reads return other frames than a sequential read",
}


@pytest.mark.parametrize("name", list(VIDEOS))
def test_every_backend_gives_the_same_frames_in_presentation_order(videos, name):
    results = {}
    for param in VIDEO_BACKENDS:
        backend = param.values[0]
        if unavailable_reason("video", backend) is not None:
            continue
        if backend == "decord" and name in DECORD_FAILS:
            check_decord_defect(videos[name], name)
            continue
        results[backend] = read_all_ways(videos[name], backend)
    assert len(results) >= 2, "fewer than two backends run here"
    fps = VIDEOS[name][1]
    rotation = VIDEOS[name][0].get("rotation", 0)
    for backend, (n, got_fps, every, sparse, picks) in results.items():
        assert n == 40, backend
        if fps is not None:
            assert got_fps == pytest.approx(fps, rel=1e-6), backend
        else:  # variable rate: the average (40 frames over 1.56 s), whatever the header guesses
            assert got_fps == pytest.approx(39 / 1.52, rel=0.05), (backend, got_fps)
        assert every.shape == ((40, W, H, 3) if rotation in (90, -90) else (40, H, W, 3)), backend
        assert frame_numbers_in_order(np.rot90(every, -(rotation // 90), axes=(1, 2))), backend
        np.testing.assert_array_equal(sparse, every[picks], err_msg=backend)
    first, (_, _, reference, _, _) = next(iter(results.items()))
    for backend, (_, _, every, _, _) in results.items():
        # every decoder here is FFmpeg's, and their RGB conversion agrees to the bit
        np.testing.assert_array_equal(every, reference, err_msg=f"{backend} vs {first}")


def check_decord_defect(path: Path, name: str) -> None:
    """decord still has the defect :data:`DECORD_FAILS` names (when a release fixes it,
    this fails and decord can move up the default order)."""
    if "rotated" in DECORD_FAILS[name]:
        with pytest.raises(ValueError, match=r"decord cannot read videos with a display rotation \((90|-90|270) "
                                             r"degrees\); select the pyav or torchcodec video backend"):
            read_frames(FrameSource(path, backend="decord"), np.arange(7))
    else:
        _, _, every, sparse, picks = read_all_ways(path, "decord")
        assert not np.array_equal(sparse, every[picks])


def test_rotated_frames_are_the_source_turned(videos):
    for param in VIDEO_BACKENDS:
        backend = param.values[0]
        if unavailable_reason("video", backend) is not None:
            continue
        plain = read_frames(FrameSource(videos["h264-25"], backend=backend), np.arange(5))
        for name, turns in (("h264-rot90", 1), ("h264-rot180", 2), ("h264-rot270", -1)):
            if backend == "decord" and name in DECORD_FAILS:
                continue
            got = read_frames(FrameSource(videos[name], backend=backend), np.arange(5))
            np.testing.assert_array_equal(got, np.rot90(plain, turns, axes=(1, 2)), err_msg=(backend, name))


@pytest.mark.parametrize("backend", VIDEO_BACKENDS)
def test_crop_and_resize_while_decoding_equal_doing_it_after(videos, backend):
    source = FrameSource(videos["h264-25"], backend=backend)
    box, size = (5, 3, 45, 41), (20, 16)
    every = read_frames(source, np.arange(40))
    import cv2

    want = np.stack([cv2.resize(f[3:41, 5:45], (16, 20), interpolation=cv2.INTER_LINEAR) for f in every])
    idx = np.array([30, 2, 2, 17, 39, 0])  # any order, repeats
    np.testing.assert_array_equal(read_frames(source, idx, box=box, size=size, chunk=2), want[idx])


# -- bad input: one clear error, the same for every backend ---------------------------
def bad_files(folder: Path) -> dict:
    """Files no backend can read as a video, each as a user would meet it."""
    good = encode(folder / "good.mp4", "libx264", 25)
    data = good.read_bytes()
    (folder / "truncated.mp4").write_bytes(data[: len(data) // 2])  # index at the end: lost
    fast = encode(folder / "fast.mp4", "libx264", 25, frames=40)
    import av

    with av.open(str(fast)) as src, av.open(str(folder / "faststart.mp4"), "w",
                                            options={"movflags": "faststart"}) as dst:
        stream = dst.add_stream_from_template(src.streams.video[0])
        for packet in src.demux(src.streams.video[0]):
            if packet.dts is not None:
                packet.stream = stream
                dst.mux(packet)
    data = (folder / "faststart.mp4").read_bytes()
    (folder / "truncated-faststart.mp4").write_bytes(data[: len(data) * 2 // 3])  # index kept, data cut
    (folder / "text.mp4").write_text("id,video\n1,a.mp4\n" * 40)
    (folder / "empty.mp4").write_bytes(b"")
    return {name: folder / f"{name}.mp4" for name in ("truncated", "truncated-faststart", "text", "empty")}


LEAKS = ("errno", "ffmpeg", "decord", "avformat", "invalid data", "moov", "[", "torchcodec", "traceback")


def test_bad_files_give_the_same_error_from_every_backend(tmp_path):
    files = bad_files(tmp_path)
    for name, path in files.items():
        messages = {}
        for param in VIDEO_BACKENDS:
            backend = param.values[0]
            if unavailable_reason("video", backend) is not None:
                continue
            with pytest.raises(ValueError) as err:
                read_frames(FrameSource(path, backend=backend), np.arange(3))
            messages[backend] = str(err.value)
        assert len(set(messages.values())) == 1, (name, messages)
        message = next(iter(messages.values()))
        assert message.startswith(f"{path}: "), message
        assert not any(leak in message.lower().replace(str(path).lower(), "") for leak in LEAKS), message
        want = "empty file (0 bytes)" if name == "empty" else "cannot open as a video"
        assert want in message, message


@pytest.mark.parametrize("backend", VIDEO_BACKENDS)
def test_one_frame_video_reads(tmp_path, backend):
    path = encode(tmp_path / "one.mp4", "libx264", 25, frames=1)
    source = FrameSource(path, backend=backend)
    assert len(source) == 1
    (frame,) = read_frames(source, [0])
    assert frame_index_of(frame[:, 4:W // 2 - 4]) == 0
    with pytest.raises(ValueError, match=r"needs source frame 1 but .*one\.mp4 has 1 frames"):
        read_frames(source, [0, 1])


# -- audio --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def audio_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("audio")
    rng = np.random.default_rng(3)
    sr = 44100
    t = np.arange(int(1.5 * sr)) / sr
    track = (0.3 * np.sin(2 * np.pi * 440 * t) + 0.05 * rng.standard_normal(t.size)).astype(np.float32)
    wav = write_wav(folder / "a.wav", track, sr)
    frames = [numbered_textured(i, rng) for i in range(30)]
    video = write_video(folder / "v.mp4", frames, 20.0, audio=track, sample_rate=sr)
    silent_video = write_video(folder / "silent.mp4", frames, 20.0)
    return dict(wav=wav, video=video, silent_video=silent_video, track=track, sr=sr)


@pytest.mark.parametrize("rate", [None, 22050, 16000])
@pytest.mark.parametrize("source", ["wav", "video"])
def test_every_audio_backend_gives_the_same_samples(audio_files, source, rate):
    got = {}
    for param in AUDIO_BACKENDS:
        backend = param.values[0]
        if unavailable_reason("audio", backend) is None:
            got[backend] = read_audio(audio_files[source], rate, backend=backend)
    assert len(got) >= 2
    (first, (reference, ref_rate)), *others = got.items()
    assert ref_rate == (rate or audio_files["sr"])
    for backend, (samples, got_rate) in others:
        assert got_rate == ref_rate
        # PCM decodes to the bit; AAC decoders of different FFmpeg versions (decord's own
        # and PyAV's) round floats differently, by far less than a 16-bit step
        np.testing.assert_allclose(samples, reference, rtol=0, atol=1e-6, err_msg=f"{backend} vs {first}")
    if source == "wav":  # the file's own samples, or them resampled by libswresample
        want = audio_files["track"] if rate is None else resample(audio_files["track"], audio_files["sr"], rate)
        np.testing.assert_allclose(reference, want, atol=2.0 / 32767)  # 16-bit wav


def test_resampling_follows_soxr_closely(audio_files):
    import librosa

    samples, _ = read_audio(audio_files["wav"], 22050)
    soxr = librosa.resample(audio_files["track"], orig_sr=audio_files["sr"], target_sr=22050, res_type="soxr_hq")
    n = min(len(soxr), len(samples))
    # no shift and no dropped samples: the two resamplers differ only in their filters
    assert abs(len(samples) - len(soxr)) <= 1
    diff = np.abs(samples[100:n - 100] - soxr[100:n - 100])
    assert diff.max() < 0.03 and diff.mean() < 0.005  # the track's noise reaches Nyquist


@pytest.mark.parametrize("backend", AUDIO_BACKENDS)
def test_audio_errors_are_the_same_for_every_backend(audio_files, tmp_path, backend):
    silent = audio_files["silent_video"]
    with pytest.raises(ValueError, match=rf"^{silent}: has no audio track, but the audio modality needs one$"):
        read_audio(silent, 16000, backend=backend)
    text = tmp_path / "notes.wav"
    text.write_text("not audio\n" * 50)
    with pytest.raises(ValueError, match=rf"^{text}: cannot read audio \(truncated, damaged or not a media "
                                         r"file\)$"):
        read_audio(text, 16000, backend=backend)
    empty = tmp_path / "empty.wav"
    empty.write_bytes(b"")
    with pytest.raises(ValueError, match=r"empty file \(0 bytes\)"):
        read_audio(empty, 16000, backend=backend)


# -- which backend reads ------------------------------------------------------------
def test_the_environment_chooses_and_an_unknown_name_lists_the_known(videos, monkeypatch):
    monkeypatch.setenv(VIDEO_ENV, "pyav")
    assert FrameSource(videos["h264-25"]).backend == "pyav"
    monkeypatch.setenv(VIDEO_ENV, "ffmpeg-cli")
    with pytest.raises(ValueError, match=r"\$PISA_VIDEO_BACKEND: unknown video backend 'ffmpeg-cli'; "
                                         r"registered video backends: decord, pyav, torchcodec"):
        FrameSource(videos["h264-25"])
    monkeypatch.delenv(VIDEO_ENV)
    assert FrameSource(videos["h264-25"], backend="pyav").backend == "pyav"


def test_a_config_chooses_for_the_process_and_its_workers(tmp_path, monkeypatch):
    from pisa.engine.config_loader import load_config
    from pisa.engine.validate import ConfigError

    monkeypatch.delenv(VIDEO_ENV, raising=False)
    monkeypatch.delenv(AUDIO_ENV, raising=False)
    cfg = tmp_path / "c.py"
    cfg.write_text("video_backend = 'pyav'\naudio_backend = 'pyav'\n")
    load_config(cfg)
    assert (os.environ[VIDEO_ENV], os.environ[AUDIO_ENV]) == ("pyav", "pyav")
    cfg.write_text("video_backend = 'quicktime'\n")
    with pytest.raises(ConfigError, match=r"video_backend: unknown video backend 'quicktime'; registered"):
        load_config(cfg)
    cfg.write_text("video_backnd = 'pyav'\n")
    with pytest.raises(ConfigError, match=r"video_backnd: unknown key \(did you mean 'video_backend'\?\)"):
        load_config(cfg)


FALLBACK = """
import sys, warnings
sys.modules['decord'] = None  # as where decord has no wheel: importing it fails
warnings.simplefilter('always')
import numpy as np
from pisa.io.media import FrameSource, available_backends, read_frames
with warnings.catch_warnings(record=True) as seen:
    a = FrameSource(sys.argv[1])
    b = FrameSource(sys.argv[1])
    read_frames(a, np.arange(3))
print(a.backend, b.backend, available_backends('video')[0])
for w in seen:
    print(type(w.message).__name__, w.message)
"""


def test_a_missing_backend_falls_back_with_one_warning(videos):
    env = dict(os.environ, **{VIDEO_ENV: "decord"})
    out = subprocess.run([sys.executable, "-c", FALLBACK, str(videos["h264-25"])], capture_output=True,
                         text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert lines[0] == "pyav pyav pyav"
    assert lines[1:] == ["BackendFallbackWarning video backend 'decord' is not available here (decord cannot "
                         "be imported (ModuleNotFoundError: import of decord halted; None in sys.modules)); "
                         "reading with 'pyav' instead"]


def test_decode_threads_follow_the_setting_and_share_the_cores_among_workers(monkeypatch):
    import torch

    monkeypatch.setenv(THREADS_ENV, "3")
    assert decode_threads() == 3
    monkeypatch.setenv(THREADS_ENV, "many")
    with pytest.raises(ValueError, match=r"PISA_DECODE_THREADS: must be a whole number"):
        decode_threads()
    monkeypatch.delenv(THREADS_ENV)
    cores = len(os.sched_getaffinity(0))
    assert decode_threads() == max(1, min(8, cores))

    class Threads(torch.utils.data.Dataset):
        def __len__(self):
            return 2

        def __getitem__(self, i):
            return decode_threads()

    loader = torch.utils.data.DataLoader(Threads(), num_workers=2, batch_size=None)
    assert list(loader) == [max(1, min(8, cores // 2))] * 2


def test_decode_then_crop_resize_in_a_pipeline_sizes_while_decoding_with_the_same_frames(videos):
    from pisa.data.core.base_dataset import build_pipeline
    from pisa.data.transforms.clip_transforms import CropResize, DecodeFrames

    sample = dict(video_path=str(videos["h264-25"]), frame_inds=np.array([[3, 4, 5], [20, 21, 22]]),
                  frame_offset=2, crop_box=(5, 3, 45, 41), sample_id="s", ann_source="test")
    decode, crop = build_pipeline([dict(type="DecodeFrames"), dict(type="CropResize", size=(20, 16))])
    fused = crop(decode(dict(sample)))
    assert fused["sized"] and fused["imgs"].shape == (2, 3, 20, 16, 3)
    apart = CropResize(size=(20, 16))(DecodeFrames()(dict(sample)))  # built apart: not fused
    assert not apart["sized"]
    np.testing.assert_array_equal(fused["imgs"], apart["imgs"])


def test_a_plugin_registers_a_backend_and_a_config_name_selects_it(tmp_path, monkeypatch):
    from pisa import plugin_api
    from pisa.io.media import backends

    monkeypatch.setitem(backends._REGISTRY, "video", dict(backends._REGISTRY["video"]))

    @plugin_api.register_backend("video", "npy-frames", plugin_api.import_probe("numpy"))
    class NpyFrames(plugin_api.VideoReader):
        """Frames stored as one ``(N, H, W, 3)`` uint8 .npy file, 10 fps."""

        backend = "npy-frames"

        def __init__(self, path, threads):
            super().__init__(path, threads)
            self._frames = np.load(path, mmap_mode="r")
            self.num_frames, self.fps = len(self._frames), 10.0

        def _decode(self, frames):
            yield from (np.asarray(self._frames[i]) for i in frames)

    frames = np.random.default_rng(0).integers(0, 256, (12, 20, 24, 3), dtype=np.uint8)
    np.save(tmp_path / "clip.npy", frames)
    monkeypatch.setenv(VIDEO_ENV, "npy-frames")  # as a config's video_backend sets it
    source = FrameSource(tmp_path / "clip.npy")
    assert (source.backend, len(source), source.fps) == ("npy-frames", 12, 10.0)
    np.testing.assert_array_equal(read_frames(source, [7, 2, 7], box=(4, 2, 20, 18)),
                                  frames[[7, 2, 7], 2:18, 4:20])
