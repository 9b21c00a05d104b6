"""Rebuild the per-agent-per-day rollups of scoring.analytics (QA / NPS / follow-ups, sections, criteria,
calls by department, transfer paths, transfer and escalation reasons; see models.py for what counts
where), set-based in SQL, all days of a range in one transaction.

How they stay up to date as data arrives:
- imports: the importer calls `calls.rollups.agent_day_stats_refresh`, which runs
  `agent_day_scoring_stats_refresh` for the same days (registered in AnalyticsConfig.ready());
- calls, transfers and escalations edited in the Django admin: calls.rollups runs it for the start days,
  scoped to the call's old and new agent and to `analytics_agents_of_calls` (the leg agents credited);
- evaluations, dispute adjustments, survey responses, follow-up closes: `analytics_refresh_for_calls_on_commit`
  queues a refresh of the affected calls' days, for the agents whose rows can hang off those calls only
  (`calls_agent_ids`), after the writing transaction commits (a service adds one line), and, so that a service that forgets it or a lost message cannot leave a rollup stale for long,
  the `analytics_refresh_changed_task` sweeper (beat, every 5 minutes) refreshes the days of rows changed
  in the last ANALYTICS_SWEEP_LOOKBACK_MINUTES;
- nightly, `analytics_rebuild_recent_task` rebuilds the last ANALYTICS_REBUILD_DAYS days (deletions and
  anything else the two paths above cannot see).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Case, Count, Exists, F, IntegerField, OuterRef, QuerySet, Sum, Value, When
from django.db.models.functions import Coalesce, NullIf

from calls.models import Call, Escalation, Transfer
from calls.rollups import compiled, contiguous_day_ranges, insert_select, local_date, local_day_start
from scoring.followups.models import FollowUpCase
from scoring.models import Answer, Evaluation, SectionScore
from scoring.surveys.models import CSAT_SATISFIED_MIN, ResponseCredit, SurveyResponse

from .models import (
    AgentDayCriterionStats,
    AgentDayDepartmentStats,
    AgentDayReasonStats,
    AgentDayScoreStats,
    AgentDaySectionStats,
    AgentDayTransferPathStats,
)


def counted_evaluations(prefix: str = "") -> dict:
    """Filter kwargs for the evaluations every analytics figure counts: current, submitted reviews with a
    score (no self-reviews, no calibration copies, no superseded revisions). `prefix` reaches them
    through a relation ("evaluation__")."""
    return {
        f"{prefix}status": Evaluation.Status.SUBMITTED,
        f"{prefix}is_current": True,
        f"{prefix}kind": Evaluation.Kind.REVIEW,
        f"{prefix}score__isnull": False,
    }


_PART_COLUMNS = [
    "p_agent",
    "p_day",
    "p_evaluations",
    "p_score_sum",
    "p_score_sum_squares",
    "p_responses",
    "p_promoters",
    "p_passives",
    "p_detractors",
    "p_followups_closed",
    "p_followups_within_sla",
    "p_csat_answers",
    "p_csat_satisfied",
    "p_ces_answers",
    "p_ces_sum",
    "p_ces_sum_squares",
]


def _agent_filter(field: str, agent_ids: Collection[int] | None) -> dict:
    """Filter kwargs keeping rows keyed on one of `agent_ids` (no filter for None: every agent)."""
    return {} if agent_ids is None else {f"{field}__in": agent_ids}


def _one_if(**condition) -> Case:
    return Case(When(then=Value(1), **condition), default=Value(0), output_field=IntegerField())


_NO_COMPANIONS = {
    name: Value(0, output_field=IntegerField())
    for name in ("p_csat_answers", "p_csat_satisfied", "p_ces_answers", "p_ces_sum", "p_ces_sum_squares")
}


def _parts(*, start: datetime, end: datetime, agent_ids: Collection[int] | None = None) -> QuerySet:
    """Evaluations, primary response credits and closed follow-ups of calls started in [start, end), one
    row each with the same columns (zeros where a source has nothing to say), as one UNION ALL."""
    zero = Value(0, output_field=IntegerField())
    evaluations = (
        Evaluation.objects.filter(
            **counted_evaluations(), call__started_at__gte=start, call__started_at__lt=end
        )
        .filter(**_agent_filter("agent_id", agent_ids))
        .order_by()
        .annotate(
            p_agent=F("agent_id"),
            p_day=local_date("call__started_at"),
            p_evaluations=Value(1, output_field=IntegerField()),
            p_score_sum=F("score"),
            p_score_sum_squares=F("score") * F("score"),
            p_responses=zero,
            p_promoters=zero,
            p_passives=zero,
            p_detractors=zero,
            p_followups_closed=zero,
            p_followups_within_sla=zero,
            **_NO_COMPANIONS,
        )
        .values(*_PART_COLUMNS)
    )
    responses = (
        ResponseCredit.objects.filter(
            is_primary=True, response__call__started_at__gte=start, response__call__started_at__lt=end
        )
        .filter(**_agent_filter("agent_id", agent_ids))
        .order_by()
        .annotate(
            p_agent=F("agent_id"),
            p_day=local_date("response__call__started_at"),
            p_evaluations=zero,
            p_score_sum=zero,
            p_score_sum_squares=zero,
            p_responses=Value(1, output_field=IntegerField()),
            p_promoters=_one_if(response__category="promoter"),
            p_passives=_one_if(response__category="passive"),
            p_detractors=_one_if(response__category="detractor"),
            p_followups_closed=zero,
            p_followups_within_sla=zero,
            p_csat_answers=_one_if(response__csat__isnull=False),
            p_csat_satisfied=_one_if(response__csat__gte=CSAT_SATISFIED_MIN),
            p_ces_answers=_one_if(response__ces__isnull=False),
            p_ces_sum=Coalesce(F("response__ces"), zero),
            p_ces_sum_squares=Coalesce(F("response__ces") * F("response__ces"), zero),
        )
        .values(*_PART_COLUMNS)
    )
    followups = (
        ResponseCredit.objects.filter(
            is_primary=True,
            response__followup__closed_at__isnull=False,
            response__call__started_at__gte=start,
            response__call__started_at__lt=end,
        )
        .filter(**_agent_filter("agent_id", agent_ids))
        .order_by()
        .annotate(
            p_agent=F("agent_id"),
            p_day=local_date("response__call__started_at"),
            p_evaluations=zero,
            p_score_sum=zero,
            p_score_sum_squares=zero,
            p_responses=zero,
            p_promoters=zero,
            p_passives=zero,
            p_detractors=zero,
            p_followups_closed=Value(1, output_field=IntegerField()),
            p_followups_within_sla=_one_if(
                response__followup__closed_at__lte=F("response__followup__due_at")
            ),
            **_NO_COMPANIONS,
        )
        .values(*_PART_COLUMNS)
    )
    return evaluations.union(responses, followups, all=True).order_by()


_SCORE_COLUMNS = [
    "agent_id",
    "day",
    "evaluations",
    "score_sum",
    "score_sum_squares",
    "responses",
    "promoters",
    "passives",
    "detractors",
    "followups_closed",
    "followups_closed_within_sla",
    "csat_answers",
    "csat_satisfied",
    "ces_answers",
    "ces_sum",
    "ces_sum_squares",
]
_SCORE_SELECT = """
SELECT parts.p_agent, parts.p_day, SUM(parts.p_evaluations), SUM(parts.p_score_sum),
       SUM(parts.p_score_sum_squares), SUM(parts.p_responses), SUM(parts.p_promoters), SUM(parts.p_passives),
       SUM(parts.p_detractors), SUM(parts.p_followups_closed), SUM(parts.p_followups_within_sla),
       SUM(parts.p_csat_answers), SUM(parts.p_csat_satisfied), SUM(parts.p_ces_answers), SUM(parts.p_ces_sum),
       SUM(parts.p_ces_sum_squares)
