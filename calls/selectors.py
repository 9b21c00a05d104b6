"""Read paths for calls. Derived metrics are SQL annotations; permission scoping lives here too."""

from __future__ import annotations

import logging
import operator
from datetime import date, datetime, time, timedelta
from functools import reduce
from typing import Any

from django.conf import settings
from django.db.models import (
    BooleanField,
    Case,
    Count,
    DateTimeField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Sum,
    Value,
    When,
    prefetch_related_objects,
)
from django.db.models.functions import Coalesce
from django.db.models.lookups import In
from django.http import Http404
from django.utils import timezone

from . import roles
from .models import (
    Agent,
    AgentDayCallStats,
    Call,
    CallImport,
    CallImportFile,
    Customer,
    Department,
    Escalation,
    Team,
    Transfer,
)

logger = logging.getLogger(__name__)


class InIdSet(In):
    """`pk IN (<id subquery>)`, written on PostgreSQL as `pk = ANY(ARRAY(<id subquery>))`.

    For a set of ids much smaller than the period it is narrowed to (a supervisor's calls among everyone's):
    with IN, PostgreSQL hashed the ids and scanned every call of the period to probe them (280 ms for a
    team's 12,000 calls in 30 days among 1M); the array is computed first and its calls fetched by
    primary key (110 ms). Use as `filter(InIdSet(F("pk"), ids))`.
    """

    lookup_name = "in_id_set"

    def get_prep_lookup(self):
        if isinstance(self.rhs, QuerySet):  # as filter(pk__in=queryset) does, so In drops its ordering
            self.rhs = self.rhs.query.clone()
        return super().get_prep_lookup()

    def as_postgresql(self, compiler, connection):
        lhs, lhs_params = self.process_lhs(compiler, connection)
        rhs, rhs_params = self.process_rhs(compiler, connection)
        return f"{lhs} = ANY(ARRAY{rhs})", (*lhs_params, *rhs_params)


def repeat_window() -> timedelta:
    return timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS)


def call_repeat_window_open(calls: QuerySet[Call], *, date_to: date | None = None) -> bool:
    """Do these calls include one whose repeat-contact window has not closed yet? Its repeat contact may still
    come, so first-contact resolution and repeat-contact figures over these calls are provisional. With the
    list's last day (date_to) before the window, no query: none can."""
    window_start = timezone.now() - repeat_window()
    if date_to is not None and _start_of_day(date_to + timedelta(days=1)) <= window_start:
        return False
    return calls.filter(started_at__gt=window_start).exists()


def _after_outer_call() -> Q:
    """Calls that come after the outer call: later start, or the same start and a higher id.

    Two contacts of one customer can share a start second (an import rounded to seconds, a chat and a
    call opened together); the id breaks the tie so one of them still counts as the repeat.
    Written as "started_at >= s AND (started_at > s OR id > outer id)" rather than the equivalent
    "started_at > s OR (started_at = s AND id > outer id)": the first keeps one range scan on the
    (customer, started_at) index, the second made PostgreSQL OR two bitmap scans per row (about twice as slow here).
    """
    return Q(started_at__gte=OuterRef("started_at")) & (
        Q(started_at__gt=OuterRef("started_at")) | Q(pk__gt=OuterRef("pk"))
    )


def _before_outer_call() -> Q:
    return Q(started_at__lte=OuterRef("started_at")) & (
        Q(started_at__lt=OuterRef("started_at")) | Q(pk__lt=OuterRef("pk"))
    )


def _later_contact_within_window() -> QuerySet[Call]:
    return Call.objects.filter(
        _after_outer_call(),
        customer_id=OuterRef("customer_id"),
        started_at__lte=ExpressionWrapper(
            OuterRef("started_at") + Value(repeat_window()), output_field=DateTimeField()
        ),
    )


def has_repeat_contact_expression() -> Exists:
    """Whether the outer call was followed by a repeat contact (later start, or same start and higher id,
    within the window). The one definition: call lists and the per-agent-day rollups (calls.rollups) use it.

    False for a call without a customer (nobody to match), which is why every figure built on it counts
    identified callers only (IDENTIFIED)."""
    return Exists(_later_contact_within_window())


# A call whose caller is known. First-contact resolution and repeat contacts are only measurable for these:
# an anonymous call can never be matched with a later contact, so counting it would make every resolved,
# untransferred anonymous call "resolved on first contact". Per call both are unknown (NULL) without a
# customer; FCR and repeat-contact rates are over the identified calls an agent handled.
IDENTIFIED = Q(customer__isnull=False)


