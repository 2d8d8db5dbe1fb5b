"""Checks on a performance record (the format in :mod:`pisa.data.core.base_dataset`) against its
media, shared by the dataset's start-up check and the prepared cache."""
from __future__ import annotations

import warnings
from typing import Any, Dict, Optional

#: what to do when a video's own frame rate disagrees with its annotation
FPS_MISMATCH = ("error", "video")
#: relative difference tolerated (29.97 annotated for a 30000/1001 video is no mismatch)
FPS_TOLERANCE = 0.005


class FrameRateWarning(UserWarning):
    """A video's frame rate disagreed with its annotation and the video's was used."""


def resolve_fps(perf: Dict[str, Any], video_fps: Optional[float], where: str,
                on_mismatch: str = "error") -> Optional[float]:
    """The frame rate the performance's frame and audio windows use: the annotation's
    ``fps`` checked against the video's own (``video_fps``; None for a frame folder),
    else the video's. A disagreement beyond :data:`FPS_TOLERANCE` raises ``ValueError``
    naming both, or with ``on_mismatch='video'`` warns and follows the video."""
    annotated = perf.get("fps")
    if not annotated:
        return video_fps
    annotated = float(annotated)
    if video_fps is None or abs(video_fps - annotated) <= FPS_TOLERANCE * annotated:
        return annotated
    source = perf.get("video_path") or perf.get("frame_dir")
    message = (f"{where}: {source} runs at {video_fps:.3f} fps but the annotation says "
               f"{annotated:.3f} fps, so frame and audio windows would drift apart")
    if on_mismatch == "video":
        warnings.warn(f"{message}; following the video (fps_mismatch='video')", FrameRateWarning,
                      stacklevel=3)
        return video_fps
    raise ValueError(f"{message}; fix the annotation, or set fps_mismatch='video' to follow "
                     "the video")
