"""The supervisors' weekly digest: its figures for a hand-built world against plain Python over the same rows
(NPS as %promoters − %detractors by hand), who gets one (team leads, active, their own teams only), once per
supervisor and week (twice, concurrently, late, the sweep), the week's local edges, the e-mail, the query count,
the notices page (escaped) and API, the setting and the beat schedule."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from celery.schedules import crontab
from django.core import mail
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import Team
from qa_center.celery import app as celery_app
from scoring.followups.models import FollowUpCase
from scoring.models import Evaluation, Notice
from scoring.notices.services import notice_create_for_weekly_digests, notice_sweep, notice_text
from scoring.surveys.models import SurveyResponse
from scoring.surveys.services import response_record
from scoring.tasks import notice_create_for_weekly_digests_task
from tests.concurrency import run_at_once
from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory

PARIS = ZoneInfo("Europe/Paris")
KIND = "weekly_digest"
# The QA progress page on the digest's own week (2026-11-16 to 2026-11-22), not "last week" (another week later).
WEEK_URL = "/qa/progress/?period=custom&date_from=2026-11-16&date_to=2026-11-22"
# The week reported on: Monday 16 to Sunday 22 November 2026 (Paris); the digest is due Monday 23 at 07:00.
MONDAY = date(2026, 11, 16)
SUNDAY = date(2026, 11, 22)
NEXT_MONDAY = date(2026, 11, 23)
DUE = datetime(2026, 11, 23, 7, 0, tzinfo=PARIS)
KEY = "weekly-digest:2026-11-16"
PER_WEEK = 2


def at(day: date, hour: int = 12, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), tzinfo=PARIS)


@pytest.fixture(autouse=True)
def digest_settings(settings):
    settings.TIME_ZONE = "Europe/Paris"
    settings.QA_WEEKLY_DIGEST = True
    settings.QA_SAMPLE_CALLS_PER_AGENT = PER_WEEK


def review(agent, author, scorecard, submitted: datetime, **fields) -> Evaluation:
    """A submitted current review unless told (written directly: the digest reads rows, not services)."""
    fields = {"kind": "review", "status": "submitted", **fields}
    return Evaluation.objects.create(
        call=CallFactory(agent=agent, started_at=(submitted or at(MONDAY)) - timedelta(hours=1)),
        agent=agent,
        author=author,
        scorecard=scorecard,
        submitted_at=submitted,
        **fields,
    )


def answer(agent, score: int, received: datetime) -> SurveyResponse:
    call = CallFactory(agent=agent, started_at=received - timedelta(hours=2))
    response, created = response_record(call=call, score=score, source="inbound_api", received_at=received)
    assert created
    return response


def case_of(response: SurveyResponse, *, due: datetime, status=FollowUpCase.Status.OPEN) -> FollowUpCase:
    FollowUpCase.objects.filter(response=response).update(status=status, due_at=due)
    return FollowUpCase.objects.get(response=response)


@pytest.fixture
def world(team, other_team, supervisor, owner_agent, teammate_agent, outsider_agent, reviewer, scorecard):
    """`sup` leads Billing East and Sales North; `othersup` Tech West; an inactive user leads a team of their
    own; the reviewer and the admin lead none. Rows decide one rule each (comments say which)."""
    sales = TeamFactory(name="Sales North")
    sales.supervisors.add(supervisor)
    othersup = UserFactory(username="othersup", roles=["supervisor"])
    other_team.supervisors.add(othersup)
    gone_sup = UserFactory(username="gonesup", roles=["supervisor"], is_active=False)
    TeamFactory(name="Night Shift").supervisors.add(gone_sup)
    UserFactory(username="boss", roles=["admin"], is_superuser=True)
    bea = AgentFactory(employee_code="A-BEA", name="Bea Behind", team=team)
    sam = AgentFactory(employee_code="A-SAM", name="Sam Sales", team=sales)
    AgentFactory(employee_code="A-GONE", name="Gina Gone", team=team, is_active=False)  # not in scope
    owner, mate, outsider = owner_agent, teammate_agent, outsider_agent

    reviews = [
        review(owner, reviewer, scorecard, at(MONDAY, 0, 0)),  # the week's first instant: counts
        review(owner, reviewer, scorecard, at(SUNDAY, 23, 59)),  # its last minute: counts
        review(owner, reviewer, scorecard, at(NEXT_MONDAY, 0, 0)),  # the next week: not
        review(owner, reviewer, scorecard, at(MONDAY - timedelta(days=1), 23, 59)),  # the week before: not
        review(mate, reviewer, scorecard, at(MONDAY + timedelta(days=2))),
        review(
            mate, reviewer, scorecard, at(MONDAY + timedelta(days=3)), kind="self_review"
        ),  # a self-review: not
        review(bea, reviewer, scorecard, None, status="draft"),  # a draft: not
        review(sam, reviewer, scorecard, at(MONDAY + timedelta(days=1))),
        review(sam, reviewer, scorecard, at(MONDAY + timedelta(days=4))),
        review(sam, reviewer, scorecard, at(SUNDAY, 9)),
        review(outsider, reviewer, scorecard, at(MONDAY + timedelta(days=5))),  # othersup's
    ]
    responses = {
        "owner_10": answer(owner, 10, at(MONDAY, 0, 0)),
        "owner_9": answer(owner, 9, at(SUNDAY, 23, 59)),
        "owner_3": answer(owner, 3, at(MONDAY + timedelta(days=3))),
        "mate_7": answer(mate, 7, at(MONDAY + timedelta(days=1))),
        "sam_0": answer(sam, 0, at(MONDAY + timedelta(days=2))),
        "sam_10": answer(sam, 10, at(SUNDAY, 18)),
        "owner_2_next_week": answer(owner, 2, at(NEXT_MONDAY, 0, 0)),  # received after the week: not in NPS
        "mate_10_week_before": answer(mate, 10, at(MONDAY - timedelta(days=1), 23, 59)),  # before it: not
        "outsider_9": answer(outsider, 9, at(MONDAY + timedelta(days=2))),  # othersup's
        "outsider_1": answer(outsider, 1, at(MONDAY - timedelta(days=10))),
    }
    cases = {
        "overdue": case_of(responses["owner_3"], due=DUE - timedelta(hours=1)),  # open past due: counts
        "not_yet": case_of(responses["sam_0"], due=DUE + timedelta(days=1)),  # open, not due yet: not
        # Its response came after the week, but the case is open past due now: counts.
        "next_week_overdue": case_of(responses["owner_2_next_week"], due=DUE - timedelta(minutes=1)),
        "outsider_overdue": case_of(responses["outsider_1"], due=DUE - timedelta(days=3)),  # othersup's
    }
    return {
        "sup": supervisor,
        "othersup": othersup,
        "gone_sup": gone_sup,
        "reviews": reviews,
        "responses": responses,
        "cases": cases,
        "sales": sales,
    }


def expected(user, now: datetime, *, monday: date = MONDAY, zone=PARIS) -> dict:
    """The digest's figures by plain Python over all the rows (no selectors), for the week from `monday`."""
    sunday = monday + timedelta(days=6)
    teams = sorted(Team.objects.filter(supervisors=user), key=lambda t: t.name)
    team_ids = {t.pk for t in teams}
    agents = [a for t in teams for a in t.agents.all() if a.is_active]

    def in_week(moment) -> bool:
        return moment is not None and monday <= moment.astimezone(zone).date() <= sunday

    per_agent = {
        a.pk: sum(
            1
            for e in Evaluation.objects.filter(agent=a)
            if e.kind == "review" and e.status == "submitted" and e.is_current and in_week(e.submitted_at)
        )
        for a in agents
    }
    reviews = sum(per_agent.values())
    target = PER_WEEK * len(agents)
    scores = [
        r.score
        for r in SurveyResponse.objects.all()
        if in_week(r.received_at)
        and any(c.is_primary and c.agent.team_id in team_ids for c in r.credits.all())
    ]
    promoters = sum(1 for s in scores if s >= 9)
    passives = sum(1 for s in scores if 7 <= s <= 8)
    detractors = sum(1 for s in scores if s <= 6)
    overdue = {
        case.pk
        for case in FollowUpCase.objects.all()
        if case.status == "open"
        and case.due_at <= now
        and any(c.agent.team_id in team_ids for c in case.response.credits.all())
    }
    return {
        "week_start": monday.isoformat(),
        "week_end": sunday.isoformat(),
        "teams": [t.name for t in teams],
        "agents": len(agents),
        "reviews": reviews,
        "target": target,
        "percent_of_target": 100 * reviews / target if target else None,
        "agents_behind": sum(1 for n in per_agent.values() if n < PER_WEEK),
        "agents_without_reviews": sum(1 for n in per_agent.values() if n == 0),
        "responses": len(scores),
        "promoters": promoters,
        "passives": passives,
        "detractors": detractors,
        "nps": 100 * promoters / len(scores) - 100 * detractors / len(scores) if scores else None,
        "followups_open_overdue": len(overdue),
    }


