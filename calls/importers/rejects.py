"""Rejects files: exactly the rows a partial import did not write, with the reasons, ready to fix and re-import.

CSV: the original columns plus an `errors` column. Workbooks (.xlsx): the same, sheet by sheet. JSON Lines (and JSON arrays):
{"line": N, "errors": ["field: reason", ...], "record": <the record, or the raw line if it was not JSON>}.
"""

from __future__ import annotations

import csv
import io
import os
import tempfile
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import orjson
from openpyxl import Workbook, load_workbook

from . import parsing, xlsx

if TYPE_CHECKING:
    from .runner import Source


# Rejected rows of a workbook go to an .xlsx workbook whatever the input's format.
_REJECTS_SUFFIX = {".xls": ".xlsx", ".ods": ".xlsx"}


def rejects_name(name: str) -> str:
    """calls.csv → calls.rejects.csv; calls.jsonl.gz → calls.rejects.jsonl; calls.ods → calls.rejects.xlsx."""
    named = Path(name[:-3] if name.lower().endswith(".gz") else name)
    suffix = named.suffix
    return f"{named.stem}.rejects{_REJECTS_SUFFIX.get(suffix.lower(), suffix) or '.txt'}"


def rejects_file_for(source_path: Path, rejects_path: Path | None, several: bool) -> Path:
    """One input: `rejects_path` itself. Several: `rejects_path` is a folder. None: beside the input.

    A rejects file is never compressed: calls.jsonl.gz gives calls.rejects.jsonl; a workbook's is a workbook."""
    name = rejects_name(source_path.name)
    if rejects_path is None:
        return source_path.with_name(name)
    if several:
        rejects_path.mkdir(parents=True, exist_ok=True)
        return rejects_path / name
    return rejects_path


def write_rejects(
    sources: list[Source], reasons: dict[int, dict[int, list[str]]], rejects_path: str | os.PathLike | None
) -> list[Path]:
    """One rejects file per input file, in order (a workbook's sheets go to one rejects workbook)."""
    files: dict[Path, list[tuple[int, Source]]] = {}
    for src, source in enumerate(sources):
        if source.path is not None:
            files.setdefault(source.path, []).append((src, source))
    several = len(files) > 1
    written: list[Path] = []
    for number, (path, parts) in enumerate(files.items(), start=1):
        target = rejects_file_for(path, Path(rejects_path) if rejects_path else None, several)
        if target in written:
            # Two inputs whose rejects files share a name (a/calls.csv and b/calls.csv into one folder,
            # calls.csv beside calls.csv.gz): the later one is told apart by its position, as uploads are.
            target = target.with_name(f"{number}-{target.name}")
        src, source = parts[0]
        if source.member:
            _write_archive(parts, target, reasons)
        elif source.format == "xlsx":
            _write_workbook(parts, target, reasons)
        elif source.format == "csv":
            _write_csv(source, target, reasons.get(src, {}))
        else:
            _write_json(source, target, reasons.get(src, {}))
        written.append(target)
    return written


def _write_workbook(
    parts: list[tuple[int, Source]], target: Path, reasons: dict[int, dict[int, list[str]]]
) -> None:
    """The rejected rows of each sheet in a sheet of the same name, under its header and an `errors` column
    (cells as text: dates in ISO 8601, which the import reads back)."""
    book = Workbook(write_only=True)
    for src, source in parts:
        by_line = reasons.get(src, {})
        sheet = book.create_sheet(source.sheet)
        _kind, header, rows = xlsx.sheet_rows(source.path, source.sheet)
        keep = _without_errors_column(header)
        sheet.append([*keep(header), "errors"])
        for line, cells, _problems in rows:
            if line in by_line:
                sheet.append([*keep(cells), "; ".join(by_line[line])])
    book.save(target)


def _write_archive(
    parts: list[tuple[int, Source]], target: Path, reasons: dict[int, dict[int, list[str]]]
) -> None:
    """A zip archive's rejects: a zip holding the rejects file of each of its files that had rejected rows."""
    with (
        tempfile.TemporaryDirectory(prefix="qa-rejects-") as folder,
        zipfile.ZipFile(target, "w", compression=zipfile.ZIP_DEFLATED) as archive,
    ):
        for src, source in parts:
            by_line = reasons.get(src, {})
            if not by_line:
                continue
            member = Path(source.member)
            written = Path(folder) / "rejects"
            if source.format == "csv":
                _write_csv(source, written, by_line)
            else:
                _write_json(source, written, by_line)
            archive.write(written, str(rejects_file_for(member, None, False)))


