"""A small call world for the calls-list summary, with every per-call flag worked out by hand in a table.

Two teams (Red: ann, bob; Blue: cat), two abandoned calls without an agent, transfers, escalations, and
repeat contacts that cross local day boundaries, in Europe/Paris with a two-day repeat window. Tests build it
with `build_summary_world(settings)` and compare what the code says with `hand_summary(specs)`, a plain
count over the table (never over the database).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Max, Min
from django.test.utils import CaptureQueriesContext

from calls.models import Agent, AgentDayCallStats, Call, Team
from calls.rollups import agent_day_stats_refresh, agent_day_stats_refresh_for_calls
from calls.selectors import (
    call_annotate_metrics,
    call_filter,
    call_list_for_user,
    call_summary,
    call_summary_for_list,
)
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    DepartmentFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
)

PARIS = ZoneInfo("Europe/Paris")
WINDOW_DAYS = 2


def paris(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=PARIS)


@dataclass(frozen=True)
class Spec:
    key: str
    agent: str | None  # "ann", "bob" (team Red), "cat" (team Blue); None: abandoned, no agent
    start: datetime  # Paris time
    customer: str | None
    resolved: bool
    transfers: int
    escalations: int
    talk: int
    hold: int
    wrap: int
    wait: int
    # By hand: a later call of the same customer starts within WINDOW_DAYS (inclusive).
    repeat: bool
    channel: str = "phone"

    @property
    def day(self) -> date:
        """The local (Paris) day, which the list's date filter and the rollups both use."""
        return self.start.date()


SPECS = [
    # a1 -> b1 (X) 1 day 23 h later: a repeat two local days on.
    Spec("a1", "ann", paris(3, 2, 9), "X", True, 0, 0, 100, 10, 5, 20, repeat=True),
    # a2 -> c1 (Y) the next morning, across midnight.
    Spec("a2", "ann", paris(3, 2, 23, 30), "Y", True, 1, 0, 200, 0, 0, 40, repeat=True),
    # No customer: its repeat contact, and so its first-contact resolution, are unknown (not counted).
    Spec("a3", "ann", paris(3, 4, 15), None, True, 0, 0, 110, 0, 10, 10, repeat=False, channel="chat"),
    # b1 -> c2 (X) 23 hours later.
    Spec("b1", "bob", paris(3, 4, 8), "X", False, 0, 1, 300, 20, 10, 5, repeat=True),
    # 00:15 in Paris is 23:15 UTC the day before: a March 3rd call locally.
    Spec("b2", "bob", paris(3, 3, 0, 15), "Z", True, 0, 0, 50, 0, 0, 0, repeat=False),
    Spec("b3", "bob", paris(3, 6, 12), "V", True, 0, 0, 60, 0, 0, 15, repeat=False),
    # c1 -> n1 (Y) exactly two days later: the window is inclusive, and the later call has no agent.
    Spec("c1", "cat", paris(3, 3, 10), "Y", True, 0, 0, 80, 0, 10, 25, repeat=True),
    Spec("c2", "cat", paris(3, 5, 7), "X", True, 2, 1, 400, 0, 0, 30, repeat=False),
    Spec("n1", None, paris(3, 5, 10), "Y", False, 0, 0, 0, 0, 0, 90, repeat=False),
    Spec("n2", None, paris(3, 2, 12), "W", False, 0, 1, 30, 0, 0, 60, repeat=False),
]
SPEC_BY_KEY = {spec.key: spec for spec in SPECS}
TEAM_OF = {"ann": "red", "bob": "red", "cat": "blue"}
FIRST_DAY, LAST_DAY = date(2026, 3, 1), date(2026, 3, 20)


@dataclass
class SummaryWorld:
    teams: dict[str, Team]
    agents: dict[str, Agent]
    calls: dict[str, Call]


def build_summary_world(settings) -> SummaryWorld:
    """Create the SPECS calls and rebuild their rollups (the pytest-django `settings` fixture sets the zone
    and the repeat window)."""
    settings.TIME_ZONE = "Europe/Paris"
    settings.REPEAT_CONTACT_WINDOW_DAYS = WINDOW_DAYS
    teams = {
        "red": TeamFactory(name="Red", department=DepartmentFactory(name="Billing")),
        "blue": TeamFactory(name="Blue", department=DepartmentFactory(name="Tech")),
    }
    agents = {
        name: AgentFactory(employee_code=f"A-{name.upper()}", name=name.title(), team=teams[team])
        for name, team in TEAM_OF.items()
    }
    customers = {key: CustomerFactory(external_id=f"CU-{key}") for key in "XYZVW"}
    calls = {}
    for spec in SPECS:
        call = CallFactory(
            external_id=spec.key,
            agent=agents[spec.agent] if spec.agent else None,
            customer=customers[spec.customer] if spec.customer else None,
            channel=spec.channel,
            started_at=spec.start,
            is_resolved=spec.resolved,
            talk_seconds=spec.talk,
            hold_seconds=spec.hold,
            wrap_seconds=spec.wrap,
            wait_seconds=spec.wait,
        )
        for sequence in range(1, spec.transfers + 1):
            TransferFactory(call=call, sequence=sequence)
        for sequence in range(1, spec.escalations + 1):
            EscalationFactory(call=call, sequence=sequence)
        calls[spec.key] = call
    agent_day_stats_refresh(date_from=FIRST_DAY, date_to=LAST_DAY)
    return SummaryWorld(teams=teams, agents=agents, calls=calls)


