"""Weekly QA sample: N calls per agent per week into reviewers' queues, risk-weighted, no duplicates.

A call's weight is 1 + 1 for each risk signal (transferred, escalated, unresolved, handle time above
the week's 90th percentile) + `sampling_extra_weights` (QA_SAMPLE_DETRACTOR_WEIGHT for survey detractors).
Calls are drawn per agent with Efraimidis–Spirakis weighted sampling without replacement
(`metrics.weighted_sample`), so a weight-4 call is four times as likely as a weight-1 call to be the
first pick. Calls are attributed to their primary agent (`Call.agent`); the reviewer may still choose
another leg's agent when evaluating.

Idempotent: calls already in a queue (any purpose, not cancelled) or already reviewed are not eligible,
and an agent who already has N weekly-sample assignments for the week gets no more, so re-running for
the same week adds nothing. The (call, purpose, period) unique constraint backs this if two runs race.
"""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet
from django.utils import timezone

from calls import roles
from calls.models import Agent, Call, Escalation, Transfer

from . import metrics
from .models import Assignment, Evaluation
from .selectors import published_scorecard_scopes, scorecard_for_call
from .surveys.models import Category as SurveyCategory
from .surveys.models import SurveyResponse

logger = logging.getLogger(__name__)


def sampling_extra_weights(call_ids: Iterable[int]) -> dict[int, float]:
    """Extra sampling weight per call id: QA_SAMPLE_DETRACTOR_WEIGHT for calls a customer rated 0–6."""
    detractor_call_ids = (
        SurveyResponse.objects.filter(call_id__in=list(call_ids), category=SurveyCategory.DETRACTOR)
        .values_list("call_id", flat=True)
        .distinct()
    )
    return dict.fromkeys(detractor_call_ids, float(settings.QA_SAMPLE_DETRACTOR_WEIGHT))


@dataclass
class SampleResult:
    week_start: dt.date
    per_agent: int
    assignments: list[Assignment] = field(default_factory=list)
    # Active agents with no calls at all that week (reported and logged, never silently skipped).
    agents_without_calls: list[Agent] = field(default_factory=list)
    # Agents who got fewer than per_agent calls because too few were eligible: agent id -> number assigned.
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


def percentile_of_handle_times(calls: Sequence[Call], q: float = 90) -> float | None:
    """The week's handle-time percentile (talk + hold + wrap); calls above the p90 count as long."""
    return metrics.percentile([c.handle_total for c in calls], q)


def call_sampling_weights(calls: Sequence[Call], *, long_handle_seconds: float | None) -> dict[int, float]:
    """Weight per call id from the annotated risk signals (see module docstring)."""
    extra = sampling_extra_weights([c.pk for c in calls])
    return {
        call.pk: metrics.sampling_weight(
            transferred=call.has_transfer,
            escalated=call.has_escalation,
            unresolved=not call.is_resolved,
            long_handle=long_handle_seconds is not None and call.handle_total > long_handle_seconds,
            extra=extra.get(call.pk, 0.0),
        )
        for call in calls
    }


def annotate_sampling_signals(queryset: QuerySet[Call]) -> QuerySet[Call]:
    """has_transfer, has_escalation, handle_total, and is_taken (already queued, or reviewed)."""
    return queryset.annotate(
        has_transfer=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
        has_escalation=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
        handle_total=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
        is_taken=Exists(
            Assignment.objects.filter(call=OuterRef("pk")).exclude(status=Assignment.Status.CANCELLED)
        )
        | Exists(Evaluation.objects.filter(call=OuterRef("pk")).exclude(kind=Evaluation.Kind.SELF_REVIEW)),
    )


def week_calls_for_sampling(week_start: dt.date) -> QuerySet[Call]:
    """Calls with an agent that started in the week, annotated, in a stable order (agent, start, id)."""
    start, end = week_bounds(week_start)
    return annotate_sampling_signals(
        Call.objects.filter(started_at__gte=start, started_at__lt=end, agent__isnull=False)
    ).order_by("agent_id", "started_at", "id")


@transaction.atomic
def weekly_sample_assign(
    *,
    week_start: dt.date,
    per_agent: int | None = None,
    seed: int | None = None,
    reviewers: Sequence | None = None,
) -> SampleResult:
    """Fill reviewers' queues with `per_agent` (QA_SAMPLE_CALLS_PER_AGENT) calls per active agent from
    the week starting `week_start` (a Monday). `seed` makes the draw reproducible (tests)."""
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

    week_calls = list(week_calls_for_sampling(week_start))
    long_handle = percentile_of_handle_times(week_calls)
    weights = call_sampling_weights(week_calls, long_handle_seconds=long_handle)

    calls_by_agent: dict[int, list[Call]] = {}
    for call in week_calls:
        calls_by_agent.setdefault(call.agent_id, []).append(call)
    already = dict(
        Assignment.objects.filter(purpose=Assignment.Purpose.WEEKLY_SAMPLE, period=week_start)
        .exclude(status=Assignment.Status.CANCELLED)
        .values("call__agent_id")
        .annotate(n=Count("pk"))
        .values_list("call__agent_id", "n")
    )
    # Least-loaded reviewer first, then round-robin; a reviewer never gets their own calls.
    open_load = dict(
        Assignment.objects.filter(status=Assignment.Status.OPEN, reviewer__in=reviewers)
        .values("reviewer_id")
        .annotate(n=Count("pk"))
        .values_list("reviewer_id", "n")
    )
    reviewers = sorted(reviewers, key=lambda r: (open_load.get(r.pk, 0), r.username))
    reviewer_agent = dict(Agent.objects.filter(user__in=reviewers).values_list("user_id", "pk"))

    # A call no published scorecard covers can never be evaluated ("No published scorecard applies"): its
    # assignment would stay open for ever, so it is not eligible.
    scopes = published_scorecard_scopes()
    rng = random.Random(seed)
    turn = 0
    new_assignments: list[Assignment] = []
    for agent in Agent.objects.filter(is_active=True).order_by("employee_code", "pk"):
        agent_calls = calls_by_agent.get(agent.pk, [])
        if not agent_calls:
            result.agents_without_calls.append(agent)
            continue
        need = per_agent - already.get(agent.pk, 0)
        if need <= 0:
            continue
        eligible = [c for c in agent_calls if not c.is_taken and scorecard_for_call(c, scopes) is not None]
        picked = metrics.weighted_sample([(c, weights[c.pk]) for c in eligible], need, rng)
        if len(picked) < need:
            result.agents_short[agent.pk] = len(picked) + already.get(agent.pk, 0)
        for call in picked:
            for _ in range(len(reviewers)):
                reviewer = reviewers[turn % len(reviewers)]
                turn += 1
                if reviewer_agent.get(reviewer.pk) != agent.pk:
                    break
            else:
                logger.warning("weekly sample: call %s has no reviewer other than its own agent", call.pk)
                continue
            new_assignments.append(
                Assignment(
                    call=call,
                    reviewer=reviewer,
                    purpose=Assignment.Purpose.WEEKLY_SAMPLE,
                    period=week_start,
                    status=Assignment.Status.OPEN,
                    note=f"Weekly sample (weight {weights[call.pk]:g})",
                )
            )
    result.assignments = Assignment.objects.bulk_create(new_assignments)
    if result.agents_without_calls:
        logger.warning(
            "weekly sample for %s: %d active agent(s) had no calls: %s",
            week_start,
            len(result.agents_without_calls),
            ", ".join(a.employee_code for a in result.agents_without_calls),
        )
    if result.agents_short:
        logger.info(
            "weekly sample for %s: %d agent(s) had too few eligible calls",
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
