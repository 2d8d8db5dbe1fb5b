"""A small client of the service, on the standard library (``http.client``)::

    status, record = assess_file("http://127.0.0.1:8000/", "recital.mp4", token="...")
    status, info = get_json("http://127.0.0.1:8000/model", token="...")

Answers are ``(HTTP status, the JSON answer)``; an answer that is not JSON comes back
as ``{"error": <its text>}``.
"""
from __future__ import annotations

import http.client
import json
import os
import uuid
from pathlib import Path
from typing import Any, Dict, Optional, Sequence, Tuple
from urllib.parse import urljoin, urlsplit

PathLike = os.PathLike


def encode_form(fields: Sequence[Tuple[str, str]], file_name: Optional[str] = None,
                file_bytes: Optional[bytes] = None) -> Tuple[bytes, str]:
    """``(body, content type)`` of a ``multipart/form-data`` form: the text ``fields``
    and, when ``file_bytes`` is given, a ``file`` part named ``file_name``."""
    boundary = f"pisa-{uuid.uuid4().hex}"
    parts = []
    for name, value in fields:
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                     .encode() + str(value).encode("utf-8") + b"\r\n")
    if file_bytes is not None:
        name = (file_name or "recording").replace('"', "_")
        parts.append(f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
                     f'filename="{name}"\r\nContent-Type: application/octet-stream\r\n\r\n'
                     .encode("utf-8") + file_bytes + b"\r\n")
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


def request(url: str, method: str = "GET", body: Optional[bytes] = None,
            headers: Optional[Dict[str, str]] = None, token: Optional[str] = None,
            timeout: float = 600.0) -> Tuple[int, Any]:
    """One HTTP request; ``(status, JSON answer)``."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port or 80, timeout=timeout)
    sent = dict(headers or {})
    if token:
        sent["Authorization"] = f"Bearer {token}"
    try:
        conn.request(method, parts.path or "/", body=body, headers=sent)
        response = conn.getresponse()
        text = response.read().decode("utf-8", errors="replace")
        status = response.status
    finally:
        conn.close()
    try:
        return status, json.loads(text)
    except json.JSONDecodeError:
        return status, {"error": text}


def get_json(url: str, token: Optional[str] = None, timeout: float = 60.0) -> Tuple[int, Any]:
    """``GET url``: ``(status, JSON answer)``."""
    return request(url, token=token, timeout=timeout)


def assess_bytes(base_url: str, data: bytes, file_name: str = "recording.mp4",
                 token: Optional[str] = None, crop: Optional[str] = None,
                 meta: Sequence[str] = (), timeout: float = 600.0) -> Tuple[int, Any]:
    """``POST /assess`` of a recording's bytes, named ``file_name``, with the optional
    ``crop`` (``"x1,y1,x2,y2"``) and ``meta`` fields."""
    fields = ([("crop", crop)] if crop else []) + [("meta", m) for m in meta]
    body, content_type = encode_form(fields, file_name, data)
    return request(urljoin(base_url, "/assess"), "POST", body, {"Content-Type": content_type},
                   token=token, timeout=timeout)


def assess_file(base_url: str, path: "str | PathLike", token: Optional[str] = None,
                crop: Optional[str] = None, meta: Sequence[str] = (),
                timeout: float = 600.0) -> Tuple[int, Any]:
    """``POST /assess`` of the recording at ``path`` (see :func:`assess_bytes`)."""
    path = Path(path)
    return assess_bytes(base_url, path.read_bytes(), path.name, token, crop, meta, timeout)