FROM ({inner}) parts
GROUP BY parts.p_agent, parts.p_day
"""


def _sections(*, start: datetime, end: datetime, agent_ids: Collection[int] | None = None) -> QuerySet:
    return (
        SectionScore.objects.filter(
            **counted_evaluations("evaluation__"),
            score__isnull=False,
            evaluation__call__started_at__gte=start,
            evaluation__call__started_at__lt=end,
            **_agent_filter("evaluation__agent_id", agent_ids),
        )
        .order_by()
        .values(
            s_agent=F("evaluation__agent_id"),
            s_day=local_date("evaluation__call__started_at"),
            s_section=F("section_id"),
        )
        .annotate(s_evaluations=Count("*"), s_score_sum=Sum("score"))
    )


_SECTION_SELECT = """
SELECT q.s_agent, q.s_day, q.s_section, q.s_evaluations, q.s_score_sum FROM ({inner}) q
"""


def _criteria(*, start: datetime, end: datetime, agent_ids: Collection[int] | None = None) -> QuerySet:
    """One row per non-N/A answer of a counted evaluation of a call started in [start, end): passed or
    failed (earned the maximum or less) and the call's survey category (a call has at most one response)."""
    return (
        Answer.objects.filter(
            **counted_evaluations("evaluation__"),
            is_na=False,
            evaluation__call__started_at__gte=start,
            evaluation__call__started_at__lt=end,
            **_agent_filter("evaluation__agent_id", agent_ids),
        )
        .order_by()
        .annotate(
            q_agent=F("evaluation__agent_id"),
            q_day=local_date("evaluation__call__started_at"),
            q_criterion=F("criterion_id"),
            q_passed=_one_if(value__gte=F("criterion__max_points")),
            q_failed=_one_if(value__lt=F("criterion__max_points")),
            q_category=F("evaluation__call__survey_responses__category"),
        )
        .values("q_agent", "q_day", "q_criterion", "q_passed", "q_failed", "q_category")
    )


