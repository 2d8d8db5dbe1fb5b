"""Media in and out, behind one reader whatever decodes.

- :mod:`.backends`: the registered decoders (decord, PyAV, torchcodec, and any a plugin
  registers), which one reads (argument, ``PISA_VIDEO_BACKEND`` / ``PISA_AUDIO_BACKEND``
  or a config's ``video_backend`` / ``audio_backend``, else the first available) and the
  decoder threads.
- :mod:`.video`: :class:`FrameSource` (a video file or a jpg folder) and
  :func:`read_frames`, the one place frames are decoded, cropped and resized.
- :mod:`.audio`: :func:`read_audio`, mono float32 at a given rate.
- :mod:`.writing`: H.264/AAC and wav writers (PyAV, soundfile), atomic.

Every error names the file and what is wrong with it, in the same words for every backend.
"""
from pisa.io.media import decord_backend, pyav_backend, torchcodec_backend  # noqa: F401  (register)
from pisa.io.media.audio import audio_rate, check_audio, has_audio_track, load_audio, read_audio, resample
from pisa.io.media.backends import (AUDIO_ENV, THREADS_ENV, VIDEO_ENV, BackendFallbackWarning,
                                    PathLike, available_backends, backend_names, check_backend_name,
                                    check_nonempty_file,
                                    decode_threads, register_backend, resolve_backend,
                                    unavailable_reason, use_backends)
from pisa.io.media.video import (Box, FrameSource, VideoReader, check_crop_box, crop_resize,
                                 crop_resize_frame, list_frame_files, open_video, read_frames)
from pisa.io.media.writing import write_video, write_wav

__all__ = [
    "AUDIO_ENV", "THREADS_ENV", "VIDEO_ENV", "BackendFallbackWarning", "Box", "FrameSource", "PathLike",
    "VideoReader", "audio_rate", "available_backends", "backend_names", "check_audio", "check_backend_name",
    "check_crop_box",
    "check_nonempty_file", "crop_resize", "crop_resize_frame", "decode_threads", "has_audio_track",
    "list_frame_files", "load_audio", "open_video", "read_audio", "read_frames",
    "register_backend", "resample", "resolve_backend", "unavailable_reason", "use_backends",
    "write_video", "write_wav",
]
