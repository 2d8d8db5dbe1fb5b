"""The released PISA loader's mel images: its recipe rebuilt here step by step (librosa at
the wav's own rate, reflect padding, its 8-bit PIL image) against the Table 1 configs'
audio steps; the native rate through the prepared cache; the flat-spectrogram rule."""
from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest

from pisa.data.core import cache as cache_lib
from pisa.data.transforms.mel import mel_images, release_image
from pisa.io.media import audio_rate, load_audio, read_audio, write_video, write_wav
from pisa.registry import DATASETS, TRANSFORMS

REPO = Path(__file__).resolve().parents[1]
UNIDIST = REPO / "configs" / "_base_" / "datasets" / "pisa_unidist.py"
NATIVE = 44100  # the rate of the authors' wav files
RELEASED_MEL = dict(n_fft=2048, hop_length=512, n_mels=128, fmin=20, fmax=8300)
# the defaults of the librosa < 0.10 that the release ran on, passed explicitly
RELEASED_STFT = dict(window="hann", center=True, pad_mode="reflect", power=2.0)
RELEASE_STEPS = dict(pad_mode="reflect", image="release", max_value=1.0)


def performance_audio(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """A tone, a chirp and noise under a slow swell: a spectrogram with structure in time
    and frequency, so padding and resizing differences show."""
    t = np.arange(int(seconds * sample_rate)) / sample_rate
    noise = np.random.default_rng(seed).standard_normal(t.size)
    chirp = np.sin(2 * np.pi * (200 + 300 * t) * t)
    y = 0.3 * np.sin(2 * np.pi * 440 * t) + 0.2 * chirp + 0.05 * noise
    return (y * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))).astype(np.float32)


def release_recipe(wav_path: Path, clips: np.ndarray, fps: float) -> np.ndarray:
    """The released loader's audio images, written out as it did them: float32
    ``(K, 224, 224)`` in 0..1."""
    import librosa
    from PIL import Image

    wav, sr = librosa.load(str(wav_path), sr=None, mono=True, offset=0.0, duration=None,
                           dtype=np.float32)
    images = []
    for clip in clips:
        segment = wav[int(clip[0] / fps * sr):int(clip[-1] / fps * sr)]
        spec = librosa.feature.melspectrogram(y=segment, sr=sr, **RELEASED_MEL, **RELEASED_STFT)
        db = librosa.power_to_db(spec, ref=np.max, amin=1e-10, top_db=80)
        norm = (db - db.mean()) / (db.std() + 1e-6)
        scaled = (255 * (norm - norm.min()) / (norm.max() - norm.min())).astype(np.uint8)[:, :224]
        image = Image.fromarray(scaled).resize((224, 224), Image.BILINEAR)
        images.append(np.asarray(image, dtype=np.float32) / 255)  # ToTensor
    return np.stack(images)


def run_steps(steps, wav_path: Path, clips: np.ndarray, fps: float):
    results = dict(audio_path=str(wav_path), video_path=None, frame_offset=0, fps=fps,
                   frame_inds=clips, sample_id="3/0", ann_source="test")
    for step in steps:
        results = TRANSFORMS.build(step)(results)
    return results


@pytest.fixture(scope="module")
def released_clips(tmp_path_factory):
    """Performance 3's first test sample of the released unidist annotations (10 clips of
    16 frames at 29.97 fps; rebuilt from the shipped performance table, which reproduces
    the released files exactly: tests/test_data_pisa.py) and a 44.1 kHz wav long enough
    for it."""
    from pisa.data.adapters.pisa_dataset import build_released_annotations, read_performance_table

    sample = build_released_annotations(read_performance_table())["unidist"]["test"][(3, 0)]
    fps = float(sample["framerate"])
    clips = np.asarray(sample["frames"]).reshape(10, 16)
    wav = write_wav(tmp_path_factory.mktemp("release") / "3.wav",
                    performance_audio((clips.max() + 30) / fps, NATIVE), NATIVE)
    return wav, clips, fps


