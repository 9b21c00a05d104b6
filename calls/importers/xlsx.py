"""Spreadsheet workbooks (.xlsx, and Excel 97-2003 .xls and OpenDocument .ods): each sheet read as the CSV
file its header says it is.

A workbook may hold the calls, transfers and escalations sheets together, or one of them; sheets whose
first row names no calls, transfers or escalations columns (a summary, notes) are left out. Cells are
turned into the text a CSV export would hold, so the CSV rules apply unchanged: a date-time cell (Excel
keeps no offset) is read in the import's time zone, a whole number is its digits.

.xls and .ods files, and .xlsx sheets up to CALAMINE_XLSX_MAX_SHEET_XML, are read by calamine (Rust), which
holds one sheet in memory at a time (a 50,000-row, 18-column sheet peaked at 171 MiB as .xlsx, 230 MiB
as .xls, against 95 MiB for the same rows as CSV); an .xls sheet has at most 65,536 rows. Larger .xlsx
sheets are read by openpyxl in read-only mode (rows streamed, not the whole sheet in memory), with
defusedxml refusing XML entity bombs (calamine's XML reader expands no entities).
"""

from __future__ import annotations

import zipfile
from collections.abc import Callable, Iterator
from datetime import date, datetime, time, timedelta
from itertools import chain
from pathlib import Path
from typing import Any

import python_calamine
from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from . import parsing
from .parsing import CsvHeaderError, Errors

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"  # Excel 97-2003 (.xls), and other old Office files
SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods"}
ODS_MIMETYPE = b"application/vnd.oasis.opendocument.spreadsheet"
_CALAMINE_ERRORS = (python_calamine.CalamineError, OSError, ValueError)


class WorkbookError(ValueError):
    """A file that is not a readable workbook."""


def opendocument_type(archive: zipfile.ZipFile) -> bytes | None:
    """The media type of an OpenDocument file (its first member, `mimetype`, names it); None for other zips."""
    if "mimetype" not in archive.namelist():
        return None
    media_type = archive.read("mimetype")
    return media_type if media_type.startswith(b"application/vnd.oasis.opendocument") else None


def is_ods(archive: zipfile.ZipFile) -> bool:
    """Whether a zip archive is an OpenDocument spreadsheet."""
    return (opendocument_type(archive) or b"").startswith(ODS_MIMETYPE)


# .xlsx sheets of up to this much XML are read by calamine too, in memory: 3.5 times faster than openpyxl
# (50,000 rows of 18 columns, a 42 MiB sheet: 6,100 calls/s vs 1,730, peak RSS 171 MiB vs 131 MiB). Larger
# sheets are streamed by openpyxl, in memory flat in the sheet's size.
CALAMINE_XLSX_MAX_SHEET_XML = 64 * 2**20
# .xls and .ods have no streaming reader: bigger ones are refused rather than read into a worker's memory.
# An .ods sheet takes about as much memory as its XML (50,000 rows of 18 columns: 106 MiB of XML, 120 MiB);
# an .xls about 8 times its size (16 MiB: 136 MiB).
ODS_MAX_CONTENT_XML = 256 * 2**20
XLS_MAX_BYTES = 32 * 2**20


def _refuse_oversized(path: Path, kind: str) -> None:
    """WorkbookError for an .xls or .ods file too big to be read in memory."""
    if kind == "xls":
        size, limit, what = path.stat().st_size, XLS_MAX_BYTES, "the file is"
    else:
        with zipfile.ZipFile(path) as archive:
            size = archive.getinfo("content.xml").file_size if "content.xml" in archive.namelist() else 0
        limit, what = ODS_MAX_CONTENT_XML, "its sheets unpack to"
    if size > limit:
        raise WorkbookError(
            f"too big to read: {what} {size / 2**20:,.0f} MiB, more than the {limit / 2**20:,.0f} MiB an "
            f".{kind} workbook may be (it is read in memory); save it as .xlsx or CSV, which are streamed"
        )


def _kind(path: Path) -> tuple[str, bool]:
    """("xls", "ods" or "xlsx" by the file's content, whether calamine reads it)."""
    with path.open("rb") as stream:
        head = stream.read(len(OLE2_MAGIC))
    if head.startswith(OLE2_MAGIC):
        return "xls", True
    try:
        with zipfile.ZipFile(path) as archive:
            if is_ods(archive):
                return "ods", True
            sheets = [
                info.file_size for info in archive.infolist() if info.filename.startswith("xl/worksheets/")
            ]
            return "xlsx", bool(sheets) and max(sheets) <= CALAMINE_XLSX_MAX_SHEET_XML
    except (zipfile.BadZipFile, OSError):
        return "xlsx", False  # openpyxl names the problem


def _open(path: Path):
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise WorkbookError(f"not a readable .xlsx workbook ({type(error).__name__}: {error})") from None


