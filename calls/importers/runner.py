"""The import driver: read sources, validate rows, stage them, check, merge, write rejects."""

from __future__ import annotations

import codecs
import functools
import gzip
import io
import os
import re
import time
import zipfile
import zlib
import zoneinfo
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, timedelta, timezone, tzinfo
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connection, transaction

from ..events import calls_imported_on_commit
from . import parsing, rejects, xlsx
from .parsing import KIND_CALL, KIND_ESCALATION, KIND_TRANSFER
from .result import ImportResult, RowError
from .staging import Finding, StageBackend

Progress = Callable[[int, int | None], None]

# How often the progress callback is called: every this many bytes (files) or records (import_records).
PROGRESS_BYTES = 1 << 20
PROGRESS_RECORDS = 1000


class ImportSetupError(ValueError):
    """The import cannot start (unknown time zone, unreadable file, ...): nothing was read or written."""


GZIP_MAGIC = b"\x1f\x8b"
# What a truncated or damaged gzip stream raises while it is read.
GZIP_ERRORS = (EOFError, gzip.BadGzipFile, zlib.error)


class _CountingReader(io.RawIOBase):
    """A binary file that reports how many bytes are read from it (a compressed file's progress)."""

    def __init__(self, raw: IO[bytes], on_bytes: Callable[[int], None] | None):
        self.raw = raw
        self.on_bytes = on_bytes

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:  # GzipFile rewinds (seek(0)) to read a file again
        return self.raw.seekable()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def readinto(self, buffer) -> int:
        count = self.raw.readinto(buffer)
        if count and self.on_bytes is not None:
            self.on_bytes(count)
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


def _utf16(head: bytes) -> bool:
    return head.startswith(parsing.UTF16_BOMS)


def resolve_encoding(name: str | None) -> str:
    """The codec of a file's encoding as the user names it ("cp1252", "Windows-1252", "latin-1"...): ""
    for UTF-8, the default; ImportSetupError for a name Python does not know.

    A byte-order mark in the file overrides it (UTF-8 and UTF-16 files say what they are)."""
    if not name or not name.strip():
        return ""
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, ValueError):  # ValueError: a name with a NUL character
        raise ImportSetupError(f"unknown encoding {name.strip()!r}") from None
    # base64, rot13, zlib, hex...: codecs.lookup finds them too, but they do not turn bytes into text.
    if not getattr(info, "_is_text_encoding", True):
        raise ImportSetupError(f"{name.strip()!r} is not a text encoding")
    return "" if info.name == "utf-8" else info.name


def _encoding_for(head: bytes, encoding: str) -> str:
    """The encoding a file is read in: a byte-order mark wins over what the user said."""
    return "" if head.startswith((parsing.BOM, *parsing.UTF16_BOMS)) else encoding


class UndecodableError(ValueError):
    """A file that is not valid in the encoding it is read in: where, and why."""

    def __init__(self, line: int, reason: str):
        super().__init__(reason)
        self.line = line
        self.reason = reason


class _Rewindable(io.RawIOBase):
    """A byte stream read from its start, which can only be rewound (the readers read a file again)."""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        if (offset, whence) != (0, io.SEEK_SET):
            raise io.UnsupportedOperation(f"{type(self).__name__} can only be rewound")
        self.rewind()
        return 0

    def rewind(self) -> None:
        raise NotImplementedError


