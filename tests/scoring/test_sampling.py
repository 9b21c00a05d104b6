"""Weekly QA sampling into reviewers' queues."""

from __future__ import annotations

import datetime as dt
import logging
import random
from collections import Counter

import numpy as np
import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Agent, Call
from scoring import sampling, tasks
from scoring.models import Assignment
from scoring.surveys.models import SurveyResponse
from tests.factories import (
    AgentFactory,
    CallFactory,
    DepartmentFactory,
    EscalationFactory,
    TransferFactory,
    UserFactory,
)
from tests.scoring.factories import AssignmentFactory, department_scorecard

pytestmark = pytest.mark.django_db

WEEK = dt.date(2026, 3, 2)  # a Monday


def at(day: int, hour: int = 10) -> dt.datetime:
    """A moment in WEEK (day 0 = Monday) in the current time zone."""
    return dt.datetime.combine(
        WEEK + dt.timedelta(days=day), dt.time(hour), tzinfo=timezone.get_current_timezone()
    )


def make_calls(agent, count: int, **kwargs):
    return [CallFactory(agent=agent, started_at=at(i % 5, 9 + i % 8), **kwargs) for i in range(count)]


@pytest.fixture
def reviewers(db):
    return [UserFactory(username=f"rev{i}", roles=["reviewer"]) for i in range(3)]


@pytest.fixture
def agents(db):
    return [AgentFactory(employee_code=f"S-{i}") for i in range(4)]


def test_three_calls_per_agent_no_duplicates_round_robin(agents, reviewers):
    for agent in agents:
        make_calls(agent, 8)
    result = sampling.weekly_sample_assign(week_start=WEEK, seed=7)
    assert result.created == 12 == settings.QA_SAMPLE_CALLS_PER_AGENT * len(agents)
    rows = list(
        Assignment.objects.values_list("call_id", "call__agent_id", "reviewer_id", "purpose", "period")
    )
    assert len({r[0] for r in rows}) == 12
    assert Counter(r[1] for r in rows) == {a.pk: 3 for a in agents}
    assert Counter(r[2] for r in rows) == {r.pk: 4 for r in reviewers}
    assert {(r[3], r[4]) for r in rows} == {("weekly_sample", WEEK)}
    assert result.agents_without_calls == []
    assert result.agents_short == {}


def test_same_seed_same_sample(agents, reviewers):
    for agent in agents:
        make_calls(agent, 10)

    def run(seed):
        with transaction.atomic():
            result = sampling.weekly_sample_assign(week_start=WEEK, seed=seed)
            picked = sorted((a.call_id, a.reviewer_id) for a in result.assignments)
            transaction.set_rollback(True)
        return picked

    assert run(11) == run(11)
    assert run(11) != run(12)


def test_rerun_adds_nothing(agents, reviewers):
    for agent in agents:
        make_calls(agent, 6)
    first = sampling.weekly_sample_assign(week_start=WEEK, seed=1)
    second = sampling.weekly_sample_assign(week_start=WEEK, seed=2)
    assert first.created == 12
    assert second.created == 0
    assert Assignment.objects.count() == 12


def test_calls_already_queued_or_reviewed_are_not_sampled_again(agents, reviewers):
    agent = agents[0]
    calls = make_calls(agent, 4)
    AssignmentFactory(call=calls[0], reviewer=reviewers[0], purpose="manual")
    result = sampling.weekly_sample_assign(week_start=WEEK, seed=3, per_agent=3)
    picked = {a.call_id for a in result.assignments}
    assert picked == {c.pk for c in calls[1:]}


