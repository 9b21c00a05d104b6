"""Read path of the follow-up insights page: what the cases closed in a period say — root causes (a Pareto
list), outcomes, closed within the SLA, how fast the first contact attempt and the close came — over the cases a
user sees on the board (followup_case_list_for_user), narrowed to teams.

Every figure is an SQL aggregate; a fixed number of queries whatever the number of cases. Shares carry a Wilson
95% interval (scoring.surveys.metrics.csat_interval, a generic share interval). Medians and 90th percentiles are
PostgreSQL's percentile_cont; the embedded SQLite demo has none, so there (as scoring.ui_support does) the
durations are fetched in the same one query and the percentile taken in Python with the same linear interpolation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Exists, F, Min, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone

from calls import roles
from calls.models import Team
from calls.rollups import local_day_start
from scoring import metrics
from scoring.analytics.selectors import Period
from scoring.surveys.metrics import ShareInterval, csat_interval
from scoring.surveys.models import ResponseCredit
from scoring.ui_support import PercentileCont, SecondsBetween

from .models import ContactAttempt, FollowUpCase
from .selectors import followup_case_list_for_user

NO_DEPARTMENT = "No department"


def followup_insights_teams_for_user(user) -> list[Team]:
    """Teams whose follow-up insights a user may see: admins all, supervisors the teams they lead.
    Agents and reviewers (and anyone else) may not: PermissionDenied."""
    if roles.is_admin(user):
        return list(Team.objects.order_by("name"))
    if roles.is_supervisor(user):
        return list(Team.objects.filter(supervisors=user).order_by("name"))
    raise PermissionDenied("Follow-up insights are for supervisors")


def followup_insights_cases(user, *, team_ids: list[int] | None) -> QuerySet[FollowUpCase]:
    """The cases the user sees on the board, about the given teams' agents (credited on any leg, as the board
    shows them to the teams' supervisors); team_ids None: no team narrowing (an admin's "all teams", which
    keeps the cases of agents without a team)."""
    cases = followup_case_list_for_user(user).order_by()
    if team_ids is not None:
        cases = cases.filter(
            Exists(ResponseCredit.objects.filter(response=OuterRef("response"), agent__team_id__in=team_ids))
        )
    return cases


@dataclass(frozen=True)
class DurationFigures:
    """Median and 90th percentile of n durations (None without any)."""

    n: int
    median: timedelta | None
    p90: timedelta | None


def _duration(n: int, median: float | None, p90: float | None) -> DurationFigures:
    def as_delta(seconds: float | None) -> timedelta | None:
        return None if seconds is None else timedelta(seconds=seconds)

    return DurationFigures(n=n, median=as_delta(median) if n else None, p90=as_delta(p90) if n else None)


def _durations(closed: QuerySet[FollowUpCase]) -> dict[str, DurationFigures]:
    """Creation → first contact attempt (cases with an attempt) and creation → close: one query."""
    first_attempt = Subquery(
        ContactAttempt.objects.filter(case=OuterRef("pk"))
        .order_by()
        .values("case")
        .annotate(first=Min("at"))
        .values("first")
    )
    cases = closed.annotate(first_attempt_at=first_attempt)
    if connection.vendor == "postgresql":
        to_attempt = SecondsBetween(F("first_attempt_at"), F("created_at"))
        to_close = SecondsBetween(F("closed_at"), F("created_at"))
        row = cases.aggregate(
            attempted=Count("pk", filter=Q(first_attempt_at__isnull=False)),
            closed=Count("pk"),
            attempt_median=PercentileCont(to_attempt, fraction=0.5),
            attempt_p90=PercentileCont(to_attempt, fraction=0.9),
            close_median=PercentileCont(to_close, fraction=0.5),
            close_p90=PercentileCont(to_close, fraction=0.9),
        )
    else:  # SQLite demo database: no percentile_cont, so the percentiles are taken in Python.
        attempts: list[float] = []
        closes: list[float] = []
        for created_at, closed_at, first_at in cases.values_list(
            "created_at", "closed_at", "first_attempt_at"
        ):
            closes.append((closed_at - created_at).total_seconds())
            if first_at is not None:
                attempts.append((first_at - created_at).total_seconds())
        row = {
            "attempted": len(attempts),
            "closed": len(closes),
            "attempt_median": metrics.percentile(attempts, 50),
            "attempt_p90": metrics.percentile(attempts, 90),
            "close_median": metrics.percentile(closes, 50),
            "close_p90": metrics.percentile(closes, 90),
        }
    return {
        "to_first_attempt": _duration(row["attempted"], row["attempt_median"], row["attempt_p90"]),
        "to_close": _duration(row["closed"], row["close_median"], row["close_p90"]),
    }


@dataclass(frozen=True)
class ShareRow:
    key: Any
    label: str
    cases: int
    share: ShareInterval
    cumulative_percent: float | None = None


def followup_insights(
    user, *, period: Period, team_ids: list[int] | None, now: datetime | None = None
) -> dict[str, Any]:
    """The figures of the cases closed in the period (local days, both ends included) among the user's cases.

    Five queries whatever the number of cases: the counts (closed, closed within the SLA, still open past a due
    time in the period), the durations, root causes, outcomes, root cause × department of the call.

    A case is closed within the SLA when it was closed by its due time (moved forward by the time spent
    waiting on the customer). The open-past-due count is of the cases due in the period (up to now) and still
    open: "closed within SLA" alone would read as perfect while the late cases are still open.
    """
    now = now or timezone.now()
    start = local_day_start(period.date_from)
    end = local_day_start(period.date_to + timedelta(days=1))
    cases = followup_insights_cases(user, team_ids=team_ids)
    closed_in_period = Q(status=FollowUpCase.Status.CLOSED, closed_at__gte=start, closed_at__lt=end)
    counts = cases.aggregate(
        closed=Count("pk", filter=closed_in_period),
        within_sla=Count("pk", filter=closed_in_period & Q(closed_at__lte=F("due_at"))),
        open_overdue=Count(
            "pk",
            filter=Q(status=FollowUpCase.Status.OPEN, due_at__gte=start, due_at__lt=end, due_at__lte=now),
        ),
    )
    total = counts["closed"]
    closed = cases.filter(closed_in_period)

    cause_rows = list(
        closed.values("root_cause_id", name=F("root_cause__name"), position=F("root_cause__sort_order"))
        .annotate(cases=Count("pk"))
        # Ties in the managed list's order (not by name: the database's collation would decide that).
        .order_by("-cases", "position", "root_cause_id")
    )
    root_causes = []
    running = 0
    for row in cause_rows:
        running += row["cases"]
        root_causes.append(
            ShareRow(
                key=row["root_cause_id"],
                label=row["name"],
                cases=row["cases"],
                share=csat_interval(row["cases"], total),
                cumulative_percent=100.0 * running / total,
            )
        )

    outcome_counts = dict(closed.values_list("outcome").annotate(cases=Count("pk")).order_by())
    outcomes = [
        ShareRow(
            key=value,
            label=label,
            cases=outcome_counts.get(value, 0),
            share=csat_interval(outcome_counts.get(value, 0), total),
        )
        for value, label in FollowUpCase.Outcome.choices
    ]

    matrix_cells = {
        (row["root_cause_id"], row["department"] or NO_DEPARTMENT): row["cases"]
        for row in closed.values("root_cause_id", department=F("call__department__name"))
        .annotate(cases=Count("pk"))
        .order_by()
    }
    departments = sorted(
        {department for _, department in matrix_cells}, key=lambda d: (d == NO_DEPARTMENT, d)
    )
    by_department = {
        "departments": departments,
        "rows": [
            {
                "root_cause": cause.label,
                "cells": [matrix_cells.get((cause.key, d), 0) for d in departments],
                "total": cause.cases,
            }
            for cause in root_causes
        ],
        "totals": [
            sum(n for (_, d), n in matrix_cells.items() if d == department) for department in departments
        ],
        "total": total,
    }
    return {
        "period": period,
        "now": now,
        "closed": total,
        "within_sla": csat_interval(counts["within_sla"], total),
        "within_sla_cases": counts["within_sla"],
        "open_overdue": counts["open_overdue"],
        "root_causes": root_causes,
        "outcomes": outcomes,
        "by_department": by_department,
        **_durations(closed),
    }