def digests():
    return list(
        Notice.objects.filter(kind=KIND)
        .order_by("recipient__username", "event_key")
        .values_list("recipient__username", "event_key")
    )


@pytest.mark.django_db
def test_each_supervisor_gets_the_figures_of_their_own_teams_for_last_week(world):
    assert notice_create_for_weekly_digests(now=DUE) == 2
    # Nobody else: the inactive team lead, the reviewer and the admin (leading no team), the agents.
    assert digests() == [("othersup", KEY), ("sup", KEY)]
    sup = Notice.objects.get(recipient=world["sup"])
    # Hand-checked first: 2 + 1 + 0 + 3 reviews of a target of 4 agents × 2; Tom (1) and Bea (0) behind.
    # Responses 10, 9, 3, 7, 0, 10: 3 promoters, 1 passive, 2 detractors of 6: NPS 50 − 33⅓ = 16⅔.
    hand = {
        "week_start": "2026-11-16",
        "week_end": "2026-11-22",
        "teams": ["Billing East", "Sales North"],
        "agents": 4,
        "reviews": 6,
        "target": 8,
        "percent_of_target": 75.0,
        "agents_behind": 2,
        "agents_without_reviews": 1,
        "responses": 6,
        "promoters": 3,
        "passives": 1,
        "detractors": 2,
        "nps": pytest.approx(100 / 6, abs=1e-12),
        "followups_open_overdue": 2,
    }
    assert sup.details == hand
    assert sup.details == {
        **expected(world["sup"], DUE),
        "nps": pytest.approx(expected(world["sup"], DUE)["nps"]),
    }
    other = Notice.objects.get(recipient=world["othersup"])
    assert other.details == expected(world["othersup"], DUE)
    assert (other.details["reviews"], other.details["nps"], other.details["followups_open_overdue"]) == (
        1,
        100.0,
        1,
    )
    assert (sup.created_at, sup.evaluation_id, sup.dispute_id, sup.coaching_session_id) == (
        DUE,
        None,
        None,
        None,
    )
    assert notice_text(sup) == (
        "Weekly digest of Billing East, Sales North, 2026-11-16 to 2026-11-22: 6 of 8 reviews (75%), "
        "2 of 4 agents behind (1 without a review), NPS +17 (n = 6), 2 follow-ups open past due."
    )


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("moment", "counted"),
    [
        (at(SUNDAY, 23, 59), True),  # the week's last minute, Paris
        (at(NEXT_MONDAY, 0, 0), False),  # the next week's first instant
        (at(MONDAY, 0, 0), True),  # the week's first instant
        (at(MONDAY - timedelta(days=1), 23, 59), False),  # the Sunday before
        # Monday 00:30 Paris is Sunday 23:30 UTC: a UTC week would count it, the site's week does not...
        (at(NEXT_MONDAY, 0, 30), False),
        # ...and Monday 16 00:30 Paris (Sunday 15 in UTC) is in it.
        (at(MONDAY, 0, 30), True),
    ],
)
def test_the_week_is_monday_to_sunday_in_the_sites_time_zone(
    supervisor, owner_agent, reviewer, scorecard, moment, counted
):
    review(owner_agent, reviewer, scorecard, moment)
    answer(owner_agent, 10, moment)
    notice_create_for_weekly_digests(now=DUE)
    details = Notice.objects.get(recipient=supervisor).details
    n = 1 if counted else 0
    assert (
        details["reviews"],
        details["agents_without_reviews"],
        details["responses"],
        details["promoters"],
    ) == (
        n,
        1 - n,
        n,
        n,
    )
    assert details["nps"] == (100.0 if counted else None)


