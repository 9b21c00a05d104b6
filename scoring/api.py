"""Read-only QA API. Every queryset comes from a permission-scoped selector, so a foreign object is a 404."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import viewsets

from . import selectors
from .serializers import (
    AssignmentFilterSerializer,
    AssignmentSerializer,
    EvaluationDetailSerializer,
    EvaluationFilterSerializer,
    EvaluationSerializer,
    ScorecardSerializer,
)


@extend_schema(tags=["scoring"])
class ScorecardViewSet(viewsets.ReadOnlyModelViewSet):
    """Scorecards with their sections and criteria: published and retired versions (drafts for QA leads)."""

    serializer_class = ScorecardSerializer

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
    """The caller's review queue (supervisors also see their teams' calls' assignments; admins all)."""

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
