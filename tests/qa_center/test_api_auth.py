"""API credentials: POST /api/auth/token, and tokens sent as `Token` or `Bearer`."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calls.models import Call
from tests.factories import UserFactory

TOKEN_URL = "/api/auth/token"
IMPORT_URL = "/api/calls/import"
RECORD = '{"external_id": "C-1", "channel": "phone", "started_at": "2026-11-02T10:00:00Z", "ended_at": "2026-11-02T10:05:00Z"}\n'


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()  # the throttle counts requests in the default cache
    yield
    cache.clear()


def test_a_user_exchanges_username_and_password_for_their_one_token(db):
    user = UserFactory(username="importer", roles=["admin"])
    user.set_password("s3cret-pass")
    user.save()
    client = APIClient()

    first = client.post(TOKEN_URL, {"username": "importer", "password": "s3cret-pass"}, format="json")
    again = client.post(TOKEN_URL, {"username": "importer", "password": "s3cret-pass"})  # form-encoded

    assert first.status_code == again.status_code == 200
    assert first.json() == again.json() == {"token": Token.objects.get(user=user).key}


@pytest.mark.parametrize("password", ["wrong", ""])
def test_a_wrong_password_gets_400_and_no_token(db, password):
    user = UserFactory(username="importer", roles=["admin"])
    user.set_password("s3cret-pass")
    user.save()

    response = APIClient().post(TOKEN_URL, {"username": "importer", "password": password}, format="json")

    assert response.status_code == 400
    assert "token" not in response.json()
    assert not Token.objects.exists()


def test_password_guessing_is_throttled_per_client(db):
    client = APIClient()
    answers = [
        client.post(TOKEN_URL, {"username": "nobody", "password": f"guess-{n}"}).status_code
        for n in range(11)
    ]

    assert answers == [400] * 10 + [429]


@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_the_token_works_as_token_or_bearer_credentials(db, keyword):
    user = UserFactory(username="importer", roles=["admin"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} {Token.objects.create(user=user).key}")

    response = client.post(IMPORT_URL, RECORD, content_type="application/x-ndjson")

    assert (response.status_code, response.json()["created"]) == (200, 1)
    assert Call.objects.get().external_id == "C-1"


@pytest.mark.parametrize("keyword", ["Token", "Bearer"])
def test_an_unknown_token_is_refused_with_401(db, keyword):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"{keyword} 0123456789abcdef0123456789abcdef01234567")

    response = client.post(IMPORT_URL, RECORD, content_type="application/x-ndjson")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert not Call.objects.exists()


def test_the_openapi_schema_names_every_scheme_and_generates_without_warnings(db):
    from django.core.management import call_command
    from drf_spectacular.drainage import GENERATOR_STATS

    GENERATOR_STATS.reset()
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", "/dev/null")

    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    assert set(schema["components"]["securitySchemes"]) == {
        "cookieAuth",
        "tokenAuth",
        "bearerAuth",
        "hmacSignature",
    }
    assert schema["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    assert "/api/auth/token" in schema["paths"]
    content = schema["paths"]["/api/calls/import"]["post"]["requestBody"]["content"]
    assert content["application/json"]["schema"]["type"] == "array"  # typed, so clients send a list
    assert set(content) >= {"application/x-ndjson", "text/plain", "multipart/form-data"}
    assert set(content["multipart/form-data"]["schema"]["properties"]) == {
        "partial",
        "timezone",
        "encoding",
        "date_order",
    }
    responses = schema["paths"]["/api/calls/import"]["post"]["responses"]
    assert sorted(responses) == ["200", "202", "400", "401", "403", "411", "413", "415"]
    # A 400 is one of two bodies that no answer matches both of: rows or an option refused (the summary, or
    # ok and errors alone), or no body at all.
    refused = responses["400"]["content"]["application/json"]["schema"]["$ref"].rsplit("/", 1)[1]
    assert [ref["$ref"].rsplit("/", 1)[1] for ref in schema["components"]["schemas"][refused]["oneOf"]] == [
        "CallImportRefusal",
        "ImportRefusal",
    ]
    # The trailing-slash aliases answer but are not listed twice.
    assert {"/api/calls/import", "/api/calls/imports/{id}", "/api/surveys/responses"} <= set(schema["paths"])
    assert not {"/api/auth/token/", "/api/calls/import/", "/api/surveys/responses/"} & set(schema["paths"])


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/api/auth/token/", {"username": "ana", "password": "pw-ana-12345"}),
        ("/api/calls/import/", None),
        ("/api/surveys/responses/", {"call_external_id": "C-404", "score": 9}),
    ],
)
def test_api_endpoints_answer_with_a_trailing_slash_too(db, path, body):
    user = UserFactory(username="ana", is_superuser=True, is_staff=True)
    user.set_password("pw-ana-12345")
    user.save()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    if body is None:
        response = client.post(
            path,
            '{"external_id": "C-1", "channel": "phone", "started_at": "2026-11-02T10:00:00Z", "ended_at": "2026-11-02T10:05:00Z"}',
            content_type="application/x-ndjson",
        )
        assert (response.status_code, response.json()["created"]) == (200, 1)
        status = client.get(path.replace("import/", "imports/1/"))
        assert status.status_code == 404  # answered by the status view: no such import
    elif "token" in path:
        response = APIClient().post(path, body)
        assert (response.status_code, response.json()["token"]) == (200, Token.objects.get(user=user).key)
    else:
        response = client.post(path, body, format="json")
        assert (response.status_code, response.json()) == (
            400,
            {"call_external_id": ["No call with this external id."]},
        )


def test_a_session_cookie_does_not_make_the_token_request_need_csrf(db):
    """Credentials are in the body: a client that also holds a session (a browser, a script reusing its
    cookie jar) still gets its token without a CSRF token."""
    user = UserFactory(username="importer", roles=["admin"])
    user.set_password("s3cret-pass")
    user.save()
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(user)

    response = client.post(TOKEN_URL, {"username": "importer", "password": "s3cret-pass"}, format="json")

    assert response.status_code == 200
    assert response.json() == {"token": Token.objects.get(user=user).key}