@pytest.mark.django_db
def test_once_per_supervisor_and_week_however_often_it_runs(world):
    assert notice_create_for_weekly_digests(now=DUE) == 2
    assert notice_create_for_weekly_digests(now=DUE) == 0
    assert notice_create_for_weekly_digests(now=DUE + timedelta(hours=5)) == 0
    assert digests() == [("othersup", KEY), ("sup", KEY)]


@pytest.mark.django_db
def test_a_late_run_during_the_week_still_sends_last_weeks_digest(world):
    thursday = datetime(2026, 11, 26, 15, 0, tzinfo=PARIS)
    assert notice_create_for_weekly_digests(now=thursday) == 2
    assert digests() == [("othersup", KEY), ("sup", KEY)]
    # Its figures are those of the week 16–22 (reviews, NPS); the open cases as of the run.
    assert Notice.objects.get(recipient=world["sup"]).details["reviews"] == 6
    # The next Monday's run writes the next week's digest beside it.
    assert notice_create_for_weekly_digests(now=DUE + timedelta(days=7)) == 2
    assert [key for _, key in digests()] == [KEY, "weekly-digest:2026-11-23", KEY, "weekly-digest:2026-11-23"]


@pytest.mark.django_db
def test_a_run_that_found_the_same_supervisors_as_a_finished_one_inserts_nothing(world):
    from scoring.notices.digest import weekly_digest_recipients

    stale = weekly_digest_recipients(week_start=MONDAY)
    assert set(stale) == {world["sup"].pk, world["othersup"].pk}
    notice_create_for_weekly_digests(now=DUE)
    # A concurrent twin that read the recipients before the first run wrote: its insert hits the constraint.
    Notice.objects.bulk_create(
        [Notice(recipient_id=pk, kind=KIND, event_key=KEY, details={}) for pk in stale], ignore_conflicts=True
    )
    assert digests() == [("othersup", KEY), ("sup", KEY)]


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_make_one_digest_each(team, supervisor, owner_agent, settings):
    settings.QA_NOTICE_EMAIL = True
    supervisor.email = "sup@example.com"
    supervisor.save()
    results = run_at_once(2, lambda _: notice_create_for_weekly_digests(now=DUE))
    assert not [result for result in results if isinstance(result, Exception)]
    assert digests() == [("sup", KEY)]
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_the_database_keeps_one_digest_per_supervisor_and_week_naming_nothing(
    supervisor, owner_agent, scorecard
):
    Notice.objects.create(recipient=supervisor, kind=KIND, event_key=KEY)
    with (
        transaction.atomic(),
        pytest.raises(IntegrityError, match="notice_one_per_event_recipient_no_evaluation"),
    ):
        Notice.objects.create(recipient=supervisor, kind=KIND, event_key=KEY)
    with transaction.atomic(), pytest.raises(IntegrityError, match="notice_weekly_digest_keyed_by_week"):
        Notice.objects.create(recipient=supervisor, kind=KIND, event_key="digest")
    evaluation = review(owner_agent, supervisor, scorecard, at(MONDAY))
    with transaction.atomic(), pytest.raises(IntegrityError, match="notice_coaching_names_session_others"):
        Notice.objects.create(
            recipient=supervisor, kind=KIND, event_key="weekly-digest:2026-11-09", evaluation=evaluation
        )
    # A review notice still has to name its evaluation.
    with transaction.atomic(), pytest.raises(IntegrityError, match="notice_coaching_names_session_others"):
        Notice.objects.create(recipient=supervisor, kind="review_submitted", event_key="evaluation:1")
    # Another week is another digest.
    Notice.objects.create(recipient=supervisor, kind=KIND, event_key="weekly-digest:2026-11-23")
    assert Notice.objects.filter(kind=KIND).count() == 2


