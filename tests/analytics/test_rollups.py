"""The day rollups agree with a plain-Python recomputation over the raw rows after every kind of change."""

from collections import defaultdict
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from calls.models import AgentDayCallStats, Call, Escalation, Transfer
from calls.rollups import agent_day_stats_refresh, agent_day_stats_refresh_for_calls
from calls.selectors import call_annotate_metrics, call_summary
from scoring.analytics import tasks as analytics_tasks
from scoring.analytics.models import (
    AgentDayCriterionStats,
    AgentDayDepartmentStats,
    AgentDayReasonStats,
    AgentDayScoreStats,
    AgentDaySectionStats,
    AgentDayTransferPathStats,
)
from scoring.analytics.rollups import analytics_refresh_for_calls, changed_call_ids
from scoring.followups.models import FollowUpCase, RootCause
from scoring.followups.services import followup_close
from scoring.models import Answer, Evaluation, SectionScore
from scoring.surveys.models import ResponseCredit, SurveyResponse
from scoring.surveys.services import response_record
from tests.analytics.helpers import at, make_evaluation, make_response, make_scorecard
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
    UserFactory,
)

FIRST, LAST = date(2026, 5, 20), date(2026, 6, 30)


def raw_call_stats() -> dict:
    """Independent recomputation: loop over every call in Python."""
    window = timedelta(days=settings.REPEAT_CONTACT_WINDOW_DAYS)
    calls = list(Call.objects.all())
    transferred = set(Transfer.objects.values_list("call_id", flat=True))
    escalated = set(Escalation.objects.values_list("call_id", flat=True))
    out: dict = defaultdict(lambda: defaultdict(int))
    for c in calls:
        if c.agent_id is None:
            continue
        repeat = c.customer_id is not None and any(
            o.customer_id == c.customer_id
            and (o.started_at > c.started_at or (o.started_at == c.started_at and o.pk > c.pk))
            and o.started_at <= c.started_at + window
            for o in calls
        )
        identified = c.customer_id is not None
        row = out[(c.agent_id, timezone.localtime(c.started_at).date())]
        row["calls"] += 1
        row["identified_calls"] += identified
        row["handle_seconds"] += c.talk_seconds + c.hold_seconds + c.wrap_seconds
        row["wait_seconds"] += c.wait_seconds
        row["transferred"] += c.pk in transferred
        row["escalated"] += c.pk in escalated
        row["resolved"] += c.is_resolved
        # An anonymous caller's FCR is unknown: counted for identified callers only.
        row["first_contact_resolved"] += (
            identified and c.is_resolved and c.pk not in transferred and not repeat
        )
        row["repeat_contacts"] += repeat
    return {k: dict(v) for k, v in out.items()}