def test_agents_without_calls_are_reported_and_logged(agents, reviewers, caplog):
    make_calls(agents[0], 5)
    make_calls(agents[1], 2)  # fewer than 3
    inactive = AgentFactory(employee_code="S-GONE", is_active=False)
    CallFactory(agent=agents[2], started_at=at(0) - dt.timedelta(days=1))  # previous week: doesn't count
    with caplog.at_level(logging.WARNING, logger="scoring.sampling"):
        result = sampling.weekly_sample_assign(week_start=WEEK, seed=5)
    assert [a.employee_code for a in result.agents_without_calls] == ["S-2", "S-3"]
    assert inactive not in result.agents_without_calls
    assert result.agents_short == {agents[1].pk: 2}
    assert result.created == 5
    assert "S-2, S-3" in caplog.text


def test_reviewer_never_gets_their_own_calls(reviewers):
    reviewer_agent = AgentFactory(employee_code="S-REV", user=reviewers[0])
    make_calls(reviewer_agent, 6)
    result = sampling.weekly_sample_assign(week_start=WEEK, seed=9)
    assert result.created == 3
    assert reviewers[0].pk not in {a.reviewer_id for a in result.assignments}


def test_no_reviewers_assigns_nothing(agents, caplog):
    make_calls(agents[0], 3)
    with caplog.at_level(logging.ERROR, logger="scoring.sampling"):
        result = sampling.weekly_sample_assign(week_start=WEEK, seed=1)
    assert result.created == 0
    assert "no active reviewers" in caplog.text
    assert not Assignment.objects.exists()


def test_week_start_must_be_a_monday(db):
    with pytest.raises(ValidationError):
        sampling.weekly_sample_assign(week_start=WEEK + dt.timedelta(days=1))


def test_call_weights_count_risk_signals(agents):
    agent = agents[0]
    plain = CallFactory(agent=agent, started_at=at(0), talk_seconds=100)
    transferred = CallFactory(agent=agent, started_at=at(1), talk_seconds=110)
    TransferFactory(call=transferred, sequence=1)
    escalated_unresolved = CallFactory(agent=agent, started_at=at(2), talk_seconds=120, is_resolved=False)
    EscalationFactory(call=escalated_unresolved)
    for i in range(7):
        CallFactory(agent=agents[1], started_at=at(3, 8 + i), talk_seconds=130 + i)
    long_call = CallFactory(agent=agent, started_at=at(4), talk_seconds=900, hold_seconds=100)
    calls = list(sampling.week_calls_for_sampling(WEEK))
    # 11 handle times 100, 110, 120, 130..136, 1000: linear p90 sits at index 0.9 × 10 = 9 → 136.
    threshold = sampling.percentile_of_handle_times(calls)
    assert threshold == 136.0 == float(np.percentile([c.handle_total for c in calls], 90))
    calls = [c for c in calls if c.agent_id == agent.pk]
    weights = sampling.call_sampling_weights(calls, long_handle_seconds=threshold)
    assert weights == {plain.pk: 1.0, transferred.pk: 2.0, escalated_unresolved.pk: 3.0, long_call.pk: 2.0}


def test_detractor_calls_get_the_extra_sampling_weight(agents, settings):
    from scoring.surveys.models import SurveyResponse

    settings.QA_SAMPLE_DETRACTOR_WEIGHT = 2.5
    detractor_call, passive_call, silent_call = make_calls(agents[0], 3)
    SurveyResponse.objects.create(call=detractor_call, score=4, category="detractor", source="inbound_api")
    SurveyResponse.objects.create(call=passive_call, score=8, category="passive", source="inbound_api")
    ids = [detractor_call.pk, passive_call.pk, silent_call.pk]
    assert sampling.sampling_extra_weights(ids) == {detractor_call.pk: 2.5}
    week_calls = [c for c in sampling.week_calls_for_sampling(WEEK) if c.pk in ids]
    assert len(week_calls) == 3
    weights = sampling.call_sampling_weights(week_calls, long_handle_seconds=None)
    assert weights[detractor_call.pk] == weights[silent_call.pk] + 2.5
    assert weights[passive_call.pk] == weights[silent_call.pk]