def _open_calamine(path: Path, kind: str):
    try:
        return python_calamine.CalamineWorkbook.from_path(str(path))
    except _CALAMINE_ERRORS as error:
        raise WorkbookError(f"not a readable .{kind} workbook ({type(error).__name__}: {error})") from None


def _calamine_sheet_rows(book, name: str, kind: str) -> tuple[Iterator[tuple[int, list]], int]:
    """(row number, cells) of a sheet read by calamine, from row 1 as openpyxl gives them (calamine starts at
    the first used cell, so the empty rows and columns before it are put back), and the last row's number."""
    try:
        sheet = book.get_sheet_by_name(name)
    except _CALAMINE_ERRORS as error:
        raise WorkbookError(f"sheet {name!r} of the .{kind} workbook is not readable ({error})") from None
    if sheet.start is None:  # an empty sheet
        return iter(()), 0
    first_row, first_column = sheet.start
    padding = [None] * first_column
    used = (
        (number, padding + row if padding else row)
        for number, row in enumerate(sheet.iter_rows(), start=first_row + 1)
    )
    return chain(((number, []) for number in range(1, first_row + 1)), used), first_row + sheet.height


class SheetRows(Iterator[tuple[int, list[str], Errors]]):
    """The rows sheet_rows gives, and the number of the sheet's last row when the workbook tells it (for
    progress: a workbook is not read in file order)."""

    def __init__(self, rows: Iterator[tuple[int, list[str], Errors]], last_row: int | None):
        self._rows = rows
        self.last_row = last_row

    def __next__(self) -> tuple[int, list[str], Errors]:
        return next(self._rows)


# What a formula that failed holds (openpyxl gives it as this text; calamine as an empty cell): read as empty
# by both, so a workbook reads the same whichever reader its size picks.
_FORMULA_ERRORS = frozenset(
    {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!", "#CALC!"}
)


def _text(value: Any) -> str:
    """A cell as the text a CSV export would hold."""
    if value is None or (type(value) is str and value in _FORMULA_ERRORS):
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date | time):
        return value.isoformat()
    if isinstance(value, timedelta):
        # A duration cell ([h]:mm:ss): as h:mm:ss, which the *_seconds columns read.
        seconds = round(value.total_seconds())
        sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
        return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _header(row: tuple) -> list[str]:
    cells = [parsing.csv_column(_text(value)) for value in row]
    while cells and not cells[-1]:  # trailing empty cells: the sheet's used range, not columns
        cells.pop()
    return cells


def _is_table(first_row) -> bool:
    header = set(_header(first_row))
    return "external_id" in header or "call_external_id" in header


def table_sheets(path: Path) -> list[str]:
    """The names of the sheets whose first row names a calls, transfers or escalations file."""
    kind, calamine = _kind(path)
    if kind != "xlsx":
        _refuse_oversized(path, kind)
    if calamine:
        book = _open_calamine(path, kind)
        try:
            worksheets = [
                sheet.name
                for sheet in book.sheets_metadata
                if sheet.typ == python_calamine.SheetTypeEnum.WorkSheet
            ]
            return [
                name
                for name in worksheets
                if _is_table(next((row for _, row in _calamine_sheet_rows(book, name, kind)[0]), ()))
            ]
        finally:
            book.close()
    workbook = _open(path)
    try:
        return [
            sheet.title
            for sheet in workbook.worksheets
            if _is_table(next(sheet.iter_rows(max_row=1, values_only=True), ()))
        ]
    finally:
        workbook.close()


def sheet_rows(path: Path, sheet: str) -> tuple[str, list[str], SheetRows]:
    """(kind, header, rows) of one sheet, as parsing.csv_rows gives them for a CSV file; rows are
    (row number, cells, errors). CsvHeaderError for a header that cannot be used."""
    kind, calamine = _kind(path)
    close: Callable[[], None]
    rows: Iterator[tuple[int, Any]]
    if calamine:
        book = _open_calamine(path, kind)
        close = book.close
        try:
            rows, last_row = _calamine_sheet_rows(book, sheet, kind)
        except WorkbookError:
            close()
            raise
    else:
        workbook = _open(path)
        close = workbook.close
        worksheet = workbook[sheet]
        last_row = worksheet.max_row  # from the sheet's <dimension>, if it has one
        rows = enumerate(worksheet.iter_rows(values_only=True), start=1)
    header = _header(next(rows, (1, ()))[1])
    table, errors = parsing.csv_kind(header)
    if errors:
        close()
        raise CsvHeaderError(errors)

    def numbered() -> Iterator[tuple[int, list[str], Errors]]:
        try:
            for number, row in rows:
                cells = [_text(value) for value in row]
                extra = cells[len(header) :]
                if not any(cell.strip() for cell in cells):
                    continue  # an empty row
                errors: Errors = []
                if any(cell.strip() for cell in extra):
                    errors.append(("record", f"a value beyond the header's {len(header)} columns"))
                yield number, (cells + [""] * len(header))[: len(header)], errors
        finally:
            close()

    return table, header, SheetRows(numbered(), last_row)
