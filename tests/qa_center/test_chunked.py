"""Chunked request bodies (no Content-Length) reach the views whole, through the real WSGI application."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core import signals
from django.db import close_old_connections
from rest_framework.authtoken.models import Token

from calls.models import Call
from qa_center.chunked import MULTIPART_ROOM, READ_BYTES
from qa_center.wsgi import application


def _calls(*numbers: int) -> bytes:
    return "".join(
        json.dumps(
            {
                "external_id": f"C-{n}",
                "channel": "phone",
                "started_at": "2026-11-02T10:00:00Z",
                "ended_at": "2026-11-02T10:05:00Z",
            }
        )
        + "\n"
        for n in numbers
    ).encode()


class _Upload(io.BytesIO):
    """What the server hands over as wsgi.input: the de-chunked body, recording how much was read."""

    def __init__(self, data: bytes):
        super().__init__(data)
        self.read_bytes = 0

    def read(self, size=-1):
        chunk = super().read(size)
        self.read_bytes += len(chunk)
        return chunk


def _post(body: bytes, token: str, *, terminated: bool = True, chunked: bool = True):
    environ: dict = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/calls/import",
        "CONTENT_TYPE": "application/x-ndjson",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "wsgi.input": _Upload(body),
    }
    if chunked:
        environ["HTTP_TRANSFER_ENCODING"] = "chunked"
    else:
        environ["CONTENT_LENGTH"] = str(len(body))
    if terminated:
        environ["wsgi.input_terminated"] = True  # gunicorn, having de-chunked the body
    setup_testing_defaults(environ)
    started: list = []
    response = application(environ, lambda status, headers, exc_info=None: started.append(status))
    try:
        content = b"".join(response)
    finally:
        getattr(response, "close", lambda: None)()
    return started[0], json.loads(content), environ["wsgi.input"]


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """As Django's test client does: the handler's end of request must not close the test's transaction."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def token(admin_user) -> str:
    return Token.objects.create(user=admin_user).key


def test_a_chunked_body_is_imported_whole(token):
    status, answer, _ = _post(_calls(1, 2, 3), token)

    assert (status, answer["ok"], answer["created"]) == ("200 OK", True, 3)
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2", "C-3"]


def test_a_body_with_its_length_passes_through_as_it_is(token):
    status, answer, upload = _post(_calls(1), token, chunked=False)

    assert (status, answer["created"]) == ("200 OK", 1)
    assert isinstance(upload, _Upload)  # not spooled


def test_a_server_that_cannot_end_a_chunked_body_gets_411_not_an_empty_import(token):
    status, answer, _ = _post(_calls(1, 2), token, terminated=False)

    assert (status, answer) == (
        "411 Length Required",
        {"detail": "This server cannot read a chunked request body: send a Content-Length."},
    )
    assert Call.objects.count() == 0


def test_the_development_servers_wsgiref_handler_gets_the_411_too(token):
    """Python's wsgiref (runserver) refuses hop-by-hop headers from the application: the refusal must not
    carry `Connection: close` there, or the client gets wsgiref's 500 instead."""
    from wsgiref.handlers import SimpleHandler
    from wsgiref.simple_server import software_version

    class ServerHandler(SimpleHandler):  # wsgiref's own server handler, minus its socket server
        server_software = software_version

    body = _calls(1)
    environ: dict = {
        "REQUEST_METHOD": "POST",
        "PATH_INFO": "/api/calls/import",
        "CONTENT_TYPE": "application/x-ndjson",
        "HTTP_AUTHORIZATION": f"Token {token}",
        "HTTP_TRANSFER_ENCODING": "chunked",
    }
    setup_testing_defaults(environ)
    environ.pop("CONTENT_LENGTH", None)
    out = io.BytesIO()
    handler = ServerHandler(io.BytesIO(body), out, io.StringIO(), environ)

    handler.run(application)

    head, _, answer = out.getvalue().partition(b"\r\n\r\n")
    assert head.split(b"\r\n")[0] == b"HTTP/1.0 411 Length Required"
    assert json.loads(answer) == {
        "detail": "This server cannot read a chunked request body: send a Content-Length."
    }
    assert Call.objects.count() == 0


def test_a_chunked_body_over_the_limit_is_refused_as_it_arrives(token, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 2048
    settings.CALLS_IMPORT_UPLOAD_MAX_BYTES = 1024
    limit = 2048 + MULTIPART_ROOM
    body = _calls(*range(limit // 100))  # each record is over 100 bytes
    assert len(body) > limit + 2 * READ_BYTES

    status, answer, upload = _post(body, token)

    assert (status, answer) == ("413 Request Entity Too Large", {"detail": "Request body too large."})
    assert upload.read_bytes <= limit + READ_BYTES  # stopped reading at the limit
    assert Call.objects.count() == 0
