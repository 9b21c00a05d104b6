"""Read paths for follow-ups: SLA policy matching, owners and escalation recipients, permission-scoped
case lists and the board."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count, Exists, OuterRef, Prefetch, Q, QuerySet
from django.http import Http404
from django.utils import timezone

from calls import roles
from calls.models import Agent, Transfer
from scoring.surveys.models import ResponseCredit, SurveyResponse

from . import sla
from .models import BusinessCalendar, ContactAttempt, FollowUpCase, FollowUpQueue, Notification, SlaPolicy

User = get_user_model()

# --- SLA ------------------------------------------------------------------------------------------


def sla_policy_match(*, customer_tier: str | None, score: int) -> SlaPolicy | None:
    """The first active policy (by position) matching the tier and score, else the default, else None.

    One query: the active policies are few, so they are matched here rather than by two filtered queries.
    """
    policies = list(
        SlaPolicy.objects.filter(is_active=True).select_related("calendar").order_by("position", "id")
    )
    for policy in policies:
        if (
            not policy.is_default
            and policy.min_score <= score <= policy.max_score
            and policy.customer_tier in ("", customer_tier or "")
        ):
            return policy
    return next((p for p in policies if p.is_default), None)


def business_calendar_for_sla(calendar: BusinessCalendar | None) -> sla.Calendar | None:
    """The pure calendar for sla.py (None = round the clock)."""
    if calendar is None:
        return None
    return sla.Calendar.build(
        calendar.time_zone,
        [(h.weekday, h.opens_at, h.closes_at) for h in calendar.opening_hours.all()],
        [h.date for h in calendar.holidays.all()],
    )


def followup_case_calendar(case: FollowUpCase) -> sla.Calendar | None:
    """The pure calendar a case's SLA runs on (None = round the clock)."""
    return business_calendar_for_sla(case.calendar) if case.calendar_id else None


def business_calendars_for_cases(cases) -> dict[int, sla.Calendar]:
    """Pure calendars for the cases' calendar ids, two queries however many cases."""
    ids = {c.calendar_id for c in cases if c.calendar_id}
    calendars = BusinessCalendar.objects.filter(pk__in=ids).prefetch_related("opening_hours", "holidays")
    return {c.pk: business_calendar_for_sla(c) for c in calendars}


# --- who owns, who is told --------------------------------------------------------------------------


def response_primary_agent(response: SurveyResponse) -> Agent | None:
    """The agent the response is credited to as primary; without credits, the call's final-leg agent."""
    credit = (
        ResponseCredit.objects.filter(response=response, is_primary=True)
        .select_related("agent__team")
        .first()
    )
    if credit is not None:
        return credit.agent
    last_transfer = (
        Transfer.objects.filter(call_id=response.call_id, to_agent__isnull=False)
        .select_related("to_agent__team")
        .order_by("-sequence")
        .first()
    )
    if last_transfer is not None:
        return last_transfer.to_agent
    return Agent.objects.select_related("team").filter(calls__pk=response.call_id).first()


def team_supervisor(agent: Agent | None):
    """The agent's team supervisor who owns follow-ups: the longest-standing active one (lowest id)."""
    if agent is None or agent.team_id is None:
        return None
    return agent.team.supervisors.filter(is_active=True).order_by("pk").first()


def response_owner(response: SurveyResponse):
    """Who owns the response's follow-up: the primary credited agent's team supervisor (one query in the
    usual case), or None when there is none (the case then goes to the default queue)."""
    owner = (
        User.objects.filter(
            is_active=True,
            led_teams__agents__survey_credits__response=response,
            led_teams__agents__survey_credits__is_primary=True,
        )
        .order_by("pk")
        .first()
    )
    if owner is not None or ResponseCredit.objects.filter(response=response).exists():
        return owner
    return team_supervisor(response_primary_agent(response))  # no credits: the call's final-leg agent


def default_queue() -> FollowUpQueue:
    queue = FollowUpQueue.objects.filter(is_default=True).first()
    if queue is None:
        queue, _ = FollowUpQueue.objects.get_or_create(name="Customer care follow-ups")
    return queue


def admin_users() -> QuerySet:
    return (
        User.objects.filter(Q(is_superuser=True) | Q(groups__name=roles.ADMIN), is_active=True)
        .distinct()
        .order_by("pk")
    )


def escalation_recipients(case: FollowUpCase, level: int) -> list:
    """Level 1: the supervisors of the call's department (other than the owner); level 2 (or nobody at
    level 1): the admins. An empty list means the admins' board only."""
    if level == 1 and case.call.department_id is not None:
        department_supervisors = list(
            User.objects.filter(led_teams__department_id=case.call.department_id, is_active=True)
            .exclude(pk=case.owner_id or 0)
            .distinct()
            .order_by("pk")
        )
        if department_supervisors:
            return department_supervisors
    return list(admin_users()) or [None]


# --- permissions ------------------------------------------------------------------------------------


