"""manage.py import_calls: output, exit codes and rejects files."""

from __future__ import annotations

import gzip
import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from calls.models import Agent, Call, Transfer

DATA = Path(__file__).parent / "data"


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


def run(*args: str) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("import_calls", *args, "--no-progress", stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def summary_counts(line: str) -> list[str]:
    """The summary line without its rate (which varies)."""
    parts = line.split(", ")
    assert parts[-1].endswith(" rows/s")
    return parts[:-1]


def test_good_file_prints_the_summary_line_and_exits_zero(db, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [minimal(1), minimal(2)])

    out, err = run(str(path))

    assert summary_counts(out.strip()) == ["created 2", "updated 0", "unchanged 0", "rejected 0"]
    assert err == ""
    assert Call.objects.count() == 2


def test_reimport_prints_unchanged(db, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [minimal(1), minimal(2)])
    run(str(path))

    out, _ = run(str(path))

    assert summary_counts(out.strip()) == ["created 0", "updated 0", "unchanged 2", "rejected 0"]


def test_one_bad_row_writes_nothing_prints_every_error_and_exits_1(db, tmp_path):
    path = write_jsonl(
        tmp_path / "calls.jsonl", [minimal(1), minimal(2, channel="fax"), minimal(3, talk_seconds=-1)]
    )
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=r"nothing imported: 2 error\(s\) in 2 row\(s\)") as caught:
        call_command("import_calls", str(path), "--no-progress", stdout=out, stderr=err)

    assert caught.value.returncode == 1
    assert err.getvalue().splitlines() == [
        "line 2: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
        "line 3: talk_seconds: must not be negative (-1)",
    ]
    assert summary_counts(out.getvalue().strip()) == ["created 0", "updated 0", "unchanged 0", "rejected 2"]
    assert Call.objects.count() == 0


def test_partial_writes_good_rows_and_a_rejects_file_beside_the_input_and_exits_2(db, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [minimal(1), minimal(2, channel="fax"), minimal(3)])
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError, match=r"1 row\(s\) rejected, the others imported") as caught:
        call_command("import_calls", str(path), "--partial", "--no-progress", stdout=out, stderr=err)

    assert caught.value.returncode == 2
    rejects = tmp_path / "calls.rejects.jsonl"
    assert out.getvalue().splitlines()[1] == f"rejects: {rejects}"
    assert summary_counts(out.getvalue().splitlines()[0]) == [
        "created 2",
        "updated 0",
        "unchanged 0",
        "rejected 1",
    ]
    assert [json.loads(line) for line in rejects.read_text().splitlines()] == [
        {
            "line": 2,
            "errors": [
                "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
            ],
            "record": minimal(2, channel="fax"),
        }
    ]
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-3"]


def test_a_folder_stands_for_the_files_in_it_without_hidden_and_rejects_files(db, tmp_path):
    folder = tmp_path / "exports"
    folder.mkdir()
    (folder / "calls.csv").write_text(
        "external_id,channel,started_at,ended_at\nC-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
    )
    (folder / "transfers.csv").write_text(
        "call_external_id,at,to_department\nC-1,2026-11-02T10:01:00Z,Sales\n"
    )
    write_jsonl(folder / "more.jsonl", [minimal(2)])
    write_jsonl(folder / "calls.rejects.jsonl", [minimal(3, channel="fax")])  # an earlier --partial run's
    write_jsonl(folder / ".partial.jsonl", [minimal(4)])
    (folder / "old").mkdir()  # folders inside are not read
    write_jsonl(folder / "old" / "calls.jsonl", [minimal(5)])

    out, err = run(str(folder))

    assert summary_counts(out.strip()) == ["created 2", "updated 0", "unchanged 0", "rejected 0"]
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-2"]
    assert list(Transfer.objects.values_list("call__external_id", "to_department__name")) == [
        ("C-1", "Sales")
    ]
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(CommandError, match="empty: no file in the folder"):
        run(str(empty))


def test_a_dash_reads_standard_input(db, tmp_path, monkeypatch):
    data = gzip.compress("".join(json.dumps(minimal(n)) + "\n" for n in (1, 2)).encode())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(data)))

    out, err = run("-")

    assert summary_counts(out.strip()) == ["created 2", "updated 0", "unchanged 0", "rejected 0"]
    assert Call.objects.count() == 2


