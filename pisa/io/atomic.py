"""Atomic writes: a file is either its complete new content or untouched.

Everything the framework writes (checkpoints, results, reports, plots, cache entries,
media, annotation files) goes through :func:`atomic_output` (a file) or
:func:`atomic_folder` (a folder): the content is written under a temporary name in the
target's folder, flushed to disk and renamed onto the target, so a kill or an error
mid-write never leaves a file or folder that looks complete.
"""
from __future__ import annotations

import contextlib
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Iterator, Mapping, Union

import numpy as np
from mmengine.fileio import LocalBackend

PathLike = Union[str, os.PathLike]

#: mmengine file backend name of :class:`AtomicLocalBackend`
ATOMIC_BACKEND = "atomic_local"
#: pass as ``backend_args`` to mmengine's checkpoint hook / ``save_checkpoint``
ATOMIC_BACKEND_ARGS = {"backend": ATOMIC_BACKEND}


def _fsync(path: Path) -> None:
    # torch.save, savefig, PyAV and soundfile close their files themselves
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_output(path: PathLike) -> Iterator[Path]:
    """Yield a temporary path beside ``path`` (same suffix, so writers that go by the
    extension still work); when the block succeeds it is fsynced and renamed onto
    ``path``, on any error it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part{path.suffix}")
    try:
        yield tmp
        _fsync(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(path: PathLike, data: Union[bytes, str]) -> Path:
    """Write ``data`` (str as UTF-8) to ``path`` atomically. Returns the path."""
    with atomic_output(path) as tmp:
        tmp.write_bytes(data.encode("utf-8") if isinstance(data, str) else data)
    return Path(path)


@contextlib.contextmanager
def atomic_folder(path: PathLike) -> Iterator[Path]:
    """Yield a temporary folder beside ``path``; when the block succeeds it is renamed to
    ``path``. If another process completed ``path`` first, that one is kept (and the
    temporary folder removed): the same content was written twice."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".part", dir=path.parent))
    try:
        yield tmp
        try:
            os.rename(tmp, path)
        except OSError:
            if not path.is_dir():
                raise
    finally:
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def to_jsonable(value: Any) -> Any:
    """``value`` with numpy/torch scalars and arrays made Python numbers and lists, NaN and
    infinities made None, and anything else unknown made its ``str``, so it serialises as
    strict JSON."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    if isinstance(value, np.ndarray):
        return [to_jsonable(v) for v in value.tolist()]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, (int, float, str, bool, type(None))):
        return value
    return str(value)


def dumps_json(data: Any) -> str:
    """``data`` as indented, key-sorted strict JSON (see :func:`to_jsonable`)."""
    return json.dumps(to_jsonable(data), indent=2, sort_keys=True, allow_nan=False)


def write_json(path: PathLike, data: Any) -> Path:
    """Write ``data`` as indented strict JSON (:func:`dumps_json`), atomically."""
    return atomic_write(path, dumps_json(data) + "\n")


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend whose ``put``/``put_text`` write atomically
    (:func:`atomic_write`); registered as ``'atomic_local'`` by
    :func:`pisa.io.safe_load.install_checkpoint_safety`."""

    def put(self, obj: bytes, filepath: PathLike) -> None:
        atomic_write(filepath, obj)

    def put_text(self, obj: str, filepath: PathLike, encoding: str = "utf-8") -> None:
        atomic_write(filepath, obj.encode(encoding))