def test_table1_audio_steps_rebuild_the_release_recipe(released_clips):
    from mmengine.config import Config

    wav, clips, fps = released_clips
    expected = release_recipe(wav, clips, fps)
    steps = Config.fromfile(str(UNIDIST)).audio_steps
    results = run_steps(steps, wav, clips, fps)
    assert results["audio_sr"] == NATIVE
    got = results["mel"][:, 0]
    assert got.shape == expected.shape == (10, 224, 224) and got.dtype == np.float32
    diff = np.abs(got - expected) * 255
    print(f"release recipe vs Table 1 audio steps: max {diff.max():.2f}/255, "
          f"mean {diff.mean():.3f}/255")
    assert diff.max() <= 2.0

    # the settings before: 22.05 kHz and zero padding, with the release's image steps and
    # with this framework's float image (0..255); both far from the release
    old_rate_padding = [dict(type="LoadAudio", sample_rate=22050),
                        dict(type="MelSpectrogram", size=(224, 224), image="release", max_value=1.0,
                             pad_mode="constant")]
    old_config = [dict(type="LoadAudio", sample_rate=22050),
                  dict(type="MelSpectrogram", size=(224, 224))]
    for name, old, scale in (("22.05 kHz + zero padding", old_rate_padding, 1.0),
                             ("the previous Table 1 steps", old_config, 255.0)):
        old_diff = np.abs(run_steps(old, wav, clips, fps)["mel"][:, 0] / scale - expected) * 255
        print(f"release recipe vs {name}: max {old_diff.max():.2f}/255, "
              f"mean {old_diff.mean():.3f}/255")
        assert old_diff.max() > 50 and old_diff.mean() > 5 * max(diff.mean(), 0.1)


def test_the_release_recipe_survives_its_power_to_db_reference(released_clips):
    # the release called power_to_db with librosa's ref=1.0; the standardisation cancels it
    import librosa

    wav, clips, fps = released_clips
    samples, sr = read_audio(wav, None)
    segment = samples[int(clips[4][0] / fps * sr):int(clips[4][-1] / fps * sr)]
    spec = librosa.feature.melspectrogram(y=segment, sr=sr, **RELEASED_MEL, **RELEASED_STFT)
    by_max = release_image(librosa.power_to_db(spec, ref=np.max, amin=1e-10, top_db=80), (224, 224))
    by_one = release_image(librosa.power_to_db(spec, ref=1.0, amin=1e-10, top_db=80), (224, 224))
    assert np.abs(by_max.astype(int) - by_one.astype(int)).max() <= 1


@pytest.mark.parametrize("settings", [dict(), RELEASE_STEPS])
def test_batched_librosa_call_gives_the_values_of_one_call_per_clip(settings):
    # the STFTs are bit-identical; the batched mel filter product rounds differently in
    # float32 (~3e-8 relative), which the 8-bit release image absorbs
    audio = performance_audio(3.0, NATIVE, seed=3)
    starts = (0, 9000, 30000, 70000)
    segments = [audio[s:s + 22000] for s in starts] + [audio[100:100 + 17000]]  # two lengths
    batched = mel_images(segments, NATIVE, (224, 224), **settings)
    one_by_one = np.concatenate([mel_images([s], NATIVE, (224, 224), **settings) for s in segments])
    top = settings.get("max_value", 255.0)
    diff = np.abs(batched - one_by_one) / top * 255
    print(f"batched vs one call per clip {settings}: max {diff.max():.2e}/255")
    if settings:
        np.testing.assert_array_equal(batched, one_by_one)
    else:
        assert diff.max() < 1e-3
    assert 0.9 * top < batched.max() <= top and batched.min() >= 0


def test_padding_and_image_settings_change_the_image():
    segment = performance_audio(0.5, NATIVE, seed=4)
    zero = mel_images([segment], NATIVE, pad_mode="constant")
    reflect = mel_images([segment], NATIVE, pad_mode="reflect")
    assert np.abs(zero - reflect).max() > 10  # the edge columns
    release = mel_images([segment], NATIVE, pad_mode="reflect", image="release")
    assert np.array_equal(release, np.round(release)) and 240 < release.max() <= 255  # 8-bit
    np.testing.assert_allclose(mel_images([segment], NATIVE, pad_mode="reflect", image="release",
                                          max_value=1.0), release / 255, rtol=1e-6)
    with pytest.raises(ValueError, match="mel image must be one of"):
        TRANSFORMS.build(dict(type="MelSpectrogram", image="png"))
    with pytest.raises(ValueError, match="max_value must be > 0"):
        TRANSFORMS.build(dict(type="MelSpectrogram", max_value=0))


def test_a_flat_spectrogram_is_divided_by_5_and_comes_out_black():
    # std 0: standardising with std + 1e-6 gives all zeros, max == min, and the rule divides
    # by 5 instead of 0, so there is no NaN to cast to uint8
    with np.errstate(all="raise"):
        flat = release_image(np.full((128, 30), -12.5, dtype=np.float32), (224, 224))
    assert flat.dtype == np.uint8 and flat.shape == (224, 224) and not flat.any()
    # a spectrogram wider than the image: cut after the scaling (its brightest column is cut)
    db = np.tile(np.linspace(-80, 0, 300, dtype=np.float32), (128, 1))
    wide = release_image(db, (224, 224))
    assert wide.shape == (224, 224) and 0 < wide.max() < 255 * 224 / 300 + 2
    # digital silence through the whole path: all black too
    silent = mel_images([np.zeros(20000, np.float32)], NATIVE, pad_mode="reflect", image="release",
                        max_value=1.0)
    assert not silent.any()


