"""Checkpoints that load with ``torch.load(weights_only=True)`` and are written atomically.

- Loading: mmengine checkpoints hold a few non-tensor types (its ``HistoryBuffer``, numpy
  arrays and scalars in the message hub). :data:`SAFE_GLOBALS` allowlists exactly those
  (found by saving a checkpoint and listing what ``weights_only=True`` refuses), and
  :func:`load_from_local_allowlisted` replaces mmengine's local checkpoint loader so every
  load (``load_from``, resume, ``pisa test``) goes through it. Anything else in a
  checkpoint is refused with :class:`CheckpointRefusedError`, naming the global.
- Saving: :class:`AtomicLocalBackend` (mmengine file backend ``'atomic_local'``) writes to a
  temporary file, fsyncs and renames, so a kill during a save leaves the previous file
  intact. :class:`AtomicCheckpointHook` saves with it, writes ``last_checkpoint`` only
  after the rename (also atomically), and removes old checkpoints only after the new one
  is complete. :func:`find_last_complete_checkpoint` picks what ``--resume`` resumes from.
"""

from __future__ import annotations

import os
import os.path as osp
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple, Union

import numpy as np
import torch
from mmengine.dist import is_main_process
from mmengine.fileio import LocalBackend, register_backend
from mmengine.hooks import CheckpointHook
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

ATOMIC_BACKEND = "atomic_local"
#: pass as ``backend_args`` to mmengine's checkpoint hook / ``save_checkpoint``
ATOMIC_BACKEND_ARGS = {"backend": ATOMIC_BACKEND}

_CKPT_NAME = re.compile(r"^(?:epoch|iter)_(\d+)\.pth$")


class CheckpointRefusedError(pickle.UnpicklingError, ValueError):
    """A checkpoint holds a global outside :data:`SAFE_GLOBALS`; it was not loaded. (A
    ``ValueError`` too: bad input, reported by the command line in one line.)"""


def _history_buffer_method(obj: Any, name: str) -> Any:
    """Stand-in for ``builtins.getattr`` while loading a checkpoint.

    mmengine's ``HistoryBuffer`` pickles its statistics methods as
    ``getattr(HistoryBuffer, 'mean')``; allowing the real ``getattr`` would hand any
    attribute of an allowlisted object to a crafted pickle, so only that use is allowed.
    """
    if obj is HistoryBuffer and isinstance(name, str) and not name.startswith("_"):
        method = getattr(HistoryBuffer, name, None)
        if callable(method) and getattr(method, "__qualname__", "").startswith("HistoryBuffer."):
            return method
    raise CheckpointRefusedError(
        f"getattr({getattr(obj, '__name__', type(obj).__name__)}, {name!r}) (only public "
        "HistoryBuffer methods may be looked up)"
    )


def _numpy_multiarray() -> Tuple[Any, List[str]]:
    try:
        from numpy._core import multiarray  # numpy >= 2
    except ImportError:  # numpy 1.x
        from numpy.core import multiarray  # type: ignore[no-redef]
    # a checkpoint written under either numpy major version names its own module
    return multiarray, ["numpy._core.multiarray", "numpy.core.multiarray"]


def _safe_globals() -> List[Union[Callable, Tuple[Callable, str]]]:
    multiarray, modules = _numpy_multiarray()
    entries: List[Union[Callable, Tuple[Callable, str]]] = [
        HistoryBuffer,
        np.ndarray,
        np.dtype,
        (_history_buffer_method, "builtins.getattr"),
        (_history_buffer_method, "__builtin__.getattr"),
    ]
    for module in modules:
        entries.append((multiarray._reconstruct, f"{module}._reconstruct"))
        entries.append((multiarray.scalar, f"{module}.scalar"))
    # numpy >= 1.25 pickles dtypes of arrays and scalars as numpy.dtypes.<Kind>DType
    dtypes = getattr(np, "dtypes", None)
    if dtypes is not None:
        for name in dir(dtypes):
            cls = getattr(dtypes, name)
            if isinstance(cls, type) and name.endswith("DType"):
                entries.append(cls)
    return entries


#: the globals an mmengine checkpoint may hold besides what torch allows by default
SAFE_GLOBALS = _safe_globals()

_installed = False


def install_checkpoint_safety() -> None:
    """Allowlist :data:`SAFE_GLOBALS`, route mmengine's local checkpoint loading through
    :func:`load_from_local_allowlisted` and register the ``'atomic_local'`` file backend.
    Idempotent."""
    global _installed
    if _installed:
        return
    torch.serialization.add_safe_globals(SAFE_GLOBALS)
    CheckpointLoader.register_scheme(prefixes="", loader=load_from_local_allowlisted, force=True)
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
    _installed = True


