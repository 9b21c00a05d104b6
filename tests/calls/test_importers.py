"""The call importer (calls.importers) on PostgreSQL, plus its SQLite fallback in a subprocess."""

from __future__ import annotations

import copy
import csv
import gzip
import io
import json
import os
import re
import subprocess
import sys
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.db import connection
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from calls.importers import ImportResult, ImportSetupError, RowError, import_files, import_records
from calls.importers.parsing import localize
from calls.models import Agent, Call, Customer, Department, Escalation, Team, Transfer
from tests.embedded_sqlite import copy_template
from tests.factories import AgentFactory, CallFactory, CustomerFactory, TeamFactory

DATA = Path(__file__).parent / "data"

EXAMPLE = {
    "external_id": "C-1001",
    "channel": "phone",
    "direction": "inbound",
    "started_at": "2026-11-02T09:15:00+01:00",
    "answered_at": "2026-11-02T09:15:35+01:00",
    "ended_at": "2026-11-02T09:21:10+01:00",
    "wait_seconds": 35,
    "talk_seconds": 310,
    "hold_seconds": 20,
    "department": "Billing",
    "agent": {"employee_code": "A-017", "name": "Ana Lopez", "team": "Billing East"},
    "customer": {"external_id": "CU-88", "name": "Sam Reed", "phone": "+15551234567", "tier": "gold"},
    "disposition": "resolved",
    "resolved": True,
    "transcript": "Agent: Thank you for calling ...\nCustomer: ...",
    "recording_url": None,
    "transfers": [
        {
            "sequence": 1,
            "at": "2026-11-02T09:18:00+01:00",
            "from_department": "Billing",
            "to_department": "Tech Support",
            "from_agent": "A-017",
            "to_agent": "A-044",
            "reason": "technical issue",
        }
    ],
    "escalations": [
        {
            "at": "2026-11-02T09:20:00+01:00",
            "level": "supervisor",
            "reason": "refund over limit",
            "outcome": "approved",
            "resolved_at": "2026-11-02T09:40:00+01:00",
        }
    ],
}


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


def minimal(number: int, **fields) -> dict:
    record = {
        "external_id": f"C-{number}",
        "channel": "phone",
        "started_at": "2026-11-02T10:00:00Z",
        "ended_at": "2026-11-02T10:05:00Z",
    }
    record.update(fields)
    return record


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(record) + "\n" for record in records), encoding="utf-8")
    return path


def table_counts() -> dict[str, int]:
    return {
        model.__name__: model.objects.count()
        for model in (Call, Transfer, Escalation, Agent, Customer, Department, Team)
    }


EMPTY = {"Call": 0, "Transfer": 0, "Escalation": 0, "Agent": 0, "Customer": 0, "Department": 0, "Team": 0}


# --- the happy path -----------------------------------------------------------------------------------------


def test_example_record_is_stored_with_its_transfer_escalation_and_new_dimensions(db, tmp_path):
    result = import_files([write_jsonl(tmp_path / "calls.jsonl", [EXAMPLE])])

    assert (result.created, result.updated, result.unchanged, result.rejected, result.errors) == (
        1,
        0,
        0,
        0,
        [],
    )
    assert result.ok
    call = Call.objects.select_related("agent__team__department", "customer", "department").get()
    assert call.external_id == "C-1001"
    assert (call.channel, call.direction) == ("phone", "inbound")
    assert call.started_at == utc(2026, 11, 2, 8, 15, 0)
    assert call.answered_at == utc(2026, 11, 2, 8, 15, 35)
    assert call.ended_at == utc(2026, 11, 2, 8, 21, 10)
    assert (call.wait_seconds, call.talk_seconds, call.hold_seconds, call.wrap_seconds) == (35, 310, 20, 0)
    assert (call.disposition, call.is_resolved, call.recording_url) == ("resolved", True, "")
    assert call.transcript == "Agent: Thank you for calling ...\nCustomer: ..."
    assert call.department.name == "Billing"
    assert (call.agent.employee_code, call.agent.name, call.agent.team.name) == (
        "A-017",
        "Ana Lopez",
        "Billing East",
    )
    # A team first seen with an agent gets the call's department.
    assert call.agent.team.department.name == "Billing"
    assert (call.customer.external_id, call.customer.name, call.customer.phone, call.customer.tier) == (
        "CU-88",
        "Sam Reed",
        "+15551234567",
        "gold",
    )
    assert len(call.content_hash) == 64

    transfer = Transfer.objects.select_related(
        "from_department", "to_department", "from_agent", "to_agent"
    ).get()
    assert (transfer.call_id, transfer.sequence, transfer.at) == (call.pk, 1, utc(2026, 11, 2, 8, 18))
    assert (transfer.from_department.name, transfer.to_department.name) == ("Billing", "Tech Support")
    assert (transfer.from_agent.employee_code, transfer.to_agent.employee_code, transfer.reason) == (
        "A-017",
        "A-044",
        "technical issue",
    )
    # An agent seen only as a transfer target is created bare.
    assert (transfer.to_agent.name, transfer.to_agent.team_id) == ("", None)

    escalation = Escalation.objects.get()
    assert (
        escalation.call_id,
        escalation.sequence,
        escalation.level,
        escalation.reason,
        escalation.outcome,
    ) == (
        call.pk,
        1,
        "supervisor",
        "refund over limit",
        "approved",
    )
    assert (escalation.raised_at, escalation.resolved_at) == (
        utc(2026, 11, 2, 8, 20),
        utc(2026, 11, 2, 8, 40),
    )
    assert table_counts() == {
        **EMPTY,
        "Call": 1,
        "Transfer": 1,
        "Escalation": 1,
        "Agent": 2,
        "Customer": 1,
        "Department": 2,
        "Team": 1,
    }


def test_abandoned_anonymous_call_without_agent_or_answer_is_accepted(db):
    record = minimal(
        7,
        channel="In-Person",
        direction="OUTBOUND",
        customer=None,
        agent=None,
        answered_at=None,
        disposition="abandoned",
    )
    result = import_records([record])

    assert (result.created, result.errors) == (1, [])
    call = Call.objects.get()
    assert (call.channel, call.direction, call.agent_id, call.customer_id, call.answered_at) == (
        "in_person",
        "outbound",
        None,
        None,
        None,
    )
    assert (call.disposition, call.is_resolved, call.department_id) == ("abandoned", False, None)


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("phone", "phone"),
        ("PHONE", "phone"),
        ("in person", "in_person"),
        ("In-Person", "in_person"),
        ("E-mail", "email"),
    ],
)
def test_channel_spellings_are_normalised(db, written, stored):
    result = import_records([minimal(1, channel=written)])

    assert result.errors == []
    assert Call.objects.get().channel == stored


@pytest.mark.parametrize(
    ("written", "stored"),
    [
        ("Tier 2", "tier2"),
        ("tier_2", "tier2"),
        ("Supervisor", "supervisor"),
        ("formal complaint", "complaint"),
        ("Formal-Complaint", "complaint"),
        ("complaint", "complaint"),
        ("OTHER", "other"),
    ],
)
def test_escalation_level_spellings_are_normalised(db, written, stored):
    record = minimal(1, escalations=[{"at": "2026-11-02T10:01:00Z", "level": written}])

    result = import_records([record])

    assert result.errors == []
    assert Escalation.objects.get().level == stored


def test_wrap_seconds_and_customer_email_are_accepted(db):
    record = minimal(2, wrap_seconds=45, customer={"external_id": "CU-1", "email": "ann@example.com"})
    result = import_records([record])

    assert result.errors == []
    assert Call.objects.get().wrap_seconds == 45
    customer = Customer.objects.get()
    assert (customer.email, customer.tier, customer.name) == ("ann@example.com", "standard", "")


def test_import_records_takes_numbered_pairs_and_reports_their_numbers(db):
    result = import_records([(10, minimal(1)), (20, minimal(2, channel="fax"))])

    assert [str(error) for error in result.errors] == [
        "line 20: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    assert result.errors[0] == RowError(
        line=20,
        field="channel",
        reason="unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        source="records",
    )
    assert Call.objects.count() == 0


def _planner_rows(table: str) -> float:
    with connection.cursor() as cursor:
        cursor.execute("SELECT reltuples FROM pg_class WHERE oid = %s::regclass", [table])
        return cursor.fetchone()[0]


@pytest.mark.parametrize(("threshold", "analyzed"), [(5, True), (6, False)])
def test_a_big_import_refreshes_the_planner_statistics_of_the_call_tables_before_it_commits(
    db, settings, threshold, analyzed
):
    from django.test.utils import CaptureQueriesContext

    settings.CALLS_IMPORT_ANALYZE_MIN_ROWS = threshold
    transfer = {"at": "2026-11-02T10:01:00Z", "to_agent": "A-9"}
    records = [minimal(n, transfers=[transfer] if n % 2 else []) for n in range(5)]

    with CaptureQueriesContext(connection) as captured:
        import_records(records)

    statements = [q["sql"] for q in captured.captured_queries if q["sql"].startswith("ANALYZE")]
    if analyzed:
        assert statements == [
            "ANALYZE calls_call, calls_transfer, calls_escalation, calls_customer, calls_agent, "
            "calls_agentdaycallstats"
        ]
        # ANALYZE sets pg_class.reltuples to the rows it saw, the import's own included.
        assert (_planner_rows("calls_call"), _planner_rows("calls_transfer")) == (5.0, 2.0)
    else:
        assert statements == []


# --- gzipped files -------------------------------------------------------------------------------------------


def test_a_gzipped_json_lines_file_imports_like_the_plain_one_with_progress_in_compressed_bytes(
    db, tmp_path, monkeypatch
):
    from calls.importers.postgres import PipelinedPostgresStage

    monkeypatch.setattr(PipelinedPostgresStage, "CHUNK_ROWS", 50)  # several chunks
    records = [
        minimal(
            n,
            transcript="Agent: hello " * 40,
            transfers=[{"at": "2026-11-02T10:01:00Z", "to_agent": f"A-{n % 7}"}],
        )
        for n in range(300)
    ]
    plain = write_jsonl(tmp_path / "calls.jsonl", records)
    packed = tmp_path / "export.jsonl.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    seen: list[tuple[int, int | None]] = []

    result = import_files([packed], progress=lambda done, total: seen.append((done, total)))

    assert (result.created, result.rejected) == (300, 0)
    assert Transfer.objects.count() == 300
    size = packed.stat().st_size
    assert size < plain.stat().st_size // 10
    assert seen[-1] == (size, size)
    assert all(total == size and done <= size for done, total in seen)
    # The same calls, plain: nothing changes.
    again = import_files([plain])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 300)


