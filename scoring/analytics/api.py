"""The leaderboard as JSON (DRF), scoped exactly like the page: same selector, same filter form."""

from __future__ import annotations

import math

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .forms import AnalyticsFilterForm


class LeaderboardRowSerializer(serializers.Serializer):
    agent_id = serializers.IntegerField()
    name = serializers.CharField()
    employee_code = serializers.CharField()
    team_id = serializers.IntegerField()
    team_name = serializers.CharField()
    rank = serializers.IntegerField(
        allow_null=True,
        help_text="Null when is_ranked is false (fewer evaluations than the minimum); sort=rank puts those rows "
        "last in both directions.",
    )
    previous_rank = serializers.IntegerField(allow_null=True)
    movement = serializers.IntegerField(allow_null=True)
    is_ranked = serializers.BooleanField()
    calls = serializers.IntegerField()
    identified_calls = serializers.IntegerField(
        help_text="Of calls, those of identified callers (with a customer); the others are anonymous."
    )
    average_handle_seconds = serializers.FloatField(allow_null=True)
    fcr_rate = serializers.FloatField(
        allow_null=True,
        help_text="First-contact resolution over identified_calls (an anonymous caller's repeat contact cannot "
        "be seen, so anonymous calls are left out); null when there are none.",
    )
    transfer_rate = serializers.FloatField(allow_null=True)
    escalation_rate = serializers.FloatField(allow_null=True)
    evaluations = serializers.IntegerField()
    qa_mean = serializers.FloatField(allow_null=True)
    qa_shrunk = serializers.FloatField(allow_null=True)
    qa_lower = serializers.FloatField(allow_null=True, help_text="Rank key: lower 95% bound of qa_shrunk.")
    shrinkage_k = serializers.FloatField(
        allow_null=True,
        help_text="Prior weight of the team mean used for qa_shrunk; null: infinite (the team's agents differ "
        "no more than noise would make them, so each one's qa_shrunk is the team mean).",
    )
    shrinkage_k_is_estimated = serializers.BooleanField()
    responses = serializers.IntegerField()
    nps = serializers.FloatField(allow_null=True)
    nps_low = serializers.FloatField(allow_null=True)
    nps_high = serializers.FloatField(allow_null=True)
    csat_answers = serializers.IntegerField(help_text="Optional CSAT answers (1–5) of the responses counted.")
    csat = serializers.FloatField(
        allow_null=True,
        help_text="Percentage of CSAT answers of 4–5; null without answers. Sortable (sort=csat; rows without "
        "answers last), never used for ranking.",
    )
    csat_low = serializers.FloatField(allow_null=True, help_text="Wilson 95% interval of csat.")
    csat_high = serializers.FloatField(allow_null=True)
    ces_answers = serializers.IntegerField(help_text="Optional CES answers (1–7) of the responses counted.")
    ces = serializers.FloatField(
        allow_null=True,
        help_text="Mean CES answer; null without answers. Sortable (sort=ces; rows without answers last), never "
        "used for ranking.",
    )
    ces_low = serializers.FloatField(
        allow_null=True, help_text="Student-t 95% interval of ces; null under two answers."
    )
    ces_high = serializers.FloatField(allow_null=True)
    followups_closed = serializers.IntegerField()
    followups_closed_within_sla = serializers.IntegerField()
    followups_open_overdue = serializers.IntegerField(
        help_text="Follow-ups of the period's calls still open past their due time (not in followups_closed)."
    )
    sections = serializers.DictField(child=serializers.FloatField(allow_null=True))


class LeaderboardAPIView(APIView):
    """Per-agent figures for a period (same query parameters as the page: period, date_from, date_to, team,
    sort, dir). Supervisors see their teams only; agents get 403."""

    @extend_schema(
        parameters=[
            OpenApiParameter("period", OpenApiTypes.STR, enum=list(selectors.PERIODS)),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="with period=custom"),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="with period=custom"),
            OpenApiParameter("team", OpenApiTypes.INT, description="one of the caller's teams"),
            OpenApiParameter("sort", OpenApiTypes.STR, enum=sorted(selectors.SORT_KEYS)),
            OpenApiParameter("dir", OpenApiTypes.STR, enum=["asc", "desc"]),
        ],
        responses={
            200: inline_serializer(
                "Leaderboard",
                {
                    "date_from": serializers.DateField(),
                    "date_to": serializers.DateField(),
                    "results": LeaderboardRowSerializer(many=True),
                },
            ),
            400: OpenApiTypes.OBJECT,
            403: OpenApiTypes.OBJECT,
        },
    )
    def get(self, request):
        form = AnalyticsFilterForm(
            request.query_params or None, teams=selectors.analytics_teams_for_user(request.user)
        )
        if request.query_params and not form.is_valid():
            return Response(form.errors, status=400)
        sort, descending = form.sort_order()
        period = form.resolved_period()
        board = selectors.leaderboard(
            team_ids=form.team_ids(), period=period, sort=sort, descending=descending
        )
        rows = [
            {
                **row,
                "shrinkage_k": None if math.isinf(row["shrinkage_k"]) else row["shrinkage_k"],
                "sections": dict(zip(board["section_titles"], row["sections"], strict=True)),
            }
            for row in board["rows"]
        ]
        return Response(
            {
                "date_from": period.date_from,
                "date_to": period.date_to,
                "results": LeaderboardRowSerializer(rows, many=True).data,
            }
        )
