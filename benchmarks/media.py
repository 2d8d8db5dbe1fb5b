"""The benchmark's inputs, generated in the run: a performance video (1280x720, 30 fps,
H.264 with a 44.1 kHz AAC track, written by :func:`pisa.io.media.write_video`), the
same audio as a wav, the released loader's per-frame JPEG folder, and the annotation CSV
table that :class:`pisa.data.adapters.pisa_dataset.PISADataset` reads (its ``'video'`` layout)."""
from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Iterator, Optional, Sequence, Tuple

import numpy as np

from pisa.io.atomic import atomic_write
from pisa.io.media import write_video, write_wav



def crop_box(width: int, height: int) -> Tuple[int, int, int, int]:
    """The hands' region of a generated performance ``(x1, y1, x2, y2)``, as the PISA
    annotations give one per performance: (160, 120, 1120, 680) for 1280x720."""
    return width // 8, height // 6, width * 7 // 8, height * 17 // 18


def performance_frames(num_frames: int, width: int, height: int, seed: int = 0) -> Iterator[np.ndarray]:
    """RGB uint8 ``(height, width, 3)`` frames: a block texture panning sideways, three
    moving "hands" and a patch of fresh noise per frame, so the encoder has motion and
    detail to code (a flat picture would make decoding unrealistically cheap)."""
    rng = np.random.default_rng(seed)
    blocks = rng.integers(40, 200, (height // 8 + 1, width // 8 + 1, 3), dtype=np.uint8)
    texture = np.repeat(np.repeat(blocks, 8, axis=0), 8, axis=1)[:height, :width]
    ph, pw = height // 5, width // 5
    py, px = height - ph - height // 20, width // 20
    for i in range(num_frames):
        frame = np.roll(texture, 3 * i, axis=1)
        for k, (y, speed) in enumerate(((height // 3, 7), (height // 2, -5), (2 * height // 3, 11))):
            x = int((width / 2) + (width / 3) * np.sin(i * speed / 200.0 + k))
            hh, hw = height // 18, width // 21
            frame[y - hh:y + hh, max(0, x - hw):x + hw] = (230, 190 - 40 * k, 150)
        frame[py:py + ph, px:px + pw] = rng.integers(0, 256, (ph, pw, 3), dtype=np.uint8)
        yield frame


def performance_audio(seconds: float, sample_rate: int, seed: int = 0) -> np.ndarray:
    """float32 mono ``(S,)``: decaying piano-like notes (a few harmonics each), 4 per
    second, over faint noise."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sample_rate))
    out = 0.01 * rng.standard_normal(n).astype(np.float32)
    note_len = sample_rate // 4
    t = np.arange(note_len) / sample_rate
    env = np.exp(-6.0 * t)
    for start in range(0, n, note_len):
        freq = 220.0 * 2 ** (rng.integers(0, 24) / 12.0)
        tone = sum(np.sin(2 * np.pi * freq * h * t) / h for h in (1, 2, 3)) * env * 0.3
        stop = min(n, start + note_len)
        out[start:stop] += tone[: stop - start].astype(np.float32)
    return out


def write_performance(folder: Path, name: str, num_frames: int, width: int, height: int,
                      fps: float, sample_rate: int, seed: int = 0) -> Tuple[Path, Path]:
    """Write ``<name>.mp4`` (video with its AAC track) and ``<name>.wav`` (the same audio)
    under ``folder``. Returns ``(video, wav)``."""
    audio = performance_audio(num_frames / fps, sample_rate, seed)
    video = write_video(folder / f"{name}.mp4", performance_frames(num_frames, width, height, seed),
                        fps, audio=audio, sample_rate=sample_rate)
    wav = write_wav(folder / f"{name}.wav", audio, sample_rate)
    return video, wav


def extract_jpegs(video: Path, out_dir: Path, frames: Optional[Sequence[int]] = None) -> Path:
    """The released layout: each frame of ``video`` as ``img_00001.jpg``, ... (1-based,
    as the authors' extraction writes them), decoded once, JPEG quality 95.
    ``frames``: only these frame indices (all by default)."""
    import cv2

    from pisa.io.media import FrameSource

    out_dir.mkdir(parents=True, exist_ok=True)
    reader = FrameSource(video)
    wanted = list(range(len(reader))) if frames is None else sorted(set(int(f) for f in frames))
    for lo in range(0, len(wanted), 64):
        chunk = wanted[lo:lo + 64]
        for index, frame in zip(chunk, reader.read(np.asarray(chunk))):
            cv2.imwrite(str(out_dir / f"img_{index + 1:05d}.jpg"),
                        cv2.cvtColor(frame, cv2.COLOR_RGB2BGR), [cv2.IMWRITE_JPEG_QUALITY, 95])
    return out_dir


TABLE_COLUMNS = ["id", "split", "fps", "frame_start", "frame_end", "player_level", "song_level",
                 "crop_x1", "crop_y1", "crop_x2", "crop_y2", "source_video", "youtube", "song"]


def table_row(perf_id: str, num_frames: int, fps: float, crop: Sequence[int], level: int = 5) -> dict:
    """One row of a PISA performance table (``pisa/resources/pisa_performances.csv``
    format) for ``<data_root>/<perf_id>.mp4``: frames ``0..num_frames-1``, split train."""
    row = {"id": perf_id, "split": "train", "fps": fps, "frame_start": 0, "frame_end": num_frames,
           "player_level": level, "song_level": level, "source_video": perf_id}
    row.update(zip(("crop_x1", "crop_y1", "crop_x2", "crop_y2"), crop))
    return row


def write_table(path: Path, rows: Sequence[dict]) -> Path:
    """Write a PISA performance table (CSV) atomically."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=TABLE_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row.get(c, "") for c in TABLE_COLUMNS})
    return atomic_write(path, buf.getvalue())
