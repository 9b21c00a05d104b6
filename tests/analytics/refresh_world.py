"""A small world for checking the agent-scoped refreshes against a full rebuild, and random edits made the
way the product makes them: through the Django admin (call, transfer and escalation change and delete
pages), and through the analytics refresh services the scoring services queue (direct and debounced).

Shared by tests/analytics/test_scoped_refresh.py (PostgreSQL, in the test database) and
tests/analytics/sqlite_refresh_run.py (the embedded SQLite demo database, in a subprocess).

Every rollup table is compared row by row, every column but the id, with what a full rebuild of every day
from scratch (`agent_day_stats_refresh` over the whole range: the nightly rebuild's code) gives.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from calls.bench_admin_save import admin_change_page_data as change_page_data
from calls.models import AgentDayCallStats, Call, Escalation, Transfer
from calls.rollups import agent_day_stats_refresh
from scoring.analytics import tasks as analytics_tasks
from scoring.analytics.models import (
    AgentDayCriterionStats,
    AgentDayDepartmentStats,
    AgentDayReasonStats,
    AgentDayScoreStats,
    AgentDaySectionStats,
    AgentDayTransferPathStats,
)
from scoring.analytics.rollups import analytics_refresh_for_calls, calls_agent_ids
from scoring.models import Evaluation
from tests.analytics.helpers import make_evaluation, make_response, make_scorecard
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    DepartmentFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
)

# The world's calls start June 2-12 (local time); the full rebuild covers a margin either side, so that
# no row of any day an edit can reach is left out of the comparison.
FIRST_DAY, LAST_DAY = date(2026, 5, 25), date(2026, 6, 20)
ROLLUP_MODELS = [
    AgentDayCallStats,
    AgentDayScoreStats,
    AgentDaySectionStats,
    AgentDayCriterionStats,
    AgentDayDepartmentStats,
    AgentDayTransferPathStats,
    AgentDayReasonStats,
]
EDIT_KINDS = [
    "call_agent",
    "call_start",
    "call_customer",
    "call_several",
    "call_delete",
    "transfer_move",
    "transfer_change",
    "transfer_delete",
    "escalation_delete",
    "escalation_inline_add",
    "evaluation_change",
    "evaluation_debounced",
]


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every rollup table, every column but the id, sorted."""
    out = {}
    for model in ROLLUP_MODELS:
        columns = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        out[model._meta.db_table] = sorted(model.objects.values_list(*columns), key=repr)
    return out


def full_rebuild() -> None:
    agent_day_stats_refresh(date_from=FIRST_DAY, date_to=LAST_DAY)