def test_standard_input_with_partial_needs_a_rejects_path(db, tmp_path, monkeypatch):
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO(b'{"external_id": "C-1"}\n')))

    with pytest.raises(CommandError, match="reading standard input with --partial needs --rejects PATH"):
        run("-", "--partial")

    rejects = tmp_path / "rejects.jsonl"
    with pytest.raises(CommandError, match=r"1 row\(s\) rejected"):
        run("-", "--partial", "--rejects", str(rejects))
    assert json.loads(rejects.read_text())["errors"] == [
        "channel: required",
        "started_at: required",
        "ended_at: required",
    ]


def test_several_files_prefix_errors_with_the_file_name(db):
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):
        call_command(
            "import_calls",
            str(DATA / "bad_calls.csv"),
            str(DATA / "bad_transfers.csv"),
            "--no-progress",
            stdout=out,
            stderr=err,
        )

    lines = err.getvalue().splitlines()
    assert (
        lines[0]
        == "bad_calls.csv: line 5: channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
    )
    assert lines[-1] == "bad_transfers.csv: line 6: sequence: sequence 1 of call 'C-9' is also on line 4"
    assert len(lines) == 13


def test_rejects_option_is_a_folder_for_several_files(db, tmp_path):
    folder = tmp_path / "out"

    with pytest.raises(CommandError) as caught:
        run(
            str(DATA / "bad_calls.csv"),
            str(DATA / "bad_transfers.csv"),
            "--partial",
            "--rejects",
            str(folder),
        )

    assert caught.value.returncode == 2
    assert sorted(path.name for path in folder.iterdir()) == [
        "bad_calls.rejects.csv",
        "bad_transfers.rejects.csv",
    ]
    assert list(Transfer.objects.values_list("call__external_id", flat=True)) == ["C-1"]


def test_inputs_whose_rejects_files_share_a_name_get_one_each(db, tmp_path):
    """a/calls.jsonl and b/calls.jsonl into one folder: the second is told apart, neither is overwritten."""
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    first = write_jsonl(tmp_path / "a" / "calls.jsonl", [minimal(1), minimal(2, channel="fax")])
    second = write_jsonl(tmp_path / "b" / "calls.jsonl", [minimal(3, channel="pigeon"), minimal(4)])
    folder = tmp_path / "out"

    with pytest.raises(CommandError) as caught:
        run(str(first), str(second), "--partial", "--rejects", str(folder))

    assert caught.value.returncode == 2
    rejected = {
        path.name: [json.loads(line)["record"]["external_id"] for line in path.read_text().splitlines()]
        for path in folder.iterdir()
    }
    assert rejected == {"calls.rejects.jsonl": ["C-2"], "2-calls.rejects.jsonl": ["C-3"]}
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-4"]


def test_timezone_option_reads_naive_times(db, tmp_path):
    path = write_jsonl(
        tmp_path / "calls.jsonl",
        [minimal(1, started_at="2026-06-01T09:00:00", ended_at="2026-06-01T09:05:00")],
    )

    run(str(path), "--timezone", "Asia/Tokyo")

    assert Call.objects.get().started_at.isoformat() == "2026-06-01T00:00:00+00:00"


def test_encoding_option_reads_files_that_are_not_utf8(db, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [minimal(1, agent={"employee_code": "A-1", "name": "Zoë"})])
    path.write_bytes(path.read_text(encoding="utf-8").encode("latin-1"))

    out, err = run(str(path), "--encoding", "latin-1")

    assert (summary_counts(out.splitlines()[0]), err) == (
        ["created 1", "updated 0", "unchanged 0", "rejected 0"],
        "",
    )
    assert Agent.objects.get().name == "Zoë"
    with pytest.raises(CommandError, match="unknown encoding 'ebcdic-klingon'"):
        run(str(path), "--encoding", "ebcdic-klingon")


