"""The API's answer to errors DRF leaves to Django (which would answer with an HTML page)."""

from __future__ import annotations

from django.core.exceptions import RequestDataTooBig
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """DRF's handler, plus a body over DATA_UPLOAD_MAX_MEMORY_SIZE as JSON 413 (Django's own answer is an HTML
    400 page), as POST /api/calls/import already answers it."""
    if isinstance(exc, RequestDataTooBig):
        return Response(
            {"detail": "Request body too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
        )
    return drf_exception_handler(exc, context)
