"""Services for calls that change state outside the importer itself: imports started from the web UI.

The upload is stored (CallImport and its files) in the request's transaction and handed to a worker when
it commits; the worker claims the row, runs the importer on the stored files and records the outcome.
Progress (bytes read of the total) goes through the cache so the web process sees it while the import's
own transaction is still open.
"""

from __future__ import annotations

import logging
import os
import re
import tempfile
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from .importers import ImportResult, ImportSetupError, import_files
from .importers.rejects import rejected_rows, rejects_name
from .models import CallImport, CallImportFile

logger = logging.getLogger(__name__)

# How many errors an import keeps for its page (the rejects files hold every rejected row).
IMPORT_ERRORS_KEPT = 1000


@dataclass(frozen=True)
class Upload:
    """A file to import: its name (which tells its format, e.g. calls.csv, calls.jsonl.gz) and content."""

    name: str
    data: bytes


def safe_file_name(name: str) -> str:
    """The last part of an uploaded file's name, without characters a file system or a header could
    misread; the suffixes that tell the format (.csv, .jsonl, .gz) are kept."""
    base = re.split(r"[\\/]", name)[-1].strip().strip(".")
    base = re.sub(r"[^\w.\- ]+", "_", base)[-200:]
    return base or "upload"


def call_import_create(
    *,
    user,
    uploads: list[Upload],
    partial: bool,
    timezone_name: str = "",
    encoding: str = "",
    date_order: str = "",
) -> CallImport:
    """Store an import and queue it for a worker once the transaction commits."""
    from .tasks import call_import_run_task

    if not uploads:
        raise ValueError("an import needs at least one file")
    with transaction.atomic():
        call_import = CallImport.objects.create(
            created_by=user,
            partial=partial,
            timezone=timezone_name,
            encoding=encoding,
            date_order=date_order,
            total_bytes=sum(len(upload.data) for upload in uploads),
        )
        names: set[str] = set()
        files = []
        for position, upload in enumerate(uploads, start=1):
            name = safe_file_name(upload.name)
            if name in names:  # the same name twice: keep both, told apart (the suffixes stay last)
                name = f"{position}-{name}"
            names.add(name)
            files.append(
                CallImportFile(
                    call_import=call_import,
                    position=position,
                    name=name,
                    size=len(upload.data),
                    data=upload.data,
                )
            )
        CallImportFile.objects.bulk_create(files)
        transaction.on_commit(lambda: call_import_run_task.delay(call_import.pk))
    return call_import


def _progress_key(import_id: int) -> str:
    return f"calls:import:{import_id}:progress"


def call_import_progress(call_import: CallImport) -> tuple[int, int] | None:
    """(bytes read, total bytes) of a running import; None before its first report and once finished."""
    if call_import.finished:
        return None
    progress = cache.get(_progress_key(call_import.pk))
    return tuple(progress) if progress else None


def _claim(import_id: int) -> bool:
    """Mark the import running; False when another run has it (or it has finished). A running import
    whose run started more than CALLS_IMPORT_STALE_MINUTES ago is taken over: its worker died (imports
    are idempotent, so running the same files again is harmless)."""
    now = timezone.now()
    stale = now - timedelta(minutes=settings.CALLS_IMPORT_STALE_MINUTES)
    return bool(
        CallImport.objects.filter(pk=import_id)
        .filter(
            Q(status=CallImport.Status.QUEUED) | Q(status=CallImport.Status.RUNNING, started_at__lt=stale)
        )
        .update(status=CallImport.Status.RUNNING, started_at=now)
    )