class _Utf8Recoder(_Rewindable):
    """A file in another encoding (UTF-16, Windows-1252, ...) read as UTF-8 bytes, so the readers see what
    they see in any other file.

    Bytes are decoded as they are read (memory stays flat). Bytes that are not valid in the encoding raise
    UndecodableError with the line they are on, which refuses the import like damaged gzip data.
    """

    BYTES = 1 << 16

    def __init__(self, raw: IO[bytes], encoding: str):
        self.raw = raw
        self.encoding = encoding
        self.decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
        self.pending = b""
        self.lines = 0  # line breaks decoded so far
        self.label = "UTF-16" if encoding == "utf-16" else encoding
        self.prefix_codec = encoding  # decodes the good bytes before a bad one (UTF-16: in the file's order)

    def rewind(self) -> None:
        self.raw.seek(0)
        self.decoder.reset()
        self.pending = b""
        self.lines = 0
        self.prefix_codec = self.encoding

    def _decode(self, chunk: bytes, final: bool) -> str:
        try:
            return self.decoder.decode(chunk, final)
        except UnicodeDecodeError as error:
            try:
                before = codecs.decode(error.object[: error.start], self.prefix_codec, "replace")
            except UnicodeError:  # a codec without the "replace" handler (idna): count lines in latin-1
                before = error.object[: error.start].decode("latin-1")
            line = self.lines + before.count("\n") + 1
            column = len(before) - before.rfind("\n")
            bad = error.object[error.start : error.end].hex(" ")
            raise UndecodableError(
                line, f"not valid {self.label} (bytes {bad} at column {column}: {error.reason})"
            ) from None
        except UnicodeError as error:  # not a decoding position: "UTF-16 stream does not start with BOM"
            raise UndecodableError(self.lines + 1, f"not valid {self.label} ({error})") from None

    def readinto(self, buffer) -> int:
        while not self.pending:
            chunk = self.raw.read(self.BYTES)
            if self.encoding == "utf-16" and self.prefix_codec == "utf-16":  # the first chunk: its BOM
                self.prefix_codec = "utf-16-be" if chunk.startswith(b"\xfe\xff") else "utf-16-le"
            text = self._decode(chunk, final=not chunk)
            if not text and not chunk:
                return 0
            self.lines += text.count("\n")
            self.pending = text.encode("utf-8")
        count = min(len(buffer), len(self.pending))
        buffer[:count] = self.pending[:count]
        self.pending = self.pending[count:]
        return count

    def close(self) -> None:
        self.raw.close()
        super().close()


class _ZipMember(_Rewindable):
    """One file of a zip archive, decompressed as it is read (rewinding opens it again)."""

    def __init__(self, path: Path, member: str):
        self.archive = zipfile.ZipFile(path)
        self.member = member
        self.raw = self.archive.open(member)

    def rewind(self) -> None:
        self.raw.close()
        self.raw = self.archive.open(self.member)

    def readinto(self, buffer) -> int:
        return self.raw.readinto(buffer)

    def close(self) -> None:
        self.raw.close()
        self.archive.close()
        super().close()


@dataclass
class Source:
    name: str
    path: Path | None = None
    data: bytes | None = None
    records: Iterable | None = None
    format: str = ""  # 'jsonl', 'json', 'csv' or 'records'
    size: int | None = None
    compressed: bool = False  # a gzip file (calls.jsonl.gz): read decompressed, progress in compressed bytes
    utf16: bool = False  # UTF-16 with a byte-order mark: read as UTF-8, progress in the file's bytes
    encoding: str = ""  # another encoding than UTF-8, as the user named it (Windows-1252, ...): read as UTF-8
    sheet: str = ""  # format 'xlsx': the workbook's sheet this source is
    member: str = ""  # a file inside a zip archive (`path`): read from the archive as it is decompressed

    @property
    def charset(self) -> str:
        """The encoding the file is decoded from when it is not UTF-8 ("" when it is)."""
        return "utf-16" if self.utf16 else self.encoding

    @property
    def recoded(self) -> bool:
        """The readers see other bytes than the file holds: progress counts the file's own bytes."""
        return self.compressed or bool(self.charset)

    def open(self, on_file_bytes: Callable[[int], None] | None = None) -> IO[bytes]:
        if self.member:
            stream: IO[bytes] = io.BufferedReader(_ZipMember(self.path, self.member))
        elif self.path is not None:
            stream = self.path.open("rb")
        else:
            stream = io.BytesIO(self.data or b"")
        if self.recoded:
            stream = _CountingReader(stream, on_file_bytes)
        if self.compressed:
            stream = gzip.GzipFile(fileobj=stream, mode="rb")
        if self.charset:
            stream = io.BufferedReader(_Utf8Recoder(stream, self.charset))
        return stream


