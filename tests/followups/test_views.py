"""The follow-up board and case pages: grouping, permissions (404 for foreign cases), actions, CSRF,
escaping, htmx partials."""

from datetime import timedelta

import pytest
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring.followups import services
from scoring.followups.models import FollowUpCase, Notification
from tests.factories import CustomerFactory, UserFactory
from tests.followups.conftest import make_detractor
from tests.html_a11y import page_of

pytestmark = pytest.mark.django_db
S = FollowUpCase.Status


def login(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def board_cases(supervisor, owner_agent, teammate_agent, root_cause):
    now = timezone.now()
    overdue = make_detractor(agent=owner_agent, comment="Overdue one")
    FollowUpCase.objects.filter(pk=overdue.pk).update(due_at=now - timedelta(hours=1))
    due_soon = make_detractor(agent=teammate_agent, comment="Due soon")
    FollowUpCase.objects.filter(pk=due_soon.pk).update(due_at=now + timedelta(minutes=30))
    open_case = make_detractor(agent=owner_agent, comment="Plenty of time")
    waiting = services.followup_pause(case=make_detractor(agent=teammate_agent, comment="Waiting"))
    failed = make_detractor(agent=owner_agent, comment="Failed")
    FollowUpCase.objects.filter(pk=failed.pk).update(
        status=S.FAILED, dispatch_state="failed", dispatch_error="boom"
    )
    closed = services.followup_close(
        case=make_detractor(agent=owner_agent), by=supervisor, outcome="resolved", root_cause=root_cause
    )
    return {
        "overdue": overdue,
        "due_soon": due_soon,
        "open": open_case,
        "waiting": waiting,
        "failed": failed,
        "closed": closed,
    }


@pytest.fixture
def foreign_case(outsider_agent):
    boss = UserFactory(username="othersup", roles=["supervisor"])
    outsider_agent.team.supervisors.add(boss)
    return make_detractor(agent=outsider_agent, comment="Foreign")


def board_ids(response) -> dict[str, list[int]]:
    return {g["name"]: [row.case.pk for row in g["rows"]] for g in response.context["groups"]}


def test_board_groups_the_owners_cases(client, supervisor, board_cases, foreign_case):
    response = login(client, supervisor).get(reverse("followups:board"))
    assert response.status_code == 200
    assert board_ids(response) == {
        "overdue": [board_cases["overdue"].pk],
        "due_soon": [board_cases["due_soon"].pk],
        "open": [board_cases["open"].pk],
        "waiting": [board_cases["waiting"].pk],
        "failed": [board_cases["failed"].pk],
    }
    counts = {g["name"]: g["count"] for g in response.context["groups"]}
    assert counts == {"overdue": 1, "due_soon": 1, "open": 1, "waiting": 1, "failed": 1}
    body = response.content.decode()
    assert "Overdue one" in body and "Foreign" not in body


def test_board_shows_time_left_in_sla(client, supervisor, board_cases):
    response = login(client, supervisor).get(reverse("followups:board"))
    rows = {row.case.pk: row for g in response.context["groups"] for row in g["rows"]}
    now = response.context["now"]
    soon = rows[board_cases["due_soon"].pk]
    # Round-the-clock policy: business time left is plain wall time to the stored due time.
    assert soon.time_left == FollowUpCase.objects.get(pk=board_cases["due_soon"].pk).due_at - now
    assert timedelta(minutes=29) < soon.time_left <= timedelta(minutes=30)
    overdue = rows[board_cases["overdue"].pk]
    assert overdue.is_overdue and overdue.time_left < timedelta(0)


def test_admin_sees_every_case(client, admin_user, board_cases, foreign_case):
    response = login(client, admin_user).get(reverse("followups:board"))
    assert sum(len(ids) for ids in board_ids(response).values()) == 6  # 5 of the team + the foreign one


def test_agent_sees_only_cases_about_their_own_calls(client, owner_agent, teammate_agent, board_cases):
    response = login(client, owner_agent.user).get(reverse("followups:board"))
    assert sorted(sum(board_ids(response).values(), [])) == sorted(
        [board_cases["overdue"].pk, board_cases["open"].pk, board_cases["failed"].pk]
    )
    response = login(Client(), teammate_agent.user).get(reverse("followups:board"))
    assert sorted(sum(board_ids(response).values(), [])) == sorted(
        [board_cases["due_soon"].pk, board_cases["waiting"].pk]
    )


def test_foreign_case_is_404_for_agents_and_other_supervisors(client, owner_agent, foreign_case, supervisor):
    for user in (owner_agent.user, supervisor):
        c = login(Client(), user)
        assert c.get(reverse("followups:detail", args=[foreign_case.pk])).status_code == 404
        assert c.post(reverse("followups:pause", args=[foreign_case.pk])).status_code == 404
    foreign_case.refresh_from_db()
    assert foreign_case.status == S.OPEN


def test_agent_may_read_but_not_work_a_case_about_their_call(client, owner_agent, board_cases, root_cause):
    case = board_cases["open"]
    c = login(client, owner_agent.user)
    assert c.get(reverse("followups:detail", args=[case.pk])).status_code == 200
    response = c.post(
        reverse("followups:close", args=[case.pk]), {"outcome": "resolved", "root_cause": root_cause.pk}
    )
    assert response.status_code == 403
    case.refresh_from_db()
    assert (case.status, case.outcome) == (S.OPEN, "")


def test_close_from_the_page(client, supervisor, board_cases, root_cause):
    case = board_cases["open"]
    response = login(client, supervisor).post(
        reverse("followups:close", args=[case.pk]),
        {"outcome": "explained", "root_cause": root_cause.pk, "notes": "Explained the policy."},
    )
    assert response.status_code == 302
    case.refresh_from_db()
    assert (case.status, case.outcome, case.root_cause, case.closed_by) == (
        S.CLOSED,
        "explained",
        root_cause,
        supervisor,
    )


def test_close_without_root_cause_is_refused_and_changes_nothing(client, supervisor, board_cases):
    case = board_cases["open"]
    response = login(client, supervisor).post(
        reverse("followups:close", args=[case.pk]), {"outcome": "resolved"}
    )
    assert response.status_code == 400
    assert "Root cause: This field is required." in response.content.decode()
    case.refresh_from_db()
    assert (case.status, case.outcome, case.closed_at) == (S.OPEN, "", None)


def test_pause_resume_and_log_attempt_from_the_page(client, supervisor, board_cases):
    case = board_cases["open"]
    c = login(client, supervisor)
    assert c.post(reverse("followups:pause", args=[case.pk])).status_code == 302
    case.refresh_from_db()
    assert case.status == S.WAITING
    assert c.post(reverse("followups:resume", args=[case.pk])).status_code == 302
    case.refresh_from_db()
    assert case.status == S.OPEN
    response = c.post(
        reverse("followups:attempt", args=[case.pk]),
        {"channel": "phone", "result": "left_message", "note": "VM"},
    )
    assert response.status_code == 302
    assert list(case.contact_attempts.values_list("channel", "result", "note", "by")) == [
        ("phone", "left_message", "VM", supervisor.pk)
    ]


def test_wrong_state_action_shows_a_message_not_an_error(client, supervisor, board_cases):
    case = board_cases["waiting"]
    response = login(client, supervisor).post(reverse("followups:pause", args=[case.pk]), follow=True)
    assert response.status_code == 200
    assert "Only an open case can wait on the customer." in response.content.decode()


def test_retry_failed_dispatch_from_the_page(client, supervisor, board_cases, monkeypatch):
    from scoring.followups import tasks

    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: None)
    case = board_cases["failed"]
    assert (
        login(client, supervisor).post(reverse("followups:retry-dispatch", args=[case.pk])).status_code == 302
    )
    case.refresh_from_db()
    assert (case.status, case.dispatch_state, case.dispatch_attempts) == (S.OPEN, "pending", 0)