def call_import_run(import_id: int) -> CallImport | None:
    """Run a stored import: the importer over its files, in one transaction; then record the outcome and
    the rejects files. None when the import was not this run's to do (taken, finished or deleted)."""
    if not _claim(import_id):
        return None
    call_import = CallImport.objects.get(pk=import_id)
    key = _progress_key(import_id)

    def progress(done: int, total: int | None) -> None:
        cache.set(key, (done, total or call_import.total_bytes), timeout=24 * 3600)

    files = list(call_import.files.order_by("position"))
    try:
        with tempfile.TemporaryDirectory(prefix="qa-import-") as folder:
            paths = []
            for stored in files:
                path = Path(folder) / stored.name
                path.write_bytes(bytes(stored.data))
                paths.append(path)
            rejects_dir = Path(folder) / "rejects"
            rejects_dir.mkdir()
            result = import_files(
                paths,
                partial=call_import.partial,
                default_timezone=call_import.timezone or None,
                encoding=call_import.encoding or None,
                date_order=call_import.date_order or None,
                rejects_path=rejects_dir if len(paths) > 1 else rejects_dir / "rejects",
                progress=progress,
            )
            # One rejects file per input file, in order (partial imports only).
            rejects = [path.read_bytes() for path in result.rejects_paths]
    except ImportSetupError as error:  # named by the file's name, not the worker's temporary folder
        return _finish(call_import, failure=str(error).replace(f"{folder}{os.sep}", ""))
    except Exception as error:
        logger.exception("call import %s failed", import_id)
        return _finish(
            call_import, failure=f"the import stopped with an internal error ({type(error).__name__})"
        )
    finally:
        cache.delete(key)
    for stored, data in zip(files, rejects, strict=False):
        if rejected_rows(data) > 0:  # kept when it holds rejected rows
            stored.rejects_name = rejects_name(stored.name)
            stored.rejects = data
            stored.save(update_fields=["rejects_name", "rejects"])
    return _finish(call_import, result=result)


def _finish(call_import: CallImport, *, result: ImportResult | None = None, failure: str = "") -> CallImport:
    call_import.finished_at = timezone.now()
    if result is None:
        call_import.status = CallImport.Status.FAILED
        call_import.failure = failure
    else:
        call_import.status = CallImport.Status.DONE
        call_import.written = result.written
        call_import.created = result.created
        call_import.updated = result.updated
        call_import.unchanged = result.unchanged
        call_import.rejected = result.rejected
        call_import.elapsed_seconds = round(result.elapsed, 3)
        call_import.error_count = len(result.errors)
        call_import.errors = [
            {"file": error.source, "line": error.line, "field": error.field, "reason": error.reason}
            for error in result.errors[:IMPORT_ERRORS_KEPT]
        ]
    call_import.save()
    return call_import


def call_import_sweep() -> int:
    """Queue again the imports whose task was lost: queued for over a minute (the broker was down when
    the upload committed, or the message was dropped), or running past CALLS_IMPORT_STALE_MINUTES (the
    worker died). Returns how many were queued."""
    from .tasks import call_import_run_task

    now = timezone.now()
    lost = CallImport.objects.filter(
        Q(status=CallImport.Status.QUEUED, created_at__lt=now - timedelta(minutes=1))
        | Q(
            status=CallImport.Status.RUNNING,
            started_at__lt=now - timedelta(minutes=settings.CALLS_IMPORT_STALE_MINUTES),
        )
    ).values_list("pk", flat=True)
    count = 0
    for import_id in lost:
        call_import_run_task.delay(import_id)
        count += 1
    return count


def call_import_prune(*, now=None) -> int:
    """Drop the uploaded files' contents (and rejects files) of imports finished more than
    CALLS_IMPORT_KEEP_DAYS ago; the import's record, file names, counts and errors stay. Returns how many
    imports were pruned."""
    now = now or timezone.now()
    due = list(
        CallImport.objects.filter(
            finished_at__lt=now - timedelta(days=settings.CALLS_IMPORT_KEEP_DAYS),
            files_pruned_at__isnull=True,
        ).values_list("pk", flat=True)
    )
    if due:
        with transaction.atomic():
            CallImportFile.objects.filter(call_import__in=due).update(data=b"", rejects=None, rejects_name="")
            CallImport.objects.filter(pk__in=due).update(files_pruned_at=now)
    return len(due)
