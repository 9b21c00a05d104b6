"""The notices page, the nav's unread count and the notices API: a user only ever sees their own."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from scoring.models import Notice
from tests.factories import CallFactory
from tests.scoring.factories import submitted_evaluation

pytestmark = pytest.mark.django_db

VALUES = {"a": 1, "b": 4, "crit": 1, "res": 1}


@pytest.fixture
def reviews(owner_agent, scorecard, assigned_reviewer):
    """Three submitted reviews of the owner's calls, oldest first (no notices: tests make them)."""
    from django.contrib.auth.models import Permission

    assigned_reviewer.user_permissions.add(Permission.objects.get(codename="evaluate_any_call"))
    return [
        submitted_evaluation(
            call=CallFactory(agent=owner_agent, is_resolved=True, hold_seconds=0, external_id=f"C-{i}"),
            author=assigned_reviewer,
            scorecard=scorecard,
            values=VALUES,
        )
        for i in range(3)
    ]


def notice(recipient, evaluation, *, minutes_ago: int, read: bool = False) -> Notice:
    return Notice.objects.create(
        recipient=recipient,
        kind=Notice.Kind.REVIEW_SUBMITTED,
        evaluation=evaluation,
        event_key=f"evaluation:{evaluation.pk}",
        created_at=timezone.now() - timezone.timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None,
    )


def notice_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if Notice._meta.db_table in q["sql"]]


# --- page -------------------------------------------------------------------------------------------


def test_the_page_lists_only_my_notices_newest_first_with_links(client, owner_agent, teammate_agent, reviews):
    oldest = notice(owner_agent.user, reviews[0], minutes_ago=30, read=True)
    newest = notice(owner_agent.user, reviews[2], minutes_ago=1)
    middle = notice(owner_agent.user, reviews[1], minutes_ago=10)
    notice(teammate_agent.user, reviews[0], minutes_ago=5)  # someone else's: never shown
    client.force_login(owner_agent.user)
    response = client.get(reverse("scoring:notices"))
    assert response.status_code == 200
    assert [row["notice"].pk for row in response.context["rows"]] == [newest.pk, middle.pk, oldest.pk]
    assert [row["text"] for row in response.context["rows"]] == [
        "Review received: call C-2 scored 100.00.",
        "Review received: call C-1 scored 100.00.",
        "Review received: call C-0 scored 100.00.",
    ]
    body = response.content.decode()
    for evaluation in reviews:
        assert f'href="/qa/evaluations/{evaluation.pk}/"' in body
    assert body.count("Mark read</button>") == 2
    assert 'data-testid="notice-unread-count">2<' in body

    unread = client.get(reverse("scoring:notices"), {"show": "unread"})
    assert [row["notice"].pk for row in unread.context["rows"]] == [newest.pk, middle.pk]


def test_an_evaluation_i_can_no_longer_open_is_not_linked(client, supervisor, team, reviews):
    """A supervisor told of a dispute who no longer leads the agent's team: the text stays, the link goes."""
    mine = notice(supervisor, reviews[0], minutes_ago=1)
    team.supervisors.remove(supervisor)
    client.force_login(supervisor)
    response = client.get(reverse("scoring:notices"))
    assert response.context["rows"][0]["notice"].pk == mine.pk
    assert response.context["rows"][0]["notice"].can_open is False
    assert f"/qa/evaluations/{reviews[0].pk}/" not in response.content.decode()
    assert client.get(reverse("scoring:evaluation_detail", args=[reviews[0].pk])).status_code == 404


def test_the_page_asks_the_same_queries_for_one_notice_or_many(
    client, owner_agent, reviews, django_assert_num_queries
):
    notice(owner_agent.user, reviews[0], minutes_ago=3)
    client.force_login(owner_agent.user)
    # session, user, roles (groups), the agent row (evaluation visibility), paginator count, the page of
    # notices with their evaluation, call, agent and dispute joined and can_open as EXISTS, nav count.
    with django_assert_num_queries(7):
        assert client.get(reverse("scoring:notices")).status_code == 200
    for i, evaluation in enumerate(reviews[1:]):
        notice(owner_agent.user, evaluation, minutes_ago=10 + i)
    with django_assert_num_queries(7):
        assert client.get(reverse("scoring:notices")).status_code == 200


def test_the_nav_counts_unread_notices_in_one_query(client, owner_agent, reviews):
    notice(owner_agent.user, reviews[0], minutes_ago=3)
    notice(owner_agent.user, reviews[1], minutes_ago=2, read=True)
    client.force_login(owner_agent.user)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("scoring:dispute_list"))
    assert 'data-testid="notice-unread-count">1<' in response.content.decode()
    assert len(notice_queries(captured)) == 1


def test_no_badge_and_one_query_when_all_is_read(client, owner_agent, reviews):
    notice(owner_agent.user, reviews[0], minutes_ago=3, read=True)
    client.force_login(owner_agent.user)
    response = client.get(reverse("scoring:me"))
    assert "notice-unread-count" not in response.content.decode()
    assert 'id="nav-notices"' in response.content.decode()


