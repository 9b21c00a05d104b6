"""The stdout log: a refused request is one line; a server error keeps its traceback."""

from __future__ import annotations

import logging
import sys

import pytest

from qa_center.logging_filters import ClientErrorsWithoutTraceback
from tests.factories import UserFactory


@pytest.mark.django_db
def test_a_refused_page_is_logged_as_one_line_without_its_traceback(client, caplog):
    client.force_login(UserFactory(username="agent-log", roles=["agent"]))

    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/analytics/")

    assert response.status_code == 403
    records = [r for r in caplog.records if r.name == "django.request"]
    assert [(r.levelname, r.getMessage(), r.exc_info) for r in records] == [
        ("WARNING", "Forbidden (Permission denied): /analytics/", None)
    ]
    formatted = logging.Formatter("%(levelname)s %(name)s %(message)s").format(records[0])
    assert formatted == "WARNING django.request Forbidden (Permission denied): /analytics/"  # no traceback


def _record(status_code: int) -> logging.LogRecord:
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        info = sys.exc_info()
    record = logging.LogRecord("django.request", logging.ERROR, __file__, 1, "msg", None, info)
    record.status_code = status_code
    return record


@pytest.mark.parametrize(
    ("status_code", "keeps_traceback"), [(400, False), (403, False), (500, True), (503, True)]
)
def test_only_client_errors_lose_their_traceback(status_code, keeps_traceback):
    record = _record(status_code)

    assert ClientErrorsWithoutTraceback().filter(record) is True  # never drops the line itself
    assert (record.exc_info is not None) is keeps_traceback


def test_the_filter_is_installed_on_django_request():
    assert any(
        isinstance(f, ClientErrorsWithoutTraceback) for f in logging.getLogger("django.request").filters
    )
