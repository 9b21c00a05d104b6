"""Read-only QA API. Every queryset comes from a permission-scoped selector, so a foreign object is a 404."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, viewsets
from rest_framework.response import Response
from rest_framework.views import APIView

from . import selectors
from .calibration.forms import CalibrationFilterForm
from .calibration.selectors import calibration_report, calibration_scorecards, can_view_calibration
from .serializers import (
    AssignmentFilterSerializer,
    AssignmentSerializer,
    EvaluationDetailSerializer,
    EvaluationFilterSerializer,
    EvaluationSerializer,
    ScorecardDetailSerializer,
    ScorecardSerializer,
)


@extend_schema(tags=["scoring"])
class ScorecardViewSet(viewsets.ReadOnlyModelViewSet):
    """Scorecards with their sections and criteria: published and retired versions (drafts for QA leads)."""

    def get_serializer_class(self):
        # The detail adds how often reviewers agree with each auto-check rule (one more query).
        return ScorecardDetailSerializer if self.action == "retrieve" else ScorecardSerializer

    def get_queryset(self):
        return selectors.scorecard_list_for_user(self.request.user, include_drafts=True)


@extend_schema(tags=["scoring"])
class EvaluationViewSet(viewsets.ReadOnlyModelViewSet):
    """QA evaluations the caller may read (agents: their own; supervisors: their teams'; reviewers:
    submitted ones and their own; admins: all). Current revisions unless include_superseded=true."""

    def get_serializer_class(self):
        return EvaluationDetailSerializer if self.action == "retrieve" else EvaluationSerializer

    def get_queryset(self):
        filters = EvaluationFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        params = dict(filters.validated_data)
        include_superseded = params.pop("include_superseded", False)
        queryset = selectors.evaluation_list_for_user(
            self.request.user, include_superseded=include_superseded
        )
        if "call" in params:
            params["call_external_id"] = params.pop("call")
        return selectors.evaluation_filter(queryset, **params)

    def get_object(self):
        evaluation = selectors.evaluation_get_for_user(self.request.user, pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, evaluation)
        return evaluation

    @extend_schema(parameters=[EvaluationFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


@extend_schema(tags=["scoring"])
class AssignmentViewSet(viewsets.ReadOnlyModelViewSet):
    """The caller's review queue (supervisors also see the legs of their teams' agents; admins all)."""

    serializer_class = AssignmentSerializer

    def get_queryset(self):
        filters = AssignmentFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        status = filters.validated_data["status"]
        return selectors.assignment_list_for_user(
            self.request.user, status=None if status == "all" else status
        )

    def get_object(self):
        assignment = selectors.assignment_get_for_user(self.request.user, pk=self.kwargs["pk"])
        self.check_object_permissions(self.request, assignment)
        return assignment

    @extend_schema(parameters=[AssignmentFilterSerializer])
    def list(self, request, *args, **kwargs):
        return super().list(request, *args, **kwargs)


# --- calibration ------------------------------------------------------------------------------------


class AlphaSerializer(serializers.Serializer):
    value = serializers.FloatField(
        allow_null=True, help_text="Krippendorff's alpha (interval); null when undefined (see reason)."
    )
    verdict = serializers.ChoiceField(
        choices=["reliable", "tentative", "unreliable"],
        allow_null=True,
        help_text=">= 0.800 reliable, 0.667–0.800 tentative, below unreliable (Krippendorff).",
    )
    reason = serializers.ChoiceField(
        choices=["not_enough_data", "no_variation"],
        allow_null=True,
        help_text="Why value is null: no call with two or more values, or every value the same.",
    )
    calls = serializers.IntegerField(source="units", help_text="Calls with two or more ratings (pairable).")
    ratings = serializers.IntegerField(help_text="Ratings on those calls.")
    reviewers = serializers.IntegerField(source="raters")
    low = serializers.FloatField(
        allow_null=True, help_text="95% bootstrap interval over calls, when computed."
    )
    high = serializers.FloatField(allow_null=True)


class CriterionAgreementSerializer(serializers.Serializer):
    criterion_id = serializers.IntegerField()
    key = serializers.CharField()
    question = serializers.CharField()
    section = serializers.CharField()
    scorecard = serializers.CharField()
    alpha = AlphaSerializer()
    disagreeing_calls = serializers.IntegerField()


class ReviewerBiasSerializer(serializers.Serializer):
    reviewer_id = serializers.IntegerField(source="reviewer.pk")
    reviewer = serializers.CharField(source="reviewer.name")
    calls = serializers.IntegerField(source="bias.units")
    mean_score = serializers.FloatField(source="bias.mean_value", allow_null=True)
    bias = serializers.FloatField(
        source="bias.mean",
        allow_null=True,
        help_text="Mean of (reviewer's score − mean of the other reviewers' scores of the same call).",
    )
    low = serializers.FloatField(source="bias.low", allow_null=True, help_text="95% Student-t interval.")
    high = serializers.FloatField(source="bias.high", allow_null=True)


class CalibrationCallSerializer(serializers.Serializer):
    call_id = serializers.IntegerField()
    external_id = serializers.CharField()
    started_at = serializers.DateTimeField()
    agent = serializers.CharField(source="agent_name")
    scorecards = serializers.ListField(child=serializers.CharField())
    scores = serializers.DictField(
        child=serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True),
        help_text="Reviewer id -> score (null: all N/A).",
    )
    spread = serializers.DecimalField(max_digits=5, decimal_places=2, allow_null=True)


class CalibrationReportSerializer(serializers.Serializer):
    date_from = serializers.DateField()
    date_to = serializers.DateField()
    scorecard = serializers.IntegerField(allow_null=True)
    calls_total = serializers.IntegerField()
    is_truncated = serializers.BooleanField()
    overall = AlphaSerializer()
    criteria = CriterionAgreementSerializer(many=True)
    reviewers = ReviewerBiasSerializer(many=True)
    calls = CalibrationCallSerializer(many=True)


@extend_schema(tags=["scoring"])
class CalibrationAPIView(APIView):
    """Reviewer agreement on calls scored by two or more reviewers (reviews and calibrations, original
    revisions): Krippendorff's alpha overall and per criterion (worst first), each reviewer's bias against
    the mean of the other reviewers, and the calls side by side. Same filters and scoping as the page:
    supervisors their teams' calls, reviewers the calls they rated themselves; agents get 403."""

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "period", str, enum=["this_week", "last_week", "this_month", "last_30", "last_90", "custom"]
            ),
            OpenApiParameter("date_from", OpenApiTypes.DATE, description="with period=custom"),
            OpenApiParameter("date_to", OpenApiTypes.DATE, description="with period=custom"),
            OpenApiParameter("scorecard", OpenApiTypes.INT, description="A scorecard version id"),
        ],
        responses=CalibrationReportSerializer,
    )
    def get(self, request):
        if not can_view_calibration(request.user):
            raise PermissionDenied("Calibration is for reviewers, supervisors and admins.")
        form = CalibrationFilterForm(request.query_params or None, scorecards=calibration_scorecards())
        if request.query_params and not form.is_valid():
            return Response(form.errors, status=400)
        period = form.resolved_period()
        report = calibration_report(
            request.user,
            date_from=period.date_from,
            date_to=period.date_to,
            scorecard=form.selected_scorecard(),
        )
        calls = [
            {
                **vars(call),
                "scores": {
                    str(reviewer.pk): score
                    for reviewer, score in zip(report.columns, call.scores, strict=True)
                    if score is not None
                },
            }
            for call in report.calls
        ]
        data = {
            "date_from": period.date_from,
            "date_to": period.date_to,
            "scorecard": report.scorecard.pk if report.scorecard else None,
            "calls_total": report.calls_total,
            "is_truncated": report.is_truncated,
            "overall": report.overall,
            "criteria": report.criteria,
            "reviewers": report.reviewers,
            "calls": calls,
        }
        return Response(CalibrationReportSerializer(data).data)
