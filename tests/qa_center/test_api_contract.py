"""The API against its own OpenAPI schema: /api/schema/ is a valid OpenAPI 3 document, and every operation,
called by a client that only knows that schema (schemathesis), answers as it says: no 5xx, only documented
status codes, the documented content type, headers and a body that conforms.

Called as an admin with an API token, against a small seeded world (tests/qa_center/contract_data.py) whose
ids most generated path parameters are pointed at. Bounded and reproducible: a fixed number of generated
cases per operation, derandomized (the same cases on every run). The rows are seeded once per module in an
outer transaction; each operation is its own test item in its own savepoint (pytest-django's `db`), and its
examples share it, which is why the function-scoped-fixture health check is suppressed on purpose: what one
example leaves (an imported call, a notice marked read) is valid data for the next.
"""

from __future__ import annotations

import pytest
import schemathesis
from django.core.cache import cache
from django.core.management import call_command
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, transaction
from hypothesis import HealthCheck, settings
from openapi_spec_validator import validate
from schemathesis.checks import not_a_server_error
from schemathesis.config import SchemathesisConfig
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from qa_center.wsgi import application
from tests.qa_center.contract_data import seed_contract_data

# JSON Lines bodies are text: sent as schemathesis sends text/plain.
schemathesis.serializer.alias("application/x-ndjson", "text/plain")
# 10 generated cases per operation (positive and negative) on top of the coverage phase (every boundary and
# every invalid variant the schema allows), except for the import: its call record has some 40 members, and
# their ~400 coverage variants cost more than the rest of the test, so it gets 40 generated cases instead.
CONFIG = SchemathesisConfig.from_dict(
    {
        "generation": {"max-examples": 10},
        "operations": [
            {
                "include-path": "/api/calls/import",
                "phases": {"coverage": {"enabled": False}},
                "generation": {"max-examples": 40},
            }
        ],
    }
)
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application, config=CONFIG)

CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]


def test_the_schema_is_a_valid_openapi_document(db, client):
    response = client.get("/api/schema/?format=json")

    assert response.status_code == 200
    document = response.json()
    validate(document)  # raises on any violation of the OpenAPI 3 specification
    assert document["openapi"].startswith("3.")


def test_drf_spectacular_generates_the_schema_without_a_warning_or_an_error(db, tmp_path):
    # --fail-on-warn: a warning (an APIView without a serializer, an enum name collision, an untyped
    # SerializerMethodField...) fails the command, as --validate fails it on an invalid document.
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    assert (tmp_path / "schema.yaml").read_text().startswith("openapi: 3.0.3\n")


# What each operation may answer (DRF's own 400/401/403/404/413/415/429 included): drf-spectacular
# documented the success codes only, so a generated client knew none of the errors the API gives.
DOCUMENTED_STATUS_CODES = {
    ("GET", "/analytics/api/leaderboard/"): [200, 400, 401, 403],
    ("GET", "/api/assignments/"): [200, 400, 401, 403, 404],
    ("GET", "/api/assignments/{id}/"): [200, 401, 403, 404],
    ("POST", "/api/auth/token"): [200, 400, 413, 415, 429],
    ("GET", "/api/calibration/"): [200, 400, 401, 403],
    ("GET", "/api/calls/"): [200, 400, 401, 403, 404],
    ("GET", "/api/calls/{id}/"): [200, 401, 403, 404],
    ("POST", "/api/calls/import"): [200, 202, 400, 401, 403, 411, 413, 415],
    ("GET", "/api/calls/imports/{id}"): [200, 401, 403, 404],
    ("GET", "/api/evaluations/"): [200, 400, 401, 403, 404],
    ("GET", "/api/evaluations/{id}/"): [200, 401, 403, 404],
    ("GET", "/api/notices/"): [200, 400, 401, 403, 404],
    ("POST", "/api/notices/{id}/read"): [200, 401, 403, 404],
    ("POST", "/api/notices/read-all"): [200, 401, 403],
    ("GET", "/api/scorecards/"): [200, 401, 403, 404],
    ("GET", "/api/scorecards/{id}/"): [200, 401, 403, 404],
    ("POST", "/api/surveys/responses"): [200, 201, 400, 401, 403, 409, 413, 415],
}


def test_every_operation_documents_the_errors_it_answers(db, client):
    document = client.get("/api/schema/?format=json").json()

    documented = {
        (method.upper(), path): sorted(int(code) for code in operation["responses"])
        for path, operations in document["paths"].items()
        for method, operation in operations.items()
    }

    assert documented == DOCUMENTED_STATUS_CODES
    assert document["components"]["schemas"]["Error"] == {
        "type": "object",
        "properties": {"detail": {"type": "string"}},
        "required": ["detail"],
    }
    not_found = document["paths"]["/api/evaluations/{id}/"]["get"]["responses"]["404"]
    assert not_found["content"] == {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}


@pytest.mark.parametrize(
    "path", ["/api/evaluations/0.5/", "/api/scorecards/null%2Cnull/", "/api/calls/imports/x"]
)
def test_an_api_url_no_route_matches_is_a_json_404_like_the_api_gives(admin_client, path):
    # A non-numeric id does not match the route: Django answered its HTML page, which no client can read.
    response = admin_client.get(path)

    assert (response.status_code, response["Content-Type"], response.json()) == (
        404,
        "application/json",
        {"detail": "Not found."},
    )


def test_other_unknown_urls_keep_the_html_page_and_api_urls_the_trailing_slash_redirect(admin_client):
    page = admin_client.get("/no-such-page/")
    redirect = admin_client.get("/api/scorecards")

    assert (page.status_code, page["Content-Type"]) == (404, "text/html; charset=utf-8")
    assert (redirect.status_code, redirect["Location"]) == (301, "/api/scorecards/")


@pytest.fixture(scope="module")
def contract_world(django_db_setup, django_db_blocker):
    """The seeded rows, made once for all operations in a transaction rolled back at the end of the module
    (each operation's own `db` transaction is a savepoint inside it, so each starts from these rows)."""
    with django_db_blocker.unblock():
        outer = transaction.atomic()
        outer.__enter__()
        try:
            yield seed_contract_data()
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


@pytest.fixture
def seeded(contract_world, db):
    # The real WSGI handler closes the database connection at the end of each request, which would end the
    # test's transaction; Django's own test client keeps it open the same way.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield contract_world
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
        cache.clear()  # the token endpoint's throttle counts, which no other test must inherit


@schema.parametrize()
@settings(
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
def test_every_operation_answers_as_its_schema_says(case, seeded):
    seeded.point_at_real_rows(case)
    case.call_and_validate(headers={"Authorization": f"Token {seeded.token}"}, checks=CHECKS)
