"""manage.py import_calls FILE|FOLDER|- [...] [--partial] [--timezone ZONE] [--encoding NAME]
[--date-order mdy|dmy] [--rejects PATH]

A folder stands for the files directly in it (hidden files and earlier rejects files left out); `-` reads
standard input (`aws s3 cp s3://exports/calls.jsonl.gz - | manage.py import_calls -`), spooled to a
temporary file first.

Exit status: 0 all rows imported; 1 nothing imported (errors, all-or-nothing); 2 partial import with
rejected rows (the good ones were written). Format: docs/import-format.md.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from calls.importers import ImportSetupError, import_files
from calls.importers.rejects import rejected_rows


class ProgressBar:
    """A one-line progress bar on a terminal: bytes read of the input files, and the rate."""

    WIDTH = 30

    def __init__(self, stream):
        self.stream = stream
        self.started = time.monotonic()

    def update(self, done: int, total: int | None) -> None:
        seconds = max(time.monotonic() - self.started, 1e-6)
        rate = f"{done / seconds / 2**20:.1f} MiB/s"
        if total:
            filled = int(self.WIDTH * min(done, total) / total)
            line = f"import [{'#' * filled}{'.' * (self.WIDTH - filled)}] {100 * done / total:3.0f}%  {rate}"
        else:
            line = f"import {done / 2**20:.1f} MiB  {rate}"
        self.stream.write("\r" + line)
        self.stream.flush()

    def close(self) -> None:
        self.stream.write("\r\x1b[K")  # clear the line: the summary follows on stdout
        self.stream.flush()


class Command(BaseCommand):
    help = "Import calls (with transfers and escalations) from JSON Lines or CSV files. See docs/import-format.md."

    def add_arguments(self, parser):
        parser.add_argument(
            "files",
            nargs="+",
            metavar="FILE",
            help=".jsonl/.ndjson, .json or .csv files, or any of them gzipped (.jsonl.gz, ...) or in a .zip; "
            "workbooks (.xlsx, .xls, .ods); a folder (the files in it); - for standard input",
        )
        parser.add_argument(
            "--partial",
            action="store_true",
            help="write the good rows and a rejects file for the bad ones (default: all or nothing)",
        )
        parser.add_argument(
            "--timezone",
            default=None,
            help="time zone of timestamps without an offset: an IANA name (Europe/Paris, any case) or a fixed "
            "offset (+01:00, UTC-5); default: TIME_ZONE",
        )
        parser.add_argument(
            "--encoding",
            default=None,
            help="encoding of files that are not UTF-8, e.g. cp1252 (Excel's plain 'CSV' on Windows) or latin-1; "
            "a byte-order mark overrides it (default: UTF-8)",
        )
        parser.add_argument(
            "--date-order",
            choices=["mdy", "dmy"],
            default=None,
            help="how to read dates a spreadsheet wrote with the year last (11/2/2026 9:15): month/day/year "
            "(mdy) or day/month/year (dmy); without it such dates are errors",
        )
        parser.add_argument(
            "--rejects",
            default=None,
            metavar="PATH",
            help="with --partial: the rejects file (a folder when several files are imported); default: beside each input",
        )
        parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")

    def handle(self, *args, files, partial, timezone, encoding, date_order, rejects, no_progress, **options):
        if rejects and not partial:
            raise CommandError("--rejects only makes sense with --partial")
        if "-" in files and partial and not rejects:
            raise CommandError("reading standard input with --partial needs --rejects PATH")
        paths = _expand_folders(files)
        bar = ProgressBar(sys.stderr) if not no_progress and sys.stderr.isatty() else None
        spool = tempfile.TemporaryDirectory(prefix="qa-import-stdin-") if "-" in paths else None
        try:
            if spool is not None:
                stdin = Path(spool.name) / "stdin"
                with stdin.open("wb") as target:
                    shutil.copyfileobj(sys.stdin.buffer, target, 2**20)
                paths = [str(stdin) if path == "-" else path for path in paths]
            result = import_files(
                paths,
                partial=partial,
                default_timezone=timezone,
                rejects_path=rejects,
                progress=bar.update if bar else None,
                encoding=encoding,
                date_order=date_order,
            )
        except ImportSetupError as error:
            raise CommandError(str(error)) from None
        finally:
            if bar is not None:
                bar.close()
            if spool is not None:
                spool.cleanup()

        for line in result.error_lines():
            self.stderr.write(line)
        self.stdout.write(result.summary())
        for path in result.rejects_paths:
            if rejected_rows(path.read_bytes()) == 0:  # none of this input's rows was rejected: no file
                path.unlink()
                continue
            self.stdout.write(f"rejects: {path}")
        if not result.written:
            raise CommandError(
                f"nothing imported: {len(result.errors)} error(s) in {result.rejected} row(s) "
                "(fix them, or use --partial to import the good rows)",
                returncode=1,
            )
        if result.rejected:
            raise CommandError(f"{result.rejected} row(s) rejected, the others imported", returncode=2)


def _expand_folders(files: list[str]) -> list[str]:
    """Each folder given as the files directly in it, by name; hidden files and rejects files of an earlier
    --partial run (`*.rejects.*`) are left out. `-` (standard input) is kept once."""
    paths: list[str] = []
    for name in dict.fromkeys(files):
        folder = Path(name)
        if name == "-" or not folder.is_dir():
            paths.append(name)
            continue
        inside = sorted(
            str(path)
            for path in folder.iterdir()
            if path.is_file() and not path.name.startswith(".") and ".rejects." not in path.name
        )
        if not inside:
            raise CommandError(f"{folder}: no file in the folder")
        paths += inside
    return paths
