"""End to end in headless Chromium: a reviewer scores a queued call with the keyboard only, submits,
and the agent finds the score on their own page."""

import pytest
from playwright.sync_api import expect

from scoring.models import Evaluation
from tests.browser.helpers import AxeSweep, chat_call_to_review, login
from tests.factories import UserFactory
from tests.scoring.factories import expected_score, simple_scorecard

TRANSCRIPT = """[00:00:02] Agent: Thanks for calling Acme, this is Kim. How can I help?
[00:00:07] Customer: My invoice shows a <b>late fee</b> I never agreed to & I'm annoyed.
[00:00:15] Agent: I'm sorry about that. Let me check your account.
[00:01:10] Agent: The fee came from a payment that bounced; I've waived it as a courtesy.
[00:01:18] Customer: Great, thank you.
[00:01:20] Agent: Is there anything else I can help you with today?"""


QUOTED = "[00:01:10] Agent: The fee came from a payment that bounced; I've waived it as a courtesy."


@pytest.mark.browser
# No serialized_rollback: reloading the seeded, published scorecard row by row trips the frozen-scorecard
# triggers (tests/conftest.py replays the data migrations for transactional tests instead).
@pytest.mark.django_db(transaction=True)
def test_reviewer_scores_a_call_with_the_keyboard_and_the_agent_sees_it(page, live_server):
    agent_user = UserFactory(username="kim-agent", first_name="Kim", last_name="Lee", roles=["agent"])
    # A chat call: the catch-all "simple" scorecard applies (the seeded voice-qa one is phone-only).
    # Criteria in order: a (yes/no ×1), b (0–4 ×3, N/A ok), crit (yes/no ×2, critical),
    # res (yes/no ×1, resolved calls only), unres (unresolved calls only: not applicable here).
    simple_scorecard(family="keyboard")
    call = chat_call_to_review(
        team="Billing Keys",
        code="A-KIM",
        agent_name="Kim Lee",
        agent_user=agent_user,
        reviewer="rita-reviewer",
        external_id="KB-1",
        transcript=TRANSCRIPT,
    )

    login(page, live_server, "rita-reviewer")
    page.goto(f"{live_server.url}/qa/queue/")
    expect(page.get_by_test_id("queue-total")).to_have_text("1")
    page.get_by_role("link", name="KB-1").click()
    expect(page.locator("h1")).to_contain_text("Review of Kim Lee")
    score = page.get_by_test_id("running-score")
    expect(score).to_have_text("—")
    # Transcript markup arrives as text, never as elements.
    expect(page.locator(".ws-transcript b")).to_have_count(0)
    expect(page.locator("#line-2 .text")).to_contain_text("<b>late fee</b>")
    # The first unanswered criterion is current from the start.
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("A?")
    page.screenshot(path="/tmp/ws_workspace_start.png")

    page.keyboard.press("y")  # a = Yes
    expect(score).to_have_text("100.00")
    # Submitting too early asks first; declining jumps to the first unanswered criterion.
    dialogs = []

    def decline(dialog):
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.once("dialog", decline)
    page.keyboard.press("Control+Enter")
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("B?")
    assert len(dialogs) == 1 and dialogs[0].startswith("3 criteria are still unanswered.")
    assert "/review/" in page.url
    page.keyboard.press("k")
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("A?")
    page.keyboard.press("j")
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("B?")
    page.keyboard.press("3")  # b = 3 of 4
    expect(score).to_have_text(str(expected_score([(1, 1, 1), (3, 3, 4)])))  # 81.25
    # On a focused answer the arrow keys change the answer (as in any radio group), not the criterion.
    page.locator("fieldset.criterion.is-current input[value='3']").focus()
    page.keyboard.press("ArrowDown")
    expect(page.locator("fieldset.criterion.is-current input[value='4']")).to_be_checked()
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("B?")
    expect(score).to_have_text(str(expected_score([(1, 1, 1), (3, 4, 4)])))  # 100.00
    page.keyboard.press("ArrowUp")
    expect(page.locator("fieldset.criterion.is-current input[value='3']")).to_be_checked()
    expect(score).to_have_text(str(expected_score([(1, 1, 1), (3, 3, 4)])))
    page.keyboard.press("j")
    page.keyboard.press("n")  # crit = No: critical failure
    expect(score).to_have_text("0.00")
    expect(page.locator(".autofail")).to_contain_text("Critical?")
    page.keyboard.press("k")
    page.keyboard.press("a")  # b = N/A
    expect(page.locator("fieldset.criterion.is-current input[value=na]")).to_be_checked()
    # Clicking a transcript line number quotes it (with its time) into the current criterion, autosaved.
    page.locator("#line-4 button.ln").click()
    expect(page.locator("fieldset.criterion.is-current textarea[name$='-quote']")).to_have_value(QUOTED)
    expect(page.locator("fieldset.criterion.is-current .save-status")).to_contain_text("Saved")
    page.keyboard.press("j")
    page.keyboard.press("y")  # crit = Yes after all
    expect(score).to_have_text("100.00")
    expect(page.locator(".autofail")).to_have_count(0)
    page.keyboard.press("j")
    page.keyboard.press("n")  # res = No
    final = expected_score([(1, 1, 1), (3, None, 4), (2, 1, 1), (1, 0, 1)])  # 75.00
    expect(score).to_have_text(str(final))
    expect(page.locator("#score-panel .progress-text")).to_contain_text("4 of 4 answered")
    # j past the last applicable criterion stays there ("unres" does not apply and is skipped).
    page.keyboard.press("j")
    expect(page.locator("fieldset.criterion.is-current legend")).to_contain_text("Resolved only?")
    page.keyboard.press("?")
    expect(page.locator("dialog#shortcuts")).to_be_visible()
    page.screenshot(path="/tmp/ws_workspace_shortcuts.png")
    page.keyboard.press("Escape")
    expect(page.locator("dialog#shortcuts")).to_be_hidden()
    page.screenshot(path="/tmp/ws_workspace_scored.png", full_page=True)

    # The overall feedback autosaves while typing; a reload (closed tab) keeps it.
    page.locator("#id_summary").fill("Lovely greeting; check the fee <policy>")
    expect(page.locator("#summary-status")).to_contain_text("Feedback saved")
    page.reload()
    expect(page.locator("#id_summary")).to_have_value("Lovely greeting; check the fee <policy>")
    page.locator("#id_summary").focus()

    page.keyboard.press("Control+Enter")
    page.wait_for_url("**/qa/evaluations/*/")
    expect(page.get_by_test_id("evaluation-score")).to_have_text(str(final))
    evaluation = Evaluation.objects.get(call=call)
    assert (evaluation.status, evaluation.score) == (Evaluation.Status.SUBMITTED, final)
    assert evaluation.summary == "Lovely greeting; check the fee <policy>"
    quoted = evaluation.answers.get(criterion__key="b")
    assert (quoted.is_na, quoted.quote, quoted.offset_seconds) == (True, QUOTED, 70)

    login(page, live_server, "kim-agent")
    page.goto(f"{live_server.url}/qa/me/")
    expect(page.get_by_test_id(f"score-{evaluation.pk}")).to_have_text(str(final))
    expect(page.get_by_test_id("average-score")).to_have_text(str(final))
    page.screenshot(path="/tmp/ws_agent_page.png", full_page=True)


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_failed_autosave_is_reported_on_its_criterion(page, live_server):
    simple_scorecard(family="autosave-fail")
    call = chat_call_to_review(
        team="Billing Fail",
        code="A-FAIL",
        agent_name="Fay Lee",
        reviewer="rita-fail",
        external_id="KB-F",
        transcript="Agent: hi",
    )

    login(page, live_server, "rita-fail")
    page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/")
    current = page.locator("fieldset.criterion.is-current")
    expect(current.locator("legend")).to_contain_text("A?")
    page.route("**/review/answer/", lambda route: route.fulfill(status=500, body="boom"))
    page.keyboard.press("y")
    expect(current.locator(".save-status")).to_have_text(
        "Not saved (error 500). Answer again, or reload the page."
    )
    page.unroute("**/review/answer/")
    page.keyboard.press("n")
    expect(current.locator(".save-status")).to_contain_text("Saved")


