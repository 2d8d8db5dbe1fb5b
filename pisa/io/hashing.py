"""Content hashes of files (weights files are tied to what they made by their sha256)."""
from __future__ import annotations

import functools
import hashlib
import os
from typing import Union

PathLike = Union[str, os.PathLike]


@functools.lru_cache(maxsize=64)
def _sha256_of(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(functools.partial(f.read, 1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def file_sha256(path: PathLike, what: str = "weights file") -> str:
    """sha256 (hex) of a file's bytes, computed once per (path, size, mtime) in a process;
    a missing file raises ``FileNotFoundError`` naming it and ``what`` it is."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} {path} not found")
    st = os.stat(path)
    return _sha256_of(os.path.abspath(path), st.st_size, st.st_mtime_ns)
