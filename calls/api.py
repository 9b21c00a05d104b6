"""POST /api/calls/import: the call importer over HTTP (same rules as `manage.py import_calls`)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiParameter,
    OpenApiResponse,
    PolymorphicProxySerializer,
    extend_schema,
    inline_serializer,
)
from rest_framework import serializers, status
from rest_framework.authentication import SessionAuthentication
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.permissions import BasePermission, IsAuthenticated
from rest_framework.response import Response
from rest_framework.views import APIView

from qa_center.authentication import TOKEN_AUTHENTICATION

from . import roles, services
from .importers import ImportSetupError, import_bytes
from .importers.parsing import sniff_format
from .importers.runner import GZIP_MAGIC, head_of, resolve_date_order, resolve_encoding, resolve_timezone
from .models import CallImport
from .selectors import call_import_get_for_user


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


class UnlabelledBodyParser(_RawParser):
    """`curl --data-binary @calls.jsonl` labels the body as a form: taken when it is JSON (told by its first
    character), refused otherwise."""

    media_type = "application/x-www-form-urlencoded"


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


_DETAIL = inline_serializer("ImportRefusal", {"detail": serializers.CharField()})
# Nothing imported: the summary (rows refused), or, when an option (timezone, encoding, date_order, partial) or
# the body cannot be used, `ok` and `errors` alone (line 0). One schema for both, with the counts optional: two
# alternatives would both match a summary, which a client choosing by `oneOf` cannot tell apart.
_REFUSAL = inline_serializer(
    "CallImportRefusal",
    {
        "ok": serializers.BooleanField(),
        "created": serializers.IntegerField(required=False),
        "updated": serializers.IntegerField(required=False),
        "unchanged": serializers.IntegerField(required=False),
        "rejected": serializers.IntegerField(required=False),
        "elapsed_seconds": serializers.FloatField(required=False),
        "rows_per_second": serializers.FloatField(required=False),
        "errors": _ERRORS,
    },
)
_QUEUED = inline_serializer(
    "CallImportQueued",
    {"id": serializers.IntegerField(), "status": serializers.CharField(), "url": serializers.CharField()},
)
_STATUS = inline_serializer(
    "CallImportStatus",
    {
        "id": serializers.IntegerField(),
        "status": serializers.ChoiceField(choices=CallImport.Status.choices),
        "partial": serializers.BooleanField(),
        "files": serializers.ListField(child=serializers.CharField()),
        "progress": inline_serializer(
            "CallImportProgress",
            {"done_bytes": serializers.IntegerField(), "total_bytes": serializers.IntegerField()},
            allow_null=True,  # null when no worker is reading the files (queued, or finished)
        ),
        "ok": serializers.BooleanField(allow_null=True),
        "created": serializers.IntegerField(),
        "updated": serializers.IntegerField(),
        "unchanged": serializers.IntegerField(),
        "rejected": serializers.IntegerField(),
        "error_count": serializers.IntegerField(),
        "errors": inline_serializer(
            "CallImportError",
            {
                "file": serializers.CharField(),
                "line": serializers.IntegerField(),
                "field": serializers.CharField(),
                "reason": serializers.CharField(),
            },
            many=True,
        ),
        "failure": serializers.CharField(),
        "created_at": serializers.DateTimeField(),
        "started_at": serializers.DateTimeField(allow_null=True),
        "finished_at": serializers.DateTimeField(allow_null=True),
    },
)

# JSON Lines is text to OpenAPI (no JSON Schema describes lines): a string, each line one call record.
_JSON_LINES = {
    "type": "string",
    "description": "JSON Lines: one call record (a JSON object, docs/import-format.md) per line.",
    "example": '{"external_id": "C-1", "channel": "phone", "started_at": "2026-11-02T10:00:00Z", '
    '"ended_at": "2026-11-02T10:05:00Z"}\n',
}


def _text(max_length: int | None = None, **schema) -> dict:
    return {"type": "string", "nullable": True, **({"maxLength": max_length} if max_length else {}), **schema}


_MOMENT = {"type": "string", "format": "date-time"}
_SECONDS = {"type": "integer", "minimum": 0, "maximum": 2147483647, "nullable": True}
# One call record as docs/import-format.md describes it (the importer also reads aliases of the channel,
# direction and level names, any case, durations as "h:mm:ss" and Unix times: not described here). A member
# not listed is refused (`unknown field`); optional members may be absent or null. Cross-field rules (ended_at
# not before started_at, a transfer within the call) are the importer's row errors, in the answer.
_CALL_RECORD = {
    "type": "object",
    "required": ["external_id", "channel", "started_at", "ended_at"],
    "additionalProperties": False,
    "properties": {
        "external_id": {"type": "string", "maxLength": 100},
        "channel": {"type": "string", "enum": ["phone", "email", "chat", "social", "in_person"]},
        "direction": {"type": "string", "enum": ["inbound", "outbound"], "nullable": True},
        "started_at": _MOMENT,
        "answered_at": {**_MOMENT, "nullable": True},
        "ended_at": _MOMENT,
        "wait_seconds": _SECONDS,
        "talk_seconds": _SECONDS,
        "hold_seconds": _SECONDS,
        "wrap_seconds": _SECONDS,
        "department": _text(100),
        "agent": {
            "type": "object",
            "nullable": True,
            "additionalProperties": False,
            "properties": {"employee_code": _text(50), "name": _text(200), "team": _text(100)},
        },
        "customer": {
            "type": "object",
            "nullable": True,
            "additionalProperties": False,
            "properties": {
                "external_id": _text(100),
                "name": _text(200),
                "phone": _text(40),
                "email": _text(254, format="email"),
                "tier": {"type": "string", "enum": ["standard", "gold", "platinum"], "nullable": True},
            },
        },
        "disposition": _text(50),
        "resolved": {"type": "boolean", "nullable": True},
        "transcript": _text(),
        "recording_url": _text(500, format="uri"),
        "transfers": {
            "type": "array",
            "nullable": True,
            "items": {
                "type": "object",
                "required": ["at"],
                "additionalProperties": False,
                "properties": {
                    "sequence": {"type": "integer", "minimum": 1, "maximum": 32767, "nullable": True},
                    "at": _MOMENT,
                    "from_department": _text(100),
                    "to_department": _text(100),
                    "from_agent": _text(50),
                    "to_agent": _text(50),
                    "reason": _text(200),
                },
            },
        },
        "escalations": {
            "type": "array",
            "nullable": True,
            "items": {
                "type": "object",
                "required": ["at", "level"],
                "additionalProperties": False,
                "properties": {
                    "sequence": {"type": "integer", "minimum": 1, "maximum": 32767, "nullable": True},
                    "at": _MOMENT,
                    "level": {"type": "string", "enum": ["tier2", "supervisor", "complaint", "other"]},
                    "reason": _text(200),
                    "outcome": _text(200),
                    "resolved_at": {**_MOMENT, "nullable": True},
                },
            },
        },
    },
}

TRUTHY = {"1", "true", "yes", "on"}
FALSY = {"", "0", "false", "no", "off"}
GZIP_CODINGS = {"gzip", "x-gzip"}


def _wants_async(request) -> bool:
    """`?async=1`, or `Prefer: respond-async` (RFC 7240)."""
    prefer = request.headers.get("Prefer", "").lower()
    return request.query_params.get("async", "").lower() in TRUTHY or "respond-async" in prefer


class CallImportView(APIView):
    authentication_classes = [*TOKEN_AUTHENTICATION, SessionAuthentication]
    permission_classes = [IsAuthenticated, CanImportCalls]
    parser_classes = [
        NDJSONParser,
        PlainTextParser,
        JSONArrayParser,
        *_ALIAS_PARSERS,
        MultiPartParser,
        UnlabelledBodyParser,
    ]

    @extend_schema(
        summary="Import calls",
        description=(
            "Body: JSON Lines (application/x-ndjson or text/plain, one call per line; application/jsonl, "
            "application/ndjson and the other usual names for it are accepted too) or a JSON array of calls "
            "(application/json), in the format of docs/import-format.md. All or nothing unless `partial=1`. "
            "200 with the summary (also for a partial import with rejected rows, listed in `errors`); 400 with "
            "`errors` ({line, field, reason}; line = line of the body, or position in the array) when nothing "
            "was imported. A body may be gzipped (`Content-Encoding: gzip`, or a .gz file sent as it is) and sent "
            "chunked (`Transfer-Encoding: chunked`).\n\n"
            "In the background: with `async=1` (or `Prefer: respond-async`) the body is queued, and files sent "
            "as multipart/form-data (any part names: JSON Lines, JSON, CSV calls/transfers/escalations files, "
            "gzipped or not, zip archives of them, or workbooks: .xlsx, .xls, .ods; told by their names and "
            "content) always are: 202 with the import's `id` and `url` "
            "(also the Location header), where GET /api/calls/imports/{id} follows it to its outcome."
        ),
        parameters=[
            OpenApiParameter(
                "partial", OpenApiTypes.BOOL, description="import the valid records, reject the others"
            ),
            OpenApiParameter(
                "timezone",
                OpenApiTypes.STR,
                description="time zone of timestamps without an offset: an IANA name (Europe/Paris) or a fixed "
                "offset (+01:00)",
            ),
            OpenApiParameter(
                "encoding",
                OpenApiTypes.STR,
                description="encoding of a body or files that are not UTF-8 (cp1252, latin-1, ...); a body's "
                "Content-Type charset says it too; a byte-order mark overrides both",
            ),
            OpenApiParameter(
                "date_order",
                OpenApiTypes.STR,
                enum=["mdy", "dmy"],
                description="how dates a spreadsheet wrote with the year last (11/2/2026 9:15) are read; "
                "without it they are errors",
            ),
            OpenApiParameter(
                "async", OpenApiTypes.BOOL, description="queue the import and answer 202 at once"
            ),
        ],
        request={
            "application/x-ndjson": _JSON_LINES,
            "text/plain": _JSON_LINES,
            # An array of call records (docs/import-format.md); an object holding one is read too.
            "application/json": {"type": "array", "items": _CALL_RECORD},
            "multipart/form-data": {
                "type": "object",
                # The options as form fields (or in the query string); every other part is a file.
                "properties": {
                    "partial": {"type": "boolean"},
                    "timezone": {"type": "string", "example": "Europe/Paris"},
                    "encoding": {"type": "string", "example": "cp1252"},
                    "date_order": {"type": "string", "enum": ["mdy", "dmy"]},
                },
                "additionalProperties": {"type": "string", "format": "binary"},
            },
        },
        responses={
            200: _SUMMARY,
            400: OpenApiResponse(
                PolymorphicProxySerializer(
                    component_name="CallImportBadRequest",
                    serializers=[_REFUSAL, _DETAIL],
                    resource_type_field_name=None,
                ),
                description="Rows refused (the summary, nothing written unless partial), an option or a body "
                "that cannot be used ({ok, errors} with line 0), or no body or file at all ({detail}).",
            ),
            202: _QUEUED,
            411: OpenApiResponse(_DETAIL, description="A chunked body the server cannot read"),
            413: OpenApiResponse(_DETAIL, description="The body is over the limit"),
            415: OpenApiResponse(_DETAIL, description="A media type or content coding that is not accepted"),
        },
    )
    def post(self, request):
        media_type = (request.content_type or "").split(";")[0].strip().lower()
        if media_type not in {parser.media_type for parser in self.parser_classes}:
            return Response(
                {
                    "detail": f"Unsupported media type {media_type!r}: use application/x-ndjson (JSON Lines), "
                    "text/plain or application/json, or upload files as multipart/form-data."
                },
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        multipart = media_type == "multipart/form-data"
        content_coding = request.headers.get("Content-Encoding", "").strip().lower()
        if content_coding not in {"", "identity", *GZIP_CODINGS} or (multipart and content_coding):
            return Response(
                {
                    "detail": f"Unsupported Content-Encoding {content_coding!r}: send the body as it is, or a "
                    "JSON body gzipped (Content-Encoding: gzip); gzip files go in a multipart upload as .gz files."
                },
                status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
            )
        limit = settings.CALLS_IMPORT_UPLOAD_MAX_BYTES if multipart else settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > limit:  # DRF's parsers read the stream without this check
            return Response(
                {"detail": "Request body too large."}, status=status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
            )
        # Options in the query string, or (multipart) as form fields.
        options = request.data if multipart else request.query_params
        partial_value = (options.get("partial") or request.query_params.get("partial", "")).strip().lower()
        if partial_value not in TRUTHY | FALSY:  # "partial=maybe" must not quietly mean all-or-nothing
            reason = f"expected 1/0, true/false, yes/no or on/off, got {partial_value[:40]!r}"
            return Response(
                {"ok": False, "errors": [{"line": 0, "field": "partial", "reason": reason}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        partial = partial_value in TRUTHY
        zone = options.get("timezone") or request.query_params.get("timezone") or ""
        if zone[:1] == " " and zone[1:2].isdigit():
            zone = "+" + zone[1:]  # ?timezone=+01:00 written unencoded: a query string's "+" reads as a space
        zone = zone.strip()
        # The encoding of a body or files that are not UTF-8: a parameter, or a body's own charset.
        encoding = (options.get("encoding") or request.query_params.get("encoding") or "").strip()
        if not encoding and not multipart:
            encoding = request.content_params.get("charset", "").strip()
        date_order = (
            (options.get("date_order") or request.query_params.get("date_order") or "").strip().lower()
        )
        for field_name, check, value in (
            ("timezone", resolve_timezone, zone),
            ("encoding", resolve_encoding, encoding),
            ("date_order", resolve_date_order, date_order),
        ):
            try:
                check(value or None)
            except ImportSetupError as error:
                return Response(
                    {"ok": False, "errors": [{"line": 0, "field": field_name, "reason": str(error)}]},
                    status=status.HTTP_400_BAD_REQUEST,
                )

        if multipart:
            files = [upload for key in request.FILES for upload in request.FILES.getlist(key)]
            if not files:
                return Response(
                    {"detail": "No file in the upload: send each file as a multipart/form-data file part."},
                    status=status.HTTP_400_BAD_REQUEST,
                )
            uploads = [services.Upload(name=upload.name, data=upload.read()) for upload in files]
            return self._queued(request, uploads, partial, zone, encoding, date_order)

        # The raw parsers hand over the body as bytes (an empty body parses to an empty dict).
        body = request.data if isinstance(request.data, bytes) else b""
        if not body:
            return Response(
                {"detail": "The body is empty: send the calls as JSON Lines or a JSON array."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        if content_coding in GZIP_CODINGS and not body.startswith(GZIP_MAGIC):
            return Response(
                {"detail": "The body is labelled Content-Encoding: gzip but is not gzip data."},
                status=status.HTTP_400_BAD_REQUEST,
            )
        try:  # gzip data is read as such, labelled or not (curl --data-binary @calls.jsonl.gz)
            head = head_of(body)
        except ImportSetupError as error:
            return Response(
                {"ok": False, "errors": [{"line": 0, "field": "body", "reason": str(error)}]},
                status=status.HTTP_400_BAD_REQUEST,
            )
        body_format = sniff_format(head)
        if body_format == "csv":  # not JSON
            if (
                media_type == UnlabelledBodyParser.media_type
            ):  # a real form, or CSV, which a body cannot carry
                return Response(
                    {
                        "detail": "The body is not JSON Lines or a JSON array. Send calls as "
                        "application/x-ndjson or application/json, or CSV files as multipart/form-data."
                    },
                    status=status.HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                )
            body_format = "jsonl"  # reported row by row as invalid JSON
        if _wants_async(request):
            return self._queued(
                request,
                [services.Upload(name=f"body.{body_format}", data=body)],
                partial,
                zone,
                encoding,
                date_order,
            )
        result = import_bytes(
            body,
            format=body_format,
            partial=partial,
            default_timezone=zone or None,
            source_name="body",
            encoding=encoding or None,
            date_order=date_order or None,
        )
        return Response(
            result.as_dict(), status=status.HTTP_200_OK if result.written else status.HTTP_400_BAD_REQUEST
        )

    def _queued(
        self,
        request,
        uploads: list[services.Upload],
        partial: bool,
        zone: str,
        encoding: str,
        date_order: str,
    ) -> Response:
        call_import = services.call_import_create(
            user=request.user,
            uploads=uploads,
            partial=partial,
            timezone_name=zone,
            encoding=encoding,
            date_order=date_order,
        )
        url = request.build_absolute_uri(reverse("calls-api:import-status", args=[call_import.pk]))
        return Response(
            {"id": call_import.pk, "status": call_import.status, "url": url},
            status=status.HTTP_202_ACCEPTED,
            headers={"Location": url},
        )


class CallImportStatusView(APIView):
    """An import queued through the API or uploaded in the web UI: its progress, then its outcome."""

    authentication_classes = [*TOKEN_AUTHENTICATION, SessionAuthentication]
    permission_classes = [IsAuthenticated, CanImportCalls]

    @extend_schema(summary="An import's progress and outcome", responses={200: _STATUS})
    def get(self, request, pk: int):
        call_import = call_import_get_for_user(request.user, pk=pk)
        progress = services.call_import_progress(call_import)
        return Response(
            {
                "id": call_import.pk,
                "status": call_import.status,
                "partial": call_import.partial,
                "files": [stored.name for stored in call_import.files.all()],
                "progress": {"done_bytes": progress[0], "total_bytes": progress[1]} if progress else None,
                "ok": (call_import.error_count == 0 and call_import.rejected == 0)
                if call_import.status == CallImport.Status.DONE
                else None,
                "created": call_import.created,
                "updated": call_import.updated,
                "unchanged": call_import.unchanged,
                "rejected": call_import.rejected,
                "error_count": call_import.error_count,
                "errors": call_import.errors,
                "failure": call_import.failure,
                "created_at": call_import.created_at,
                "started_at": call_import.started_at,
                "finished_at": call_import.finished_at,
            }
        )
