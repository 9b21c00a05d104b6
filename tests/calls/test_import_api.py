"""POST /api/calls/import: who may import, body formats, answers."""

from __future__ import annotations

import gzip
import json
from datetime import UTC, datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.middleware.csrf import _get_new_csrf_string, _mask_cipher_secret
from openapi_schema_validator import OAS30Validator
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient

from calls.models import Agent, Call, Transfer
from tests.factories import UserFactory

URL = "/api/calls/import"


def minimal(number: int, **fields) -> dict:
    record = {
        "external_id": f"C-{number}",
        "channel": "phone",
        "started_at": "2026-11-02T10:00:00Z",
        "ended_at": "2026-11-02T10:05:00Z",
    }
    record.update(fields)
    return record


def ndjson(*records: dict) -> str:
    return "".join(json.dumps(record) + "\n" for record in records)


@pytest.fixture
def admin_client(admin_user):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=admin_user).key}")
    return client


def test_anonymous_gets_401_and_nothing_is_imported(db):
    response = APIClient().post(URL, ndjson(minimal(1)), content_type="application/x-ndjson")

    assert response.status_code == 401
    assert response["WWW-Authenticate"] == "Token"
    assert Call.objects.count() == 0


@pytest.mark.parametrize("role", ["agent", "reviewer", "supervisor"])
def test_non_admins_get_403(db, role):
    user = UserFactory(username=f"someone-{role}", roles=[role])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = client.post(URL, ndjson(minimal(1)), content_type="application/x-ndjson")

    assert response.status_code == 403
    assert Call.objects.count() == 0


def test_a_user_given_the_import_permission_may_import(db):
    from django.contrib.auth.models import Permission

    user = UserFactory(username="integration", roles=["reviewer"])
    user.user_permissions.add(
        Permission.objects.get(codename="import_calls", content_type__app_label="calls")
    )
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=user).key}")

    response = client.post(URL, ndjson(minimal(1)), content_type="application/x-ndjson")

    assert (response.status_code, response.json()["created"]) == (200, 1)


def test_admin_imports_json_lines_and_gets_the_summary(admin_client):
    record = minimal(1, transfers=[{"at": "2026-11-02T10:01:00Z", "to_department": "Sales"}])

    response = admin_client.post(URL, ndjson(record, minimal(2)), content_type="application/x-ndjson")

    assert response.status_code == 200
    body = response.json()
    assert {key: body[key] for key in ("ok", "created", "updated", "unchanged", "rejected", "errors")} == {
        "ok": True,
        "created": 2,
        "updated": 0,
        "unchanged": 0,
        "rejected": 0,
        "errors": [],
    }
    assert body["elapsed_seconds"] >= 0 and body["rows_per_second"] >= 0
    assert Transfer.objects.get().call.external_id == "C-1"


def test_text_plain_and_json_array_bodies_are_accepted(admin_client):
    text = admin_client.post(URL, ndjson(minimal(1)), content_type="text/plain; charset=utf-8")
    array = admin_client.post(URL, json.dumps([minimal(1), minimal(2)]), content_type="application/json")

    assert (text.status_code, text.json()["created"]) == (200, 1)
    assert (array.status_code, array.json()["created"], array.json()["unchanged"]) == (200, 1, 1)


