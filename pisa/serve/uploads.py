"""Uploads: received as they stream in, into a private folder the server names, checked
by their content, removed after the answer.

:class:`UploadFolders` is the server's own folder (``mkdtemp``, mode 0700, under the
system's temporary folder or ``--upload-dir``), with a private folder per request.
:func:`receive_upload` parses the request's ``multipart/form-data`` body chunk by chunk
(python-multipart's streaming parser): the ``file`` part goes straight to disk and stops
at the size limit (413), so nothing is held in memory or written past it; the ``crop``
and ``meta`` fields are kept as text. The stored file is named by the server
(``recording`` plus the extension of the type its first bytes show,
:mod:`pisa.serve.media_types`), never by the client's file name, which is kept only to
name the recording in the answer. After a refusal the rest of a body up to twice the
limit is read and dropped, so that a client that sends it all still reads the answer.
"""
from __future__ import annotations

import os
import re
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Dict, List, Optional

from pisa.serve.errors import ServeError
from pisa.serve.media_types import HEAD_BYTES, MediaType, refusal, sniff

#: the form's fields: the recording and the two optional text fields
FIELDS = ("file", "crop", "meta")
#: room in a body beyond the file's limit, for part headers and the text fields
FORM_SLACK = 64 * 1024
#: the longest text field
MAX_FIELD_BYTES = 16 * 1024


