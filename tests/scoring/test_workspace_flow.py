"""The reviewer workspace end to end with the Django test client: queue → workspace → htmx autosave →
running score → submit → the agent's page; draft resume, escaping, errors, self-review comparison,
dispute → adjustment → new revision."""

from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils.timezone import localtime

from scoring import services
from scoring.forms import AnswerForm
from scoring.models import Answer, Assignment, AuditEntry, Dispute, Evaluation
from tests.factories import CallFactory, TransferFactory
from tests.html_a11y import page_of
from tests.scoring.factories import (
    AssignmentFactory,
    answer,
    criteria_by_key,
    expected_score,
    submitted_evaluation,
)

HX = {"HX-Request": "true"}


@pytest.fixture
def chat_call(owner_agent):
    """A resolved chat call: the catch-all "simple" scorecard applies (voice-qa is phone-only)."""
    return CallFactory(
        external_id="CHAT-1",
        channel="chat",
        agent=owner_agent,
        is_resolved=True,
        hold_seconds=0,
        transcript="Agent: Hello, Acme support, Olive speaking.\nCustomer: My bill is wrong.",
    )


@pytest.fixture
def crit(scorecard):
    return criteria_by_key(scorecard)


@pytest.fixture
def queued(chat_call, reviewer, scorecard):
    return AssignmentFactory(call=chat_call, reviewer=reviewer)


def workspace_url(call) -> str:
    return reverse("scoring:workspace", args=[call.pk])


def running_score(response) -> str:
    match = re.search(r'data-testid="running-score">([^<]*)<', response.content.decode())
    assert match, "no running score in the response"
    return match.group(1)


def draft_of(call, author, kind=Evaluation.Kind.REVIEW) -> Evaluation:
    return Evaluation.objects.get(call=call, author=author, kind=kind, status=Evaluation.Status.DRAFT)


# --- the whole flow -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reviewer_scores_a_queued_call_and_the_agent_sees_the_score(
    client, queued, chat_call, reviewer, owner_agent, crit
):
    client.force_login(reviewer)

    queue = client.get(reverse("scoring:queue"))
    assert queue.status_code == 200
    assert queue.context["counts"]["total"] == 1
    assert workspace_url(chat_call) in queue.content.decode()

    page = client.get(workspace_url(chat_call))
    assert page.status_code == 200
    body = page.content.decode()
    assert "A?" in body and "Critical?" in body
    assert body.count("Not applicable on this call") == 1  # "unres": the call was resolved
    assert not Evaluation.objects.exists()  # opening the page writes nothing

    first = answer(client, chat_call, crit["a"], "1")
    assert first.status_code == 200
    assert 'id="score-panel"' in first.content.decode()
    assert running_score(first) == "100.00"
    assert "<strong>1</strong> of 4 answered" in first.content.decode()
    # The bar is a native <progress> (its role and values come with it): no style attribute, which the CSP refuses.
    assert re.findall(r"<progress[^>]*>", first.content.decode()) == [
        '<progress class="bar" aria-label="Criteria answered" aria-valuetext="1 of 4 answered" max="4" value="1">'
    ]
    assert " style=" not in first.content.decode() and " style=" not in body
    assert f'id="status-{crit["a"].pk}"' in first.content.decode()
    assert 'hx-swap-oob="true"' in first.content.decode()
    draft = draft_of(chat_call, reviewer)
    assert [(a.criterion.key, a.value, a.is_na) for a in draft.answers.all()] == [("a", 1, False)]

    second = answer(
        client,
        chat_call,
        crit["b"],
        "3",
        comment="Explained the fee",
        quote="Agent: the fee is…",
        offset="42",
    )
    assert running_score(second) == str(expected_score([(1, 1, 1), (3, 3, 4)]))  # 81.25
    saved_b = Answer.objects.get(evaluation=draft, criterion=crit["b"])
    assert (saved_b.value, saved_b.comment, saved_b.quote, saved_b.offset_seconds) == (
        3,
        "Explained the fee",
        "Agent: the fee is…",
        42,
    )

    answer(client, chat_call, crit["crit"], "1")
    last = answer(client, chat_call, crit["res"], "1")
    expected = expected_score([(1, 1, 1), (3, 3, 4), (2, 1, 1), (1, 1, 1)])
    assert expected == Decimal("89.29")
    assert running_score(last) == "89.29"
    assert "<strong>4</strong> of 4 answered" in last.content.decode()

    submitted = client.post(workspace_url(chat_call), {"action": "submit", "summary": "Clear & kind"})
    evaluation = Evaluation.objects.get(pk=draft.pk)
    assert submitted.status_code == 302
    assert submitted["Location"] == reverse("scoring:evaluation_detail", args=[evaluation.pk])
    assert evaluation.status == Evaluation.Status.SUBMITTED
    assert evaluation.score == expected
    assert evaluation.summary == "Clear & kind"
    assert Answer.objects.get(evaluation=evaluation, criterion=crit["unres"]).is_na is True
    assert Assignment.objects.get(pk=queued.pk).status == Assignment.Status.DONE

    client.force_login(owner_agent.user)
    mine = client.get(reverse("scoring:me"))
    assert mine.status_code == 200
    assert [e.pk for e in mine.context["reviews"]] == [evaluation.pk]
    assert mine.context["summary"]["reviews"] == 1
    assert mine.context["summary"]["average_score"] == expected
    assert f'data-testid="score-{evaluation.pk}">89.29<' in mine.content.decode()

    detail = client.get(reverse("scoring:evaluation_detail", args=[evaluation.pk]))
    assert detail.status_code == 200
    assert detail.context["can_acknowledge"] is True
    assert "Clear &amp; kind" in detail.content.decode()