def _unknown_if_anonymous(expression) -> Case:
    """`expression` for a call with a customer, NULL (unknown) for an anonymous one."""
    return Case(
        When(customer__isnull=True, then=Value(None)), default=expression, output_field=BooleanField()
    )


def call_annotate_metrics(queryset: QuerySet[Call]) -> QuerySet[Call]:
    """Annotate transfer_count, is_escalated, has_repeat_contact, is_first_contact_resolution, handle_seconds_total.

    A repeat contact is a later call by the same customer that starts within REPEAT_CONTACT_WINDOW_DAYS
    of this one. First-contact resolution = resolved, never transferred, no repeat contact. Both are None
    (unknown) for a call without a customer: whether that caller called again cannot be known.
    Filtering is_first_contact_resolution=True or False therefore keeps identified callers' calls only.
    """
    transfer_counts = (
        Transfer.objects.filter(call=OuterRef("pk"))
        .order_by()
        .values("call")
        .annotate(n=Count("*"))
        .values("n")
    )
    return queryset.annotate(
        transfer_count=Coalesce(Subquery(transfer_counts, output_field=IntegerField()), 0),
        is_escalated=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
        has_repeat_contact=_unknown_if_anonymous(has_repeat_contact_expression()),
        handle_seconds_total=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
    ).annotate(
        is_first_contact_resolution=_unknown_if_anonymous(
            ExpressionWrapper(
                Q(is_resolved=True) & Q(transfer_count=0) & Q(has_repeat_contact=False),
                output_field=BooleanField(),
            )
        )
    )


def call_default_period() -> tuple[date, date] | None:
    """The calls list's opening period: CALLS_DEFAULT_PERIOD_DAYS days up to the day of the latest call
    (local time), or None when there are no calls or the setting is 0.

    Anchored on the data, not on today, so a historical import still opens on its last month; one index
    lookup on started_at, whatever the user may see.
    """
    days = settings.CALLS_DEFAULT_PERIOD_DAYS
    if not days:
        return None
    latest = Call.objects.order_by().aggregate(latest=Max("started_at"))["latest"]
    if latest is None:
        return None
    last_day = timezone.localtime(latest).date()
    return last_day - timedelta(days=days - 1), last_day


# The integer totals a summary is made of; also the column names of calls.models.AgentDayCallStats, which
# sums the same per-call definitions per agent and day (calls.rollups). The rate of each count is over the
# handled calls, except those of IDENTIFIED_COUNTS: over the handled calls of identified callers.
_SUMMARY_COUNTS = ("transferred", "escalated", "resolved", "first_contact_resolved", "repeat_contacts")
IDENTIFIED_COUNTS = ("first_contact_resolved", "repeat_contacts")
_SUMMARY_TOTALS = ("calls", "identified_calls", *_SUMMARY_COUNTS, "handle_seconds", "wait_seconds")
# The counts, rates and handle time are of the calls an agent handled, as on the leaderboard and the team pages
# (which sum the per-agent rollups), and as contact centers measure first-contact resolution: a call no agent
# took (abandoned in the queue) is counted as abandoned instead. Counting its zeros pulled the list's figures
# down (demo, last 30 days: AHT 585.3 s on the list against 602.1 s on the teams page, FCR 44.3 % against 45.6 %).
_HANDLED_ONLY = Q(agent__isnull=False)


def _call_totals(calls: QuerySet[Call]) -> dict[str, int]:
    """The summary's integer totals over a plain (not annotated) call queryset, in one SQL query: each per-call
    subquery is computed once in a lean inner select."""
    per_call = calls.annotate(
        is_transferred=Exists(Transfer.objects.filter(call=OuterRef("pk"))),
        is_escalated=Exists(Escalation.objects.filter(call=OuterRef("pk"))),
        has_repeat_contact=Exists(_later_contact_within_window()),
        handle_seconds_total=F("talk_seconds") + F("hold_seconds") + F("wrap_seconds"),
    )
    handled = _HANDLED_ONLY
    identified = handled & IDENTIFIED
    totals = per_call.aggregate(
        calls=Count("pk"),
        handled_calls=Count("pk", filter=handled),
        identified_calls=Count("pk", filter=identified),
        transferred=Count("pk", filter=handled & Q(is_transferred=True)),
        escalated=Count("pk", filter=handled & Q(is_escalated=True)),
        resolved=Count("pk", filter=handled & Q(is_resolved=True)),
        first_contact_resolved=Count(
            "pk", filter=identified & Q(is_resolved=True, is_transferred=False, has_repeat_contact=False)
        ),
        repeat_contacts=Count("pk", filter=identified & Q(has_repeat_contact=True)),
        handle_seconds=Sum("handle_seconds_total", filter=handled),
        wait_seconds=Sum("wait_seconds"),
    )
    # SUM over no rows is NULL.
    return {key: totals[key] or 0 for key in (*_SUMMARY_TOTALS, "handled_calls")}