@pytest.mark.django_db
def test_the_sweep_catches_up_a_lost_run_from_monday_seven_on(world):
    # Before 07:00 on Monday the digest is not due: the sweep leaves it to the beat. (It resolves the world's
    # recent reviews: review_submitted notices, not ours.)
    notice_sweep(now=DUE - timedelta(minutes=1))
    assert digests() == []
    # The beat's run was lost: the first sweep after 07:00 writes the digests, the next nothing.
    assert notice_sweep(now=DUE + timedelta(minutes=5)).events == 2
    assert notice_sweep(now=DUE + timedelta(minutes=10)).events == 0
    assert digests() == [("othersup", KEY), ("sup", KEY)]
    # A supervisor appointed on Wednesday gets last week's digest from the next sweep.
    newcomer = UserFactory(username="newsup", roles=["supervisor"])
    world["sales"].supervisors.add(newcomer)
    assert notice_sweep(now=datetime(2026, 11, 25, 10, 0, tzinfo=PARIS)).events == 1
    assert ("newsup", KEY) in digests()


@pytest.mark.django_db
def test_turned_off_nothing_is_written(world, settings):
    settings.QA_WEEKLY_DIGEST = False
    assert notice_create_for_weekly_digests(now=DUE) == 0
    notice_sweep(now=DUE + timedelta(minutes=5))
    assert digests() == []