@dataclass
class _Run:
    """Per-import state: the Python-side errors and progress accounting."""

    zone: tzinfo
    backend: StageBackend
    progress: Progress | None
    total_bytes: int | None = None
    date_order: str = ""  # "mdy" or "dmy": how spreadsheet dates (11/2/2026 9:15) are read
    errors: list[tuple[int, int, int, str, str]] = field(
        default_factory=list
    )  # (src, line, order, field, reason)
    fatal: bool = False
    done_bytes: int = 0
    next_report: int = PROGRESS_BYTES
    records: int = 0
    line: int = 0  # the line of the current file last read (where a damaged compressed file broke off)

    def error(self, src: int, line: int, field_name: str, reason: str) -> None:
        self.errors.append((src, line, len(self.errors), field_name, reason))

    def on_bytes(self, count: int) -> None:
        self.done_bytes += count
        if self.done_bytes >= self.next_report:
            self.next_report = self.done_bytes + PROGRESS_BYTES
            if self.progress is not None:
                self.progress(self.done_bytes, self.total_bytes)


def resolve_date_order(name: str | None) -> str:
    """ "mdy", "dmy", or "" (spreadsheet dates with the year last are refused); ImportSetupError otherwise."""
    order = (name or "").strip().lower()
    if order and order not in parsing.DATE_ORDERS:
        raise ImportSetupError(f"unknown date order {name!r} (expected mdy or dmy)")
    return order


# A fixed UTC offset, as exports state their zone: +01:00, -0500, UTC+1, GMT-03:30.
_FIXED_OFFSET = re.compile(r"(?:UTC|GMT)?\s*([+-])([0-9]{1,2})(?::?([0-5][0-9]))?", re.IGNORECASE)


@functools.cache
def _zone_names() -> dict[str, str]:
    """IANA zone names by their lower-case form (`europe/paris` → `Europe/Paris`)."""
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def resolve_timezone(name: str | tzinfo | None) -> tzinfo:
    """The zone of naive timestamps: an IANA name in any case (Europe/Paris), UTC, or a fixed offset (+01:00,
    UTC-5); the site's zone when none is given."""
    if name is None or name == "":
        name = settings.TIME_ZONE
    if isinstance(name, tzinfo):
        return name
    text = name.strip()
    if text.upper() in {"UTC", "GMT", "Z"}:
        return UTC
    if offset := _FIXED_OFFSET.fullmatch(text):
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if delta <= timedelta(hours=14):
            return timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(_zone_names().get(text.lower(), text))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        raise ImportSetupError(
            f"unknown time zone {name!r} (an IANA name such as Europe/Paris, or an offset such as +01:00)"
        ) from None


def _backend(source_names: list[str], csv_sources: set[int], partial: bool) -> StageBackend:
    if connection.vendor == "postgresql":
        from .postgres import PipelinedPostgresStage, PostgresStage

        if not csv_sources:
            return PipelinedPostgresStage(connection, source_names=source_names, partial=partial)
        return PostgresStage(connection, source_names=source_names, csv_sources=csv_sources)
    from .sqlite import MemoryStage

    return MemoryStage(source_names=source_names, csv_sources=csv_sources)


def file_sources(paths: Iterable[str | os.PathLike], encoding: str = "") -> list[Source]:
    sources = []
    for raw in paths:
        path = Path(raw)
        try:
            with path.open("rb") as stream:
                head = stream.read(4096)
            size = path.stat().st_size
        except OSError as error:
            raise ImportSetupError(f"{path}: cannot read ({error.strerror or error})") from None
        # Exports often come gzipped (calls.jsonl.gz): told by the content, the format by the inner name.
        compressed = head.startswith(GZIP_MAGIC)
        inner = path.with_suffix("") if compressed and path.suffix.lower() == ".gz" else path
        if compressed:
            try:
                with gzip.open(path, "rb") as stream:
                    head = stream.read(4096)
            except (OSError, *GZIP_ERRORS) as error:
                raise ImportSetupError(f"{path}: not a readable gzip file ({error})") from None
        if not compressed and (
            inner.suffix.lower() in xlsx.SUFFIXES
            or head.startswith(xlsx.OLE2_MAGIC)
            or (head.startswith(xlsx.ZIP_MAGIC) and _is_workbook(path))
        ):
            sources += _workbook_sources(path, size)
            continue
        if head.startswith(xlsx.ZIP_MAGIC) and not compressed:
            sources += _archive_sources(path, encoding)
            continue
        _refuse_binary(path, head)
        sources.append(
            Source(
                name=path.name,
                path=path,
                format=_format_of(inner, head),
                size=size,
                compressed=compressed,
                utf16=_utf16(head),
                encoding=_encoding_for(head, encoding),
            )
        )
    names = [source.name for source in sources]
    if len(set(names)) != len(names):  # same file name in two folders: use the paths as given
        for source in sources:
            source.name = str(source.path) + source.name.removeprefix(source.path.name)
    return sources