def test_the_case_page_takes_its_styles_from_the_style_sheet(client, supervisor, board_cases):
    """The Content Security Policy refuses style attributes: the customer's score and the SLA buttons are styled
    by app.css classes."""
    case = board_cases["open"]
    page = login(client, supervisor).get(reverse("followups:detail", args=[case.pk])).content.decode()
    assert f'<span class="num big-score">{case.response.score}</span>/10' in page
    assert '<div class="actions case-actions">' in page
    assert " style=" not in page


def test_posts_need_a_csrf_token(supervisor, board_cases):
    case = board_cases["open"]
    c = Client(enforce_csrf_checks=True)
    c.force_login(supervisor)
    assert c.post(reverse("followups:pause", args=[case.pk])).status_code == 403
    case.refresh_from_db()
    assert case.status == S.OPEN
    page = c.get(reverse("followups:detail", args=[case.pk])).content.decode()
    assert page.count('name="csrfmiddlewaretoken"') >= 3  # attempt, pause, close forms (+ logout)


def test_customer_comment_is_escaped(client, supervisor, owner_agent):
    case = make_detractor(agent=owner_agent, comment='<script>alert("x")</script>')
    c = login(client, supervisor)
    for url in (reverse("followups:board"), reverse("followups:detail", args=[case.pk])):
        body = c.get(url).content.decode()
        assert '<script>alert("x")</script>' not in body
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in body