_CRITERION_COLUMNS = [
    "agent_id",
    "day",
    "criterion_id",
    "answered",
    "passed",
    "surveyed",
    "passed_promoters",
    "passed_passives",
    "passed_detractors",
    "failed_promoters",
    "failed_passives",
    "failed_detractors",
]
_CRITERION_SELECT = """
SELECT q.q_agent, q.q_day, q.q_criterion, COUNT(*), SUM(q.q_passed),
       COUNT(*) FILTER (WHERE q.q_category IS NOT NULL),
       COUNT(*) FILTER (WHERE q.q_passed = 1 AND q.q_category = 'promoter'),
       COUNT(*) FILTER (WHERE q.q_passed = 1 AND q.q_category = 'passive'),
       COUNT(*) FILTER (WHERE q.q_passed = 1 AND q.q_category = 'detractor'),
       COUNT(*) FILTER (WHERE q.q_failed = 1 AND q.q_category = 'promoter'),
       COUNT(*) FILTER (WHERE q.q_failed = 1 AND q.q_category = 'passive'),
       COUNT(*) FILTER (WHERE q.q_failed = 1 AND q.q_category = 'detractor')
FROM ({inner}) q
GROUP BY q.q_agent, q.q_day, q.q_criterion
"""


def _agent_calls(
    model, *, start: datetime, end: datetime, prefix: str = "", agent_ids: Collection[int] | None = None
) -> QuerySet:
    """Rows of `model` whose call (through `prefix`) has an agent (one of `agent_ids`, if given) and started
    in [start, end)."""
    return model.objects.filter(
        **{
            f"{prefix}agent__isnull": False,
            f"{prefix}started_at__gte": start,
            f"{prefix}started_at__lt": end,
        },
        **_agent_filter(f"{prefix}agent_id", agent_ids),
    ).order_by()


