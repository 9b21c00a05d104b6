"""Reading QA notices: a user only ever reads their own."""

from __future__ import annotations

from django.db.models import Case, Exists, OuterRef, QuerySet, Value, When
from django.http import Http404

from ..coaching.selectors import coaching_session_list_for_user
from ..models import COACHING_NOTICE_KINDS, Notice
from ..selectors import evaluation_list_for_user


def notice_list_for_user(user, *, unread_only: bool = False) -> QuerySet[Notice]:
    """The user's own notices, newest first, with what their text needs, and `can_open`: whether the user
    may read the linked evaluation (or coaching session) now (the same rule as its page, so a link never
    leads to a 404); a weekly digest links the user's own QA progress page, always."""
    if not user.is_authenticated:
        return Notice.objects.none()
    queryset = Notice.objects.filter(recipient=user)
    if unread_only:
        queryset = queryset.filter(read_at__isnull=True)
    visible = evaluation_list_for_user(user, include_superseded=True).filter(pk=OuterRef("evaluation_id"))
    coaching = coaching_session_list_for_user(user).filter(pk=OuterRef("coaching_session_id"))
    return (
        queryset.select_related(
            "evaluation",
            "evaluation__call",
            "evaluation__agent",
            "dispute",
            "coaching_session",
            "coaching_session__coach",
            "coaching_session__agent",
        )
        .annotate(
            can_open=Case(
                When(kind=Notice.Kind.WEEKLY_DIGEST, then=Value(True)),
                When(
                    kind__in=COACHING_NOTICE_KINDS,
                    then=Exists(coaching.order_by().values("pk")),
                ),
                default=Exists(visible.values("pk")),
            )
        )
        .order_by("-created_at", "-id")
    )


def notice_get_for_user(user, *, pk) -> Notice:
    """One of the user's own notices; 404 for anyone else's (or a bad id)."""
    try:
        return notice_list_for_user(user).get(pk=pk)
    except (Notice.DoesNotExist, ValueError):
        raise Http404("No such notice") from None


def notice_unread_count(user) -> int:
    """Unread notices of the user (the nav badge): one query on the partial unread index."""
    if not user.is_authenticated:
        return 0
    return Notice.objects.filter(recipient=user, read_at__isnull=True).count()