def test_htmx_refresh_returns_only_the_groups(client, supervisor, board_cases):
    response = login(client, supervisor).get(reverse("followups:board"), headers={"HX-Request": "true"})
    body = response.content.decode()
    assert response.status_code == 200
    assert "<html" not in body and "Overdue one" in body


def test_unread_notices_show_on_the_board_until_marked_read(client, supervisor, board_cases):
    case = board_cases["open"]
    Notification.objects.create(case=case, kind="assigned", recipient=supervisor, idempotency_key="k-board")
    c = login(client, supervisor)
    assert "New for you" in c.get(reverse("followups:board")).content.decode()
    assert c.post(reverse("followups:notifications-read")).status_code == 302
    assert "New for you" not in c.get(reverse("followups:board")).content.decode()
    assert Notification.objects.get(idempotency_key="k-board").read_at is not None


def test_call_page_links_to_its_follow_up(client, supervisor, board_cases):
    case = board_cases["open"]
    body = login(client, supervisor).get(reverse("calls:detail", args=[case.call_id])).content.decode()
    assert f'href="{reverse("followups:detail", args=[case.pk])}"' in body


def test_anonymous_users_are_sent_to_login(client, board_cases):
    response = client.get(reverse("followups:board"))
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_platinum_case_shows_urgent_badge(client, supervisor, owner_agent):
    make_detractor(agent=owner_agent, score=1, customer=CustomerFactory(tier="platinum"))
    body = login(client, supervisor).get(reverse("followups:board")).content.decode()
    assert "Urgent" in body


def test_an_empty_board_says_whose_cases_it_shows(client, reviewer, supervisor, board_cases):
    client.force_login(reviewer)
    empty = client.get(reverse("followups:board"))

    assert empty.context["has_cases"] is False
    assert "No follow-up for you. This board shows the cases you own or whose queue you are in;" in empty.text
    client.force_login(supervisor)
    assert client.get(reverse("followups:board")).context["has_cases"] is True


def test_close_form_errors_are_tied_to_their_controls(client, supervisor, board_cases):
    """Django points a field's control at `<id>_error`; the page's error summary is that element."""
    case = board_cases["open"]
    response = login(client, supervisor).post(reverse("followups:close", args=[case.pk]), {"notes": "x"})

    assert response.status_code == 400
    page = page_of(response)
    assert page.unresolved_references() == []
    for name, label in (("outcome", "Outcome"), ("root_cause", "Root cause")):
        control = page.one("select", name=name)
        assert control.attrs["aria-invalid"] == "true"
        assert page.description(control) == f"{label}: This field is required."
    assert "aria-invalid" not in page.one("textarea", name="notes").attrs


def test_attempt_form_errors_are_tied_to_their_controls(client, supervisor, board_cases):
    case = board_cases["open"]
    response = login(client, supervisor).post(
        reverse("followups:attempt", args=[case.pk]), {"channel": "pigeon", "result": ""}
    )

    assert response.status_code == 400
    page = page_of(response)
    assert page.unresolved_references() == []
    channel = page.one("select", name="channel")
    assert page.description(channel) == (
        "Channel: Select a valid choice. pigeon is not one of the available choices."
    )
    assert page.description(page.one("select", name="result")) == "Result: This field is required."
