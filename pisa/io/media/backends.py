"""The decoder backends and which one reads.

A video backend is a :class:`~pisa.io.media.video.VideoReader` subclass, an audio backend
a function ``read(path, rate) -> mono float32 samples``; each registers here under a name
with a probe that says why it cannot run on this machine (None when it can). Which one
reads, in this order of precedence:

1. the ``backend`` argument of the call (``FrameSource(path, backend=...)``);
2. ``PISA_VIDEO_BACKEND`` / ``PISA_AUDIO_BACKEND``, which a config's ``video_backend`` /
   ``audio_backend`` keys set for the process and its DataLoader workers
   (:func:`use_backends`);
3. the first available of :data:`VIDEO_ORDER` / :data:`AUDIO_ORDER`.

A named backend that is not available here falls back to the first available one with
one warning per process naming both; an unknown name is an error listing the registered
ones.
"""
from __future__ import annotations

import os
import warnings
from dataclasses import dataclass
from typing import Callable, Dict, Optional, Tuple, Union

PathLike = Union[str, os.PathLike]

VIDEO_ENV, AUDIO_ENV, THREADS_ENV = "PISA_VIDEO_BACKEND", "PISA_AUDIO_BACKEND", "PISA_DECODE_THREADS"
#: defaults, best first: PyAV (FFmpeg inside its wheels, every platform), torchcodec
#: where the system's FFmpeg libraries are present, decord where its x86_64 wheels install.
#: decord last: it fails on rotated videos, returns wrong frames for sparse reads of
#: HEVC in Matroska, and decodes 720p H.264 at about half PyAV's rate (tests and
#: benchmarks/loading.py show each)
VIDEO_ORDER: Tuple[str, ...] = ("pyav", "torchcodec", "decord")
#: audio: decord's own resampler shifts samples by 16 at its first chunk when it
#: resamples (measured against libswresample and soxr), so it is not the default
AUDIO_ORDER: Tuple[str, ...] = ("pyav", "torchcodec", "decord")


class BackendFallbackWarning(UserWarning):
    """The configured decoder is not available here; another one reads."""


@dataclass(frozen=True)
class Backend:
    name: str
    kind: str  # 'video' or 'audio'
    #: video: a VideoReader subclass (``cls(path, threads)``); audio: ``read(path, rate)``
    impl: Callable
    #: None when the backend runs here, else why not (one line)
    probe: Callable[[], Optional[str]]


_REGISTRY: Dict[str, Dict[str, Backend]] = {"video": {}, "audio": {}}
_PROBED: Dict[Tuple[str, str], Optional[str]] = {}
_WARNED: set = set()


def register_backend(kind: str, name: str, probe: Callable[[], Optional[str]]) -> Callable:
    """Register the decorated video reader class or audio read function as backend
    ``name`` of ``kind`` (``'video'`` or ``'audio'``)."""
    if kind not in _REGISTRY:
        raise ValueError(f"backend kind must be 'video' or 'audio', got {kind!r}")

    def mark(impl: Callable) -> Callable:
        _REGISTRY[kind][name] = Backend(name, kind, impl, probe)
        return impl

    return mark


def import_probe(*modules: str) -> Callable[[], Optional[str]]:
    """A probe that imports ``modules`` and reports the first failure in one line."""

    def probe() -> Optional[str]:
        import importlib

        for module in modules:
            try:
                importlib.import_module(module)
            except Exception as err:  # ImportError, or OSError from a missing shared library
                first = (str(err).strip().splitlines() or [type(err).__name__])[0]
                return f"{module} cannot be imported ({type(err).__name__}: {first[:160]})"
        return None

    return probe


def backend_names(kind: str) -> Tuple[str, ...]:
    """The registered backends of ``kind``, in registration order."""
    return tuple(_REGISTRY[kind])


def unavailable_reason(kind: str, name: str) -> Optional[str]:
    """Why backend ``name`` cannot run here (None: it can). Probed once per process."""
    backend = _lookup(kind, name)
    if (kind, name) not in _PROBED:
        _PROBED[(kind, name)] = backend.probe()
    return _PROBED[(kind, name)]


