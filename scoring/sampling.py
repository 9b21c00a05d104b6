"""Weekly QA sample: N legs per agent per week into reviewers' queues, risk-weighted, no duplicates.

QA is per leg (`scoring.legs`): a call two agents handled (a transfer) is one leg for each of them, so an
agent who only receives transferred calls is sampled from those, and is "without calls" only if they
have no leg at all that week. Each assignment names its leg's agent.

A leg's weight is its call's: 1 + 1 for each risk signal (transferred, escalated, unresolved, handle
time above the week's 90th percentile) + QA_SAMPLE_DETRACTOR_WEIGHT for survey detractors. The week's
calls are read as rows (`SamplingCall`: ids, flags and handle time computed in SQL, one query), never
as Call instances: at 50k calls a week, loading instances with every column (transcripts included)
was most of the run. Legs are drawn per agent with Efraimidis–Spirakis weighted sampling without
replacement (`metrics.weighted_sample`), so a weight-4 leg is four times as likely as a weight-1 leg to
be the first pick. A leg is eligible only if a published scorecard applies to it (its department and
the call's channel: `scorecard_for_leg`).

Idempotent: legs already in a queue (any purpose, not cancelled) or already reviewed (that agent on
that call) are not eligible, and an agent who already has N weekly-sample assignments for the week
gets no more, so re-running for the same week adds nothing. The per-leg (call, agent, purpose, period)
unique constraint backs this if two runs race.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.db.models.functions import Coalesce
from django.utils import timezone

from calls import roles
from calls.models import Agent, Call, Escalation, Transfer

from . import metrics
from .legs import LegRow, legs_between
from .models import Assignment, Evaluation
from .selectors import published_scorecard_scopes, scorecard_for_leg
from .surveys.models import Category as SurveyCategory
from .surveys.models import SurveyResponse

logger = logging.getLogger(__name__)


def _detractor_responses() -> QuerySet[SurveyResponse]:
    return SurveyResponse.objects.filter(category=SurveyCategory.DETRACTOR)


def sampling_extra_weights(call_ids: Iterable[int]) -> dict[int, float]:
    """Extra sampling weight per call id: QA_SAMPLE_DETRACTOR_WEIGHT for calls a customer rated 0–6.
    (The weekly sample reads the same signal as `is_detractor` in `week_calls_for_sampling`.)"""
    detractor_call_ids = (
        _detractor_responses()
        .filter(call_id__in=list(call_ids))
        .order_by()  # else the model's ordering columns join the DISTINCT
        .values_list("call_id", flat=True)
        .distinct()
    )
    return dict.fromkeys(detractor_call_ids, float(settings.QA_SAMPLE_DETRACTOR_WEIGHT))


class SamplingCall(NamedTuple):
    """One call of the week as the sample reads it: ids, flags and numbers only (no model instance)."""

    pk: int
    agent_id: int | None
    channel: str
    is_resolved: bool
    has_transfer: bool
    has_escalation: bool
    is_detractor: bool
    handle_total: int


@dataclass
class SampleResult:
    week_start: dt.date
    per_agent: int
    assignments: list[Assignment] = field(default_factory=list)
    # Active agents with no leg of any call that week (reported and logged, never silently skipped).
    agents_without_calls: list[Agent] = field(default_factory=list)
    # Agents who got fewer than per_agent legs because too few were eligible: agent id -> number assigned.
    agents_short: dict[int, int] = field(default_factory=dict)
    reviewers: list = field(default_factory=list)

    @property
    def created(self) -> int:
        return len(self.assignments)


def week_bounds(week_start: dt.date) -> tuple[dt.datetime, dt.datetime]:
    """[Monday 00:00, next Monday 00:00) in the current time zone."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(week_start, dt.time.min, tzinfo=tz)
    return start, dt.datetime.combine(week_start + dt.timedelta(days=7), dt.time.min, tzinfo=tz)


def previous_week_start(today: dt.date | None = None) -> dt.date:
    """Monday of the week before `today`'s week (local date)."""
    today = today or timezone.localdate()
    return today - dt.timedelta(days=today.weekday() + 7)


