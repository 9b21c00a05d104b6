"""Per-agent-per-day call rollups, rebuilt set-based in SQL.

`agent_day_stats_refresh(date_from=…, date_to=…)` deletes the range and re-inserts it from the raw calls
in one transaction (DELETE + INSERT … SELECT … GROUP BY). At the end of an import the importer refreshes
[min started − REPEAT_CONTACT_WINDOW_DAYS, max started] (`agent_day_stats_refresh_for_calls`): a new call can
turn an earlier call of the same customer into a repeat contact (and take its first-contact resolution
away). An import that changed few calls rebuilds only the rows of the agents and customers involved.
A call, transfer or escalation edited in the Django admin queues `agent_day_stats_refresh_on_commit` for
the days it touched and the agents whose rows it can change, run once the edit commits; the nightly
`agent_day_stats_rebuild_recent` (every agent) is the safety net.

`calls` never imports `scoring`: other apps that keep rollups over the same days register a refresher
with `register_day_refresher` (scoring.analytics does, from its AppConfig.ready()), and
`agent_day_stats_refresh` runs them in the same transaction, so one call from the importer keeps every
per-day table in step.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable
from datetime import date, datetime, time, timedelta

from django.core.exceptions import EmptyResultSet
from django.db import connection, transaction
from django.db.models import BooleanField, Exists, ExpressionWrapper, F, OuterRef, QuerySet
from django.db.models.functions import TruncDate
from django.db.models.sql.where import WhereNode
from django.utils import timezone

from .models import Agent, AgentDayCallStats, Call, Escalation, Transfer
from .selectors import IDENTIFIED, has_repeat_contact_expression, repeat_window

DayRefresher = Callable[..., None]
CallAgentFinder = Callable[[Collection[int]], Iterable[int]]
_day_refreshers: list[DayRefresher] = []
_call_agent_finders: list[CallAgentFinder] = []


def register_day_refresher(
    refresher: DayRefresher, *, agents_of_calls: CallAgentFinder | None = None
) -> DayRefresher:
    """Run `refresher(date_from=…, date_to=…, agent_ids=…)` after every call-rollup refresh (idempotent).

    Contract: a refresher's figures for a day depend only on that day's calls (and what hangs off them),
    never on other calls of the same customer: repeat contacts are these call rollups' business. So after
    an import a refresher runs for the days of the calls that changed only, not for the repeat window
    before them (agent_day_stats_refresh_for_calls).

    agent_ids is None (rebuild every agent's rows of those days) or a set of agent ids (rebuild only their
    rows; an empty set rebuilds nothing). A refresh scoped to the calls that changed passes their handling
    agents, old and new, plus whatever `agents_of_calls(call_ids)` returns: the other agents whose rows of
    this refresher hang off those calls (scoring credits a transfer leg's agent with the leg's review and
    survey answer). Those are looked up once the change has committed, so a finder must return them from
    what survives the change (rows that cannot move from call to call, or stop the call's deletion)."""
    if refresher not in _day_refreshers:
        _day_refreshers.append(refresher)
    if agents_of_calls is not None and agents_of_calls not in _call_agent_finders:
        _call_agent_finders.append(agents_of_calls)
    return refresher


def call_related_agent_ids(call_ids: Iterable[int | None]) -> set[int]:
    """The agents, other than the calls' handling agents, whose registered refreshers' rows depend on these
    calls (the union of every `agents_of_calls` finder)."""
    ids = {pk for pk in call_ids if pk is not None}
    agents: set[int] = set()
    if ids:
        for finder in _call_agent_finders:
            agents.update(finder(ids))
    return agents


def local_day_start(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def local_day(moment: datetime) -> date:
    return timezone.localtime(moment).date()


def local_date(field: str) -> TruncDate:
    """The local (TIME_ZONE) date of a datetime field, as SQL: `AT TIME ZONE … ::date` on PostgreSQL,
    Django's registered function on SQLite."""
    return TruncDate(field, tzinfo=timezone.get_current_timezone())


def compiled(queryset: QuerySet) -> tuple[str, tuple]:
    """The SQL and parameters of a queryset for the database it would run on, to embed in a set-based
    statement (`INSERT … SELECT … FROM (<this>) m GROUP BY …`). Parameters come out already adapted for that
    backend (datetimes as UTC text on SQLite), which raw SQL with Python datetimes would not get right."""
    try:
        sql, params = queryset.query.get_compiler(using=queryset.db).as_sql()
    except EmptyResultSet:
        # Django writes no SQL for a filter it knows matches nothing (`team_id__in=[]`: a supervisor who leads
        # no team yet, a site without teams); the statement around it still needs the same columns, no rows.
        query = queryset.query.clone()
        query.where = WhereNode()
        query.add_extra(None, None, ["1 = 0"], None, None, None)
        sql, params = query.get_compiler(using=queryset.db).as_sql()
    return sql, tuple(params)


def insert_select(table: str, columns: list[str], select_sql: str, params: tuple) -> None:
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in columns)}) {select_sql}", params
        )


