"""POST /api/calls/import: the call importer over HTTP (same rules as `manage.py import_calls`)."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import BaseParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from qa_center.authentication import TOKEN_AUTHENTICATION

from . import roles
from .importers import ImportSetupError, import_bytes
from .importers.parsing import sniff_format


class CanImportCalls(BasePermission):
    """Admins, or users given the `calls.import_calls` permission."""

    message = "Only administrators may import calls."

    def has_permission(self, request, view) -> bool:
        return bool(request.user and roles.can_import_calls(request.user))


class _RawParser(BaseParser):
    """Declares an accepted media type; the view reads the body itself (one parser for every format)."""

    def parse(self, stream, media_type=None, parser_context=None):
        return stream.read()


class NDJSONParser(_RawParser):
    media_type = "application/x-ndjson"


class PlainTextParser(_RawParser):
    media_type = "text/plain"


class JSONArrayParser(_RawParser):
    media_type = "application/json"


# The other names clients and tools give JSON Lines bodies (none is registered with IANA).
JSON_LINES_ALIASES = (
    "application/ndjson",
    "application/jsonl",
    "application/x-jsonl",
    "application/jsonlines",
    "application/x-jsonlines",
    "application/json-lines",
)
_ALIAS_PARSERS = [
    type(f"JSONLinesParser{n}", (_RawParser,), {"media_type": alias})
    for n, alias in enumerate(JSON_LINES_ALIASES)
]


_ERRORS = inline_serializer(
    "ImportRowError",
    {"line": serializers.IntegerField(), "field": serializers.CharField(), "reason": serializers.CharField()},
    many=True,
)
_SUMMARY = inline_serializer(
    "CallImportSummary",
    {
        "ok": serializers.BooleanField(),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "elapsed_seconds": serializers.FloatField(),
        "rows_per_second": serializers.FloatField(),
        "errors": _ERRORS,
    },
)


class CallImportView(APIView):
    authentication_classes = [*TOKEN_AUTHENTICATION, SessionAuthentication]
    permission_classes = [IsAuthenticated, CanImportCalls]
    parser_classes = [NDJSONParser, PlainTextParser, JSONArrayParser, *_ALIAS_PARSERS]

    @extend_schema(
        summary="Import calls",
        description=(
            "Body: JSON Lines (application/x-ndjson or text/plain, one call per line; application/jsonl, "
            "application/ndjson and the other usual names for it are accepted too) or a JSON array of calls "
            "(application/json), in the format of docs/import-format.md. All or nothing unless `partial=1`. "
            "200 with the summary (also for a partial import with rejected rows, listed in `errors`); 400 with "
            "`errors` ({line, field, reason}; line = line of the body, or position in the array) when nothing "
            "was imported."
        ),
        parameters=[
            OpenApiParameter(
                "partial", OpenApiTypes.BOOL, description="import the valid records, reject the others"
            ),
            OpenApiParameter(
                "timezone", OpenApiTypes.STR, description="time zone of timestamps without an offset"
            ),
        ],
        request={
            "application/x-ndjson": OpenApiTypes.STR,
            "text/plain": OpenApiTypes.STR,
            "application/json": OpenApiTypes.ANY,
        },
        responses={200: _SUMMARY, 400: _SUMMARY},
    )
    def post(self, request):
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in {parser.media_type for parser in self.parser_classes}:
            return Response(
                {
                    "detail": f"Unsupported media type {media_type!r}: use application/x-ndjson (JSON Lines), "
                    "text/plain or application/json."
                },
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > settings.DATA_UPLOAD_MAX_MEMORY_SIZE:  # DRF's parsers read the stream without this check
            return Response(
                {"detail": "Request body too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        # The raw parsers hand over the body as bytes (an empty body parses to an empty dict).
        body = request.data if isinstance(request.data, bytes) else b""
        partial = request.query_params.get("partial", "").lower() in {"1", "true", "yes", "on"}
        body_format = "jsonl"
        if media_type == "application/json":
            body_format = "json" if sniff_format(body[:64]) == "json" else "jsonl"
        try:
            result = import_bytes(
                body,
                format=body_format,
                partial=partial,
                default_timezone=request.query_params.get("timezone") or None,
                source_name="body",
            )
        except ImportSetupError as error:
            return Response(
                {"ok": False, "errors": [{"line": 0, "field": "timezone", "reason": str(error)}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        return Response(
            result.as_dict(), status=status.HTTP_200_OK if result.written else status.HTTP_400_BAD_REQUEST
        )