def _summary_from_totals(totals: dict[str, int]) -> dict:
    """Counts, averages and rates from integer totals, whichever way they were counted (calls or rollups).

    `calls` counts every call; `abandoned` those no agent took (abandoned_rate over every call); the other
    counts, their rates and the average handle time are over the calls an agent handled; the average wait is
    over every call (an abandoned call waited too). Of the handled calls, `identified_calls` have a customer
    and `anonymous_calls` none: first-contact resolution and repeat contacts are counted over the identified
    ones only, and so are their rates (an anonymous caller's repeat contact cannot be seen).

    The durations are NOT NULL (Call model; a test guards it), so an average is the sum divided by the number
    of calls: SQL AVG's value, except that PostgreSQL rounds AVG's numeric quotient to 16-20 significant
    digits before it becomes a float, which can differ in the last bit. Dividing here, once, for both ways of
    counting, makes the rollup path equal to the live one to the last bit.
    """
    n, handled, identified = totals["calls"], totals["handled_calls"], totals["identified_calls"]
    summary: dict = {
        key: totals[key] for key in ("calls", "handled_calls", "identified_calls", *_SUMMARY_COUNTS)
    }
    summary["anonymous_calls"] = handled - identified
    summary["abandoned"] = n - handled
    summary["abandoned_rate"] = (n - handled) / n if n else None
    summary["average_handle_seconds"] = totals["handle_seconds"] / handled if handled else None
    summary["average_wait_seconds"] = totals["wait_seconds"] / n if n else None
    for key in _SUMMARY_COUNTS:
        over = identified if key in IDENTIFIED_COUNTS else handled
        summary[f"{key}_rate"] = totals[key] / over if over else None
    return summary


def call_summary(queryset: QuerySet[Call]) -> dict:
    """Totals and rates over a call queryset, in one SQL query. Rates are fractions in [0, 1] or None.

    The queryset may be filtered on call_annotate_metrics columns (a filtered list is). Its filters are
    kept as an id subquery, and each per-call subquery is computed once in a lean inner select:
    aggregating over call_annotate_metrics directly repeated the transfer and repeat-contact subqueries
    inside is_first_contact_resolution (about 1.7x the time on 200k calls).
    """
    if queryset.query.where:
        calls = Call.objects.filter(pk__in=queryset.order_by().values("pk"))
    else:
        calls = Call.objects.all()
    return _summary_from_totals(_call_totals(calls))


# call_filter arguments the per-agent-day rollups can answer; "search_phone" only says how "search" applies.
_ROLLUP_FILTERS = frozenset({"agent", "team", "date_from", "date_to", "search_phone"})


def _rollups_can_answer(user, filters: dict[str, Any]) -> bool:
    """Whether the rollups give exactly call_summary's numbers for this user's list with these filters.

    They hold every call with an agent, per agent and local day of TIME_ZONE: so only with no filter but
    whole days (and agent or team, for a user who sees every call), in the zone the rollups were cut in.
    """
    if not user_sees_every_call(user) and (
        filters.get("agent") is not None or filters.get("team") is not None
    ):
        return False  # a supervisor's or agent's list narrowed to an agent or team: counted live
    if timezone.get_current_timezone_name() != timezone.get_default_timezone_name():
        return False
    for name, value in filters.items():
        if name in _ROLLUP_FILTERS:
            continue
        # call_filter ignores None, "" and a blank search; False ("not resolved") is a filter.
        if isinstance(value, str):
            value = value.strip()
        if value is not None and value != "":
            return False
    return True


