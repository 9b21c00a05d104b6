"""Coaching sessions: who may record and read them, the agent's notice and acknowledgement, the pages, and
the before/after figures of the focus criteria (checked against scipy)."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, time, timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from scipy.stats import binomtest

from calls.rollups import agent_day_stats_refresh
from scoring import services as scoring_services
from scoring.coaching import selectors
from scoring.coaching.metrics import share_difference
from scoring.coaching.services import coaching_session_acknowledge, coaching_session_create
from scoring.models import CoachingSession, Evaluation, Notice, NoticeSilentEvent
from scoring.notices import services as notice_services
from scoring.notices.services import notice_create_for_event, notice_sweep
from tests.analytics.helpers import make_evaluation
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.scoring.factories import criteria_by_key

TODAY = date(2026, 9, 1)


def noon(day: date) -> datetime:
    return datetime.combine(day, time(12), tzinfo=UTC)


@pytest.fixture
def card(scorecard):
    return {"scorecard": scorecard, "criteria": criteria_by_key(scorecard)}


def review(card, agent, day: date, **answers):
    """A current submitted review of a call of `agent` started at noon on `day` (answers by key; None = N/A)."""
    call = CallFactory(agent=agent, started_at=noon(day))
    return make_evaluation(card, call=call, score=50, answers=answers)


def record(agent, coach, card, *, held_on=None, keys=("a",), **extra):
    return coaching_session_create(
        agent=agent,
        coach=coach,
        held_on=held_on or timezone.localdate(),
        focus_criteria=[card["criteria"][key] for key in keys],
        notes=extra.pop("notes", "We listened to two calls together."),
        **extra,
    )


# --- services ---------------------------------------------------------------------------------------


def test_a_supervisor_records_a_session_and_only_the_agent_is_told(
    owner_agent, supervisor, card, django_capture_on_commit_callbacks, eager_celery
):
    reviewed = review(card, owner_agent, timezone.localdate(), a=1)
    with django_capture_on_commit_callbacks(execute=True):
        session = record(
            owner_agent,
            supervisor,
            card,
            keys=("a", "b"),
            agreed_actions="Greet by name",
            follow_up_on=timezone.localdate() + timedelta(days=14),
            evaluations=[reviewed],
        )
    session.refresh_from_db()
    assert sorted(session.focus_criteria.values_list("key", flat=True)) == ["a", "b"]
    assert list(session.evaluations.all()) == [reviewed]
    assert (session.coach, session.agreed_actions, session.acknowledged_at) == (
        supervisor,
        "Greet by name",
        None,
    )
    notice = Notice.objects.get()
    assert (notice.recipient, notice.kind, notice.coaching_session, notice.evaluation, notice.dispute) == (
        owner_agent.user,
        "coaching_recorded",
        session,
        None,
        None,
    )
    assert notice.event_key == f"coaching:{session.pk}"
    assert notice.created_at == session.created_at
    assert notice_services.notice_text(notice) == (
        f"Coaching recorded: sup coached you on {timezone.localdate():%Y-%m-%d}; please acknowledge it."
    )


@pytest.mark.parametrize("who", ["other_supervisor", "reviewer", "teammate", "owner"])
def test_only_the_teams_supervisor_or_an_admin_records_coaching(
    who, owner_agent, teammate_agent, reviewer, other_team, card
):
    other_supervisor = UserFactory(username="othersup", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    coach = {
        "other_supervisor": other_supervisor,
        "reviewer": reviewer,
        "teammate": teammate_agent.user,
        "owner": owner_agent.user,
    }[who]
    with pytest.raises(PermissionDenied):
        record(owner_agent, coach, card)
    assert not CoachingSession.objects.exists()


def test_an_admin_records_coaching_of_any_agent(outsider_agent, admin_user, card):
    assert record(outsider_agent, admin_user, card).coach == admin_user


def test_a_supervisor_who_also_takes_calls_cannot_coach_themselves(team, supervisor, card):
    themselves = AgentFactory(employee_code="A-SUP", name="Sue Pervisor", team=team, user=supervisor)
    assert selectors.can_coach(supervisor, themselves) is False
    with pytest.raises(PermissionDenied):
        record(themselves, supervisor, card)
    assert not CoachingSession.objects.exists()


def test_invalid_input_is_refused_and_nothing_is_written(
    owner_agent, teammate_agent, supervisor, card, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    other_review = review(card, teammate_agent, today, a=1)
    with django_capture_on_commit_callbacks() as callbacks, pytest.raises(ValidationError) as error:
        record(
            owner_agent,
            supervisor,
            card,
            held_on=today + timedelta(days=1),
            follow_up_on=today,
            notes="  ",
            evaluations=[other_review],
        )
    assert set(error.value.message_dict) == {"held_on", "follow_up_on", "notes", "evaluations"}
    with pytest.raises(ValidationError) as error:
        record(owner_agent, supervisor, card, keys=())
    assert set(error.value.message_dict) == {"focus_criteria"}
    assert not CoachingSession.objects.exists()
    assert callbacks == []


def test_the_database_refuses_a_session_without_notes_or_following_up_before_it(owner_agent, supervisor):
    day = date(2026, 6, 15)
    with transaction.atomic(), pytest.raises(IntegrityError, match="coaching_session_has_notes"):
        CoachingSession.objects.create(agent=owner_agent, coach=supervisor, held_on=day, notes="")
    with (
        transaction.atomic(),
        pytest.raises(IntegrityError, match="coaching_session_follow_up_after_session"),
    ):
        CoachingSession.objects.create(
            agent=owner_agent, coach=supervisor, held_on=day, notes="x", follow_up_on=day - timedelta(days=1)
        )
    assert not CoachingSession.objects.exists()


def test_only_the_agent_acknowledges_and_only_once(owner_agent, teammate_agent, supervisor, card):
    session = record(owner_agent, supervisor, card)
    for someone in (supervisor, teammate_agent.user):
        with pytest.raises(PermissionDenied):
            coaching_session_acknowledge(session=session, user=someone)
    session.refresh_from_db()
    assert session.acknowledged_at is None
    coaching_session_acknowledge(session=session, user=owner_agent.user)
    session.refresh_from_db()
    first = session.acknowledged_at
    assert first is not None
    with pytest.raises(ValidationError):
        coaching_session_acknowledge(session=session, user=owner_agent.user)
    session.refresh_from_db()
    assert session.acknowledged_at == first


# --- notices ----------------------------------------------------------------------------------------


def test_coaching_of_an_agent_without_a_login_is_marked_silent_and_never_resolved_again(
    team, supervisor, card, django_assert_num_queries
):
    nobody = AgentFactory(employee_code="A-NOLOGIN", team=team, user=None)
    session = record(nobody, supervisor, card)
    assert notice_create_for_event(kind="coaching_recorded", coaching_session_id=session.pk) == ()
    assert list(
        NoticeSilentEvent.objects.values_list(
            "kind", "evaluation_id", "dispute_id", "coaching_session_id", "event_key"
        )
    ) == [("coaching_recorded", None, None, session.pk, f"coaching:{session.pk}")]
    # A repeat inserts nothing; the sweep leaves it (and an agent without a login is not even asked about).
    assert notice_create_for_event(kind="coaching_recorded", coaching_session_id=session.pk) == ()
    with django_assert_num_queries(6):
        assert notice_sweep().events == 0
    assert NoticeSilentEvent.objects.count() == 1
    assert not Notice.objects.exists()


def test_the_sweep_creates_the_notice_of_a_lost_coaching_task_once(owner_agent, supervisor, card):
    session = record(owner_agent, supervisor, card)  # no on_commit here: the task was "lost"
    assert notice_sweep().events == 1
    assert notice_sweep().events == 0
    assert list(Notice.objects.values_list("recipient__username", "kind", "coaching_session_id")) == [
        ("owner", "coaching_recorded", session.pk)
    ]
    # The task arriving late (a redelivery) inserts nothing more.
    notice_create_for_event(kind="coaching_recorded", coaching_session_id=session.pk)
    assert Notice.objects.count() == 1


def test_a_coaching_notice_is_emailed_with_a_link_to_the_session(
    owner_agent, supervisor, card, settings, monkeypatch
):
    settings.QA_NOTICE_EMAIL = True
    sent = []
    monkeypatch.setattr(notice_services, "email_send", lambda **message: sent.append(message))
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()
    session = record(owner_agent, supervisor, card)
    notice_create_for_event(kind="coaching_recorded", coaching_session_id=session.pk)
    notice_create_for_event(kind="coaching_recorded", coaching_session_id=session.pk)
    assert len(sent) == 1
    assert sent[0]["to"] == "olive@example.com"
    assert f"{settings.SITE_URL}/qa/coaching/{session.pk}/" in sent[0]["body"]
    assert "Open the coaching session" in sent[0]["body"]
    assert Notice.objects.get().emailed_at is not None


def test_a_coaching_event_names_its_session_and_nothing_else(owner_agent, supervisor, card):
    session = record(owner_agent, supervisor, card)
    for wrong in (
        {"kind": "coaching_recorded"},
        {"kind": "coaching_recorded", "coaching_session_id": session.pk, "evaluation_id": 1},
        {"kind": "review_submitted", "evaluation_id": 1, "coaching_session_id": session.pk},
    ):
        with pytest.raises(ValueError):
            notice_create_for_event(**wrong)


def test_the_database_keeps_coaching_notices_to_their_session_and_one_per_recipient(
    owner_agent, supervisor, card
):
    session = record(owner_agent, supervisor, card)
    row = {
        "recipient": owner_agent.user,
        "kind": "coaching_recorded",
        "event_key": f"coaching:{session.pk}",
    }
    with transaction.atomic(), pytest.raises(IntegrityError, match="notice_coaching_names_session"):
        Notice.objects.create(**row)
    Notice.objects.create(**row, coaching_session=session)
    with (
        transaction.atomic(),
        pytest.raises(IntegrityError, match="notice_one_per_event_recipient_no_evaluation"),
    ):
        Notice.objects.create(**row, coaching_session=session)
    assert Notice.objects.count() == 1


def test_the_notices_page_links_the_session(client, owner_agent, supervisor, card):
    session = record(owner_agent, supervisor, card)
    notice_create_for_event(kind="coaching_recorded", coaching_session_id=session.pk)
    client.force_login(owner_agent.user)
    page = client.get(reverse("scoring:notices")).content.decode()
    assert f'href="/qa/coaching/{session.pk}/"' in page
    api = client.get("/api/notices/").json()["results"][0]
    assert (
        api["kind"],
        api["evaluation"],
        api["call"],
        api["evaluation_url"],
        api["coaching_session_url"],
    ) == (
        "coaching_recorded",
        None,
        None,
        None,
        f"/qa/coaching/{session.pk}/",
    )


# --- the focus the form suggests ---------------------------------------------------------------------


@pytest.fixture
def recent_reviews(owner_agent, teammate_agent, card):
    """Two reviews each of the owner and a teammate in the last 30 days. Pass rates (by hand):
    owner a 0/2, b 1/2, crit 1/2, res 0/2, unres 1/2; team (both) a 2/4, b 3/4, crit 2/4, res 1/4, unres 3/4.
    Below the team by: a −50, res −25 (owner 0 %), b −25 and unres −25 (owner 50 %, by key), crit 0."""
    today = timezone.localdate()
    rows = [
        (owner_agent, {"a": 0, "b": 4, "crit": 1, "res": 0, "unres": 1}),
        (owner_agent, {"a": 0, "b": 0, "crit": 0, "res": 0, "unres": 0}),
        (teammate_agent, {"a": 1, "b": 4, "crit": 1, "res": 1, "unres": 1}),
        (teammate_agent, {"a": 1, "b": 4, "crit": 0, "res": 0, "unres": 1}),
    ]
    made = [
        review(card, agent, today - timedelta(days=3 + i), **answers)
        for i, (agent, answers) in enumerate(rows)
    ]
    # One older than 30 days, which would change everything if it counted.
    review(card, owner_agent, today - timedelta(days=31), a=1, b=4, crit=1, res=1, unres=1)
    agent_day_stats_refresh(date_from=today - timedelta(days=40), date_to=today)
    return made


def test_the_suggested_focus_is_the_three_criteria_furthest_below_the_team(owner_agent, recent_reviews):
    assert selectors.coaching_suggested_focus(agent=owner_agent) == ["a", "res", "b"]


def test_the_form_prefills_the_suggested_focus_and_lists_the_agents_reviews(
    client, owner_agent, supervisor, card, recent_reviews
):
    client.force_login(supervisor)
    response = client.get(reverse("scoring:coaching_create", args=[owner_agent.pk]))
    assert response.status_code == 200
    form = response.context["form"]
    criteria = card["criteria"]
    assert sorted(form.initial["focus_criteria"]) == sorted(criteria[k].pk for k in ("a", "res", "b"))
    owners = set(Evaluation.objects.filter(agent=owner_agent).values_list("pk", flat=True))
    assert len(owners) == 3
    assert {pk for pk, _ in form.fields["evaluations"].choices} == owners
    page = response.content.decode()
    assert '<label for="id_notes">Notes:</label>' in page
    assert "<legend>Focus criteria:</legend>" in page


def test_posting_the_form_records_the_session_and_tells_the_agent(
    client, owner_agent, supervisor, card, recent_reviews, django_capture_on_commit_callbacks, eager_celery
):
    client.force_login(supervisor)
    data = {
        "held_on": timezone.localdate().isoformat(),
        "focus_criteria": [card["criteria"]["a"].pk],
        "evaluations": [recent_reviews[0].pk],
        "notes": "Listened to <b>call</b> one",
        "agreed_actions": "Greet first",
    }
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("scoring:coaching_create", args=[owner_agent.pk]), data)
    session = CoachingSession.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:coaching_detail", args=[session.pk])
    assert list(session.evaluations.all()) == [recent_reviews[0]]
    assert Notice.objects.get().recipient == owner_agent.user
    client.force_login(owner_agent.user)
    detail = client.get(response["Location"]).content.decode()
    assert "Listened to &lt;b&gt;call&lt;/b&gt; one" in detail
    assert "<b>call</b>" not in detail


def test_an_invalid_form_is_a_422_with_the_error_summary_tied_to_the_fields(client, owner_agent, supervisor):
    client.force_login(supervisor)
    future = (timezone.localdate() + timedelta(days=2)).isoformat()
    response = client.post(
        reverse("scoring:coaching_create", args=[owner_agent.pk]), {"held_on": future, "notes": ""}
    )
    assert response.status_code == 422
    page = response.content.decode()
    assert "Please correct the errors below." in page
    assert 'aria-describedby="id_notes_error"' in page
    assert 'aria-invalid="true"' in page
    assert "the date cannot be in the future" in page
    assert not CoachingSession.objects.exists()


# --- pages ------------------------------------------------------------------------------------------


def test_the_agent_page_lists_sessions_and_offers_recording_to_the_supervisor_only(
    client, owner_agent, supervisor, reviewer, card
):
    session = record(owner_agent, supervisor, card)
    url = reverse("analytics:agent", args=[owner_agent.pk])
    detail = reverse("scoring:coaching_detail", args=[session.pk])
    client.force_login(supervisor)
    page = client.get(url).content.decode()
    assert 'data-testid="record-coaching"' in page and f'href="{detail}"' in page
    client.force_login(owner_agent.user)
    page = client.get(url).content.decode()
    assert 'data-testid="record-coaching"' not in page and f'href="{detail}"' in page
    assert f'data-testid="coaching-acknowledge-{session.pk}"' in page
    client.force_login(reviewer)  # reviewers see the agent page, not their coaching
    page = client.get(url).content.decode()
    assert 'data-testid="coaching"' not in page and detail not in page


def test_the_agent_acknowledges_from_my_qa_with_htmx(client, owner_agent, supervisor, card):
    session = record(owner_agent, supervisor, card)
    client.force_login(owner_agent.user)
    page = client.get(reverse("scoring:me")).content.decode()
    assert f'data-testid="coaching-acknowledge-{session.pk}"' in page
    url = reverse("scoring:coaching_acknowledge", args=[session.pk])
    response = client.post(url, headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "Acknowledged" in response.content.decode()
    session.refresh_from_db()
    assert session.acknowledged_at is not None
    again = client.post(url, headers={"HX-Request": "true"})
    assert again.status_code == 409
    assert "already acknowledged" in again.content.decode()


def test_a_session_of_another_team_is_a_404(client, outsider_agent, admin_user, supervisor, card):
    session = record(outsider_agent, admin_user, card)
    client.force_login(supervisor)
    assert client.get(reverse("scoring:coaching_detail", args=[session.pk])).status_code == 404
    assert client.post(reverse("scoring:coaching_acknowledge", args=[session.pk])).status_code == 404


# --- did it work ------------------------------------------------------------------------------------


def wilson(k: int, n: int) -> tuple[float, float, float]:
    interval = binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    return 100 * k / n, 100 * interval.low, 100 * interval.high


def newcombe(before: tuple[int, int], after: tuple[int, int]) -> tuple[float, float, float]:
    """Newcombe's method 10 for after − before, by hand from scipy's Wilson intervals."""
    p1, l1, u1 = wilson(*before)
    p2, l2, u2 = wilson(*after)
    d = p2 - p1
    return d, d - math.sqrt((p2 - l2) ** 2 + (u1 - p1) ** 2), d + math.sqrt((u2 - p2) ** 2 + (p1 - l1) ** 2)


HELD_ON = date(2026, 6, 15)


@pytest.fixture
def coached(owner_agent, teammate_agent, supervisor, card, admin_user):
    """A session on 15 June focused on a (matched by key across two scorecard versions) and b.

    a, before (16 May – 14 June): 12 answers, 6 passed; after (16 June – 15 July): 15 answers, 12 passed.
    b (0–4 points, a pass is 4): before 4 answers, 1 passed (+ 2 N/A); after 11 answers, 5 passed (a 3 fails).
    Left out: the session day, 15 May, 16 July, a superseded review, a self-review and the teammate."""
    v1 = card
    before_a = [1] * 6 + [0] * 6
    after_a = [1] * 12 + [0] * 3
    for i, value in enumerate(before_a):
        review(v1, owner_agent, date(2026, 5, 16) + timedelta(days=i * 2), a=value)
    for i, value in enumerate([4, 0, 3, 2, None, None]):
        review(v1, owner_agent, date(2026, 6, 1) + timedelta(days=i), b=value)
    # Version 2 of the scorecard, published after the session's criteria were chosen: same keys.
    draft = scoring_services.scorecard_new_version(scorecard=card["scorecard"], user=admin_user)
    v2_card = {"scorecard": scoring_services.scorecard_publish(scorecard=draft, user=admin_user)}
    v2_card["criteria"] = criteria_by_key(v2_card["scorecard"])
    for i, value in enumerate(after_a):
        review(v2_card, owner_agent, date(2026, 6, 16) + timedelta(days=i * 2), a=value)
    for i, value in enumerate([4] * 5 + [3] * 6):
        review(v2_card, owner_agent, date(2026, 7, 1) + timedelta(days=i), b=value)
    for day in (HELD_ON, date(2026, 5, 15), date(2026, 7, 16)):
        review(v2_card, owner_agent, day, a=0, b=0)
    call = CallFactory(agent=owner_agent, started_at=noon(date(2026, 6, 20)))
    make_evaluation(v2_card, call=call, score=0, answers={"a": 0}, is_current=False)
    make_evaluation(v2_card, call=call, score=0, answers={"a": 0}, kind="self_review")
    review(v2_card, teammate_agent, date(2026, 6, 20), a=0, b=0)
    agent_day_stats_refresh(date_from=date(2026, 5, 1), date_to=date(2026, 7, 31))
    session = CoachingSession.objects.create(agent=owner_agent, coach=supervisor, held_on=HELD_ON, notes="x")
    session.focus_criteria.set([card["criteria"]["a"], card["criteria"]["b"]])
    return session


def test_before_and_after_match_an_independent_computation_in_one_query(
    coached, supervisor, django_assert_num_queries
):
    session = selectors.coaching_session_list_for_user(supervisor).get(pk=coached.pk)
    with django_assert_num_queries(1):
        effect = selectors.coaching_effect(session, today=TODAY)
    assert (effect.days, effect.before_from, effect.before_to, effect.after_from, effect.after_to) == (
        30,
        date(2026, 5, 16),
        date(2026, 6, 14),
        date(2026, 6, 16),
        date(2026, 7, 15),
    )
    rows = {row.key: row.effect for row in effect.rows}
    assert [row.key for row in effect.rows] == ["a", "b"]  # by question: "A?", "B?"
    a, b = rows["a"], rows["b"]
    assert (a.before.n, a.after.n, b.before.n, b.after.n) == (12, 15, 4, 11)
    for got, (k, n) in ((a.before, (6, 12)), (a.after, (12, 15)), (b.before, (1, 4)), (b.after, (5, 11))):
        assert (got.percent, got.low, got.high) == pytest.approx(wilson(k, n), abs=1e-9)
    assert (a.difference, a.low, a.high) == pytest.approx(newcombe((6, 12), (12, 15)), abs=1e-9)
    assert a.is_too_few is False
    assert b.is_too_few is True  # 4 answers before


def test_the_window_is_shorter_when_the_session_was_recent(owner_agent, supervisor, card):
    held_on = date(2026, 6, 15)
    for day, value in (
        (date(2026, 6, 4), 0),
        (date(2026, 6, 5), 1),
        (date(2026, 6, 25), 1),
        (date(2026, 6, 26), 0),
    ):
        review(card, owner_agent, day, a=value)
    agent_day_stats_refresh(date_from=date(2026, 6, 1), date_to=date(2026, 6, 30))
    session = CoachingSession.objects.create(agent=owner_agent, coach=supervisor, held_on=held_on, notes="x")
    session.focus_criteria.set([card["criteria"]["a"]])
    # Ten days later: 5–14 June against 16–25 June (today counts); 4 and 26 June are outside.
    effect = selectors.coaching_effect(session, today=date(2026, 6, 25))
    assert (effect.days, effect.before_from, effect.after_to) == (10, date(2026, 6, 5), date(2026, 6, 25))
    (row,) = effect.rows
    assert (row.effect.before.n, row.effect.before.percent, row.effect.after.n, row.effect.after.percent) == (
        1,
        100.0,
        1,
        100.0,
    )
    # On the day of the session there is nothing to compare yet.
    same_day = selectors.coaching_effect(session, today=held_on)
    assert same_day.days == 0
    assert same_day.rows[0].effect.before.n == 0 and same_day.rows[0].effect.is_too_few


def test_the_session_page_shows_the_figures_or_says_there_are_too_few(client, coached, owner_agent):
    client.force_login(owner_agent.user)
    page = client.get(reverse("scoring:coaching_detail", args=[coached.pk])).content.decode()
    # The page compares with today (after 15 July 2026 in this suite): the full 30 days on both sides.
    d, low, high = newcombe((6, 12), (12, 15))
    assert f"{d:.1f} <span" in page and f"({low:.1f} to {high:.1f})" in page
    assert page.count("too few reviews to tell") == 1


def test_share_difference_without_answers_has_no_figures():
    empty = share_difference(before_passed=0, before_n=0, after_passed=3, after_n=4)
    assert (empty.difference, empty.low, empty.high, empty.is_too_few) == (None, None, None, True)


def test_the_session_page_asks_as_many_queries_for_one_criterion_as_for_three(
    client, owner_agent, supervisor, card
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    today = timezone.localdate()
    reviews = [review(card, owner_agent, today - timedelta(days=i), a=1, b=4, crit=1) for i in range(1, 4)]
    small = record(owner_agent, supervisor, card, keys=("a",), evaluations=reviews[:1])
    large = record(owner_agent, supervisor, card, keys=("a", "b", "crit"), evaluations=reviews)
    client.force_login(supervisor)
    counts = []
    for session in (small, large):
        with CaptureQueriesContext(connection) as queries:
            assert client.get(reverse("scoring:coaching_detail", args=[session.pk])).status_code == 200
        counts.append(len(queries))
    assert counts[0] == counts[1]


def test_the_admin_lists_sessions_read_only(client, admin_user, owner_agent, supervisor, card):
    session = record(owner_agent, supervisor, card)
    client.force_login(admin_user)
    listing = client.get(reverse("admin:scoring_coachingsession_changelist"))
    assert listing.status_code == 200 and "Olive Owner" in listing.content.decode()
    assert client.get(reverse("admin:scoring_coachingsession_change", args=[session.pk])).status_code == 200
    assert client.get(reverse("admin:scoring_coachingsession_add")).status_code == 403