def available_backends(kind: str) -> Tuple[str, ...]:
    """The backends of ``kind`` that run here, default order first."""
    order = VIDEO_ORDER if kind == "video" else AUDIO_ORDER
    names = [n for n in order if n in _REGISTRY[kind]] + [n for n in _REGISTRY[kind] if n not in order]
    return tuple(n for n in names if unavailable_reason(kind, n) is None)


def _lookup(kind: str, name: str) -> Backend:
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        raise ValueError(f"unknown {kind} backend {name!r}; registered {kind} backends: "
                         f"{', '.join(_REGISTRY[kind])}") from None


def check_backend_name(kind: str, name: Optional[str], source: str) -> None:
    """``ValueError`` naming ``source`` when ``name`` is not a registered backend."""
    if name is not None and name not in _REGISTRY[kind]:
        raise ValueError(f"{source}: unknown {kind} backend {name!r}; registered {kind} "
                         f"backends: {', '.join(_REGISTRY[kind])}")


def resolve_backend(kind: str, name: Optional[str] = None) -> Backend:
    """The backend of ``kind`` that reads (see the module docstring for the order)."""
    env = VIDEO_ENV if kind == "video" else AUDIO_ENV
    wanted = name or os.environ.get(env) or None
    if wanted is not None:
        check_backend_name(kind, wanted, f"${env}" if name is None else f"{kind} backend")
        reason = unavailable_reason(kind, wanted)
        if reason is None:
            return _REGISTRY[kind][wanted]
    available = available_backends(kind)
    if not available:
        raise RuntimeError(f"no {kind} decoder is available: "
                           + "; ".join(f"{n}: {unavailable_reason(kind, n)}" for n in _REGISTRY[kind]))
    chosen = _REGISTRY[kind][available[0]]
    if wanted is not None and (kind, wanted) not in _WARNED:
        _WARNED.add((kind, wanted))
        warnings.warn(f"{kind} backend {wanted!r} is not available here ({reason}); reading with "
                      f"{chosen.name!r} instead", BackendFallbackWarning, stacklevel=3)
    return chosen


def use_backends(video: Optional[str] = None, audio: Optional[str] = None,
                 source: str = "config") -> None:
    """Make ``video`` / ``audio`` (names, None: leave as is) the backends of this process
    and of the processes it starts (DataLoader workers), through their environment
    variables. Unknown names raise ``ValueError`` naming ``source``."""
    for kind, name, env in (("video", video, VIDEO_ENV), ("audio", audio, AUDIO_ENV)):
        check_backend_name(kind, name, f"{source}: {kind}_backend")
        if name is not None:
            os.environ[env] = name


def decode_threads() -> int:
    """Decoder threads for one reader: ``$PISA_DECODE_THREADS``, else the cores this
    process may use shared among the DataLoader's workers when it is one, at most 8
    (the decoders gain little past that)."""
    if os.environ.get(THREADS_ENV):
        try:
            return max(1, int(os.environ[THREADS_ENV]))
        except ValueError:
            raise ValueError(f"${THREADS_ENV}: must be a whole number of threads, got "
                             f"{os.environ[THREADS_ENV]!r}") from None
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    import sys

    workers = 1
    if "torch" in sys.modules:  # a DataLoader worker shares the cores with its siblings
        info = sys.modules["torch"].utils.data.get_worker_info()
        workers = info.num_workers if info is not None else 1
    return max(1, min(8, cores // max(1, workers)))


def check_nonempty_file(path: PathLike, what: str) -> str:
    """``path`` as a str after checking it is a file of at least one byte; else
    ``FileNotFoundError`` / ``ValueError`` naming it and ``what`` it should have been."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: {what} not found")
    if os.path.getsize(path) == 0:
        raise ValueError(f"{path}: empty file (0 bytes), where a {what} was expected")
    return path