def _refuse_binary(where: str | Path, head: bytes) -> None:
    """Files that are no text at all get one clear refusal instead of an error on every line."""
    if head.startswith((xlsx.ZIP_MAGIC, xlsx.OLE2_MAGIC)):
        # Only inside a gzip file: a workbook or an archive is read as it is, not compressed again.
        raise ImportSetupError(f"{where}: a compressed workbook or zip archive: import the file itself")
    if head and not _utf16(head):
        # A stray control byte in text is one row's error; this many is no text (PDF, images, executables).
        controls = sum(1 for byte in head if byte < 32 and byte not in (9, 10, 12, 13))
        if head.count(0) * 100 >= len(head) or controls * 10 >= len(head):
            raise ImportSetupError(
                f"{where}: a binary file, not JSON Lines, JSON, CSV or a workbook (.xlsx, .xls, .ods)"
            )


def _format_of(name: Path, head: bytes) -> str:
    """A file's format: by its name (the inner one of a .gz), else by its first bytes."""
    suffix = name.suffix.lower()
    if suffix in {".jsonl", ".ndjson"}:
        # JSON Lines, unless the content is plainly a JSON document (pretty-printed objects, an array).
        return "json" if parsing.sniff_format(head) == "json" else "jsonl"
    if suffix == ".csv":
        return "csv"
    return parsing.sniff_format(head)


def _is_workbook(path: Path) -> bool:
    try:
        with zipfile.ZipFile(path) as archive:
            if (media_type := xlsx.opendocument_type(archive)) is not None:
                if media_type.startswith(xlsx.ODS_MIMETYPE):
                    return True
                raise ImportSetupError(f"{path}: an OpenDocument file that is not a spreadsheet")
            return "xl/workbook.xml" in archive.namelist()
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportSetupError(f"{path}: not a readable zip archive ({error})") from None


def _archive_sources(path: Path, encoding: str) -> list[Source]:
    """One source per file of a zip archive (an export of calls.csv, transfers.csv, ...), read straight from
    the archive; folders, hidden files and macOS' __MACOSX copies are left out. Refused when its files
    unpack to more than CALLS_IMPORT_ARCHIVE_MAX_BYTES (a zip bomb), or hold a workbook or another archive."""
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as error:
        raise ImportSetupError(f"{path}: not a readable zip archive ({error})") from None
    with archive:
        members = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith("__MACOSX/")
            and not Path(info.filename).name.startswith(".")
        ]
        if not members:
            raise ImportSetupError(f"{path}: no file in the zip archive")
        unpacked = sum(info.file_size for info in members)
        if unpacked > settings.CALLS_IMPORT_ARCHIVE_MAX_BYTES:
            raise ImportSetupError(
                f"{path}: its files unpack to {unpacked:,} bytes, more than the "
                f"{settings.CALLS_IMPORT_ARCHIVE_MAX_BYTES:,} allowed (CALLS_IMPORT_ARCHIVE_MAX_BYTES)"
            )
        sources = []
        for info in members:
            if info.flag_bits & 0x1:
                raise ImportSetupError(f"{path}: {info.filename} is encrypted")
            try:
                with archive.open(info) as member:
                    head = member.read(4096)
            except (zipfile.BadZipFile, OSError, *GZIP_ERRORS) as error:
                raise ImportSetupError(f"{path}: {info.filename}: not readable ({error})") from None
            if head.startswith((xlsx.ZIP_MAGIC, xlsx.OLE2_MAGIC, GZIP_MAGIC)):
                raise ImportSetupError(
                    f"{path}: {info.filename} is itself an archive or a workbook: import it on its own"
                )
            _refuse_binary(f"{path}: {info.filename}", head)
            sources.append(
                Source(
                    name=path.name if len(members) == 1 else f"{path.name}[{info.filename}]",
                    path=path,
                    member=info.filename,
                    format=_format_of(Path(info.filename), head),
                    size=info.file_size,
                    utf16=_utf16(head),
                    encoding=_encoding_for(head, encoding),
                )
            )
        return sources