def _department_calls(
    *, start: datetime, end: datetime, agent_ids: Collection[int] | None = None
) -> QuerySet:
    return _agent_calls(Call, start=start, end=end, agent_ids=agent_ids).values(
        d_agent=F("agent_id"),
        d_day=local_date("started_at"),
        d_department=F("department_id"),
        d_transferred=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
        d_escalated=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
    )


_DEPARTMENT_COLUMNS = ["agent_id", "day", "department_id", "calls", "transferred", "escalated"]
_DEPARTMENT_SELECT = """
SELECT d.d_agent, d.d_day, d.d_department, COUNT(*),
       COUNT(*) FILTER (WHERE d.d_transferred), COUNT(*) FILTER (WHERE d.d_escalated)
FROM ({inner}) d
GROUP BY d.d_agent, d.d_day, d.d_department
"""


def _paths(*, start: datetime, end: datetime, agent_ids: Collection[int] | None = None) -> QuerySet:
    """Each transferred call once per (from, to) department path, with its outcome and survey category."""
    return (
        _agent_calls(Transfer, start=start, end=end, prefix="call__", agent_ids=agent_ids)
        .values(
            p_call=F("call_id"),
            p_agent=F("call__agent_id"),
            p_day=local_date("call__started_at"),
            p_from=F("from_department_id"),
            p_to=F("to_department_id"),
            p_resolved=F("call__is_resolved"),
            p_category=F("call__survey_responses__category"),
        )
        .distinct()
    )


_PATH_COLUMNS = [
    "agent_id",
    "day",
    "from_department_id",
    "to_department_id",
    "calls",
    "resolved",
    "promoters",
    "passives",
    "detractors",
]
_PATH_SELECT = """
SELECT p.p_agent, p.p_day, p.p_from, p.p_to, COUNT(*), COUNT(*) FILTER (WHERE p.p_resolved),
       COUNT(*) FILTER (WHERE p.p_category = 'promoter'), COUNT(*) FILTER (WHERE p.p_category = 'passive'),
       COUNT(*) FILTER (WHERE p.p_category = 'detractor')
FROM ({inner}) p
GROUP BY p.p_agent, p.p_day, p.p_from, p.p_to
"""


def reason_label() -> Coalesce:
    """A transfer's or escalation's reason as the pages show it: "(none)" when blank."""
    return Coalesce(NullIf("reason", Value("")), Value("(none)"))


def _reasons(model, *, start: datetime, end: datetime, agent_ids: Collection[int] | None = None) -> QuerySet:
    """Each call once per reason label of its transfers (or escalations)."""
    return (
        _agent_calls(model, start=start, end=end, prefix="call__", agent_ids=agent_ids)
        .values(
            r_call=F("call_id"),
            r_agent=F("call__agent_id"),
            r_day=local_date("call__started_at"),
            r_reason=reason_label(),
        )
        .distinct()
    )


_REASON_COLUMNS = ["agent_id", "day", "kind", "reason", "calls"]
# {kind} is one of the AgentDayReasonStats.Kind values (a constant, never user input).
_REASON_SELECT = """
SELECT r.r_agent, r.r_day, '{kind}', r.r_reason, COUNT(*) FROM ({inner}) r GROUP BY r.r_agent, r.r_day, r.r_reason
"""


def _insert(model, columns: list[str], select: str, queryset: QuerySet, **fmt) -> None:
    inner, params = compiled(queryset)
    insert_select(model._meta.db_table, columns, select.format(inner=inner, **fmt), params)