@pytest.mark.django_db
def test_failing_a_critical_criterion_shows_the_auto_fail_banner_and_zero(
    client, queued, chat_call, reviewer, crit
):
    client.force_login(reviewer)
    answer(client, chat_call, crit["a"], "1")

    response = answer(client, chat_call, crit["crit"], "0")

    assert response.status_code == 200
    assert running_score(response) == "0.00"
    assert "Auto-fail" in response.content.decode()
    assert "Critical?" in response.content.decode()  # names the failed criterion


@pytest.mark.django_db
def test_na_answers_drop_out_of_the_running_score(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)
    answer(client, chat_call, crit["a"], "0")
    answer(client, chat_call, crit["crit"], "1")

    response = answer(client, chat_call, crit["b"], "na")

    assert running_score(response) == str(expected_score([(1, 0, 1), (2, 1, 1), (3, None, 4)]))  # 66.67
    assert Answer.objects.get(criterion=crit["b"]).is_na is True


# --- drafts -------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_reopening_the_workspace_resumes_the_draft(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)
    answer(client, chat_call, crit["b"], "2", comment="Partly right")

    client.logout()  # the tab is gone, so is the session
    client.force_login(reviewer)
    page = client.get(workspace_url(chat_call))

    body = page.content.decode()
    assert page.status_code == 200
    assert page.context["ws"].draft == draft_of(chat_call, reviewer)
    assert re.search(rf'name="c{crit["b"].pk}-value" value="2" checked', body)
    assert not re.search(rf'name="c{crit["b"].pk}-value" value="3" checked', body)
    assert "Partly right" in body
    assert running_score(page) == str(expected_score([(3, 2, 4)]))  # 50.00
    assert Evaluation.objects.count() == 1


@pytest.mark.django_db
def test_an_invalid_value_is_refused_and_nothing_is_saved(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)
    answer(client, chat_call, crit["a"], "1")

    response = answer(client, chat_call, crit["b"], "7")

    assert response.status_code == 422
    assert f'id="status-{crit["b"].pk}" class="save-status error"' in response.content.decode()
    assert list(draft_of(chat_call, reviewer).answers.values_list("criterion__key", flat=True)) == ["a"]
    assert running_score(response) == "100.00"