@pytest.mark.django_db
def test_a_supervisor_who_leaves_every_team_or_is_deactivated_gets_none(world):
    world["sup"].led_teams.clear()
    world["othersup"].is_active = False
    world["othersup"].save()
    assert notice_create_for_weekly_digests(now=DUE) == 0
    assert digests() == []


@pytest.mark.django_db
def test_only_team_leads_the_progress_page_lets_in_get_a_digest(world, client):
    # A team lead without the supervisor role (a reviewer named on a team) would be sent figures and a link
    # to the QA progress page that refuses them; an admin or a superuser leading a team is let in.
    reviewer_lead = UserFactory(username="revlead", roles=["reviewer"])
    admin_lead = UserFactory(username="adminlead", roles=["admin"])
    root_lead = UserFactory(username="rootlead", roles=[], is_superuser=True)
    for user in (reviewer_lead, admin_lead, root_lead):
        TeamFactory(name=f"Team of {user.username}").supervisors.add(user)

    notice_create_for_weekly_digests(now=DUE)

    week = MONDAY.isoformat()
    assert digests() == [
        ("adminlead", f"weekly-digest:{week}"),
        ("othersup", f"weekly-digest:{week}"),
        ("rootlead", f"weekly-digest:{week}"),
        ("sup", f"weekly-digest:{week}"),
    ]
    client.force_login(reviewer_lead)
    assert client.get("/qa/progress/").status_code == 403
    for user in (admin_lead, root_lead):
        client.force_login(user)
        assert client.get("/qa/progress/").status_code == 200


