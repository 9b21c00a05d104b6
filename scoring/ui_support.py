"""Read helpers the QA web UI needs on top of `scoring.selectors` (owned by the UI; no state changes).

- the running score of a draft (the same `metrics.compute_score` as submission, over what is answered
  so far),
- the "why was this call sampled" signals of a reviewer's queue (transfers, escalation, unresolved,
  handle time above its week's 90th percentile — the sampling's own risk signals),
- the transcript as numbered lines with recording offsets,
- an agent's QA summary (SQL aggregate) and the reviewer-vs-self comparison rows.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import (
    Aggregate,
    Avg,
    Case,
    Count,
    F,
    FloatField,
    Func,
    IntegerField,
    OuterRef,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, TruncWeek
from django.utils import timezone

from calls import roles
from calls.models import Agent, Call, Transfer
from calls.selectors import call_annotate_metrics
from calls.templatetags.calls_tags import transcript_lines

from . import metrics
from .models import Answer, Assignment, Criterion, Evaluation, Section
from .selectors import EvaluationRow, assignment_filter_leg

# =====================================================================================================
# Answer labels
# =====================================================================================================


def answer_label(criterion: Criterion, answer: Answer | None) -> str:
    """ "Yes"/"No", "3 / 4", "N/A", or "" when unanswered."""
    if answer is None:
        return ""
    return value_label(criterion, None if answer.is_na else answer.value)


def value_label(criterion: Criterion, value: int | None) -> str:
    return scale_value_label(criterion.scale, criterion.max_points, value)


def scale_value_label(scale: str, max_points: int, value: int | None) -> str:
    """`value_label` from a criterion's scale and maximum alone (for rows read as plain values)."""
    if value is None:
        return "N/A"
    if scale == Criterion.Scale.YES_NO:
        return "Yes" if value == 1 else "No"
    return f"{value} / {max_points}"


def criterion_choices(criterion: Criterion, *, applies: bool) -> list[tuple[str, str]]:
    """(posted value, label) of the answer buttons: Yes/No or 0..N, then N/A when allowed."""
    if not applies:
        return [("na", "N/A")]
    if criterion.scale == Criterion.Scale.YES_NO:
        choices = [("1", "Yes"), ("0", "No")]
    else:
        choices = [(str(points), str(points)) for points in range(criterion.max_points + 1)]
    if criterion.allows_na:
        choices.append(("na", "N/A"))
    return choices


def answer_choice_value(answer: Answer | None) -> str:
    """The posted value that corresponds to a saved answer ("" when unanswered)."""
    if answer is None:
        return ""
    return "na" if answer.is_na else str(answer.value)


# =====================================================================================================
# Running score of a draft
# =====================================================================================================


@dataclass
class SectionProgress:
    section: Section
    score: Decimal | None
    answered: int
    applicable: int
    has_failed_critical: bool = False


@dataclass
class RunningScore:
    """What the score would be if the answers given so far were all there is."""

    score: Decimal | None
    is_auto_failed: bool
    answered: int
    applicable: int
    sections: list[SectionProgress] = field(default_factory=list)
    failed_critical: list[Criterion] = field(default_factory=list)

    @property
    def remaining(self) -> int:
        return self.applicable - self.answered

    @property
    def is_complete(self) -> bool:
        return self.answered == self.applicable


