"""Zip archives of call files, as exports are delivered: each file read straight from the archive."""

from __future__ import annotations

import csv
import gzip
import io
import json
import zipfile
from pathlib import Path

import pytest

from calls import services
from calls.importers import ImportSetupError, import_files
from calls.models import Call, CallImport, Transfer

FAX = "channel: unknown value 'fax' (expected one of: phone, email, chat, social, in_person)"
CALLS_CSV = (
    "external_id,channel,started_at,ended_at\n"
    "C-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z\n"
    "C-2,fax,2026-11-02T11:00:00Z,2026-11-02T11:05:00Z\n"
)
TRANSFERS_CSV = "call_external_id,at,to_department\nC-1,2026-11-02T10:01:00Z,Sales\n"
MORE_JSONL = (
    json.dumps(
        {
            "external_id": "C-3",
            "channel": "chat",
            "started_at": "2026-11-02T12:00:00Z",
            "ended_at": "2026-11-02T12:05:00Z",
        }
    )
    + "\n"
)


DATA = Path(__file__).parent / "data"


def archive(path: Path, files: dict[str, str | bytes]) -> Path:
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as out:
        for name, content in files.items():
            if name.endswith("/"):
                out.mkdir(name)
            else:
                out.writestr(name, content)
    return path


def test_the_files_of_a_zip_archive_import_together_with_rejects_in_a_zip(db, tmp_path):
    path = archive(
        tmp_path / "export.zip",
        {
            "export/": "",
            "export/calls.csv": CALLS_CSV,
            "export/transfers.csv": TRANSFERS_CSV,
            "export/more.jsonl": MORE_JSONL,
            "__MACOSX/export/._calls.csv": b"\x00\x05\x16\x07 resource fork",
            "export/.DS_Store": b"\x00\x00\x00\x01Bud1",
        },
    )

    result = import_files([path], partial=True)

    assert result.error_lines() == [f"export.zip[export/calls.csv]: line 3: {FAX}"]
    assert sorted(Call.objects.values_list("external_id", flat=True)) == ["C-1", "C-3"]
    assert list(Transfer.objects.values_list("call__external_id", "to_department__name")) == [
        ("C-1", "Sales")
    ]
    assert result.rejects_paths == [tmp_path / "export.rejects.zip"]
    with zipfile.ZipFile(tmp_path / "export.rejects.zip") as rejects:
        assert rejects.namelist() == ["export/calls.rejects.csv"]
        assert list(csv.reader(rejects.read("export/calls.rejects.csv").decode().splitlines())) == [
            ["external_id", "channel", "started_at", "ended_at", "errors"],
            ["C-2", "fax", "2026-11-02T11:00:00Z", "2026-11-02T11:05:00Z", FAX],
        ]
    again = import_files([path], partial=True)
    assert (again.created, again.unchanged) == (0, 2)


def test_a_zip_with_one_file_is_named_by_the_archive_and_all_or_nothing_holds(db, tmp_path):
    path = archive(tmp_path / "calls.zip", {"calls.csv": CALLS_CSV})

    result = import_files([path])

    assert result.error_lines() == [f"line 3: {FAX}"]
    assert not Call.objects.exists()


def test_archives_that_cannot_be_imported_are_refused_before_anything_is_read(db, tmp_path, settings):
    damaged = tmp_path / "damaged.zip"
    damaged.write_bytes(b"PK\x03\x04 not really a zip")
    empty = archive(tmp_path / "empty.zip", {"folder/": ""})
    nested = archive(tmp_path / "nested.zip", {"calls.csv.gz": gzip.compress(CALLS_CSV.encode())})
    big = archive(tmp_path / "big.zip", {"calls.csv": CALLS_CSV + "x" * 5000})
    settings.CALLS_IMPORT_ARCHIVE_MAX_BYTES = 4096

    for path, message in [
        (damaged, r"damaged.zip: not a readable zip archive \(File is not a zip file\)"),
        (empty, "empty.zip: no file in the zip archive"),
        (nested, "nested.zip: calls.csv.gz is itself an archive or a workbook: import it on its own"),
        (
            big,
            rf"big.zip: its files unpack to {len(CALLS_CSV) + 5000:,} bytes, more than the 4,096 allowed \(CALLS_IMPORT_ARCHIVE_MAX_BYTES\)",
        ),
    ]:
        with pytest.raises(ImportSetupError, match=message):
            import_files([path])
    assert not Call.objects.exists()