def default_reviewers() -> list:
    """Active users in the reviewer group, by username."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.REVIEWER)
        .distinct()
        .order_by("username")
    )


def percentile_of_handle_times(calls: Iterable[SamplingCall], q: float = 90) -> float | None:
    """The week's handle-time percentile (talk + hold + wrap); calls above the p90 count as long.

    Computed here rather than in SQL: the sample fetches every call's handle time anyway (for the long
    flag), sorting them is a few milliseconds at 50k calls, and one definition (`metrics.percentile`,
    linear interpolation) then serves PostgreSQL and SQLite alike."""
    return metrics.percentile([c.handle_total for c in calls], q)


def call_sampling_weights(
    calls: Iterable[SamplingCall], *, long_handle_seconds: float | None
) -> dict[int, float]:
    """Weight per call id from the rows' risk signals (see module docstring); no query."""
    detractor_weight = float(settings.QA_SAMPLE_DETRACTOR_WEIGHT)
    return {
        call.pk: metrics.sampling_weight(
            transferred=call.has_transfer,
            escalated=call.has_escalation,
            unresolved=not call.is_resolved,
            long_handle=long_handle_seconds is not None and call.handle_total > long_handle_seconds,
            extra=detractor_weight if call.is_detractor else 0.0,
        )
        for call in calls
    }


def week_calls_for_sampling(week_start: dt.date) -> list[SamplingCall]:
    """Calls with at least one leg (a handling agent, or an agent on a transfer) that started in the week,
    as `SamplingCall` rows with their risk signals computed in SQL, in a stable order (start, id): one
    query."""
    start, end = week_bounds(week_start)
    with_agent_on_transfer = Exists(
        Transfer.objects.filter(call=OuterRef("pk")).filter(
            Q(to_agent__isnull=False) | Q(from_agent__isnull=False)
        )
    )
    rows = (
        Call.objects.filter(started_at__gte=start, started_at__lt=end)
        .filter(Q(agent__isnull=False) | with_agent_on_transfer)
        .annotate(
            has_transfer=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
            has_escalation=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
            is_detractor=Exists(_detractor_responses().filter(call=OuterRef("pk"))),
            handle_total=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
        )
        .order_by("started_at", "id")
        .values_list(*SamplingCall._fields)
    )
    return [SamplingCall._make(row) for row in rows]


def week_taken_legs(week_start: dt.date) -> set[tuple[int, int]]:
    """(call id, agent id) of the week's legs already in a queue (any purpose, not cancelled) or already
    evaluated (reviews and calibrations; self-reviews don't count): two queries."""
    start, end = week_bounds(week_start)
    in_week = {"call__started_at__gte": start, "call__started_at__lt": end}
    queued = (
        Assignment.objects.filter(**in_week)
        .exclude(status=Assignment.Status.CANCELLED)
        .annotate(leg_agent=Coalesce("agent_id", "call__agent_id"))
        .filter(leg_agent__isnull=False)
        .values_list("call_id", "leg_agent")
    )
    reviewed = (
        Evaluation.objects.filter(**in_week)
        .exclude(kind=Evaluation.Kind.SELF_REVIEW)
        .values_list("call_id", "agent_id")
    )
    return set(queued) | set(reviewed)