@transaction.atomic
def agent_day_scoring_stats_refresh(
    *, date_from: date, date_to: date, agent_ids: Collection[int] | None = None
) -> None:
    """Rebuild every scoring.analytics day rollup for local days date_from..date_to (included): all agents'
    rows, or only those of `agent_ids` (the contract of calls.rollups.register_day_refresher).

    Set-based on PostgreSQL and SQLite alike: the per-row parts are ORM-built (time-zone day, filters,
    adapted parameters), the aggregation is one portable INSERT … SELECT … GROUP BY per table. Each source
    is scoped by the agent its rows are keyed on: the evaluation's or credit's agent (a transfer leg's) for
    QA/NPS, sections and criteria, the call's handling agent for departments, paths and reasons.
    """
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    if agent_ids is not None:
        agent_ids = sorted(set(agent_ids))
        if not agent_ids:
            return
    start, end = local_day_start(date_from), local_day_start(date_to + timedelta(days=1))
    for model in _DAY_MODELS:
        model.objects.filter(
            day__gte=date_from, day__lte=date_to, **_agent_filter("agent_id", agent_ids)
        ).delete()
    inner, params = compiled(_parts(start=start, end=end, agent_ids=agent_ids))
    insert_select(
        AgentDayScoreStats._meta.db_table, _SCORE_COLUMNS, _SCORE_SELECT.format(inner=inner), params
    )
    inner, params = compiled(_sections(start=start, end=end, agent_ids=agent_ids))
    insert_select(
        AgentDaySectionStats._meta.db_table,
        ["agent_id", "day", "section_id", "evaluations", "score_sum"],
        _SECTION_SELECT.format(inner=inner),
        params,
    )
    _insert(
        AgentDayCriterionStats,
        _CRITERION_COLUMNS,
        _CRITERION_SELECT,
        _criteria(start=start, end=end, agent_ids=agent_ids),
    )
    _insert(
        AgentDayDepartmentStats,
        _DEPARTMENT_COLUMNS,
        _DEPARTMENT_SELECT,
        _department_calls(start=start, end=end, agent_ids=agent_ids),
    )
    _insert(
        AgentDayTransferPathStats,
        _PATH_COLUMNS,
        _PATH_SELECT,
        _paths(start=start, end=end, agent_ids=agent_ids),
    )
    for kind, model in (
        (AgentDayReasonStats.Kind.TRANSFER, Transfer),
        (AgentDayReasonStats.Kind.ESCALATION, Escalation),
    ):
        _insert(
            AgentDayReasonStats,
            _REASON_COLUMNS,
            _REASON_SELECT,
            _reasons(model, start=start, end=end, agent_ids=agent_ids),
            kind=kind.value,
        )


_DAY_MODELS = (
    AgentDayScoreStats,
    AgentDaySectionStats,
    AgentDayCriterionStats,
    AgentDayDepartmentStats,
    AgentDayTransferPathStats,
    AgentDayReasonStats,
)


# Stay well under SQLite's limit on parameters per statement (32766 since 3.32, 999 before).
_ID_CHUNK = 900


def call_days(call_ids: Iterable[int]) -> list[date]:
    """The distinct local days on which these calls started."""
    ids = sorted(set(call_ids))
    days: set[date] = set()
    for i in range(0, len(ids), _ID_CHUNK):
        days.update(
            Call.objects.filter(pk__in=ids[i : i + _ID_CHUNK])
            .order_by()
            .annotate(local_day=local_date("started_at"))
            .values_list("local_day", flat=True)
            .distinct()
        )
    return sorted(days)


def analytics_agents_of_calls(call_ids: Iterable[int]) -> set[int]:
    """The agents, other than the handling agent, whose analytics rows can hang off these calls: the agent of
    any evaluation (current or not, of any status: a revision or resubmission changes which one counts) and
    of any survey-response credit. Both rows PROTECT their call and are never moved to another call, so they
    are still there after any change of the call."""
    ids = sorted(set(call_ids))
    agents: set[int] = set()
    for i in range(0, len(ids), _ID_CHUNK):
        chunk = ids[i : i + _ID_CHUNK]
        agents.update(
            Evaluation.objects.filter(call_id__in=chunk).values_list("agent_id", flat=True).distinct()
        )
        agents.update(
            ResponseCredit.objects.filter(response__call_id__in=chunk)
            .values_list("agent_id", flat=True)
            .distinct()
        )
    return agents


