"""Workbooks (.xlsx, .xls, .ods): each sheet read as the CSV file its header says it is."""

from __future__ import annotations

import io
import os
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook, load_workbook

from calls import services
from calls.importers import ImportSetupError, import_files, xlsx
from calls.models import Call, CallImport, Transfer


@pytest.fixture(autouse=True, params=["calamine", "openpyxl"])
def xlsx_engine(request, monkeypatch) -> str:
    """Every test twice: .xlsx sheets read by calamine (up to CALAMINE_XLSX_MAX_SHEET_XML of sheet XML, so
    all of these) and streamed by openpyxl (larger sheets)."""
    if request.param == "openpyxl":
        monkeypatch.setattr(xlsx, "CALAMINE_XLSX_MAX_SHEET_XML", -1)
    return request.param


FAX = "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"


def workbook(path: Path, sheets: dict[str, list[list]]) -> Path:
    book = Workbook()
    book.remove(book.active)
    for title, rows in sheets.items():
        sheet = book.create_sheet(title)
        for row in rows:
            sheet.append(row)
    book.save(path)
    return path


CALLS_SHEET = [
    [
        "External ID",
        "Channel",
        "Started At",
        "Ended At",
        "Agent Employee Code",
        "Customer External ID",
        "Customer Phone",
        "Wait Seconds",
        "Resolved",
    ],
    # Date-time cells (Excel keeps no offset), numbers as numbers, a boolean cell.
    [
        "C-1",
        "phone",
        datetime(2026, 11, 2, 10, 0),
        datetime(2026, 11, 2, 10, 5, 30),
        17,
        "CU-1",
        15551234567,
        35,
        True,
    ],
    [
        "C-2",
        "fax",
        datetime(2026, 11, 2, 11, 0),
        datetime(2026, 11, 2, 11, 5),
        "A-2",
        None,
        None,
        12.0,
        False,
    ],
    ["C-3", "chat", "2026-11-02T12:00:00Z", "2026-11-02T12:09:00Z", "A-2", None, None, None, None],
    [None, None, None, None],  # an empty row
]
TRANSFERS_SHEET = [
    ["call_external_id", "at", "to_department"],
    ["C-1", datetime(2026, 11, 2, 10, 2), "Sales"],
    ["C-3", datetime(2026, 11, 2, 13, 3), "Claims"],
    ["C-3", datetime(2026, 11, 2, 11, 0), "Billing"],  # before the call started
]


def assert_only_the_good_call_was_imported() -> None:
    """What CALLS_SHEET and TRANSFERS_SHEET give when imported in Paris time, partially: C-1 and its transfer
    (C-2 is bad, C-3 goes with its bad transfer, as a whole)."""
    first = Call.objects.select_related("agent", "customer").get()
    # Paris is UTC+1 on 2 November 2026.
    assert (first.external_id, first.started_at, first.ended_at) == (
        "C-1",
        datetime(2026, 11, 2, 9, 0, tzinfo=UTC),
        datetime(2026, 11, 2, 9, 5, 30, tzinfo=UTC),
    )
    assert (first.agent.employee_code, first.customer.phone, first.wait_seconds, first.is_resolved) == (
        "17",
        "15551234567",
        35,
        True,
    )
    assert list(Transfer.objects.values_list("call__external_id", "to_department__name")) == [
        ("C-1", "Sales")
    ]


def test_a_workbook_with_calls_and_transfers_sheets_imports_both_and_leaves_other_sheets_out(db, tmp_path):
    path = workbook(
        tmp_path / "export.xlsx",
        {"Summary": [["Total calls", 3]], "Calls": CALLS_SHEET, "Transfers": TRANSFERS_SHEET},
    )

    result = import_files([path], partial=True, default_timezone="Europe/Paris")

    assert result.error_lines() == [
        f"export.xlsx[Calls]: line 3: {FAX}",
        "export.xlsx[Transfers]: line 4: at: before the call's started_at",
    ]
    assert_only_the_good_call_was_imported()

    rejects = load_workbook(tmp_path / "export.rejects.xlsx", read_only=True)
    assert rejects.sheetnames == ["Calls", "Transfers"]
    calls_rows = list(rejects["Calls"].iter_rows(values_only=True))
    collateral = "call: not imported: another row of call 'C-3' is invalid"
    assert calls_rows == [
        (
            "external_id",
            "channel",
            "started_at",
            "ended_at",
            "agent_employee_code",
            "customer_external_id",
            "customer_phone",
            "wait_seconds",
            "resolved",
            "errors",
        ),
        ("C-2", "fax", "2026-11-02T11:00:00", "2026-11-02T11:05:00", "A-2", None, None, "12", "false", FAX),
        (
            "C-3",
            "chat",
            "2026-11-02T12:00:00Z",
            "2026-11-02T12:09:00Z",
            "A-2",
            None,
            None,
            None,
            None,
            collateral,
        ),
    ]
    assert list(rejects["Transfers"].iter_rows(values_only=True)) == [
        ("call_external_id", "at", "to_department", "errors"),
        ("C-3", "2026-11-02T13:03:00", "Claims", collateral),
        ("C-3", "2026-11-02T11:00:00", "Billing", "at: before the call's started_at"),
    ]
    rejects.close()