def evaluation_running_score(rows: list[EvaluationRow]) -> RunningScore:
    """Score, auto-fail and per-section sub-scores over the answered criteria (unanswered ones are left
    out, like N/A; inapplicable ones are N/A by definition). Same math as submission."""
    scored = []
    for row in rows:
        if row.answer is None or not row.applies:
            continue
        criterion = row.criterion
        scored.append(
            metrics.ScoredAnswer(
                weight=criterion.weight,
                possible=criterion.max_points,
                earned=None if row.answer.is_na else row.answer.value,
                is_critical=criterion.is_critical,
                section=row.section.pk,
            )
        )
    result = metrics.compute_score(scored)
    sections: dict[int, SectionProgress] = {}
    failed_critical = []
    for row in rows:
        progress = sections.setdefault(
            row.section.pk,
            SectionProgress(
                section=row.section,
                score=metrics.to_storage(result.section_scores.get(row.section.pk)),
                answered=0,
                applicable=0,
            ),
        )
        if not row.applies:
            continue
        progress.applicable += 1
        if row.answer is not None:
            progress.answered += 1
            if (
                row.criterion.is_critical
                and not row.answer.is_na
                and metrics.criterion_failed(row.answer.value, row.criterion.max_points)
            ):
                progress.has_failed_critical = True
                failed_critical.append(row.criterion)
    return RunningScore(
        score=metrics.to_storage(result.score),
        is_auto_failed=result.is_auto_failed,
        answered=sum(s.answered for s in sections.values()),
        applicable=sum(s.applicable for s in sections.values()),
        sections=list(sections.values()),
        failed_critical=failed_critical,
    )


# =====================================================================================================
# Drafts and workspace context
# =====================================================================================================


def evaluation_draft_for(*, call: Call, author, kind: str, agent: Agent) -> Evaluation | None:
    """The author's open draft for this call/agent/kind, if any (what the workspace resumes)."""
    return (
        Evaluation.objects.select_related("call", "agent", "scorecard", "author")
        .filter(call=call, author=author, kind=kind, agent=agent, status=Evaluation.Status.DRAFT)
        .first()
    )


def submitted_self_review_for(*, call: Call, author, agent: Agent) -> Evaluation | None:
    """The agent's submitted self-review of this call, if any: one per call is enough."""
    return (
        Evaluation.objects.filter(
            call=call,
            author=author,
            agent=agent,
            kind=Evaluation.Kind.SELF_REVIEW,
            status=Evaluation.Status.SUBMITTED,
        )
        .order_by("-submitted_at", "-id")
        .first()
    )


def open_assignment_for(*, call: Call, reviewer, agent_id: int | None = None) -> Assignment | None:
    """The reviewer's oldest open assignment on the call; of that agent's leg if `agent_id` is given."""
    queryset = Assignment.objects.select_related("agent").filter(
        call=call, reviewer=reviewer, status=Assignment.Status.OPEN
    )
    if agent_id is not None:
        queryset = assignment_filter_leg(queryset, agent_id=agent_id)
    return queryset.order_by("created_at", "id").first()


_STAMP = re.compile(r"^(?:(?P<h>\d{1,2}):)?(?P<m>\d{1,2}):(?P<s>\d{2})(?:\.\d+)?$")


def stamp_seconds(stamp: str) -> int | None:
    """ "01:02" → 62, "1:00:05" → 3605; None for anything else."""
    match = _STAMP.match(stamp.strip())
    if not match:
        return None
    return int(match["h"] or 0) * 3600 + int(match["m"]) * 60 + int(match["s"])


@dataclass(frozen=True)
class NumberedLine:
    number: int
    speaker: str
    role: str
    text: str
    stamp: str
    offset_seconds: int | None


def transcript_rows(call: Call) -> list[NumberedLine]:
    """The transcript as numbered, speaker-labelled lines (text still unescaped: templates escape it)."""
    agent_names = tuple(name for name in (call.agent.name if call.agent else "",) if name)
    customer_names = tuple(name for name in (call.customer.name if call.customer else "",) if name)
    return numbered_transcript(call.transcript, agent_names=agent_names, customer_names=customer_names)


def numbered_transcript(
    transcript: str, *, agent_names: tuple[str, ...] = (), customer_names: tuple[str, ...] = ()
) -> list[NumberedLine]:
    """`transcript_rows` for a transcript and the names it may use (no call needed)."""
    return [
        NumberedLine(
            number=number,
            speaker=line.speaker,
            role=line.role,
            text=line.text,
            stamp=line.stamp,
            offset_seconds=stamp_seconds(line.stamp) if line.stamp else None,
        )
        for number, line in enumerate(
            transcript_lines(transcript, agent_names=agent_names, customer_names=customer_names), start=1
        )
    ]


# =====================================================================================================
# Review queue: why a call was sampled
# =====================================================================================================