@pytest.mark.django_db
def test_na_is_refused_where_the_criterion_does_not_allow_it(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)

    response = answer(client, chat_call, crit["a"], "na")

    assert response.status_code == 422
    assert not Answer.objects.exists()


@pytest.mark.django_db
def test_a_comment_without_an_answer_asks_for_the_answer_first(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)

    response = answer(client, chat_call, crit["a"], "", comment="Greeting was rushed")

    assert response.status_code == 422
    assert "Choose an answer first" in response.content.decode()
    assert not Evaluation.objects.exists()


@pytest.mark.django_db
def test_submitting_with_unanswered_criteria_lists_them_and_keeps_the_draft(
    client, queued, chat_call, reviewer, crit
):
    client.force_login(reviewer)
    answer(client, chat_call, crit["a"], "1")

    response = client.post(workspace_url(chat_call), {"action": "submit", f"c{crit['a'].pk}-value": "1"})

    assert response.status_code == 422
    body = response.content.decode()
    assert "3 criteria are still unanswered" in body
    missing = set(re.findall(r'id="criterion-(\d+)"[^>]*class="criterion[^"]*missing', body, re.S))
    assert missing == {str(crit[k].pk) for k in ("b", "crit", "res")}
    assert draft_of(chat_call, reviewer).status == Evaluation.Status.DRAFT


@pytest.mark.django_db
def test_the_plain_form_saves_every_answer_without_javascript(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)
    data = {
        "action": "save",
        f"c{crit['a'].pk}-value": "1",
        f"c{crit['b'].pk}-value": "na",
        f"c{crit['b'].pk}-comment": "No fee question",
        f"c{crit['crit'].pk}-value": "",
    }

    response = client.post(workspace_url(chat_call), data)

    assert response.status_code == 302
    assert response["Location"] == workspace_url(chat_call)
    saved = {
        a.criterion.key: (a.value, a.is_na, a.comment) for a in draft_of(chat_call, reviewer).answers.all()
    }
    assert saved == {"a": (1, False, ""), "b": (None, True, "No fee question")}


@pytest.mark.django_db
def test_the_plain_form_submits_in_one_post(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)
    data = {
        "action": "submit",
        f"c{crit['a'].pk}-value": "0",
        f"c{crit['b'].pk}-value": "4",
        f"c{crit['crit'].pk}-value": "1",
        f"c{crit['res'].pk}-value": "1",
    }

    response = client.post(workspace_url(chat_call), data)

    evaluation = Evaluation.objects.get()
    assert response.status_code == 302
    assert evaluation.status == Evaluation.Status.SUBMITTED
    assert evaluation.score == expected_score([(1, 0, 1), (3, 4, 4), (2, 1, 1), (1, 1, 1)])  # 85.71


# --- the call on the left -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_transcript_is_escaped_and_numbered(client, reviewer, owner_agent, scorecard):
    call = CallFactory(
        channel="chat",
        agent=owner_agent,
        transcript="[00:01:05] Customer: <script>alert('x')</script> & <b>bold</b>\nAgent: Fine.",
    )
    AssignmentFactory(call=call, reviewer=reviewer)
    client.force_login(reviewer)

    body = client.get(workspace_url(call)).content.decode()

    assert "<script>alert(" not in body
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in body
    assert 'data-line="1" data-offset="65" data-stamp="00:01:05"' in body
    assert 'id="line-2"' in body


@pytest.mark.django_db
def test_workspace_shows_transfers_and_the_customers_other_contacts(client, reviewer, owner_agent, scorecard):
    call = CallFactory(channel="chat", agent=owner_agent)
    TransferFactory(call=call, sequence=1, reason="needs <tech>")
    earlier = CallFactory(channel="phone", customer=call.customer, agent=owner_agent, external_id="EARLIER-1")
    AssignmentFactory(call=call, reviewer=reviewer)
    client.force_login(reviewer)

    response = client.get(workspace_url(call))

    assert [c.pk for c in response.context["contacts"]] == [earlier.pk]
    body = response.content.decode()
    assert "EARLIER-1" in body
    assert "needs &lt;tech&gt;" in body
    assert "1 transfer" in body