# The same workbook as the test above builds (Summary, CALLS_SHEET, TRANSFERS_SHEET), saved by LibreOffice
# 7.4 as Excel 97-2003 and as OpenDocument (soffice --headless --convert-to xls|ods export.xlsx).
DATA = Path(__file__).parent / "data"


@pytest.mark.parametrize("name", ["export.xls", "export.ods"])
def test_legacy_excel_and_opendocument_workbooks_import_like_xlsx(db, tmp_path, name):
    path = tmp_path / name
    path.write_bytes((DATA / name).read_bytes())

    result = import_files([path], partial=True, default_timezone="Europe/Paris")

    assert result.error_lines() == [
        f"{name}[Calls]: line 3: {FAX}",
        f"{name}[Transfers]: line 4: at: before the call's started_at",
    ]
    assert_only_the_good_call_was_imported()
    # The rejected rows go to an .xlsx workbook, sheet by sheet.
    assert result.rejects_paths == [tmp_path / "export.rejects.xlsx"]
    rejects = load_workbook(tmp_path / "export.rejects.xlsx", read_only=True)
    assert rejects.sheetnames == ["Calls", "Transfers"]
    assert [row[0] for row in rejects["Calls"].iter_rows(values_only=True)] == ["external_id", "C-2", "C-3"]
    assert [row[-1] for row in rejects["Transfers"].iter_rows(values_only=True)] == [
        "errors",
        "call: not imported: another row of call 'C-3' is invalid",
        "at: before the call's started_at",
    ]
    rejects.close()


def test_xls_and_ods_workbooks_too_big_to_read_in_memory_are_refused(db, tmp_path, monkeypatch):
    # Their readers hold a sheet in memory; the limits are the module's (32 MiB of .xls, 256 MiB of .ods XML).
    monkeypatch.setattr(xlsx, "XLS_MAX_BYTES", 4096)
    monkeypatch.setattr(xlsx, "ODS_MAX_CONTENT_XML", 4096)

    for name, what in [("export.xls", "the file is"), ("export.ods", "its sheets unpack to")]:
        with pytest.raises(
            ImportSetupError,
            match=rf"{name}: too big to read: {what} 0 MiB, more than the 0 MiB an .{name[-3:]} workbook may "
            r"be \(it is read in memory\); save it as .xlsx or CSV, which are streamed",
        ):
            import_files([DATA / name])
    assert Call.objects.count() == 0


def test_an_uploaded_ods_workbook_keeps_its_rejects_as_xlsx(admin_user, tmp_path):
    call_import = services.call_import_create(
        user=admin_user,
        uploads=[services.Upload("export.ods", (DATA / "export.ods").read_bytes())],
        partial=True,
        timezone_name="UTC",
    )

    services.call_import_run(call_import.pk)

    stored = CallImport.objects.get().files.get()
    assert (stored.name, stored.rejects_name) == ("export.ods", "export.rejects.xlsx")
    rejects = load_workbook(io.BytesIO(bytes(stored.rejects)), read_only=True)
    assert rejects.sheetnames == ["Calls", "Transfers"]
    rejects.close()


def test_a_single_sheet_workbook_is_named_by_its_file_and_all_or_nothing_holds(db, tmp_path):
    path = workbook(tmp_path / "calls.xlsx", {"Sheet1": CALLS_SHEET})

    result = import_files([path], default_timezone="UTC")

    assert result.error_lines() == [f"line 3: {FAX}"]  # one file: no file name
    assert not result.written
    assert Call.objects.count() == 0


def test_duration_cells_are_read_as_seconds(db, tmp_path):
    # Durations as a spreadsheet keeps them: a fraction of a day shown as [h]:mm:ss (openpyxl gives a
    # timedelta) or as h:mm:ss (a time), or typed as text.
    path = workbook(
        tmp_path / "calls.xlsx",
        {
            "Calls": [
                [
                    "external_id",
                    "channel",
                    "started_at",
                    "ended_at",
                    "wait_seconds",
                    "talk_seconds",
                    "hold_seconds",
                ],
                [
                    "C-1",
                    "phone",
                    datetime(2026, 11, 2, 10),
                    datetime(2026, 11, 2, 12),
                    35 / 86400,
                    7300 / 86400,
                    "0:00:20",
                ],
            ]
        },
    )
    book = load_workbook(path)
    book["Calls"]["E2"].number_format = "h:mm:ss"
    book["Calls"]["F2"].number_format = "[h]:mm:ss"
    book.save(path)

    result = import_files([path], default_timezone="UTC")

    assert result.errors == []
    assert list(Call.objects.values_list("wait_seconds", "talk_seconds", "hold_seconds")) == [(35, 7300, 20)]