def _workbook_sources(path: Path, size: int) -> list[Source]:
    """One source per sheet of a workbook (.xlsx, .xls, .ods) that holds calls, transfers or escalations, named
    `export.xlsx[Transfers]` when there are several."""
    try:
        sheets = xlsx.table_sheets(path)
    except xlsx.WorkbookError as error:
        raise ImportSetupError(f"{path}: {error}") from None
    if not sheets:
        raise ImportSetupError(
            f"{path}: no sheet whose first row names calls, transfers or escalations columns "
            "(external_id or call_external_id)"
        )
    return [
        Source(
            name=path.name if len(sheets) == 1 else f"{path.name}[{sheet}]",
            path=path,
            format="xlsx",
            size=size // len(sheets),
            sheet=sheet,
        )
        for sheet in sheets
    ]


def run_import(
    sources: list[Source],
    *,
    partial: bool = False,
    default_timezone: str | tzinfo | None = None,
    rejects_path: str | os.PathLike | None = None,
    progress: Progress | None = None,
    date_order: str | None = None,
) -> ImportResult:
    started = time.perf_counter()
    zone = resolve_timezone(default_timezone)
    order = resolve_date_order(date_order)
    names = [source.name for source in sources]
    # Table sources: calls and their transfers and escalations in separate files (or sheets).
    csv_sources = {index for index, source in enumerate(sources) if source.format in ("csv", "xlsx")}
    backend = _backend(names, csv_sources, partial)
    total = sum(source.size or 0 for source in sources) or None
    run = _Run(zone=zone, backend=backend, progress=progress, total_bytes=total, date_order=order)
    result = ImportResult(partial=partial, sources=names)
    findings: list[Finding] = []
    collateral: list[Finding] = []

    with transaction.atomic():
        backend.open()
        try:
            for src, source in enumerate(sources):
                _read_source(run, src, source)
        except BaseException as error:
            backend.close(error)
            raise
        backend.close()
        if progress is not None:
            progress(run.records if sources and sources[0].format == "records" else run.done_bytes, total)
        findings = backend.check()
        has_errors = bool(run.errors or findings)
        if run.fatal or (has_errors and not partial):
            transaction.set_rollback(True)
        else:
            if has_errors:
                collateral = backend.reject(findings)
            counts, affected = backend.merge()
            result.created, result.updated, result.unchanged = (
                counts.created,
                counts.updated,
                counts.unchanged,
            )
            result.affected_started_from = affected.started_from
            result.affected_started_to = affected.started_to
            result.affected_agent_ids = sorted(affected.agent_ids)
            if affected.started_from is not None:
                # Per-agent-day rollups (calls + QA/NPS), in the same transaction as the import: only the
                # rows the changed calls can move when they are few (a CRM pushing calls one at a time),
                # every agent's rows of the touched days past SCOPED_REFRESH_MAX_CALLS (a bulk load).
                # Transfer-leg agents are in agent_ids although no rollup today keys a row on a transfer's
                # agents (leg credits reach refreshers through their finders): a margin, a few agents wide.
                from calls.rollups import agent_day_stats_refresh_for_calls

                agent_day_stats_refresh_for_calls(
                    started_from=affected.started_from,
                    started_to=affected.started_to,
                    agent_ids=affected.agent_ids if affected.scoped else None,
                    customer_ids=affected.customer_ids,
                    call_ids=affected.call_ids,
                )
            if counts.created + counts.updated >= settings.CALLS_IMPORT_ANALYZE_MIN_ROWS:
                _analyze_after_bulk_load()

    all_errors = [
        (src, line, order, field_name, reason) for src, line, order, field_name, reason in run.errors
    ]
    base = len(all_errors)
    for offset, finding in enumerate(findings):
        all_errors.append((finding.src, finding.line, base + offset, finding.field, finding.reason))
    all_errors.sort()
    result.errors = [
        RowError(line=line, field=field_name, reason=reason, source=names[src])
        for src, line, _, field_name, reason in all_errors
    ]
    rejected_rows = {(src, line) for src, line, *_ in all_errors}
    if partial and not run.fatal:
        rejected_rows.update((finding.src, finding.line) for finding in collateral)
    result.rejected = len(rejected_rows)
    result.partial = partial and not run.fatal

    if result.partial:
        reasons: dict[int, dict[int, list[str]]] = {}
        for src, line, _, field_name, reason in all_errors:
            reasons.setdefault(src, {}).setdefault(line, []).append(f"{field_name}: {reason}")
        for finding in collateral:
            reasons.setdefault(finding.src, {}).setdefault(finding.line, []).append(
                f"{finding.field}: {finding.reason}"
            )
        result.rejects_paths = rejects.write_rejects(sources, reasons, rejects_path)
    result.elapsed = time.perf_counter() - started
    # Apps that act on new calls (survey invitations) get them once the import commits (calls.events).
    calls_imported_on_commit(result)
    return result