def test_a_gzipped_csv_with_bad_rows_gets_a_plain_rejects_file(db, tmp_path):
    text = (
        "external_id,channel,started_at,ended_at\n"
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
        "C-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
    )
    packed = tmp_path / "calls.csv.gz"
    packed.write_bytes(gzip.compress(text.encode()))

    result = import_files([packed], partial=True)

    assert (result.created, result.rejected) == (1, 1)
    assert result.rejects_paths == [tmp_path / "calls.rejects.csv"]
    assert read_csv(tmp_path / "calls.rejects.csv") == [
        ["external_id", "channel", "started_at", "ended_at", "errors"],
        [
            "C-2",
            "fax",
            "2026-11-02T10:00:00Z",
            "2026-11-02T10:05:00Z",
            "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        ],
    ]


def test_a_truncated_gzip_file_is_refused_whole_naming_where_it_broke_off(db, tmp_path):
    plain = "".join(json.dumps(minimal(n, transcript=f"line {n} " * 30)) + "\n" for n in range(400)).encode()
    packed = gzip.compress(plain)
    broken = tmp_path / "calls.jsonl.gz"
    broken.write_bytes(packed[: len(packed) * 2 // 3])

    result = import_files([broken], partial=True)

    assert not result.written
    assert len(result.errors) == 1
    error = result.errors[0]
    assert (error.field, error.reason) == (
        "file",
        "damaged or truncated gzip data (Compressed file ended before the end-of-stream marker was reached)",
    )
    # Every complete line before the break was read; the error is on the next one.
    readable = gzip.GzipFile(fileobj=io.BytesIO(broken.read_bytes()))
    complete_lines = 0
    try:
        for _ in readable:
            complete_lines += 1
    except EOFError:
        pass
    assert 0 < complete_lines < 400
    assert error.line == complete_lines + 1
    assert table_counts() == EMPTY


def test_a_file_that_only_looks_gzipped_is_refused_before_anything_is_read(db, tmp_path):
    fake = tmp_path / "calls.jsonl.gz"
    fake.write_bytes(b"\x1f\x8b" + b"not really gzip")

    with pytest.raises(ImportSetupError, match=r"calls.jsonl.gz: not a readable gzip file"):
        import_files([fake])


def test_a_utf16_tab_separated_text_file_as_excel_saves_it_imports_with_a_utf8_rejects_file(db, tmp_path):
    rows = [
        "External ID\tChannel\tStarted At\tEnded At\tAgent Name\tAgent Employee Code\tTranscript",
        'C-1\tphone\t2026-11-02T10:00:00Z\t2026-11-02T10:05:00Z\tJosé Ñúñez\tA-1\t"Agent: ¡Hola! 😀\r\nCustomer: 谢谢"',
        "C-2\tfax\t2026-11-02T10:00:00Z\t2026-11-02T10:05:00Z\tJosé Ñúñez\tA-1\t",
    ]
    exported = tmp_path / "calls.txt"  # Excel's "Unicode Text": UTF-16 LE with a byte-order mark, CRLF
    exported.write_bytes("\r\n".join(rows).encode("utf-16"))

    result = import_files([exported], partial=True)

    assert result.error_lines() == [
        "line 4: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    call = Call.objects.get()
    assert (call.external_id, call.agent.name, call.transcript) == (
        "C-1",
        "José Ñúñez",
        "Agent: ¡Hola! 😀\nCustomer: 谢谢",
    )
    assert (tmp_path / "calls.rejects.txt").read_bytes().decode("utf-8").splitlines() == [
        "External ID\tChannel\tStarted At\tEnded At\tAgent Name\tAgent Employee Code\tTranscript\terrors",
        "C-2\tfax\t2026-11-02T10:00:00Z\t2026-11-02T10:05:00Z\tJosé Ñúñez\tA-1\t\t"
        "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
    ]


def test_a_gzipped_utf16_big_endian_json_lines_file_imports_like_its_utf8_original(db, tmp_path):
    records = [minimal(n, transcript=f"Agent: Grüß Gott {n} " * 30) for n in range(300)]
    plain = write_jsonl(tmp_path / "calls.jsonl", records)
    packed = tmp_path / "export.jsonl.gz"
    packed.write_bytes(gzip.compress(b"\xfe\xff" + plain.read_text(encoding="utf-8").encode("utf-16-be")))
    seen: list[tuple[int, int | None]] = []

    result = import_files([packed], progress=lambda done, total: seen.append((done, total)))

    assert (result.created, result.rejected) == (300, 0)
    assert Call.objects.get(external_id="C-7").transcript == "Agent: Grüß Gott 7 " * 30
    size = packed.stat().st_size
    assert seen[-1] == (size, size)
    again = import_files([plain])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 300)


def test_broken_utf16_refuses_the_whole_import(db, tmp_path):
    good = "".join(json.dumps(minimal(n)) + "\n" for n in range(3)).encode("utf-16-le")
    broken = tmp_path / "calls.jsonl"
    broken.write_bytes(b"\xff\xfe" + good + "\ud800".encode("utf-16-le", "surrogatepass") + b"x\x00\n\x00")

    result = import_files([broken], partial=True)

    assert not result.written
    assert [(error.line, error.field, error.reason) for error in result.errors] == [
        (4, "file", "not valid UTF-16 (bytes 00 d8 at column 1: illegal UTF-16 surrogate)")
    ]
    assert table_counts() == EMPTY


EXCEL_CP1252_ROWS = [
    "external_id;channel;started_at;ended_at;agent_employee_code;agent_name;transcript",
    'C-1;phone;2026-11-02T10:00:00Z;2026-11-02T10:05:00Z;A-1;Zoë Ärger;"Agent: Grüß Gott – 5 € off"',
    "C-2;fax;2026-11-02T10:00:00Z;2026-11-02T10:05:00Z;A-1;Zoë Ärger;",
]


def test_a_windows_1252_csv_as_excel_saves_it_imports_with_its_encoding_named(db, tmp_path):
    exported = tmp_path / "calls.csv"  # Excel's plain "CSV" on Windows: the ANSI code page, CRLF, semicolons
    exported.write_bytes("\r\n".join(EXCEL_CP1252_ROWS).encode("cp1252"))

    as_utf8 = import_files([exported], partial=True)
    assert (as_utf8.created, as_utf8.error_lines()) == (
        0,
        [
            "line 2: record: not valid UTF-8 (byte 0xeb at column 59); if the file is in another encoding, name it (e.g. cp1252)",
            "line 3: record: not valid UTF-8 (byte 0xeb at column 57); if the file is in another encoding, name it (e.g. cp1252)",
        ],
    )

    result = import_files([exported], partial=True, encoding="Windows-1252")

    assert result.error_lines() == [
        "line 3: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    call = Call.objects.get()
    assert (call.agent.name, call.transcript) == ("Zoë Ärger", "Agent: Grüß Gott – 5 € off")
    # The rejects file is UTF-8, as every rejects file: fixed and imported again without --encoding.
    assert (tmp_path / "calls.rejects.csv").read_bytes().decode("utf-8").splitlines() == [
        f"{EXCEL_CP1252_ROWS[0]};errors",
        f"{EXCEL_CP1252_ROWS[2]};channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
    ]


def test_a_byte_order_mark_overrides_the_encoding_named(db, tmp_path):
    utf8 = tmp_path / "utf8.csv"
    utf8.write_bytes(b"\xef\xbb\xbf" + "\n".join(EXCEL_CP1252_ROWS[:2]).encode())
    utf16 = tmp_path / "utf16.jsonl"
    utf16.write_bytes(
        (json.dumps(minimal(2, agent={"employee_code": "A-2", "name": "Åsa"})) + "\n").encode("utf-16")
    )

    result = import_files([utf8, utf16], encoding="cp1252")

    assert (result.created, result.errors) == (2, [])
    assert sorted(Agent.objects.values_list("name", flat=True)) == ["Zoë Ärger", "Åsa"]


def test_a_byte_the_named_encoding_lacks_refuses_the_import_naming_its_line(db, tmp_path):
    # Far enough in that it is read in a later chunk than the first.
    records = [minimal(n, transcript="Agent: thanks " * 40) for n in range(1, 301)]
    text = "".join(json.dumps(record, ensure_ascii=False) + "\n" for record in records)
    data = text.encode("cp1252")
    spot = data.index(b'"C-250"')
    broken = tmp_path / "calls.jsonl"
    broken.write_bytes(data[:spot] + b'"C-\x81"' + data[spot + 7 :])

    result = import_files([broken], partial=True, encoding="cp1252")

    assert spot > 1 << 16
    assert not result.written
    assert result.error_lines() == [
        "line 250: file: not valid cp1252 (bytes 81 at column 20: character maps to <undefined>)"
    ]
    assert table_counts() == EMPTY


def test_an_unknown_encoding_is_refused_before_anything_is_read(db, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [minimal(1)])

    with pytest.raises(ImportSetupError, match="unknown encoding 'klingon'"):
        import_files([path], encoding="klingon")
    assert import_files([path], encoding="UTF8").created == 1  # UTF-8 by any name is the default


def test_pretty_printed_objects_one_after_another_are_read_as_records_by_position(db, tmp_path):
    records = [
        minimal(n, transfers=[{"at": "2026-11-02T10:01:00Z", "to_department": "Sales"}]) for n in (1, 2, 3)
    ]
    records[1]["channel"] = "fax"
    path = tmp_path / "calls.jsonl"  # `jq '.[]' export.json > calls.jsonl`: no -c, so each object spans lines
    path.write_text("".join(json.dumps(record, indent=2) + "\n" for record in records))

    result = import_files([path], partial=True)

    assert result.error_lines() == [
        "line 2: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-3"]
    assert Transfer.objects.count() == 2
    rejected = [json.loads(line) for line in (tmp_path / "calls.rejects.jsonl").read_text().splitlines()]
    assert [(row["line"], row["record"]["external_id"]) for row in rejected] == [(2, "C-2")]


@pytest.mark.parametrize(
    "document",
    [
        {"calls": [minimal(1), minimal(2)]},
        {"count": 2, "meta": {"page": 1, "tags": ["x"]}, "data": [minimal(1), minimal(2)], "next": None},
    ],
    ids=["wrapped", "with-metadata"],
)
@pytest.mark.parametrize("indent", [None, 2], ids=["minified", "pretty"])
def test_an_object_holding_the_records_in_an_array_is_read_as_that_array(db, tmp_path, document, indent):
    path = tmp_path / "export.json"  # what APIs return
    path.write_text(json.dumps(document, indent=indent))

    result = import_files([path])

    assert (result.created, result.errors) == (2, [])
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2"]


def test_json_lines_whose_records_start_with_an_unknown_list_stay_json_lines(db, tmp_path):
    first = {"notes": [{"by": "QA"}], **minimal(1)}  # an unknown field first, holding a list of objects
    path = tmp_path / "calls.jsonl"
    path.write_text(json.dumps(first) + "\n" + json.dumps({"tags": ["x"], **minimal(2)}) + "\n")

    result = import_files([path], partial=True)

    assert result.error_lines() == ["line 1: notes: unknown field", "line 2: tags: unknown field"]


def test_json_lines_with_a_broken_first_line_stay_json_lines_with_one_row_error(db, tmp_path):
    path = tmp_path / "calls.jsonl"
    path.write_text('{"external_id": "C-1", "channel": "phone",\n' + json.dumps(minimal(2)) + "\n")

    result = import_files([path], partial=True)

    assert [(error.line, error.field) for error in result.errors] == [(1, "record")]
    assert list(Call.objects.values_list("external_id", flat=True)) == ["C-2"]


def test_a_json_array_file_is_read_item_by_item_with_positions_progress_and_rejects(db, tmp_path):
    records = [minimal(n, transcript="Agent: hello. " * 200) for n in range(1, 801)]
    records[499]["channel"] = "fax"
    path = tmp_path / "export.json"
    # Pretty-printed, with a byte-order mark: what a "save as JSON" gives.
    path.write_bytes(b"\xef\xbb\xbf" + json.dumps(records, indent=2).encode())
    seen: list[tuple[int, int | None]] = []

    result = import_files([path], partial=True, progress=lambda done, total: seen.append((done, total)))

    assert (result.created, result.rejected) == (799, 1)
    assert [(e.line, e.field) for e in result.errors] == [(500, "channel")]
    size = path.stat().st_size
    assert size > 2 * 2**20 and seen[-1] == (size, size)
    (line,) = (tmp_path / "export.rejects.json").read_text().splitlines()
    assert json.loads(line)["line"] == 500 and json.loads(line)["record"] == records[499]


def test_a_broken_json_array_is_refused_at_the_item_where_it_broke(db, tmp_path):
    text = json.dumps([minimal(n) for n in range(1, 6)])
    path = tmp_path / "calls.json"
    path.write_text(text[: text.index('"C-4"') + 3])  # cut inside the fourth item

    result = import_files([path], partial=True)

    assert not result.written
    assert [(e.line, e.field, e.reason) for e in result.errors] == [
        (4, "record", "invalid JSON (parse error: premature EOF)")
    ]
    assert table_counts() == EMPTY


def test_progress_is_reported_for_records(db):
    seen = []
    import_records((minimal(n) for n in range(2500)), progress=lambda done, total: seen.append((done, total)))

    assert seen == [(1000, None), (2000, None), (2500, None)]
    assert Call.objects.count() == 2500


# --- idempotency and updates ----------------------------------------------------------------------------------


def test_reimporting_the_same_file_changes_nothing(db, tmp_path):
    path = write_jsonl(
        tmp_path / "calls.jsonl", [EXAMPLE, minimal(2), minimal(3, agent={"employee_code": "A-1"})]
    )
    first = import_files([path])
    before = {c.external_id: (c.pk, c.updated_at, c.content_hash) for c in Call.objects.all()}
    transfer_ids = list(Transfer.objects.values_list("pk", flat=True))
    counts = table_counts()

    second = import_files([path])

    assert (first.created, first.updated, first.unchanged) == (3, 0, 0)
    assert (second.created, second.updated, second.unchanged, second.rejected) == (0, 0, 3, 0)
    assert {c.external_id: (c.pk, c.updated_at, c.content_hash) for c in Call.objects.all()} == before
    assert list(Transfer.objects.values_list("pk", flat=True)) == transfer_ids
    assert table_counts() == counts
    assert (second.affected_started_from, second.affected_started_to, second.affected_agent_ids) == (
        None,
        None,
        [],
    )


def test_changed_row_updates_its_call_and_replaces_transfers_and_escalations_as_a_whole(db):
    import_records([EXAMPLE, minimal(2)])
    call = Call.objects.get(external_id="C-1001")
    created_at, updated_at = call.created_at, call.updated_at
    changed = copy.deepcopy(EXAMPLE)
    changed["talk_seconds"] = 300
    changed["transfers"] = [
        {"sequence": 1, "at": "2026-11-02T09:17:00+01:00", "to_department": "Sales", "reason": "upsell"},
        {"sequence": 2, "at": "2026-11-02T09:19:00+01:00", "to_department": "Claims"},
    ]
    changed["escalations"] = []

    result = import_records([changed, minimal(2)])

    assert (result.created, result.updated, result.unchanged) == (0, 1, 1)
    call.refresh_from_db()
    assert call.talk_seconds == 300
    assert call.created_at == created_at
    assert call.updated_at > updated_at
    assert list(
        call.transfers.order_by("sequence").values_list("sequence", "to_department__name", "reason", "at")
    ) == [
        (1, "Sales", "upsell", utc(2026, 11, 2, 8, 17)),
        (2, "Claims", "", utc(2026, 11, 2, 8, 19)),
    ]
    assert Transfer.objects.count() == 2
    assert Escalation.objects.count() == 0


def test_only_a_changed_transfer_still_counts_as_an_update(db):
    import_records([EXAMPLE])
    changed = copy.deepcopy(EXAMPLE)
    changed["transfers"][0]["reason"] = "wrong queue"

    result = import_records([changed])

    assert (result.created, result.updated, result.unchanged) == (0, 1, 0)
    assert Transfer.objects.get().reason == "wrong queue"


def test_update_reports_old_and_new_start_times_and_agents_for_rollups(db):
    import_records([EXAMPLE])
    old_agent = Agent.objects.get(employee_code="A-017")
    target = Agent.objects.get(employee_code="A-044")
    moved = copy.deepcopy(EXAMPLE)
    moved.update(
        started_at="2026-11-05T09:15:00+01:00", answered_at=None, ended_at="2026-11-05T09:21:10+01:00"
    )
    moved["agent"] = {"employee_code": "A-099"}
    moved["transfers"] = []
    moved["escalations"] = []

    result = import_records([moved])

    new_agent = Agent.objects.get(employee_code="A-099")
    assert result.updated == 1
    assert (result.affected_started_from, result.affected_started_to) == (
        utc(2026, 11, 2, 8, 15),
        utc(2026, 11, 5, 8, 15),
    )
    # The old and new call agents, and the deleted transfer's agents.
    assert result.affected_agent_ids == sorted({old_agent.pk, new_agent.pk, target.pk})


@pytest.mark.parametrize("chunk_rows", [4, 40_000])
def test_new_changed_and_unchanged_calls_are_each_counted_once_across_chunks(db, monkeypatch, chunk_rows):
    from calls.importers.postgres import PipelinedPostgresStage

    monkeypatch.setattr(PipelinedPostgresStage, "CHUNK_ROWS", chunk_rows)
    import_records([minimal(n, customer={"external_id": f"CU-{n % 3}"}) for n in range(10)])
    before = dict(Call.objects.values_list("external_id", "updated_at"))
    records = [minimal(n, customer={"external_id": f"CU-{n % 3}", "name": f"Name {n}"}) for n in range(5, 15)]
    records[2]["channel"] = "chat"  # C-7 changes
    records[3]["transfers"] = [{"at": "2026-11-02T10:01:00Z", "to_agent": "A-1"}]  # so does C-8

    result = import_records(records)

    assert (result.created, result.updated, result.unchanged, result.rejected) == (5, 2, 3, 0)
    assert Call.objects.count() == 15
    assert Call.objects.get(external_id="C-7").channel == "chat"
    assert list(Transfer.objects.values_list("call__external_id", "to_agent__employee_code")) == [
        ("C-8", "A-1")
    ]
    after = dict(Call.objects.values_list("external_id", "updated_at"))
    assert sorted(key for key in before if after[key] != before[key]) == ["C-7", "C-8"]
    # Customers named for the first time get the name of the first row that names them.
    assert dict(Customer.objects.values_list("external_id", "name")) == {
        "CU-0": "Name 6",
        "CU-1": "Name 7",
        "CU-2": "Name 5",
    }


def test_across_chunks_first_sight_wins_and_later_chunks_fill_blanks_and_add_new_names(db, monkeypatch):
    """One record per chunk: an agent first seen without name or team gets them from later chunks (first
    sight wins, as within one chunk); departments and agents first named in a later chunk's transfer exist."""
    from calls.importers.postgres import PipelinedPostgresStage

    monkeypatch.setattr(PipelinedPostgresStage, "CHUNK_ROWS", 1)
    transfer = {"at": "2026-11-02T10:01:00Z", "to_department": "Claims", "to_agent": "A-9"}
    records = [
        minimal(1, department="Billing", agent={"employee_code": "A-1"}),
        minimal(2, department="Billing", agent={"employee_code": "A-1", "name": "Ana"}),
        minimal(3, department="Billing", agent={"employee_code": "A-1", "name": "Other", "team": "East"}),
        minimal(4, department="Sales", agent={"employee_code": "A-1", "name": "Zed", "team": "West"}),
        minimal(5, department="Billing", agent={"employee_code": "A-1", "name": "Ana"}, transfers=[transfer]),
        minimal(6, department="Billing", agent={"employee_code": "A-1", "name": "Ana"}, transfers=[transfer]),
    ]

    result = import_records(records)

    assert (result.created, result.rejected) == (6, 0)
    assert sorted(Agent.objects.values_list("employee_code", "name", "team__name")) == [
        ("A-1", "Ana", "East"),
        ("A-9", "", None),
    ]
    assert sorted(Department.objects.values_list("name", flat=True)) == ["Billing", "Claims", "Sales"]
    assert sorted(Team.objects.values_list("name", "department__name")) == [
        ("East", "Billing"),
        ("West", "Sales"),
    ]
    assert list(
        Transfer.objects.order_by("call__external_id").values_list(
            "to_department__name", "to_agent__employee_code"
        )
    ) == [
        ("Claims", "A-9"),
        ("Claims", "A-9"),
    ]
    assert Call.objects.filter(agent__employee_code="A-1").count() == 6


def test_partial_import_rejects_bad_rows_and_duplicates_only_in_their_own_chunk(db, monkeypatch):
    """One record per chunk, partial: a chunk with an invalid row or a duplicate keeps those out, and the
    clean chunks before and after it merge all their rows (the reject list of one chunk never leaks into
    the next, and a clean chunk is merged without one)."""
    from calls.importers.postgres import PipelinedPostgresStage

    monkeypatch.setattr(PipelinedPostgresStage, "CHUNK_ROWS", 1)
    transfer = {"at": "2026-11-02T10:01:00Z", "to_agent": "A-2"}
    records = [
        minimal(1, disposition="first"),
        minimal(2, channel="fax", transfers=[transfer]),  # invalid: neither it nor its transfer is stored
        minimal(3, transfers=[transfer]),
        minimal(1, disposition="second"),  # a duplicate of line 1: rejected, the first row stays
        minimal(4, transfers=[transfer, {"at": "2026-11-02T10:02:00Z", "to_agent": "A-3"}]),
    ]

    result = import_records(records, partial=True)

    assert (result.created, result.updated, result.unchanged, result.rejected) == (3, 0, 0, 2)
    assert [(error.line, error.field) for error in result.errors] == [(2, "channel"), (4, "external_id")]
    assert sorted(Call.objects.values_list("external_id", "disposition")) == [
        ("C-1", "first"),
        ("C-3", ""),
        ("C-4", ""),
    ]
    assert sorted(
        Transfer.objects.values_list("call__external_id", "sequence", "to_agent__employee_code")
    ) == [("C-3", 1, "A-2"), ("C-4", 1, "A-2"), ("C-4", 2, "A-3")]


def test_an_agent_first_named_on_a_rejected_row_is_still_created_by_a_later_chunk(db, monkeypatch):
    """Partial import, one record per chunk: agent A-5 first appears on a rejected duplicate, so the next
    chunk must still create it (else its call would lose its agent)."""
    from calls.importers.postgres import PipelinedPostgresStage

    monkeypatch.setattr(PipelinedPostgresStage, "CHUNK_ROWS", 1)
    five = {"employee_code": "A-5", "name": "Five", "team": "East"}
    records = [
        minimal(1, agent={"employee_code": "A-1", "name": "One", "team": "East"}),
        minimal(1, agent=five, department="Sales"),  # a duplicate external id: rejected
        minimal(2, agent=five, department="Sales"),
    ]

    result = import_records(records, partial=True)

    assert (result.created, result.rejected) == (2, 1)
    assert [(e.line, e.field) for e in result.errors] == [(2, "external_id")]
    assert dict(Call.objects.values_list("external_id", "agent__employee_code")) == {
        "C-1": "A-1",
        "C-2": "A-5",
    }
    assert Call.objects.get(external_id="C-2").department.name == "Sales"


def test_existing_agents_and_customers_keep_their_values_and_only_get_blanks_filled(db):
    team = TeamFactory(name="Old Team")
    AgentFactory(employee_code="A-017", name="Ana L.", team=team)
    AgentFactory(employee_code="A-044", name="", team=None)
    CustomerFactory(external_id="CU-88", name="", phone="+100", tier="platinum")
    record = copy.deepcopy(EXAMPLE)
    record["transfers"] = []
    second = minimal(2, agent={"employee_code": "A-044", "name": "Bo Chen", "team": "Tech West"})

    result = import_records([record, second])

    assert result.errors == []
    assert Agent.objects.filter(employee_code="A-017").values_list("name", "team__name").get() == (
        "Ana L.",
        "Old Team",
    )
    assert Agent.objects.filter(employee_code="A-044").values_list("name", "team__name").get() == (
        "Bo Chen",
        "Tech West",
    )
    customer = Customer.objects.get(external_id="CU-88")
    assert (customer.name, customer.phone, customer.tier) == ("Sam Reed", "+100", "platinum")
    # A team that already exists is not moved; a new one takes the department of the call naming it first.
    assert Team.objects.get(name="Old Team").department.name == team.department.name
    assert Team.objects.get(name="Tech West").department is None


def test_first_sight_wins_for_new_agents_and_customers_within_a_file(db):
    records = [
        minimal(
            1,
            agent={"employee_code": "A-1", "name": "First Name"},
            customer={"external_id": "CU-1", "tier": "gold"},
        ),
        minimal(
            2,
            agent={"employee_code": "A-1", "name": "Second Name"},
            customer={"external_id": "CU-1", "tier": "platinum"},
        ),
    ]

    import_records(records)

    assert Agent.objects.get().name == "First Name"
    assert Customer.objects.get().tier == "gold"


# --- the golden bad files ---------------------------------------------------------------------------------------

GOLDEN_JSONL_ERRORS = [
    (2, "record", "invalid JSON (unexpected end of data at column 43)"),
    (3, "channel", "unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"),
    (4, "ended_at", "before started_at"),
    (5, "external_id", "duplicate of line 1"),
    (6, "started_at", "required"),
    (
        7,
        "record",
        "not valid UTF-8 (byte 0xe9 at column 136); if the file is in another encoding, name it (e.g. cp1252)",
    ),
    (8, "wait_seconds", "expected an integer (seconds) or h:mm:ss, got '35 s'"),
    (9, "talk_seconds", "must not be negative (-5)"),
    (10, "colour", "unknown field"),
    (11, "transfers[0].at", "not an ISO 8601 date-time: 'yesterday'"),
    (14, "agent.employee_code", "required"),
    (
        14,
        "escalations[0].level",
        "unknown value 'manager' (expected one of: tier2, supervisor, complaint, other)",
    ),
    (15, "record", "expected a JSON object, got array"),
    (16, "transfers[0].at", "after the call's ended_at"),
]


def test_golden_bad_jsonl_reports_every_bad_row_and_writes_nothing(db):
    result = import_files([DATA / "bad_calls.jsonl"])

    assert [(e.line, e.field, e.reason) for e in result.errors] == GOLDEN_JSONL_ERRORS
    assert {e.source for e in result.errors} == {"bad_calls.jsonl"}
    assert (result.created, result.updated, result.unchanged, result.rejected) == (0, 0, 0, 13)
    assert not result.ok and not result.written
    assert table_counts() == EMPTY


GOLDEN_CSV_ERRORS = [
    "bad_calls.csv: line 5: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
    "bad_calls.csv: line 6: resolved: expected true/false, 1/0 or yes/no, got 'maybe'",
    "bad_calls.csv: line 7: wait_seconds: expected an integer (seconds) or h:mm:ss, got '3.5'",
    "bad_calls.csv: line 8: ended_at: before started_at",
    "bad_calls.csv: line 9: external_id: duplicate of line 2",
    "bad_calls.csv: line 10: customer_email: not an e-mail address: 'not-an-email'",
    "bad_calls.csv: line 10: customer_tier: unknown value 'bronze' (expected one of: standard, gold, platinum)",
    "bad_calls.csv: line 11: agent_employee_code: required",
    "bad_calls.csv: line 12: record: 4 fields, the header has 23",
    "bad_calls.csv: line 16: started_at: not an ISO 8601 date-time: '2026-13-40T00:00:00Z'",
    "bad_transfers.csv: line 3: call_external_id: no call 'C-404' in this import or in the database",
    "bad_transfers.csv: line 5: at: before the call's started_at",
    "bad_transfers.csv: line 6: sequence: sequence 1 of call 'C-9' is also on line 4",
]


def test_golden_bad_csv_reports_physical_lines_across_multiline_transcripts_and_writes_nothing(db):
    result = import_files([DATA / "bad_calls.csv", DATA / "bad_transfers.csv"])

    assert result.error_lines() == GOLDEN_CSV_ERRORS
    assert result.rejected == 12
    assert table_counts() == EMPTY


def test_partial_jsonl_writes_the_good_rows_and_a_rejects_file_of_exactly_the_bad_ones(db, tmp_path):
    rejects = tmp_path / "rejects.jsonl"
    result = import_files([DATA / "bad_calls.jsonl"], partial=True, rejects_path=rejects)

    assert (result.created, result.updated, result.unchanged, result.rejected) == (2, 0, 0, 13)
    assert result.written and not result.ok
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-13"]
    assert Transfer.objects.get().call.external_id == "C-1"
    assert result.rejects_paths == [rejects]
    lines = [json.loads(line) for line in rejects.read_text(encoding="utf-8").splitlines()]
    expected_by_line: dict[int, list[str]] = {}
    for line, field, reason in GOLDEN_JSONL_ERRORS:
        expected_by_line.setdefault(line, []).append(f"{field}: {reason}")
    assert [(entry["line"], entry["errors"]) for entry in lines] == sorted(expected_by_line.items())
    originals = (DATA / "bad_calls.jsonl").read_bytes().splitlines()
    for entry in lines:
        raw = originals[entry["line"] - 1]
        try:
            assert entry["record"] == json.loads(raw)
        except (json.JSONDecodeError, UnicodeDecodeError):
            assert entry["record"] == raw.decode("utf-8", "replace")


def read_csv(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as stream:
        return list(csv.reader(stream))


def test_partial_csv_rejects_a_call_with_a_bad_transfer_as_a_whole(db, tmp_path):
    result = import_files(
        [DATA / "bad_calls.csv", DATA / "bad_transfers.csv"], partial=True, rejects_path=tmp_path / "rejects"
    )

    # C-1 survives (its duplicate on line 9 is refused alone); C-9 goes with its bad transfers.
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1"]
    assert list(Transfer.objects.values_list("call__external_id", "sequence", "to_agent__employee_code")) == [
        ("C-1", 1, "A-044")
    ]
    assert (result.created, result.rejected) == (1, 10 + 4)
    assert result.rejects_paths == [
        tmp_path / "rejects" / "bad_calls.rejects.csv",
        tmp_path / "rejects" / "bad_transfers.rejects.csv",
    ]

    calls_rows = read_csv(tmp_path / "rejects" / "bad_calls.rejects.csv")
    original = read_csv(DATA / "bad_calls.csv")
    assert calls_rows[0] == [*original[0], "errors"]
    by_id = {row[0]: row for row in original[1:]}
    rejected = [(row[0], row[-1]) for row in calls_rows[1:]]
    assert rejected == [
        ("C-2", "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"),
        ("C-3", "resolved: expected true/false, 1/0 or yes/no, got 'maybe'"),
        ("C-4", "wait_seconds: expected an integer (seconds) or h:mm:ss, got '3.5'"),
        ("C-5", "ended_at: before started_at"),
        ("C-1", "external_id: duplicate of line 2"),
        (
            "C-6",
            "customer_email: not an e-mail address: 'not-an-email'; "
            "customer_tier: unknown value 'bronze' (expected one of: standard, gold, platinum)",
        ),
        ("C-7", "agent_employee_code: required"),
        ("C-8", "record: 4 fields, the header has 23"),
        ("C-9", "call: not imported: another row of call 'C-9' is invalid"),
        ("C-10", "started_at: not an ISO 8601 date-time: '2026-13-40T00:00:00Z'"),
    ]
    # The original cells come back untouched, multi-line transcript included.
    assert calls_rows[9][:-1] == by_id["C-9"]
    assert "\n" in calls_rows[9][21]

    transfer_rows = read_csv(tmp_path / "rejects" / "bad_transfers.rejects.csv")
    assert [row[0:2] + row[-1:] for row in transfer_rows[1:]] == [
        ["C-404", "1", "call_external_id: no call 'C-404' in this import or in the database"],
        ["C-9", "1", "call: not imported: another row of call 'C-9' is invalid"],
        ["C-9", "2", "at: before the call's started_at"],
        ["C-9", "1", "sequence: sequence 1 of call 'C-9' is also on line 4"],
    ]


def test_a_repeated_external_id_is_a_duplicate_of_its_first_row_valid_or_not(db):
    records = [
        minimal(1, channel="fax"),  # the first C-1 is bad ...
        minimal(1),  # ... so this one is a duplicate, not a replacement
        minimal(2),
        minimal(2, channel="fax"),  # a later bad duplicate: its own error is enough
    ]

    result = import_records(records, partial=True)

    assert [str(error) for error in result.errors] == [
        "line 1: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        "line 2: external_id: duplicate of line 1",
        "line 4: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
    ]
    assert (result.created, result.rejected) == (1, 3)
    assert list(Call.objects.values_list("external_id", flat=True)) == ["C-2"]


def snapshot() -> list[tuple]:
    calls = Call.objects.order_by("external_id").values_list(
        "external_id", "channel", "agent__employee_code", "customer__external_id", "content_hash"
    )
    transfers = Transfer.objects.order_by("call__external_id", "sequence").values_list(
        "call__external_id", "sequence", "to_agent__employee_code"
    )
    escalations = Escalation.objects.order_by("call__external_id").values_list("call__external_id", "level")
    return [
        *calls,
        *transfers,
        *escalations,
        *Agent.objects.order_by("employee_code").values_list("employee_code", "name"),
    ]


@pytest.mark.parametrize("partial", [True, False])
def test_merging_chunk_by_chunk_gives_the_same_result_as_one_merge(db, monkeypatch, partial):
    from calls.importers.postgres import PipelinedPostgresStage

    def transfer(n: int) -> dict:
        return {"at": "2026-11-02T10:01:00Z", "to_agent": f"A-{n % 3}"}

    records = []
    for n in range(40):
        record = minimal(n % 31, agent={"employee_code": f"A-{n % 5}", "name": f"Agent {n % 5}"})
        record["transfers"] = [transfer(n + k) for k in range(n % 3)]
        record["escalations"] = [{"at": "2026-11-02T10:02:00Z", "level": "other"}] if n % 4 == 0 else []
        records.append(record)
    records[12]["channel"] = "fax"  # a bad row in the middle; ids 0-8 repeat at 31-39 (duplicates)

    whole = import_records(records, partial=partial)
    whole_state = snapshot()
    Transfer.objects.all().delete()
    Escalation.objects.all().delete()
    Call.objects.all().delete()
    Agent.objects.all().delete()
    monkeypatch.setattr(PipelinedPostgresStage, "CHUNK_ROWS", 4)
    chunked = import_records(records, partial=partial)

    assert chunked.errors == whole.errors
    assert [str(e) for e in whole.errors][:2] == [
        "line 13: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        "line 32: external_id: duplicate of line 1",
    ]
    assert len(whole.errors) == 1 + 9
    assert (chunked.created, chunked.updated, chunked.unchanged, chunked.rejected) == (
        whole.created,
        whole.updated,
        whole.unchanged,
        whole.rejected,
    )
    assert (whole.created, whole.rejected) == ((30, 10) if partial else (0, 10))
    assert snapshot() == whole_state
    assert len(whole_state) == (30 + 30 + 7 + 5 if partial else 0)  # calls, transfers, escalations, agents


def test_partial_csv_rejects_the_transfers_of_a_bad_call_row(db, tmp_path):
    (tmp_path / "calls.csv").write_text(
        "external_id,channel,started_at,ended_at\nC-1,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
        "C-2,chat,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
    )
    (tmp_path / "transfers.csv").write_text(
        "call_external_id,at,to_department\nC-1,2026-11-02T10:01:00Z,Sales\nC-2,2026-11-02T10:01:00Z,Claims\n"
    )

    result = import_files(
        [tmp_path / "calls.csv", tmp_path / "transfers.csv"], partial=True, rejects_path=tmp_path / "r"
    )

    assert result.error_lines() == [
        "calls.csv: line 2: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    assert (result.created, result.rejected) == (1, 2)
    assert list(Transfer.objects.values_list("call__external_id", "to_department__name")) == [
        ("C-2", "Claims")
    ]
    assert read_csv(tmp_path / "r" / "transfers.rejects.csv") == [
        ["call_external_id", "at", "to_department", "errors"],
        ["C-1", "2026-11-02T10:01:00Z", "Sales", "call: not imported: another row of call 'C-1' is invalid"],
    ]


# --- CSV ------------------------------------------------------------------------------------------------------------

CALL_HEADER = (
    "external_id,channel,started_at,ended_at,agent_employee_code,customer_external_id,resolved,transcript"
)


def test_csv_with_bom_crlf_liberal_booleans_and_empty_cells(db, tmp_path):
    rows = [
        CALL_HEADER,
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1,CU-1,YES,",
        'C-2,chat,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,0,"two\r\nlines"',
        "C-3,Email,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z, ,,False,",
        "C-4,social,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,1,",
        "C-5,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,t,",  # PostgreSQL's own export
        "C-6,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,F,",
        "C-7,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,y,",
        "C-8,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,N,",
        "",
    ]
    path = tmp_path / "calls.csv"
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(rows).encode())

    result = import_files([path])

    assert result.errors == []
    assert list(
        Call.objects.order_by("external_id").values_list(
            "external_id", "channel", "is_resolved", "agent__employee_code", "transcript"
        )
    ) == [
        ("C-1", "phone", True, "A-1", ""),
        ("C-2", "chat", False, None, "two\nlines"),
        ("C-3", "email", False, None, ""),
        ("C-4", "social", True, None, ""),
        ("C-5", "phone", True, None, ""),
        ("C-6", "phone", False, None, ""),
        ("C-7", "phone", True, None, ""),
        ("C-8", "phone", False, None, ""),
    ]


def test_csv_transcripts_longer_than_the_csv_modules_default_field_limit_are_read_whole(db, tmp_path):
    # Python's csv module refuses fields over 128 KiB unless told otherwise; transcripts have no limit.
    transcript = 'Agent: "hello", how can I help? \U0001f600\nCustomer: ...\n' * 10_000
    path = tmp_path / "calls.csv"
    with path.open("w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["external_id", "channel", "started_at", "ended_at", "transcript"])
        writer.writerow(["C-1", "phone", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", transcript])
        writer.writerow(["C-2", "fax", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", transcript])
        writer.writerow(["C-3", "phone", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", "short"])
    assert len(transcript) > 131_072

    result = import_files([path], partial=True, rejects_path=tmp_path / "rejects.csv")

    assert result.error_lines() == [
        "line 20003: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    assert dict(Call.objects.values_list("external_id", "transcript")) == {"C-1": transcript, "C-3": "short"}
    (rejected,) = read_csv(tmp_path / "rejects.csv")[1:]
    assert rejected[:2] == ["C-2", "fax"] and rejected[4] == transcript


@pytest.mark.parametrize("separator", [";", "\t"])
def test_csv_separated_by_semicolons_or_tabs_is_read_by_its_header_and_rejects_keep_the_separator(
    db, tmp_path, separator
):
    rows = [
        ["external_id", "channel", "started_at", "ended_at", "agent_employee_code", "transcript"],
        [
            "C-1",
            "phone",
            "2026-11-02T10:00:00Z",
            "2026-11-02T10:05:00Z",
            "A-1",
            "Agent: hi, there; ok\nCustomer: bye",
        ],
        ["C-2", "fax", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", "", ""],
    ]
    path = tmp_path / "calls.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, delimiter=separator).writerows(rows)

    result = import_files([path], partial=True, rejects_path=tmp_path / "rejects.csv")

    assert result.error_lines() == [
        "line 4: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    assert list(Call.objects.values_list("external_id", "agent__employee_code", "transcript")) == [
        ("C-1", "A-1", "Agent: hi, there; ok\nCustomer: bye")
    ]
    rejects = (tmp_path / "rejects.csv").read_text(encoding="utf-8")
    assert list(csv.reader(rejects.splitlines(), delimiter=separator)) == [
        [*rows[0], "errors"],
        [*rows[2], "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"],
    ]


MAC_ROWS = [
    ["external_id", "channel", "started_at", "ended_at", "agent_employee_code", "transcript"],
    ["C-1", "phone", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", "A-1", "Agent: hi\rCustomer: bye"],
    ["C-2", "fax", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", "", ""],
]
FAX = "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"


def test_csv_with_classic_mac_line_ends_counts_its_lines_and_keeps_line_breaks(db, tmp_path):
    path = tmp_path / "calls.csv"  # Excel's "CSV (Macintosh)": a lone CR ends each line
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, lineterminator="\r").writerows(MAC_ROWS)
    assert b"\n" not in path.read_bytes()

    result = import_files([path], partial=True, rejects_path=tmp_path / "rejects.csv")

    assert result.error_lines() == [f"line 4: {FAX}"]  # the transcript's own line break counts
    assert list(Call.objects.values_list("external_id", "transcript")) == [
        ("C-1", "Agent: hi\nCustomer: bye")
    ]
    assert read_csv(tmp_path / "rejects.csv") == [[*MAC_ROWS[0], "errors"], [*MAC_ROWS[2], FAX]]


def test_a_long_classic_mac_file_is_read_in_pieces(db, tmp_path):
    rows = [
        MAC_ROWS[0],
        *(
            [f"C-{n}", "chat", "2026-11-02T10:00:00Z", "2026-11-02T10:05:00Z", "A-1", "x" * 300]
            for n in range(1000)
        ),
    ]
    path = tmp_path / "calls.csv"
    with path.open("w", newline="", encoding="utf-8") as out:
        csv.writer(out, lineterminator="\r").writerows(rows)
    assert path.stat().st_size > 4 * (1 << 16)

    assert (import_files([path]).created, Call.objects.filter(transcript="x" * 300).count()) == (1000, 1000)


def test_an_excel_sep_line_names_the_separator_and_counts_as_a_line(db, tmp_path):
    path = tmp_path / "calls.csv"
    with path.open(
        "w", newline="", encoding="utf-8-sig"
    ) as out:  # with a BOM before `sep=`, as tools write it
        out.write("sep=|\r\n")
        rows = [MAC_ROWS[0], [*MAC_ROWS[1][:5], "Agent: hi\r\nCustomer: bye"], MAC_ROWS[2]]
        csv.writer(out, delimiter="|").writerows(rows)

    result = import_files([path], partial=True, rejects_path=tmp_path / "rejects.csv")

    assert result.error_lines() == [f"line 5: {FAX}"]
    assert list(Call.objects.values_list("external_id", "transcript")) == [
        ("C-1", "Agent: hi\nCustomer: bye")
    ]
    rejects = (tmp_path / "rejects.csv").read_text(encoding="utf-8")
    assert rejects.splitlines()[0] == "sep=|"
    assert list(csv.reader(rejects.splitlines()[1:], delimiter="|")) == [
        [*MAC_ROWS[0], "errors"],
        [*MAC_ROWS[2], FAX],
    ]


def test_excel_text_formulas_keeping_leading_zeros_are_read_as_their_text(db, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(
        "external_id,channel,started_at,ended_at,agent_employee_code,customer_external_id,customer_phone,wait_seconds\n"
        'C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,="0017","=""00088""",="0155512345",="35"\n'
    )

    result = import_files([path])

    assert result.errors == []
    call = Call.objects.select_related("agent", "customer").get()
    assert (call.agent.employee_code, call.customer.external_id, call.customer.phone, call.wait_seconds) == (
        "0017",
        "00088",
        "0155512345",
        35,
    )


def test_an_empty_csv_file_is_refused_as_empty(db, tmp_path):
    (tmp_path / "calls.csv").write_bytes(b"")

    result = import_files([tmp_path / "calls.csv"])

    assert result.error_lines() == ["line 1: header: empty file"]


def test_csv_header_problems_refuse_the_whole_import_even_when_partial(db, tmp_path):
    calls = tmp_path / "calls.csv"
    calls.write_text(CALL_HEADER + ",colour\nC-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,,,blue\n")
    good = write_jsonl(tmp_path / "good.jsonl", [minimal(5)])

    result = import_files([good, calls], partial=True)

    assert result.error_lines() == ["calls.csv: line 1: colour: unknown column in a calls file"]
    assert not result.written
    assert table_counts() == EMPTY


def test_unnamed_columns_from_trailing_separators_are_ignored_unless_a_row_fills_them(db, tmp_path):
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "external_id;channel;started_at;ended_at;;\n"  # a spreadsheet's trailing separators
        "C-1;phone;2026-11-02T10:00:00Z;2026-11-02T10:05:00Z;;\n"
        "C-2;phone;2026-11-02T10:00:00Z;2026-11-02T10:05:00Z;; \n"
        "C-3;phone;2026-11-02T10:00:00Z;2026-11-02T10:05:00Z;;stray note\n"
    )

    result = import_files([calls], partial=True)

    assert result.error_lines() == ["line 4: column 6: a value in a column without a name: 'stray note'"]
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2"]


def test_csv_file_kind_comes_from_its_header(db, tmp_path):
    (tmp_path / "a.csv").write_text("call_external_id,at,reason\nC-1,2026-11-02T10:01:00Z,x\n")
    (tmp_path / "b.csv").write_text("id,when\n1,2\n")

    result = import_files([tmp_path / "a.csv", tmp_path / "b.csv"])

    assert result.error_lines() == [
        "a.csv: line 1: header: has call_external_id but neither level (escalations) nor from_/to_ columns (transfers)",
        "b.csv: line 1: header: not a calls, transfers or escalations file (no external_id or call_external_id column)",
    ]


def test_csv_column_names_may_be_title_case_spaced_or_dotted_and_rejects_keep_them(db, tmp_path):
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "External ID,Channel,Started At,Ended-At,agent.employee_code,Customer External Id\n"
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1,CU-1\n"
        "C-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1,CU-1\n"
    )
    transfers = tmp_path / "transfers.csv"
    transfers.write_text("Call External ID,At,To Department\nC-1,2026-11-02T10:01:00Z,Sales\n")

    result = import_files([calls, transfers], partial=True, rejects_path=tmp_path / "rejects")

    assert result.error_lines() == [
        "calls.csv: line 3: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    call = Call.objects.get()
    assert (call.external_id, call.agent.employee_code, call.customer.external_id) == ("C-1", "A-1", "CU-1")
    assert list(call.transfers.values_list("to_department__name", flat=True)) == ["Sales"]
    assert (tmp_path / "rejects" / "calls.rejects.csv").read_text().splitlines() == [
        "External ID,Channel,Started At,Ended-At,agent.employee_code,Customer External Id,errors",
        "C-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1,CU-1,\"channel: unknown value 'fax' "
        '(expected one of: phone, email, chat, social, in_person)"',
    ]


def test_csv_escalations_and_transfers_files_build_the_same_call_as_json(db, tmp_path):
    (tmp_path / "calls.csv").write_text(
        "external_id,channel,direction,started_at,answered_at,ended_at,wait_seconds,talk_seconds,hold_seconds,"
        "department,agent_employee_code,agent_name,agent_team,customer_external_id,customer_name,customer_phone,"
        "customer_tier,disposition,resolved,transcript,recording_url\n"
        "C-1001,phone,inbound,2026-11-02T09:15:00+01:00,2026-11-02T09:15:35+01:00,2026-11-02T09:21:10+01:00,35,310,20,"
        'Billing,A-017,Ana Lopez,Billing East,CU-88,Sam Reed,+15551234567,gold,resolved,true,"Agent: Thank you for calling ...\n'
        'Customer: ...",\n'
    )
    (tmp_path / "transfers.csv").write_text(
        "call_external_id,sequence,at,from_department,to_department,from_agent,to_agent,reason\n"
        "C-1001,,2026-11-02T09:18:00+01:00,Billing,Tech Support,A-017,A-044,technical issue\n"
    )
    (tmp_path / "escalations.csv").write_text(
        "call_external_id,at,level,reason,outcome,resolved_at\n"
        "C-1001,2026-11-02T09:20:00+01:00,Supervisor,refund over limit,approved,2026-11-02T09:40:00+01:00\n"
    )

    from_csv = import_files(
        [tmp_path / "calls.csv", tmp_path / "transfers.csv", tmp_path / "escalations.csv"]
    )
    csv_hash = Call.objects.get().content_hash
    from_json = import_records([EXAMPLE])

    assert (from_csv.created, from_csv.errors) == (1, [])
    # The same data in the other format is recognised as unchanged.
    assert (from_json.created, from_json.updated, from_json.unchanged) == (0, 0, 1)
    assert Call.objects.get().content_hash == csv_hash
    assert list(Transfer.objects.values_list("sequence", "reason")) == [(1, "technical issue")]
    assert list(Escalation.objects.values_list("sequence", "level")) == [(1, "supervisor")]


def test_a_csv_transfer_taking_the_sequence_of_a_transfer_nested_in_json_is_a_row_error(db, tmp_path):
    # A folder export holding calls.jsonl (with nested transfers) and a transfers.csv: the CSV row numbered 1
    # by position collides with the JSON record's transfer 1. A row error, not a unique-constraint crash.
    write_jsonl(tmp_path / "calls.jsonl", [EXAMPLE, minimal(2)])
    (tmp_path / "transfers.csv").write_text(
        "call_external_id,at,to_department\n"
        "C-1001,2026-11-02T09:19:00+01:00,Claims\n"
        "C-2,2026-11-02T10:01:00Z,Sales\n"
    )
    (tmp_path / "transfers2.csv").write_text(
        "call_external_id,sequence,at,to_department\nC-1001,2,2026-11-02T09:19:00+01:00,Claims\n"
    )

    refused = import_files([tmp_path / "transfers.csv", tmp_path / "calls.jsonl"], partial=True)
    numbered = import_files([tmp_path / "calls.jsonl", tmp_path / "transfers2.csv"])

    assert refused.error_lines() == [
        "transfers.csv: line 2: sequence: sequence 1 of call 'C-1001' is also on calls.jsonl line 1"
    ]
    assert (refused.created, refused.rejected) == (1, 2)  # C-2 with its transfer; C-1001's rows refused
    assert (numbered.created, numbered.updated, numbered.errors) == (1, 1, [])  # C-2 loses its transfer
    assert list(
        Transfer.objects.order_by("call__external_id", "sequence").values_list(
            "call__external_id", "sequence", "to_department__name"
        )
    ) == [("C-1001", 1, "Tech Support"), ("C-1001", 2, "Claims")]


def test_csv_transfers_for_a_call_already_in_the_database_replace_its_transfers(db, tmp_path):
    import_records([EXAMPLE])
    call = Call.objects.get()
    (tmp_path / "transfers.csv").write_text(
        "call_external_id,at,to_department\n"
        "C-1001,2026-11-02T09:16:00+01:00,Sales\n"
        "C-1001,2026-11-02T09:17:00+01:00,Claims\n"
    )

    first = import_files([tmp_path / "transfers.csv"])
    again = import_files([tmp_path / "transfers.csv"])
    back_to_json = import_records([EXAMPLE])

    assert (first.updated, first.unchanged, first.errors) == (1, 0, [])
    assert (again.updated, again.unchanged) == (0, 1)
    assert (back_to_json.updated, back_to_json.unchanged) == (1, 0)
    assert list(call.transfers.values_list("sequence", "to_department__name")) == [(1, "Tech Support")]
    assert Escalation.objects.filter(call=call).count() == 1


def test_csv_transfers_only_import_checks_against_the_database_call(db, tmp_path):
    import_records([EXAMPLE])
    call = Call.objects.get()
    (tmp_path / "transfers.csv").write_text(
        "call_external_id,at,to_department\nC-1001,2026-11-02T07:00:00Z,Sales\n"
    )

    result = import_files([tmp_path / "transfers.csv"])

    assert result.error_lines() == ["line 2: at: before the call's started_at"]
    assert list(call.transfers.values_list("to_department__name", flat=True)) == ["Tech Support"]


def _text_or_none(max_size: int):
    letters = st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"))
    return st.one_of(st.none(), st.text(letters, min_size=1, max_size=max_size))


@st.composite
def valid_records(draw) -> dict:
    """Valid call records in the JSON shape (every optional part sometimes there, sometimes not)."""
    number = draw(st.integers(0, 10**6))
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(seconds=draw(st.integers(0, 300 * 86400)))
    wait, talk = draw(st.integers(0, 600)), draw(st.integers(0, 3600))
    answered = draw(st.booleans())
    end = start + timedelta(seconds=wait + talk)
    record = {
        "external_id": f"H-{number}",
        "channel": draw(st.sampled_from(["phone", "Email", "chat", "social", "in person"])),
        "direction": draw(st.sampled_from([None, "inbound", "outbound"])),
        "started_at": start.isoformat(),
        "answered_at": (start + timedelta(seconds=wait)).isoformat() if answered else None,
        "ended_at": end.isoformat(),
        "wait_seconds": wait,
        "talk_seconds": talk,
        "department": draw(_text_or_none(20)),
        "agent": draw(
            st.one_of(
                st.none(),
                st.builds(
                    lambda c, n: {"employee_code": f"A-{c}", "name": n}, st.integers(0, 9), _text_or_none(20)
                ),
            )
        ),
        "customer": draw(
            st.one_of(
                st.none(),
                st.builds(
                    lambda c, t: {"external_id": f"CU-{c}", "tier": t},
                    st.integers(0, 9),
                    st.sampled_from(["standard", "gold", None]),
                ),
            )
        ),
        "disposition": draw(_text_or_none(10)),
        "resolved": draw(st.booleans()),
        "transcript": draw(
            st.one_of(
                st.none(),
                st.text(max_size=60).filter(lambda t: "\x00" not in t and "\r" not in t and t.strip()),
            )
        ),
    }
    moments = sorted(draw(st.lists(st.integers(0, wait + talk), max_size=3)))
    record["transfers"] = [
        {
            "at": (start + timedelta(seconds=s)).isoformat(),
            "to_department": draw(_text_or_none(20)),
            "reason": draw(_text_or_none(20)),
        }
        for s in moments
    ]
    record["escalations"] = [
        {
            "at": (start + timedelta(seconds=s)).isoformat(),
            "level": draw(st.sampled_from(["tier2", "supervisor", "other"])),
        }
        for s in draw(st.lists(st.integers(0, 7200), max_size=2))
    ]
    return record


def _csv_files(folder: Path, records: list[dict]) -> list[Path]:
    """The same records as three CSV files (calls, transfers, escalations)."""
    calls, transfers, escalations = folder / "calls.csv", folder / "transfers.csv", folder / "escalations.csv"
    with (
        calls.open("w", newline="", encoding="utf-8") as c,
        transfers.open("w", newline="", encoding="utf-8") as t,
        escalations.open("w", newline="", encoding="utf-8") as e,
    ):
        cw, tw, ew = csv.writer(c), csv.writer(t), csv.writer(e)
        columns = [
            "external_id",
            "channel",
            "direction",
            "started_at",
            "answered_at",
            "ended_at",
            "wait_seconds",
            "talk_seconds",
            "department",
            "disposition",
            "resolved",
            "transcript",
        ]
        cw.writerow([*columns, "agent_employee_code", "agent_name", "customer_external_id", "customer_tier"])
        tw.writerow(["call_external_id", "at", "to_department", "reason"])
        ew.writerow(["call_external_id", "at", "level"])
        for r in records:
            agent, customer = r["agent"] or {}, r["customer"] or {}
            cells = [r[column] for column in columns] + [
                agent.get("employee_code"),
                agent.get("name"),
                customer.get("external_id"),
                customer.get("tier"),
            ]
            cw.writerow(
                [
                    "" if value is None else str(value).lower() if isinstance(value, bool) else value
                    for value in cells
                ]
            )
            for x in r["transfers"]:
                tw.writerow([r["external_id"], x["at"], x["to_department"] or "", x["reason"] or ""])
            for x in r["escalations"]:
                ew.writerow([r["external_id"], x["at"], x["level"]])
    return [calls, transfers, escalations]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(valid_records(), min_size=1, max_size=6, unique_by=lambda r: r["external_id"]))
def test_any_valid_records_import_alike_from_json_and_csv_and_reimport_unchanged(
    db, tmp_path_factory, records
):
    for model in (Transfer, Escalation, Call, Agent, Customer, Team, Department):
        model.objects.all().delete()
    folder = tmp_path_factory.mktemp("h")

    from_json = import_records(records)
    state = snapshot()
    from_csv = import_files(_csv_files(folder, records))

    assert (from_json.errors, from_json.created) == ([], len(records))
    assert (from_csv.errors, from_csv.created, from_csv.updated, from_csv.unchanged) == (
        [],
        0,
        0,
        len(records),
    )
    assert snapshot() == state
    assert Transfer.objects.count() == sum(len(r["transfers"]) for r in records)
    assert Escalation.objects.count() == sum(len(r["escalations"]) for r in records)


# --- time zones ------------------------------------------------------------------------------------------------------


def test_naive_times_are_read_in_the_given_time_zone_and_stored_in_utc(db):
    records = [
        minimal(1, started_at="2026-07-01T09:00:00", ended_at="2026-07-01T09:10:00"),  # CEST, +02:00
        minimal(2, started_at="2026-12-01 09:00:00", ended_at="2026-12-01 09:10:00"),  # CET, +01:00
        minimal(3, started_at="2026-12-01T09:00:00-05:00", ended_at="2026-12-01T14:10:00Z"),  # offsets win
    ]

    result = import_records(records, default_timezone="Europe/Paris")

    assert result.errors == []
    assert dict(Call.objects.values_list("external_id", "started_at")) == {
        "C-1": utc(2026, 7, 1, 7, 0),
        "C-2": utc(2026, 12, 1, 8, 0),
        "C-3": utc(2026, 12, 1, 14, 0),
    }


def test_rfc_3339_and_iso_8601_time_forms_exporters_write_are_read(db):
    records = [
        # RFC 3339 lower case; ISO 8601 basic formats; padding and nanoseconds
        minimal(1, started_at="2026-11-02t09:15:00z", ended_at="2026-11-02T09:20:00.5Z"),
        minimal(2, started_at="2026-11-02T09:15:00+0100", ended_at="20261102T082000Z"),
        minimal(3, started_at=" 2026-11-02T09:15:00.123456789+01:00 ", ended_at="2026-11-02 09:20+01"),
    ]

    result = import_records(records, default_timezone="UTC")

    assert result.errors == []
    assert sorted(Call.objects.values_list("external_id", "started_at", "ended_at")) == [
        ("C-1", utc(2026, 11, 2, 9, 15), utc(2026, 11, 2, 9, 20) + timedelta(milliseconds=500)),
        ("C-2", utc(2026, 11, 2, 8, 15), utc(2026, 11, 2, 8, 20)),
        ("C-3", utc(2026, 11, 2, 8, 15) + timedelta(microseconds=123456), utc(2026, 11, 2, 8, 20)),
    ]


def test_whole_numbers_written_as_floats_are_integers_and_fractions_are_refused(db, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(
        "external_id,channel,started_at,ended_at,wait_seconds,talk_seconds,hold_seconds\n"
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,35.0,300.00,0\n"
        "C-2,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,35.5,300,1e3\n"
    )
    records = [
        minimal(3, wait_seconds=35.0, talk_seconds=300, hold_seconds=0.0),
        minimal(4, wait_seconds=35.5),
    ]

    from_csv = import_files([path], partial=True)
    from_json = import_records(records, partial=True)

    assert [(error.line, error.field, error.reason) for error in from_csv.errors] == [
        (3, "wait_seconds", "expected an integer (seconds) or h:mm:ss, got '35.5'"),
        (3, "hold_seconds", "expected an integer (seconds) or h:mm:ss, got '1e3'"),
    ]
    assert [(error.line, error.field, error.reason) for error in from_json.errors] == [
        (2, "wait_seconds", "expected an integer, got number"),
    ]
    assert sorted(
        Call.objects.values_list("external_id", "wait_seconds", "talk_seconds", "hold_seconds")
    ) == [
        ("C-1", 35, 300, 0),
        ("C-3", 35, 300, 0),
    ]
    again = import_records([minimal(3, wait_seconds=35, talk_seconds=300, hold_seconds=0)])
    assert (again.created, again.updated, again.unchanged) == (0, 0, 1)


def test_durations_written_as_h_mm_ss_are_seconds(db, tmp_path):
    # How telephony reports (Avaya CMS, Five9) and spreadsheets write durations; m:ss is refused (a
    # spreadsheet's h:mm looks the same).
    path = tmp_path / "calls.csv"
    path.write_text(
        "external_id,channel,started_at,ended_at,wait_seconds,talk_seconds,hold_seconds,wrap_seconds\n"
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T12:05:00Z,0:00:35,0:05:10,00:00:20.6,1:59:59\n"
        "C-2,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,5:35,0:60:00,0:00:61,1:00\n"
    )
    records = [
        minimal(3, wait_seconds="0:00:35", talk_seconds=" 0:05:10 ", hold_seconds="12:00:00"),
        minimal(4, wait_seconds="-0:00:35"),
    ]

    from_csv = import_files([path], partial=True)
    from_json = import_records(records, partial=True)

    assert [(error.line, error.field, error.reason) for error in from_csv.errors] == [
        (3, "wait_seconds", "expected an integer (seconds) or h:mm:ss, got '5:35'"),
        (3, "talk_seconds", "expected an integer (seconds) or h:mm:ss, got '0:60:00'"),
        (3, "hold_seconds", "expected an integer (seconds) or h:mm:ss, got '0:00:61'"),
        (3, "wrap_seconds", "expected an integer (seconds) or h:mm:ss, got '1:00'"),
    ]
    assert [(error.line, error.field, error.reason) for error in from_json.errors] == [
        (2, "wait_seconds", "expected an integer (seconds) or h:mm:ss, got '-0:00:35'"),
    ]
    assert sorted(
        Call.objects.values_list(
            "external_id", "wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds"
        )
    ) == [
        ("C-1", 35, 310, 21, 7199),
        ("C-3", 35, 310, 43200, 0),
    ]


def test_channel_and_direction_as_telephony_exports_name_them(db):
    records = [
        minimal(1, channel="VOICE", direction="Incoming"),
        minimal(2, channel="Web Chat", direction="out"),
        minimal(3, channel="mail", direction="OUTGOING"),
        minimal(4, channel="walk-in", direction="IN"),
        minimal(5, channel="fax", direction="sideways"),
    ]

    result = import_records(records, partial=True)

    assert result.error_lines() == [
        "line 5: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        "line 5: direction: unknown value 'sideways' (expected one of: inbound, outbound)",
    ]
    assert sorted(Call.objects.values_list("external_id", "channel", "direction")) == [
        ("C-1", "phone", "inbound"),
        ("C-2", "chat", "outbound"),
        ("C-3", "email", "outbound"),
        ("C-4", "in_person", "inbound"),
    ]


def test_json_values_written_as_strings_or_numbers_read_as_the_csv_cells_would(db, tmp_path):
    # What exporters that stringify everything, or pandas' to_json, write.
    rows = [
        minimal(1, wait_seconds="35", talk_seconds=" 300 ", hold_seconds="0.0", resolved="Yes"),
        minimal(
            2,
            resolved=1,
            agent={"employee_code": 17, "name": "Ana"},
            customer={"external_id": 88.0, "phone": 15551234567},
        ),
        minimal(3, resolved="0", started_at=1762074000000, ended_at=1762074300.5),  # ms and s since 1970
        minimal(4, started_at=1762074000123456, ended_at=1762074300000000000, resolved=False),  # µs and ns
    ]
    rows[2]["external_id"] = 1003
    bad = [
        minimal(5, wait_seconds="35 s", resolved="maybe"),
        minimal(6, resolved=2, started_at=35, ended_at=True),
        minimal(7, agent={"employee_code": 1.5, "name": "X"}, resolved=[1]),
    ]
    path = write_jsonl(tmp_path / "calls.jsonl", rows + bad)

    result = import_files([path], partial=True)

    assert result.error_lines() == [
        "line 5: wait_seconds: expected an integer (seconds) or h:mm:ss, got '35 s'",
        "line 5: resolved: expected true or false, got 'maybe'",
        "line 6: started_at: not a date-time: the number 35 is not a Unix time after 1990",
        "line 6: ended_at: expected an ISO 8601 date-time string, got boolean",
        "line 6: resolved: expected true or false, got integer",
        "line 7: agent.employee_code: expected a string, got number",
        "line 7: resolved: expected true or false, got array",
    ]
    calls = {call.external_id: call for call in Call.objects.select_related("agent", "customer")}
    assert sorted(calls) == ["1003", "C-1", "C-2", "C-4"]
    assert (calls["C-1"].wait_seconds, calls["C-1"].talk_seconds, calls["C-1"].hold_seconds) == (35, 300, 0)
    assert [calls[key].is_resolved for key in ("C-1", "C-2", "1003", "C-4")] == [True, True, False, False]
    assert (calls["C-2"].agent.employee_code, calls["C-2"].customer.external_id) == ("17", "88")
    assert calls["C-2"].customer.phone == "15551234567"
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    assert (calls["1003"].started_at, calls["1003"].ended_at) == (
        epoch + timedelta(milliseconds=1762074000000),
        epoch + timedelta(seconds=1762074300.5),
    )
    assert (calls["C-4"].started_at, calls["C-4"].ended_at) == (
        epoch + timedelta(microseconds=1762074000123456),
        epoch + timedelta(seconds=1762074300),
    )


SHEET_CSV = (
    "external_id,channel,started_at,ended_at\n"
    "S-1,phone,11/2/2026 9:15,11/2/2026 9:20:30\n"  # Excel's m/d/yyyy h:mm after a re-save
    "S-2,phone,11/2/2026 11:59 PM,11/3/2026 12:04 a.m.\n"
    "S-3,phone,2026/11/02 09:15,2026-11-02 9:20\n"  # year first: no order needed
)


def test_spreadsheet_dates_need_their_day_order_and_are_read_in_the_import_zone(db, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(SHEET_CSV)

    refused = import_files([path], partial=True)
    as_us = import_files([path], date_order="mdy", default_timezone="America/New_York")

    question = "month/day or day/month? Name the file's date order (mdy or dmy)"
    assert refused.error_lines() == [
        f"line 2: started_at: a spreadsheet date '11/2/2026 9:15': {question}",
        f"line 2: ended_at: a spreadsheet date '11/2/2026 9:20:30': {question}",
        f"line 3: started_at: a spreadsheet date '11/2/2026 11:59 PM': {question}",
        f"line 3: ended_at: a spreadsheet date '11/3/2026 12:04 a.m.': {question}",
    ]
    assert (as_us.created, as_us.updated, as_us.errors) == (2, 1, [])
    times = dict(Call.objects.values_list("external_id", "started_at"))
    ends = dict(Call.objects.values_list("external_id", "ended_at"))
    # New York is UTC-5 on 2 November 2026 (daylight saving time ended on 1 November).
    assert (times["S-1"], ends["S-1"]) == (utc(2026, 11, 2, 14, 15), utc(2026, 11, 2, 14, 20, 30))
    assert (times["S-2"], ends["S-2"]) == (utc(2026, 11, 3, 4, 59), utc(2026, 11, 3, 5, 4))
    assert (times["S-3"], ends["S-3"]) == (utc(2026, 11, 2, 14, 15), utc(2026, 11, 2, 14, 20))


def test_day_first_spreadsheet_dates_and_impossible_ones(db, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text(
        "external_id;channel;started_at;ended_at\n"
        "E-1;phone;02.11.2026 09:15;02.11.2026 09:20:05,5\n"
        "E-2;phone;13/2/2026 9:15;13/2/2026 13:15 PM\n"
        "E-3;phone;2/13/2026 9:15;2/13/2026 9:20\n"
    )

    result = import_files([path], partial=True, date_order="dmy", default_timezone="UTC")

    assert result.error_lines() == [
        "line 3: ended_at: not a date-time: '13/2/2026 13:15 PM' (hour 13 with PM)",
        "line 4: started_at: not a date-time: '2/13/2026 9:15' read as day/month/year (month must be in 1..12)",
        "line 4: ended_at: not a date-time: '2/13/2026 9:20' read as day/month/year (month must be in 1..12)",
    ]
    assert list(Call.objects.values_list("external_id", "started_at", "ended_at")) == [
        ("E-1", utc(2026, 11, 2, 9, 15), datetime(2026, 11, 2, 9, 20, 5, 500000, tzinfo=UTC))
    ]
    with pytest.raises(ImportSetupError, match="unknown date order 'ymd' \\(expected mdy or dmy\\)"):
        import_files([path], date_order="ymd")


def test_naive_times_default_to_settings_time_zone(db, settings):
    settings.TIME_ZONE = "America/New_York"
    result = import_records([minimal(1, started_at="2026-01-15T09:00:00", ended_at="2026-01-15T09:30:00")])

    assert result.errors == []
    assert Call.objects.get().started_at == utc(2026, 1, 15, 14, 0)


def test_naive_times_in_a_dst_gap_or_overlap_are_refused(db):
    records = [
        # Europe/Paris: 2026-03-29 02:00 → 03:00 (gap); 2026-10-25 03:00 → 02:00 (02:xx happens twice).
        minimal(1, started_at="2026-03-29T02:30:00", ended_at="2026-03-29T04:00:00"),
        minimal(2, started_at="2026-10-25T01:00:00", ended_at="2026-10-25T02:30:00"),
        minimal(
            3, started_at="2026-10-25T02:30:00+01:00", ended_at="2026-10-25T03:30:00"
        ),  # an offset settles it
        minimal(
            4, started_at="2026-03-29T01:59:59", ended_at="2026-03-29T03:00:00"
        ),  # both sides of the gap exist
    ]

    result = import_records(records, default_timezone="Europe/Paris")

    assert [str(error) for error in result.errors] == [
        "line 1: started_at: 2026-03-29T02:30:00 does not exist in Europe/Paris (daylight-saving gap); give a UTC offset",
        "line 2: ended_at: 2026-10-25T02:30:00 is ambiguous in Europe/Paris (daylight-saving overlap); give a UTC offset",
    ]
    result = import_records(records[2:], default_timezone="Europe/Paris")
    assert result.errors == []
    assert dict(Call.objects.values_list("external_id", "started_at")) == {
        "C-3": utc(2026, 10, 25, 1, 30),
        "C-4": utc(2026, 3, 29, 0, 59, 59),
    }
    assert Call.objects.get(external_id="C-4").ended_at == utc(2026, 3, 29, 1, 0)


def test_localize_against_zoneinfo_conversions():
    from zoneinfo import ZoneInfo

    paris = ZoneInfo("Europe/Paris")
    # Independent check: every minute of a whole DST-transition day either round-trips through UTC or is
    # refused as a gap/overlap, and exactly 60 minutes of each kind are refused.
    refused = {"gap": 0, "overlap": 0}
    for day in (datetime(2026, 3, 29), datetime(2026, 10, 25)):
        for minute in range(24 * 60):
            naive = day.replace(hour=minute // 60, minute=minute % 60)
            value = localize(naive, paris)
            if isinstance(value, str):
                refused["gap" if "gap" in value else "overlap"] += 1
            else:
                assert value.astimezone(UTC).astimezone(paris).replace(tzinfo=None) == naive
    assert refused == {"gap": 60, "overlap": 60}


@pytest.mark.parametrize(
    ("zone", "started_utc"),
    [
        ("europe/paris", utc(2026, 11, 2, 8, 15)),  # an IANA name in any case
        ("+01:00", utc(2026, 11, 2, 8, 15)),  # a fixed offset, as exports state their zone
        ("-0500", utc(2026, 11, 2, 14, 15)),
        ("UTC+5:30", utc(2026, 11, 2, 3, 45)),
        ("GMT-3", utc(2026, 11, 2, 12, 15)),
        ("utc", utc(2026, 11, 2, 9, 15)),
        ("Etc/GMT+1", utc(2026, 11, 2, 10, 15)),  # the IANA name keeps its POSIX sign (UTC-1)
    ],
)
def test_the_time_zone_of_naive_times_may_be_an_iana_name_in_any_case_or_a_fixed_offset(
    db, zone, started_utc
):
    result = import_records(
        [minimal(1, started_at="2026-11-02T09:15:00", ended_at="2026-11-02T09:20:00")], default_timezone=zone
    )

    assert result.errors == []
    assert Call.objects.get().started_at == started_utc


@pytest.mark.parametrize("zone", ["Mars/Olympus", "+15:00", "UTC+1:75", "../etc/passwd"])
def test_unknown_time_zones_and_impossible_offsets_are_refused(db, zone):
    with pytest.raises(ImportSetupError, match=rf"unknown time zone '{re.escape(zone)}' \(an IANA name"):
        import_records([minimal(1)], default_timezone=zone)


def test_unknown_time_zone_is_refused_before_reading(db):
    from calls.importers import ImportSetupError

    with pytest.raises(ImportSetupError, match="unknown time zone 'Mars/Olympus'"):
        import_records([minimal(1)], default_timezone="Mars/Olympus")


# --- more strictness -------------------------------------------------------------------------------------------


def test_nested_paths_and_types_are_named_in_errors(db):
    record = minimal(
        1,
        answered_at="2026-11-02T09:59:00Z",
        resolved="maybe",
        agent="A-1",
        customer={"external_id": "CU-1", "tier": "vip", "vip": True},
        transfers=[{"at": "2026-11-02T10:01:00Z", "sequence": 0}, "x"],
        escalations=[
            {"at": "2026-11-02T10:02:00Z", "level": "other", "resolved_at": "2026-11-02T10:01:00Z"},
            {"at": "2026-11-02", "level": "tier 2", "sequence": 1},
        ],
        recording_url="ftp://example.com/x",
    )

    result = import_records([record])

    assert [(e.field, e.reason) for e in result.errors] == [
        ("agent", "expected an object or null, got string"),
        ("customer.vip", "unknown field"),
        ("customer.tier", "unknown value 'vip' (expected one of: standard, gold, platinum)"),
        ("resolved", "expected true or false, got 'maybe'"),
        ("recording_url", "not an http(s) URL: 'ftp://example.com/x'"),
        ("answered_at", "before started_at"),
        ("transfers[0].sequence", "must be at least 1"),
        ("transfers[1]", "expected an object, got string"),
        ("escalations[0].resolved_at", "before at"),
        ("escalations[1].at", "a date without a time: '2026-11-02'"),
    ]
    assert Call.objects.count() == 0


def test_duplicate_sequences_and_overlong_values_are_refused(db):
    record = minimal(
        1,
        department="D" * 101,
        transfers=[
            {"at": "2026-11-02T10:01:00Z", "sequence": 2},
            {"at": "2026-11-02T10:02:00Z", "sequence": 2},
        ],
        transcript="nul\x00here",
    )

    result = import_records([record])

    assert [(e.field, e.reason) for e in result.errors] == [
        ("department", "too long (101 characters, at most 100)"),
        ("transcript", "contains a NUL character"),
        ("transfers[1].sequence", "duplicate of transfers[0]"),
    ]


def test_all_or_nothing_keeps_existing_data_untouched(db):
    import_records([EXAMPLE])
    before = list(Call.objects.values_list("external_id", "talk_seconds", "updated_at"))
    changed = copy.deepcopy(EXAMPLE)
    changed["talk_seconds"] = 1

    result = import_records([changed, minimal(2, channel="fax")])

    assert (result.created, result.updated, result.unchanged, result.rejected) == (0, 0, 0, 1)
    assert list(Call.objects.values_list("external_id", "talk_seconds", "updated_at")) == before
    assert Transfer.objects.count() == 1


def test_existing_calls_without_hash_are_updated_once(db):
    CallFactory(external_id="C-1", channel="chat", talk_seconds=1)

    first = import_records([minimal(1)])
    second = import_records([minimal(1)])

    assert (first.updated, second.unchanged) == (1, 1)
    assert Call.objects.get().channel == "phone"


# --- concurrency ------------------------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_two_imports_at_once_create_no_duplicates_and_both_succeed(tmp_path):
    shared = [
        minimal(n, agent={"employee_code": f"A-{n % 7}"}, customer={"external_id": f"CU-{n % 11}"})
        for n in range(300)
    ]
    first = write_jsonl(tmp_path / "first.jsonl", shared)
    second = write_jsonl(tmp_path / "second.jsonl", shared[150:] + [minimal(n) for n in range(300, 400)])
    results: dict[str, ImportResult] = {}
    failures: list[BaseException] = []
    start = threading.Barrier(2)

    def run(name: str, path: Path) -> None:
        try:
            start.wait()
            results[name] = import_files([path])
        except BaseException as error:  # reported below: a thread's exception would be lost
            failures.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=args) for args in (("first", first), ("second", second))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert failures == []
    assert Call.objects.count() == 400
    assert Agent.objects.count() == 7
    assert Customer.objects.count() == 11
    assert results["first"].errors == [] and results["second"].errors == []
    # Each call was created exactly once, by whichever import merged first.
    assert results["first"].created + results["second"].created == 400
    assert results["first"].created + results["first"].unchanged == 300
    assert results["second"].created + results["second"].unchanged == 250


# --- SQLite fallback -------------------------------------------------------------------------------------------------


def test_sqlite_fallback_imports_with_the_same_rules(tmp_path, sqlite_template):
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL"}
    }
    env.update(QA_CENTER_VAR_DIR=str(tmp_path / "var"), DJANGO_SETTINGS_MODULE="qa_center.settings")
    copy_template(sqlite_template, tmp_path / "var")  # every migration applied, once per session
    changed = copy.deepcopy(EXAMPLE)
    changed["transfers"].append({"at": "2026-11-02T09:19:00+01:00", "to_department": "Claims"})
    write_jsonl(tmp_path / "calls.jsonl", [EXAMPLE, minimal(2, channel="chat")])
    write_jsonl(tmp_path / "changed.jsonl", [changed, minimal(2, channel="chat"), minimal(3)])
    write_jsonl(tmp_path / "bad.jsonl", [minimal(4), minimal(4), minimal(5, channel="fax")])
    (tmp_path / "transfers.csv").write_text(
        "call_external_id,at,to_department\nC-2,2026-11-02T10:01:00Z,Sales\n"
    )

    def manage(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(  # noqa: S603
            [sys.executable, "manage.py", *args],
            cwd=django_settings.BASE_DIR,
            env=env,
            capture_output=True,
            text=True,
            timeout=300,
        )

    first = manage("import_calls", str(tmp_path / "calls.jsonl"), "--no-progress")
    again = manage("import_calls", str(tmp_path / "calls.jsonl"), "--no-progress")
    update = manage("import_calls", str(tmp_path / "changed.jsonl"), "--no-progress")
    bad = manage("import_calls", str(tmp_path / "bad.jsonl"), "--no-progress")
    partial = manage("import_calls", str(tmp_path / "bad.jsonl"), "--partial", "--no-progress")
    transfers = manage("import_calls", str(tmp_path / "transfers.csv"), "--no-progress")
    counts = manage(
        "shell",
        "--no-imports",
        "-c",
        "from calls.models import Call, Transfer, Escalation, Agent;"
        "print(sorted(Call.objects.values_list('external_id', flat=True)), Transfer.objects.count(),"
        " Escalation.objects.count(), Agent.objects.count(),"
        " sorted(Transfer.objects.values_list('call__external_id', 'sequence')))",
    )

    assert (first.returncode, first.stdout.splitlines()[-1].split(", ")[:4]) == (
        0,
        ["created 2", "updated 0", "unchanged 0", "rejected 0"],
    )
    assert again.stdout.splitlines()[-1].split(", ")[:4] == [
        "created 0",
        "updated 0",
        "unchanged 2",
        "rejected 0",
    ]
    assert update.stdout.splitlines()[-1].split(", ")[:4] == [
        "created 1",
        "updated 1",
        "unchanged 1",
        "rejected 0",
    ]
    assert bad.returncode == 1
    assert bad.stderr.splitlines()[:2] == [
        "line 2: external_id: duplicate of line 1",
        "line 3: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
    ]
    assert partial.returncode == 2
    assert partial.stdout.splitlines()[0].split(", ")[:4] == [
        "created 1",
        "updated 0",
        "unchanged 0",
        "rejected 2",
    ]
    assert transfers.returncode == 0, transfers.stderr
    assert counts.stdout.split("\n")[0] == (
        "['C-1001', 'C-2', 'C-3', 'C-4'] 3 1 2 [('C-1001', 1), ('C-1001', 2), ('C-2', 1)]"
    )


def test_csv_ids_and_codes_written_as_whole_floats_read_as_their_digits(db, tmp_path):
    """pandas' to_csv writes 17.0 for 17 in a column with a gap (NaN): the same agent as JSON's 17.0 gives."""
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "external_id,channel,started_at,ended_at,agent_employee_code,customer_external_id,customer_phone\n"
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,17.0,88.0,15551234567.0\n"
        "C-2,phone,2026-11-02T11:00:00Z,2026-11-02T11:05:00Z,,,\n"
        "C-3,phone,2026-11-02T12:00:00Z,2026-11-02T12:05:00Z,A-1.50,CU-1.0,\n"
    )
    transfers = tmp_path / "transfers.csv"
    transfers.write_text("call_external_id,at,from_agent,to_agent\nC-1,2026-11-02T10:01:00Z,17.0,44.00\n")

    result = import_files([calls, transfers])
    import_records([minimal(4, agent={"employee_code": 17.0}, customer={"external_id": 88.0})])

    assert result.errors == []
    assert sorted(Agent.objects.values_list("employee_code", flat=True)) == ["17", "44", "A-1.50"]
    assert sorted(Customer.objects.values_list("external_id", "phone")) == [
        ("88", "15551234567"),
        ("CU-1.0", ""),
    ]
    assert list(Transfer.objects.values_list("from_agent__employee_code", "to_agent__employee_code")) == [
        ("17", "44")
    ]


def test_agent_and_customer_objects_with_only_empty_members_mean_none(db):
    """{"employee_code": null, ...}: SQL and jq exports of abandoned calls; CSV's empty cells mean the same."""
    result = import_records(
        [
            minimal(
                1, agent={"employee_code": None, "name": None, "team": None}, customer={"external_id": ""}
            ),
            minimal(2, agent={}, customer={"external_id": None, "name": "  ", "tier": None}),
            minimal(3, agent={"employee_code": None, "name": "Ana"}),
            minimal(4, customer={"external_id": None, "nickname": None}),
        ],
        partial=True,
    )

    assert [(e.line, e.field, e.reason) for e in result.errors] == [
        (3, "agent.employee_code", "required"),
        (4, "customer.nickname", "unknown field"),
        (4, "customer.external_id", "required"),
    ]
    assert list(Call.objects.order_by("external_id").values_list("external_id", "agent", "customer")) == [
        ("C-1", None, None),
        ("C-2", None, None),
    ]