@pytest.mark.django_db
def test_a_call_evaluated_before_shows_who_evaluated_it(
    client, chat_call, reviewer, owner_agent, scorecard, qa_lead
):
    first = submitted_evaluation(
        call=chat_call, author=qa_lead, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    AssignmentFactory(call=chat_call, reviewer=reviewer, purpose=Assignment.Purpose.MANUAL)
    client.force_login(reviewer)

    response = client.get(workspace_url(chat_call))

    assert [e.pk for e in response.context["previous"]] == [first.pk]
    body = response.content.decode()
    assert "This call already has 1 evaluation by" in body
    assert reverse("scoring:evaluation_detail", args=[first.pk]) in body
    assert response.context["ws"].kind == Evaluation.Kind.REVIEW


@pytest.mark.django_db
def test_a_calibration_workspace_hides_the_earlier_evaluation_blind_calibration(
    client, chat_call, reviewer, owner_agent, scorecard, qa_lead
):
    first = submitted_evaluation(
        call=chat_call, author=qa_lead, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    AssignmentFactory(call=chat_call, reviewer=reviewer, purpose=Assignment.Purpose.CALIBRATION)
    client.force_login(reviewer)

    response = client.get(workspace_url(chat_call))

    assert response.context["previous"] == []
    assert reverse("scoring:evaluation_detail", args=[first.pk]) not in response.content.decode()
    assert response.context["ws"].kind == Evaluation.Kind.CALIBRATION


# --- self-review and comparison -----------------------------------------------------------------------


@pytest.mark.django_db
def test_agent_self_reviews_and_compares_with_the_reviewer(
    client, queued, chat_call, reviewer, owner_agent, scorecard, crit, qa_lead
):
    review = submitted_evaluation(
        call=chat_call, author=reviewer, scorecard=scorecard, values={"a": 1, "b": 2, "crit": 1, "res": 1}
    )
    client.force_login(owner_agent.user)

    page = client.get(reverse("scoring:self_review", args=[chat_call.pk]))
    assert page.status_code == 200
    assert page.context["is_self"] is True
    # The self-review is the agent's own view: the reviewer's score is not shown on it.
    assert page.context["previous"] == []
    assert reverse("scoring:evaluation_detail", args=[review.pk]) not in page.content.decode()
    for key, value in {"a": "1", "b": "4", "crit": "1", "res": "0"}.items():
        assert answer(client, chat_call, crit[key], value, self_mode=True).status_code == 200
    submitted = client.post(reverse("scoring:self_review", args=[chat_call.pk]), {"action": "submit"})
    self_review = Evaluation.objects.get(kind=Evaluation.Kind.SELF_REVIEW)
    assert submitted.status_code == 302
    assert self_review.score == expected_score([(1, 1, 1), (3, 4, 4), (2, 1, 1), (1, 0, 1)])  # 85.71

    # Nor does another reviewer opening the call see the agent's self-review as an earlier evaluation.
    client.force_login(qa_lead)
    assert client.get(workspace_url(chat_call)).context["previous"] == [review]
    client.force_login(owner_agent.user)
    response = client.get(reverse("scoring:compare", args=[chat_call.pk]))

    assert response.status_code == 200
    assert response.context["review"] == review
    assert response.context["self_review"] == self_review
    differing = [row.criterion.key for s in response.context["sections"] for row in s["rows"] if row.differs]
    assert differing == ["b", "res"]
    gaps = {row.criterion.key: row.gap for s in response.context["sections"] for row in s["rows"]}
    assert gaps == {"a": 0, "b": 2, "crit": 0, "res": -1, "unres": None}
    assert response.context["score_gap"] == self_review.score - review.score
    assert review.score == expected_score([(1, 1, 1), (3, 2, 4), (2, 1, 1), (1, 1, 1)])  # 78.57
    assert 'data-testid="differences">2<' in response.content.decode()

    # One self-review per call: reopening shows the submitted one, and no second draft can start.
    again = client.get(reverse("scoring:self_review", args=[chat_call.pk]))
    assert again.status_code == 302
    assert again["Location"] == reverse("scoring:evaluation_detail", args=[self_review.pk])
    assert answer(client, chat_call, crit["a"], "0", self_mode=True).status_code == 409
    assert Evaluation.objects.filter(kind=Evaluation.Kind.SELF_REVIEW).count() == 1


@pytest.mark.django_db
def test_an_agent_cannot_self_review_someone_elses_call(client, chat_call, teammate_agent, scorecard, crit):
    client.force_login(teammate_agent.user)

    assert client.get(reverse("scoring:self_review", args=[chat_call.pk])).status_code == 404
    assert answer(client, chat_call, crit["a"], "1", self_mode=True).status_code == 404
    assert not Evaluation.objects.exists()


# --- acknowledge and dispute ---------------------------------------------------------------------------


@pytest.fixture
def review(chat_call, queued, reviewer, scorecard):
    return submitted_evaluation(
        call=chat_call, author=reviewer, scorecard=scorecard, values={"a": 1, "b": 1, "crit": 1, "res": 1}
    )


@pytest.mark.django_db
def test_the_agent_acknowledges_an_evaluation(client, review, owner_agent):
    client.force_login(owner_agent.user)

    response = client.post(reverse("scoring:evaluation_acknowledge", args=[review.pk]))

    review.refresh_from_db()
    assert response.status_code == 302
    assert review.acknowledged_at is not None
    assert AuditEntry.objects.filter(evaluation=review, action=AuditEntry.Action.ACKNOWLEDGED).count() == 1


@pytest.mark.django_db
def test_dispute_adjustment_creates_a_visible_revision(client, review, owner_agent, supervisor, crit):
    old_score = expected_score([(1, 1, 1), (3, 1, 4), (2, 1, 1), (1, 1, 1)])  # 67.86
    assert review.score == old_score
    client.force_login(owner_agent.user)
    page = client.get(reverse("scoring:evaluation_detail", args=[review.pk]))
    assert page.context["can_dispute"] is True
    deadline = review.submitted_at + timedelta(days=settings.QA_DISPUTE_WINDOW_DAYS)
    assert f"You can dispute until {localtime(deadline):%Y-%m-%d %H:%M}" in page.content.decode()
    form = client.get(reverse("scoring:dispute_open", args=[review.pk]))
    offered = [item["row"].criterion.key for s in form.context["sections"] for item in s["rows"]]
    assert offered == ["a", "b", "crit", "res"]  # "unres" does not apply to this call

    opened = client.post(
        reverse("scoring:dispute_open", args=[review.pk]),
        {f"dispute-{crit['b'].pk}": "on", f"reason-{crit['b'].pk}": "I explained every fee", "reason": ""},
    )
    assert opened.status_code == 302
    dispute = Dispute.objects.get()
    assert [(i.criterion.key, i.reason) for i in dispute.items.all()] == [("b", "I explained every fee")]

    client.force_login(supervisor)
    listing = client.get(reverse("scoring:dispute_list"))
    assert [d.pk for d in listing.context["disputes"]] == [dispute.pk]
    resolved = client.post(
        reverse("scoring:dispute_detail", args=[dispute.pk]),
        {"outcome": "adjusted", "note": "Fees were all covered", f"value-{crit['b'].pk}": "4"},
    )
    assert resolved.status_code == 302

    dispute.refresh_from_db()
    revision = dispute.revised_evaluation
    new_score = expected_score([(1, 1, 1), (3, 4, 4), (2, 1, 1), (1, 1, 1)])  # 100.00
    assert dispute.status == Dispute.Status.ADJUSTED
    assert (revision.revision, revision.score, revision.is_current) == (2, new_score, True)
    shown = client.get(reverse("scoring:dispute_detail", args=[dispute.pk])).content.decode()
    assert f'data-testid="revised-score">{new_score}<' in shown
    assert "b</code>: 1 → 4" in shown

    old_page = client.get(reverse("scoring:evaluation_detail", args=[review.pk]))
    assert "Superseded" in old_page.content.decode()
    assert [r.pk for r in old_page.context["revisions"]] == [review.pk, revision.pk]

    client.force_login(owner_agent.user)
    mine = client.get(reverse("scoring:me"))
    assert [e.pk for e in mine.context["reviews"]] == [revision.pk]
    assert mine.context["summary"]["average_score"] == new_score


@pytest.mark.django_db
def test_dispute_without_a_reason_is_refused(client, review, owner_agent, crit):
    client.force_login(owner_agent.user)

    response = client.post(
        reverse("scoring:dispute_open", args=[review.pk]), {f"dispute-{crit['b'].pk}": "on"}
    )

    assert response.status_code == 422
    assert "Say why you disagree" in response.content.decode()
    assert not Dispute.objects.exists()


@pytest.mark.django_db
def test_upholding_a_dispute_changes_no_score(client, review, owner_agent, supervisor, crit):
    dispute = services.dispute_open(
        evaluation=review, user=owner_agent.user, items={crit["a"].pk: "I did greet"}
    )
    client.force_login(supervisor)

    response = client.post(
        reverse("scoring:dispute_detail", args=[dispute.pk]),
        {"outcome": "upheld", "note": "Greeting was missing"},
    )

    dispute.refresh_from_db()
    review.refresh_from_db()
    assert response.status_code == 302
    assert dispute.status == Dispute.Status.UPHELD
    assert review.is_current is True
    assert Evaluation.objects.filter(kind=Evaluation.Kind.REVIEW).count() == 1


# --- transferred calls: choosing the leg agent ----------------------------------------------------------


@pytest.mark.django_db
def test_reviewer_can_score_the_agent_of_another_leg_assigned_to_them(
    client, reviewer, owner_agent, teammate_agent, scorecard
):
    call = CallFactory(channel="chat", agent=owner_agent)
    TransferFactory(call=call, sequence=1, from_agent=owner_agent, to_agent=teammate_agent)
    AssignmentFactory(call=call, reviewer=reviewer, agent=teammate_agent)
    a = criteria_by_key(scorecard)["a"]
    client.force_login(reviewer)

    page = client.get(workspace_url(call) + f"?agent={teammate_agent.pk}")
    assert page.context["ws"].agent == teammate_agent
    response = client.post(
        reverse("scoring:workspace_answer", args=[call.pk]),
        {"criterion": a.pk, f"c{a.pk}-value": "1", "agent": teammate_agent.pk},
        headers=HX,
    )

    assert response.status_code == 200
    assert Evaluation.objects.get().agent == teammate_agent


# --- overall feedback autosave ------------------------------------------------------------------------


def summary_url(call, *, self_mode=False) -> str:
    return reverse(
        "scoring:self_review_summary" if self_mode else "scoring:workspace_summary", args=[call.pk]
    )


@pytest.mark.django_db
def test_typing_the_feedback_autosaves_it_into_the_draft(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)
    answer(client, chat_call, crit["a"], "1")

    response = client.post(summary_url(chat_call), {"summary": "Great <b>empathy</b>"}, headers=HX)

    assert response.status_code == 200
    assert 'id="summary-status"' in response.content.decode()
    assert "Feedback saved" in response.content.decode()
    assert draft_of(chat_call, reviewer).summary == "Great <b>empathy</b>"
    page = client.get(workspace_url(chat_call)).content.decode()
    assert "Great &lt;b&gt;empathy&lt;/b&gt;</textarea>" in page


@pytest.mark.django_db
def test_feedback_typed_before_any_answer_starts_the_draft(client, queued, chat_call, reviewer):
    client.force_login(reviewer)

    empty = client.post(summary_url(chat_call), {"summary": ""}, headers=HX)
    assert empty.status_code == 200
    assert not Evaluation.objects.exists()

    client.post(summary_url(chat_call), {"summary": "Start with the greeting"}, headers=HX)

    draft = draft_of(chat_call, reviewer)
    assert (draft.summary, draft.answers.count()) == ("Start with the greeting", 0)


@pytest.mark.django_db
def test_feedback_autosave_refuses_strangers_and_too_long_text(
    client, queued, chat_call, reviewer, teammate_agent, crit
):
    client.force_login(teammate_agent.user)
    assert client.post(summary_url(chat_call), {"summary": "x"}, headers=HX).status_code in (403, 404)

    client.force_login(reviewer)
    too_long = client.post(summary_url(chat_call), {"summary": "x" * 10001}, headers=HX)

    assert too_long.status_code == 422
    assert "at most 10000 characters" in too_long.content.decode()
    assert not Evaluation.objects.exists()


@pytest.mark.django_db
def test_the_plain_form_save_keeps_the_feedback(client, queued, chat_call, reviewer, crit):
    client.force_login(reviewer)

    client.post(workspace_url(chat_call), {"action": "save", "summary": "Slow down at the close"})

    assert draft_of(chat_call, reviewer).summary == "Slow down at the close"


@pytest.mark.django_db
def test_an_agent_autosaves_the_feedback_of_a_self_review(client, chat_call, owner_agent, scorecard):
    client.force_login(owner_agent.user)

    response = client.post(summary_url(chat_call, self_mode=True), {"summary": "I rushed it"}, headers=HX)

    assert response.status_code == 200
    assert draft_of(chat_call, owner_agent.user, Evaluation.Kind.SELF_REVIEW).summary == "I rushed it"


@pytest.mark.django_db
def test_plain_form_errors_are_tied_to_the_criterion_and_the_summary(
    client, queued, chat_call, reviewer, crit
):
    client.force_login(reviewer)
    data = {
        "action": "save",
        f"c{crit['a'].pk}-value": "1",
        f"c{crit['b'].pk}-value": "7",
        "summary": "s" * 10001,
    }

    response = client.post(workspace_url(chat_call), data)

    assert response.status_code == 422
    page = page_of(response)
    assert page.unresolved_references() == []
    refused = AnswerForm({f"c{crit['b'].pk}-value": "7"}, criterion=crit["b"], applies=True)
    expected = [message for messages in refused.errors.values() for message in messages]
    assert expected == ["Select a valid choice. 7 is not one of the available choices."]
    wrong = page.one("fieldset", id=f"criterion-{crit['b'].pk}")
    assert page.description(wrong) == " ".join(expected)
    radios = page.find_all("input", name=f"c{crit['b'].pk}-value")
    assert [r.attrs["value"] for r in radios] == ["0", "1", "2", "3", "4", "na"]
    assert all(r.attrs.get("aria-invalid") == "true" for r in radios)
    assert all(page.description(r) == " ".join(expected) for r in radios)
    # The status line is named whatever it says, so an error shown later by htmx is tied to the group too.
    fine = page.one("fieldset", id=f"criterion-{crit['a'].pk}")
    assert page.description(fine) == "Saved"
    assert all("aria-invalid" not in r.attrs for r in page.find_all("input", name=f"c{crit['a'].pk}-value"))
    summary = page.one("textarea", name="summary")
    assert summary.attrs["aria-invalid"] == "true"
    assert summary.attrs["aria-describedby"] == "summary-status id_summary_error"
    assert (
        page.by_id("id_summary_error").text
        == "Ensure this value has at most 10000 characters (it has 10001)."
    )


# --- an autosave's error state on the answer buttons (htmx) ------------------------------------------------


def answer_buttons(response, criterion):
    """The criterion's radio buttons as the autosave response re-renders them (out of band), and the page."""
    page = page_of(response)
    group = page.one("div", id=f"answers-{criterion.pk}")
    assert (group.attrs["hx-swap-oob"], group.attrs["data-aria-sync"], group.attrs["role"]) == (
        "true",
        "",
        "radiogroup",
    )
    return page, page.find_all("input", name=f"c{criterion.pk}-value")


@pytest.mark.django_db
def test_a_refused_autosave_ties_the_error_to_the_buttons_and_the_next_save_unties_it(
    client, queued, chat_call, reviewer, crit
):
    client.force_login(reviewer)
    b = crit["b"].pk

    refused = answer(client, chat_call, crit["b"], "7")

    assert refused.status_code == 422
    page, radios = answer_buttons(refused, crit["b"])
    assert page.unresolved_references() == []
    assert [(r.attrs["id"], r.attrs["value"]) for r in radios] == [
        (f"c{b}-value-0", "0"),
        (f"c{b}-value-1", "1"),
        (f"c{b}-value-2", "2"),
        (f"c{b}-value-3", "3"),
        (f"c{b}-value-4", "4"),
        (f"c{b}-value-na", "na"),
    ]
    for radio in radios:
        assert radio.attrs["aria-invalid"] == "true"
        assert radio.attrs["aria-describedby"] == f"status-{b}"
        assert page.description(radio) == "Select a valid choice. 7 is not one of the available choices."
    assert page.by_id(f"status-{b}").attrs["class"] == "save-status error"

    saved = answer(client, chat_call, crit["b"], "3")

    assert saved.status_code == 200
    page, radios = answer_buttons(saved, crit["b"])
    assert page.unresolved_references() == []
    assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == ["3"]
    assert all("aria-invalid" not in r.attrs and "aria-describedby" not in r.attrs for r in radios)
    assert re.fullmatch(r"Saved \d\d:\d\d:\d\d", page.by_id(f"status-{b}").text)


@pytest.mark.django_db
def test_a_comment_before_the_answer_marks_the_buttons_until_an_answer_is_saved(
    client, queued, chat_call, reviewer, crit
):
    client.force_login(reviewer)

    refused = answer(client, chat_call, crit["a"], "", comment="Rushed")

    assert refused.status_code == 422
    page, radios = answer_buttons(refused, crit["a"])
    assert page.unresolved_references() == []
    assert [r.attrs["value"] for r in radios] == ["1", "0"]
    assert [r.attrs["aria-invalid"] for r in radios] == ["true", "true"]
    assert [page.description(r) for r in radios] == [
        "Choose an answer first: a comment is saved with its answer."
    ] * 2
    # The other criteria are not part of the answer: nothing of theirs is re-rendered.
    assert page.find_all("input", name=f"c{crit['b'].pk}-value") == []

    saved = answer(client, chat_call, crit["a"], "0", comment="Rushed")

    assert saved.status_code == 200
    page, radios = answer_buttons(saved, crit["a"])
    assert [(r.attrs["value"], "checked" in r.attrs) for r in radios] == [("1", False), ("0", True)]
    assert all("aria-invalid" not in r.attrs and "aria-describedby" not in r.attrs for r in radios)
    assert Answer.objects.get(criterion=crit["a"]).comment == "Rushed"


@pytest.mark.django_db
def test_a_draft_locked_meanwhile_ties_the_services_refusal_to_the_buttons(
    client, queued, chat_call, reviewer, crit, monkeypatch
):
    """The draft submitted from another tab between the page's read and the service's lock: the service's
    ValidationError (not the form's) is the message the buttons name."""
    client.force_login(reviewer)
    answer(client, chat_call, crit["a"], "1")

    def submitted_meanwhile(**kwargs):
        raise ValidationError("This evaluation is already submitted and can no longer be changed.")

    monkeypatch.setattr(services, "evaluation_answer", submitted_meanwhile)
    refused = answer(client, chat_call, crit["a"], "0")

    assert refused.status_code == 422
    page, radios = answer_buttons(refused, crit["a"])
    assert page.unresolved_references() == []
    assert [page.description(r) for r in radios] == [
        "This evaluation is already submitted and can no longer be changed."
    ] * 2
    assert all(r.attrs["aria-invalid"] == "true" for r in radios)
    # The buttons show what is saved (Yes), not the refused No.
    assert [r.attrs["value"] for r in radios if "checked" in r.attrs] == ["1"]
