"""Reading pickles without running code: every pickle the framework reads goes through
:func:`load_pickle`, whose unpickler admits only builtin containers and scalars and numpy
arrays, dtypes and scalars. Any other global (``posix.system``, ``builtins.eval``, a
class) is refused before it is looked up, so a malicious file's payload never runs."""
from __future__ import annotations

import io
import os
import pickle
from pathlib import Path
from typing import Any, Union

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
        if (module, name) not in ALLOWED_GLOBALS:
            raise UnsafePickleError(
                f"{self._source}: refused to load global {module}.{name}; only builtin "
                "containers/scalars and numpy arrays, dtypes and scalars are allowed"
            )
        return super().find_class(module, name)


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
