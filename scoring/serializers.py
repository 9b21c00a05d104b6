"""Read-only API representations of scorecards, evaluations and assignments."""

from __future__ import annotations

import datetime as dt

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from .models import Answer, Assignment, Criterion, Evaluation, Scorecard, Section, SectionScore
from .selectors import scorecard_auto_check_agreement


class CriterionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Criterion
        fields = [
            "id",
            "key",
            "question",
            "guidance",
            "weight",
            "scale",
            "max_points",
            "allows_na",
            "is_critical",
            "applicability",
            "auto_phrases",
            "auto_scope",
            "position",
        ]


class SectionSerializer(serializers.ModelSerializer):
    criteria = CriterionSerializer(many=True, read_only=True)

    class Meta:
        model = Section
        fields = ["id", "title", "description", "position", "criteria"]


class ScorecardSummarySerializer(serializers.ModelSerializer):
    class Meta:
        model = Scorecard
        fields = ["id", "family", "version", "name", "status"]


class ScorecardSerializer(serializers.ModelSerializer):
    sections = SectionSerializer(many=True, read_only=True)
    departments = serializers.SlugRelatedField(many=True, read_only=True, slug_field="name")

    class Meta:
        model = Scorecard
        fields = [
            "id",
            "family",
            "version",
            "name",
            "description",
            "status",
            "channels",
            "departments",
            "published_at",
            "based_on",
            "sections",
        ]


class AutoCheckAgreementSerializer(serializers.Serializer):
    """How often reviewers answered an auto-checked criterion as its rule suggested (current submitted reviews
    of this version; N/A answers left out), with the share's Wilson 95% interval in percent."""

    criterion = serializers.IntegerField(source="criterion.pk")
    key = serializers.CharField(source="criterion.key")
    answers = serializers.IntegerField()
    agreed = serializers.IntegerField()
    percent = serializers.FloatField(source="interval.percent", allow_null=True)
    low = serializers.FloatField(source="interval.low", allow_null=True)
    high = serializers.FloatField(source="interval.high", allow_null=True)
    is_small_sample = serializers.BooleanField(source="interval.is_small_sample")


class ScorecardDetailSerializer(ScorecardSerializer):
    auto_check_agreement = serializers.SerializerMethodField()

    class Meta(ScorecardSerializer.Meta):
        fields = [*ScorecardSerializer.Meta.fields, "auto_check_agreement"]

    @extend_schema_field(AutoCheckAgreementSerializer(many=True))
    def get_auto_check_agreement(self, scorecard: Scorecard) -> list:
        if scorecard.is_editable:
            return []
        return AutoCheckAgreementSerializer(scorecard_auto_check_agreement(scorecard), many=True).data


class AgentRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    employee_code = serializers.CharField()
    name = serializers.CharField()
    team = serializers.CharField(source="team.name", default=None, allow_null=True)  # an agent without a team


class CallRefSerializer(serializers.Serializer):
    id = serializers.IntegerField()
    external_id = serializers.CharField()
    channel = serializers.CharField()
    started_at = serializers.DateTimeField()
    is_resolved = serializers.BooleanField()


class EvaluationSerializer(serializers.ModelSerializer):
    call = CallRefSerializer(read_only=True)
    agent = AgentRefSerializer(read_only=True)
    scorecard = ScorecardSummarySerializer(read_only=True)
    author = serializers.CharField(source="author.username", read_only=True)

    class Meta:
        model = Evaluation
        fields = [
            "id",
            "call",
            "agent",
            "scorecard",
            "author",
            "kind",
            "status",
            "score",
            "is_auto_failed",
            "created_at",
            "submitted_at",
            "acknowledged_at",
            "revision",
            "supersedes",
            "is_current",
        ]


class AnswerSerializer(serializers.ModelSerializer):
    criterion = serializers.CharField(source="criterion.key")
    question = serializers.CharField(source="criterion.question")
    section = serializers.CharField(source="criterion.section.title")
    max_points = serializers.IntegerField(source="criterion.max_points")

    class Meta:
        model = Answer
        fields = [
            "criterion",
            "question",
            "section",
            "value",
            "max_points",
            "is_na",
            "comment",
            "quote",
            "offset_seconds",
        ]


class SectionScoreSerializer(serializers.ModelSerializer):
    section = serializers.CharField(source="section.title")

    class Meta:
        model = SectionScore
        fields = ["section", "score"]


class EvaluationDetailSerializer(EvaluationSerializer):
    answers = AnswerSerializer(many=True, read_only=True)
    section_scores = SectionScoreSerializer(many=True, read_only=True)

    class Meta(EvaluationSerializer.Meta):
        fields = [*EvaluationSerializer.Meta.fields, "summary", "section_scores", "answers"]


class EvaluationFilterSerializer(serializers.Serializer):
    """Query parameters of GET /api/evaluations/ (all optional)."""

    agent = serializers.IntegerField(required=False, help_text="Evaluated agent id.")
    team = serializers.IntegerField(required=False, help_text="Team id of the evaluated agent.")
    call = serializers.CharField(required=False, help_text="Call external id.")
    date_from = serializers.DateField(required=False, help_text="Submitted on or after this date.")
    date_to = serializers.DateField(required=False, help_text="Submitted on or before this date.")
    scorecard = serializers.IntegerField(required=False, help_text="Scorecard (version) id.")
    family = serializers.CharField(required=False, help_text="Scorecard family, any version.")
    kind = serializers.ChoiceField(choices=Evaluation.Kind.choices, required=False)
    status = serializers.ChoiceField(choices=Evaluation.Status.choices, required=False)
    include_superseded = serializers.BooleanField(
        required=False, default=False, help_text="Include revisions replaced after a dispute."
    )

    def validate_date_to(self, value):
        if value >= dt.date.max:  # the filter ends before the next day, which must be a date
            raise serializers.ValidationError(f"Must be before {dt.date.max}.")
        return value

    def validate(self, attrs):
        if attrs.get("date_from") and attrs.get("date_to") and attrs["date_from"] > attrs["date_to"]:
            raise serializers.ValidationError("date_from is after date_to.")
        return attrs


class AssignmentSerializer(serializers.ModelSerializer):
    call = CallRefSerializer(read_only=True)
    reviewer = serializers.CharField(source="reviewer.username", read_only=True)
    agent = AgentRefSerializer(read_only=True, allow_null=True)

    class Meta:
        model = Assignment
        fields = [
            "id",
            "call",
            "reviewer",
            "agent",
            "purpose",
            "period",
            "status",
            "note",
            "created_at",
            "completed_at",
        ]


class AssignmentFilterSerializer(serializers.Serializer):
    status = serializers.ChoiceField(
        choices=[*Assignment.Status.choices, ("all", "All")], required=False, default=Assignment.Status.OPEN
    )