def test_weighted_call_is_picked_at_the_expected_rate(reviewers):
    """One transferred+escalated+unresolved call (weight 4) among four plain ones (weight 1), one pick a
    week: it should be chosen with probability 4/8 = 0.5."""
    agent = AgentFactory(employee_code="S-W")
    heavy = CallFactory(agent=agent, started_at=at(0), is_resolved=False)
    TransferFactory(call=heavy, sequence=1)
    EscalationFactory(call=heavy)
    make_calls(agent, 4)
    runs = 300
    hits = 0
    for seed in range(runs):
        with transaction.atomic():
            result = sampling.weekly_sample_assign(week_start=WEEK, seed=seed, per_agent=1)
            hits += result.assignments[0].call_id == heavy.pk
            transaction.set_rollback(True)
    # 0.5 ± 4.5σ with σ = sqrt(0.25 / 300) ≈ 0.029; a uniform draw would give 0.2.
    assert abs(hits / runs - 0.5) < 4.5 * (0.25 / runs) ** 0.5


def test_task_samples_the_given_week(agents, reviewers):
    make_calls(agents[0], 4)
    summary = tasks.weekly_sample_assign_task.run(week_start=WEEK.isoformat(), seed=1)
    assert summary == {
        "week_start": "2026-03-02",
        "created": 3,
        "agents_without_calls": ["S-1", "S-2", "S-3"],
        "agents_short": 0,
        "reviewers": 3,
    }


def test_previous_week_start():
    assert sampling.previous_week_start(dt.date(2026, 3, 9)) == WEEK  # Monday → last Monday
    assert sampling.previous_week_start(dt.date(2026, 3, 15)) == WEEK  # Sunday → last week's Monday


def test_beat_runs_the_task_on_monday_morning():
    entry = settings.CELERY_BEAT_SCHEDULE["scoring-weekly-sample"]
    assert entry["task"] == "scoring.tasks.weekly_sample_assign_task"
    assert entry["task"] == tasks.weekly_sample_assign_task.name
    schedule = entry["schedule"]
    assert schedule.day_of_week == {1} and schedule.hour == {6} and schedule.minute == {0}


def test_calls_no_published_scorecard_covers_are_not_sampled(agents, reviewers):
    # The seeded Voice QA scorecard covers phone calls only: e-mail calls could never be scored, so a
    # sampled e-mail call would sit in a reviewer's queue for ever ("No published scorecard applies").
    agent = agents[0]
    make_calls(agent, 5, channel="email")
    phone = make_calls(agent, 2, channel="phone")
    result = sampling.weekly_sample_assign(week_start=WEEK, seed=3)
    assert {a.call_id for a in result.assignments} == {c.pk for c in phone}
    assert result.agents_short == {agent.pk: 2}


# --- per leg -------------------------------------------------------------------------------------------


def expected_draw(rng: random.Random, weighted: list[tuple[str, float]], k: int) -> set[str]:
    """Efraimidis–Spirakis, written out: one uniform per item in order, key u^(1/w), the k largest."""
    keys = [(rng.random() ** (1 / weight), name) for name, weight in weighted]
    return {name for _, name in sorted(keys, reverse=True)[:k]}


@pytest.fixture
def transfer_week(db):
    """A: handles a1, a2 (a2 → C) and receives b3 from B; B: handles b1 (b1 → C), b2, b3; C only ever
    receives transfers; D has no call. Transferred calls weigh 2, the others 1."""
    a, b, c, d = (AgentFactory(employee_code=f"S-{x}") for x in "ABCD")
    calls = {
        "a1": CallFactory(agent=a, started_at=at(0)),
        "a2": CallFactory(agent=a, started_at=at(1)),
        "b1": CallFactory(agent=b, started_at=at(2)),
        "b2": CallFactory(agent=b, started_at=at(3)),
        "b3": CallFactory(agent=b, started_at=at(4)),
    }
    TransferFactory(call=calls["a2"], sequence=1, from_agent=a, to_agent=c)
    TransferFactory(call=calls["b1"], sequence=1, from_agent=b, to_agent=c)
    TransferFactory(call=calls["b3"], sequence=1, from_agent=b, to_agent=a)
    return {"agents": {"A": a, "B": b, "C": c, "D": d}, "calls": calls}


