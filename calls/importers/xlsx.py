"""Excel workbooks (.xlsx): each sheet read as the CSV file its header says it is.

A workbook may hold the calls, transfers and escalations sheets together, or one of them; sheets whose
first row names no calls, transfers or escalations columns (a summary, notes) are left out. Cells are
turned into the text a CSV export would hold, so the CSV rules apply unchanged: a date-time cell (Excel
keeps no offset) is read in the import's time zone, a whole number is its digits.

openpyxl reads the workbook in read-only mode (rows streamed, not the whole sheet in memory); with
defusedxml installed it refuses XML entity bombs.
"""

from __future__ import annotations

import zipfile
from collections.abc import Iterator
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

from openpyxl import load_workbook
from openpyxl.utils.exceptions import InvalidFileException

from . import parsing
from .parsing import CsvHeaderError, Errors

ZIP_MAGIC = b"PK\x03\x04"
SUFFIXES = {".xlsx", ".xlsm"}


class WorkbookError(ValueError):
    """A file that is not a readable .xlsx workbook."""


def _open(path: Path):
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except (InvalidFileException, zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise WorkbookError(f"not a readable .xlsx workbook ({type(error).__name__}: {error})") from None


def _text(value: Any) -> str:
    """A cell as the text a CSV export would hold."""
    if value is None:
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


def table_sheets(path: Path) -> list[str]:
    """The names of the sheets whose first row names a calls, transfers or escalations file."""
    workbook = _open(path)
    try:
        names = []
        for sheet in workbook.worksheets:
            first = next(sheet.iter_rows(max_row=1, values_only=True), ())
            header = set(_header(first))
            if "external_id" in header or "call_external_id" in header:
                names.append(sheet.title)
        return names
    finally:
        workbook.close()


def sheet_rows(path: Path, sheet: str) -> tuple[str, list[str], Iterator[tuple[int, list[str], Errors]]]:
    """(kind, header, rows) of one sheet, as parsing.csv_rows gives them for a CSV file; rows are
    (row number, cells, errors). CsvHeaderError for a header that cannot be used."""
    workbook = _open(path)
    rows = workbook[sheet].iter_rows(values_only=True)
    header = _header(next(rows, ()))
    kind, errors = parsing.csv_kind(header)
    if errors:
        workbook.close()
        raise CsvHeaderError(errors)

    def numbered() -> Iterator[tuple[int, list[str], Errors]]:
        try:
            for number, row in enumerate(rows, start=2):
                cells = [_text(value) for value in row]
                extra = cells[len(header) :]
                if not any(cell.strip() for cell in cells):
                    continue  # an empty row
                errors: Errors = []
                if any(cell.strip() for cell in extra):
                    errors.append(("record", f"a value beyond the header's {len(header)} columns"))
                yield number, (cells + [""] * len(header))[: len(header)], errors
        finally:
            workbook.close()

    return kind, header, numbered()
