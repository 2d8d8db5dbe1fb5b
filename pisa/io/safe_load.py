"""Reading pickles and checkpoints without running code: one restricted loader, two
explicit allowlists.

- Annotation pickles (:func:`load_pickle`): the unpickler admits only builtin containers
  and scalars and numpy arrays, dtypes and scalars (:data:`ALLOWED_GLOBALS`; a
  protocol-2 pickle's ndarray buffer, ``_codecs.encode(str, 'latin1')``, through a
  stand-in that does only that). Any other global (``posix.system``, ``builtins.eval``, a
  class) is refused before it is looked up, so a malicious file's payload never runs.
- Checkpoints (:func:`load_checkpoint_file`): ``torch.load(weights_only=True)`` with
  :data:`CHECKPOINT_SAFE_GLOBALS`, the few non-tensor types an mmengine checkpoint holds
  (its ``HistoryBuffer``, numpy arrays and scalars in the message hub; found by saving a
  checkpoint and listing what ``weights_only=True`` refuses).
  :func:`install_checkpoint_safety` routes mmengine's local checkpoint loading through
  it, so every load (``load_from``, resume, ``pisa test``, pretrained weights) does.
  Anything else is refused with :class:`CheckpointRefusedError`, naming the global.
"""
from __future__ import annotations

import io
import os
import os.path as osp
import pickle
import re
import zipfile
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple, Union

import numpy as np
import torch
from mmengine.fileio import register_backend
from mmengine.logging.history_buffer import HistoryBuffer
from mmengine.runner.checkpoint import CheckpointLoader

from pisa.io.atomic import ATOMIC_BACKEND, AtomicLocalBackend

#: (module, name) pairs a pickle may reference
ALLOWED_GLOBALS = frozenset({
    ("builtins", "dict"), ("builtins", "list"), ("builtins", "tuple"), ("builtins", "set"),
    ("builtins", "frozenset"), ("builtins", "int"), ("builtins", "float"),
    ("builtins", "complex"), ("builtins", "bool"), ("builtins", "str"), ("builtins", "bytes"),
    ("builtins", "bytearray"), ("builtins", "slice"), ("builtins", "range"),
    ("collections", "OrderedDict"), ("collections", "defaultdict"),
    ("copyreg", "_reconstructor"),  # only reaches the admitted classes below
    ("numpy", "ndarray"), ("numpy", "dtype"), ("numpy", "int64"), ("numpy", "int32"),
    ("numpy", "float64"), ("numpy", "float32"), ("numpy", "bool_"),
    ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
    ("numpy.core.numeric", "_frombuffer"), ("numpy._core.numeric", "_frombuffer"),
})


class UnsafePickleError(pickle.UnpicklingError):
    """A pickle referenced a global outside :data:`ALLOWED_GLOBALS`."""


class _RestrictedUnpickler(pickle.Unpickler):
    def __init__(self, file: io.BufferedIOBase, source: str) -> None:
        super().__init__(file)
        self._source = source

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("_codecs", "encode"):
            return self._latin1_bytes
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"{self._source}: refused to load global {module}.{name}; only builtin "
                "containers/scalars and numpy arrays, dtypes and scalars are allowed"
            )
        return super().find_class(module, name)

    def _latin1_bytes(self, text: Any, encoding: Any = "utf-8", errors: Any = "strict") -> bytes:
        """Stand-in for ``_codecs.encode``: a protocol-2 pickle (Python 2, or
        ``protocol=2``) stores an ndarray's buffer as ``_codecs.encode(str, 'latin1')``;
        only that use is answered (the real function reaches every registered codec,
        decompressors included)."""
        if not isinstance(text, str) or encoding not in ("latin1", "latin-1") or errors != "strict":
            raise UnsafePickleError(
                f"{self._source}: refused _codecs.encode({type(text).__name__}, {encoding!r}); "
                "only the latin1 encoding of a protocol-2 numpy buffer is allowed")
        return text.encode("latin1")


def load_pickle(path: Union[str, os.PathLike]) -> Any:
    """Unpickle ``path`` with the restricted unpickler. Raises ``FileNotFoundError`` for a
    missing file, :class:`UnsafePickleError` (naming the file and the global) for a
    refused global, ``ValueError`` naming the file for a corrupt one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pickle file not found")
    with open(path, "rb") as f:
        try:
            return _RestrictedUnpickler(f, str(path)).load()
        except UnsafePickleError:
            raise
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError, IndexError,
                TypeError, ValueError) as err:
            raise ValueError(f"{path}: not a readable pickle ({type(err).__name__}: {err})") from None


class CheckpointRefusedError(pickle.UnpicklingError, ValueError):
    """A checkpoint holds a global outside :data:`CHECKPOINT_SAFE_GLOBALS`; it was not loaded. (A
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
CHECKPOINT_SAFE_GLOBALS = _safe_globals()

_installed = False


def install_checkpoint_safety() -> None:
    """Allowlist :data:`CHECKPOINT_SAFE_GLOBALS`, route mmengine's local checkpoint loading
    through :func:`load_checkpoint_file` and register the ``'atomic_local'`` file backend
    (:class:`pisa.io.atomic.AtomicLocalBackend`) that checkpoints are saved with.
    Idempotent."""
    global _installed
    if _installed:
        return
    torch.serialization.add_safe_globals(CHECKPOINT_SAFE_GLOBALS)
    CheckpointLoader.register_scheme(prefixes="", loader=load_checkpoint_file, force=True)
    register_backend(ATOMIC_BACKEND, AtomicLocalBackend, force=True)
    _installed = True


def load_checkpoint_file(filename: str, map_location: Any = None) -> Dict[str, Any]:
    """Load a local checkpoint with ``weights_only=True`` under :data:`CHECKPOINT_SAFE_GLOBALS`.

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
            "of checkpoint types (pisa.io.safe_load.CHECKPOINT_SAFE_GLOBALS: tensors, numpy "
            "arrays, mmengine's HistoryBuffer); loading it could run code, so it was not "
            "loaded"
        ) from None
    except (RuntimeError, EOFError, zipfile.BadZipFile) as err:
        raise ValueError(f"checkpoint {filename} is truncated or corrupt: {err}") from None