def test_weekly_sample_draws_per_leg_and_samples_transfer_only_agents(transfer_week, reviewers):
    agents, calls = transfer_week["agents"], transfer_week["calls"]
    seed = 21
    # Agents in employee-code order, each drawing from their legs in call order.
    rng = random.Random(seed)
    expected_a = expected_draw(rng, [("a1", 1), ("a2", 2), ("b3", 2)], 2)
    expected_b = expected_draw(rng, [("b1", 2), ("b2", 1), ("b3", 2)], 2)
    expected_c = {"a2", "b1"}  # C has exactly two legs: both are taken whatever the draw
    expected = {(calls[n].pk, agents["A"].pk) for n in expected_a}
    expected |= {(calls[n].pk, agents["B"].pk) for n in expected_b}
    expected |= {(calls[n].pk, agents["C"].pk) for n in expected_c}

    result = sampling.weekly_sample_assign(week_start=WEEK, per_agent=2, seed=seed)

    rows = list(Assignment.objects.values_list("call_id", "agent_id", "reviewer_id", "purpose", "period"))
    assert {(r[0], r[1]) for r in rows} == expected
    assert len(rows) == 6  # no (call, agent) twice
    assert Counter(r[1] for r in rows) == {agents["A"].pk: 2, agents["B"].pk: 2, agents["C"].pk: 2}
    assert Counter(r[2] for r in rows) == {r.pk: 2 for r in reviewers}
    assert {(r[3], r[4]) for r in rows} == {("weekly_sample", WEEK)}
    assert result.agents_without_calls == [agents["D"]]
    assert result.agents_short == {}


def test_a_leg_reviewed_for_one_agent_stays_eligible_for_the_other(transfer_week, reviewers):
    agents, calls = transfer_week["agents"], transfer_week["calls"]
    AssignmentFactory(call=calls["a2"], agent=agents["A"], reviewer=reviewers[0], purpose="manual")
    AssignmentFactory(call=calls["b1"], agent=agents["C"], reviewer=reviewers[0], purpose="manual")

    result = sampling.weekly_sample_assign(week_start=WEEK, per_agent=3, seed=4)

    picked = {(a.call_id, a.agent_id) for a in result.assignments}
    # A keeps a1 and b3 (a2 is queued for A); C keeps a2 (b1 is queued for C); B has three free legs.
    assert {p for p in picked if p[1] == agents["A"].pk} == {
        (calls[n].pk, agents["A"].pk) for n in ("a1", "b3")
    }
    assert {p for p in picked if p[1] == agents["C"].pk} == {(calls["a2"].pk, agents["C"].pk)}
    assert {p for p in picked if p[1] == agents["B"].pk} == {
        (calls[n].pk, agents["B"].pk) for n in ("b1", "b2", "b3")
    }
    assert result.agents_short == {agents["A"].pk: 2, agents["C"].pk: 1}
    assert sampling.weekly_sample_assign(week_start=WEEK, per_agent=3, seed=5).created == 0


def test_a_leg_is_sampled_only_if_a_scorecard_covers_its_department(reviewers):
    # An e-mail call (the seeded Voice QA is phone only) handled by E in Front, transferred to G in Tech;
    # only Tech has an e-mail-capable scorecard: G's leg can be scored, E's never could.
    front, tech = DepartmentFactory(name="Front"), DepartmentFactory(name="Tech")
    department_scorecard("tech", [tech])
    handler, receiver = AgentFactory(employee_code="S-E"), AgentFactory(employee_code="S-G")
    call = CallFactory(agent=handler, department=front, channel="email", started_at=at(2))
    TransferFactory(call=call, sequence=1, from_agent=handler, to_agent=receiver, to_department=tech)

    result = sampling.weekly_sample_assign(week_start=WEEK, per_agent=1, seed=8)

    assert [(a.call_id, a.agent_id) for a in result.assignments] == [(call.pk, receiver.pk)]
    assert result.agents_short == {handler.pk: 0}
    assert result.agents_without_calls == []


