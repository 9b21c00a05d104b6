"""Auto-check suggestions in the reviewer workspace: shown with their evidence (escaped), accepted through the
ordinary autosave, never on a self-review, opening/closing rules per leg, and no extra query."""

from __future__ import annotations

import pytest
from django.urls import reverse

from scoring import services
from scoring.models import Answer, Evaluation
from tests.factories import AgentFactory, CallFactory, TransferFactory
from tests.html_a11y import page_of
from tests.scoring.factories import AssignmentFactory, answer, criteria_by_key

HX = {"HX-Request": "true"}

AUTO_DEFINITION = {
    "family": "auto",
    "name": "Auto",
    "channels": [],
    "sections": [
        {
            "title": "Greeting",
            "criteria": [
                {
                    "key": "greet",
                    "question": "Greeted with the brand?",
                    "auto_phrases": ["thank you for calling", "Northwind"],
                    "auto_scope": "opening",
                },
                {
                    "key": "thanks",
                    "question": "Wished a good day?",
                    "auto_phrases": ["have a great day"],
                    "auto_scope": "closing",
                },
                {"key": "sorry", "question": "Apologised?", "auto_phrases": ["sorry"]},
                {"key": "pts", "question": "Points?", "scale": "points", "max_points": 2},
                {
                    "key": "res",
                    "question": "Anything else (resolved only)?",
                    "applicability": "resolved",
                    "auto_phrases": ["anything else"],
                },
            ],
        }
    ],
}

EVIDENCE = """Thank you for calling Northwind, I'm <script>alert("x")</script> 'Olive' & co."""
TRANSCRIPT = "\n".join(
    [
        f"Agent: {EVIDENCE}",
        "Customer: Sorry, have a great day. Anything else?",
        "Agent: Let me check.",
        "Agent: Done.",
        "Agent: Bye.",
    ]
)


@pytest.fixture
def auto_scorecard(db):
    return services.scorecard_create_from_definition(definition=AUTO_DEFINITION)


@pytest.fixture
def crit(auto_scorecard):
    return criteria_by_key(auto_scorecard)


@pytest.fixture
def call(owner_agent, auto_scorecard):
    # Unresolved: "res" does not apply, so it gets no suggestion whatever the transcript says.
    return CallFactory(
        channel="chat", agent=owner_agent, is_resolved=False, hold_seconds=0, transcript=TRANSCRIPT
    )


@pytest.fixture
def queued(call, reviewer):
    return AssignmentFactory(call=call, reviewer=reviewer)


def workspace_url(call) -> str:
    return reverse("scoring:workspace", args=[call.pk])


def hints(page) -> dict[str, str]:
    return {e.attrs["id"]: e.text for e in page.find_all("div") if e.attrs.get("data-testid") == "autocheck"}


@pytest.mark.django_db
def test_workspace_shows_each_suggestion_with_its_evidence_line(client, queued, reviewer, crit):
    client.force_login(reviewer)

    response = client.get(workspace_url(queued.call))

    page = page_of(response)
    assert hints(page) == {
        f"autocheck-{crit['greet'].pk}": f"Auto-check suggests Yes — line 1: “{EVIDENCE}”. Use suggestion u",
        f"autocheck-{crit['thanks'].pk}": (
            "Auto-check suggests No — none of the phrases was said in the closing. Use suggestion u"
        ),
        f"autocheck-{crit['sorry'].pk}": (
            "Auto-check suggests No — none of the phrases was said by the agent. Use suggestion u"
        ),
    }
    assert page.one("a", href="#line-1").text == "line 1"
    assert page.by_id("line-1").attrs["class"] == "line agent"
    buttons = {b.attrs["data-value"]: b.attrs["data-quote"] for b in page.find_all("button", type="button")
               if "use-suggestion" in b.attrs.get("class", "")}  # fmt: skip
    assert buttons == {"1": EVIDENCE, "0": ""}
    # Hidden until scoring.js shows it: without JavaScript the button could not do anything.
    assert all(
        "hidden" in b.attrs for b in page.find_all("button") if "use-suggestion" in b.attrs.get("class", "")
    )


@pytest.mark.django_db
def test_transcript_text_in_a_suggestion_is_escaped(client, queued, reviewer):
    client.force_login(reviewer)

    body = client.get(workspace_url(queued.call)).content.decode()

    assert "<script>alert(" not in body
    escaped = "Thank you for calling Northwind, I&#x27;m &lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &#x27;Olive&#x27; &amp; co."
    assert f'<q class="evidence">{escaped}</q>' in body
    assert f'data-quote="{escaped}"' in body