def _sum_rollups(
    stats: QuerySet[AgentDayCallStats], date_from: date | None, date_to: date | None
) -> dict[str, int]:
    if date_from is not None:
        stats = stats.filter(day__gte=date_from)
    if date_to is not None:
        stats = stats.filter(day__lte=date_to)
    summed = stats.aggregate(**{key: Sum(key) for key in _SUMMARY_TOTALS})
    totals = {key: summed[key] or 0 for key in _SUMMARY_TOTALS}
    totals["handled_calls"] = totals["calls"]  # every rollup row is an agent's calls
    return totals


def _rollup_totals(
    *,
    agent: Agent | None,
    team: Team | None,
    date_from: date | None,
    date_to: date | None,
    handled: list[int] | None = None,
) -> dict[str, int]:
    """The summary's totals from AgentDayCallStats, plus what the rollups cannot hold, counted live.

    Everyone's list (handled None): the agentless calls, when no agent or team narrows it (the (agent,
    started_at) index serves that query). A supervisor's or agent's list (handled: their agents): the
    rollups of those agents, plus the calls first handled by someone else (or nobody) and transferred
    to one of them.
    """
    if handled is not None:
        totals = _sum_rollups(AgentDayCallStats.objects.filter(agent__in=handled), date_from, date_to)
        period = call_started_lookups(date_from=date_from, date_to=date_to)
        taken_over = Call.objects.filter(InIdSet(F("pk"), _taken_over_call_ids(handled, period)), **period)
        for key, value in _call_totals(taken_over).items():
            totals[key] += value
        return totals
    stats = AgentDayCallStats.objects.all()
    if agent is not None:
        stats = stats.filter(agent=agent)
    if team is not None:
        stats = stats.filter(agent__team=team)
    totals = _sum_rollups(stats, date_from, date_to)
    if agent is None and team is None:
        agentless = call_filter(Call.objects.filter(agent__isnull=True), date_from=date_from, date_to=date_to)
        for key, value in _call_totals(agentless).items():
            totals[key] += value
    return totals


def call_summary_for_list(user, queryset: QuerySet[Call], filters: dict[str, Any] | None) -> dict:
    """call_summary(queryset) for the calls list, read from the per-agent-day rollups when they give the same
    numbers (see _rollups_can_answer), else counted live over the calls.

    Precondition: queryset is call_filter(call_annotate_metrics(call_list_for_user(user)), **filters), and
    filters is None when the filter form is invalid. The rollups must be current: the importer, seed_demo
    and the calls admin refresh the days they change (calls.rollups).
    """
    if filters is None or not _rollups_can_answer(user, filters):
        return call_summary(queryset)
    handled = None
    if not user_sees_every_call(user):
        handled = _handled_agents(user)
        if handled is None:  # sees no call at all
            return call_summary(queryset)
    totals = _rollup_totals(
        agent=filters.get("agent"),
        team=filters.get("team"),
        date_from=filters.get("date_from"),
        date_to=filters.get("date_to"),
        handled=handled,
    )
    # Guard: the calls are also counted live (an index scan; the list's pagination needs the number anyway).
    # Rollups that miss or double calls (a writer that did not refresh them, a changed repeat window is not
    # caught) fall back to counting everything live rather than showing wrong totals or hiding pages.
    counted = queryset.count()
    if counted != totals["calls"]:
        logger.warning(
            "calls list: rollups hold %s calls where the calls table has %s (filters %s); summing live",
            totals["calls"],
            counted,
            {key: value for key, value in filters.items() if value not in (None, "")},
        )
        return call_summary(queryset)
    return _summary_from_totals(totals)


def _start_of_day(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())


def call_started_lookups(*, date_from: date | None = None, date_to: date | None = None, **_other) -> dict:
    """Whole local days, both ends included, as started_at lookups (so the index is used). Other call_filter
    arguments are accepted and ignored, so a filter dict can be passed whole."""
    lookups = {}
    if date_from is not None:
        lookups["started_at__gte"] = _start_of_day(date_from)
    if date_to is not None:
        lookups["started_at__lt"] = _start_of_day(date_to + timedelta(days=1))
    return lookups