# The criterion's answer buttons as assistive technology reads them: their error state, the text their
# aria-describedby names, and a mark set on the live nodes before the save (still there: not replaced).
ANSWER_BUTTONS = """fieldset => Array.from(fieldset.querySelectorAll('input[type=radio]')).map(radio => ({
  value: radio.value,
  checked: radio.checked,
  invalid: radio.getAttribute('aria-invalid'),
  described_by: radio.getAttribute('aria-describedby'),
  description: (radio.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
    .map(id => document.getElementById(id).textContent.trim()).join(' '),
  same_node: radio.dataset.mark === 'before',
}))"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_refused_autosave_marks_the_criterions_buttons_invalid_until_an_answer_is_saved(page, live_server):
    simple_scorecard(family="aria")
    call = chat_call_to_review(
        team="Billing Aria",
        code="A-ARIA",
        agent_name="Ari Lee",
        reviewer="rita-aria",
        external_id="KB-A",
        transcript="Agent: hi",
    )

    login(page, live_server, "rita-aria")
    page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/")
    current = page.locator("fieldset.criterion.is-current")
    expect(current.locator("legend")).to_contain_text("A?")
    status_id = current.locator(".save-status").get_attribute("id")
    current.locator("input[type=radio]").evaluate_all(
        "all => all.forEach(r => { r.dataset.mark = 'before'; })"
    )

    # A comment before any answer: the autosave (on leaving the comment with Escape) is refused.
    page.keyboard.press("c")
    page.keyboard.type("Rushed greeting")
    with page.expect_response(lambda r: r.url.endswith("/review/answer/")) as refused:
        page.keyboard.press("Escape")
    assert refused.value.status == 422
    message = "Choose an answer first: a comment is saved with its answer."
    expect(current.locator(".save-status")).to_have_text(message)
    expect(current.locator("input[value='1']")).to_have_attribute("aria-invalid", "true")
    assert current.evaluate(ANSWER_BUTTONS) == [
        {"value": value, "checked": False, "invalid": "true", "described_by": status_id,
         "description": message, "same_node": True}
        for value in ("1", "0")
    ]  # fmt: skip
    sweep = AxeSweep(page, live_server.url)
    sweep.visit("review workspace after a refused autosave", None, heading="Review of Ari Lee")
    assert sweep.failures() == []

    # Answering saves the answer with the comment, and the buttons are no longer marked.
    with page.expect_response(lambda r: r.url.endswith("/review/answer/")) as saved:
        page.keyboard.press("y")
    assert saved.value.status == 200
    expect(current.locator(".save-status")).to_contain_text("Saved")
    expect(current.locator("input[value='1']")).not_to_have_attribute("aria-invalid", "true")
    assert current.evaluate(ANSWER_BUTTONS) == [
        {"value": "1", "checked": True, "invalid": None, "described_by": None, "description": "",
         "same_node": True},
        {"value": "0", "checked": False, "invalid": None, "described_by": None, "description": "",
         "same_node": True},
    ]  # fmt: skip
    sweep.visit("review workspace after the answer", None, heading="Review of Ari Lee")
    assert sweep.failures() == []
    answer = Evaluation.objects.get(call=call).answers.get(criterion__key="a")
    assert (answer.value, answer.comment) == (1, "Rushed greeting")
