"""GET /api/calls/ and /api/calls/{id}/: call records read back, for BI tools and CRMs.

Scoped and filtered exactly as the calls list (call_list_for_user, CallFilterForm, call_filter): a call the
caller may not see is a 404, a refused filter a 400 naming its field. Phones masked as on the pages.
"""

from __future__ import annotations

import binascii
from base64 import b64decode, b64encode
from datetime import UTC, datetime
from urllib.parse import parse_qs, urlencode

from django import forms
from django.conf import settings
from django.db.models import Q
from django.utils.dateparse import parse_datetime
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics
from rest_framework.exceptions import NotFound
from rest_framework.pagination import CursorPagination
from rest_framework.response import Response
from rest_framework.utils.urls import replace_query_param

from . import roles
from .forms import CallFilterForm
from .models import Channel
from .selectors import (
    call_api_page_rows,
    call_list_filtered_for_user,
    call_list_for_user,
    call_record_for_user,
)
from .serializers import CallDetailSerializer, CallSerializer


class CallCursorPagination(CursorPagination):
    """Newest first, by a keyset cursor on (start time, id): no OFFSET to walk and no COUNT over a million
    calls, a page does not shift when newer calls are imported while a client walks the list (page numbers
    would repeat rows then), and any number of calls may share a start time (imports rounded to the minute):
    DRF's own cursor steps over ties by an offset capped at 1000, past which a walk would loop. Pages as long
    as the calls list's (CALLS_PAGE_SIZE) unless `page_size` asks otherwise. The cursor is opaque to clients:
    base64 of the boundary row's start time and id, and the direction."""

    ordering = ("-started_at", "-id")
    page_size_query_param = "page_size"
    max_page_size = 500

    def get_page_size(self, request):
        self.page_size = settings.CALLS_PAGE_SIZE  # read per request, as the calls list reads it
        return super().get_page_size(request)

    def paginate_queryset(self, queryset, request, view=None):
        """The page's rows (dicts or objects with `pk` and `started_at`), newest first."""
        self.request = request
        self.base_url = request.build_absolute_uri()
        size = self.page_size = self.get_page_size(request)
        boundary = self.decode_cursor(request)
        newest_first = queryset.order_by("-started_at", "-pk")
        if boundary is None:
            rows = list(newest_first[: size + 1])
            self.has_next, self.has_previous = len(rows) > size, False
            rows = rows[:size]
        else:
            moment, pk, backwards = boundary
            if backwards:  # the rows just newer than the boundary, read oldest first, shown newest first
                newer = Q(started_at__gt=moment) | Q(started_at=moment, pk__gt=pk)
                rows = list(queryset.filter(newer).order_by("started_at", "pk")[: size + 1])
                self.has_next, self.has_previous = True, len(rows) > size
                rows = rows[:size][::-1]
            else:
                older = Q(started_at__lt=moment) | Q(started_at=moment, pk__lt=pk)
                rows = list(newest_first.filter(older)[: size + 1])
                self.has_next, self.has_previous = len(rows) > size, True
                rows = rows[:size]
        self.page = rows
        return rows

    @staticmethod
    def _key(row) -> tuple[datetime, int]:
        return (row["started_at"], row["pk"]) if isinstance(row, dict) else (row.started_at, row.pk)

    def get_next_link(self):
        if not self.has_next or not self.page:
            return None
        return replace_query_param(
            self.base_url, self.cursor_query_param, self._encode(*self._key(self.page[-1]))
        )

    def get_previous_link(self):
        if not self.has_previous or not self.page:
            return None
        token = self._encode(*self._key(self.page[0]), backwards=True)
        return replace_query_param(self.base_url, self.cursor_query_param, token)

    @staticmethod
    def _encode(moment: datetime, pk: int, *, backwards: bool = False) -> str:
        fields = {"p": moment.astimezone(UTC).isoformat(), "i": pk, **({"r": 1} if backwards else {})}
        return b64encode(urlencode(fields).encode()).decode()

    def decode_cursor(self, request) -> tuple[datetime, int, bool] | None:
        """(start time, id, backwards) of the cursor in the query string, None without one; a forged or damaged
        cursor is a 404, as DRF answers an unreadable one."""
        token = request.query_params.get(self.cursor_query_param)
        if not token:
            return None
        try:
            fields = parse_qs(
                b64decode(token.encode("ascii"), validate=True).decode("ascii"), strict_parsing=True
            )
            if set(fields) - {"p", "i", "r"} or any(len(values) != 1 for values in fields.values()):
                raise ValueError("unknown or repeated fields")
            moment = parse_datetime(fields["p"][0])
            pk = int(fields["i"][0])
            backwards = fields.get("r", ["0"])[0]
            if moment is None or moment.tzinfo is None or pk < 1 or backwards not in {"0", "1"}:
                raise ValueError("not a boundary")
            moment.astimezone(UTC)  # year 1 or 9999 at an offset: no datetime in UTC
        except (KeyError, ValueError, OverflowError, UnicodeError, binascii.Error):
            raise NotFound(self.invalid_cursor_message) from None
        return moment, pk, backwards == "1"


