"""The HTTP service around one loaded assessor (FastAPI, served by uvicorn).

- ``POST /assess``: a ``multipart/form-data`` upload of a recording (field ``file``),
  with optional ``crop`` (``x1,y1,x2,y2``) and ``meta`` (a JSON object, or ``KEY=VALUE``
  items as ``pisa predict --meta`` takes them; repeatable) fields. The answer is the
  record ``pisa predict --json`` prints for the recording
  (:func:`pisa.apis.assessment_io.prediction_record`; ``media`` is the uploaded file's
  name).
- ``GET /model``: the config and checkpoint, and what the assessor answers
  (:meth:`pisa.apis.Assessor.describe`).
- ``GET /health``: ``{"status": "ok", ...}`` with the pool's load and the upload limit.
- ``GET /``: the page (``page.html`` with ``/static/page.js`` and ``/static/page.css``,
  shipped beside this module: plain HTML, JavaScript and CSS, nothing fetched from
  elsewhere).

With a token every endpoint but ``/health`` and the page's files asks for
``Authorization: Bearer <token>`` (401). A request is admitted to the
:class:`~pisa.serve.worker_pool.WorkerPool` before its upload is read (503 when it is
full), received by :func:`~pisa.serve.uploads.receive_upload` (400, 413, 415) and
assessed on a worker within ``timeout_s`` of its admission (408 for an upload not in by
then, 504 for an assessment); its folder is removed after the answer, whatever it is.
Every error is one JSON object ``{"error": "<one line>"}``; an unexpected one is logged
with its traceback and answered 500.
"""
# (no ``from __future__ import annotations``: FastAPI reads the endpoints' annotations,
# ``Request`` among them, as the objects they name)
import asyncio
import hmac
import json
import logging
import shlex
import socket
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence, Tuple

from pisa.apis.assessment_io import parse_crop, parse_meta, prediction_record
from pisa.serve.errors import ServeError
from pisa.serve.uploads import Upload, UploadFolders, check_declared_size, receive_upload
from pisa.serve.worker_pool import WorkerPool

logger = logging.getLogger("pisa.serve")

HERE = Path(__file__).resolve().parent
#: the page's own files under /static/, with their media types
PAGE_FILES = {"page.js": "text/javascript; charset=utf-8", "page.css": "text/css; charset=utf-8"}
#: headers of every answer; the page may load only its own files
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff", "referrer-policy": "no-referrer",
    "x-frame-options": "DENY", "cache-control": "no-store",
    "content-security-policy": "default-src 'self'; img-src 'self' data:; "
                               "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
}


@dataclass
class ServeSettings:
    """How the service runs: ``token`` (None: no authorisation asked), ``workers`` and
    ``queue`` (:class:`~pisa.serve.worker_pool.WorkerPool`), ``max_upload_bytes``,
    ``timeout_s`` (per request, from its admission), ``upload_dir`` (where the server's
    own upload folder is made; None: the system's temporary folder) and ``model`` (what
    ``/model`` says besides the assessor's description: the config and checkpoint)."""

    token: Optional[str] = None
    workers: int = 1
    queue: int = 4
    max_upload_bytes: int = 200_000_000
    timeout_s: float = 300.0
    upload_dir: Optional[str] = None
    model: Dict[str, Any] = field(default_factory=dict)


def parse_meta_fields(values: Sequence[str]) -> Dict[str, Any]:
    """The ``meta`` fields of a form: each a JSON object (``{"difficulty": 3.2}``) or
    ``KEY=VALUE`` items split as a shell would (``difficulty=3.2 dive=107B``), merged."""
    meta: Dict[str, Any] = {}
    for text in values:
        text = text.strip()
        if text.startswith("{"):
            try:
                given = json.loads(text)
            except json.JSONDecodeError as err:
                raise ValueError(f"meta is not a JSON object ({err})") from None
            if not isinstance(given, dict) or any(
                    isinstance(v, (dict, list)) for v in given.values()):
                raise ValueError("meta must be a JSON object of numbers and strings")
            meta.update(given)
            continue
        try:
            items = shlex.split(text)
        except ValueError as err:
            raise ValueError(f"meta: {err}") from None
        meta.update(parse_meta(items, option="meta"))
    return meta


