"""JSON-lines files: reading them with line-precise errors, appending one record safely
from many processes."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, Tuple, Union

PathLike = Union[str, os.PathLike]


def iter_json_objects(path: PathLike) -> Iterator[Tuple[str, Dict[str, Any]]]:
    """``(where, object)`` for each non-blank line of ``path``, ``where`` being
    ``"<path> line <n>"``. A line that is not a JSON object raises ``ValueError`` naming
    the file and line."""
    path = os.fspath(path)
    with open(path, encoding="utf-8") as f:
        for line_no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            where = f"{path} line {line_no}"
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as err:
                raise ValueError(f"{where}: not valid JSON ({err.msg})") from None
            if not isinstance(obj, dict):
                raise ValueError(f"{where}: expected a JSON object")
            yield where, obj


def append_json_line(path: PathLike, record: Dict[str, Any]) -> None:
    """Append ``record`` as one JSON line to ``path`` in a single ``O_APPEND`` write, so
    concurrent writers (DataLoader workers, ranks) never interleave within a line."""
    data = (json.dumps(record, sort_keys=True) + "\n").encode("utf-8")
    fd = os.open(os.fspath(path), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
    finally:
        os.close(fd)