# --- a randomized week, checked against the raw data -----------------------------------------------


def random_week(rng: random.Random, *, calls: int) -> dict:
    """`calls` calls in WEEK with random agents (some calls agentless), departments, channels, handle times,
    transfers (0–2 hops, some to nobody or to no department), escalations (0–2), resolution and surveys; plus
    two long calls just outside the week. Returns the raw facts as plain data for an independent check.

    Scorecards: the seeded Voice QA covers phone calls in every department; a Tech-only one covers any
    channel in Tech, so an e-mail leg is scorable only in Tech (an e-mail call handled in Front and
    transferred to Tech is scorable for the receiver only)."""
    front, tech = DepartmentFactory(name="Front"), DepartmentFactory(name="Tech")
    department_scorecard("tech", [tech])
    agents = [AgentFactory(employee_code=f"R-{i}") for i in range(5)]
    facts = []
    for i in range(calls):
        handler = rng.choice([*agents, None])
        department = rng.choice([front, tech])
        # Coarse handle times: ties are common, so some calls sit exactly on the p90 (not above it).
        handle = (rng.choice([120, 180, 240, 300, 600]), rng.choice([0, 0, 60]), rng.choice([0, 30]))
        call = CallFactory(
            agent=handler,
            department=department,
            channel=rng.choice(["phone", "phone", "email"]),
            started_at=at(i % 7, 8 + rng.randrange(10)),
            talk_seconds=handle[0],
            hold_seconds=handle[1],
            wrap_seconds=handle[2],
            is_resolved=rng.random() < 0.6,
        )
        transfers = []
        holder = handler
        for sequence in range(1, rng.choice([1, 1, 2, 2, 3]) if rng.random() < 0.5 else 1):
            to_agent = rng.choice([*agents, None])
            to_department = rng.choice([front, tech, None])
            TransferFactory(
                call=call,
                sequence=sequence,
                from_agent=holder,
                to_agent=to_agent,
                to_department=to_department,
            )
            transfers.append((to_agent, to_department))
            holder = to_agent
        escalations = rng.choice([0, 0, 0, 1, 2])
        for sequence in range(1, escalations + 1):
            EscalationFactory(call=call, sequence=sequence)
        survey_score = rng.choice([None, None, *range(11)])
        if survey_score is not None:
            category = "promoter" if survey_score >= 9 else "passive" if survey_score >= 7 else "detractor"
            SurveyResponse.objects.create(
                call=call, score=survey_score, category=category, source="inbound_api"
            )
        facts.append(
            {
                "call": call,
                "handler": handler,
                "transfers": transfers,
                "escalations": escalations,
                "survey_score": survey_score,
                "handle": sum(handle),
            }
        )
    # Long calls the week before and after: they must not move the week's p90 nor be sampled.
    CallFactory(agent=agents[0], started_at=at(0, 0) - dt.timedelta(minutes=1), talk_seconds=5000)
    CallFactory(agent=agents[0], started_at=at(7, 0), talk_seconds=5000)
    return {"agents": agents, "facts": facts, "tech": tech}


