"""Reading JSON-lines files (annotations, the bad-sample report, mmengine's scalar log)."""
from __future__ import annotations

import json
import os
from typing import Any, Dict, Iterator, Tuple, Union


def iter_json_objects(path: Union[str, os.PathLike]) -> Iterator[Tuple[str, Dict[str, Any]]]:
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