def call_rows(*, start: datetime, end: datetime) -> QuerySet:
    """One row per call with a first agent started in [start, end): the per-call flags the rollup sums.

    Transferred / escalated / repeat contact / identified are exactly calls.selectors' definitions (the
    repeat-contact subquery is shared: a later call of the same customer within the window, ties on
    started_at broken by id). Expressions come from the ORM, so the same code runs on PostgreSQL and on
    SQLite (the demo).
    """
    return (
        Call.objects.filter(agent__isnull=False, started_at__gte=start, started_at__lt=end)
        .order_by()
        .annotate(
            r_agent=F("agent_id"),
            r_day=local_date("started_at"),
            r_handle=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
            r_wait=F("wait_seconds"),
            r_resolved=F("is_resolved"),
            r_identified=ExpressionWrapper(IDENTIFIED, output_field=BooleanField()),
            r_transferred=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
            r_escalated=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
            r_repeat=has_repeat_contact_expression(),
        )
        .values(
            "r_agent",
            "r_day",
            "r_handle",
            "r_wait",
            "r_resolved",
            "r_identified",
            "r_transferred",
            "r_escalated",
            "r_repeat",
        )
    )


# The per-call flags are computed once per call in the inner query (the repeat-contact EXISTS is the
# expensive part) and then counted with FILTER, which PostgreSQL and SQLite (>= 3.30) both support.
# First-contact resolution and repeat contacts count identified callers only (calls.selectors.IDENTIFIED):
# an anonymous call never has a repeat contact, so without that condition each resolved, untransferred
# anonymous call would count as resolved on first contact.
_CALL_STATS_COLUMNS = [
    "agent_id",
    "day",
    "calls",
    "identified_calls",
    "handle_seconds",
    "wait_seconds",
    "transferred",
    "escalated",
    "resolved",
    "first_contact_resolved",
    "repeat_contacts",
]
_CALL_STATS_SELECT = """
SELECT m.r_agent, m.r_day, COUNT(*),
       COUNT(*) FILTER (WHERE m.r_identified),
       SUM(m.r_handle), SUM(m.r_wait),
       COUNT(*) FILTER (WHERE m.r_transferred),
       COUNT(*) FILTER (WHERE m.r_escalated),
       COUNT(*) FILTER (WHERE m.r_resolved),
       COUNT(*) FILTER (WHERE m.r_identified AND m.r_resolved AND NOT m.r_transferred AND NOT m.r_repeat),
       COUNT(*) FILTER (WHERE m.r_identified AND m.r_repeat)
FROM ({inner}{fence}) m
GROUP BY m.r_agent, m.r_day
"""


def _fence() -> str:
    """`OFFSET 0` on PostgreSQL: keeps the inner query a subquery, so each per-call EXISTS runs once per call.
    Flattened, the planner repeats an EXISTS in every FILTER that names it (the repeat-contact probe ran
    about 1.5 times per call)."""
    return " OFFSET 0" if connection.vendor == "postgresql" else ""


@transaction.atomic
def agent_day_stats_refresh(*, date_from: date, date_to: date) -> None:
    """Rebuild the per-agent-day rollups for local days date_from..date_to (both included).

    Precondition: date_from <= date_to. Rows of other days are untouched. Registered refreshers
    (scoring.analytics) run for the same range inside the same transaction. One DELETE and one
    INSERT … SELECT … GROUP BY, on PostgreSQL and SQLite alike.
    """
    _call_stats_rebuild(date_from=date_from, date_to=date_to)
    _refreshers_run(date_from=date_from, date_to=date_to, agent_ids=None)


def _call_stats_rebuild(*, date_from: date, date_to: date, agent_ids: Collection[int] | None = None) -> None:
    """Rebuild the call rollups of these days: every agent's rows, or only those of `agent_ids`."""
    if date_from > date_to:
        raise ValueError(f"date_from {date_from} is after date_to {date_to}")
    rows = AgentDayCallStats.objects.filter(day__gte=date_from, day__lte=date_to)
    calls = call_rows(start=local_day_start(date_from), end=local_day_start(date_to + timedelta(days=1)))
    if agent_ids is not None:
        rows, calls = rows.filter(agent_id__in=agent_ids), calls.filter(agent_id__in=agent_ids)
    rows.delete()
    inner, params = compiled(calls)
    insert_select(
        AgentDayCallStats._meta.db_table,
        _CALL_STATS_COLUMNS,
        _CALL_STATS_SELECT.format(inner=inner, fence=_fence()),
        params,
    )