@pytest.mark.django_db
def test_the_digest_is_emailed_once_with_its_figures_one_per_line_and_the_link(world, settings):
    settings.QA_NOTICE_EMAIL = True
    world["sup"].email = "sup@example.com"
    world["sup"].save()
    notice_create_for_weekly_digests(now=DUE)
    notice_create_for_weekly_digests(now=DUE)
    notice_sweep(now=DUE + timedelta(minutes=5))
    # othersup has no address: not delivered, never tried again.
    assert [m.to for m in mail.outbox] == [["sup@example.com"]]
    message = mail.outbox[0]
    assert message.subject == "QA Center: weekly digest, 2026-11-16 to 2026-11-22"
    assert message.body == (
        "Week: 2026-11-16 to 2026-11-22 (Monday to Sunday)\n"
        "Teams: Billing East, Sales North\n"
        "Reviews: 6 of a target of 8 (75% of target)\n"
        "Agents behind target: 2 of 4\n"
        "Agents with no review: 1\n"
        "NPS: +17 (n = 6 responses received)\n"
        "Follow-ups open past due now: 2\n"
        "\n"
        f"Open the week's QA progress: {settings.SITE_URL}{WEEK_URL}\n"
        f"All your notices: {settings.SITE_URL}/qa/notices/\n"
    )
    sup = Notice.objects.get(recipient=world["sup"])
    other = Notice.objects.get(recipient=world["othersup"])
    assert (sup.emailed_at, other.email_error) == (DUE, "no e-mail address")


@pytest.mark.django_db
def test_the_digest_email_without_responses_or_agents_says_so(team, supervisor, settings):
    settings.QA_NOTICE_EMAIL = True
    supervisor.email = "sup@example.com"
    supervisor.save()
    notice_create_for_weekly_digests(now=DUE)
    assert mail.outbox[0].body.splitlines()[2:7] == [
        "Reviews: 0 of a target of 0",
        "Agents behind target: 0 of 0",
        "Agents with no review: 0",
        "NPS: no survey responses received",
        "Follow-ups open past due now: 0",
    ]


@pytest.mark.django_db
def test_the_task_takes_a_fixed_number_of_queries(world, django_assert_num_queries, settings):
    """1 the supervisors and their teams, 4 the progress, 1 the responses, 1 the overdue cases, 1 the insert;
    the same with one supervisor more and her team (no query per supervisor, team or agent)."""
    with django_assert_num_queries(8):
        assert notice_create_for_weekly_digests(now=DUE) == 2
    extra = UserFactory(username="extrasup", roles=["supervisor"])
    extra_team = TeamFactory(name="Extra")
    extra_team.supervisors.add(extra)
    AgentFactory(team=extra_team)
    with django_assert_num_queries(8):
        assert notice_create_for_weekly_digests(now=DUE + timedelta(days=7)) == 3
    # Nothing to do: one query.
    with django_assert_num_queries(1):
        assert notice_create_for_weekly_digests(now=DUE + timedelta(days=7)) == 0


@pytest.mark.django_db
def test_the_notices_page_and_api_show_the_digest_escaped_and_linked(client, world):
    world["sales"].name = "<b>Sales</b> & Co"
    world["sales"].save()
    notice_create_for_weekly_digests(now=DUE)
    client.force_login(world["sup"])
    page = client.get(reverse("scoring:notices")).content.decode()
    assert (
        f'<a href="{WEEK_URL.replace("&", "&amp;")}" data-testid="notice-weekly-digest">Weekly digest of '
        "&lt;b&gt;Sales&lt;/b&gt; &amp; Co, Billing East, 2026-11-16 to 2026-11-22:" in page
    )
    assert "<b>Sales</b>" not in page
    assert '<span class="badge warn">Weekly digest</span>' in page
    week = client.get(WEEK_URL)
    assert week.status_code == 200
    assert (week.context["progress"].period.date_from, week.context["progress"].period.date_to) == (
        date(2026, 11, 16),
        date(2026, 11, 22),
    )
    api = client.get("/api/notices/").json()["results"]
    assert [(n["kind"], n["progress_url"], n["evaluation_url"], n["details"]["reviews"]) for n in api] == [
        (KIND, WEEK_URL, None, 6)
    ]
    # The top bar counts it as unread like the others.
    assert '<span class="badge warn" data-testid="notice-unread-count">1</span>' in page