def call_filter(
    queryset: QuerySet[Call],
    *,
    agent: Agent | None = None,
    team: Team | None = None,
    department: Department | None = None,
    date_from: date | None = None,
    date_to: date | None = None,
    channel: str = "",
    is_transferred: bool | None = None,
    is_escalated: bool | None = None,
    is_resolved: bool | None = None,
    is_first_contact_resolution: bool | None = None,
    search: str = "",
    search_phone: bool = False,
) -> QuerySet[Call]:
    """Narrow a call queryset already annotated by call_annotate_metrics; None or "" means "any".

    Agent and team are the call's (first) handling agent and that agent's team. Dates are whole days in
    the current time zone, both ends included, turned into a started_at range so the index is used.
    The customer's phone is searched only with search_phone: a user who sees masked phones must not
    be able to confirm a number by searching for it.
    """
    if agent is not None:
        queryset = queryset.filter(agent=agent)
    if team is not None:
        queryset = queryset.filter(agent__team=team)
    if department is not None:
        queryset = queryset.filter(department=department)
    queryset = queryset.filter(**call_started_lookups(date_from=date_from, date_to=date_to))
    if channel:
        queryset = queryset.filter(channel=channel)
    if is_transferred is not None:
        queryset = (
            queryset.filter(transfer_count__gt=0) if is_transferred else queryset.filter(transfer_count=0)
        )
    if is_escalated is not None:
        queryset = queryset.filter(is_escalated=is_escalated)
    if is_resolved is not None:
        queryset = queryset.filter(is_resolved=is_resolved)
    if is_first_contact_resolution is not None:
        queryset = queryset.filter(is_first_contact_resolution=is_first_contact_resolution)
    search = search.strip()
    if search:
        exact = call_exact_matches(queryset, search)
        if exact is not None:
            return exact
        # Otherwise any part of a call id, or of a customer's id or name (or phone).
        customer_fields = ("external_id", "name", "phone") if search_phone else ("external_id", "name")
        queryset = call_text_search(queryset, search, customer_fields=customer_fields)
    return queryset


# A text search narrows the calls by the ids of the customers it matches, spelled out, up to this many; past
# it (a term common to most customers' names), by a subquery, so the list of ids held in memory and sent
# back in the query stays bounded.
CUSTOMER_SEARCH_ID_LIMIT = 1000


def call_text_search(
    queryset: QuerySet[Call], term: str, *, customer_fields: tuple[str, ...], agent_code: bool = False
) -> QuerySet[Call]:
    """The calls of `queryset` with `term` in any part (case-insensitive) of the call's external id, of one
    of its customer's `customer_fields` (or, with agent_code, of its agent's employee code): the icontains
    filter, written to use the trigram indexes (migration calls 0008).

    The matching customers (and agents) are looked up first, in their own much smaller table, through the
    trigram indexes, and the calls by external id (trigram index) or by customer id (the (customer,
    started_at) index), a bitmap OR of two index scans: about 5 ms at 1M calls. As `customer_id IN (SELECT
    ...)` inside the OR, PostgreSQL scanned every call (the list took 1.4-7 s on a loaded 2-core machine).
    Past CUSTOMER_SEARCH_ID_LIMIT matching customers the subquery form is kept: bounded memory, and such a
    term matches a large share of the calls anyway.
    """
    customer_matches = reduce(operator.or_, (Q(**{f"{field}__icontains": term}) for field in customer_fields))
    customers = Customer.objects.filter(customer_matches).order_by().values_list("pk", flat=True)
    customer_ids = list(customers[: CUSTOMER_SEARCH_ID_LIMIT + 1])
    matches = Q(external_id__icontains=term)
    if len(customer_ids) > CUSTOMER_SEARCH_ID_LIMIT:
        matches |= Q(customer_id__in=customers)
    elif customer_ids:
        matches |= Q(customer_id__in=customer_ids)
    # A few hundred agents: a scan of their table costs nothing, and their ids use the (agent, started_at) index.
    if agent_code and (
        agent_ids := list(Agent.objects.filter(employee_code__icontains=term).values_list("pk", flat=True))
    ):
        matches |= Q(agent_id__in=agent_ids)
    return queryset.filter(matches)


def call_exact_matches(
    queryset: QuerySet[Call], term: str, *, agent_code: bool = False
) -> QuerySet[Call] | None:
    """The calls of `queryset` a whole id names, as written (pasted from a ticket, a survey, a complaint): the
    call with that external id, that customer's calls (and with agent_code, that agent's); None if none.

    Found through the unique indexes, in milliseconds at 1M calls, where searching every call's id for the
    text takes about a second. The ids are looked up first: as subqueries in the OR, PostgreSQL scans the
    calls."""
    matches = Q(external_id=term)
    if customers := list(Customer.objects.filter(external_id=term).values_list("pk", flat=True)):
        matches |= Q(customer_id__in=customers)
    if agent_code and (agents := list(Agent.objects.filter(employee_code=term).values_list("pk", flat=True))):
        matches |= Q(agent_id__in=agents)
    exact = queryset.filter(matches)
    return exact if exact.exists() else None


