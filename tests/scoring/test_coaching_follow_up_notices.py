"""The coach's "Coaching follow-up due" notice: once per due follow-up from its day on, whether the daily task
runs twice, concurrently or late; never before the day nor without a follow-up date; the sweep, the silent
marker, the e-mail, the notices page and API, and the beat schedule."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from celery.schedules import crontab
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone

from qa_center.celery import app as celery_app
from scoring.models import CoachingSession, Notice, NoticeSilentEvent
from scoring.notices import services as notice_services
from scoring.notices.services import (
    notice_create_for_due_follow_ups,
    notice_create_for_event,
    notice_sweep,
    notice_text,
)
from scoring.tasks import notice_create_for_due_follow_ups_task
from tests.concurrency import run_at_once
from tests.scoring.factories import criteria_by_key

KIND = "coaching_follow_up_due"


def session(agent, coach, *, held_days_ago, follow_up_days_ago=None, criteria=()):
    """A session held `held_days_ago` days before today, its follow-up `follow_up_days_ago` days before today
    (negative: in the future; None: no follow-up date)."""
    today = timezone.localdate()
    held_on = today - timedelta(days=held_days_ago)
    row = CoachingSession.objects.create(
        agent=agent,
        coach=coach,
        held_on=held_on,
        notes="Talked it through.",
        follow_up_on=None if follow_up_days_ago is None else today - timedelta(days=follow_up_days_ago),
        created_at=datetime.combine(held_on, time(12), tzinfo=UTC),
    )
    row.focus_criteria.set(criteria)
    return row


def notices():
    return list(
        Notice.objects.filter(kind=KIND)
        .order_by("pk")
        .values_list("recipient__username", "kind", "coaching_session_id", "event_key")
    )


@pytest.mark.django_db
def test_the_coach_is_told_once_on_the_follow_up_day_even_when_the_task_runs_twice(owner_agent, supervisor):
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=0)
    assert notice_create_for_due_follow_ups() == 1
    assert notice_create_for_due_follow_ups() == 0
    assert notice_create_for_due_follow_ups_task.apply().get() == 0
    assert notices() == [("sup", KIND, due.pk, f"coaching-follow-up:{due.pk}")]
    notice = Notice.objects.select_related("coaching_session__agent").get()
    # The event is the start of the follow-up day, in the site's time zone.
    day = timezone.localdate()
    assert notice.created_at == datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    held = (day - timedelta(days=14)).isoformat()
    assert notice_text(notice) == f"Coaching follow-up due: Olive Owner (coached on {held})."


@pytest.mark.django_db
def test_nobody_is_told_before_the_day_nor_without_a_follow_up_date_nor_after_a_later_session(
    owner_agent, teammate_agent, outsider_agent, supervisor, admin_user
):
    session(owner_agent, supervisor, held_days_ago=3, follow_up_days_ago=-1)  # tomorrow
    session(teammate_agent, supervisor, held_days_ago=10)  # no follow-up date
    # The outsider's follow-up came, but they were coached again since: nothing to follow up.
    session(outsider_agent, admin_user, held_days_ago=20, follow_up_days_ago=2)
    session(outsider_agent, admin_user, held_days_ago=1)
    assert notice_create_for_due_follow_ups() == 0
    notice_sweep()  # (it tells the outsider of yesterday's session: a coaching_recorded notice, not ours)
    assert notices() == []
    assert not NoticeSilentEvent.objects.filter(kind=KIND).exists()


@pytest.mark.django_db
def test_a_late_run_still_tells_the_coach_within_the_window(
    owner_agent, teammate_agent, supervisor, settings
):
    settings.QA_COACHING_FOLLOW_UP_NOTICE_DAYS = 7
    late = session(owner_agent, supervisor, held_days_ago=20, follow_up_days_ago=7)  # the window's first day
    session(teammate_agent, supervisor, held_days_ago=20, follow_up_days_ago=8)  # before it: never
    assert notice_create_for_due_follow_ups() == 1
    assert notices() == [("sup", KIND, late.pk, f"coaching-follow-up:{late.pk}")]


@pytest.mark.django_db
def test_a_run_that_read_the_same_due_follow_ups_as_a_finished_one_inserts_nothing(owner_agent, supervisor):
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=0)
    # A concurrent twin found the follow-up unresolved before this run wrote its notice: it then inserts.
    stale = list(notice_services._follow_ups_unresolved(today=timezone.localdate()))
    assert stale == [due.pk]
    notice_create_for_due_follow_ups()
    for coaching_session_id in stale:
        assert notice_create_for_event(kind=KIND, coaching_session_id=coaching_session_id) == (due.coach_id,)
    assert Notice.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_runs_make_one_notice(owner_agent, supervisor):
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=0)
    results = run_at_once(2, lambda _: notice_create_for_due_follow_ups())
    assert not [result for result in results if isinstance(result, Exception)]
    assert notices() == [("sup", KIND, due.pk, f"coaching-follow-up:{due.pk}")]


@pytest.mark.django_db
def test_the_database_keeps_one_follow_up_notice_per_coach_and_names_the_session(owner_agent, supervisor):
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=0)
    row = {"recipient": supervisor, "kind": KIND, "event_key": f"coaching-follow-up:{due.pk}"}
    with transaction.atomic(), pytest.raises(IntegrityError, match="notice_coaching_names_session"):
        Notice.objects.create(**row)
    Notice.objects.create(**row, coaching_session=due)
    with (
        transaction.atomic(),
        pytest.raises(IntegrityError, match="notice_one_per_event_recipient_no_evaluation"),
    ):
        Notice.objects.create(**row, coaching_session=due)
    with transaction.atomic(), pytest.raises(IntegrityError, match="notice_silent_event_coaching_names"):
        NoticeSilentEvent.objects.create(kind=KIND, event_key="x", event_at=timezone.now())
    for wrong in (
        {"kind": KIND},
        {"kind": KIND, "coaching_session_id": due.pk, "evaluation_id": 1},
        {"kind": KIND, "coaching_session_id": due.pk, "dispute_id": 1},
    ):
        with pytest.raises(ValueError):
            notice_create_for_event(**wrong)
    assert Notice.objects.count() == 1


@pytest.mark.django_db
def test_an_inactive_coach_leaves_a_marker_that_outlives_the_sweeps_look_back(
    owner_agent, supervisor, settings
):
    settings.QA_NOTICE_SWEEP_LOOKBACK_HOURS = 24
    settings.QA_COACHING_FOLLOW_UP_NOTICE_DAYS = 7
    supervisor.is_active = False
    supervisor.save()
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=2)
    assert notice_create_for_due_follow_ups() == 1
    day = timezone.localdate() - timedelta(days=2)
    event_at = datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
    marker = (KIND, None, None, due.pk, f"coaching-follow-up:{due.pk}", event_at)
    values = ("kind", "evaluation_id", "dispute_id", "coaching_session_id", "event_key", "event_at")
    assert list(NoticeSilentEvent.objects.values_list(*values)) == [marker]
    # Two days past its event, beyond the 24 h look-back, the marker stays while the follow-up is looked at.
    assert notice_sweep().events == 0
    assert notice_create_for_due_follow_ups() == 0
    assert list(NoticeSilentEvent.objects.values_list(*values)) == [marker]
    assert notices() == []
    # Once the follow-up day is out of the window the marker goes, and nothing asks about it again.
    assert notice_sweep(now=timezone.now() + timedelta(days=6)).events == 0
    assert not NoticeSilentEvent.objects.exists()


@pytest.mark.django_db
def test_the_sweep_tells_the_coach_when_the_daily_run_was_lost(owner_agent, supervisor):
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=1)
    assert notice_sweep().events == 1
    assert notice_sweep().events == 0
    assert notices() == [("sup", KIND, due.pk, f"coaching-follow-up:{due.pk}")]


@pytest.mark.django_db
def test_the_follow_up_notice_is_emailed_once_with_a_link_to_the_session(
    owner_agent, supervisor, settings, monkeypatch
):
    settings.QA_NOTICE_EMAIL = True
    sent = []
    monkeypatch.setattr(notice_services, "email_send", lambda **message: sent.append(message))
    supervisor.email = "sup@example.com"
    supervisor.save()
    due = session(owner_agent, supervisor, held_days_ago=14, follow_up_days_ago=0)
    notice_create_for_due_follow_ups()
    notice_create_for_due_follow_ups()
    assert len(sent) == 1
    held = (timezone.localdate() - timedelta(days=14)).isoformat()
    assert sent[0]["to"] == "sup@example.com"
    assert sent[0]["subject"] == f"QA Center: Coaching follow-up due: Olive Owner (coached on {held})."
    assert f"Open the coaching session: {settings.SITE_URL}/qa/coaching/{due.pk}/" in sent[0]["body"]
    assert Notice.objects.get().emailed_at is not None


@pytest.mark.django_db
def test_the_notices_page_and_api_link_the_session_for_the_coach(client, owner_agent, supervisor, scorecard):
    due = session(
        owner_agent,
        supervisor,
        held_days_ago=14,
        follow_up_days_ago=0,
        criteria=[criteria_by_key(scorecard)["a"]],
    )
    notice_create_for_due_follow_ups()
    client.force_login(supervisor)
    page = client.get(reverse("scoring:notices")).content.decode()
    assert f'<a href="/qa/coaching/{due.pk}/">Coaching follow-up due: Olive Owner' in page
    api = client.get("/api/notices/").json()["results"][0]
    assert (api["kind"], api["evaluation_url"], api["coaching_session_url"]) == (
        KIND,
        None,
        f"/qa/coaching/{due.pk}/",
    )


def test_the_daily_task_is_in_the_beat_schedule(settings):
    assert settings.CELERY_BEAT_SCHEDULE["scoring-coaching-follow-ups"] == {
        "task": "scoring.tasks.notice_create_for_due_follow_ups_task",
        "schedule": crontab(minute=15, hour=6),
    }
    assert "scoring.tasks.notice_create_for_due_follow_ups_task" in celery_app.tasks