def test_the_task_is_in_the_beat_schedule_on_monday_at_seven(settings):
    assert settings.CELERY_BEAT_SCHEDULE["scoring-weekly-digest"] == {
        "task": "scoring.tasks.notice_create_for_weekly_digests_task",
        "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
    }
    assert "scoring.tasks.notice_create_for_weekly_digests_task" in celery_app.tasks


@pytest.mark.django_db
def test_the_task_runs_the_service(world, monkeypatch):
    from django.utils import timezone

    monkeypatch.setattr(timezone, "now", lambda: DUE)
    assert notice_create_for_weekly_digests_task.apply().get() == 2
    assert digests() == [("othersup", KEY), ("sup", KEY)]


@pytest.mark.django_db
def test_the_demo_gives_each_supervisor_a_digest_matching_its_rows(settings):
    """The demo seeds the digests as Monday's task would (with the setting on, as a real demo has it)."""
    import io

    from django.core.management import call_command
    from django.utils import timezone

    from scoring.demo import seed_evaluations

    settings.TIME_ZONE = "UTC"
    call_command("seed_demo", calls=400, agents=6, days=14, seed=7, calls_only=True, stdout=io.StringIO())
    seed_evaluations(seed=3, share=0.3)
    leads = set(
        Team.supervisors.through.objects.filter(user__is_active=True).values_list("user_id", flat=True)
    )
    rows = list(Notice.objects.filter(kind=KIND))
    assert leads and {n.recipient_id for n in rows} == leads
    today = timezone.localdate()
    week_start = today - timedelta(days=today.weekday() + 7)
    for notice in rows:
        zone = timezone.get_current_timezone()
        expected_figures = expected(notice.recipient, notice.created_at, monday=week_start, zone=zone)
        assert notice.details == {**expected_figures, "nps": pytest.approx(expected_figures["nps"])}


@pytest.mark.django_db
def test_with_email_each_digest_adds_its_send(world, settings, django_assert_num_queries):
    """8 as above, 1 for the digests to e-mail, then each send: lock the row, record the outcome (and the
    savepoint and its release, the test's transaction making the service's atomic block a savepoint)."""
    settings.QA_NOTICE_EMAIL = True
    for user in (world["sup"], world["othersup"]):
        user.email = f"{user.username}@example.com"
        user.save()
    with django_assert_num_queries(8 + 1 + 2 * 4):
        notice_create_for_weekly_digests(now=DUE)
    assert len(mail.outbox) == 2


@pytest.mark.django_db
def test_the_sweep_pays_one_query_for_digests_once_all_have_theirs(world, settings):
    notice_create_for_weekly_digests(now=DUE)
    notice_sweep(now=DUE + timedelta(minutes=5))  # the world's reviews: their notices

    def sweep_queries(now: datetime) -> int:
        with CaptureQueriesContext(connection) as queries:
            notice_sweep(now=now)
        return len(queries)

    for now, extra in ((DUE + timedelta(minutes=10), 1), (DUE + timedelta(days=7) - timedelta(minutes=1), 0)):
        settings.QA_WEEKLY_DIGEST = False
        off = sweep_queries(now)
        settings.QA_WEEKLY_DIGEST = True
        # From Monday 07:00: one query finds nobody left; on the next Monday before 07:00 not even that.
        assert sweep_queries(now) == off + extra
    assert digests() == [("othersup", KEY), ("sup", KEY)]