def test_bad_rows_answer_400_with_every_error_and_write_nothing(admin_client):
    body = ndjson(minimal(1), minimal(2, channel="fax")) + "{not json\n" + ndjson(minimal(1))

    response = admin_client.post(URL, body, content_type="application/x-ndjson")

    assert response.status_code == 400
    assert response.json()["errors"] == [
        {
            "line": 2,
            "field": "channel",
            "reason": "unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        },
        {
            "line": 3,
            "field": "record",
            "reason": "invalid JSON (unexpected character, expected a string key at column 2)",
        },
        {"line": 4, "field": "external_id", "reason": "duplicate of line 1"},
    ]
    assert response.json()["rejected"] == 3
    assert Call.objects.count() == 0


def test_json_array_errors_name_the_position_in_the_array(admin_client):
    response = admin_client.post(
        URL,
        json.dumps([minimal(1), minimal(2, ended_at="2026-11-02T09:00:00Z")]),
        content_type="application/json",
    )

    assert response.status_code == 400
    assert response.json()["errors"] == [{"line": 2, "field": "ended_at", "reason": "before started_at"}]


def test_partial_import_answers_200_with_the_rejected_rows(admin_client):
    response = admin_client.post(
        URL + "?partial=1", ndjson(minimal(1), minimal(2, channel="fax")), content_type="application/x-ndjson"
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["ok"], body["created"], body["rejected"]) == (False, 1, 1)
    assert body["errors"] == [
        {
            "line": 2,
            "field": "channel",
            "reason": "unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        }
    ]
    assert list(Call.objects.values_list("external_id", flat=True)) == ["C-1"]


def test_a_fixed_offset_timezone_parameter_works_even_with_its_plus_unencoded(admin_client):
    records = [
        minimal(n, started_at="2026-01-10T09:00:00", ended_at="2026-01-10T09:05:00") for n in (1, 2, 3)
    ]

    # "+" in a query string is a space unless written %2B, and clients often send it as it is.
    for record, query in zip(
        records, ["timezone=+01:00", "timezone=%2B01:00", "timezone=-0500"], strict=True
    ):
        response = admin_client.post(f"{URL}?{query}", ndjson(record), content_type="application/x-ndjson")
        assert response.status_code == 200, response.json()

    assert sorted(Call.objects.values_list("external_id", "started_at")) == [
        ("C-1", datetime(2026, 1, 10, 8, tzinfo=UTC)),
        ("C-2", datetime(2026, 1, 10, 8, tzinfo=UTC)),
        ("C-3", datetime(2026, 1, 10, 14, tzinfo=UTC)),
    ]


def test_timezone_parameter_reads_naive_times(admin_client):
    record = minimal(1, started_at="2026-01-10T09:00:00", ended_at="2026-01-10T09:05:00")

    response = admin_client.post(
        URL + "?timezone=Europe/Paris", ndjson(record), content_type="application/x-ndjson"
    )
    bad = admin_client.post(
        URL + "?timezone=Nowhere/Land", ndjson(minimal(2)), content_type="application/x-ndjson"
    )

    assert response.status_code == 200
    assert Call.objects.get().started_at.isoformat() == "2026-01-10T08:00:00+00:00"
    assert bad.status_code == 400
    assert bad.json()["errors"] == [
        {
            "line": 0,
            "field": "timezone",
            "reason": "unknown time zone 'Nowhere/Land' (an IANA name such as Europe/Paris, or an offset such as +01:00)",
        }
    ]


def test_oversized_body_is_refused(admin_client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024

    response = admin_client.post(
        URL, ndjson(*(minimal(n) for n in range(30))), content_type="application/x-ndjson"
    )

    assert response.status_code == 413
    assert Call.objects.count() == 0


@pytest.mark.parametrize(
    "media_type",
    [
        "application/jsonl",
        "application/x-jsonlines",
        "application/ndjson",
        "application/json-lines; charset=utf-8",
    ],
)
def test_the_other_usual_json_lines_media_types_are_accepted(admin_client, media_type):
    response = admin_client.post(URL, ndjson(minimal(1), minimal(2)), content_type=media_type)

    assert (response.status_code, response.json()["created"]) == (200, 2)
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2"]


def test_a_utf16_body_with_a_byte_order_mark_is_read(admin_client):
    body = ndjson(minimal(1, agent={"employee_code": "A-1", "name": "Zoë"})).encode("utf-16")

    response = admin_client.post(URL, body, content_type="text/plain; charset=utf-16")

    assert (response.status_code, response.json()["created"]) == (200, 1)
    assert Call.objects.get().agent.name == "Zoë"


def test_a_json_body_labelled_as_a_form_as_curl_data_binary_sends_it_is_read(admin_client):
    form = "application/x-www-form-urlencoded"
    lines = admin_client.post(URL, ndjson(minimal(1), minimal(2)), content_type=form)
    array = admin_client.post(URL, json.dumps([minimal(3)]), content_type=form)
    real_form = admin_client.post(URL, "external_id=C-9&channel=phone", content_type=form)

    assert (lines.status_code, lines.json()["created"]) == (200, 2)
    assert (array.status_code, array.json()["created"]) == (200, 1)
    assert real_form.status_code == 415
    assert real_form.json()["detail"].startswith("The body is not JSON Lines or a JSON array.")
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2", "C-3"]


def test_a_gzipped_body_is_read_labelled_or_not(admin_client):
    labelled = gzip.compress(ndjson(minimal(1), minimal(2)).encode())
    as_is = gzip.compress(json.dumps([minimal(3, agent={"employee_code": "A-1", "name": "Zoë"})]).encode())
    utf16 = gzip.compress(ndjson(minimal(4)).encode("utf-16"))

    first = admin_client.post(
        URL, labelled, content_type="application/x-ndjson", HTTP_CONTENT_ENCODING="gzip"
    )
    # curl --data-binary @calls.json.gz, no header: told by the content, the array by what it decompresses to
    second = admin_client.post(URL, as_is, content_type="application/x-www-form-urlencoded")
    third = admin_client.post(URL, utf16, content_type="text/plain", HTTP_CONTENT_ENCODING="x-gzip")

    assert [(r.status_code, r.json()["created"]) for r in (first, second, third)] == [
        (200, 2),
        (200, 1),
        (200, 1),
    ]
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2", "C-3", "C-4"]
    assert Call.objects.get(external_id="C-3").agent.name == "Zoë"


def test_a_gzipped_body_can_be_queued(admin_client, eager_celery, django_capture_on_commit_callbacks):
    body = gzip.compress(json.dumps([minimal(1), minimal(2)]).encode())

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            f"{URL}?async=1", body, content_type="application/json", HTTP_CONTENT_ENCODING="gzip"
        )

    assert response.status_code == 202
    outcome = admin_client.get(response["Location"]).json()
    assert (outcome["status"], outcome["created"], outcome["files"]) == ("done", 2, ["body.json"])


def test_bad_or_unknown_content_encodings_are_refused_and_nothing_is_written(admin_client):
    body = ndjson(minimal(1))
    not_gzip = admin_client.post(URL, body, content_type="application/x-ndjson", HTTP_CONTENT_ENCODING="gzip")
    brotli = admin_client.post(URL, body, content_type="application/x-ndjson", HTTP_CONTENT_ENCODING="br")
    damaged = admin_client.post(URL, b"\x1f\x8b\x00\x00garbage", content_type="application/x-ndjson")
    truncated = admin_client.post(
        URL, gzip.compress(ndjson(*(minimal(n) for n in range(50))).encode())[:-30], content_type="text/plain"
    )

    assert (not_gzip.status_code, not_gzip.json()["detail"]) == (
        400,
        "The body is labelled Content-Encoding: gzip but is not gzip data.",
    )
    assert brotli.status_code == 415
    assert brotli.json()["detail"].startswith("Unsupported Content-Encoding 'br'")
    assert (damaged.status_code, damaged.json()["errors"]) == (
        400,
        [
            {
                "line": 0,
                "field": "body",
                "reason": "not readable gzip data (Error -3 while decompressing data: unknown compression method)",
            }
        ],
    )
    assert truncated.status_code == 400
    assert truncated.json()["errors"][-1]["field"] == "file"
    assert truncated.json()["errors"][-1]["reason"].startswith("damaged or truncated gzip data")
    assert Call.objects.count() == 0


def test_an_empty_body_is_refused_rather_than_imported_as_nothing(admin_client):
    response = admin_client.post(URL, b"", content_type="application/x-ndjson")

    assert (response.status_code, response.json()["detail"]) == (
        400,
        "The body is empty: send the calls as JSON Lines or a JSON array.",
    )


def test_a_body_in_another_encoding_is_read_by_its_charset_or_the_encoding_parameter(admin_client):
    record = minimal(1, agent={"employee_code": "A-1", "name": "Zoë"})
    body = (json.dumps(record, ensure_ascii=False) + "\n").encode("cp1252")

    as_utf8 = admin_client.post(URL, body, content_type="application/x-ndjson")
    by_charset = admin_client.post(URL, body, content_type="application/x-ndjson; charset=windows-1252")
    by_parameter = admin_client.post(f"{URL}?encoding=latin-1", body, content_type="application/x-ndjson")
    unknown = admin_client.post(f"{URL}?encoding=klingon", body, content_type="application/x-ndjson")

    assert as_utf8.status_code == 400
    column = json.dumps(record, ensure_ascii=False).index("ë") + 1
    assert (
        as_utf8.json()["errors"][0]["reason"]
        == f"not valid UTF-8 (byte 0xeb at column {column}); if the file is in another encoding, name it (e.g. cp1252)"
    )
    assert [
        (r.status_code, r.json()["created"], r.json()["unchanged"]) for r in (by_charset, by_parameter)
    ] == [
        (200, 1, 0),
        (200, 0, 1),
    ]
    assert Agent.objects.get().name == "Zoë"
    assert (unknown.status_code, unknown.json()["errors"]) == (
        400,
        [{"line": 0, "field": "encoding", "reason": "unknown encoding 'klingon'"}],
    )


def test_the_date_order_parameter_reads_spreadsheet_dates(admin_client):
    record = minimal(1, started_at="11/2/2026 9:15 AM", ended_at="11/2/2026 9:20 AM")

    without = admin_client.post(URL, ndjson(record), content_type="application/x-ndjson")
    us = admin_client.post(
        f"{URL}?date_order=mdy&timezone=UTC", ndjson(record), content_type="application/x-ndjson"
    )
    unknown = admin_client.post(f"{URL}?date_order=ymd", ndjson(record), content_type="application/x-ndjson")

    assert without.status_code == 400
    assert without.json()["errors"][0]["reason"].startswith("a spreadsheet date '11/2/2026 9:15 AM'")
    assert (us.status_code, us.json()["created"]) == (200, 1)
    assert Call.objects.get().started_at.isoformat() == "2026-11-02T09:15:00+00:00"
    assert (unknown.status_code, unknown.json()["errors"]) == (
        400,
        [{"line": 0, "field": "date_order", "reason": "unknown date order 'ymd' (expected mdy or dmy)"}],
    )


def test_multipart_files_in_another_encoding_are_queued_with_it(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    exported = (
        "external_id;channel;started_at;ended_at;agent_name;agent_employee_code\n"
        "C-1;phone;2/11/2026 10:00;2/11/2026 10:05;Zoë;A-1\n"
    )
    upload = SimpleUploadedFile("calls.csv", exported.encode("cp1252"))

    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            URL,
            {"calls": upload, "encoding": "cp1252", "date_order": "dmy", "timezone": "UTC"},
            format="multipart",
        )

    assert response.status_code == 202
    outcome = admin_client.get(response["Location"]).json()
    assert (outcome["status"], outcome["created"], outcome["errors"]) == ("done", 1, [])
    assert Agent.objects.get().name == "Zoë"
    assert Call.objects.get().started_at.isoformat() == "2026-11-02T10:00:00+00:00"


def test_pretty_printed_or_wrapped_json_bodies_are_read_whatever_their_label(admin_client):
    pretty = "".join(json.dumps(minimal(n), indent=2) + "\n" for n in (1, 2))
    wrapped = json.dumps({"data": [minimal(3)], "next": None})

    first = admin_client.post(URL, pretty, content_type="application/x-ndjson")
    second = admin_client.post(URL, wrapped, content_type="application/json")
    third = admin_client.post(URL, json.dumps([minimal(4)]), content_type="text/plain")

    assert [(r.status_code, r.json()["created"]) for r in (first, second, third)] == [
        (200, 2),
        (200, 1),
        (200, 1),
    ]


def test_unsupported_media_type_is_refused(admin_client):
    response = admin_client.post(URL, "external_id,channel\n", content_type="text/csv")

    assert response.status_code == 415
    assert Call.objects.count() == 0


def test_session_login_needs_the_csrf_token(admin_user):
    client = APIClient(enforce_csrf_checks=True)
    client.force_login(admin_user)

    refused = client.post(URL, ndjson(minimal(1)), content_type="application/x-ndjson")

    secret = _get_new_csrf_string()
    client.cookies["csrftoken"] = secret
    accepted = client.post(
        URL,
        ndjson(minimal(1)),
        content_type="application/x-ndjson",
        HTTP_X_CSRFTOKEN=_mask_cipher_secret(secret),
    )

    assert refused.status_code == 403
    assert "CSRF" in refused.json()["detail"]
    assert (accepted.status_code, accepted.json()["created"]) == (200, 1)


# --- in the background: ?async=1, Prefer: respond-async, multipart files -----------------------------------


def test_files_uploaded_as_multipart_are_queued_and_followed_to_their_outcome(
    admin_client, eager_celery, django_capture_on_commit_callbacks
):
    from django.core.files.uploadedfile import SimpleUploadedFile

    calls_csv = (
        "external_id,channel,started_at,ended_at\n"
        "M-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
        "M-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
    )
    transfers_csv = "call_external_id,at,to_department\nM-1,2026-11-02T10:01:00Z,Sales\n"
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            URL,
            {
                "calls": SimpleUploadedFile("calls.csv", calls_csv.encode()),
                "transfers": SimpleUploadedFile("transfers.csv", transfers_csv.encode()),
                "partial": "true",
            },
            format="multipart",
        )

    assert response.status_code == 202
    body = response.json()
    assert body["status"] == "queued"
    assert response["Location"] == body["url"] == f"http://testserver/api/calls/imports/{body['id']}"
    outcome = admin_client.get(f"/api/calls/imports/{body['id']}").json()
    assert {key: outcome[key] for key in ("status", "ok", "created", "rejected", "error_count", "files")} == {
        "status": "done",
        "ok": False,
        "created": 1,
        "rejected": 1,
        "error_count": 1,
        "files": ["calls.csv", "transfers.csv"],
    }
    assert outcome["errors"] == [
        {
            "file": "calls.csv",
            "line": 3,
            "field": "channel",
            "reason": "unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        }
    ]
    assert Transfer.objects.get().call.external_id == "M-1"


@pytest.mark.parametrize("ask", [{"QUERY_STRING": "async=1"}, {"HTTP_PREFER": "respond-async, wait=5"}])
def test_a_body_can_be_queued_instead_of_imported_in_the_request(
    admin_client, eager_celery, django_capture_on_commit_callbacks, ask
):
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.generic(
            "POST", URL, ndjson(minimal(1), minimal(2)), content_type="application/x-ndjson", **ask
        )

    assert response.status_code == 202
    outcome = admin_client.get(response["Location"]).json()
    assert (outcome["status"], outcome["ok"], outcome["created"], outcome["files"]) == (
        "done",
        True,
        2,
        ["body.jsonl"],
    )
    assert Call.objects.count() == 2


def test_a_queued_import_reports_progress_until_it_is_done(admin_client, admin_user):
    from django.core.cache import cache

    from calls import services

    queued = services.call_import_create(
        user=admin_user, uploads=[services.Upload("c.jsonl", ndjson(minimal(1)).encode())], partial=False
    )
    waiting = admin_client.get(f"/api/calls/imports/{queued.pk}").json()
    cache.set(f"calls:import:{queued.pk}:progress", (10, 40))
    running = admin_client.get(f"/api/calls/imports/{queued.pk}").json()
    cache.delete(f"calls:import:{queued.pk}:progress")

    assert (waiting["status"], waiting["progress"], waiting["ok"]) == ("queued", None, None)
    assert running["progress"] == {"done_bytes": 10, "total_bytes": 40}


def test_multipart_without_a_file_and_an_unknown_time_zone_are_refused(admin_client):
    empty = admin_client.post(URL, {"partial": "true"}, format="multipart")
    zone = admin_client.post(
        URL + "?timezone=Mars/Olympus", ndjson(minimal(1)), content_type="application/x-ndjson"
    )

    assert (empty.status_code, empty.json()["detail"]) == (
        400,
        "No file in the upload: send each file as a multipart/form-data file part.",
    )
    assert (zone.status_code, zone.json()["errors"]) == (
        400,
        [
            {
                "line": 0,
                "field": "timezone",
                "reason": "unknown time zone 'Mars/Olympus' (an IANA name such as Europe/Paris, or an offset such as +01:00)",
            }
        ],
    )
    assert not Call.objects.exists()


def test_an_import_status_is_only_for_importers_and_their_own_imports(admin_user, db):
    from calls import services

    theirs = services.call_import_create(
        user=admin_user, uploads=[services.Upload("c.jsonl", ndjson(minimal(1)).encode())], partial=False
    )
    reviewer = UserFactory(username="not-importer", roles=["reviewer"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.create(user=reviewer).key}")
    assert client.get(f"/api/calls/imports/{theirs.pk}").status_code == 403

    from django.contrib.auth.models import Permission

    reviewer.user_permissions.add(
        Permission.objects.get(codename="import_calls", content_type__app_label="calls")
    )
    allowed = APIClient()
    allowed.credentials(HTTP_AUTHORIZATION=f"Token {Token.objects.get(user=reviewer).key}")
    assert allowed.get(f"/api/calls/imports/{theirs.pk}").status_code == 404
    assert APIClient().get(f"/api/calls/imports/{theirs.pk}").status_code == 401


@pytest.mark.parametrize("encoding", ["base64", "rot13", "zlib", "hex"])
def test_a_codec_that_is_not_a_text_encoding_is_refused_naming_the_parameter(admin_client, encoding):
    body = ndjson(minimal(1))
    response = admin_client.post(f"{URL}?encoding={encoding}", body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert [(e["line"], e["field"]) for e in response.json()["errors"]] == [(0, "encoding")]
    assert not Call.objects.exists()


@pytest.mark.parametrize("encoding", ["utf-16", "idna"])
def test_a_body_not_readable_in_the_named_encoding_is_a_400_not_a_500(admin_client, encoding):
    body = (
        json.dumps(minimal(1, agent={"employee_code": "A-1", "name": "Zoë"}), ensure_ascii=False) + "\n"
    ).encode()
    response = admin_client.post(f"{URL}?encoding={encoding}", body, content_type="application/x-ndjson")
    assert response.status_code == 400
    assert response.json()["ok"] is False
    assert not Call.objects.exists()


def test_an_unreadable_partial_option_is_400_not_all_or_nothing(admin_client):
    response = admin_client.post(
        URL + "?partial=maybe", ndjson(minimal(1)), content_type="application/x-ndjson"
    )

    assert response.status_code == 400
    assert response.json() == {
        "ok": False,
        "errors": [
            {
                "line": 0,
                "field": "partial",
                "reason": "expected 1/0, true/false, yes/no or on/off, got 'maybe'",
            }
        ],
    }
    assert Call.objects.count() == 0
    assert (
        admin_client.post(
            URL + "?partial=off", ndjson(minimal(1)), content_type="application/x-ndjson"
        ).json()["created"]
        == 1
    )


# --- found by the API contract test (tests/qa_center/test_api_contract.py) ------------------------------


def test_call_times_outside_the_years_1900_to_9998_are_row_errors_not_a_server_error(admin_client):
    # 00:30 at +01:00 on 1 January of year 1 is 23:30 UTC on 31 December of year 0, and 22:00 at -05:00 on
    # 31 December 9999 is 03:00 UTC in year 10000: no datetime holds them (the import answered 500). A call
    # in year 1 or 9999 broke the day rollups' date arithmetic (500 too).
    times = [
        ("0001-01-01T00:30:00+01:00", "0001-01-01T00:40:00+01:00"),
        ("9999-12-31T21:00:00-05:00", "9999-12-31T22:00:00-05:00"),
        ("1899-12-31T23:59:59Z", "1900-01-01T00:05:00Z"),
        ("9998-12-31T23:55:00Z", "9999-01-01T00:00:00Z"),
    ]
    records = [minimal(n, started_at=start, ended_at=end) for n, (start, end) in enumerate(times, start=1)]

    refused = admin_client.post(URL, ndjson(*records), content_type="application/x-ndjson")
    earliest = admin_client.post(
        URL, ndjson(minimal(5, started_at="1900-01-01T00:00:00Z")), content_type="application/x-ndjson"
    )
    latest = admin_client.post(
        URL,
        ndjson(minimal(6, started_at="9998-12-31T23:50:00Z", ended_at="9998-12-31T23:59:59Z")),
        content_type="application/x-ndjson",
    )

    assert refused.status_code == 400
    reason = "out of range: {!r} is not in the years 1900 to 9998 (UTC)"
    assert refused.json()["errors"] == [
        {"line": 1, "field": "started_at", "reason": reason.format("0001-01-01T00:30:00+01:00")},
        {"line": 1, "field": "ended_at", "reason": reason.format("0001-01-01T00:40:00+01:00")},
        {"line": 2, "field": "started_at", "reason": reason.format("9999-12-31T21:00:00-05:00")},
        {"line": 2, "field": "ended_at", "reason": reason.format("9999-12-31T22:00:00-05:00")},
        {"line": 3, "field": "started_at", "reason": reason.format("1899-12-31T23:59:59Z")},
        {"line": 4, "field": "ended_at", "reason": reason.format("9999-01-01T00:00:00Z")},
    ]
    assert [(r.status_code, r.json()["created"]) for r in (earliest, latest)] == [(200, 1), (200, 1)]
    assert list(Call.objects.order_by("started_at").values_list("external_id", "started_at")) == [
        ("C-5", datetime(1900, 1, 1, tzinfo=UTC)),
        ("C-6", datetime(9998, 12, 31, 23, 50, tzinfo=UTC)),
    ]


def test_an_encoding_name_with_a_nul_character_is_refused_as_unknown(admin_client):
    response = admin_client.post(
        f"{URL}?encoding=%00", ndjson(minimal(1)), content_type="application/x-ndjson"
    )

    assert (response.status_code, response.json()) == (
        400,
        {"ok": False, "errors": [{"line": 0, "field": "encoding", "reason": "unknown encoding '\\x00'"}]},
    )
    assert not Call.objects.exists()


def _validator(document: dict, component: str) -> OAS30Validator:
    return OAS30Validator(
        {"allOf": [{"$ref": f"#/components/schemas/{component}"}], "components": document["components"]}
    )


def test_the_schema_tells_each_400_answer_apart(admin_client):
    document = admin_client.get("/api/schema/", {"format": "json"}).json()
    bad_request = document["paths"][URL]["post"]["responses"]["400"]["content"]["application/json"]["schema"]
    refused_rows = admin_client.post(
        URL, ndjson(minimal(1, channel="fax")), content_type="application/x-ndjson"
    )
    refused_option = admin_client.post(
        f"{URL}?encoding=klingon", ndjson(minimal(1)), content_type="application/x-ndjson"
    )
    refused_body = admin_client.post(URL, b"", content_type="application/x-ndjson")
    alternatives = document["components"]["schemas"]["CallImportBadRequest"]["oneOf"]

    assert bad_request == {"$ref": "#/components/schemas/CallImportBadRequest"}
    assert [r.status_code for r in (refused_rows, refused_option, refused_body)] == [400, 400, 400]
    # oneOf: each answer must match exactly one alternative (a summary matched two, so it was invalid).
    for response, matching in ((refused_rows, 0), (refused_option, 0), (refused_body, 1)):
        matches = [
            index
            for index, alternative in enumerate(alternatives)
            if _validator(document, alternative["$ref"].rsplit("/", 1)[1]).is_valid(response.json())
        ]
        assert matches == [matching]


def test_the_schema_describes_the_bodies_the_import_reads(admin_client):
    document = admin_client.get("/api/schema/", {"format": "json"}).json()
    content = document["paths"][URL]["post"]["requestBody"]["content"]
    record = content["application/json"]["schema"]["items"]
    record_validator = OAS30Validator({**record, "components": document["components"]})

    assert sorted(content) == [
        "application/json",
        "application/x-ndjson",
        "multipart/form-data",
        "text/plain",
    ]
    assert content["application/x-ndjson"]["schema"]["type"] == "string"
    assert record["required"] == ["external_id", "channel", "started_at", "ended_at"]
    assert record_validator.is_valid(minimal(1, agent={"employee_code": "A-1"}, resolved=True))
    assert not record_validator.is_valid(minimal(1, colour="red"))  # the importer refuses unknown fields
    assert not record_validator.is_valid({"external_id": "C-1", "channel": "phone"})
    # The JSON Lines example imports as it stands.
    example = content["application/x-ndjson"]["schema"]["example"]
    imported = admin_client.post(URL, example, content_type="application/x-ndjson")
    assert (imported.status_code, imported.json()["created"]) == (200, 1)
    unknown = admin_client.post(URL, json.dumps([minimal(2, colour="red")]), content_type="application/json")
    assert unknown.json()["errors"] == [{"line": 1, "field": "colour", "reason": "unknown field"}]
