import pytest
from datetime import timedelta
from django.contrib.auth.models import Group
from django.utils import timezone

from scoring import services
from scoring.default_scorecard import DEFINITION
from scoring.models import Scorecard
from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory, TransferFactory, EscalationFactory
from tests.scoring.factories import AssignmentFactory, criteria_by_key

TRANSCRIPT = """[00:00:02] Agent: Thanks for calling Acme, this is Kim. How can I help?
[00:00:07] Customer: My invoice shows a <b>late fee</b> I never agreed to & I'm annoyed.
[00:00:15] Agent: I'm sorry about that. Can I have your account number and date of birth?
[00:00:25] Customer: 4411-22, 3 March 1980.
[00:00:40] Agent: Thank you. Let me put you on a short hold while I check with billing.
[00:01:10] Agent: The fee came from a payment that bounced; I've waived it as a courtesy.
[00:01:18] Customer: Great, thank you.
[00:01:20] Agent: You'll see the credit within two days. Is there anything else I can help you with today?
[00:01:24] Customer: No, that's all."""


def login(page, live_server, username):
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", "pw")
    page.click("button[type=submit]")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_screens(page, live_server):
    page.set_viewport_size({"width": 1440, "height": 900})
    for name in ("agent", "reviewer", "supervisor", "admin"):
        Group.objects.get_or_create(name=name)
    card = Scorecard.objects.filter(family="voice-qa", status="published").first()
    if card is None:
        card = services.scorecard_create_from_definition(definition=DEFINITION)
    team = TeamFactory(name="Billing East")
    sup = UserFactory(username="sup", first_name="Sam", last_name="Super", roles=["supervisor"])
    team.supervisors.add(sup)
    agent_user = UserFactory(username="kim", first_name="Kim", last_name="Lee", roles=["agent"])
    agent = AgentFactory(employee_code="A-KIM", name="Kim Lee", team=team, user=agent_user)
    other = AgentFactory(employee_code="A-JO", name="Jo Park", team=team)
    rev = UserFactory(username="rita", first_name="Rita", last_name="Reviewer", roles=["reviewer"])
    lead = UserFactory(username="lead", roles=["admin"], is_superuser=True, is_staff=True)
    now = timezone.now()
    call = CallFactory(external_id="C-100231", channel="phone", agent=agent, transcript=TRANSCRIPT, hold_seconds=30,
                       started_at=now - timedelta(days=3))
    TransferFactory(call=call, sequence=1, from_agent=agent, to_agent=other, reason="billing specialist")
    EscalationFactory(call=call)
    CallFactory(external_id="C-099812", channel="chat", agent=other, customer=call.customer, started_at=now - timedelta(days=9), is_resolved=False)
    AssignmentFactory(call=call, reviewer=rev)
    for i in range(3):
        c = CallFactory(agent=agent, channel="phone", started_at=now - timedelta(days=4 + i), is_resolved=bool(i % 2), talk_seconds=200 + 300 * i)
        AssignmentFactory(call=c, reviewer=rev, purpose="weekly_sample", period=(now - timedelta(days=7)).date() - timedelta(days=(now - timedelta(days=7)).weekday()), note="Weekly sample (weight 2)")
    done = CallFactory(external_id="C-100100", channel="phone", agent=agent, transcript=TRANSCRIPT, started_at=now - timedelta(days=5))
    AssignmentFactory(call=done, reviewer=rev)
    crit = criteria_by_key(card)
    ev = services.evaluation_start(call=done, author=rev)
    values = {"greeting_brand": 1, "greeting_own_name": 1, "greeting_offer_help": 1, "identity_verified": 1, "history_used": None,
              "empathy": 1, "script_common_sense": 2, "accurate_resolution": 3, "closing_summary": 1, "closing_confirms_resolution": 0,
              "closing_anything_else": 1, "closing_thanks": 1, "compliance": 1}
    for key, v in values.items():
        services.evaluation_answer(evaluation=ev, author=rev, criterion=crit[key], value=v, is_na=v is None,
                                   comment="Didn't check the fix worked <i>before</i> closing" if key == "closing_confirms_resolution" else "",
                                   quote="[00:01:20] Agent: You'll see the credit within two days." if key == "closing_confirms_resolution" else "")
    ev = services.evaluation_submit(evaluation=ev, author=rev, summary="Warm and accurate; confirm the fix before closing.")
    selfev = services.self_evaluation_start(call=done, user=agent_user)
    for key, v in values.items():
        v2 = {"closing_confirms_resolution": 1, "empathy": 2}.get(key, v)
        services.evaluation_answer(evaluation=selfev, author=agent_user, criterion=crit[key], value=v2, is_na=v2 is None)
    services.self_evaluation_submit(evaluation=selfev, user=agent_user)
    d = services.dispute_open(evaluation=ev, user=agent_user, items={crit["closing_confirms_resolution"].pk: "I asked 'does that sort it out?' at 1:18"})
    services.dispute_resolve(dispute=d, user=sup, outcome="adjusted", note="Confirmed at 1:18 in the recording", new_answers={crit["closing_confirms_resolution"].pk: 1})

    login(page, live_server, "rita")
    page.goto(f"{live_server.url}/qa/queue/")
    page.screenshot(path="/tmp/s_queue.png", full_page=True)
    page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/")
    page.keyboard.press("y"); page.keyboard.press("j"); page.keyboard.press("y"); page.keyboard.press("j"); page.keyboard.press("n")
    page.wait_for_timeout(600)
    page.keyboard.press("j"); page.keyboard.press("j"); page.keyboard.press("c")
    page.keyboard.type("Asked for DOB — fine, but no second factor.")
    page.keyboard.press("Escape")
    page.wait_for_timeout(600)
    page.screenshot(path="/tmp/s_workspace.png")
    page.evaluate("window.scrollTo(0, 900)")
    page.wait_for_timeout(300)
    page.screenshot(path="/tmp/s_workspace_scrolled.png")
    page.goto(f"{live_server.url}/qa/evaluations/{ev.pk}/")
    page.screenshot(path="/tmp/s_eval_old.png", full_page=True)
    page.goto(f"{live_server.url}/qa/disputes/{d.pk}/")
    page.screenshot(path="/tmp/s_dispute.png", full_page=True)
    login(page, live_server, "kim")
    page.goto(f"{live_server.url}/qa/calls/{done.pk}/compare/")
    page.screenshot(path="/tmp/s_compare.png", full_page=True)
    page.goto(f"{live_server.url}/qa/me/")
    page.screenshot(path="/tmp/s_me.png", full_page=True)
    page.goto(f"{live_server.url}/calls/{done.pk}/")
    page.screenshot(path="/tmp/s_calldetail.png", full_page=True)
    login(page, live_server, "lead")
    page.goto(f"{live_server.url}/qa/scorecards/")
    page.screenshot(path="/tmp/s_scorecards.png", full_page=True)
    page.goto(f"{live_server.url}/qa/scorecards/{card.pk}/")
    page.click("text=Make a new version")
    page.wait_for_timeout(500)
    page.screenshot(path="/tmp/s_scorecard_draft.png", full_page=True)
    login(page, live_server, "sup")
    page.goto(f"{live_server.url}/qa/assign/")
    page.screenshot(path="/tmp/s_assign.png", full_page=True)