def local(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(date(2026, 6, day), time(hour, minute), tzinfo=timezone.get_current_timezone())


@dataclass
class World:
    agents: list
    customers: list
    departments: list
    card: dict
    rng: random.Random
    counter: list[int] = field(default_factory=lambda: [1000])

    def next_sequence(self) -> int:
        self.counter[0] += 1
        return self.counter[0]


def build_world(seed: int) -> World:
    """Six agents, four customers (plus anonymous calls), 36 calls over June 2-12 at any hour (local days
    differ from UTC days outside UTC), transfers to other agents (legs), escalations, evaluations of the
    handling agent and of leg agents (one of them superseded), survey responses credited to leg agents."""
    rng = random.Random(seed)
    team = TeamFactory(name=f"Refresh team {seed}")
    agents = [AgentFactory(team=team) for _ in range(6)]
    customers = [CustomerFactory() for _ in range(4)]
    departments = [DepartmentFactory(name=f"Refresh dept {seed}-{i}") for i in range(3)]
    card = make_scorecard()
    world = World(agents=agents, customers=customers, departments=departments, card=card, rng=rng)
    for n in range(36):
        started = local(rng.randint(2, 12), rng.randint(0, 23), rng.choice([0, 30, 59]))
        call = CallFactory(
            agent=rng.choice(agents),
            customer=rng.choice([*customers, None]),
            department=rng.choice(departments),
            started_at=started,
            is_resolved=rng.random() < 0.7,
            talk_seconds=rng.randint(10, 900),
            hold_seconds=rng.randint(0, 60),
        )
        legs = []
        for sequence in range(1, rng.choice([1, 1, 2, 3])):
            to_agent = rng.choice(agents)
            legs.append(to_agent)
            TransferFactory(
                call=call,
                sequence=sequence,
                from_department=rng.choice(departments),
                to_department=rng.choice(departments),
                to_agent=to_agent,
                reason=rng.choice(["", "billing", "tech"]),
            )
        if rng.random() < 0.3:
            EscalationFactory(call=call, sequence=1, reason=rng.choice(["", "refund", "legal"]))
        if rng.random() < 0.6:
            for agent in {call.agent, *legs[:1]}:
                make_evaluation(
                    card,
                    call=call,
                    agent=agent,
                    score=rng.choice([40, 75.5, 90, 100]),
                    answers={"greet": rng.choice([0, 1]), "close": rng.choice([None, 1]), "solve": 1},
                    sections={"Greeting": rng.choice([0, 50, 100]), "Resolution": 80},
                )
        if call.customer is not None and rng.random() < 0.4:
            primary = legs[-1] if legs and rng.random() < 0.5 else call.agent
            make_response(
                call=call,
                score=rng.randint(0, 10),
                primary=primary,
                others=[agent for agent in dict.fromkeys(legs) if agent != primary][:1],
            )
        if n == 0:  # a superseded revision: its agent's rows must not count it, now or after an edit
            Evaluation.objects.filter(call=call).update(is_current=False)
    full_rebuild()
    return world


# --- the admin, driven as a browser drives it ------------------------------------------------------------


def _split(moment: datetime) -> tuple[str, str]:
    moment = timezone.localtime(moment)
    return moment.date().isoformat(), moment.time().replace(microsecond=0).isoformat()


class Edit:
    """Random edits of a world, each through the product's own path; `committing` runs the on-commit
    refreshes (pytest's django_capture_on_commit_callbacks(execute=True), or nothing in autocommit)."""

    def __init__(self, world: World, client, committing: Callable[[], AbstractContextManager]):
        self.world, self.client, self.committing = world, client, committing

    def post(self, url: str, data: dict) -> None:
        with self.committing():
            response = self.client.post(url, data)
        assert response.status_code == 302, (
            url,
            getattr(response, "context", None) and response.context.get("errors"),
        )

    def run(self, kind: str) -> str:
        return getattr(self, kind)()

    # calls
    def _call(self, *, deletable: bool = False) -> Call:
        calls = Call.objects.order_by("pk")
        if deletable:
            calls = calls.filter(evaluations__isnull=True, survey_responses__isnull=True)
        return self.world.rng.choice(list(calls))

    def _change_call(self, call: Call, changes: dict) -> str:
        url = reverse("admin:calls_call_change", args=[call.pk])
        data = change_page_data(self.client, url)
        data.update(changes)
        self.post(url, data)
        return f"call {call.pk} {changes}"

    def _start(self) -> dict:
        rng = self.world.rng
        start = local(rng.randint(2, 12), rng.randint(0, 23), rng.choice([0, 30, 59]))
        day, clock = _split(start)
        end_day, end_clock = _split(start + timedelta(hours=1))
        return {
            "started_at_0": day,
            "started_at_1": clock,
            "answered_at_0": "",
            "answered_at_1": "",
            "ended_at_0": end_day,
            "ended_at_1": end_clock,
        }

    def call_agent(self) -> str:
        return self._change_call(self._call(), {"agent": str(self.world.rng.choice(self.world.agents).pk)})

    def call_start(self) -> str:
        return self._change_call(self._call(), self._start())

    def call_customer(self) -> str:
        customer = self.world.rng.choice([*self.world.customers, None])
        return self._change_call(self._call(), {"customer": "" if customer is None else str(customer.pk)})

    def call_several(self) -> str:
        rng = self.world.rng
        changes = {
            **self._start(),
            "agent": str(rng.choice(self.world.agents).pk),
            "customer": str(rng.choice(self.world.customers).pk),
            "department": str(rng.choice(self.world.departments).pk),
        }
        if rng.random() < 0.5:
            changes["is_resolved"] = "on"
        return self._change_call(self._call(), changes)

    def call_delete(self) -> str:
        if not Call.objects.filter(evaluations__isnull=True, survey_responses__isnull=True).exists():
            return "no deletable call"
        call = self._call(deletable=True)
        self.post(reverse("admin:calls_call_delete", args=[call.pk]), {"post": "yes"})
        return f"delete call {call.pk}"

    # transfers and escalations
    def _transfer(self) -> Transfer | None:
        transfers = list(Transfer.objects.order_by("pk"))
        return self.world.rng.choice(transfers) if transfers else None

    def transfer_move(self) -> str:
        transfer, target = self._transfer(), self._call()
        if transfer is None:
            return "no transfer"
        url = reverse("admin:calls_transfer_change", args=[transfer.pk])
        data = change_page_data(self.client, url)
        data.update({"call": str(target.pk), "sequence": str(self.world.next_sequence())})
        self.post(url, data)
        return f"transfer {transfer.pk} to call {target.pk}"

    def transfer_change(self) -> str:
        transfer = self._transfer()
        if transfer is None:
            return "no transfer"
        rng = self.world.rng
        url = reverse("admin:calls_transfer_change", args=[transfer.pk])
        data = change_page_data(self.client, url)
        data.update(
            {
                "to_department": str(rng.choice(self.world.departments).pk),
                "to_agent": str(rng.choice(self.world.agents).pk),
                "reason": rng.choice(["", "billing", "other"]),
            }
        )
        self.post(url, data)
        return f"transfer {transfer.pk} changed"

    def transfer_delete(self) -> str:
        transfer = self._transfer()
        if transfer is None:
            return "no transfer"
        self.post(reverse("admin:calls_transfer_delete", args=[transfer.pk]), {"post": "yes"})
        return f"delete transfer {transfer.pk}"

    def escalation_delete(self) -> str:
        escalations = list(Escalation.objects.order_by("pk"))
        if not escalations:
            return "no escalation"
        escalation = self.world.rng.choice(escalations)
        self.post(reverse("admin:calls_escalation_delete", args=[escalation.pk]), {"post": "yes"})
        return f"delete escalation {escalation.pk}"

    def escalation_inline_add(self) -> str:
        call = self._call()
        url = reverse("admin:calls_call_change", args=[call.pk])
        data = change_page_data(self.client, url)
        prefix = "escalations"
        total = int(data[f"{prefix}-TOTAL_FORMS"])
        raised_day, raised_clock = _split(call.started_at + timedelta(minutes=1))
        data.update(
            {
                f"{prefix}-TOTAL_FORMS": str(total + 1),
                f"{prefix}-{total}-call": str(call.pk),
                f"{prefix}-{total}-sequence": str(self.world.next_sequence()),
                f"{prefix}-{total}-level": "supervisor",
                f"{prefix}-{total}-reason": self.world.rng.choice(["", "refund", "new reason"]),
                f"{prefix}-{total}-raised_at_0": raised_day,
                f"{prefix}-{total}-raised_at_1": raised_clock,
            }
        )
        self.post(url, data)
        return f"escalation added to call {call.pk}"

    # evaluations (what the scoring services do, then the refresh they queue)
    def _evaluation_edit(self) -> list[int]:
        evaluations = list(Evaluation.objects.order_by("pk"))
        evaluation = self.world.rng.choice(evaluations)
        with transaction.atomic():
            if self.world.rng.random() < 0.5:
                Evaluation.objects.filter(pk=evaluation.pk).update(is_current=not evaluation.is_current)
            else:
                Evaluation.objects.filter(pk=evaluation.pk).update(
                    score=Decimal(self.world.rng.randint(0, 100))
                )
        return [evaluation.call_id]

    def evaluation_change(self) -> str:
        call_ids = self._evaluation_edit()
        analytics_refresh_for_calls(call_ids=call_ids)
        return f"evaluation of call {call_ids[0]} (direct refresh)"

    def evaluation_debounced(self) -> str:
        """The debounced path: the (day, agent) pairs analytics_refresh_publish would schedule, refreshed by
        the task it schedules."""
        call_ids = self._evaluation_edit()
        pairs = [
            [day.isoformat(), agent]
            for day in analytics_tasks.call_days(call_ids)
            for agent in sorted(calls_agent_ids(call_ids))
        ]
        analytics_tasks.analytics_refresh_agent_days_task.apply(args=(pairs,))
        return f"evaluation of call {call_ids[0]} (debounced refresh of {len(pairs)} pairs)"


def differences(incremental: dict, rebuilt: dict) -> dict:
    """Per table, the rows only in the incremental state and the rows only in the rebuilt one."""
    out = {}
    for table in rebuilt:
        a, b = set(incremental[table]), set(rebuilt[table])
        if a != b:
            out[table] = {"stale": sorted(map(repr, a - b)), "missing": sorted(map(repr, b - a))}
    return out


def compare_each_change(
    world: World,
    kinds: Sequence[str],
    count: int,
    change: Callable[[str], str],
    *,
    label: str,
    log: list[str] | None = None,
) -> list[dict]:
    """`count` random changes (`change(kind)` makes one and says what it did), kinds drawn evenly from
    `kinds`; after each, the incremental state against a full rebuild. Returns the mismatches (empty when
    every change kept every table exact), each under `label`, and leaves the rebuilt state in place; `log`
    gets what each change did."""
    mismatches = []
    drawn = [*kinds] * (count // len(kinds) + 1)
    world.rng.shuffle(drawn)
    previous = snapshot()
    for kind in drawn[:count]:
        what = change(kind)
        incremental = snapshot()
        if log is not None:
            log.append(what + (" [rollups changed]" if incremental != previous else ""))
        full_rebuild()
        rebuilt = snapshot()
        if incremental != rebuilt:
            mismatches.append({label: what, "differences": differences(incremental, rebuilt)})
        previous = rebuilt
    return mismatches


def run_random_edits(
    world: World, client, committing, *, edits: int, log: list[str] | None = None
) -> list[dict]:
    """`edits` random admin edits, each checked against a full rebuild (`compare_each_change`)."""
    return compare_each_change(
        world,
        EDIT_KINDS,
        edits,
        lambda kind: Edit(world, client, committing).run(kind),
        label="edit",
        log=log,
    )
