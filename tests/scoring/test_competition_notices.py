"""The end of a competition: each participant with a login is told their result (rank and score, or what they
still needed) and the winning score, once, the morning after; late runs catch up within the window."""

from __future__ import annotations

from datetime import date

import pytest
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.competitions import tasks
from scoring.competitions.selectors import competition_standings
from scoring.competitions.services import notice_create_for_finished_competitions
from scoring.models import Notice
from scoring.notices import services as notice_services
from tests.factories import AgentFactory, UserFactory
from tests.scoring.test_competitions import contest, world  # noqa: F401 — the shared June world

pytestmark = pytest.mark.django_db

JULY_1 = date(2026, 7, 1)


def told():
    return sorted(
        Notice.objects.filter(kind="competition_finished").values_list("recipient__username", "event_key")
    )


@pytest.fixture
def june(world, team):  # noqa: F811 — the fixture imported above
    newbie = world["newbie"]
    newbie.user = UserFactory(username="newbie", roles=["agent"])
    newbie.save()
    return contest(team, name="June <b>sprint</b>")


def test_each_participant_with_a_login_is_told_their_result_once(june, owner_agent, teammate_agent):
    standings = competition_standings(june, today=JULY_1)
    score = {row["agent_id"]: round(float(row["score"]), 1) for row in standings.rows}
    best, second = score[owner_agent.pk], score[teammate_agent.pk]

    assert notice_create_for_finished_competitions(today=JULY_1) == 3
    assert notice_create_for_finished_competitions(today=JULY_1) == 0  # everybody told: nothing again

    key = f"competition:{june.pk}"
    # Quiet Quinn has no login; the outsider is in another team's contest-free world.
    assert told() == [("newbie", key), ("owner", key), ("teammate", key)]
    texts = {
        n.recipient.username: notice_services.notice_text(n)
        for n in Notice.objects.select_related("recipient")
    }
    assert texts == {
        "owner": f"“June <b>sprint</b>” has ended: you won it, with {best}!",
        "teammate": f"“June <b>sprint</b>” has ended: you finished #2 of 2, with {second}; the winning score was {best}.",
        "newbie": f"“June <b>sprint</b>” has ended: you were not ranked (2 more evaluations needed); the winning score was {best}.",
    }  # fmt: skip
    assert Notice.objects.get(recipient__username="teammate").details == {
        "competition_id": june.pk,
        "name": "June <b>sprint</b>",
        "metric": "qa",
        "rank": 2,
        "ranked": 2,
        "score": second,
        "needed": None,
        "unit": "evaluations",
        "winning_score": best,
        "winners": 1,
    }


def test_only_finished_contests_within_the_window_and_never_cancelled_ones(june, admin_user, settings):
    settings.QA_COMPETITION_NOTICE_DAYS = 7
    assert notice_create_for_finished_competitions(today=date(2026, 6, 30)) == 0  # its last day: running
    assert notice_create_for_finished_competitions(today=date(2026, 7, 8)) == 0  # 8 days after: too old
    assert notice_create_for_finished_competitions(today=date(2026, 7, 7)) == 3  # 7 days late: caught up
    assert len(told()) == 3

    Notice.objects.all().delete()
    june.cancelled_at, june.cancelled_by = timezone.now(), admin_user
    june.save()
    assert notice_create_for_finished_competitions(today=JULY_1) == 0
    assert told() == []


def test_a_contest_nobody_was_ranked_in_says_so(team, owner_agent):
    empty = contest(team, name="Quiet week")
    notice_create_for_finished_competitions(today=JULY_1)
    notice = Notice.objects.get(recipient=owner_agent.user)
    assert (
        notice_services.notice_text(notice)
        == "“Quiet week” has ended: nobody reached the minimum to be ranked."
    )
    assert notice.details["competition_id"] == empty.pk


def test_the_database_keeps_one_per_contest_and_participant_keyed_by_the_contest(june, owner_agent):
    notice_create_for_finished_competitions(today=JULY_1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(
            recipient=owner_agent.user, kind="competition_finished", event_key=f"competition:{june.pk}"
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(
            recipient=owner_agent.user, kind="competition_finished", event_key=f"contest:{june.pk}"
        )


def test_the_notice_links_the_standings_escaped_and_is_emailed_once(
    client, june, owner_agent, settings, monkeypatch
):
    settings.QA_NOTICE_EMAIL = True
    sent = []
    monkeypatch.setattr(notice_services, "email_send", lambda **message: sent.append(message))
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()

    notice_create_for_finished_competitions(today=JULY_1)
    notice_create_for_finished_competitions(today=JULY_1)
    client.force_login(owner_agent.user)
    page = client.get("/qa/notices/").content.decode()

    assert [(m["to"], m["subject"]) for m in sent] == [
        ("olive@example.com", "QA Center: “June <b>sprint</b>” has ended")
    ]
    assert f"{settings.SITE_URL}/analytics/competitions/{june.pk}/" in sent[0]["body"]
    assert f'href="/analytics/competitions/{june.pk}/" data-testid="notice-competition"' in page
    assert "June &lt;b&gt;sprint&lt;/b&gt;" in page and "<b>sprint" not in page
    assert client.get(f"/analytics/competitions/{june.pk}/").status_code == 200


def test_the_task_runs_daily_and_calls_the_service(june, monkeypatch):
    entry = settings.CELERY_BEAT_SCHEDULE["competitions-finished-notices"]
    assert entry["task"] == tasks.notice_create_for_finished_competitions_task.name
    assert (entry["schedule"].hour, entry["schedule"].minute) == ({7}, {10})
    monkeypatch.setattr(tasks, "notice_create_for_finished_competitions", lambda: 42)
    assert tasks.notice_create_for_finished_competitions_task() == 42


def test_a_contest_is_told_once_as_it_stood_and_a_later_run_costs_one_query(
    june, team, django_assert_num_queries
):
    assert notice_create_for_finished_competitions(today=JULY_1) == 3
    # Someone who joins the team afterwards was not in the contest: the next mornings tell nobody.
    AgentFactory(employee_code="A-LATE", team=team, user=UserFactory(username="late", roles=["agent"]))
    with django_assert_num_queries(1):  # the contests that ended in the window and told nobody yet: none
        assert notice_create_for_finished_competitions(today=date(2026, 7, 2)) == 0
    assert [username for username, _ in told()] == ["newbie", "owner", "teammate"]
