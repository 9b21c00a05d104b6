"""Read path of the QA progress page: in a period, each reviewer's workload (queue, done, cancelled, reviews and
how fast) and each agent's coverage (reviews received against the weekly sample's target, share of their legs
reviewed), over the active agents of the teams a user follows.

Definitions (the page and the README say the same):
- Agents in scope: active agents of the chosen team, or of all the user's teams (an admin's "all teams" is
  every active agent, those without a team included). Supervisors see their teams only, as on the coaching
  overview and the dispute list; admins every team; anyone else is refused (PermissionDenied).
- A review: an evaluation of kind REVIEW (never a self-review), submitted, current (a revision made after a
  dispute replaces its original and keeps its submission time, so a review counts once). Calibrations are
  counted apart, per reviewer. "Reviews received in the period": submitted in [first day 00:00, day after
  the last 00:00) local time, as the weekly sample's weeks (`sampling.week_bounds`).
- Target: QA_SAMPLE_CALLS_PER_AGENT per agent per week, scaled to the period's length in days and rounded up
  to a whole review: ceil(N × days / 7) (a whole week: N; this week up to Wednesday: ceil(3N / 7)).
  Status: "none" without any review, "met" at the target or above, "behind" otherwise.
- Legs (`scoring.legs`) of the calls that started in the period; a leg is reviewed when it has a current
  submitted review, whenever submitted. Its share carries a Wilson 95% interval.
- Assignments of the agents' legs: open now (and of those overdue: waiting more than
  QA_ASSIGNMENT_OVERDUE_DAYS days, as assignments have no due date), made in the period, completed (done) in
  the period, cancelled in the period. "Open now" is today's queue, not the queue at the period's end.
- Time to review: from the assignment's creation to the review's submission, over the reviews submitted in
  the period through an assignment; the median is PostgreSQL's percentile_cont, and on the embedded SQLite
  demo (no percentile_cont) the durations come in the same one query and the median is taken in Python with
  the same linear interpolation (as the follow-up insights do).

Four queries whatever the number of rows: the agents (with their reviews), their legs, the assignments per
reviewer, the evaluations per reviewer (the view adds one for the filter's teams).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, F, Q, QuerySet
from django.utils import timezone

from calls import roles
from calls.models import Agent, Team
from calls.rollups import compiled, local_day_start
from scoring import metrics
from scoring.analytics.selectors import Period
from scoring.legs import legs_between_query
from scoring.models import Assignment, Evaluation
from scoring.surveys.metrics import ShareInterval, csat_interval
from scoring.ui_support import PercentileCont, SecondsBetween

STATUS_NONE = "none"
STATUS_BEHIND = "behind"
STATUS_MET = "met"
STATUS_LABELS = {STATUS_NONE: "No reviews yet", STATUS_BEHIND: "Behind", STATUS_MET: "Met"}
# Agents without a review first, then those behind, then those on target.
_STATUS_ORDER = {STATUS_NONE: 0, STATUS_BEHIND: 1, STATUS_MET: 2}


def progress_teams_for_user(user) -> list[Team]:
    """Teams whose QA progress a user may see: admins all, supervisors the teams they lead. Agents and
    reviewers (and anyone else) may not: PermissionDenied."""
    if roles.is_admin(user):
        return list(Team.objects.order_by("name"))
    if roles.is_supervisor(user):
        return list(Team.objects.filter(supervisors=user).order_by("name"))
    raise PermissionDenied("QA progress is for supervisors")


def progress_target(per_week: int, days: int) -> int:
    """The weekly target scaled to a period of `days` days, rounded up: ceil(per_week × days / 7)."""
    return -(-per_week * days // 7)


def progress_status(reviews: int, target: int) -> str:
    if reviews == 0:
        return STATUS_NONE
    return STATUS_MET if reviews >= target else STATUS_BEHIND


@dataclass(frozen=True)
class AgentCoverage:
    agent_id: int
    name: str
    employee_code: str
    team_name: str
    reviews: int
    target: int
    status: str
    legs: int
    reviewed_legs: int
    share: ShareInterval
    team_id: int | None = None

    @property
    def status_label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def shortfall(self) -> int:
        return max(self.target - self.reviews, 0)


@dataclass(frozen=True)
class ReviewerProgress:
    reviewer_id: int
    name: str
    open_now: int = 0
    overdue: int = 0
    assigned: int = 0
    completed: int = 0
    cancelled: int = 0
    reviews: int = 0
    calibrations: int = 0
    # The reviews submitted in the period through an assignment, and their median time from it.
    timed_reviews: int = 0
    median_to_review: timedelta | None = None


@dataclass(frozen=True)
class ProgressTotals:
    agents: int
    reviews: int
    target: int
    percent_of_target: float | None
    agents_behind: int
    agents_without_reviews: int
    open_now: int
    overdue: int


@dataclass(frozen=True)
class QaProgress:
    period: Period
    now: datetime
    per_week: int
    target_per_agent: int
    overdue_days: int
    overdue_before: datetime
    agents: list[AgentCoverage]
    reviewers: list[ReviewerProgress]
    totals: ProgressTotals


def progress_agents(team_ids: list[int] | None) -> QuerySet[Agent]:
    """The agents in scope: active agents of these teams (None: every active agent, without a team too)."""
    agents = Agent.objects.filter(is_active=True)
    if team_ids is not None:
        agents = agents.filter(team_id__in=team_ids)
    return agents


def _current_reviews() -> Q:
    return Q(kind=Evaluation.Kind.REVIEW, status=Evaluation.Status.SUBMITTED, is_current=True)


def _person_name(first: str, last: str, username: str) -> str:
    return f"{first} {last}".strip() or username


# Legs of the period's calls per agent in scope, and how many of them have a current submitted review. The
# inner statements are ORM-built (`compiled`); this wrapper is SQL both databases share.
_LEGS_SQL = """
SELECT l.leg_agent AS agent_id, COUNT(*) AS legs, COUNT(r.call_id) AS reviewed
FROM ({legs}) l
LEFT JOIN ({reviewed}) r ON r.call_id = l.leg_call AND r.agent_id = l.leg_agent
WHERE l.leg_agent IN ({agents})
GROUP BY l.leg_agent
"""


def _legs_per_agent(agents: QuerySet[Agent], start: datetime, end: datetime) -> dict[int, tuple[int, int]]:
    """agent id -> (legs of calls started in [start, end), of those with a current submitted review): one query."""
    legs_sql, legs_params = compiled(legs_between_query(start, end))
    reviewed_sql, reviewed_params = compiled(
        Evaluation.objects.filter(_current_reviews(), call__started_at__gte=start, call__started_at__lt=end)
        .order_by()
        .values("call_id", "agent_id")
        .distinct()
    )
    agents_sql, agents_params = compiled(agents.order_by().values("pk"))
    with connection.cursor() as cursor:
        cursor.execute(
            _LEGS_SQL.format(legs=legs_sql, reviewed=reviewed_sql, agents=agents_sql),
            legs_params + reviewed_params + agents_params,
        )
        return {agent_id: (legs, reviewed) for agent_id, legs, reviewed in cursor.fetchall()}


def _assignment_rows(agents: QuerySet[Agent], start: datetime, end: datetime, overdue_before: datetime):
    """Per reviewer, the assignments of the agents' legs open now or made, completed or cancelled in the
    period: one query. A null agent (rows from before migration 0007) is the call's agent, as in the queue."""
    scope = agents.order_by().values("pk")
    made = Q(created_at__gte=start, created_at__lt=end)
    closed = Q(completed_at__gte=start, completed_at__lt=end)
    is_open = Q(status=Assignment.Status.OPEN)
    return (
        Assignment.objects.filter(Q(agent__in=scope) | Q(agent__isnull=True, call__agent__in=scope))
        .filter(is_open | made | closed)
        .order_by()
        .values("reviewer_id", "reviewer__username", "reviewer__first_name", "reviewer__last_name")
        .annotate(
            open_now=Count("pk", filter=is_open),
            overdue=Count("pk", filter=is_open & Q(created_at__lt=overdue_before)),
            assigned=Count("pk", filter=made),
            completed=Count("pk", filter=closed & Q(status=Assignment.Status.DONE)),
            cancelled=Count("pk", filter=closed & Q(status=Assignment.Status.CANCELLED)),
        )
    )