def request_options(fields: Dict[str, List[str]]
                    ) -> Tuple[Optional[Tuple[float, ...]], Dict[str, Any]]:
    """``(crop, meta)`` from a form's text fields; a bad one is a 400."""
    crops = fields.get("crop", [])
    if len(crops) > 1:
        raise ServeError(400, "more than one 'crop' field")
    try:
        return parse_crop(crops[0] if crops else None, option="crop"), parse_meta_fields(
            fields.get("meta", []))
    except ValueError as err:
        raise ServeError(400, str(err)) from None


class Service:
    """The state of one running service: the assessor (loaded once), the worker pool and
    the upload folders."""

    def __init__(self, assessor: Any, settings: ServeSettings) -> None:
        self.assessor, self.settings = assessor, settings
        self.pool = WorkerPool(settings.workers, settings.queue)
        self.uploads = UploadFolders(settings.upload_dir)

    def authorize(self, request: Any) -> None:
        """401 unless the request carries the token (when one is set)."""
        token = self.settings.token
        if not token:
            return
        scheme, _, given = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
                given.strip().encode("utf-8"), token.encode("utf-8")):
            raise ServeError(401, "this server needs 'Authorization: Bearer <token>' "
                             "(the token it was started with)", {"WWW-Authenticate": "Bearer"})

    def assess_upload(self, upload: Upload, crop: Optional[Tuple[float, ...]],
                      meta: Dict[str, Any]) -> Dict[str, Any]:
        """The record of an uploaded recording (on a worker thread); what the assessment
        refuses (undecodable media, a crop outside the frame, too few frames, ...) is a
        400 naming the upload by its client's name."""
        start = time.perf_counter()
        try:
            pred = self.assessor.assess(upload.path, crop=crop, meta=meta, progress=False)
        except (ValueError, FileNotFoundError, KeyError, TypeError) as err:
            text = err.args[0] if isinstance(err, KeyError) and err.args else str(err)
            text = str(text).replace(str(upload.path), upload.filename).replace(
                str(upload.folder), "<upload>")
            raise ServeError(400, text) from None
        record = prediction_record(pred, media=upload.filename)
        logger.info("assessed %r (%d bytes) in %.2f s: level %s", upload.filename, upload.size,
                    time.perf_counter() - start, record.get("level"))
        return record

    def describe(self) -> Dict[str, Any]:
        return dict(self.settings.model, **self.assessor.describe(),
                    max_upload_bytes=self.settings.max_upload_bytes,
                    timeout_s=self.settings.timeout_s, workers=self.pool.workers,
                    queue=self.pool.queue)

    def close(self) -> None:
        self.pool.shutdown()
        self.uploads.close()