def call_list_filtered_for_user(user, **filters: Any) -> QuerySet[Call]:
    """The calls list's calls: those the user may see, annotated by call_annotate_metrics and narrowed by
    call_filter (`filters`: CallFilterForm.filters() of a valid form). The period also narrows inside a
    supervisor's or agent's visible calls (each index-served part)."""
    calls = call_annotate_metrics(call_list_for_user(user, **call_started_lookups(**filters)))
    return call_filter(calls, **filters)


def call_page_rows(pks: list[int]) -> QuerySet[Call]:
    """The calls with these ids (already permission-checked and filtered by the caller), with related rows
    and metrics, in list order (newest first). Without the transcripts, which lists never show."""
    return (
        call_annotate_metrics(
            Call.objects.select_related("agent", "agent__team", "department", "customer").filter(pk__in=pks)
        )
        .defer("transcript", "content_hash")
        .order_by("-started_at", "-id")
    )


# --- permission scoping --------------------------------------------------------------------------


def team_list_for_user(user) -> QuerySet[Team]:
    """Teams a user may look at: admins and reviewers all, supervisors the teams they lead, agents their own."""
    if roles.is_admin(user) or roles.is_reviewer(user):
        return Team.objects.all()
    if roles.is_supervisor(user):
        return Team.objects.filter(supervisors=user)
    agent = agent_for_user(user)
    if agent is not None and agent.team_id:
        return Team.objects.filter(pk=agent.team_id)
    return Team.objects.none()


def agent_for_user(user) -> Agent | None:
    """The agent record of a login, cached on the user object for the request (like roles_for)."""
    if not user.is_authenticated:
        return None
    if not hasattr(user, "_qa_agent"):
        user._qa_agent = Agent.objects.filter(user=user).first()
    return user._qa_agent


def agent_list_for_user(user) -> QuerySet[Agent]:
    """Agents a user may look at: admins and reviewers all, supervisors their teams' agents (and
    themselves if they also take calls), agents themselves."""
    if not user.is_authenticated:
        return Agent.objects.none()
    if roles.is_admin(user) or roles.is_reviewer(user):
        return Agent.objects.select_related("team")
    if roles.is_supervisor(user):
        # As in call_list_for_user: team ids as a subquery so an agent is never repeated per supervisor.
        return Agent.objects.filter(
            Q(team__in=Team.objects.filter(supervisors=user)) | Q(user=user)
        ).select_related("team")
    return Agent.objects.filter(user=user).select_related("team")


def user_sees_every_call(user) -> bool:
    """Admins and reviewers see every call (call_list_for_user); only their lists can be summed from rollups."""
    return roles.is_admin(user) or roles.is_reviewer(user)


def _handled_agents(user) -> list[int] | None:
    """The ids of the agents whose calls a supervisor or agent sees: their teams' agents (supervisors),
    themselves (agents). A call is theirs when one of these agents handled it first or took it on a
    transfer. The one definition of who sees which call outside the admins and reviewers; None when it is
    nobody.

    Ids, not a subquery: the planner then knows how many calls they have (per-agent statistics), which
    decides between fetching a team's few calls by index and scanning a period for a wide scope."""
    if not user.is_authenticated:
        return None
    if hasattr(user, "_qa_handled_agents"):  # cached on the user object for the request, like agent_for_user
        return user._qa_handled_agents
    handled: list[Q] = []
    if roles.is_supervisor(user):
        handled.append(Q(team__in=Team.objects.filter(supervisors=user).values("pk")))
    agent = agent_for_user(user)
    if agent is not None:
        handled.append(Q(pk=agent.pk))
    ids = (
        sorted(Agent.objects.filter(reduce(operator.or_, handled)).values_list("pk", flat=True))
        if handled
        else []
    )
    user._qa_handled_agents = ids or None
    return user._qa_handled_agents


