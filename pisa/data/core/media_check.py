"""The start-up check of a performance's media: present, decodable, the crop box inside
the frame, the frame rate as annotated, an audio track when audio is needed."""
from __future__ import annotations

from typing import Dict, Optional, Sequence

from pisa.data.core.records import resolve_fps
from pisa.io.media import FrameSource, check_crop_box, load_audio


def check_media(perf: Dict, modalities: Sequence[str], sample_rate: Optional[int],
                fps_mismatch: str = "error") -> int:
    """Open the performance's sources once; fill ``fps`` (:func:`~pisa.data.core.records.resolve_fps`).
    ``sample_rate``: the audio rate to decode at (None: the file's own). Returns the number of
    source frames available from ``frame_offset``; raises naming the performance and file."""
    where = f"performance {perf['perf_id']} ({perf['ann_source']})"
    source = FrameSource(perf.get("video_path") or perf["frame_dir"])
    available = len(source)
    perf["fps"] = resolve_fps(perf, source.fps, where, fps_mismatch)
    if perf.get("crop_box") is not None:
        height, width = source.frame_size()
        check_crop_box(perf["crop_box"], width, height, where)
    heard = [m for m in ("audio", "notes") if m in modalities]  # notes are transcribed audio
    if heard:
        audio = perf.get("audio_path") or perf.get("video_path")
        if not audio:
            raise ValueError(f"{where}: the {heard[0]} modality needs an audio file or a video track")
        load_audio(audio, sample_rate)
    return available - int(perf.get("frame_offset", 0))