def _evaluation_rows(agents: QuerySet[Agent], start: datetime, end: datetime) -> list[dict[str, Any]]:
    """Per author, the reviews and calibrations of the agents submitted in the period, and the median time from
    assignment to review: one query (the median in Python on SQLite, from the same query's rows)."""
    evaluations = (
        Evaluation.objects.filter(
            agent__in=agents.order_by().values("pk"),
            kind__in=[Evaluation.Kind.REVIEW, Evaluation.Kind.CALIBRATION],
            status=Evaluation.Status.SUBMITTED,
            is_current=True,
            submitted_at__gte=start,
            submitted_at__lt=end,
        )
        .order_by()
        .values("author_id", "author__username", "author__first_name", "author__last_name")
    )
    is_review = Q(kind=Evaluation.Kind.REVIEW)
    timed = is_review & Q(assignment__isnull=False)
    counts = {
        "reviews": Count("pk", filter=is_review),
        "calibrations": Count("pk", filter=Q(kind=Evaluation.Kind.CALIBRATION)),
        "timed_reviews": Count("pk", filter=timed),
    }
    if connection.vendor == "postgresql":
        to_review = SecondsBetween(F("submitted_at"), F("assignment__created_at"))
        return list(
            evaluations.annotate(**counts, median=PercentileCont(to_review, fraction=0.5, filter=timed))
        )
    # SQLite demo database: no percentile_cont, so the rows come one per evaluation and are summed here.
    by_author: dict[int, dict[str, Any]] = {}
    durations: dict[int, list[float]] = {}
    for row in evaluations.values(
        "author_id",
        "author__username",
        "author__first_name",
        "author__last_name",
        "kind",
        "submitted_at",
        "assignment__created_at",
    ):
        author = by_author.setdefault(
            row["author_id"],
            {
                key: row[key]
                for key in ("author_id", "author__username", "author__first_name", "author__last_name")
            }
            | {"reviews": 0, "calibrations": 0, "timed_reviews": 0},
        )
        if row["kind"] == Evaluation.Kind.CALIBRATION:
            author["calibrations"] += 1
            continue
        author["reviews"] += 1
        if row["assignment__created_at"] is not None:
            author["timed_reviews"] += 1
            seconds = (row["submitted_at"] - row["assignment__created_at"]).total_seconds()
            durations.setdefault(row["author_id"], []).append(seconds)
    for author_id, author in by_author.items():
        author["median"] = metrics.percentile(durations.get(author_id, []), 50)
    return list(by_author.values())