def calls_agent_ids(call_ids: Iterable[int]) -> set[int]:
    """Every agent whose analytics rows can depend on these calls: their handling agents and
    analytics_agents_of_calls."""
    ids = sorted(set(call_ids))
    agents = analytics_agents_of_calls(ids)
    for i in range(0, len(ids), _ID_CHUNK):
        agents.update(
            Call.objects.filter(pk__in=ids[i : i + _ID_CHUNK], agent__isnull=False)
            .values_list("agent_id", flat=True)
            .distinct()
        )
    return agents


def analytics_refresh_days(*, days: Iterable[date], agent_ids: Collection[int] | None = None) -> None:
    """Refresh the scoring rollups of the given local days (grouped into contiguous ranges): every agent's
    rows, or only those of agent_ids."""
    for date_from, date_to in contiguous_day_ranges(days):
        agent_day_scoring_stats_refresh(date_from=date_from, date_to=date_to, agent_ids=agent_ids)


def analytics_refresh_agent_days(*, agent_days: Iterable[tuple[date, int]]) -> None:
    """Refresh the scoring rollups of these (local day, agent) pairs: per day, only those agents' rows."""
    by_day: dict[date, set[int]] = {}
    for day, agent in agent_days:
        by_day.setdefault(day, set()).add(agent)
    for day in sorted(by_day):
        agent_day_scoring_stats_refresh(date_from=day, date_to=day, agent_ids=by_day[day])


def analytics_refresh_for_calls(*, call_ids: Iterable[int]) -> None:
    """Refresh the scoring rollups of the days these calls started on, for the agents whose rows can depend
    on them (calls_agent_ids): an evaluation, a survey response or a follow-up of a call changes nothing
    else. Its call's start and agent are not changed here (the calls admin refreshes those itself)."""
    ids = set(call_ids)
    analytics_refresh_days(days=call_days(ids), agent_ids=calls_agent_ids(ids))


_PENDING_ATTRIBUTE = "_analytics_pending_call_ids"


def analytics_refresh_for_calls_on_commit(*, call_ids: Iterable[int]) -> None:
    """The one line for a scoring service: queue a refresh of these calls' days once the caller commits.

    The ids of one transaction are pooled on its connection and go out as one task at commit, so a
    transaction that records thousands of responses (the demo seed) queues one refresh, not thousands.
    The publisher never raises (a lost message is caught up by the analytics sweeper). Ids left behind by
    a rolled-back transaction ride along with the next commit: a harmless extra refresh.
    """
    ids = set(call_ids)
    if not ids:
        return
    connection = transaction.get_connection()
    pending = getattr(connection, _PENDING_ATTRIBUTE, None)
    if pending is None:
        pending = set()
        setattr(connection, _PENDING_ATTRIBUTE, pending)
    pending |= ids

    def enqueue() -> None:
        from .tasks import analytics_refresh_publish

        batch = getattr(connection, _PENDING_ATTRIBUTE, None)
        if batch:  # the first callback after the commit sends everything; the others find nothing
            setattr(connection, _PENDING_ATTRIBUTE, None)
            analytics_refresh_publish(sorted(batch))

    transaction.on_commit(enqueue, robust=True)


def changed_call_ids(*, since) -> set[int]:
    """Calls whose evaluations, responses or follow-ups changed since `since` (for the sweeper)."""
    ids = set(Evaluation.objects.filter(updated_at__gte=since).values_list("call_id", flat=True))
    ids |= set(SurveyResponse.objects.filter(created_at__gte=since).values_list("call_id", flat=True))
    ids |= set(FollowUpCase.objects.filter(closed_at__gte=since).values_list("response__call_id", flat=True))
    return ids