def test_mark_read_by_post_then_htmx(client, owner_agent, reviews):
    first = notice(owner_agent.user, reviews[0], minutes_ago=3)
    second = notice(owner_agent.user, reviews[1], minutes_ago=2)
    client.force_login(owner_agent.user)
    response = client.post(reverse("scoring:notice_read", args=[first.pk]))
    assert response.status_code == 302 and response["Location"] == reverse("scoring:notices")
    assert Notice.objects.get(pk=first.pk).read_at is not None

    response = client.post(reverse("scoring:notice_read", args=[second.pk]), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert body.strip().startswith(
        f'<li id="notice-{second.pk}" class="notice-row"'
    )  # read: no "unread" class
    assert "Mark read" not in body
    assert 'id="nav-notices"' in body and 'hx-swap-oob="true"' in body
    assert "notice-unread-count" not in body  # nothing unread is left
    assert Notice.objects.get(pk=second.pk).read_at is not None


def test_mark_all_read_marks_only_mine(client, owner_agent, teammate_agent, reviews):
    mine = [notice(owner_agent.user, e, minutes_ago=i) for i, e in enumerate(reviews)]
    theirs = notice(teammate_agent.user, reviews[0], minutes_ago=1)
    client.force_login(owner_agent.user)
    response = client.post(reverse("scoring:notice_read_all"))
    assert response.status_code == 302
    assert Notice.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=False).count() == 3
    assert Notice.objects.get(pk=theirs.pk).read_at is None


def test_someone_elses_notice_is_a_404_and_stays_unread(client, owner_agent, teammate_agent, reviews):
    theirs = notice(teammate_agent.user, reviews[0], minutes_ago=1)
    client.force_login(owner_agent.user)
    assert client.post(reverse("scoring:notice_read", args=[theirs.pk])).status_code == 404
    assert Notice.objects.get(pk=theirs.pk).read_at is None


def test_marking_read_needs_post_and_a_csrf_token(owner_agent, reviews):
    mine = notice(owner_agent.user, reviews[0], minutes_ago=1)
    client = Client(enforce_csrf_checks=True)
    client.force_login(owner_agent.user)
    assert client.get(reverse("scoring:notice_read", args=[mine.pk])).status_code == 405
    assert client.post(reverse("scoring:notice_read", args=[mine.pk])).status_code == 403
    assert client.post(reverse("scoring:notice_read_all")).status_code == 403
    assert Notice.objects.get(pk=mine.pk).read_at is None


def test_the_page_needs_a_login(client):
    response = client.get(reverse("scoring:notices"))
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


# --- API --------------------------------------------------------------------------------------------


@pytest.fixture
def api(owner_agent):
    client = APIClient()
    client.force_authenticate(owner_agent.user)
    return client


def test_api_lists_my_notices_paginated(api, owner_agent, teammate_agent, reviews, settings):
    settings.QA_NOTICE_PAGE_SIZE = 2
    made = [notice(owner_agent.user, e, minutes_ago=10 - i) for i, e in enumerate(reviews)]
    made[0].read_at = timezone.now()
    made[0].save()
    notice(teammate_agent.user, reviews[0], minutes_ago=1)
    page = api.get("/api/notices/").json()
    assert page["count"] == 3
    assert [row["id"] for row in page["results"]] == [made[2].pk, made[1].pk]
    assert page["results"][0] == {
        "id": made[2].pk,
        "kind": "review_submitted",
        "text": "Review received: call C-2 scored 100.00.",
        "evaluation": reviews[2].pk,
        "dispute": None,
        "coaching_session": None,
        "call": "C-2",
        "evaluation_url": f"/qa/evaluations/{reviews[2].pk}/",
        "coaching_session_url": None,
        "progress_url": None,
        "details": {},
        "created_at": page["results"][0]["created_at"],
        "read_at": None,
        "is_read": False,
        "emailed_at": None,
    }
    assert [row["id"] for row in api.get("/api/notices/", {"page": 2}).json()["results"]] == [made[0].pk]
    unread = api.get("/api/notices/", {"unread": "true"}).json()
    assert [row["id"] for row in unread["results"]] == [made[2].pk, made[1].pk]
    assert api.get("/api/notices/", {"unread": "maybe"}).status_code == 400


def test_api_read_and_read_all(api, owner_agent, teammate_agent, reviews):
    first, second = (notice(owner_agent.user, e, minutes_ago=i) for i, e in enumerate(reviews[:2]))
    theirs = notice(teammate_agent.user, reviews[0], minutes_ago=1)
    response = api.post(f"/api/notices/{first.pk}/read")
    assert response.status_code == 200
    assert response.json()["is_read"] is True and response.json()["id"] == first.pk
    assert api.post(f"/api/notices/{theirs.pk}/read").status_code == 404
    assert api.post("/api/notices/read-all").json() == {"marked": 1}
    assert api.post("/api/notices/read-all/").json() == {"marked": 0}
    assert Notice.objects.get(pk=second.pk).read_at is not None
    assert Notice.objects.get(pk=theirs.pk).read_at is None


