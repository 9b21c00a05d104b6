"""Legs of a call: who handled it, in which department. QA samples, assigns and scores per leg.

A leg is (call, agent), once per agent:
- the handling agent (`Call.agent`), in the call's department, sequence 0 (normally also the
  from_agent of transfer 1);
- each distinct to_agent of the call's transfers, in the to_department of the *first* transfer that
  brought the call to them (sequence = that transfer's sequence); an agent the call comes back to keeps
  their first leg;
- a from_agent who is neither the handling agent nor any to_agent (the record lacks the transfer that
  brought the call to them, or names no handling agent) still handled part of the call: they get a
  leg in the from_department of their first transfer out (sequence = that transfer's sequence), so
  they can be sampled and evaluated like everybody else (the workspace always let reviewers pick them).
A leg whose department is unknown (a transfer without to/from department) has department None: only
scorecards not limited to departments apply to it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import CharField, Exists, F, IntegerField, OuterRef, Q, QuerySet, Subquery, Value

from calls.models import Agent, Call, Department, Transfer

HANDLING = "handling"
RECEIVED = "received"
TRANSFERRED_OUT = "transferred_out"


@dataclass(frozen=True)
class LegRow:
    """One leg as the period query returns it (ids only)."""

    call_id: int
    agent_id: int
    department_id: int | None
    sequence: int
    role: str


@dataclass(frozen=True)
class Leg:
    """One leg of one call, with its agent and department (for the workspace's agent picker)."""

    agent: Agent
    department: Department | None
    sequence: int
    role: str

    @property
    def department_id(self) -> int | None:
        return self.department.pk if self.department is not None else None

    @property
    def label(self) -> str:
        where = f" · {self.department}" if self.department else ""
        if self.role == HANDLING:
            return f"{self.agent}{where} · handled"
        if self.role == RECEIVED:
            return f"{self.agent}{where} · transfer #{self.sequence}"
        return f"{self.agent}{where} · transferred out at #{self.sequence}"


_COLUMNS = ("leg_call", "leg_agent", "leg_department", "leg_sequence", "leg_role")


def _leg_columns(queryset: QuerySet, *, call, agent, department, sequence, role: str) -> QuerySet:
    # Same annotation names and order in every part, so the UNION lines its columns up.
    return queryset.annotate(
        leg_call=call,
        leg_agent=agent,
        leg_department=department,
        leg_sequence=sequence,
        leg_role=Value(role, output_field=CharField()),
    ).values_list(*_COLUMNS)


def _received_transfers(transfers: QuerySet[Transfer]) -> QuerySet[Transfer]:
    """Transfers that start a to_agent's leg: not to the handling agent, not to someone reached before."""
    earlier_to_same = Transfer.objects.filter(
        call_id=OuterRef("call_id"), to_agent_id=OuterRef("to_agent_id"), sequence__lt=OuterRef("sequence")
    )
    return (
        transfers.filter(to_agent__isnull=False)
        .filter(Q(call__agent__isnull=True) | ~Q(to_agent_id=F("call__agent_id")))
        .filter(~Exists(earlier_to_same))
    )


def _transferred_out_only(transfers: QuerySet[Transfer]) -> QuerySet[Transfer]:
    """First outgoing transfer of a from_agent who is neither the handling agent nor any to_agent."""
    earlier_from_same = Transfer.objects.filter(
        call_id=OuterRef("call_id"),
        from_agent_id=OuterRef("from_agent_id"),
        sequence__lt=OuterRef("sequence"),
    )
    # The call's transfer targets as NOT IN (a correlated subplan, one index probe per transfer) rather
    # than NOT EXISTS: PostgreSQL turns the latter into an anti-join over every transfer of every period,
    # estimates it at one row (a from_agent is nearly always someone's to_agent) and then looks each of its
    # tens of thousands of rows up in calls_call one by one: 3x slower for a week at 200k calls. NULL
    # targets are left out of the list, or NOT IN would drop every row of a call with one.
    received = Transfer.objects.filter(call_id=OuterRef("call_id"), to_agent__isnull=False).values(
        "to_agent_id"
    )
    return (
        transfers.filter(from_agent__isnull=False)
        .filter(Q(call__agent__isnull=True) | ~Q(from_agent_id=F("call__agent_id")))
        .exclude(from_agent_id__in=Subquery(received))
        .filter(~Exists(earlier_from_same))
    )


def _legs_query(calls: QuerySet[Call], transfers: QuerySet[Transfer]) -> QuerySet:
    handling = _leg_columns(
        calls.filter(agent__isnull=False).order_by(),
        call=F("pk"),
        agent=F("agent_id"),
        department=F("department_id"),
        sequence=Value(0, output_field=IntegerField()),
        role=HANDLING,
    )
    received = _leg_columns(
        _received_transfers(transfers).order_by(),
        call=F("call_id"),
        agent=F("to_agent_id"),
        department=F("to_department_id"),
        sequence=F("sequence"),
        role=RECEIVED,
    )
    out_only = _leg_columns(
        _transferred_out_only(transfers).order_by(),
        call=F("call_id"),
        agent=F("from_agent_id"),
        department=F("from_department_id"),
        sequence=F("sequence"),
        role=TRANSFERRED_OUT,
    )
    return handling.union(received, out_only, all=True).order_by("leg_call", "leg_sequence", "leg_agent")


def legs_between_query(start: dt.datetime, end: dt.datetime) -> QuerySet:
    """The legs of the calls that started in [start, end) as an unordered UNION queryset of rows
    (leg_call, leg_agent, leg_department, leg_sequence, leg_role), to embed in a set-based statement
    (`calls.rollups.compiled`), e.g. to count each agent's legs in SQL."""
    calls = Call.objects.filter(started_at__gte=start, started_at__lt=end)
    transfers = Transfer.objects.filter(call__started_at__gte=start, call__started_at__lt=end)
    return _legs_query(calls, transfers).order_by()


def legs_between(start: dt.datetime, end: dt.datetime) -> list[LegRow]:
    """Every leg of the calls that started in [start, end), in one SQL query (a UNION of the handling
    agents, the transfer targets and the transfer-out-only agents), ordered by call, sequence, agent."""
    calls = Call.objects.filter(started_at__gte=start, started_at__lt=end)
    transfers = Transfer.objects.filter(call__started_at__gte=start, call__started_at__lt=end)
    return [LegRow(*row) for row in _legs_query(calls, transfers)]


def call_legs(call: Call) -> list[Leg]:
    """The call's legs in order (handling agent first), with agents and departments: one query (the
    transfers); the same rules as `legs_between`, applied in Python to one call's transfer path."""
    return calls_legs([call])[call.pk]


def calls_legs(calls: list[Call]) -> dict[int, list[Leg]]:
    """Each call's legs (`call_legs`) for many calls at once, in one query whatever their number (the
    calls' transfers); pass calls with `agent__team` and `department` selected, as lists do."""
    transfers_by_call: dict[int, list[Transfer]] = {call.pk: [] for call in calls}
    if transfers_by_call:
        transfers = (
            Transfer.objects.filter(call_id__in=list(transfers_by_call))
            .select_related("from_agent__team", "to_agent__team", "from_department", "to_department")
            .order_by("call_id", "sequence")
        )
        for transfer in transfers:
            transfers_by_call[transfer.call_id].append(transfer)
    return {call.pk: _legs_of(call, transfers_by_call[call.pk]) for call in calls}


def _legs_of(call: Call, transfers: list[Transfer]) -> list[Leg]:
    legs: dict[int, Leg] = {}
    if call.agent_id:
        legs[call.agent_id] = Leg(agent=call.agent, department=call.department, sequence=0, role=HANDLING)
    out_only: dict[int, Leg] = {}
    for transfer in transfers:
        if transfer.to_agent_id and transfer.to_agent_id not in legs:
            legs[transfer.to_agent_id] = Leg(
                agent=transfer.to_agent,
                department=transfer.to_department,
                sequence=transfer.sequence,
                role=RECEIVED,
            )
        if transfer.from_agent_id and transfer.from_agent_id not in out_only:
            out_only[transfer.from_agent_id] = Leg(
                agent=transfer.from_agent,
                department=transfer.from_department,
                sequence=transfer.sequence,
                role=TRANSFERRED_OUT,
            )
    for agent_id, leg in out_only.items():
        legs.setdefault(agent_id, leg)
    return sorted(legs.values(), key=lambda leg: (leg.sequence, leg.agent.pk))


def leg_for_agent(legs: list[Leg], agent_id: int | None) -> Leg | None:
    return next((leg for leg in legs if leg.agent.pk == agent_id), None)


def leg_opens_and_closes(legs: list[Leg], agent_id: int) -> tuple[bool, bool]:
    """Whether the agent's leg is the call's first (they opened it) and its last (they closed it).
    A call without legs (no agent recorded) counts as one leg."""
    if not legs:
        return True, True
    return legs[0].agent.pk == agent_id, legs[-1].agent.pk == agent_id