@pytest.mark.django_db
def test_using_the_suggestion_saves_exactly_its_answer_and_quote_and_the_hint_agrees(
    client, queued, reviewer, crit
):
    client.force_login(reviewer)
    page = page_of(client.get(workspace_url(queued.call)))
    button = next(b for b in page.find_all("button") if b.attrs.get("data-value") == "1")

    response = answer(
        client, queued.call, crit["greet"], button.attrs["data-value"], quote=button.attrs["data-quote"]
    )

    assert response.status_code == 200
    saved = Answer.objects.get(criterion=crit["greet"])
    assert (saved.value, saved.is_na, saved.quote, saved.comment, saved.offset_seconds) == (
        1,
        False,
        EVIDENCE,
        "",
        None,
    )
    assert Answer.objects.count() == 1
    hint = page_of(response).by_id(f"autocheck-{crit['greet'].pk}")
    assert hint.attrs["hx-swap-oob"] == "true"
    assert hint.text == f"Auto-check suggests Yes — line 1: “{EVIDENCE}”. Your answer agrees."
    assert "agrees" in hint.attrs["class"]

    differing = answer(client, queued.call, crit["greet"], "0")

    hint = page_of(differing).by_id(f"autocheck-{crit['greet'].pk}")
    assert (
        hint.text == f"Auto-check suggests Yes — line 1: “{EVIDENCE}”. Your answer differs. Use suggestion u"
    )
    reopened = page_of(client.get(workspace_url(queued.call)))
    assert reopened.by_id(f"autocheck-{crit['greet'].pk}").text.endswith(
        "Your answer differs. Use suggestion u"
    )


@pytest.mark.django_db
def test_a_criterion_without_a_suggestion_gets_no_hint_in_the_autosave(client, queued, reviewer, crit):
    client.force_login(reviewer)

    response = answer(client, queued.call, crit["pts"], "2")

    assert response.status_code == 200
    assert 'data-testid="autocheck"' not in response.content.decode()


@pytest.mark.django_db
def test_the_self_review_shows_no_suggestion(client, call, owner_agent, crit):
    client.force_login(owner_agent.user)

    response = client.get(reverse("scoring:self_review", args=[call.pk]))
    saved = client.post(
        reverse("scoring:self_review_answer", args=[call.pk]),
        {"criterion": crit["greet"].pk, f"c{crit['greet'].pk}-value": "1"},
        headers=HX,
    )

    assert response.status_code == 200
    assert saved.status_code == 200
    for body in (response.content.decode(), saved.content.decode()):
        assert "Auto-check" not in body
        assert "use-suggestion" not in body


@pytest.mark.django_db
def test_a_calibration_review_shows_no_suggestion(client, call, reviewer):
    AssignmentFactory(call=call, reviewer=reviewer, purpose="calibration")
    client.force_login(reviewer)

    response = client.get(workspace_url(call))

    assert response.context["ws"].kind == Evaluation.Kind.CALIBRATION
    assert "Auto-check" not in response.content.decode()


@pytest.mark.django_db
def test_opening_rules_only_on_the_first_leg_and_closing_rules_only_on_the_last(
    client, call, reviewer, owner_agent, crit
):
    second = AgentFactory(name="Sam Second")
    TransferFactory(call=call, sequence=1, from_agent=owner_agent, to_agent=second)
    AssignmentFactory(call=call, reviewer=reviewer, agent=owner_agent)
    AssignmentFactory(call=call, reviewer=reviewer, agent=second)
    client.force_login(reviewer)

    first_leg = hints(page_of(client.get(f"{workspace_url(call)}?agent={owner_agent.pk}")))
    last_leg = hints(page_of(client.get(f"{workspace_url(call)}?agent={second.pk}")))

    # As sets: ids sort as text ("autocheck-10" before "autocheck-9"), so a sorted list would depend on the pks.
    assert set(first_leg) == {f"autocheck-{crit['greet'].pk}", f"autocheck-{crit['sorry'].pk}"}
    assert set(last_leg) == {f"autocheck-{crit['thanks'].pk}", f"autocheck-{crit['sorry'].pk}"}


@pytest.mark.django_db
def test_suggestions_cost_no_query(client, queued, reviewer, crit, django_assert_num_queries):
    # Measured on main before auto-check with the same page (a draft with one answer, five criteria): 19.
    client.force_login(reviewer)
    answer(client, queued.call, crit["greet"], "1")

    with django_assert_num_queries(19):
        response = client.get(workspace_url(queued.call))

    assert len(hints(page_of(response))) == 3