# The tables a big import changes a good share of. Their planner statistics are refreshed in the import's
# transaction (committed with it): without them, a database whose autovacuum has not yet come by (or is
# off) plans the first queries after a bulk load blind — at 1M calls a supervisor's calls list went from
# about a second to over ten minutes with no statistics on calls_transfer.
ANALYZED_AFTER_IMPORT = (
    "calls_call",
    "calls_transfer",
    "calls_escalation",
    "calls_customer",
    "calls_agent",
    "calls_agentdaycallstats",
)


def _analyze_after_bulk_load() -> None:
    if connection.vendor != "postgresql":
        return  # the SQLite demo path: small, and SQLite plans without statistics well enough
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {', '.join(ANALYZED_AFTER_IMPORT)}")


def _read_source(run: _Run, src: int, source: Source) -> None:
    if source.format == "records":
        _read_records(run, src, _numbered(source.records or ()))
        return
    if source.format == "xlsx":
        try:
            table = xlsx.sheet_rows(source.path, source.sheet)
        except parsing.CsvHeaderError as header_error:
            _refuse_header(run, src, header_error)
            return
        kind, header, rows = table
        _read_table(run, src, kind, header, _sheet_progress(run, rows, source.size or 0))
        return
    if not source.recoded:
        _read_stream(run, src, source, source.open())
        return
    # Progress counts the file's own (compressed, UTF-16) bytes, the file's size being the total; the
    # readers' own counts of the bytes they see are not progress here.
    counted, run.on_bytes = run.on_bytes, _ignore_bytes
    try:
        _read_stream(run, src, source, source.open(counted))
    except GZIP_ERRORS as error:
        run.error(src, run.line + 1, "file", f"damaged or truncated gzip data ({error})")
        run.fatal = True
    except UndecodableError as error:  # only other encodings are decoded here; UTF-8 is checked by line
        run.error(src, error.line, "file", error.reason)
        run.fatal = True
    finally:
        run.on_bytes = counted


