"""Shout-outs (scoring.shoutouts): who may give one, the agent's notice written with it, and where it shows."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.urls import reverse

from scoring.models import Notice, ShoutOut
from scoring.notices import services as notice_services
from scoring.notices.services import notice_sweep
from scoring.shoutouts.services import shout_out_create
from tests.analytics.helpers import make_evaluation
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.scoring.factories import criteria_by_key

pytestmark = pytest.mark.django_db


@pytest.fixture
def card(scorecard):
    return {"scorecard": scorecard, "criteria": criteria_by_key(scorecard)}


def test_a_supervisor_praises_their_agent_and_only_the_agent_is_told_at_once(owner_agent, supervisor, card):
    supervisor.first_name, supervisor.last_name = "Sue", "Pervisor"
    supervisor.save()
    review = make_evaluation(card, call=CallFactory(agent=owner_agent, external_id="C-GOOD"), score=95)

    shout_out = shout_out_create(
        author=supervisor,
        agent=owner_agent,
        message="  Calm and kind with an angry customer. ",
        evaluation=review,
    )

    assert (shout_out.agent, shout_out.author, shout_out.message, shout_out.evaluation) == (
        owner_agent,
        supervisor,
        "Calm and kind with an angry customer.",
        review,
    )
    notice = Notice.objects.get()  # written in the same transaction: no task, nothing to lose
    assert (notice.recipient, notice.kind, notice.event_key, notice.evaluation, notice.details) == (
        owner_agent.user,
        "shout_out",
        f"shout-out:{shout_out.pk}",
        None,
        {"message": "Calm and kind with an angry customer.", "author": "Sue Pervisor", "call": "C-GOOD"},
    )
    assert notice.created_at == shout_out.created_at
    assert notice_services.notice_text(notice) == (
        "Shout-out from Sue Pervisor for call C-GOOD: “Calm and kind with an angry customer.”"
    )


def test_only_the_teams_supervisor_or_an_admin_gives_one_and_never_to_themselves(
    owner_agent, outsider_agent, supervisor, reviewer, teammate_agent, admin_user, team
):
    for author, agent in (
        (supervisor, outsider_agent),  # another team's agent
        (reviewer, owner_agent),
        (teammate_agent.user, owner_agent),
    ):
        with pytest.raises(PermissionDenied):
            shout_out_create(author=author, agent=agent, message="Nice")
    lead_agent = AgentFactory(employee_code="A-LEAD", team=team, user=supervisor)
    with pytest.raises(PermissionDenied):
        shout_out_create(author=supervisor, agent=lead_agent, message="Well done me")
    shout_out_create(author=admin_user, agent=outsider_agent, message="Thanks!")
    assert list(ShoutOut.objects.values_list("agent__employee_code", "message")) == [("A-OUT", "Thanks!")]


def test_bad_input_names_its_field_and_writes_nothing(owner_agent, teammate_agent, supervisor, card):
    others = make_evaluation(card, call=CallFactory(agent=teammate_agent), score=80)
    draft = make_evaluation(card, call=CallFactory(agent=owner_agent), score=80, status="draft")
    cases = [
        ({"message": "   "}, {"message": ["Say what was good."]}),
        ({"message": "x" * 501}, {"message": ["At most 500 characters (501 given)."]}),
        ({"message": "Good", "evaluation": others}, {"evaluation": ["Only one of the agent's current submitted reviews."]}),
        ({"message": "Good", "evaluation": draft}, {"evaluation": ["Only one of the agent's current submitted reviews."]}),
    ]  # fmt: skip
    for fields, errors in cases:
        with pytest.raises(ValidationError) as caught:
            shout_out_create(author=supervisor, agent=owner_agent, **fields)
        assert caught.value.message_dict == errors
    assert (ShoutOut.objects.count(), Notice.objects.count()) == (0, 0)


def test_an_agent_without_an_active_login_gets_no_notice_but_the_shout_out_stays(team, supervisor):
    no_login = AgentFactory(employee_code="A-NOLOG", team=team, user=None)
    gone = AgentFactory(employee_code="A-GONE", team=team, user=UserFactory(username="gone", is_active=False))
    shout_out_create(author=supervisor, agent=no_login, message="Good")
    shout_out_create(author=supervisor, agent=gone, message="Good")
    assert (ShoutOut.objects.count(), Notice.objects.count()) == (2, 0)


def test_the_database_refuses_an_empty_shout_out_and_a_notice_keyed_otherwise(owner_agent, supervisor):
    with pytest.raises(IntegrityError), transaction.atomic():
        ShoutOut.objects.create(agent=owner_agent, author=supervisor, message="")
    shout_out = ShoutOut.objects.create(agent=owner_agent, author=supervisor, message="Good")
    with pytest.raises(IntegrityError), transaction.atomic():
        Notice.objects.create(
            recipient=owner_agent.user, kind="shout_out", event_key=f"praise:{shout_out.pk}"
        )
    Notice.objects.create(recipient=owner_agent.user, kind="shout_out", event_key=f"shout-out:{shout_out.pk}")
    with pytest.raises(IntegrityError), transaction.atomic():  # one per shout-out and recipient
        Notice.objects.create(
            recipient=owner_agent.user, kind="shout_out", event_key=f"shout-out:{shout_out.pk}"
        )


def test_the_sweep_emails_the_notice_once_with_a_link_to_my_qa(
    owner_agent, supervisor, settings, monkeypatch
):
    settings.QA_NOTICE_EMAIL = True
    sent = []
    monkeypatch.setattr(notice_services, "email_send", lambda **message: sent.append(message))
    owner_agent.user.email = "olive@example.com"
    owner_agent.user.save()
    shout_out_create(author=supervisor, agent=owner_agent, message="Great <b>save</b>")

    notice_sweep()
    notice_sweep()

    assert len(sent) == 1
    assert sent[0]["to"] == "olive@example.com"
    assert sent[0]["subject"] == f"QA Center: a shout-out from {supervisor.get_username()}"
    assert "“Great <b>save</b>”" in sent[0]["body"]  # a plain-text e-mail
    assert f"{settings.SITE_URL}/qa/me/#shout-outs" in sent[0]["body"]
    assert Notice.objects.get().emailed_at is not None


# --- pages ---------------------------------------------------------------------------------------------------


def test_the_form_sends_it_and_the_agent_reads_it_escaped_on_my_qa_and_in_notices(
    client, owner_agent, supervisor
):
    client.force_login(supervisor)
    url = reverse("scoring:shout_out_create", args=[owner_agent.pk])

    page = client.get(url)
    sent = client.post(url, {"message": "Saved the <script>day</script>\nTwice."})

    assert page.status_code == 200 and "Give Olive Owner a shout-out" in page.content.decode()
    assert (sent.status_code, sent["Location"]) == (302, reverse("analytics:agent", args=[owner_agent.pk]))
    agent_page = client.get(sent["Location"]).content.decode()
    assert "Saved the &lt;script&gt;day&lt;/script&gt;<br>Twice." in agent_page
    assert 'data-testid="give-shout-out"' in agent_page

    client.force_login(owner_agent.user)
    mine = client.get(reverse("scoring:me")).content.decode()
    notices = client.get(reverse("scoring:notices")).content.decode()
    assert "Saved the &lt;script&gt;day&lt;/script&gt;<br>Twice." in mine
    assert "<script>day" not in mine and "<script>day" not in notices
    assert 'href="/qa/me/#shout-outs" data-testid="notice-shout-out"' in notices
    assert 'data-testid="give-shout-out"' not in client.get(sent["Location"]).content.decode()


def test_a_refused_form_names_the_field_with_a_422_and_writes_nothing(client, owner_agent, supervisor):
    client.force_login(supervisor)

    response = client.post(reverse("scoring:shout_out_create", args=[owner_agent.pk]), {"message": "  "})

    assert response.status_code == 422
    html = response.content.decode()
    # The form refuses a blank message itself (stripped), tied to the field for assistive technology.
    assert '<ul class="errorlist" id="id_message_error"><li>This field is required.</li></ul>' in html
    assert 'aria-describedby="id_message_helptext id_message_error" id="id_message"' in html
    assert ShoutOut.objects.count() == 0