def _taken_over_call_ids(handled: list[int], narrow: dict[str, Any]) -> QuerySet[Transfer]:
    """Ids of the calls first handled by someone else (or nobody) and transferred to one of these agents.

    `narrow` (Call lookups, e.g. {"pk": 5}, {"customer_id": 7} or a started_at range) applies inside, so
    the set stays small: for a team, its share of the transfers in the period.
    """
    on_call = {f"call__{lookup}": value for lookup, value in narrow.items()}
    return (
        Transfer.objects.filter(to_agent__in=handled, **on_call)
        .exclude(call__agent__in=handled)
        .order_by()
        .values("call_id")
    )


def call_list_for_user(user, **narrow: Any) -> QuerySet[Call]:
    """Calls a user may see: admins and reviewers all; supervisors calls handled (on any leg) by their
    teams' agents; agents calls they handled on any leg; anyone else nothing.

    For the others: the calls first handled by one of their agents (a condition on the call itself, with
    the agents' ids spelled out), or whose id is in the array of calls taken over by one of them on a
    transfer (computed once, first). At 1M calls a team's list takes tens of milliseconds and a scope of
    every team no longer than everyone's list; `id IN (SELECT ...)` forms had PostgreSQL hash the ids and
    probe every call of the period (0.3 s for a team, 3 s for all teams), and an OR with a correlated
    EXISTS over the transfers was once planned to run over ten minutes. `narrow` (Call lookups) narrows
    inside the taken-over set too: pass the lookups when asking about one call or one customer.
    """
    base = Call.objects.select_related("agent", "agent__team", "department", "customer")
    if not user.is_authenticated:
        return base.none()
    if user_sees_every_call(user):
        return base.filter(**narrow)
    handled = _handled_agents(user)
    if handled is None:
        return base.none()
    if len(handled) == 1:
        # One agent (an agent's own list): a few hundred calls in a period of hundreds of thousands. Given
        # the OR, PostgreSQL walked the period backwards to find the newest 50 (50 ms at 1M calls); the
        # array of their ids is fetched by primary key instead (10 ms).
        own = Call.objects.filter(agent_id=handled[0], **narrow).order_by().values("pk")
        return base.filter(InIdSet(F("pk"), own.union(_taken_over_call_ids(handled, narrow))), **narrow)
    taken_over = InIdSet(F("pk"), _taken_over_call_ids(handled, narrow))
    return base.filter(Q(agent__in=handled) | Q(taken_over), **narrow)


def call_get_for_user(user, *, pk: int) -> Call:
    """The call if the user may see it; 404 otherwise (a foreign call must look like a missing one)."""
    try:
        return call_list_for_user(user, pk=pk).get()
    except Call.DoesNotExist:
        raise Http404("No such call") from None


def call_timeline(call: Call) -> list[dict]:
    """Start, answer, transfers, escalations and end of a call in time order."""
    events: list[dict] = [{"at": call.started_at, "kind": "started", "call": call}]
    if call.answered_at:
        events.append({"at": call.answered_at, "kind": "answered", "call": call})
    for transfer in call.transfers.select_related(
        "from_department", "to_department", "from_agent", "to_agent"
    ):
        events.append({"at": transfer.at, "kind": "transfer", "transfer": transfer})
    for escalation in call.escalations.all():
        events.append({"at": escalation.raised_at, "kind": "escalation", "escalation": escalation})
        if escalation.resolved_at:
            events.append(
                {"at": escalation.resolved_at, "kind": "escalation_resolved", "escalation": escalation}
            )
    events.append({"at": call.ended_at, "kind": "ended", "call": call})
    order = {
        "started": 0,
        "answered": 1,
        "transfer": 2,
        "escalation": 3,
        "escalation_resolved": 4,
        "ended": 5,
    }
    return sorted(events, key=lambda e: (e["at"], order[e["kind"]]))


def call_annotate_is_repeat_contact(queryset: QuerySet[Call]) -> QuerySet[Call]:
    """Annotate is_repeat_contact: an earlier call by the same customer started within the repeat window
    before this one (the mirror of has_repeat_contact; counted over all calls, not only visible ones). None
    (unknown) for a call without a customer, as has_repeat_contact."""
    earlier_contact = Call.objects.filter(
        _before_outer_call(),
        customer_id=OuterRef("customer_id"),
        started_at__gte=ExpressionWrapper(
            OuterRef("started_at") - Value(repeat_window()), output_field=DateTimeField()
        ),
    )
    return queryset.annotate(is_repeat_contact=_unknown_if_anonymous(Exists(earlier_contact)))