def rejected_rows(data: bytes) -> int:
    """How many rejected rows a rejects file holds (any of the kinds above)."""
    if data.startswith(xlsx.ZIP_MAGIC):
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            if "xl/workbook.xml" not in archive.namelist():  # a zip of rejects files
                return sum(rejected_rows(archive.read(name)) for name in archive.namelist())
        book = load_workbook(io.BytesIO(data), read_only=True)
        try:
            # Row counts from the rows themselves: a streamed workbook records no dimensions.
            return sum(max(sum(1 for _ in sheet.iter_rows()) - 1, 0) for sheet in book.worksheets)
        finally:
            book.close()
    if data.startswith(b'{"line":'):
        return data.count(b"\n")
    lines = data.count(b"\n")
    header_lines = 1 + (
        1 if parsing.csv_separator_line(data.split(b"\n", 1)[0].decode("utf-8", "replace")) else 0
    )
    return max(lines - header_lines, 0)  # an empty file (a JSON input with nothing rejected) holds none


def _without_errors_column(header: list[str]):
    """Drops the `errors` column of a rejects file imported again from a row (its reasons are replaced)."""
    if parsing.REJECTS_ERRORS_COLUMN not in header:
        return lambda cells: cells
    position = header.index(parsing.REJECTS_ERRORS_COLUMN)
    return lambda cells: [cell for index, cell in enumerate(cells) if index != position]


def _write_csv(source: Source, target: Path, by_line: dict[int, list[str]]) -> None:
    with source.open() as stream, target.open("w", newline="", encoding="utf-8") as out:
        # Same separator (and `sep=` line) as the source, so the file opens like the one the user exported.
        raw_lines = parsing.physical_lines(stream)
        head = (next(raw_lines, b"") or b"").removeprefix(parsing.BOM).decode("utf-8", "replace")
        if parsing.csv_type_line(head):  # PowerShell's #TYPE line: left out
            head = (next(raw_lines, b"") or b"").decode("utf-8", "replace")
        separator = parsing.csv_separator_line(head)
        if separator:
            out.write(head.rstrip("\r\n") + "\r\n")
            head = (next(raw_lines, b"") or b"").decode("utf-8", "replace")
        stream.seek(0)
        delimiter = separator or parsing.csv_delimiter(head)
        writer = csv.writer(out, delimiter=delimiter)
        _kind, header, rows = parsing.csv_rows(stream)
        as_written = next(csv.reader([head.rstrip("\r\n")], delimiter=delimiter), [])
        keep = _without_errors_column(header)
        writer.writerow([*keep(as_written if len(as_written) == len(header) else header), "errors"])
        for line, cells, _problems in rows:
            if line in by_line:
                writer.writerow([*keep(cells), "; ".join(by_line[line])])


def _write_json(source: Source, target: Path, by_line: dict[int, list[str]]) -> None:
    with source.open() as stream, target.open("wb") as out:
        if source.format == "json":
            reader = io.BufferedReader(stream) if not hasattr(stream, "peek") else stream
            if reader.peek(3).startswith(parsing.BOM):
                reader.read(3)
            items = parsing.json_items(reader)
            numbered = ((index, orjson.dumps(item)) for index, item in enumerate(items, start=1))
        else:
            numbered = (
                (number, raw) for number, raw in enumerate(parsing.capped_lines(stream, None), start=1)
            )
        for line, raw in numbered:
            if line not in by_line:
                continue
            if raw is None:  # longer than a record may be: not kept
                out.write(orjson.dumps({"line": line, "errors": by_line[line], "record": None}) + b"\n")
                continue
            raw = raw.removeprefix(parsing.BOM) if line == 1 else raw
            try:
                record = parsing.rejected_record(orjson.loads(raw))  # a rejects file imported again
            except orjson.JSONDecodeError:
                record = raw.decode("utf-8", "replace").rstrip("\r\n")
            out.write(orjson.dumps({"line": line, "errors": by_line[line], "record": record}) + b"\n")