def load_from_local_allowlisted(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """Load a local checkpoint with ``weights_only=True`` under :data:`SAFE_GLOBALS`.

    Raises ``FileNotFoundError`` for a missing file, :class:`CheckpointRefusedError` (naming
    the file and the refused global) for a checkpoint holding any other global, and
    ``ValueError`` for a truncated or corrupt file."""
    install_checkpoint_safety()
    filename = osp.expanduser(filename)
    if not osp.isfile(filename):
        raise FileNotFoundError(f"checkpoint {filename} not found")
    try:
        return torch.load(filename, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as err:
        # torch names the global as "GLOBAL <module>.<name>" (unsupported or blocked module)
        match = re.search(r"GLOBAL ([\w.]+)", str(err))
        inner = err if isinstance(err, CheckpointRefusedError) else err.__context__
        if isinstance(inner, CheckpointRefusedError):  # raised by _history_buffer_method
            what = str(inner)
        elif match:
            what = f"the global {match.group(1)}"
        else:
            what = next(
                (line for line in str(err).splitlines() if "WeightsUnpickler" in line),
                "an object torch's weights-only loader refuses",
            )
        raise CheckpointRefusedError(
            f"checkpoint {filename} refused: it holds {what}, which is not in the allowlist "
            "of checkpoint types (pisa.engine.checkpoint.SAFE_GLOBALS: tensors, numpy "
            "arrays, mmengine's HistoryBuffer); loading it could run code, so it was not "
            "loaded"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"checkpoint {filename} is truncated or corrupt: {err}") from None


def is_complete_checkpoint(path: Union[str, os.PathLike]) -> bool:
    """Whether ``path`` is a whole torch zip checkpoint (its central directory reads and
    every member's CRC matches); cheap next to loading it."""
    try:
        with zipfile.ZipFile(path) as archive:
            return archive.testzip() is None
    except (OSError, zipfile.BadZipFile):
        return False


def find_last_complete_checkpoint(work_dir: Union[str, os.PathLike]) -> Optional[str]:
    """The checkpoint ``--resume`` should use: the one ``last_checkpoint`` names if it is
    complete, else the newest complete ``epoch_N.pth`` / ``iter_N.pth``; None if none."""
    work_dir = Path(work_dir)
    pointer = work_dir / "last_checkpoint"
    if pointer.is_file():
        named = pointer.read_text().strip()
        if named and is_complete_checkpoint(named):
            return named
    candidates = []
    if work_dir.is_dir():
        for path in work_dir.iterdir():
            match = _CKPT_NAME.match(path.name)
            if match:
                candidates.append((int(match.group(1)), path))
    for _, path in sorted(candidates, reverse=True):
        if is_complete_checkpoint(path):
            return str(path)
    return None


def _atomic_write(data: Union[bytes, str], path: Union[str, os.PathLike]) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
    try:
        with open(tmp, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


class AtomicLocalBackend(LocalBackend):
    """mmengine's local file backend, but ``put``/``put_text`` write a temporary file in
    the same folder, fsync it and ``os.replace`` it onto the target."""

    def put(self, obj: bytes, filepath: Union[str, Path]) -> None:
        _atomic_write(obj, filepath)

    def put_text(self, obj: str, filepath: Union[str, Path], encoding: str = "utf-8") -> None:
        _atomic_write(obj.encode(encoding), filepath)


class _DeferredRemoval:
    """Wraps a file backend so that ``remove``/``rmtree`` wait until :meth:`flush`."""

    def __init__(self, backend: Any) -> None:
        self._backend = backend
        self._pending: List[Tuple[str, str]] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._backend, name)

    def remove(self, path: str) -> None:
        self._pending.append(("remove", path))

    def rmtree(self, path: str) -> None:
        self._pending.append(("rmtree", path))

    def flush(self) -> None:
        for op, path in self._pending:
            if op == "remove" and self._backend.isfile(path):
                self._backend.remove(path)
            elif op == "rmtree" and self._backend.isdir(path):
                self._backend.rmtree(path)
        self._pending.clear()


class AtomicCheckpointHook(CheckpointHook):
    """mmengine's ``CheckpointHook`` made crash-safe: checkpoints go through the
    ``'atomic_local'`` backend, ``last_checkpoint`` is rewritten atomically after the
    checkpoint's rename, and outdated checkpoints (regular and best) are removed only
    after the new one is complete. Takes the same arguments as ``CheckpointHook``."""

    def __init__(self, *args: Any, backend_args: Optional[dict] = None, **kwargs: Any) -> None:
        install_checkpoint_safety()
        super().__init__(*args, backend_args=dict(backend_args or ATOMIC_BACKEND_ARGS), **kwargs)

    def _save_checkpoint_with_step(self, runner, step, meta) -> None:
        real = self.file_backend
        deferred = _DeferredRemoval(real)
        self.file_backend = deferred
        pointer = osp.join(runner.work_dir, "last_checkpoint")
        try:
            super()._save_checkpoint_with_step(runner, step, meta)
        finally:
            self.file_backend = real
        if is_main_process():
            # mmengine wrote the pointer with a plain open(); make it atomic
            _atomic_write(str(self.last_ckpt), pointer)
        deferred.flush()

    def _save_best_checkpoint(self, runner, metrics) -> None:
        real = self.file_backend
        deferred = _DeferredRemoval(real)
        self.file_backend = deferred
        try:
            super()._save_best_checkpoint(runner, metrics)
        finally:
            self.file_backend = real
        deferred.flush()