def test_read_audio_at_the_files_own_rate(tmp_path):
    audio = performance_audio(1.0, NATIVE, seed=1)
    wav = write_wav(tmp_path / "a.wav", audio, NATIVE)
    samples, rate = read_audio(wav, None)
    assert rate == audio_rate(wav) == NATIVE and samples.shape == (NATIVE,)
    np.testing.assert_allclose(samples, audio, atol=1 / 32768)  # 16-bit PCM
    np.testing.assert_array_equal(load_audio(wav, None), samples)
    assert load_audio(wav, 22050).shape == (22050,)  # a given rate still resamples
    video = write_video(tmp_path / "v.mp4", np.zeros((25, 16, 16, 3), np.uint8), 25.0, audio=audio,
                        sample_rate=NATIVE)
    samples, rate = read_audio(video, None)
    assert rate == NATIVE and abs(len(samples) - NATIVE) < 4096  # AAC adds priming frames
    mute = write_video(tmp_path / "mute.mp4", np.zeros((25, 16, 16, 3), np.uint8), 25.0)
    with pytest.raises(ValueError, match=r"mute\.mp4: has no audio track"):
        read_audio(mute, None)
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    with pytest.raises(ValueError, match=r"junk\.wav: cannot read audio"):
        read_audio(tmp_path / "junk.wav", None)


COLUMNS = ["id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
           "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video", "youtube", "song"]


def test_native_rate_through_the_prepared_cache_equals_reading_the_wav(tmp_path):
    # the authors' layout: a folder of frames and <id>.wav at 44.1 kHz
    import cv2

    fps = 25.0
    folder = tmp_path / "frames" / "4"
    folder.mkdir(parents=True)
    frames = np.random.default_rng(7).integers(0, 256, (40, 24, 32, 3), dtype=np.uint8)
    for i, frame in enumerate(frames):
        cv2.imwrite(str(folder / f"{i:04d}.jpg"), frame)
    write_wav(tmp_path / "audio" / "4.wav", performance_audio(40 / fps, NATIVE, seed=7), NATIVE)
    with open(tmp_path / "table.csv", "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        writer.writerow([4, "train", fps, 4.0, 40.0, 1, 1, 0, 0, 9, 9, 1, "", ""])
    steps = [dict(type="DecodeFrames"), dict(type="CropResize", size=(12, 16)),
             dict(type="LoadAudio", sample_rate=None),
             dict(type="MelSpectrogram", size=(32, 32), **RELEASE_STEPS),
             dict(type="PackAQAInputs")]
    cfg = dict(type="PISADataset", layout="frames", data_root=str(tmp_path),
               table=str(tmp_path / "table.csv"),
               clip_sampler=dict(type="ContiguousSampler", num_clips=2, clip_len=6), pipeline=steps)
    plain = DATASETS.build(cfg)
    assert plain.cache_settings()[1] == cache_lib.NATIVE_RATE
    expected = [plain[i] for i in range(len(plain))]
    assert len(expected) == 3
    entries = cache_lib.write_cache(plain, tmp_path / "cache")
    meta = json.loads((entries[0] / "meta.json").read_text())
    assert meta["sample_rate"] == NATIVE
    # the native entry is not the one a fixed rate would read
    assert cache_lib.entry_key(plain.performances[0], (12, 16), NATIVE) != entries[0].name

    cached = DATASETS.build(dict(cfg, cache_dir=str(tmp_path / "cache")))
    for i, want in enumerate(expected):
        got = cached[i]
        assert bool((got["inputs"]["video"] == want["inputs"]["video"]).all())
        np.testing.assert_array_equal(got["inputs"]["audio"].numpy(),
                                      want["inputs"]["audio"].numpy())
    info = cached.get_data_info(0)
    loaded = TRANSFORMS.build(dict(type="LoadAudio", sample_rate=None))(info)
    assert loaded["audio_sr"] == NATIVE and loaded["audio_offset"] == 0
    fixed_rate = TRANSFORMS.build(dict(type="LoadAudio", sample_rate=22050))
    with pytest.raises(ValueError, match=f"holds audio at {NATIVE} Hz, the pipeline reads it at 22"):
        fixed_rate(cached.get_data_info(0))