def hand_summary(specs: list[Spec]) -> dict:
    """The list summary of these calls, counted from the hand-written flags: counts, rates and handle time
    over the calls an agent handled, abandoned (no agent) over all of them, wait over all of them; first-contact
    resolution and repeat contacts over the handled calls with a customer only (an anonymous caller's are
    unknown)."""
    n = len(specs)
    handled = [s for s in specs if s.agent is not None]
    identified = [s for s in handled if s.customer is not None]
    h, i = len(handled), len(identified)
    counts = {
        "transferred": sum(1 for s in handled if s.transfers),
        "escalated": sum(1 for s in handled if s.escalations),
        "resolved": sum(1 for s in handled if s.resolved),
    }
    identified_counts = {
        "first_contact_resolved": sum(
            1 for s in identified if s.resolved and not s.transfers and not s.repeat
        ),
        "repeat_contacts": sum(1 for s in identified if s.repeat),
    }
    handle = sum(s.talk + s.hold + s.wrap for s in handled)
    wait = sum(s.wait for s in specs)
    return {
        "calls": n,
        "handled_calls": h,
        "identified_calls": i,
        "anonymous_calls": h - i,
        "abandoned": n - h,
        "abandoned_rate": (n - h) / n if n else None,
        **counts,
        **identified_counts,
        "average_handle_seconds": handle / h if h else None,
        "average_wait_seconds": wait / n if n else None,
        **{f"{key}_rate": count / h if h else None for key, count in counts.items()},
        **{f"{key}_rate": count / i if i else None for key, count in identified_counts.items()},
    }


def specs_of(keys: str) -> list[Spec]:
    """The specs of space-separated keys ("a1 b2")."""
    return [SPEC_BY_KEY[key] for key in keys.split()]


def list_filters(**chosen) -> dict:
    """call_filter keyword arguments as CallFilterForm.filters() gives them, nothing chosen unless given."""
    return {
        "agent": None,
        "team": None,
        "department": None,
        "date_from": None,
        "date_to": None,
        "channel": "",
        "is_transferred": None,
        "is_escalated": None,
        "is_resolved": None,
        "is_first_contact_resolution": None,
        "search": "",
        "search_phone": True,
        **chosen,
    }


def rollups_refresh_all() -> None:
    """Rebuild the per-agent-day rollups of every day with a call, as the importer does for what it imports.

    An admin's or a reviewer's calls list reads its summary (and its row count) from the rollups, so a test
    that makes calls with factories calls this before opening that list."""
    span = Call.objects.aggregate(first=Min("started_at"), last=Max("started_at"))
    if span["first"] is not None:
        agent_day_stats_refresh_for_calls(started_from=span["first"], started_to=span["last"])


class _Warnings(logging.Handler):
    def __init__(self):
        super().__init__()
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


def list_summary(user, filters: dict | None) -> tuple[dict, dict, bool]:
    """(call_summary_for_list, call_summary of the same list, whether the answer came from the rollups:
    the rollup table was read and its count was believed, i.e. no fallback to counting live)."""
    queryset = call_annotate_metrics(call_list_for_user(user))
    queryset = call_filter(queryset, **filters) if filters is not None else queryset.none()
    warnings = _Warnings()
    logger = logging.getLogger("calls.selectors")
    logger.addHandler(warnings)
    try:
        with CaptureQueriesContext(connection) as captured:
            summary = call_summary_for_list(user, queryset, filters)
    finally:
        logger.removeHandler(warnings)
    read_rollups = any(AgentDayCallStats._meta.db_table in q["sql"] for q in captured.captured_queries)
    fell_back = any("summing live" in message for message in warnings.messages)
    return summary, call_summary(queryset), read_rollups and not fell_back


def busy_calls(n: int, agents, customers, *, start: datetime) -> None:
    """n calls an hour apart from `start`, each with a transfer and an escalation, agents and customers taken in
    turn: enough related rows that a page reading them one call at a time would show in its query count."""
    for i in range(n):
        call = CallFactory(
            agent=agents[i % len(agents)],
            customer=customers[i % len(customers)],
            started_at=start + timedelta(hours=i),
        )
        TransferFactory(call=call, sequence=1, to_agent=agents[(i + 1) % len(agents)])
        EscalationFactory(call=call, sequence=1)