def _refreshers_run(*, date_from: date, date_to: date, agent_ids: Collection[int] | None) -> None:
    if agent_ids is not None and not agent_ids:
        return
    for refresher in _day_refreshers:
        refresher(date_from=date_from, date_to=date_to, agent_ids=agent_ids)


# An import whose calls involve more than this share of all agents refreshes every agent's rows of its days.
SCOPED_REFRESH_MAX_AGENT_SHARE = 0.5


@transaction.atomic
def agent_day_stats_refresh_for_calls(
    *,
    started_from: datetime,
    started_to: datetime,
    agent_ids: Iterable[int | None] | None = None,
    customer_ids: Iterable[int | None] = (),
    call_ids: Iterable[int | None] = (),
) -> None:
    """Refresh the days an import touched. The call rollups also take the repeat-contact window before the
    first call's day, because a new call can make an earlier call of the same customer a repeat contact;
    registered refreshers only the touched days themselves (their contract: register_day_refresher). For a
    day's import into a large database that spares rebuilding a week of QA/NPS rollups.

    Without agent_ids, every agent's rows of those days. With them (the handling and transfer-leg agents,
    old and new, of the calls created or updated), only the rows those calls can change: call rollups, those
    agents' rows of the touched days and the (agent, day) rows of customer_ids' (old and new customers')
    calls over the window before; registered refreshers, over the touched days, those agents' and the
    agents their finders tie to call_ids. A real-time push of one call then rebuilds a handful of rows.
    With agents past SCOPED_REFRESH_MAX_AGENT_SHARE of all agents, every agent's rows, as without."""
    first_day, last_day = local_day(started_from), local_day(started_to)
    window_from = local_day(started_from - repeat_window())
    agents = None if agent_ids is None else {pk for pk in agent_ids if pk is not None}
    # Most agents' rows would be rebuilt anyway, in more statements (bench import-push, 200k calls and 40
    # agents, 100 calls pushed touching 39 agents: 594 ms every agent, 870 ms scoped). Measured in one run
    # each, POST /api/calls/import at 200k calls, every agent -> scoped: 40 agents, 1 call 486 -> 101 ms
    # (100 calls: past the share, 560 -> 520 ms, the same path); 400 agents, 1 call 639 -> 126 ms, 100 calls
    # 544 -> 336 ms.
    if agents is not None and len(agents) > SCOPED_REFRESH_MAX_AGENT_SHARE * Agent.objects.count():
        agents = None
    if agents is None:
        _call_stats_rebuild(date_from=window_from, date_to=last_day)
        _refreshers_run(date_from=first_day, date_to=last_day, agent_ids=None)
        return
    touched = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    _call_stats_rebuild_rows(
        pairs={(agent, day) for agent in agents for day in touched},
        customer_ids={pk for pk in customer_ids if pk is not None},
        date_from=window_from,
        date_to=last_day,
    )
    _refreshers_run(
        date_from=first_day, date_to=last_day, agent_ids=agents | call_related_agent_ids(call_ids)
    )


def _call_stats_rebuild_rows(
    *, pairs: set[tuple[int, date]], customer_ids: Collection[int], date_from: date, date_to: date
) -> None:
    """Rebuild the call rollups' (agent, day) rows in `pairs`, and those of customer_ids' calls started on
    local days date_from..date_to: a call added, moved or taken from a customer can turn whether that
    customer's earlier calls in the window were followed by a repeat contact; no other call's flags move."""
    pairs = set(pairs)
    if customer_ids:
        pairs |= set(
            Call.objects.filter(
                customer_id__in=customer_ids,
                agent__isnull=False,
                started_at__gte=local_day_start(date_from),
                started_at__lt=local_day_start(date_to + timedelta(days=1)),
            )
            .order_by()
            .annotate(local_day=local_date("started_at"))
            .values_list("agent_id", "local_day")
            .distinct()
        )
    for first, last, scope in _agent_day_ranges(pairs):
        _call_stats_rebuild(date_from=first, date_to=last, agent_ids=scope)


