"""Request bodies sent with `Transfer-Encoding: chunked` (no Content-Length).

Clients that stream an upload send it chunked: Python's requests and httpx given a generator or a file
object of unknown size, curl with `-T -` or `-H 'Transfer-Encoding: chunked'`, Java's and Go's HTTP
clients for large bodies. Django reads exactly Content-Length bytes of a body, so it would take such a
body for an empty one: an import would answer "ok, nothing imported" and drop every call.

This WSGI middleware spools a chunked body (in memory up to a few MB, then in a temporary file) and hands
Django a body with its length. A server that de-chunks the input and says so (`wsgi.input_terminated`,
as gunicorn does) gets its body read; one that cannot (the development server) gets 411 Length Required
instead of a silently empty body. A body larger than any endpoint takes (the bigger of
DATA_UPLOAD_MAX_MEMORY_SIZE and CALLS_IMPORT_UPLOAD_MAX_BYTES, plus room for multipart headers) is refused
with 413 as it arrives, before it fills the disk.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings

READ_BYTES = 1 << 16
SPOOL_IN_MEMORY_BYTES = 4 << 20
MULTIPART_ROOM = 1 << 20  # part headers and boundaries around uploaded files

WSGIApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def _is_chunked(environ: dict[str, Any]) -> bool:
    if environ.get("CONTENT_LENGTH", "") not in ("", None):
        return False
    codings = environ.get("HTTP_TRANSFER_ENCODING", "")
    return "chunked" in [coding.strip().lower() for coding in codings.split(",")]


def _refuse(
    environ: dict[str, Any], start_response: Callable[..., Any], status: str, detail: str
) -> list[bytes]:
    body = json.dumps({"detail": detail}).encode()
    headers = [("Content-Type", "application/json"), ("Content-Length", str(len(body)))]
    # The unread rest of the body must not be taken for the next request: close the connection. Python's
    # wsgiref (Django's runserver) refuses a hop-by-hop header from the application (a 500 instead of this
    # answer), and closes such a connection itself.
    if not str(environ.get("SERVER_SOFTWARE", "")).startswith("WSGIServer/"):
        headers.append(("Connection", "close"))
    start_response(status, headers)
    return [body]


class ChunkedBodyMiddleware:
    def __init__(self, application: WSGIApp):
        self.application = application

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if not _is_chunked(environ):
            return self.application(environ, start_response)
        if not environ.get("wsgi.input_terminated"):
            return _refuse(
                environ,
                start_response,
                "411 Length Required",
                "This server cannot read a chunked request body: send a Content-Length.",
            )
        limit = (
            max(settings.DATA_UPLOAD_MAX_MEMORY_SIZE, settings.CALLS_IMPORT_UPLOAD_MAX_BYTES) + MULTIPART_ROOM
        )
        spool = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY_BYTES)  # noqa: SIM115 (closed with the response)
        length = 0
        stream = environ["wsgi.input"]
        while chunk := stream.read(READ_BYTES):
            length += len(chunk)
            if length > limit:
                spool.close()
                return _refuse(
                    environ, start_response, "413 Request Entity Too Large", "Request body too large."
                )
            spool.write(chunk)
        spool.seek(0)
        environ["wsgi.input"] = spool
        environ["CONTENT_LENGTH"] = str(length)
        try:
            response = self.application(environ, start_response)
        except BaseException:
            spool.close()
            raise
        return _ClosingIterable(response, spool)


class _ClosingIterable:
    """The application's response, closing the spooled body once the server is done with it."""

    def __init__(self, response: Iterable[bytes], spool: Any):
        self.response = response
        self.spool = spool

    def __iter__(self):
        return iter(self.response)

    def close(self) -> None:
        try:
            close = getattr(self.response, "close", None)
            if close is not None:
                close()
        finally:
            self.spool.close()
