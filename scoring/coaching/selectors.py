"""Reading coaching sessions, permission-scoped: an agent their own, a supervisor their teams' agents',
an admin every one; anyone else (reviewers included) none. A foreign session is a 404."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, Q, QuerySet, Sum
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from calls import roles
from calls.models import Agent, Team

from ..analytics.models import AgentDayCriterionStats
from ..analytics.selectors import agent_overview, agent_recent_evaluations, period_resolve
from ..models import CoachingSession, Criterion, Evaluation, Scorecard
from .metrics import ShareDifference, share_difference

SUGGESTED_FOCUS = 3
EFFECT_DAYS = 30


def coaching_session_list_for_user(user) -> QuerySet[CoachingSession]:
    """Sessions the user may read, newest first, with the agent, coach and focus criteria loaded."""
    if not user.is_authenticated:
        return CoachingSession.objects.none()
    queryset = CoachingSession.objects.all()
    if not roles.is_admin(user):
        # Team ids as a subquery, so a session is never repeated per supervisor of its team.
        queryset = queryset.filter(
            Q(agent__user=user) | Q(agent__team__in=Team.objects.filter(supervisors=user).values("pk"))
        )
    return (
        queryset.select_related("agent", "agent__team", "coach")
        .prefetch_related("focus_criteria")
        .order_by("-held_on", "-id")
    )


RECENT_DAYS = 90


@dataclass(frozen=True)
class CoachingOverview:
    """The coaching page's three groups (a session may be in more than one)."""

    today: date
    recent_from: date
    follow_up_due: list[CoachingSession]
    awaiting_acknowledgement: list[CoachingSession]
    recent: list[CoachingSession]


def coaching_follow_up_is_due(*, today: date) -> Q:
    """A session whose follow-up is due: its `follow_up_on` is today or earlier, and the agent has had no
    later session since, i.e. no session of the same agent held on a later day, or on the same day and
    recorded after it (a higher id). Any later session counts, whoever held it: it *is* the follow-up (or
    supersedes it), so the older session leaves the list by itself."""
    later = CoachingSession.objects.filter(agent_id=OuterRef("agent_id")).filter(
        Q(held_on__gt=OuterRef("held_on")) | Q(held_on=OuterRef("held_on"), pk__gt=OuterRef("pk"))
    )
    return Q(follow_up_on__lte=today) & ~Exists(later)


def coaching_overview_for_user(user, *, today: date | None = None) -> CoachingOverview:
    """The sessions a supervisor or admin follows, from `coaching_session_list_for_user` (the session page's
    scope), in three groups: follow-up due (`coaching_follow_up_is_due`, earliest follow-up first), awaiting
    the agent's acknowledgement (not acknowledged, and the agent has a login to acknowledge with; oldest
    first), and recent (held in the last 90 days, today included; newest first). Two queries whatever the
    number of sessions: the sessions (each flagged in SQL), then their focus criteria."""
    today = today or timezone.localdate()
    recent_from = today - timedelta(days=RECENT_DAYS - 1)
    is_due = coaching_follow_up_is_due(today=today)
    is_awaiting = Q(acknowledged_at__isnull=True, agent__user__isnull=False)
    is_recent = Q(held_on__gte=recent_from, held_on__lte=today)
    sessions = list(
        coaching_session_list_for_user(user)
        .filter(is_due | is_awaiting | is_recent)
        .annotate(
            is_follow_up_due=ExpressionWrapper(is_due, output_field=BooleanField()),
            is_awaiting_acknowledgement=ExpressionWrapper(is_awaiting, output_field=BooleanField()),
            is_recent=ExpressionWrapper(is_recent, output_field=BooleanField()),
        )
    )
    return CoachingOverview(
        today=today,
        recent_from=recent_from,
        follow_up_due=sorted(
            (s for s in sessions if s.is_follow_up_due), key=lambda s: (s.follow_up_on, s.held_on, s.pk)
        ),
        awaiting_acknowledgement=sorted(
            (s for s in sessions if s.is_awaiting_acknowledgement), key=lambda s: (s.held_on, s.pk)
        ),
        recent=[s for s in sessions if s.is_recent],  # already newest first
    )


def coaching_session_get_for_user(user, *, pk) -> CoachingSession:
    """One session the user may read (404 otherwise), with the evaluations discussed loaded."""
    try:
        return (
            coaching_session_list_for_user(user)
            .prefetch_related("evaluations", "evaluations__call")
            .get(pk=pk)
        )
    except (CoachingSession.DoesNotExist, ValueError):
        raise Http404("No such coaching session") from None


def coaching_session_list_for_agent(user, *, agent: Agent) -> QuerySet[CoachingSession]:
    """The agent's sessions the user may read (none for a reviewer looking at the agent's page)."""
    return coaching_session_list_for_user(user).filter(agent=agent)