class CallSyncForm(forms.Form):
    """The API's own filter beside the calls list's: the records changed since a moment (an incremental sync).
    A time without an offset is read in the site's zone."""

    updated_since = forms.DateTimeField(required=False)


def _yes_no(name: str, description: str) -> OpenApiParameter:
    return OpenApiParameter(name, OpenApiTypes.STR, enum=["yes", "no"], description=description)


# The calls list's filters (calls.forms.CallFilterForm), as the page's query string writes them.
FILTER_PARAMETERS = [
    OpenApiParameter(
        "q",
        {"type": "string", "maxLength": 100},
        description="Search: a call's or customer's id, or part of it, or of the customer's name (and phone, "
        "for supervisors and admins).",
    ),
    OpenApiParameter(
        "date_from",
        OpenApiTypes.DATE,
        description="Calls started on or after this day (the site's time zone).",
    ),
    OpenApiParameter(
        "date_to",
        OpenApiTypes.DATE,
        description="Calls started on or before this day (the site's time zone).",
    ),
    OpenApiParameter(
        "agent", OpenApiTypes.INT, description="Handling agent id, one the caller may see (else a 400)."
    ),
    OpenApiParameter(
        "team",
        OpenApiTypes.INT,
        description="Team id of the handling agent, one the caller may see (else a 400).",
    ),
    OpenApiParameter("department", OpenApiTypes.INT, description="Department id."),
    OpenApiParameter("channel", OpenApiTypes.STR, enum=Channel.values),
    _yes_no("transferred", "Transferred at least once (yes), or never (no)."),
    _yes_no("escalated", "Escalated at least once (yes), or never (no)."),
    _yes_no("resolved", "Marked resolved (yes), or not (no)."),
    OpenApiParameter(
        "updated_since",
        OpenApiTypes.DATETIME,
        description="Only the calls whose record changed at or after this moment (their `updated_at`): an "
        "incremental sync. ISO 8601; without an offset, the site's time zone.",
    ),
    _yes_no(
        "fcr",
        "First-contact resolved (yes) or not (no); either keeps identified callers' calls only (an anonymous "
        "caller's is unknown).",
    ),
]


class _CallAPIMixin:
    """The caller's calls (GenericAPIView's queryset: DRF's browsable API reads it), and whether they may see
    customers' phones in full (the serializers mask them otherwise)."""

    def get_queryset(self):
        return call_list_for_user(self.request.user)

    def get_serializer_context(self):
        return {
            **super().get_serializer_context(),
            "can_see_phone": roles.can_see_customer_phone(self.request.user),
        }


@extend_schema(tags=["calls"])
class CallListAPIView(_CallAPIMixin, generics.ListAPIView):
    """The calls the caller may see, newest first: admins and reviewers every call, supervisors those their
    teams' agents handled (on any leg), agents their own (including calls transferred to them). Same filters
    as the calls list, but no default period: without dates, every call. Follow `next` to walk them all."""

    serializer_class = CallSerializer
    pagination_class = CallCursorPagination

    @extend_schema(summary="List calls", parameters=FILTER_PARAMETERS)
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def list(self, request, *args, **kwargs):
        form = CallFilterForm(request.query_params, user=request.user)
        sync = CallSyncForm(request.query_params)
        if not (form.is_valid() & sync.is_valid()):  # both, so that every refused parameter is named
            return Response({**form.errors, **sync.errors}, status=400)
        calls = call_list_filtered_for_user(request.user, **form.filters())
        if sync.cleaned_data["updated_since"] is not None:
            calls = calls.filter(updated_at__gte=sync.cleaned_data["updated_since"])
        # The page's ids by the cursor first, then their rows with related rows and metrics by primary key,
        # as the calls list reads its pages: the flags' subqueries run for the page's rows only.
        page = self.paginate_queryset(calls.values("pk", "started_at"))
        rows = call_api_page_rows([row["pk"] for row in page])
        serializer = self.get_serializer(rows, many=True)
        return self.get_paginated_response(serializer.data)


@extend_schema(tags=["calls"])
class CallDetailAPIView(_CallAPIMixin, generics.RetrieveAPIView):
    """One call with its transcript, recording, transfers and escalations; 404 for a call the caller may not
    see, as for one that does not exist."""

    serializer_class = CallDetailSerializer

    @extend_schema(summary="A call")
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    def get_object(self):
        return call_record_for_user(self.request.user, pk=self.kwargs["pk"])