def _sheet_progress(
    run: _Run, rows: xlsx.SheetRows, size: int
) -> Iterator[tuple[int, list[str], parsing.Errors]]:
    """A sheet's rows, counting its share of the workbook's size as progress row by row (by the sheet's
    last row number, when the workbook tells it; else all at the end)."""
    reported = 0
    step = max((rows.last_row or 0) // 100, 1)
    next_at = step
    for row in rows:
        yield row
        if rows.last_row and row[0] >= next_at:
            share = min(size * row[0] // rows.last_row, size)
            run.on_bytes(share - reported)
            reported, next_at = share, row[0] + step
    run.on_bytes(size - reported)


def _ignore_bytes(count: int) -> None:
    pass


def _read_stream(run: _Run, src: int, source: Source, opened: IO[bytes]) -> None:
    run.line = 0
    with opened as stream:
        if source.format == "jsonl":
            _read_jsonl(run, src, stream)
        elif source.format == "json":
            _read_json_array(run, src, stream)
        else:
            _read_csv(run, src, stream)


def _read_json_array(run: _Run, src: int, stream: IO[bytes]) -> None:
    """The items of a JSON array, parsed one at a time as the file is read: memory stays flat whatever the
    file's size. Broken JSON stops the file at the item where it broke (numbered by its position)."""
    reader = io.BufferedReader(_CountingReader(stream, run.on_bytes))
    if reader.peek(3).startswith(parsing.BOM):
        reader.read(3)
    position = 0

    def items() -> Iterator[tuple[int, Any]]:
        nonlocal position
        for item in parsing.json_items(reader):
            position += 1
            yield position, item

    try:
        _read_records(run, src, items())
    except parsing.JSONArrayError as error:
        run.error(src, position + 1, "record", str(error))
        run.fatal = True


def _numbered(records: Iterable) -> Iterator[tuple[int, Any]]:
    for number, item in enumerate(records, start=1):
        if type(item) is tuple and len(item) == 2 and type(item[0]) is int:
            yield item
        else:
            yield number, item


def _read_records(run: _Run, src: int, numbered: Iterable[tuple[int, Any]]) -> None:
    zone, write, error = run.zone, run.backend.write, run.error
    for line, record in numbered:
        run.records += 1
        if run.progress is not None and run.records % PROGRESS_RECORDS == 0:
            run.progress(run.records, None)
        _stage_record(run, src, line, record, zone, write, error)


def _read_jsonl(run: _Run, src: int, stream: IO[bytes]) -> None:
    zone, write, error = run.zone, run.backend.write, run.error
    for line, record, problems in parsing.jsonl_records(stream, run.on_bytes):
        run.records += 1
        run.line = line
        if problems:
            for field_name, reason in problems:
                error(src, line, field_name, reason)
            write(parsing.bad_row(KIND_CALL, src, line, None))
            continue
        _stage_record(run, src, line, record, zone, write, error)


def _stage_record(run, src, line, record, zone, write, error) -> None:
    record = parsing.rejected_record(record)
    problems: list[tuple[str, str]] = []
    staged = parsing.call_row(
        record, src=src, line=line, zone=zone, errors=problems, date_order=run.date_order
    )
    if staged is None:
        for field_name, reason in problems:
            error(src, line, field_name, reason)
        write(
            parsing.bad_row(KIND_CALL, src, line, record.get("external_id") if type(record) is dict else None)
        )
        return
    call, children = staged
    write(call)
    for child in children:
        write(child)


def _read_csv(run: _Run, src: int, stream: IO[bytes]) -> None:
    try:
        kind, header, rows = parsing.csv_rows(stream, run.on_bytes)
    except parsing.CsvHeaderError as header_error:
        _refuse_header(run, src, header_error)
        return
    _read_table(run, src, kind, header, rows)


def _refuse_header(run: _Run, src: int, header_error: parsing.CsvHeaderError) -> None:
    for field_name, reason in header_error.errors:
        run.error(src, 1, field_name, reason)
    run.fatal = True  # without a usable header no row can be read: the whole import is refused


def _read_table(
    run: _Run, src: int, kind: str, header: list[str], rows: Iterator[tuple[int, list[str], Any]]
) -> None:
    """The rows of a CSV file or a workbook's sheet: (line, cells, errors) under a header of `kind`."""
    zone, write, error = run.zone, run.backend.write, run.error
    child_kind = {"transfers": KIND_TRANSFER, "escalations": KIND_ESCALATION}.get(kind)
    key_column = "external_id" if kind == "calls" else "call_external_id"
    key_index = header.index(key_column)
    for line, cells, problems in rows:
        run.records += 1
        run.line = line
        key = cells[key_index] if key_index < len(cells) else None
        if problems:
            for field_name, reason in problems:
                error(src, line, field_name, reason)
            write(parsing.bad_row(child_kind or KIND_CALL, src, line, key))
            if not cells:  # unreadable CSV: the rest of the file is lost
                run.fatal = True
            continue
        record = parsing.csv_cells_to_record(kind, header, cells, problems)
        if child_kind is None:
            staged = parsing.call_row(
                record,
                src=src,
                line=line,
                zone=zone,
                errors=problems,
                nested=False,
                date_order=run.date_order,
            )
        else:
            call_external_id = parsing._text(
                record.pop("call_external_id", None), "call_external_id", 100, problems, required=True
            )
            staged = parsing.child_row(
                record,
                child_kind,
                src=src,
                line=line,
                call_external_id=call_external_id,
                zone=zone,
                errors=problems,
                date_order=run.date_order,
            )
            if call_external_id is None:
                staged = None
        if staged is None or problems:
            seen = set()
            for field_name, reason in problems:
                column = parsing.csv_field(field_name)
                if (
                    column,
                    reason,
                ) not in seen:  # a CSV conversion error and the check behind it say the same
                    seen.add((column, reason))
                    error(src, line, column, reason)
            write(parsing.bad_row(child_kind or KIND_CALL, src, line, key))
            continue
        write(staged)


def import_files(
    paths: Iterable[str | os.PathLike],
    *,
    partial: bool = False,
    default_timezone: str | tzinfo | None = None,
    rejects_path: str | os.PathLike | None = None,
    progress: Progress | None = None,
    encoding: str | None = None,
    date_order: str | None = None,
) -> ImportResult:
    """Import JSON Lines and/or CSV files (see docs/import-format.md) in one transaction.

    progress(done, total) is called about every MiB read, with bytes read and the files' total size.
    encoding: that of files without a byte-order mark when they are not UTF-8 ("cp1252", ...).
    date_order: "mdy" or "dmy", how dates a spreadsheet wrote with the year last (11/2/2026 9:15) are read.
    """
    return run_import(
        file_sources(list(paths), resolve_encoding(encoding)),
        partial=partial,
        default_timezone=default_timezone,
        rejects_path=rejects_path,
        progress=progress,
        date_order=date_order,
    )


def import_records(
    records: Iterable[tuple[int, dict]] | Iterable[dict],
    *,
    partial: bool = False,
    default_timezone: str | tzinfo | None = None,
    progress: Progress | None = None,
    source_name: str = "records",
    date_order: str | None = None,
) -> ImportResult:
    """Import records in the JSON contract shape (dicts, or (line, dict) pairs to number them yourself).

    The iterable is consumed once, as a stream. progress(done, None) is called every 1000 records.
    """
    return run_import(
        [Source(name=source_name, records=records, format="records")],
        partial=partial,
        default_timezone=default_timezone,
        progress=progress,
        date_order=date_order,
    )


def head_of(data: bytes, size: int = 4096) -> bytes:
    """The first bytes of a document held in memory, decompressed when it is gzip data (a body sent with
    `Content-Encoding: gzip`, or a .gz file posted as it is); ImportSetupError if that data is unreadable."""
    if not data.startswith(GZIP_MAGIC):
        return data[:size]
    try:
        return zlib.decompressobj(wbits=31).decompress(data, size)
    except zlib.error as error:
        raise ImportSetupError(f"not readable gzip data ({error})") from None


def import_bytes(
    data: bytes,
    *,
    format: str,
    partial: bool = False,
    default_timezone: str | tzinfo | None = None,
    source_name: str = "body",
    encoding: str | None = None,
    date_order: str | None = None,
) -> ImportResult:
    """Import a JSON Lines or JSON array document held in memory (the API's request body), gzipped or not."""
    head = head_of(data)
    encoding = _encoding_for(head, resolve_encoding(encoding))
    source = Source(
        name=source_name,
        data=data,
        format=format,
        size=len(data),
        compressed=data.startswith(GZIP_MAGIC),
        utf16=_utf16(head),
        encoding=encoding,
    )
    return run_import([source], partial=partial, default_timezone=default_timezone, date_order=date_order)