def test_date_order_option_reads_spreadsheet_dates(db, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_text("external_id,channel,started_at,ended_at\nC-1,phone,1/2/2026 9:15,1/2/2026 9:20\n")

    run(str(path), "--date-order", "dmy", "--timezone", "UTC")

    assert Call.objects.get().started_at.isoformat() == "2026-02-01T09:15:00+00:00"
    with pytest.raises(CommandError, match="invalid choice: 'ymd'"):
        run(str(path), "--date-order", "ymd")


def test_progress_bar_draws_one_line_and_clears_it():
    from calls.management.commands.import_calls import ProgressBar

    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update(512, 2048)
    bar.update(2048, 2048)
    bar.update(3 * 2**20, None)
    bar.close()

    frames = stream.getvalue().split("\r")[1:]
    assert frames[0].startswith("import [#######.......................]  25%  ")
    assert frames[1].startswith("import [##############################] 100%  ")
    assert frames[2].startswith("import 3.0 MiB  ")
    assert all(frame.endswith(" MiB/s") for frame in frames[:3])
    assert frames[3] == "\x1b[K"


def test_bad_options_and_missing_files_are_command_errors(db, tmp_path):
    path = write_jsonl(tmp_path / "calls.jsonl", [minimal(1)])

    with pytest.raises(CommandError, match="unknown time zone 'Nowhere'"):
        run(str(path), "--timezone", "Nowhere")
    with pytest.raises(CommandError, match="--rejects only makes sense with --partial"):
        run(str(path), "--rejects", str(tmp_path / "r.jsonl"))
    with pytest.raises(CommandError, match="missing.jsonl: cannot read"):
        run(str(tmp_path / "missing.jsonl"))
    assert Call.objects.count() == 0


def test_a_csv_rejects_file_fixed_imports_again_as_it_is(db, tmp_path):
    """The rejects file's `errors` column is ignored on the way back in; rejected again, it is replaced."""
    calls = tmp_path / "calls.csv"
    calls.write_text(
        "external_id,channel,started_at,ended_at\n"
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
        "C-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
        "C-3,pigeon,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
    )
    with pytest.raises(CommandError):
        run(str(calls), "--partial")
    rejects = tmp_path / "calls.rejects.csv"
    assert rejects.read_text().splitlines() == [
        "external_id,channel,started_at,ended_at,errors",
        "C-2,fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,"
        "\"channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)\"",
        "C-3,pigeon,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,"
        "\"channel: unknown value 'pigeon' (expected one of: phone, email, chat, social, in_person)\"",
    ]

    fixed = tmp_path / "fixed.csv"
    fixed.write_text(rejects.read_text().replace("C-2,fax", "C-2,email"))
    with pytest.raises(CommandError):
        run(str(fixed), "--partial")

    assert sorted(Call.objects.values_list("external_id", "channel")) == [
        ("C-1", "phone"),
        ("C-2", "email"),
    ]
    assert (tmp_path / "fixed.rejects.csv").read_text().splitlines() == [
        "external_id,channel,started_at,ended_at,errors",
        "C-3,pigeon,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,"
        "\"channel: unknown value 'pigeon' (expected one of: phone, email, chat, social, in_person)\"",
    ]


def test_a_json_lines_rejects_file_fixed_imports_again_as_it_is(db, tmp_path):
    """Each line of a JSON rejects file wraps its record ({line, errors, record}): read as the record."""
    path = write_jsonl(
        tmp_path / "calls.jsonl", [minimal(1), minimal(2, channel="fax"), minimal(3, channel="x")]
    )
    with pytest.raises(CommandError):
        run(str(path), "--partial")
    rejects = tmp_path / "calls.rejects.jsonl"
    wrapped = [json.loads(line) for line in rejects.read_text().splitlines()]
    assert [(item["line"], item["record"]["external_id"]) for item in wrapped] == [(2, "C-2"), (3, "C-3")]

    fixed = tmp_path / "fixed.jsonl"
    fixed.write_text(rejects.read_text().replace('"fax"', '"email"'))
    with pytest.raises(CommandError):
        run(str(fixed), "--partial")

    assert sorted(Call.objects.values_list("external_id", "channel")) == [
        ("C-1", "phone"),
        ("C-2", "email"),
    ]
    again = [json.loads(line) for line in (tmp_path / "fixed.rejects.jsonl").read_text().splitlines()]
    assert again == [
        {
            "line": 2,
            "errors": ["channel: unknown value 'x' (expected one of: phone, email, chat, social, in_person)"],
            "record": minimal(3, channel="x"),
        }
    ]


def test_a_json_lines_line_longer_than_a_record_may_be_is_a_row_error_never_read_whole(
    db, tmp_path, monkeypatch
):
    """One endless line (a gzip bomb of spaces, a broken export) is read past in pieces, not held in memory."""
    monkeypatch.setattr("calls.importers.parsing.MAX_RECORD_BYTES", 1000)
    long = json.dumps(minimal(2, transcript="x" * 5000))
    path = tmp_path / "calls.jsonl.gz"
    path.write_bytes(gzip.compress(f"{json.dumps(minimal(1))}\n{long}\n{json.dumps(minimal(3))}\n".encode()))

    out, err = io.StringIO(), io.StringIO()
    with pytest.raises(CommandError) as caught:
        call_command("import_calls", str(path), "--partial", "--no-progress", stdout=out, stderr=err)

    assert caught.value.returncode == 2
    assert "line 2: record: longer than 1,000 bytes" in err.getvalue().splitlines()
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-3"]
    rejects = [json.loads(line) for line in (tmp_path / "calls.rejects.jsonl").read_text().splitlines()]
    assert rejects == [{"line": 2, "errors": ["record: longer than 1,000 bytes"], "record": None}]


@pytest.mark.parametrize("newline", ["\n", "\r"])
def test_a_csv_line_longer_than_a_record_may_be_is_a_row_error_never_read_whole(
    db, tmp_path, monkeypatch, newline
):
    monkeypatch.setattr("calls.importers.parsing.MAX_RECORD_BYTES", 1000)
    path = tmp_path / "calls.csv"
    rows = [
        "external_id,channel,started_at,ended_at,transcript",
        "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,hello",
        "C-2,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z," + "x" * 5000,
        "C-3,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,bye",
    ]
    path.write_text(newline.join(rows) + newline, newline="")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError) as caught:
        call_command("import_calls", str(path), "--partial", "--no-progress", stdout=out, stderr=err)

    assert caught.value.returncode == 2
    assert "line 3: record: longer than 1,000 bytes" in err.getvalue().splitlines()
    assert sorted(Call.objects.values_list("external_id", "transcript")) == [("C-1", "hello"), ("C-3", "bye")]