def call_detail_for_user(user, *, pk: int) -> Call:
    """The call with its metrics and repeat flag if the user may see it; 404 otherwise."""
    queryset = call_annotate_is_repeat_contact(call_annotate_metrics(call_list_for_user(user, pk=pk)))
    try:
        return queryset.get()
    except Call.DoesNotExist:
        raise Http404("No such call") from None


def call_api_page_rows(pks: list[int]) -> QuerySet[Call]:
    """call_page_rows (no transcripts), with the is_repeat_contact flag too: the rows of a page of the calls API."""
    return call_annotate_is_repeat_contact(call_page_rows(pks))


def call_record_for_user(user, *, pk: int) -> Call:
    """call_detail_for_user, with its transfers (departments and agents) and escalations prefetched in sequence
    order: the calls API's detail, in three queries whatever their number. 404 as call_detail_for_user."""
    call = call_detail_for_user(user, pk=pk)
    prefetch_related_objects(
        [call],
        Prefetch(
            "transfers",
            queryset=Transfer.objects.select_related(
                "from_department", "to_department", "from_agent", "to_agent"
            ).order_by("sequence"),
        ),
        Prefetch("escalations", queryset=Escalation.objects.order_by("sequence")),
    )
    return call


def customer_contacts(call: Call, *, user) -> QuerySet[Call]:
    """The same customer's other contacts that the user may see, newest first, with metrics and the
    is_repeat_contact flag."""
    if call.customer_id is None:
        return Call.objects.none()
    return call_annotate_is_repeat_contact(
        call_annotate_metrics(call_list_for_user(user, customer_id=call.customer_id).exclude(pk=call.pk))
    ).order_by("-started_at", "-id")


def call_import_list_for_user(user) -> QuerySet[CallImport]:
    """Imports uploaded in the web UI that a user may see: all for admins, their own for other importers,
    none for anyone else. Newest first; the files' names and sizes, never their content."""
    if not roles.can_import_calls(user):
        return CallImport.objects.none()
    imports = CallImport.objects.select_related("created_by").prefetch_related(
        Prefetch("files", queryset=CallImportFile.objects.defer("data", "rejects").order_by("position"))
    )
    return imports if roles.is_admin(user) else imports.filter(created_by=user)


def call_import_get_for_user(user, *, pk: int) -> CallImport:
    try:
        return call_import_list_for_user(user).get(pk=pk)
    except CallImport.DoesNotExist:
        raise Http404("No such import") from None


def _local_iso(moment: datetime | None) -> str | None:
    return None if moment is None else timezone.localtime(moment).isoformat()


def call_import_record(call: Call) -> dict[str, Any]:
    """The call as the JSON import contract writes it (README), transfers and escalations included, in the
    site's zone: importing it back changes nothing. Prefetch transfers/escalations (and their departments and
    agents) when doing this for many calls."""
    return {
        "external_id": call.external_id,
        "channel": call.channel,
        "direction": call.direction,
        "started_at": _local_iso(call.started_at),
        "answered_at": _local_iso(call.answered_at),
        "ended_at": _local_iso(call.ended_at),
        "wait_seconds": call.wait_seconds,
        "talk_seconds": call.talk_seconds,
        "hold_seconds": call.hold_seconds,
        "wrap_seconds": call.wrap_seconds,
        "department": call.department.name if call.department else None,
        "agent": {"employee_code": call.agent.employee_code} if call.agent else None,
        "customer": {"external_id": call.customer.external_id} if call.customer else None,
        "disposition": call.disposition,
        "resolved": call.is_resolved,
        "transcript": call.transcript,
        "recording_url": call.recording_url or None,
        "transfers": [
            {
                "sequence": t.sequence,
                "at": _local_iso(t.at),
                "from_department": t.from_department.name if t.from_department else None,
                "to_department": t.to_department.name if t.to_department else None,
                "from_agent": t.from_agent.employee_code if t.from_agent else None,
                "to_agent": t.to_agent.employee_code if t.to_agent else None,
                "reason": t.reason,
            }
            for t in sorted(call.transfers.all(), key=lambda t: t.sequence)
        ],
        "escalations": [
            {
                "sequence": e.sequence,
                "at": _local_iso(e.raised_at),
                "level": e.level,
                "reason": e.reason,
                "outcome": e.outcome,
                "resolved_at": _local_iso(e.resolved_at),
            }
            for e in sorted(call.escalations.all(), key=lambda e: e.sequence)
        ],
    }