class SecurityHeaders:
    """ASGI middleware: :data:`SECURITY_HEADERS` on every answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                names = {k.lower() for k, _ in message.get("headers", [])}
                message.setdefault("headers", [])
                message["headers"] = list(message["headers"]) + [
                    (k.encode(), v.encode()) for k, v in SECURITY_HEADERS.items()
                    if k.encode() not in names]
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _error(status: int, message: str, headers: Optional[Dict[str, str]] = None) -> Any:
    from fastapi.responses import JSONResponse

    return JSONResponse({"error": " ".join(str(message).split())}, status_code=status,
                        headers=headers)


def create_app(assessor: Any, settings: ServeSettings) -> Any:
    """The FastAPI app of the service (module docstring) around ``assessor`` (an
    :class:`~pisa.apis.Assessor`, or anything with its ``assess`` and ``describe``);
    ``app.state.service`` is its :class:`Service`, closed when the app shuts down."""
    from contextlib import asynccontextmanager

    from fastapi import FastAPI, Request
    from fastapi.exceptions import RequestValidationError
    from fastapi.responses import HTMLResponse, JSONResponse, Response
    from starlette.exceptions import HTTPException

    service = Service(assessor, settings)

    @asynccontextmanager
    async def lifespan(app: Any):
        try:
            yield
        finally:
            service.close()

    app = FastAPI(title="pisa serve", docs_url=None, redoc_url=None, openapi_url=None,
                  lifespan=lifespan)
    app.state.service = service
    app.add_middleware(SecurityHeaders)
    page = (HERE / "page.html").read_text(encoding="utf-8")
    page_files = {name: (HERE / name).read_bytes() for name in PAGE_FILES}

    @app.exception_handler(ServeError)
    async def serve_error(request: Request, err: ServeError) -> Any:
        return _error(err.status, err.message, err.headers)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, err: HTTPException) -> Any:
        text = {404: f"not found: {request.url.path}",
                405: f"{request.method} is not allowed on {request.url.path}"}.get(
                    err.status_code, str(err.detail))
        return _error(err.status_code, text, getattr(err, "headers", None))

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, err: RequestValidationError) -> Any:
        return _error(400, f"bad request: {err.errors()[:1]}")

    @app.exception_handler(Exception)
    async def unexpected(request: Request, err: Exception) -> Any:
        logger.error("%s %s failed", request.method, request.url.path, exc_info=err)
        return _error(500, f"internal error ({type(err).__name__}); the traceback is in "
                      "the server's log")

    @app.get("/", response_class=HTMLResponse)
    async def index() -> Any:
        return HTMLResponse(page)

    @app.get("/static/{name}")
    async def page_file(name: str) -> Any:
        if name not in page_files:
            raise ServeError(404, f"not found: /static/{name}")
        return Response(page_files[name], media_type=PAGE_FILES[name])

    @app.get("/health")
    async def health() -> Any:
        return JSONResponse(dict(status="ok", token_required=bool(settings.token),
                                 max_upload_bytes=settings.max_upload_bytes,
                                 **service.pool.stats()))

    @app.get("/model")
    async def model(request: Request) -> Any:
        service.authorize(request)
        return JSONResponse(service.describe())

    @app.post("/assess")
    async def assess(request: Request) -> Any:
        service.authorize(request)
        check_declared_size(request.headers, settings.max_upload_bytes)
        slot = service.pool.admit()
        if slot is None:
            stats = service.pool.stats()
            raise ServeError(503, f"the server is busy: {stats['workers']} worker(s) and a queue "
                             f"of {stats['queue']} are all taken; try again later",
                             {"Retry-After": "5"})
        loop = asyncio.get_running_loop()
        deadline = loop.time() + settings.timeout_s
        folder = service.uploads.new()
        try:
            try:
                upload = await asyncio.wait_for(
                    receive_upload(request, folder, settings.max_upload_bytes), settings.timeout_s)
            except asyncio.TimeoutError:
                raise ServeError(408, f"the upload did not arrive within {settings.timeout_s:g} s "
                                 "(--timeout)") from None
            crop, meta = request_options(upload.fields)
            future = slot.submit(service.assess_upload, upload, crop, meta)
            try:
                record = await asyncio.wait_for(asyncio.wrap_future(future),
                                                max(0.0, deadline - loop.time()))
            except asyncio.TimeoutError:
                raise ServeError(504, f"the assessment did not finish within "
                                 f"{settings.timeout_s:g} s of the request (--timeout)") from None
            return JSONResponse(record)
        finally:
            slot.close()
            service.uploads.remove(folder)

    return app


def is_loopback(host: str) -> bool:
    """Whether ``host`` is a loopback address (``localhost``, 127.0.0.0/8, ``::1``)."""
    import ipaddress

    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:
        return False


def listening_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` (port 0: a free one), for :func:`run`."""
    host = host.strip().strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, int(port)))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def server_url(sock: socket.socket) -> str:
    """``http://host:port/`` of a bound socket."""
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def uvicorn_server(app: Any, log_level: str = "info") -> Any:
    """A ``uvicorn.Server`` for ``app`` (run it with ``server.run(sockets=[sock])``)."""
    import uvicorn

    config = uvicorn.Config(app, log_level=log_level, server_header=False,
                            proxy_headers=False, timeout_keep_alive=5)
    return uvicorn.Server(config)