def _case_queryset() -> QuerySet[FollowUpCase]:
    return FollowUpCase.objects.select_related(
        "response",
        "call",
        "call__agent",
        "customer",
        "owner",
        "queue",
        "root_cause",
        "calendar",
        "sla_policy",
    )


def followup_case_list_for_user(user) -> QuerySet[FollowUpCase]:
    """Cases a user may see: admins all; everyone the cases they own or whose queue they belong to;
    supervisors also the cases about their teams' agents; agents also the cases about their own calls
    (credited to them on any leg) — never another agent's."""
    base = _case_queryset()
    if not user.is_authenticated:
        return base.none()
    if roles.is_admin(user):
        return base
    visible = Q(owner=user) | Q(queue__in=FollowUpQueue.objects.filter(members=user))
    if roles.is_supervisor(user):
        visible |= Exists(
            ResponseCredit.objects.filter(response=OuterRef("response"), agent__team__supervisors=user)
        )
    if roles.is_agent(user):
        visible |= Exists(ResponseCredit.objects.filter(response=OuterRef("response"), agent__user=user))
    return base.filter(visible)


def followup_case_get_for_user(user, *, pk: int) -> FollowUpCase:
    """The case if the user may see it; 404 otherwise (a foreign case must look like a missing one)."""
    try:
        return followup_case_list_for_user(user).get(pk=pk)
    except FollowUpCase.DoesNotExist:
        raise Http404("No such follow-up") from None


def followup_user_can_work(user, case: FollowUpCase) -> bool:
    """May the user act on a case they can see? Owners, queue members, supervisors and admins may; an
    agent who only appears in the case (it is about their call) may read it, not work it."""
    if roles.is_admin(user) or case.owner_id == user.pk or roles.is_supervisor(user):
        return True
    return case.queue_id is not None and case.queue.members.filter(pk=user.pk).exists()


# --- board ------------------------------------------------------------------------------------------


@dataclass
class BoardRow:
    case: FollowUpCase
    time_left: timedelta  # business time left on the SLA (frozen while paused); negative when overdue
    is_overdue: bool


GROUPS = ("overdue", "due_soon", "open", "waiting", "failed")


def sla_time_left(case: FollowUpCase, *, now: datetime, calendar: sla.Calendar | None) -> timedelta:
    """Business time left until due (frozen at the pause while waiting); when overdue, minus the real
    time since the deadline."""
    if case.status == FollowUpCase.Status.WAITING and case.sla_paused_at is not None:
        return sla.business_time_between(case.sla_paused_at, case.due_at, calendar)
    if case.due_at <= now:
        return case.due_at - now
    return sla.business_time_between(now, case.due_at, calendar)


def followup_board(user, *, now: datetime | None = None, limit: int = 200) -> dict:
    """The user's active cases grouped overdue / due soon / open / waiting / failed, most urgent first."""
    now = now or timezone.now()
    soon = now + timedelta(minutes=settings.FOLLOWUP_DUE_SOON_MINUTES)
    cases = followup_case_list_for_user(user)
    S = FollowUpCase.Status
    filters = {
        "overdue": Q(status=S.OPEN, due_at__lte=now),
        "due_soon": Q(status=S.OPEN, due_at__gt=now, due_at__lte=soon),
        "open": Q(status=S.OPEN, due_at__gt=soon),
        "waiting": Q(status=S.WAITING),
        "failed": Q(status=S.FAILED)
        | (Q(dispatch_state=FollowUpCase.DispatchState.FAILED) & ~Q(status=S.CLOSED)),
    }
    counts = cases.order_by().aggregate(**{name: _count(q) for name, q in filters.items()})
    groups: dict[str, list[BoardRow]] = {}
    fetched: list[FollowUpCase] = []
    per_group: dict[str, list[FollowUpCase]] = {}
    for name, q in filters.items():
        per_group[name] = list(cases.filter(q).order_by("due_at", "pk")[:limit])
        fetched.extend(per_group[name])
    calendars = business_calendars_for_cases(fetched)
    for name, rows in per_group.items():
        groups[name] = [
            BoardRow(
                case=c,
                time_left=sla_time_left(c, now=now, calendar=calendars.get(c.calendar_id)),
                is_overdue=c.status == S.OPEN and c.due_at <= now,
            )
            for c in rows
        ]
    return {"groups": groups, "counts": counts, "limit": limit, "now": now}


def _count(q: Q) -> Count:
    return Count("pk", filter=q)


def notification_unread_for_user(user, *, limit: int = 10) -> QuerySet[Notification]:
    return (
        Notification.objects.filter(recipient=user, read_at__isnull=True)
        .select_related("case", "case__customer")
        .order_by("-created_at")[:limit]
    )


def followup_case_detail(case: FollowUpCase) -> FollowUpCase:
    """The case with its attempts and notifications loaded for the detail page."""
    return (
        _case_queryset()
        .prefetch_related(
            Prefetch("contact_attempts", queryset=ContactAttempt.objects.select_related("by")),
            Prefetch("notifications", queryset=Notification.objects.select_related("recipient")),
        )
        .get(pk=case.pk)
    )
