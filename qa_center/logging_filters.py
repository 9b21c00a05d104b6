"""Logging filters for the stdout log."""

from __future__ import annotations

import logging


class ClientErrorsWithoutTraceback(logging.Filter):
    """Django logs a refused request (403 PermissionDenied, 400 BadRequest...) on `django.request` with the
    exception's traceback: some thirty lines for an agent opening a supervisor's page, which bury the real
    errors in the log. A 4xx keeps its one-line warning (status, path); a 5xx keeps its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        if 400 <= getattr(record, "status_code", 500) < 500:
            record.exc_info = None
            record.exc_text = None
        return True