def test_a_formula_that_failed_reads_as_an_empty_cell_with_either_reader(db, tmp_path):
    # openpyxl gives a failed formula's value as its text ("#N/A"), calamine as an empty cell.
    path = workbook(
        tmp_path / "calls.xlsx",
        {
            "Calls": [
                ["external_id", "channel", "started_at", "ended_at", "wait_seconds", "customer_name"],
                ["C-1", "phone", datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 10, 5), "#DIV/0!", None],
                ["C-2", "phone", "#N/A", datetime(2026, 11, 2, 10, 5), 5, None],
            ]
        },
    )

    result = import_files([path], partial=True, default_timezone="UTC")

    assert result.error_lines() == ["line 3: started_at: required"]
    assert list(Call.objects.values_list("external_id", "wait_seconds")) == [("C-1", 0)]


def test_files_that_are_not_usable_workbooks_are_refused_before_anything_is_read(db, tmp_path):
    damaged = tmp_path / "damaged.xlsx"
    damaged.write_bytes(b"PK\x03\x04 this is not a workbook")
    no_table = workbook(tmp_path / "notes.xlsx", {"Notes": [["Remember", "to export"]]})
    bad_header = workbook(tmp_path / "bad.xlsx", {"Calls": [["external_id", "channel", "colour"]]})

    with pytest.raises(ImportSetupError, match=r"damaged.xlsx: not a readable .xlsx workbook \(BadZipFile"):
        import_files([damaged])
    with pytest.raises(ImportSetupError, match="notes.xlsx: no sheet whose first row names calls"):
        import_files([no_table])
    result = import_files([bad_header], partial=True)
    assert result.error_lines() == [
        "line 1: colour: unknown column in a calls file",
        "line 1: started_at: required column missing",
        "line 1: ended_at: required column missing",
    ]
    assert not result.written


def test_a_big_sheet_reports_progress_as_its_rows_are_read(db, tmp_path):
    header = ["external_id", "channel", "started_at", "ended_at", "transcript"]
    rows = [
        [f"C-{n}", "phone", datetime(2026, 11, 2, 10), datetime(2026, 11, 2, 10, 5), os.urandom(10_000).hex()]
        for n in range(300)
    ]
    path = workbook(tmp_path / "calls.xlsx", {"Calls": [header, *rows]})
    size = path.stat().st_size
    seen: list[tuple[int, int | None]] = []

    result = import_files(
        [path], default_timezone="UTC", progress=lambda done, total: seen.append((done, total))
    )

    assert result.created == 300
    assert size > 3 * 2**20 and len(seen) >= 3  # every MiB of the workbook's share, as its rows are read
    assert [done for done, _ in seen] == sorted({done for done, _ in seen})
    assert seen[0][0] < size and seen[-1] == (size, size)


def test_a_workbook_with_an_xml_entity_bomb_is_refused(db, tmp_path):
    plain = workbook(tmp_path / "plain.xlsx", {"Calls": [["external_id", "channel"], ["C-1", "phone"]]})
    entities = '<!ENTITY e0 "lol">' + "".join(f'<!ENTITY e{n} "{f"&e{n - 1};" * 10}">' for n in range(1, 10))
    path = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(path, "w") as bomb:
        for info in source.infolist():
            data = source.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                xml = data.decode().split("?>", 1)[-1].replace("C-1", "&e9;")  # a billion "lol"s
                data = f'<?xml version="1.0"?><!DOCTYPE bomb [{entities}]>{xml}'.encode()
            bomb.writestr(info, data)

    with pytest.raises(
        ImportSetupError,
        match=r"bomb.xlsx: (sheet 'Calls' of the .xlsx workbook is not readable|not a readable .xlsx workbook)",
    ):
        import_files([path])
    assert Call.objects.count() == 0


def test_an_uploaded_workbook_keeps_its_rejects_as_a_workbook(admin_user, tmp_path):
    data = workbook(
        tmp_path / "export.xlsx", {"Calls": CALLS_SHEET, "Transfers": TRANSFERS_SHEET}
    ).read_bytes()
    clean = workbook(
        tmp_path / "clean.xlsx", {"Calls": [CALLS_SHEET[0], ["C-9", *CALLS_SHEET[1][1:]]]}
    ).read_bytes()
    call_import = services.call_import_create(
        user=admin_user,
        uploads=[services.Upload("export.xlsx", data), services.Upload("clean.xlsx", clean)],
        partial=True,
        timezone_name="UTC",
    )

    services.call_import_run(call_import.pk)

    call_import = CallImport.objects.get()
    assert (call_import.status, call_import.created, call_import.rejected) == ("done", 2, 4)
    stored = {file.name: file for file in call_import.files.all()}
    assert (stored["export.xlsx"].rejects_name, stored["clean.xlsx"].rejects_name) == (
        "export.rejects.xlsx",
        "",
    )
    rejects = load_workbook(io.BytesIO(bytes(stored["export.xlsx"].rejects)), read_only=True)
    assert [len(list(rejects[name].iter_rows())) for name in rejects.sheetnames] == [3, 3]
