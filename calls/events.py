"""Extension point: other apps act on the calls an import created or updated, once the import commits.

`calls` never imports `scoring`. An app that reacts to new calls (scoring.surveys schedules survey
invitations) registers a handler from its AppConfig.ready():

    from calls.events import register_calls_imported_handler
    register_calls_imported_handler(survey_schedule_for_imported_calls)   # handler(*, calls: QuerySet[Call])

The importer calls `calls_imported_on_commit(result)` at the end of every import. After the outermost
transaction commits (never for a rolled-back import), each handler gets a lazy queryset of the calls that
import created or updated (no query runs until the handler narrows it to what it needs, so an import of a
million historical calls costs a handler that ignores old calls one indexed query, not a million ids). A
handler must be idempotent (a re-import passes the same calls again); one that raises is logged and does
not affect the import or the other handlers. Anything a handler misses must be caught by its own sweeper.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from .models import Call

if TYPE_CHECKING:
    from .importers import ImportResult

logger = logging.getLogger(__name__)

CallsImportedHandler = Callable[..., None]
_handlers: list[CallsImportedHandler] = []

# The import stamps updated_at on every call it creates or changes with one `now` taken after it started;
# the margin only absorbs a wall-clock step during the import (a few extra calls are harmless).
CLOCK_MARGIN = timedelta(seconds=5)


def register_calls_imported_handler(handler: CallsImportedHandler) -> CallsImportedHandler:
    """Call `handler(calls=<QuerySet of Call>)` after every committed import (idempotent registration)."""
    if handler not in _handlers:
        _handlers.append(handler)
    return handler


def imported_calls(result: ImportResult, *, now=None) -> QuerySet[Call]:
    """The calls an import created or updated: in its affected start-time range, stamped during it."""
    if result.affected_started_from is None or result.affected_started_to is None:
        return Call.objects.none()
    changed_since = (now or timezone.now()) - timedelta(seconds=result.elapsed) - CLOCK_MARGIN
    return Call.objects.filter(
        started_at__gte=result.affected_started_from,
        started_at__lte=result.affected_started_to,
        updated_at__gte=changed_since,
    ).order_by()


def calls_imported_on_commit(result: ImportResult) -> None:
    """Run the registered handlers on the import's calls once the caller's transaction commits."""
    if not _handlers or not (result.created or result.updated):
        return
    calls = imported_calls(result)

    def run_handlers() -> None:
        for handler in list(_handlers):
            try:
                handler(calls=calls.all())
            except Exception:
                logger.exception("calls-imported handler %r failed; its sweeper catches up", handler)

    transaction.on_commit(run_handlers, robust=True)