def rollup_call_stats() -> dict:
    fields = [
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
    return {(r.agent_id, r.day): {f: getattr(r, f) for f in fields} for r in AgentDayCallStats.objects.all()}


def raw_score_stats() -> dict:
    out: dict = defaultdict(lambda: defaultdict(lambda: 0))
    for ev in Evaluation.objects.select_related("call"):
        if ev.status == "submitted" and ev.is_current and ev.kind == "review" and ev.score is not None:
            row = out[(ev.agent_id, timezone.localtime(ev.call.started_at).date())]
            row["evaluations"] += 1
            row["score_sum"] += ev.score
            row["score_sum_squares"] += ev.score * ev.score
    for credit in ResponseCredit.objects.filter(is_primary=True).select_related("response__call"):
        row = out[(credit.agent_id, timezone.localtime(credit.response.call.started_at).date())]
        row["responses"] += 1
        row[credit.response.category + "s"] += 1
        csat, ces = credit.response.csat, credit.response.ces
        row["csat_answers"] += csat is not None
        row["csat_satisfied"] += csat is not None and csat >= 4
        row["ces_answers"] += ces is not None
        row["ces_sum"] += ces or 0
        row["ces_sum_squares"] += (ces or 0) ** 2
    return {
        k: {f: Decimal(v[f]) if f.startswith("score") else v[f] for f in SCORE_KEYS} for k, v in out.items()
    }


SCORE_KEYS = [
    "evaluations",
    "score_sum",
    "score_sum_squares",
    "responses",
    "promoters",
    "passives",
    "detractors",
    "csat_answers",
    "csat_satisfied",
    "ces_answers",
    "ces_sum",
    "ces_sum_squares",
]


def rollup_score_stats() -> dict:
    keys = SCORE_KEYS
    return {(r.agent_id, r.day): {f: getattr(r, f) for f in keys} for r in AgentDayScoreStats.objects.all()}


def raw_section_stats() -> dict:
    out: dict = defaultdict(lambda: [0, Decimal(0)])
    for ss in SectionScore.objects.select_related("evaluation__call"):
        ev = ss.evaluation
        if ev.status == "submitted" and ev.is_current and ev.kind == "review" and ev.score is not None:
            row = out[(ev.agent_id, timezone.localtime(ev.call.started_at).date(), ss.section_id)]
            row[0] += 1
            row[1] += ss.score
    return {k: tuple(v) for k, v in out.items()}


def rollup_section_stats() -> dict:
    return {
        (r.agent_id, r.day, r.section_id): (r.evaluations, r.score_sum)
        for r in AgentDaySectionStats.objects.all()
    }


def _day(call) -> date:
    return timezone.localtime(call.started_at).date()


def _category(call) -> str | None:
    response = SurveyResponse.objects.filter(call=call).first()
    return response.category if response else None


def raw_criterion_stats() -> dict:
    out: dict = defaultdict(lambda: defaultdict(int))
    for answer in Answer.objects.select_related("evaluation__call", "criterion").filter(is_na=False):
        ev = answer.evaluation
        if not (ev.status == "submitted" and ev.is_current and ev.kind == "review" and ev.score is not None):
            continue
        row = out[(ev.agent_id, _day(ev.call), answer.criterion_id)]
        passed = answer.value is not None and answer.value >= answer.criterion.max_points
        failed = answer.value is not None and answer.value < answer.criterion.max_points
        row["answered"] += 1
        row["passed"] += passed
        category = _category(ev.call)
        if category:
            row["surveyed"] += 1
            row[f"passed_{category}s"] += passed
            row[f"failed_{category}s"] += failed
    return {k: {f: v[f] for f in CRITERION_FIELDS} for k, v in out.items()}


CRITERION_FIELDS = [
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


def rollup_criterion_stats() -> dict:
    return {
        (r.agent_id, r.day, r.criterion_id): {f: getattr(r, f) for f in CRITERION_FIELDS}
        for r in AgentDayCriterionStats.objects.all()
    }


def raw_transfer_stats() -> tuple[dict, dict, dict]:
    """(department, path, reason) figures per agent and day, by looping over calls and their legs."""
    departments: dict = defaultdict(lambda: [0, 0, 0])
    paths: dict = defaultdict(lambda: [0, 0, 0, 0, 0])
    reasons: dict = defaultdict(int)
    for call in Call.objects.filter(agent__isnull=False):
        key = (call.agent_id, _day(call))
        transfers = list(Transfer.objects.filter(call=call))
        escalations = list(Escalation.objects.filter(call=call))
        row = departments[(*key, call.department_id)]
        row[0] += 1
        row[1] += bool(transfers)
        row[2] += bool(escalations)
        category = _category(call)
        for from_id, to_id in {(t.from_department_id, t.to_department_id) for t in transfers}:
            path = paths[(*key, from_id, to_id)]
            path[0] += 1
            path[1] += call.is_resolved
            for i, name in enumerate(("promoter", "passive", "detractor"), start=2):
                path[i] += category == name
        for kind, legs in (("transfer", transfers), ("escalation", escalations)):
            for label in {leg.reason or "(none)" for leg in legs}:
                reasons[(*key, kind, label)] += 1
    return (
        {k: tuple(v) for k, v in departments.items()},
        {k: tuple(v) for k, v in paths.items()},
        dict(reasons),
    )


def rollup_transfer_stats() -> tuple[dict, dict, dict]:
    return (
        {
            (r.agent_id, r.day, r.department_id): (r.calls, r.transferred, r.escalated)
            for r in AgentDayDepartmentStats.objects.all()
        },
        {
            (r.agent_id, r.day, r.from_department_id, r.to_department_id): (
                r.calls,
                r.resolved,
                r.promoters,
                r.passives,
                r.detractors,
            )
            for r in AgentDayTransferPathStats.objects.all()
        },
        {(r.agent_id, r.day, r.kind, r.reason): r.calls for r in AgentDayReasonStats.objects.all()},
    )


def assert_rollups_match_raw():
    assert rollup_call_stats() == raw_call_stats()
    assert rollup_score_stats() == raw_score_stats()
    assert rollup_section_stats() == raw_section_stats()
    assert rollup_criterion_stats() == raw_criterion_stats()
    assert rollup_transfer_stats() == raw_transfer_stats()


@pytest.fixture
def world(db):
    team = TeamFactory(name="Rollup team")
    ann, bob = AgentFactory(team=team, name="Ann"), AgentFactory(team=team, name="Bob")
    alice_customer, carl_customer = CustomerFactory(), CustomerFactory()
    calls = [
        CallFactory(
            agent=ann,
            customer=alice_customer,
            started_at=at(1, 9),
            talk_seconds=200,
            hold_seconds=20,
            wrap_seconds=5,
        ),
        CallFactory(agent=ann, customer=carl_customer, started_at=at(1, 15), is_resolved=False),
        CallFactory(
            agent=bob, customer=alice_customer, started_at=at(3, 10)
        ),  # repeat of call 0 (2 days later)
        CallFactory(agent=bob, customer=CustomerFactory(), started_at=at(3, 11), talk_seconds=600),
        CallFactory(agent=bob, customer=None, started_at=at(4, 8)),
        CallFactory(agent=ann, customer=carl_customer, started_at=at(20, 8)),  # 19 days later: no repeat
    ]
    first_leg = TransferFactory(call=calls[3], sequence=1)
    TransferFactory(call=calls[3], sequence=2)
    # The same path twice on one call counts once; a blank reason shows as "(none)".
    TransferFactory(
        call=calls[3],
        sequence=3,
        from_department=first_leg.from_department,
        to_department=first_leg.to_department,
        reason="",
    )
    TransferFactory(call=calls[1], sequence=1, to_department=first_leg.to_department)
    EscalationFactory(call=calls[1])
    card = make_scorecard()
    make_evaluation(
        card,
        call=calls[0],
        score=90,
        answers={"greet": 1, "close": 1, "solve": 1},
        sections={"Greeting": 100, "Resolution": 50},
    )
    make_evaluation(
        card,
        call=calls[1],
        score=0,
        answers={"greet": 0, "close": None, "solve": 2},
        sections={"Greeting": 0, "Resolution": 100},
    )
    make_evaluation(card, call=calls[2], score=75.5, sections={"Greeting": 80})
    make_evaluation(card, call=calls[2], score=99, kind="self_review")  # not counted
    make_evaluation(card, call=calls[3], score=None, status="draft")  # not counted
    make_response(call=calls[0], score=10, csat=5, ces=6)
    make_response(call=calls[3], score=3, primary=bob, others=[ann], csat=2)
    make_response(call=calls[5], score=8, ces=3)
    agent_day_stats_refresh(date_from=FIRST, date_to=LAST)
    return {"team": team, "ann": ann, "bob": bob, "calls": calls, "card": card, "alice": alice_customer}


def test_rollups_match_a_raw_recomputation_after_a_full_refresh(world):
    assert_rollups_match_raw()
    bob_paths = {
        (r.from_department_id, r.to_department_id): r.calls
        for r in AgentDayTransferPathStats.objects.filter(agent=world["bob"])
    }
    assert sorted(bob_paths.values()) == [1, 1]  # two paths on call 3, the repeated one once
    reasons = {(r.kind, r.reason): r.calls for r in AgentDayReasonStats.objects.filter(agent=world["bob"])}
    assert reasons == {("transfer", "technical issue"): 1, ("transfer", "(none)"): 1}
    greet = AgentDayCriterionStats.objects.get(
        agent=world["ann"], day=date(2026, 6, 1), criterion=world["card"]["criteria"]["greet"]
    )
    assert (greet.answered, greet.passed, greet.surveyed, greet.passed_promoters) == (2, 1, 1, 1)
    # Spot-check the fixed dataset by hand: Ann on June 1 had 2 calls; the first became a repeat contact.
    ann_day = AgentDayCallStats.objects.get(agent=world["ann"], day=date(2026, 6, 1))
    assert (
        ann_day.calls,
        ann_day.handle_seconds,
        ann_day.resolved,
        ann_day.first_contact_resolved,
        ann_day.repeat_contacts,
        ann_day.escalated,
    ) == (2, 225 + 300, 1, 0, 1, 1)
    # Bob's June 4 call has no customer: resolved and never transferred, yet not counted as resolved on first
    # contact (unknown), and not an identified call.
    bob_day4 = AgentDayCallStats.objects.get(agent=world["bob"], day=date(2026, 6, 4))
    assert (
        bob_day4.calls,
        bob_day4.identified_calls,
        bob_day4.resolved,
        bob_day4.first_contact_resolved,
    ) == (
        1,
        0,
        1,
        0,
    )
    ann_scores = AgentDayScoreStats.objects.get(agent=world["ann"], day=date(2026, 6, 1))
    assert (ann_scores.evaluations, ann_scores.score_sum, ann_scores.score_sum_squares) == (
        2,
        Decimal("90"),
        Decimal("8100"),
    )
    assert (ann_scores.responses, ann_scores.promoters) == (1, 1)
    bob_day3 = AgentDayScoreStats.objects.get(agent=world["bob"], day=date(2026, 6, 3))
    # The detractor of call 3 counts for Bob (primary) only, not for Ann (credited on a later leg).
    assert (bob_day3.responses, bob_day3.detractors) == (1, 1)


def test_import_of_a_repeat_contact_refreshes_the_earlier_calls_fcr(world):
    before = AgentDayCallStats.objects.get(agent=world["bob"], day=date(2026, 6, 3))
    assert before.first_contact_resolved == 1
    new = CallFactory(agent=world["ann"], customer=world["alice"], started_at=at(8, 9))  # 5 days after call 2
    agent_day_stats_refresh_for_calls(started_from=new.started_at, started_to=new.started_at)
    after = AgentDayCallStats.objects.get(agent=world["bob"], day=date(2026, 6, 3))
    assert (after.first_contact_resolved, after.repeat_contacts) == (0, 1)
    assert_rollups_match_raw()


def test_reimport_that_changes_and_moves_calls_is_reflected(world):
    calls = world["calls"]
    Call.objects.filter(pk=calls[3].pk).update(is_resolved=False, talk_seconds=60)
    Call.objects.filter(pk=calls[5].pk).update(started_at=at(2, 8), answered_at=at(2, 8), ended_at=at(2, 9))
    Transfer.objects.filter(call=calls[3]).delete()
    agent_day_stats_refresh(date_from=FIRST, date_to=LAST)
    assert_rollups_match_raw()


def test_late_response_dispute_adjustment_and_deletion_are_reflected(world):
    calls, card = world["calls"], world["card"]
    make_response(call=calls[1], score=6)
    old = Evaluation.objects.get(call=calls[0], kind="review")
    Evaluation.objects.filter(pk=old.pk).update(is_current=False)
    make_evaluation(card, call=calls[0], score=95, revision=2, supersedes=old, sections={"Greeting": 100})
    make_evaluation(card, call=calls[5], score=60)
    analytics_refresh_for_calls(call_ids=[calls[0].pk, calls[1].pk, calls[5].pk])
    assert_rollups_match_raw()
    calls[4].delete()
    SurveyResponse.objects.filter(call=calls[5]).delete()
    agent_day_stats_refresh(date_from=FIRST, date_to=LAST)
    assert_rollups_match_raw()
    assert not AgentDayCallStats.objects.filter(agent=world["bob"], day=date(2026, 6, 4)).exists()


def test_sweeper_finds_calls_whose_scoring_rows_changed(world):
    since = timezone.now() - timedelta(minutes=1)
    assert changed_call_ids(since=since) == {c.pk for c in world["calls"][:3]} | {
        world["calls"][3].pk,
        world["calls"][5].pk,
    }
    assert changed_call_ids(since=timezone.now() + timedelta(minutes=1)) == set()


def test_refresh_leaves_days_outside_the_range_untouched(world):
    AgentDayCallStats.objects.filter(day=date(2026, 6, 20)).update(
        calls=99, resolved=0, first_contact_resolved=0
    )
    agent_day_stats_refresh(date_from=date(2026, 6, 1), date_to=date(2026, 6, 19))
    assert AgentDayCallStats.objects.get(day=date(2026, 6, 20)).calls == 99


def test_days_are_local_days_of_the_configured_time_zone(world, settings):
    settings.TIME_ZONE = "America/New_York"
    # 2026-06-01 03:00 UTC is May 31 in New York.
    early = CallFactory(agent=world["ann"], customer=CustomerFactory(), started_at=at(1, 3))
    agent_day_stats_refresh(date_from=FIRST, date_to=LAST)
    assert AgentDayCallStats.objects.get(agent=world["ann"], day=date(2026, 5, 31)).calls == 1
    assert early.pk
    assert_rollups_match_raw()


def test_a_same_second_contact_with_a_higher_id_is_a_repeat_in_call_lists_and_rollups(db):
    """One tie rule everywhere: of two contacts of a customer starting the same second, the one with the
    lower id has a repeat contact (the other); the later-id one has none."""
    team = TeamFactory(name="Tie team")
    ann, bob = AgentFactory(team=team), AgentFactory(team=team)
    customer = CustomerFactory()
    first = CallFactory(agent=ann, customer=customer, started_at=at(12, 10))
    second = CallFactory(agent=bob, customer=customer, started_at=at(12, 10))
    assert first.pk < second.pk
    flags = dict(call_annotate_metrics(Call.objects.all()).values_list("pk", "has_repeat_contact"))
    assert flags == {first.pk: True, second.pk: False}
    agent_day_stats_refresh(date_from=date(2026, 6, 12), date_to=date(2026, 6, 12))
    rollup = {
        r.agent_id: (r.repeat_contacts, r.first_contact_resolved) for r in AgentDayCallStats.objects.all()
    }
    assert rollup == {ann.pk: (1, 0), bob.pk: (0, 1)}
    summary = call_summary(Call.objects.filter(agent__team=team))
    assert (summary["repeat_contacts"], summary["first_contact_resolved"]) == (
        sum(r.repeat_contacts for r in AgentDayCallStats.objects.all()),
        sum(r.first_contact_resolved for r in AgentDayCallStats.objects.all()),
    )


# --- refreshed as data arrives: the services queue a refresh of the call's day after commit -------------


def raw_followup_stats() -> dict:
    """Closed follow-ups per (primary agent, local day of the call), and how many closed within SLA."""
    out: dict = defaultdict(lambda: [0, 0])
    for case in FollowUpCase.objects.filter(closed_at__isnull=False).select_related("response__call"):
        credit = ResponseCredit.objects.get(response=case.response, is_primary=True)
        row = out[(credit.agent_id, timezone.localtime(case.response.call.started_at).date())]
        row[0] += 1
        row[1] += case.closed_at <= case.due_at
    return {k: tuple(v) for k, v in out.items()}


def rollup_followup_stats() -> dict:
    return {
        (r.agent_id, r.day): (r.followups_closed, r.followups_closed_within_sla)
        for r in AgentDayScoreStats.objects.filter(followups_closed__gt=0)
    }


def test_a_late_survey_response_refreshes_the_rollup_right_after_commit(
    world, eager_celery, django_capture_on_commit_callbacks
):
    calls = world["calls"]
    ann_day = {"agent": world["ann"], "day": date(2026, 6, 1)}
    with django_capture_on_commit_callbacks(execute=True):
        response_record(call=calls[1], score=4, source="inbound_api", received_at=at(25, 9))
    assert_rollups_match_raw()
    row = AgentDayScoreStats.objects.get(**ann_day)
    assert (row.responses, row.promoters, row.detractors) == (2, 1, 1)


def test_a_response_queues_nothing_before_commit_and_one_refresh_per_transaction(
    world, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(analytics_tasks, "publish", lambda task, *args: published.append((task.name, args)))
    calls = world["calls"]
    with django_capture_on_commit_callbacks(execute=False) as callbacks, transaction.atomic():
        response_record(call=calls[1], score=8, source="inbound_api", received_at=at(25, 9), csat=4, ces=7)
        response_record(call=calls[2], score=9, source="inbound_api", received_at=at(25, 9), csat=3)
    assert published == []
    assert AgentDayScoreStats.objects.get(agent=world["ann"], day=date(2026, 6, 1)).responses == 1  # stale
    for callback in callbacks:
        callback()
    assert published == [
        ("scoring.analytics.tasks.analytics_refresh_for_calls_task", (sorted([calls[1].pk, calls[2].pk]),))
    ]


def test_refreshes_of_a_day_are_debounced_into_one_delayed_refresh(
    world, monkeypatch, settings, django_capture_on_commit_callbacks
):
    from django.core.cache import cache

    settings.ANALYTICS_REFRESH_DEBOUNCE_SECONDS = 5
    cache.clear()
    published = []
    monkeypatch.setattr(
        analytics_tasks, "publish", lambda task, *args, **kw: published.append((task.name, args, kw))
    )
    calls = world["calls"]
    with django_capture_on_commit_callbacks(execute=True):
        response_record(call=calls[1], score=3, source="inbound_api", received_at=at(25, 9))
    analytics_tasks.analytics_refresh_publish([calls[0].pk])  # another change on the same day (1 June)

    # Calls 0 and 1 are Ann's, on 1 June, and only Ann is credited with anything on them: one refresh of
    # Ann's 1 June rows, not of the whole day.
    ann = world["ann"].pk
    assert published == [
        (
            "scoring.analytics.tasks.analytics_refresh_agent_days_task",
            ([["2026-06-01", ann]],),
            {"countdown": 5},
        )
    ]
    cache.clear()  # the debounce window is over: the next change schedules a new refresh
    analytics_tasks.analytics_refresh_publish([calls[1].pk])
    assert len(published) == 2

    # The delayed refresh sees every commit made before it runs.
    analytics_tasks.analytics_refresh_agent_days_task.apply(args=([["2026-06-01", ann]],))
    assert_rollups_match_raw()


def test_a_large_batch_is_debounced_per_day(world, monkeypatch, settings):
    from django.core.cache import cache

    settings.ANALYTICS_REFRESH_DEBOUNCE_SECONDS = 5
    monkeypatch.setattr(analytics_tasks, "DEBOUNCE_PAIR_LIMIT", 1)
    cache.clear()
    published = []
    monkeypatch.setattr(
        analytics_tasks, "publish", lambda task, *args, **kw: published.append((task.name, args, kw))
    )
    calls = world["calls"]
    analytics_tasks.analytics_refresh_publish([calls[0].pk, calls[2].pk])  # Ann's 1 June, Bob's 3 June

    assert published == [
        (
            "scoring.analytics.tasks.analytics_refresh_days_task",
            (["2026-06-01", "2026-06-03"],),
            {"countdown": 5},
        )
    ]


def test_closing_a_follow_up_refreshes_the_rollup_right_after_commit(
    world, eager_celery, django_capture_on_commit_callbacks
):
    calls = world["calls"]
    closer = UserFactory(username="closer")
    with django_capture_on_commit_callbacks(execute=True):
        response, _ = response_record(call=calls[1], score=2, source="inbound_api", received_at=at(25, 9))
    case = FollowUpCase.objects.get(response=response)
    assert rollup_followup_stats() == raw_followup_stats() == {}
    with django_capture_on_commit_callbacks(execute=True):
        followup_close(
            case=case,
            by=closer,
            outcome="resolved",
            root_cause=RootCause.objects.filter(is_active=True).first(),
            now=case.due_at - timedelta(minutes=1),
        )
    assert rollup_followup_stats() == raw_followup_stats() == {(world["ann"].pk, date(2026, 6, 1)): (1, 1)}
    assert_rollups_match_raw()