def can_coach(user, agent: Agent) -> bool:
    """Admins, and the supervisors of the agent's team, may record a session; nobody coaches themselves."""
    if not user.is_authenticated or not user.is_active or agent.user_id == user.pk:
        return False
    if roles.is_admin(user):
        return True
    return agent.team_id is not None and Team.objects.filter(pk=agent.team_id, supervisors=user).exists()


def can_acknowledge_coaching(user, session: CoachingSession) -> bool:
    return (
        session.acknowledged_at is None
        and session.agent.user_id is not None
        and session.agent.user_id == user.pk
    )


def coaching_focus_choices() -> list[Criterion]:
    """The criteria a session may focus on: one per key, from the newest published scorecard version
    having it (figures match answers by key across versions)."""
    newest: dict[str, Criterion] = {}
    # A few dozen rows; deduplicated here rather than with DISTINCT ON, which SQLite lacks.
    for criterion in Criterion.objects.filter(scorecard__status=Scorecard.Status.PUBLISHED).order_by(
        "key", "-scorecard__version", "-scorecard_id"
    ):
        newest.setdefault(criterion.key, criterion)
    return sorted(newest.values(), key=lambda c: (c.question.casefold(), c.key))


def coaching_suggested_focus(*, agent: Agent, today=None) -> list[str]:
    """Keys of the agent's criteria furthest below their team's pass rate over the last 30 days (at most
    3, only criteria the agent was scored on and falls short of the team on), from the agent page's own
    figures (`agent_overview`), not a second computation."""
    period = period_resolve("last_30", today=today or timezone.localdate())
    rows = [
        c
        for c in agent_overview(agent=agent, period=period)["criteria"]
        if c["pass_rate"] is not None
        and c["team_pass_rate"] is not None
        and c["pass_rate"] < c["team_pass_rate"]
    ]
    rows.sort(key=lambda c: (c["pass_rate"] - c["team_pass_rate"], c["pass_rate"], c["key"]))
    return [c["key"] for c in rows[:SUGGESTED_FOCUS]]


def coaching_evaluation_choices(*, agent: Agent, limit: int = 20) -> QuerySet[Evaluation]:
    """The evaluations a session may name: the agent's latest current submitted reviews (the agent page's)."""
    return agent_recent_evaluations(agent=agent, limit=limit)


# --- did it work --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class FocusEffect:
    key: str
    question: str
    effect: ShareDifference


@dataclass(frozen=True)
class CoachingEffect:
    """Per focus criterion, the agent's pass rate in the N days before the session day vs the N days after.

    The session day itself is in neither window: `held_on` is a date, so a call that day may have come
    before or after the conversation. N is 30, or the whole days since the session when fewer (the
    before window is then as short, so both sides cover the same length of time)."""

    days: int
    before_from: date
    before_to: date
    after_from: date
    after_to: date
    rows: list[FocusEffect]


def coaching_window(held_on: date, *, today: date) -> tuple[int, date, date, date, date]:
    days = max(0, min(EFFECT_DAYS, (today - held_on).days))
    return (
        days,
        held_on - timedelta(days=days),
        held_on - timedelta(days=1),
        held_on + timedelta(days=1),
        held_on + timedelta(days=days),
    )


def coaching_effect(session: CoachingSession, *, today: date | None = None) -> CoachingEffect:
    """The before/after figures of the session's focus criteria (prefetched), from the agent page's own
    criterion rollup (a pass = the criterion's maximum earned, N/A left out, counted evaluations by call
    day) matched by criterion key across scorecard versions: one query for every focus criterion."""
    days, before_from, before_to, after_from, after_to = coaching_window(
        session.held_on, today=today or timezone.localdate()
    )
    focus = {c.key: c.question for c in session.focus_criteria.all()}
    sums: dict[str, dict] = {}
    if days and focus:
        before = Q(day__gte=before_from, day__lte=before_to)
        after = Q(day__gte=after_from, day__lte=after_to)
        sums = {
            row["key"]: row
            for row in AgentDayCriterionStats.objects.filter(
                agent_id=session.agent_id, criterion__key__in=focus, day__gte=before_from, day__lte=after_to
            )
            .filter(before | after)
            .order_by()
            .values(key=F("criterion__key"))
            .annotate(
                before_n=Coalesce(Sum("answered", filter=before), 0),
                before_passed=Coalesce(Sum("passed", filter=before), 0),
                after_n=Coalesce(Sum("answered", filter=after), 0),
                after_passed=Coalesce(Sum("passed", filter=after), 0),
            )
        }
    rows = []
    for key, question in sorted(focus.items(), key=lambda item: (item[1].casefold(), item[0])):
        row = sums.get(key, {})
        rows.append(
            FocusEffect(
                key=key,
                question=question,
                effect=share_difference(
                    before_passed=row.get("before_passed", 0),
                    before_n=row.get("before_n", 0),
                    after_passed=row.get("after_passed", 0),
                    after_n=row.get("after_n", 0),
                ),
            )
        )
    return CoachingEffect(
        days=days,
        before_from=before_from,
        before_to=before_to,
        after_from=after_from,
        after_to=after_to,
        rows=rows,
    )