def progress_totals(
    *, agents: list[AgentCoverage], target: int, reviewers: list[ReviewerProgress] | tuple = ()
) -> ProgressTotals:
    """The totals of some of qa_progress's agents (and reviewers): the page's, or a team's (weekly digest)."""
    total_reviews = sum(a.reviews for a in agents)
    total_target = target * len(agents)
    return ProgressTotals(
        agents=len(agents),
        reviews=total_reviews,
        target=total_target,
        percent_of_target=100.0 * total_reviews / total_target if total_target else None,
        agents_behind=sum(1 for a in agents if a.reviews < a.target),
        agents_without_reviews=sum(1 for a in agents if a.reviews == 0),
        open_now=sum(r.open_now for r in reviewers),
        overdue=sum(r.overdue for r in reviewers),
    )


def qa_progress(*, period: Period, team_ids: list[int] | None, now: datetime | None = None) -> QaProgress:
    """The QA progress of the agents in scope (`progress_agents(team_ids)`) over the period (local days, both
    ends included): per agent, per reviewer and totals, in four queries (module docstring)."""
    now = now or timezone.now()
    start = local_day_start(period.date_from)
    end = local_day_start(period.date_to + timedelta(days=1))
    per_week = settings.QA_SAMPLE_CALLS_PER_AGENT
    target = progress_target(per_week, period.days)
    overdue_days = settings.QA_ASSIGNMENT_OVERDUE_DAYS
    overdue_before = now - timedelta(days=overdue_days)
    scope = progress_agents(team_ids)

    agent_rows = (
        scope.select_related("team")
        .annotate(
            reviews=Count(
                "evaluations",
                filter=Q(
                    evaluations__kind=Evaluation.Kind.REVIEW,
                    evaluations__status=Evaluation.Status.SUBMITTED,
                    evaluations__is_current=True,
                    evaluations__submitted_at__gte=start,
                    evaluations__submitted_at__lt=end,
                ),
            )
        )
        .order_by("name", "pk")
    )
    legs = _legs_per_agent(scope, start, end)
    agents = []
    for agent in agent_rows:
        leg_count, reviewed = legs.get(agent.pk, (0, 0))
        agents.append(
            AgentCoverage(
                agent_id=agent.pk,
                name=agent.name or agent.employee_code,
                employee_code=agent.employee_code,
                team_name=agent.team.name if agent.team else "",
                reviews=agent.reviews,
                target=target,
                status=progress_status(agent.reviews, target),
                legs=leg_count,
                reviewed_legs=reviewed,
                share=csat_interval(reviewed, leg_count),
                team_id=agent.team_id,
            )
        )
    # Stable sort: within a status, fewest reviews first, then by name (the query's order).
    agents.sort(key=lambda a: (_STATUS_ORDER[a.status], a.reviews))

    reviewers: dict[int, dict[str, Any]] = {}

    def reviewer(row: dict[str, Any], prefix: str, id_key: str) -> dict[str, Any]:
        return reviewers.setdefault(
            row[id_key],
            {
                "reviewer_id": row[id_key],
                "name": _person_name(
                    row[f"{prefix}__first_name"], row[f"{prefix}__last_name"], row[f"{prefix}__username"]
                ),
            },
        )

    for row in _assignment_rows(scope, start, end, overdue_before):
        reviewer(row, "reviewer", "reviewer_id").update(
            {key: row[key] for key in ("open_now", "overdue", "assigned", "completed", "cancelled")}
        )
    for row in _evaluation_rows(scope, start, end):
        median = row["median"] if row["timed_reviews"] else None
        reviewer(row, "author", "author_id").update(
            reviews=row["reviews"],
            calibrations=row["calibrations"],
            timed_reviews=row["timed_reviews"],
            median_to_review=None if median is None else timedelta(seconds=median),
        )
    reviewer_rows = sorted(
        (ReviewerProgress(**fields) for fields in reviewers.values()),
        key=lambda r: (r.name.casefold(), r.reviewer_id),
    )

    totals = progress_totals(agents=agents, target=target, reviewers=reviewer_rows)
    return QaProgress(
        period=period,
        now=now,
        per_week=per_week,
        target_per_agent=target,
        overdue_days=overdue_days,
        overdue_before=overdue_before,
        agents=agents,
        reviewers=reviewer_rows,
        totals=totals,
    )