class PercentileCont(Aggregate):
    """PostgreSQL's percentile_cont (linear interpolation, the same as metrics.percentile); takes `filter=`
    (Django puts the FILTER (WHERE …) clause where the template says %(filter)s)."""

    function = "percentile_cont"
    template = "%(function)s(%(fraction)s) WITHIN GROUP (ORDER BY %(expressions)s)%(filter)s"
    output_field = FloatField()

    def __init__(self, expression, *, fraction: float, **extra):
        super().__init__(expression, fraction=float(fraction), **extra)


class SecondsBetween(Func):
    """Seconds from the second timestamp to the first, as a double (PostgreSQL; NULL if either is NULL)."""

    template = "EXTRACT(EPOCH FROM (%(expressions)s))::double precision"
    arg_joiner = " - "
    output_field = FloatField()


@dataclass
class CallSignals:
    transfer_count: int = 0
    is_escalated: bool = False
    is_unresolved: bool = False
    is_long_handle: bool = False
    handle_seconds: int = 0

    @property
    def labels(self) -> list[str]:
        labels = []
        if self.transfer_count:
            labels.append(f"{self.transfer_count} transfer{'s' if self.transfer_count > 1 else ''}")
        if self.is_escalated:
            labels.append("Escalated")
        if self.is_unresolved:
            labels.append("Unresolved")
        if self.is_long_handle:
            labels.append("Long handle")
        return labels


def _week_start(moment: dt.datetime) -> dt.date:
    local = timezone.localtime(moment).date()
    return local - dt.timedelta(days=local.weekday())


def weekly_handle_p90(weeks: set[dt.date]) -> dict[dt.date, float | None]:
    """The 90th percentile of handle time of all calls of each given week (local Monday), one query."""
    if not weeks:
        return {}
    tz = timezone.get_current_timezone()
    in_weeks = Q()
    for week in weeks:
        start = dt.datetime.combine(week, dt.time.min, tzinfo=tz)
        in_weeks |= Q(started_at__gte=start, started_at__lt=start + dt.timedelta(days=7))
    calls = Call.objects.filter(in_weeks).order_by()
    handle = F("talk_seconds") + F("hold_seconds") + F("wrap_seconds")
    if connection.vendor == "postgresql":
        rows = (
            calls.annotate(week=TruncWeek("started_at", tzinfo=tz))
            .values("week")
            .annotate(p90=PercentileCont(handle, fraction=0.9))
            .values_list("week", "p90")
        )
        found = {(week.date() if isinstance(week, dt.datetime) else week): p90 for week, p90 in rows}
    else:  # SQLite demo database: small, so the percentile is taken in Python.
        by_week: dict[dt.date, list[int]] = {}
        for started_at, seconds in calls.annotate(h=handle).values_list("started_at", "h"):
            by_week.setdefault(_week_start(started_at), []).append(seconds)
        found = {week: metrics.percentile(values, 90) for week, values in by_week.items()}
    return {week: found.get(week) for week in weeks}


def attach_call_signals(assignments: list[Assignment]) -> list[Assignment]:
    """Set `assignment.signals` (a CallSignals) on each assignment: two queries whatever the count."""
    call_ids = {a.call_id for a in assignments}
    if not call_ids:
        return assignments
    facts = {
        row["pk"]: row
        for row in call_annotate_metrics(Call.objects.filter(pk__in=call_ids).order_by()).values(
            "pk", "transfer_count", "is_escalated", "is_resolved", "handle_seconds_total", "started_at"
        )
    }
    p90 = weekly_handle_p90({_week_start(row["started_at"]) for row in facts.values()})
    for assignment in assignments:
        row = facts[assignment.call_id]
        threshold = p90.get(_week_start(row["started_at"]))
        assignment.signals = CallSignals(
            transfer_count=row["transfer_count"],
            is_escalated=row["is_escalated"],
            is_unresolved=not row["is_resolved"],
            is_long_handle=threshold is not None and row["handle_seconds_total"] > threshold,
            handle_seconds=row["handle_seconds_total"],
        )
    return assignments


