"""An assessment as text in and JSON out, one code path for ``pisa predict`` and ``pisa
serve``: the crop box and the meta keys a caller writes (``--crop x1,y1,x2,y2``,
``--meta KEY=VALUE ...``; the service's ``crop`` and ``meta`` fields), and the JSON
record of an assessed recording (one entry of ``pisa predict --json``'s
``recordings``, the service's answer)."""
from __future__ import annotations

from typing import Any, Dict, Optional, Sequence, Tuple

from pisa.evaluation.assessment import RecordingPrediction
from pisa.io.atomic import to_jsonable


def parse_crop(text: Optional[str], option: str = "--crop"
               ) -> Optional[Tuple[float, float, float, float]]:
    """``"x1,y1,x2,y2"`` -> four floats (source pixels); None (or blank) stays None. A
    ``ValueError`` names ``option`` (what the caller called the box)."""
    if text is None or not text.strip():
        return None
    parts = [p.strip() for p in text.split(",")]
    try:
        values = tuple(float(p) for p in parts)
    except ValueError:
        values = ()
    if len(values) != 4:
        raise ValueError(f"{option} must be four numbers x1,y1,x2,y2, got {text!r}")
    return values  # type: ignore[return-value]


def parse_meta_value(text: str) -> Any:
    """``"3"`` -> 3, ``"3.2"`` -> 3.2, anything else the string itself."""
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def parse_meta(items: Optional[Sequence[str]], option: str = "--meta") -> Dict[str, Any]:
    """``["difficulty=3.2", "dive=107B"]`` -> ``{'difficulty': 3.2, 'dive': '107B'}``; an
    item without ``=`` or a key is a ``ValueError`` naming ``option``."""
    meta: Dict[str, Any] = {}
    for item in items or ():
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"{option} takes KEY=VALUE, got {item!r}")
        meta[key.strip()] = parse_meta_value(value.strip())
    return meta


def prediction_record(pred: RecordingPrediction, media: Optional[str] = None) -> Dict[str, Any]:
    """The JSON record of an assessed recording (strict JSON types: NaN is None), as
    ``pisa predict --json`` prints it for each recording; ``media`` replaces the file's
    path (the service names the upload as its client did)."""
    record = pred.to_dict()
    if media is not None:
        record["media"] = media
    return to_jsonable(record)