class UploadFolders:
    """The server's folder for uploads, made private (0700) under ``parent`` (default:
    the system's temporary folder); :meth:`new` makes a private folder per request,
    :meth:`remove` deletes it, :meth:`close` deletes everything."""

    def __init__(self, parent: Optional[str] = None) -> None:
        if parent is not None:
            os.makedirs(parent, exist_ok=True)
        self.root = Path(tempfile.mkdtemp(prefix="pisa-serve-", dir=parent))

    def new(self) -> Path:
        return Path(tempfile.mkdtemp(prefix="request-", dir=self.root))

    @staticmethod
    def remove(folder: Path) -> None:
        shutil.rmtree(folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


@dataclass
class Upload:
    """A received recording: ``path`` (server-named, in its private ``folder``), the
    client's ``filename`` (its last component, for the answer), its ``size`` in bytes,
    the ``media_type`` its first bytes show, and the text ``fields`` (name -> values)."""

    folder: Path
    path: Path
    filename: str
    size: int
    media_type: MediaType
    fields: Dict[str, List[str]] = field(default_factory=dict)


def client_filename(raw: Optional[bytes]) -> str:
    """The last component of a client's file name, printable, at most 120 characters;
    ``'recording'`` when nothing is left."""
    text = (raw or b"").decode("utf-8", errors="replace")
    text = re.split(r"[\\/]", text)[-1]
    text = "".join(c for c in text if c.isprintable()).strip()
    return text[:120] or "recording"


def limit_text(max_bytes: int) -> str:
    return f"{max_bytes / 1e6:g} MB"


def drain_cap(max_bytes: int) -> int:
    """The most body bytes read for a request: past the limit the rest of a body up to
    this is read and dropped, so that its client still reads the answer."""
    return 2 * max_bytes + FORM_SLACK


def check_declared_size(headers: Any, max_bytes: int) -> None:
    """Refuse (413) a body whose ``Content-Length`` is past :func:`drain_cap`, before
    anything is read (a client that waits for ``100 Continue`` sends nothing; a smaller
    body over the limit is refused while it streams); a malformed length is a 400."""
    declared = headers.get("content-length")
    if declared is None:
        return
    try:
        length = int(declared)
    except ValueError:
        raise ServeError(400, f"Content-Length {declared!r} is not a number") from None
    if length > drain_cap(max_bytes):
        raise ServeError(413, f"the upload ({length} bytes) is over the server's limit of "
                         f"{limit_text(max_bytes)} (--max-upload-mb)")


class _Form:
    """The streaming parser's callbacks: the file part to ``folder / 'upload'``, text
    parts in memory; the first problem is kept in :attr:`error`."""

    def __init__(self, folder: Path, max_bytes: int) -> None:
        self.folder, self.max_bytes = folder, max_bytes
        self.fields: Dict[str, List[str]] = {}
        self.error: Optional[ServeError] = None
        self.done = False
        self.file_path: Optional[Path] = None
        self.filename = "recording"
        self.file_size = 0
        self._file: Optional[BinaryIO] = None
        self._headers: Dict[str, bytes] = {}
        self._name: Optional[str] = None
        self._header_field = b""
        self._header_value = b""
        self._text = bytearray()

    def fail(self, status: int, message: str) -> None:
        if self.error is None:
            self.error = ServeError(status, message)
        self.close_file()

    def close_file(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def callbacks(self) -> Dict[str, Any]:
        return dict(on_part_begin=self.on_part_begin, on_header_field=self.on_header_field,
                    on_header_value=self.on_header_value, on_header_end=self.on_header_end,
                    on_headers_finished=self.on_headers_finished, on_part_data=self.on_part_data,
                    on_part_end=self.on_part_end, on_end=self.on_end)

    def on_part_begin(self) -> None:
        self._headers, self._name, self._text = {}, None, bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def on_header_end(self) -> None:
        self._headers[self._header_field.decode("latin-1").lower()] = self._header_value
        self._header_field, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        from python_multipart.multipart import parse_options_header

        kind, params = parse_options_header(self._headers.get("content-disposition", b""))
        name = params.get(b"name", b"").decode("utf-8", errors="replace")
        if kind != b"form-data" or not name:
            return self.fail(400, "a form part has no name "
                             "(Content-Disposition: form-data; name=...)")
        if name not in FIELDS:
            return self.fail(400, f"unknown form field {name[:40]!r}: send 'file' (the recording) "
                             "and optionally 'crop' and 'meta'")
        if name == "file":
            if self.file_path is not None:
                return self.fail(400, "more than one 'file' field: send one recording per request")
            self.filename = client_filename(params.get(b"filename"))
            self.file_path = self.folder / "upload"
            self._file = open(self.file_path, "xb")
        self._name = name

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self.error is not None or self._name is None:
            return
        if self._name != "file":
            self._text += data[start:end]
            if len(self._text) > MAX_FIELD_BYTES:
                self.fail(400, f"the '{self._name}' field is longer than {MAX_FIELD_BYTES} bytes")
            return
        self.file_size += end - start
        if self.file_size > self.max_bytes:
            self.close_file()
            self.file_path.unlink(missing_ok=True)
            self.fail(413, f"the recording is over the server's limit of "
                      f"{limit_text(self.max_bytes)} (--max-upload-mb)")
            return
        self._file.write(data[start:end])

    def on_part_end(self) -> None:
        if self.error is not None or self._name is None:
            return
        if self._name == "file":
            self.close_file()
            return
        try:
            text = bytes(self._text).decode("utf-8")
        except UnicodeDecodeError:
            return self.fail(400, f"the '{self._name}' field is not UTF-8 text")
        self.fields.setdefault(self._name, []).append(text)

    def on_end(self) -> None:
        self.done = True


async def receive_upload(request: Any, folder: Path, max_bytes: int) -> Upload:
    """Read ``request``'s (a Starlette request) multipart body into ``folder``: the
    recording checked by its first bytes and named by the server. Errors are
    :class:`~pisa.serve.errors.ServeError`: 400 (not a form, no or an empty file, a body
    cut off, a bad field), 413 (over ``max_bytes``), 415 (not a video)."""
    from python_multipart.exceptions import MultipartParseError
    from python_multipart.multipart import MultipartParser, parse_options_header
    from starlette.requests import ClientDisconnect

    kind, params = parse_options_header(request.headers.get("content-type", ""))
    boundary = params.get(b"boundary")
    if kind != b"multipart/form-data" or not boundary:
        raise ServeError(400, "send the recording as multipart/form-data, in a field named 'file'")
    form = _Form(folder, max_bytes)
    parser = MultipartParser(boundary, form.callbacks())
    received, cap = 0, drain_cap(max_bytes)
    try:
        async for chunk in request.stream():
            received += len(chunk)
            if form.error is None:
                try:
                    parser.write(chunk)
                except MultipartParseError as err:
                    form.fail(400, f"the form data is malformed ({err})")
            if form.error is not None and received > cap:
                break  # the rest is not read: the connection closes after the answer
        if form.error is None:
            parser.finalize()
    except ClientDisconnect:
        form.fail(400, "the client went away before the upload ended")
    except MultipartParseError as err:
        form.fail(400, f"the form data is malformed ({err})")
    finally:
        form.close_file()
    if form.error is not None:
        raise form.error
    if form.file_path is None:
        raise ServeError(400, "no 'file' field: send the recording as the form's 'file' field")
    if not form.done:
        raise ServeError(400, "the form data ended early (a cut-off upload)")
    if form.file_size == 0:
        raise ServeError(400, f"the uploaded file {form.filename!r} is empty (0 bytes)")
    with open(form.file_path, "rb") as f:
        found = sniff(f.read(HEAD_BYTES))
    if not found.video:
        raise ServeError(415, f"{form.filename!r}: {refusal(found)}")
    path = form.file_path.rename(folder / f"recording{found.extension}")
    return Upload(folder, path, form.filename, form.file_size, found, form.fields)