def queue_annotate_legs(assignments: QuerySet[Assignment]) -> QuerySet[Assignment]:
    """Each assignment's leg, in the same query: `leg_agent_id` (null agent = the call's), `leg_sequence`
    (0 for the handling agent, else the transfer that brought the call to them) and `leg_department`
    (its name). A transfer-out-only leg (see `scoring.legs`) has neither."""
    first_transfer_in = Transfer.objects.filter(
        call_id=OuterRef("call_id"), to_agent_id=OuterRef("leg_agent_id")
    ).order_by("sequence")
    is_handling = Q(leg_agent_id=F("call__agent_id"))
    return assignments.annotate(leg_agent_id=Coalesce("agent_id", "call__agent_id")).annotate(
        leg_sequence=Case(
            When(is_handling, then=Value(0)),
            default=Subquery(first_transfer_in.values("sequence")[:1]),
            output_field=IntegerField(),
        ),
        leg_department=Case(
            When(is_handling, then=F("call__department__name")),
            default=Subquery(first_transfer_in.values("to_department__name")[:1]),
        ),
    )


def queue_counts(assignments: QuerySet[Assignment]) -> dict:
    """Open assignments by purpose, plus the total, in one query."""
    counts = assignments.order_by().aggregate(
        total=Count("pk"),
        **{purpose: Count("pk", filter=Q(purpose=purpose)) for purpose in Assignment.Purpose.values},
    )
    return counts


def assignable_reviewers() -> QuerySet:
    """Active users who can take assignments (reviewers, supervisors, admins), by username."""
    return (
        get_user_model()
        .objects.filter(is_active=True)
        .filter(Q(groups__name__in=[roles.REVIEWER, roles.SUPERVISOR, roles.ADMIN]) | Q(is_superuser=True))
        .distinct()
        .order_by("username")
    )


# =====================================================================================================
# Agent page and comparison
# =====================================================================================================


def agent_qa_summary(evaluations: QuerySet[Evaluation]) -> dict:
    """Count, average score and unacknowledged count of submitted current reviews, in one query. `scored`
    counts those the average is over: a review with every criterion N/A has no score."""
    reviews = evaluations.filter(
        kind=Evaluation.Kind.REVIEW, status=Evaluation.Status.SUBMITTED, is_current=True
    ).order_by()
    return reviews.aggregate(
        reviews=Count("pk"),
        scored=Count("score"),
        average_score=Avg("score"),
        unacknowledged=Count("pk", filter=Q(acknowledged_at__isnull=True)),
        auto_failed=Count("pk", filter=Q(is_auto_failed=True)),
    )


@dataclass
class ComparisonRow:
    section: Section
    criterion: Criterion
    applies: bool
    reviewer_label: str
    self_label: str
    reviewer_comment: str
    self_comment: str
    # Points apart (N/A vs a value counts as differing, with no magnitude).
    gap: int | None
    differs: bool


def comparison_rows(
    review: Evaluation, self_review: Evaluation, *, rows_review, rows_self
) -> list[ComparisonRow]:
    """Criterion by criterion, the reviewer's answer beside the agent's own (same scorecard version).

    `rows_review` / `rows_self` are `selectors.evaluation_rows` of each; criteria missing from the
    self-review's scorecard (a different version) show as unanswered there."""
    by_key_self = {row.criterion.key: row for row in rows_self}
    result = []
    for row in rows_review:
        other = by_key_self.get(row.criterion.key)
        mine = row.answer
        theirs = other.answer if other else None
        gap = None
        if mine is not None and theirs is not None and not mine.is_na and not theirs.is_na:
            gap = theirs.value - mine.value
        differs = answer_choice_value(mine) != answer_choice_value(theirs)
        result.append(
            ComparisonRow(
                section=row.section,
                criterion=row.criterion,
                applies=row.applies,
                reviewer_label=answer_label(row.criterion, mine) or "—",
                self_label=(answer_label(other.criterion, theirs) if other else "") or "—",
                reviewer_comment=mine.comment if mine else "",
                self_comment=theirs.comment if theirs else "",
                gap=gap,
                differs=differs,
            )
        )
    return result