@transaction.atomic
def weekly_sample_assign(
    *,
    week_start: dt.date,
    per_agent: int | None = None,
    seed: int | None = None,
    reviewers: Sequence | None = None,
) -> SampleResult:
    """Fill reviewers' queues with `per_agent` (QA_SAMPLE_CALLS_PER_AGENT) legs per active agent from the
    week starting `week_start` (a Monday), each assignment naming its leg's agent. `seed` makes the draw reproducible (tests)."""
    if week_start.weekday() != 0:
        raise ValidationError("week_start must be a Monday.")
    per_agent = settings.QA_SAMPLE_CALLS_PER_AGENT if per_agent is None else per_agent
    reviewers = list(reviewers) if reviewers is not None else default_reviewers()
    result = SampleResult(week_start=week_start, per_agent=per_agent, reviewers=reviewers)
    if per_agent <= 0:
        return result
    if not reviewers:
        logger.error("weekly sample for %s: no active reviewers, nothing assigned", week_start)
        return result

    week_calls = week_calls_for_sampling(week_start)
    long_handle = percentile_of_handle_times(week_calls)
    weights = call_sampling_weights(week_calls, long_handle_seconds=long_handle)
    channel = {call.pk: call.channel for call in week_calls}
    # The rows come in (call start, call id) order: a call's position in them sorts legs the same way.
    position = {call.pk: index for index, call in enumerate(week_calls)}

    # Legs in (agent, call start, call id) order: a stable input order keeps a seeded draw reproducible.
    legs_by_agent: dict[int, list[LegRow]] = {}
    for leg in legs_between(*week_bounds(week_start)):
        legs_by_agent.setdefault(leg.agent_id, []).append(leg)
    for agent_legs in legs_by_agent.values():
        agent_legs.sort(key=lambda leg: position[leg.call_id])
    taken = week_taken_legs(week_start)
    already = dict(
        Assignment.objects.filter(purpose=Assignment.Purpose.WEEKLY_SAMPLE, period=week_start)
        .exclude(status=Assignment.Status.CANCELLED)
        .values("agent_id")
        .annotate(n=Count("pk"))
        .values_list("agent_id", "n")
    )
    # Least-loaded reviewer first, then round-robin; a reviewer never gets their own legs.
    open_load = dict(
        Assignment.objects.filter(status=Assignment.Status.OPEN, reviewer__in=reviewers)
        .values("reviewer_id")
        .annotate(n=Count("pk"))
        .values_list("reviewer_id", "n")
    )
    reviewers = sorted(reviewers, key=lambda r: (open_load.get(r.pk, 0), r.username))
    reviewer_agent = dict(Agent.objects.filter(user__in=reviewers).values_list("user_id", "pk"))

    # A leg no published scorecard covers can never be evaluated ("No published scorecard applies"): its
    # assignment would stay open for ever, so it is not eligible.
    scopes = published_scorecard_scopes()
    # Few (department, channel) pairs, many legs: decide each pair once.
    scorecard_applies: dict[tuple[int | None, str], bool] = {}

    def is_scorable(leg: LegRow) -> bool:
        key = (leg.department_id, channel[leg.call_id])
        if key not in scorecard_applies:
            scorecard_applies[key] = (
                scorecard_for_leg(department_id=key[0], channel=key[1], scopes=scopes) is not None
            )
        return scorecard_applies[key]

    rng = random.Random(seed)
    turn = 0
    new_assignments: list[Assignment] = []
    for agent in Agent.objects.filter(is_active=True).order_by("employee_code", "pk"):
        agent_legs = legs_by_agent.get(agent.pk, [])
        if not agent_legs:
            result.agents_without_calls.append(agent)
            continue
        need = per_agent - already.get(agent.pk, 0)
        if need <= 0:
            continue
        eligible = [leg for leg in agent_legs if (leg.call_id, agent.pk) not in taken and is_scorable(leg)]
        picked = metrics.weighted_sample([(leg, weights[leg.call_id]) for leg in eligible], need, rng)
        if len(picked) < need:
            result.agents_short[agent.pk] = len(picked) + already.get(agent.pk, 0)
        for leg in picked:
            for _ in range(len(reviewers)):
                reviewer = reviewers[turn % len(reviewers)]
                turn += 1
                if reviewer_agent.get(reviewer.pk) != agent.pk:
                    break
            else:
                logger.warning(
                    "weekly sample: call %s (agent %s) has no reviewer other than its own agent",
                    leg.call_id,
                    agent.pk,
                )
                continue
            new_assignments.append(
                Assignment(
                    call_id=leg.call_id,
                    agent=agent,
                    reviewer=reviewer,
                    purpose=Assignment.Purpose.WEEKLY_SAMPLE,
                    period=week_start,
                    status=Assignment.Status.OPEN,
                    note=f"Weekly sample (weight {weights[leg.call_id]:g})",
                )
            )
    result.assignments = Assignment.objects.bulk_create(new_assignments)
    if result.agents_without_calls:
        logger.warning(
            "weekly sample for %s: %d active agent(s) had no calls (no leg of any call): %s",
            week_start,
            len(result.agents_without_calls),
            ", ".join(a.employee_code for a in result.agents_without_calls),
        )
    if result.agents_short:
        logger.info(
            "weekly sample for %s: %d agent(s) had too few eligible legs",
            week_start,
            len(result.agents_short),
        )
    logger.info(
        "weekly sample for %s: %d assignment(s) for %d reviewer(s)",
        week_start,
        result.created,
        len(reviewers),
    )
    return result