def expected_legs(week: dict, detractor_weight: float) -> dict[int, list[tuple[int, float]]]:
    """Per agent id, their scorable legs as (call id, weight) in (call start, call id) order, computed from
    the raw facts: a leg for the handling agent (the call's department) and one for each agent a transfer
    reached (the first such transfer's department); weight 1 + transferred + escalated + unresolved +
    (handle time above the p90 of the week's calls that have a leg, numpy's linear percentile) + the
    detractor weight."""
    with_leg = [f for f in week["facts"] if f["handler"] or any(to for to, _ in f["transfers"])]
    p90 = float(np.percentile([f["handle"] for f in with_leg], 90))
    legs: dict[int, list[tuple[dt.datetime, int, float]]] = {}
    for fact in with_leg:
        call = fact["call"]
        weight = (
            1
            + bool(fact["transfers"])
            + bool(fact["escalations"])
            + (not call.is_resolved)
            + (fact["handle"] > p90)
            + (detractor_weight if fact["survey_score"] is not None and fact["survey_score"] <= 6 else 0)
        )
        departments = {fact["handler"].pk: call.department} if fact["handler"] else {}
        for to_agent, to_department in fact["transfers"]:
            if to_agent is not None:
                departments.setdefault(to_agent.pk, to_department)
        for agent_id, department in departments.items():
            if call.channel == "phone" or department == week["tech"]:
                legs.setdefault(agent_id, []).append((call.started_at, call.pk, float(weight)))
    return {agent_id: [(c, w) for _, c, w in sorted(rows)] for agent_id, rows in legs.items()}


def note_weight(note: str) -> float:
    assert note.startswith("Weekly sample (weight ") and note.endswith(")")
    return float(note.removeprefix("Weekly sample (weight ").removesuffix(")"))


@pytest.mark.parametrize("week_seed", [1, 2, 3])
def test_random_week_legs_weights_and_draw_match_the_raw_data(week_seed, reviewers, settings):
    settings.QA_SAMPLE_DETRACTOR_WEIGHT = 2.5
    week = random_week(random.Random(week_seed), calls=40)
    expected = expected_legs(week, 2.5)
    assert len({w for legs in expected.values() for _, w in legs}) >= 4  # the week does mix the signals

    # Enough per agent to take every scorable leg: each assignment's note shows its leg's weight.
    with transaction.atomic():
        result = sampling.weekly_sample_assign(week_start=WEEK, per_agent=1000, seed=week_seed)
        taken = {(a.call_id, a.agent_id): note_weight(a.note) for a in result.assignments}
        transaction.set_rollback(True)
    assert taken == {
        (call_id, agent_id): weight for agent_id, legs in expected.items() for call_id, weight in legs
    }

    # Two per agent: agents in employee-code order, each drawing over their scorable legs in call order.
    rng = random.Random(week_seed)
    draw = set()
    for agent in week["agents"]:
        legs = expected.get(agent.pk, [])
        draw |= {(call_id, agent.pk) for call_id in expected_draw(rng, legs, 2)}
    result = sampling.weekly_sample_assign(week_start=WEEK, per_agent=2, seed=week_seed)
    assert {(a.call_id, a.agent_id) for a in result.assignments} == draw


def test_sample_queries_do_not_grow_with_the_week_and_skip_call_columns(reviewers):
    def sample_queries() -> list[str]:
        with transaction.atomic():
            with CaptureQueriesContext(connection) as captured:
                created = sampling.weekly_sample_assign(week_start=WEEK, seed=1).created
            transaction.set_rollback(True)
        assert created > 0
        return [q["sql"] for q in captured.captured_queries]

    random_week(random.Random(7), calls=8)
    small = sample_queries()
    for agent in Agent.objects.all():
        make_calls(agent, 12)
    assert Call.objects.count() > 60
    large = sample_queries()

    # The reviewers, the call rows with their signals (detractor included) in one query, the legs, the
    # taken legs (2), the weekly counts, the reviewers' load, the reviewers' agents, the scorecards (2),
    # the agents, one INSERT; plus the service's savepoint and its release.
    assert len(small) == len(large) == 14
    # Rows, not Call instances: no query reads a call's transcript (or any other column it does not need).
    assert not [sql for sql in large if '"calls_call"."transcript"' in sql]