def test_an_uploaded_zip_keeps_its_rejects_as_a_zip(admin_user, tmp_path):
    data = archive(
        tmp_path / "export.zip", {"calls.csv": CALLS_CSV, "transfers.csv": TRANSFERS_CSV}
    ).read_bytes()
    clean = archive(tmp_path / "clean.zip", {"more.jsonl": MORE_JSONL}).read_bytes()
    call_import = services.call_import_create(
        user=admin_user,
        uploads=[services.Upload("export.zip", data), services.Upload("clean.zip", clean)],
        partial=True,
    )

    services.call_import_run(call_import.pk)

    call_import = CallImport.objects.get()
    assert (call_import.status, call_import.created, call_import.rejected) == ("done", 2, 1)
    stored = {file.name: file for file in call_import.files.all()}
    assert (stored["export.zip"].rejects_name, stored["clean.zip"].rejects_name) == ("export.rejects.zip", "")
    with zipfile.ZipFile(io.BytesIO(bytes(stored["export.zip"].rejects))) as rejects:
        assert rejects.namelist() == ["calls.rejects.csv"]


def test_unreadable_workbooks_other_office_files_and_binary_files_get_one_clear_refusal(db, tmp_path):
    xls = tmp_path / "calls.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600)  # OLE2, but no workbook
    ods = archive(
        tmp_path / "calls.ods",
        {"mimetype": "application/vnd.oasis.opendocument.spreadsheet", "content.xml": "<x/>"},
    )
    odt = archive(
        tmp_path / "letter.zip",
        {"mimetype": "application/vnd.oasis.opendocument.text", "content.xml": "<x/>"},
    )
    pdf = tmp_path / "calls.csv"
    pdf.write_bytes(b"%PDF-1.7\n\x00\x01\x02 binary")
    in_zip = archive(tmp_path / "export.zip", {"report.pdf": b"%PDF-1.7\n\x00\x01"})
    xls_in_zip = archive(tmp_path / "old.zip", {"calls.xls": (DATA / "export.xls").read_bytes()})
    gzipped_xls = tmp_path / "calls.xls.gz"
    gzipped_xls.write_bytes(gzip.compress((DATA / "export.xls").read_bytes()))

    for path, message in [
        (xls, r"calls.xls: not a readable .xls workbook \(CalamineError: "),
        (ods, r"calls.ods: not a readable .ods workbook \(CalamineError: "),
        (odt, "letter.zip: an OpenDocument file that is not a spreadsheet"),
        (pdf, r"calls.csv: a binary file, not JSON Lines, JSON, CSV or a workbook \(.xlsx, .xls, .ods\)"),
        (in_zip, "export.zip: report.pdf: a binary file"),
        (xls_in_zip, "old.zip: calls.xls is itself an archive or a workbook: import it on its own"),
        (gzipped_xls, "calls.xls.gz: a compressed workbook or zip archive: import the file itself"),
    ]:
        with pytest.raises(ImportSetupError, match=message):
            import_files([path])


def test_a_stray_nul_byte_in_a_text_file_is_one_rows_error_not_a_binary_file(db, tmp_path):
    path = tmp_path / "calls.csv"
    path.write_bytes(CALLS_CSV.replace("C-2,fax", "C-2,ph\x00one").encode())

    result = import_files([path], partial=True)

    assert result.error_lines() == ["line 3: channel: contains a NUL character"]
    assert list(Call.objects.values_list("external_id", flat=True)) == ["C-1"]