def test_api_needs_authentication(reviews):
    assert APIClient().get("/api/notices/").status_code == 401
    assert APIClient().post("/api/notices/read-all").status_code == 401


def test_api_list_query_count_does_not_grow(owner_agent, reviews, django_assert_num_queries):
    def fresh_client():  # a new user object each time, as each request has: nothing cached on it
        client = APIClient()
        client.force_authenticate(type(owner_agent.user).objects.get(pk=owner_agent.user.pk))
        return client

    notice(owner_agent.user, reviews[0], minutes_ago=3)
    # roles (groups), the agent row (evaluation visibility), count, the page (joined, can_open as EXISTS).
    client = fresh_client()
    with django_assert_num_queries(4):
        assert client.get("/api/notices/").status_code == 200
    for i, evaluation in enumerate(reviews[1:]):
        notice(owner_agent.user, evaluation, minutes_ago=10 + i)
    client = fresh_client()
    with django_assert_num_queries(4):
        assert client.get("/api/notices/").json()["count"] == 3


def test_schema_describes_the_notice_endpoints(db):
    schema = APIClient().get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert set(paths["/api/notices/"]) == {"get"}
    assert {p["name"] for p in paths["/api/notices/"]["get"]["parameters"]} == {"page", "unread"}
    assert set(paths["/api/notices/{id}/read"]) == {"post"}
    assert set(paths["/api/notices/read-all"]) == {"post"}
    assert "/api/notices/read-all/" not in paths and "/api/notices/{id}/read/" not in paths
    read_all = paths["/api/notices/read-all"]["post"]["responses"]["200"]["content"]["application/json"]
    assert read_all["schema"] == {"$ref": "#/components/schemas/NoticeReadAll"}
    assert "requestBody" not in paths["/api/notices/{id}/read"]["post"]


def test_admin_lists_notices_read_only(client, admin_user, owner_agent, reviews):
    notice(owner_agent.user, reviews[0], minutes_ago=1)
    client.force_login(admin_user)
    response = client.get("/admin/scoring/notice/")
    assert response.status_code == 200
    assert "Review received" in response.content.decode()
    assert client.get("/admin/scoring/notice/add/").status_code == 403


def test_a_notice_whose_email_failed_says_so_on_the_page_only(client, owner_agent, reviews):
    failed = notice(owner_agent.user, reviews[0], minutes_ago=2)
    sent = notice(owner_agent.user, reviews[1], minutes_ago=1)
    now = timezone.now()
    Notice.objects.filter(pk=failed.pk).update(email_failed_at=now, email_error="SMTP 550: b'refused'")
    Notice.objects.filter(pk=sent.pk).update(emailed_at=now, email_attempts=1)
    client.force_login(owner_agent.user)
    body = client.get(reverse("scoring:notices")).content.decode()
    assert body.count('data-testid="notice-email-failed"') == 1
    failed_row = body[body.index(f'id="notice-{failed.pk}"') :]
    assert failed_row.index("(e-mail not delivered)") < failed_row.index("</li>")
    assert "refused" not in body  # the SMTP reply is for the admin, not the recipient


def test_admin_filters_notices_by_email_outcome(client, admin_user, owner_agent, reviews):
    now = timezone.now()
    failed = notice(owner_agent.user, reviews[0], minutes_ago=3)
    retrying = notice(owner_agent.user, reviews[1], minutes_ago=2)
    sent = notice(owner_agent.user, reviews[2], minutes_ago=1)
    Notice.objects.filter(pk=failed.pk).update(
        email_failed_at=now, email_attempts=5, email_error="gave up after 5 attempts: SMTP 421"
    )
    Notice.objects.filter(pk=retrying.pk).update(
        email_attempts=2, email_retry_at=now.replace(hour=12, minute=30), email_error="SMTP unreachable"
    )
    Notice.objects.filter(pk=sent.pk).update(emailed_at=now, email_attempts=1)
    client.force_login(admin_user)
    expected = {
        "failed": [failed.pk],
        "retrying": [retrying.pk],
        "sent": [sent.pk],
        "untried": [],
        "": [sent.pk, retrying.pk, failed.pk],
    }
    for value, pks in expected.items():
        response = client.get("/admin/scoring/notice/", {"email": value} if value else {})
        assert response.status_code == 200
        assert [n.pk for n in response.context["cl"].result_list] == pks, value
    body = client.get("/admin/scoring/notice/").content.decode()
    assert "not delivered: gave up after 5 attempts: SMTP 421" in body
    assert f"retry {now:%Y-%m-%d} 12:30 (attempt 2 failed: SMTP unreachable)" in body
    assert f"sent {now:%Y-%m-%d %H:%M}" in body