def test_windows_powershell_export_csv_with_its_type_line_imports(db, tmp_path):
    """Windows PowerShell 5's Export-Csv: a #TYPE first line, every value quoted, CRLF, UTF-8 with a BOM."""
    path = tmp_path / "calls.csv"
    lines = [
        "#TYPE System.Management.Automation.PSCustomObject",
        '"external_id","channel","started_at","ended_at","agent_name","agent_employee_code"',
        '"C-1","Voice","2026-11-02T10:00:00Z","2026-11-02T10:05:00Z","Zoë Ødegård","A-1"',
        '"C-2","Fax","2026-11-02T10:00:00Z","2026-11-02T10:05:00Z","",""',
    ]
    path.write_bytes(b"\xef\xbb\xbf" + "\r\n".join(lines).encode() + b"\r\n")
    out, err = io.StringIO(), io.StringIO()

    with pytest.raises(CommandError):
        call_command("import_calls", str(path), "--partial", "--no-progress", stdout=out, stderr=err)

    assert err.getvalue().splitlines() == [
        "line 4: channel: unknown value 'Fax' (expected one of: phone, email, chat, social, in_person)"
    ]
    assert list(Call.objects.values_list("external_id", "channel", "agent__name")) == [
        ("C-1", "phone", "Zoë Ødegård")
    ]
    assert (tmp_path / "calls.rejects.csv").read_text(encoding="utf-8").splitlines() == [
        "external_id,channel,started_at,ended_at,agent_name,agent_employee_code,errors",
        "C-2,Fax,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,,,"
        "\"channel: unknown value 'Fax' (expected one of: phone, email, chat, social, in_person)\"",
    ]


def test_mysql_null_written_as_backslash_n_is_an_empty_cell(db, tmp_path):
    """MySQL's SELECT ... INTO OUTFILE (and mysqldump --tab) write NULL as \\N, tab-separated."""
    path = tmp_path / "calls.csv"
    path.write_text(
        "external_id\tchannel\tstarted_at\tanswered_at\tended_at\tagent_employee_code\tcustomer_external_id\ttranscript\n"
        "C-1\tphone\t2026-11-02 10:00:00\t\\N\t2026-11-02 10:05:00\t\\N\t\\N\t\\N\n"
    )

    run(str(path), "--timezone", "UTC")

    call = Call.objects.get()
    assert (call.answered_at, call.agent, call.customer, call.transcript) == (None, None, None, "")


def test_partial_leaves_no_rejects_file_for_an_input_with_nothing_rejected(db, tmp_path):
    good = write_jsonl(tmp_path / "good.jsonl", [minimal(1)])
    bad = write_jsonl(tmp_path / "bad.jsonl", [minimal(2), minimal(3, channel="fax")])

    with pytest.raises(CommandError):
        out, _ = run(str(good), str(bad), "--partial")

    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "bad.jsonl",
        "bad.rejects.jsonl",
        "good.jsonl",
    ]
    out, _ = run(str(good), "--partial")  # all imported (unchanged): no rejects file, none printed
    assert "rejects:" not in out
    assert not (tmp_path / "good.rejects.jsonl").exists()
