"""QA notices over HTTP: the caller's own notices only (anyone else's is a 404)."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import generics, serializers
from rest_framework.pagination import PageNumberPagination
from rest_framework.response import Response
from rest_framework.views import APIView

from ..models import Notice
from . import services
from .selectors import notice_get_for_user, notice_list_for_user


class NoticeSerializer(serializers.ModelSerializer):
    text = serializers.SerializerMethodField(help_text="What happened, in one sentence.")
    call = serializers.CharField(
        source="evaluation.call.external_id", read_only=True, allow_null=True, default=None
    )
    evaluation_url = serializers.SerializerMethodField(
        help_text="The evaluation's page, when the caller may open it now (else null)."
    )
    coaching_session_url = serializers.SerializerMethodField(
        help_text="The coaching session's page (coaching_recorded, coaching_follow_up_due), when the caller may open it now (else null)."
    )
    progress_url = serializers.SerializerMethodField(
        help_text="The QA progress page on last week (weekly_digest), else null."
    )
    details = serializers.JSONField(
        read_only=True,
        help_text="A weekly digest's figures as written (week_start, week_end, teams, agents, reviews, target, "
        "percent_of_target, agents_behind, agents_without_reviews, responses, promoters, passives, detractors, "
        "nps, followups_open_overdue); {} for the other kinds.",
    )
    is_read = serializers.BooleanField(read_only=True)

    class Meta:
        model = Notice
        fields = [
            "id",
            "kind",
            "text",
            "evaluation",
            "dispute",
            "coaching_session",
            "call",
            "evaluation_url",
            "coaching_session_url",
            "progress_url",
            "details",
            "created_at",
            "read_at",
            "is_read",
            "emailed_at",
        ]
        read_only_fields = fields

    def get_text(self, notice: Notice) -> str:
        return services.notice_text(notice)

    def get_evaluation_url(self, notice: Notice) -> str | None:
        if not getattr(notice, "can_open", False) or notice.evaluation_id is None:
            return None
        return reverse("scoring:evaluation_detail", args=[notice.evaluation_id])

    def get_progress_url(self, notice: Notice) -> str | None:
        return services.notice_weekly_digest_url(notice) if notice.kind == Notice.Kind.WEEKLY_DIGEST else None

    def get_coaching_session_url(self, notice: Notice) -> str | None:
        if not getattr(notice, "can_open", False) or notice.coaching_session_id is None:
            return None
        return reverse("scoring:coaching_detail", args=[notice.coaching_session_id])


class NoticeFilterSerializer(serializers.Serializer):
    unread = serializers.BooleanField(required=False, default=False, help_text="Only unread notices.")


class NoticePagination(PageNumberPagination):
    """Pages as long as the notices page's (QA_NOTICE_PAGE_SIZE)."""

    @property
    def page_size(self) -> int:
        return settings.QA_NOTICE_PAGE_SIZE


@extend_schema(tags=["notices"])
class NoticeListAPIView(generics.ListAPIView):
    """The caller's own notices, newest first: reviews of their calls, disputes they are part of."""

    serializer_class = NoticeSerializer
    pagination_class = NoticePagination

    def get_queryset(self):
        filters = NoticeFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return notice_list_for_user(self.request.user, unread_only=filters.validated_data["unread"])

    @extend_schema(parameters=[NoticeFilterSerializer])
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)


@extend_schema(tags=["notices"])
class NoticeReadAPIView(APIView):
    """Mark one of the caller's notices read (idempotent: the first read time is kept); 404 if not theirs."""

    @extend_schema(request=None, responses=NoticeSerializer)
    def post(self, request, pk: int):
        notice = notice_get_for_user(request.user, pk=pk)
        services.notice_mark_read(notice=notice, user=request.user)
        return Response(NoticeSerializer(notice).data)


@extend_schema(tags=["notices"])
class NoticeReadAllAPIView(APIView):
    """Mark every unread notice of the caller read."""

    @extend_schema(
        request=None,
        responses=inline_serializer(
            "NoticeReadAll", {"marked": serializers.IntegerField(help_text="Notices that were unread.")}
        ),
    )
    def post(self, request):
        return Response({"marked": services.notice_mark_all_read(user=request.user)})