def contiguous_day_ranges(days: Iterable[date]) -> list[tuple[date, date]]:
    """Days as the fewest (first, last) runs of consecutive days, in order."""
    ranges: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if ranges and day == ranges[-1][1] + timedelta(days=1):
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def _agent_day_ranges(pairs: Iterable[tuple[int, date]]) -> list[tuple[date, date, set[int]]]:
    """(agent, day) pairs as runs of consecutive days with the same agents: (first, last, agents)."""
    by_day: dict[date, set[int]] = {}
    for agent, day in pairs:
        by_day.setdefault(day, set()).add(agent)
    runs: list[tuple[date, date, set[int]]] = []
    for day in sorted(by_day):
        if runs and day == runs[-1][1] + timedelta(days=1) and by_day[day] == runs[-1][2]:
            runs[-1] = (runs[-1][0], day, runs[-1][2])
        else:
            runs.append((day, day, by_day[day]))
    return runs


def agent_day_stats_refresh_on_commit(
    *,
    started_ats: Iterable[datetime | None],
    include_repeat_window: bool = True,
    agent_ids: Iterable[int | None] | None = None,
    customer_ids: Iterable[int | None] = (),
    call_ids: Iterable[int | None] = (),
) -> None:
    """Once the caller's transaction commits, refresh the local days of these call starts (None skipped).

    For a call added, deleted or edited (give its old and new start), keep include_repeat_window: the days
    REPEAT_CONTACT_WINDOW_DAYS before each start are refreshed too, because a call's customer and start
    decide whether an earlier call of that customer was followed by a repeat contact. A transfer or an
    escalation only changes its own call's flags: pass its call's start and include_repeat_window=False.

    With agent_ids (the calls' handling agents, old and new) only the rows whose figures can change are
    rebuilt. Call rollups: those agents' rows of the start days, and the (agent, day) rows of the
    customer_ids' (old and new customers') calls over the repeat window, whose repeat-contact and
    first-contact-resolution counts the change can turn (no other call's flags depend on these calls);
    without customer_ids, those agents' rows over the whole window. Registered
    refreshers, over the start days only (they never depend on repeat contacts): those agents' and the
    agents that refreshers' finders tie to call_ids (register_day_refresher). Without agent_ids, every
    agent's rows of those days.

    Must be called after the change is made: outside a transaction the refresh runs at once. A failed
    refresh is logged, not raised (the edit is committed by then); the nightly rebuild repairs the days.
    """
    window = repeat_window() if include_repeat_window else timedelta(0)
    days: set[date] = set()
    own_days: set[date] = set()
    for started_at in started_ats:
        if started_at is None:
            continue
        first, last = local_day(started_at - window), local_day(started_at)
        days.update(first + timedelta(days=n) for n in range((last - first).days + 1))
        own_days.add(last)
    ranges = contiguous_day_ranges(days)
    if not ranges:
        return
    own_ranges = contiguous_day_ranges(own_days)
    agents = None if agent_ids is None else {pk for pk in agent_ids if pk is not None}
    customers = {pk for pk in customer_ids if pk is not None} if include_repeat_window else set()
    calls = {pk for pk in call_ids if pk is not None}

    # As after an import: the call rollups over the repeat window, registered refreshers (which never depend
    # on repeat contacts) over the start days only; scoped to the rows concerned. One call's edit at 1M
    # calls, measured in one run: 3.6 s when every agent's rows and every refresher covered the 8 days, 0.6 s
    # with the call rollups scoped to agents. One admin save at 200k calls (bench admin-save, one run):
    # 0.95-1.9 s with the refreshers rebuilding every agent's rows of the day, 0.31-0.50 s scoped.
    @transaction.atomic
    def refresh() -> None:
        if agents is None or not customers:
            for date_from, date_to in ranges:
                if agents is None or agents:
                    _call_stats_rebuild(date_from=date_from, date_to=date_to, agent_ids=agents)
        else:
            # The edited calls' own rows (old and new agent, old and new day), and the rows of the customers'
            # calls in the window, whose repeat-contact flag the change may turn.
            _call_stats_rebuild_rows(
                pairs={(agent, day) for agent in agents for day in own_days},
                customer_ids=customers,
                date_from=ranges[0][0],
                date_to=ranges[-1][1],
            )
        others = None if agents is None else agents | call_related_agent_ids(calls)
        for date_from, date_to in own_ranges:
            _refreshers_run(date_from=date_from, date_to=date_to, agent_ids=others)

    transaction.on_commit(refresh, robust=True)


def agent_day_stats_rebuild_recent(*, days: int) -> None:
    """Rebuild the last `days` local days up to today (the nightly safety net)."""
    today = timezone.localdate()
    agent_day_stats_refresh(date_from=today - timedelta(days=days - 1), date_to=today)
