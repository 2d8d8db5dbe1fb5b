"""The one error type of the service: an HTTP status and a one-line message, answered
as ``{"error": message}``."""
from __future__ import annotations

from typing import Dict, Optional


class ServeError(Exception):
    """A request the service answers with ``status`` and ``{"error": message}``; the
    message is made one line. ``headers``: extra response headers (``WWW-Authenticate``)."""

    def __init__(self, status: int, message: str, headers: Optional[Dict[str, str]] = None) -> None:
        self.status = int(status)
        self.message = " ".join(str(message).split())
        self.headers = dict(headers or {})
        super().__init__(self.message)
