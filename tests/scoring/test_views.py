"""QA web UI pages other than the workspace flow: queue (signals, counts, query bounds), manual
assignment, the agent's page, disputes list, the call page panel and the scorecard builder."""

from __future__ import annotations

import statistics
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from scoring import services
from scoring.models import Assignment, Criterion, Dispute, Evaluation, Scorecard, Section
from tests.factories import AgentFactory, CallFactory, EscalationFactory, TransferFactory, UserFactory
from tests.html_a11y import page_of
from tests.scoring.factories import AssignmentFactory, criteria_by_key, submitted_evaluation

MONDAY = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
FULL = {"a": 1, "b": 4, "crit": 1, "res": 1}


def queries_for(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


# --- queue ----------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_queue_lists_my_open_assignments_oldest_first_with_counts(client, reviewer, owner_agent):
    other_reviewer = UserFactory(username="rev2", roles=["reviewer"])
    calls = [CallFactory(agent=owner_agent, started_at=MONDAY + timedelta(hours=i)) for i in range(5)]
    mine = [
        AssignmentFactory(call=calls[0], reviewer=reviewer, purpose=Assignment.Purpose.MANUAL),
        AssignmentFactory(
            call=calls[1], reviewer=reviewer, purpose=Assignment.Purpose.WEEKLY_SAMPLE, period=MONDAY.date()
        ),
        AssignmentFactory(call=calls[2], reviewer=reviewer, purpose=Assignment.Purpose.CALIBRATION),
    ]
    AssignmentFactory(call=calls[3], reviewer=other_reviewer)
    AssignmentFactory(call=calls[4], reviewer=reviewer, status=Assignment.Status.DONE)
    client.force_login(reviewer)

    response = client.get(reverse("scoring:queue"))

    assert [a.pk for a in response.context["assignments"]] == [a.pk for a in mine]
    assert response.context["counts"] == {"total": 3, "manual": 1, "weekly_sample": 1, "calibration": 1}


@pytest.mark.django_db
def test_queue_explains_why_each_call_was_sampled(client, reviewer, owner_agent):
    # Ten calls in one week with handle times 100..1000 s: the 90th percentile is 910 s.
    calls = [
        CallFactory(agent=owner_agent, started_at=MONDAY + timedelta(hours=i), talk_seconds=100 * (i + 1))
        for i in range(10)
    ]
    p90 = statistics.quantiles([100 * (i + 1) for i in range(10)], n=10, method="inclusive")[-1]
    assert p90 == 910
    TransferFactory(call=calls[0], sequence=1)
    TransferFactory(call=calls[0], sequence=2)
    EscalationFactory(call=calls[1])
    calls[2].is_resolved = False
    calls[2].save()
    picked = [calls[0], calls[1], calls[2], calls[8], calls[9]]
    for call in picked:
        AssignmentFactory(call=call, reviewer=reviewer)
    client.force_login(reviewer)

    response = client.get(reverse("scoring:queue"))

    labels = {a.call_id: a.signals.labels for a in response.context["assignments"]}
    assert labels == {
        calls[0].pk: ["2 transfers"],
        calls[1].pk: ["Escalated"],
        calls[2].pk: ["Unresolved"],
        calls[8].pk: [],  # 900 s is not above 910 s
        calls[9].pk: ["Long handle"],  # 1000 s is
    }
    assert "Random pick" in response.content.decode()


@pytest.mark.django_db
def test_queue_query_count_does_not_grow_with_the_queue(client, reviewer, owner_agent):
    client.force_login(reviewer)
    for i in range(2):
        AssignmentFactory(
            call=CallFactory(agent=owner_agent, started_at=MONDAY + timedelta(days=i)), reviewer=reviewer
        )
    small = queries_for(client, reverse("scoring:queue"))
    for i in range(12):
        AssignmentFactory(
            call=CallFactory(agent=AgentFactory(), started_at=MONDAY + timedelta(days=7 + i)),
            reviewer=reviewer,
        )

    large = queries_for(client, reverse("scoring:queue"))

    assert large == small
    assert large <= 10


@pytest.mark.django_db
def test_agents_have_no_queue(client, owner_agent):
    client.force_login(owner_agent.user)

    assert client.get(reverse("scoring:queue")).status_code == 403


# --- manual assignment ------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_supervisor_assigns_team_calls_to_a_reviewer(
    client, supervisor, reviewer, owner_agent, outsider_agent
):
    ours = [CallFactory(agent=owner_agent, started_at=MONDAY + timedelta(hours=i)) for i in range(3)]
    foreign = CallFactory(agent=outsider_agent)
    client.force_login(supervisor)

    page = client.get(reverse("scoring:assign"))
    assert {c.pk for c in page.context["candidates"]} == {c.pk for c in ours}
    data = {"reviewer": reviewer.pk, "purpose": "manual", "note": "Coaching"}

    tampered = client.post(reverse("scoring:assign"), {**data, "calls": [ours[0].pk, foreign.pk]})
    assert tampered.status_code == 422  # a call outside the supervisor's teams is an invalid choice
    assert not Assignment.objects.exists()

    response = client.post(reverse("scoring:assign"), {**data, "calls": [ours[0].pk, ours[2].pk]})

    assert response.status_code == 302
    assigned = Assignment.objects.order_by("call_id")
    assert [(a.call_id, a.reviewer_id, a.assigned_by_id, a.note) for a in assigned] == [
        (ours[0].pk, reviewer.pk, supervisor.pk, "Coaching"),
        (ours[2].pk, reviewer.pk, supervisor.pk, "Coaching"),
    ]


@pytest.mark.django_db
def test_assigning_an_already_queued_call_reports_it_and_adds_nothing(
    client, supervisor, reviewer, owner_agent
):
    call = CallFactory(agent=owner_agent, external_id="DUP-1")
    AssignmentFactory(call=call, reviewer=reviewer)
    client.force_login(supervisor)

    response = client.post(
        reverse("scoring:assign"),
        {"reviewer": reviewer.pk, "purpose": "manual", "calls": [call.pk]},
        follow=True,
    )

    assert Assignment.objects.count() == 1
    assert "DUP-1: This agent's leg of the call is already assigned for that purpose." in [
        str(m) for m in response.context["messages"]
    ]


@pytest.mark.django_db
def test_calls_cannot_be_assigned_to_an_agent(client, supervisor, owner_agent, teammate_agent):
    call = CallFactory(agent=owner_agent)
    client.force_login(supervisor)

    response = client.post(
        reverse("scoring:assign"),
        {"reviewer": teammate_agent.user.pk, "purpose": "manual", "calls": [call.pk]},
    )

    assert response.status_code == 422
    assert not Assignment.objects.exists()


@pytest.mark.django_db
def test_reviewer_without_the_permission_cannot_open_the_assignment_page(client, reviewer):
    client.force_login(reviewer)

    assert client.get(reverse("scoring:assign")).status_code == 403


@pytest.mark.django_db
def test_reviewer_cancels_their_own_assignment(client, reviewer, owner_agent):
    assignment = AssignmentFactory(call=CallFactory(agent=owner_agent), reviewer=reviewer)
    client.force_login(reviewer)

    response = client.post(reverse("scoring:assignment_cancel", args=[assignment.pk]))

    assignment.refresh_from_db()
    assert response.status_code == 302
    assert assignment.status == Assignment.Status.CANCELLED


# --- agent page ----------------------------------------------------------------------------------------------


@pytest.fixture
def chat_calls(owner_agent, teammate_agent):
    return {
        "owner": [
            CallFactory(channel="chat", agent=owner_agent, started_at=MONDAY + timedelta(hours=i))
            for i in range(3)
        ],
        "mate": CallFactory(channel="chat", agent=teammate_agent, started_at=MONDAY),
    }


@pytest.mark.django_db
def test_my_page_shows_only_my_evaluations_and_the_exact_average(
    client, qa_lead, scorecard, chat_calls, owner_agent
):
    values = [FULL, {**FULL, "b": 2}, {**FULL, "a": 0}]
    mine = [
        submitted_evaluation(call=call, author=qa_lead, scorecard=scorecard, values=v)
        for call, v in zip(chat_calls["owner"], values, strict=True)
    ]
    submitted_evaluation(call=chat_calls["mate"], author=qa_lead, scorecard=scorecard, values=FULL)
    client.force_login(owner_agent.user)

    response = client.get(reverse("scoring:me"))

    assert {e.pk for e in response.context["reviews"]} == {e.pk for e in mine}
    scores = [e.score for e in mine]
    assert [str(s) for s in scores] == ["100.00", "78.57", "85.71"]
    assert response.context["summary"]["average_score"].quantize(scores[0]) == (sum(scores) / 3).quantize(
        scores[0]
    )
    assert response.context["summary"]["unacknowledged"] == 3
    assert response.context["summary"]["scored"] == 3
    assert 'data-testid="scored-count"' not in response.text

    # A review with every criterion N/A has no score: counted as a review, not in the average, and said so.
    Evaluation.objects.filter(pk=mine[1].pk).update(score=None)
    response = client.get(reverse("scoring:me"))
    summary = response.context["summary"]
    assert (summary["reviews"], summary["scored"]) == (3, 2)
    assert summary["average_score"].quantize(scores[0]) == ((scores[0] + scores[2]) / 2).quantize(scores[0])
    assert "over 2 scored (the others: every criterion N/A)" in response.text


@pytest.mark.django_db
def test_my_page_query_count_does_not_grow_with_evaluations(client, qa_lead, scorecard, owner_agent):
    client.force_login(owner_agent.user)
    for i in range(2):
        call = CallFactory(channel="chat", agent=owner_agent, started_at=MONDAY + timedelta(hours=i))
        submitted_evaluation(call=call, author=qa_lead, scorecard=scorecard, values=FULL)
    small = queries_for(client, reverse("scoring:me"))
    for i in range(8):
        call = CallFactory(channel="chat", agent=owner_agent, started_at=MONDAY + timedelta(days=1, hours=i))
        submitted_evaluation(call=call, author=qa_lead, scorecard=scorecard, values=FULL)

    large = queries_for(client, reverse("scoring:me"))

    assert large == small
    assert large <= 13  # 12, and the shout-outs (one query with their authors and calls)


@pytest.mark.django_db
def test_users_without_an_agent_profile_have_no_agent_page(client, reviewer):
    client.force_login(reviewer)

    assert client.get(reverse("scoring:me")).status_code == 404


@pytest.mark.django_db
def test_opening_my_own_draft_goes_back_to_the_workspace(client, reviewer, owner_agent, scorecard):
    call = CallFactory(channel="chat", agent=owner_agent)
    AssignmentFactory(call=call, reviewer=reviewer)
    draft = services.evaluation_start(call=call, author=reviewer)
    client.force_login(reviewer)

    response = client.get(reverse("scoring:evaluation_detail", args=[draft.pk]))

    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:workspace", args=[call.pk]) + f"?agent={owner_agent.pk}"


# --- disputes list ---------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_supervisor_sees_the_open_disputes_of_their_teams_only(
    client, qa_lead, scorecard, chat_calls, owner_agent, outsider_agent, supervisor
):
    ours = submitted_evaluation(call=chat_calls["owner"][0], author=qa_lead, scorecard=scorecard, values=FULL)
    foreign_call = CallFactory(channel="chat", agent=outsider_agent)
    theirs = submitted_evaluation(call=foreign_call, author=qa_lead, scorecard=scorecard, values=FULL)
    a = criteria_by_key(scorecard)["a"]
    ours_dispute = services.dispute_open(evaluation=ours, user=owner_agent.user, items={a.pk: "I did"})
    services.dispute_open(evaluation=theirs, user=outsider_agent.user, items={a.pk: "Me too"})
    client.force_login(supervisor)

    open_list = client.get(reverse("scoring:dispute_list"))
    resolved_list = client.get(reverse("scoring:dispute_list") + "?status=resolved")

    assert [d.pk for d in open_list.context["disputes"]] == [ours_dispute.pk]
    assert list(resolved_list.context["disputes"]) == []
    assert Dispute.objects.count() == 2


# --- the call page panel ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_call_page_lists_the_evaluations_of_the_call(
    client, qa_lead, scorecard, chat_calls, owner_agent, supervisor
):
    call = chat_calls["owner"][0]
    evaluation = submitted_evaluation(call=call, author=qa_lead, scorecard=scorecard, values=FULL)

    for user in (supervisor, owner_agent.user):
        client.force_login(user)
        body = client.get(reverse("calls:detail", args=[call.pk])).content.decode()
        assert "Evaluations of this call" in body
        assert reverse("scoring:evaluation_detail", args=[evaluation.pk]) in body
    assert reverse("scoring:self_review", args=[call.pk]) in body  # the owner may self-review


# --- scorecard builder ----------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_qa_lead_builds_and_publishes_a_scorecard(client, qa_lead):
    client.force_login(qa_lead)

    created = client.post(
        reverse("scoring:scorecard_create"),
        {"family": "chat-qa", "name": "Chat QA", "description": "For chats", "channels": ["chat"]},
    )
    draft = Scorecard.objects.get(family="chat-qa")
    assert created.status_code == 302
    assert (draft.version, draft.status, draft.channels) == (1, Scorecard.Status.DRAFT, ["chat"])

    client.post(reverse("scoring:section_add", args=[draft.pk]), {"title": "Tone", "description": ""})
    section = Section.objects.get(scorecard=draft)
    added = client.post(
        reverse("scoring:criterion_add", args=[draft.pk, section.pk]),
        {
            f"s{section.pk}-key": "friendly",
            f"s{section.pk}-question": "Was the agent friendly?",
            f"s{section.pk}-weight": "2",
            f"s{section.pk}-scale": "points",
            f"s{section.pk}-max_points": "3",
            f"s{section.pk}-applicability": "always",
            f"s{section.pk}-section": section.pk,
        },
    )
    assert added.status_code == 302
    criterion = Criterion.objects.get(scorecard=draft)
    assert (criterion.key, criterion.weight, criterion.scale, criterion.max_points) == (
        "friendly",
        2,
        "points",
        3,
    )

    edited = client.post(
        reverse("scoring:criterion_edit", args=[draft.pk, criterion.pk]),
        {
            "key": "friendly",
            "question": "Was the agent friendly and warm?",
            "weight": "1.5",
            "scale": "yes_no",
            "max_points": "3",
            "allows_na": "on",
            "applicability": "always",
            "section": section.pk,
        },
    )
    criterion.refresh_from_db()
    assert edited.status_code == 302
    assert (
        criterion.question,
        str(criterion.weight),
        criterion.scale,
        criterion.max_points,
        criterion.allows_na,
    ) == (
        "Was the agent friendly and warm?",
        "1.50",
        "yes_no",
        1,
        True,
    )

    published = client.post(reverse("scoring:scorecard_publish", args=[draft.pk]))
    draft.refresh_from_db()
    assert published.status_code == 302
    assert draft.status == Scorecard.Status.PUBLISHED


@pytest.mark.django_db
def test_duplicate_criterion_key_is_shown_as_a_form_error(client, qa_lead):
    draft = services.scorecard_create_draft(family="dup", name="Dup", user=qa_lead)
    section = services.section_add(scorecard=draft, user=qa_lead, title="S")
    services.criterion_add(section=section, user=qa_lead, key="k", question="Q?")
    client.force_login(qa_lead)

    response = client.post(
        reverse("scoring:criterion_add", args=[draft.pk, section.pk]),
        {
            f"s{section.pk}-key": "k",
            f"s{section.pk}-question": "Another?",
            f"s{section.pk}-weight": "1",
            f"s{section.pk}-scale": "yes_no",
            f"s{section.pk}-max_points": "1",
            f"s{section.pk}-applicability": "always",
            f"s{section.pk}-section": section.pk,
        },
    )

    assert response.status_code == 422
    assert "already used on this scorecard" in response.content.decode()
    assert Criterion.objects.filter(scorecard=draft).count() == 1


@pytest.mark.django_db
def test_publishing_an_empty_draft_is_refused(client, qa_lead):
    draft = services.scorecard_create_draft(family="empty", name="Empty", user=qa_lead)
    client.force_login(qa_lead)

    response = client.post(reverse("scoring:scorecard_publish", args=[draft.pk]), follow=True)

    draft.refresh_from_db()
    assert draft.status == Scorecard.Status.DRAFT
    assert "A scorecard needs at least one criterion" in response.content.decode()


@pytest.mark.django_db
def test_published_scorecards_are_read_only_and_get_new_versions(client, qa_lead, scorecard):
    section = scorecard.sections.first()
    before = list(scorecard.criteria.values_list("key", "question"))
    client.force_login(qa_lead)

    page = client.get(reverse("scoring:scorecard_detail", args=[scorecard.pk]))
    assert page.context["can_edit"] is False
    assert (
        client.post(reverse("scoring:section_add", args=[scorecard.pk]), {"title": "New"}).status_code == 403
    )
    criterion = scorecard.criteria.get(key="a")
    assert (
        client.post(reverse("scoring:criterion_remove", args=[scorecard.pk, criterion.pk])).status_code == 403
    )
    assert client.post(reverse("scoring:section_remove", args=[scorecard.pk, section.pk])).status_code == 403
    assert list(scorecard.criteria.values_list("key", "question")) == before

    response = client.post(reverse("scoring:scorecard_new_version", args=[scorecard.pk]))
    new = Scorecard.objects.get(family=scorecard.family, version=2)
    assert response.status_code == 302
    assert response["Location"] == reverse("scoring:scorecard_detail", args=[new.pk])
    assert (new.status, new.based_on_id) == (Scorecard.Status.DRAFT, scorecard.pk)
    assert list(new.criteria.values_list("key", "question")) == before

    client.post(reverse("scoring:criterion_remove", args=[new.pk, new.criteria.get(key="a").pk]))
    assert sorted(new.criteria.values_list("key", flat=True)) == ["b", "crit", "res", "unres"]


@pytest.mark.django_db
def test_agents_see_published_scorecards_but_not_drafts(client, owner_agent, scorecard, qa_lead):
    draft = services.scorecard_create_draft(family="secret", name="Secret draft", user=qa_lead)
    client.force_login(owner_agent.user)

    listing = client.get(reverse("scoring:scorecard_list"))

    families = [f["family"] for f in listing.context["families"]]
    assert "simple" in families and "secret" not in families
    assert client.get(reverse("scoring:scorecard_detail", args=[draft.pk])).status_code == 404
    assert client.get(reverse("scoring:scorecard_detail", args=[scorecard.pk])).status_code == 200
    assert client.get(reverse("scoring:scorecard_create")).status_code == 403


@pytest.mark.django_db
def test_a_criterion_of_another_scorecard_cannot_be_edited_through_this_one(client, qa_lead):
    one = services.scorecard_create_draft(family="one", name="One", user=qa_lead)
    two = services.scorecard_create_draft(family="two", name="Two", user=qa_lead)
    section = services.section_add(scorecard=two, user=qa_lead, title="S")
    foreign = services.criterion_add(section=section, user=qa_lead, key="k", question="Q?")
    client.force_login(qa_lead)

    response = client.post(reverse("scoring:criterion_remove", args=[one.pk, foreign.pk]))

    assert response.status_code == 404
    assert Criterion.objects.filter(pk=foreign.pk).exists()


@pytest.mark.django_db
def test_assign_form_errors_are_tied_to_their_controls(client, supervisor, owner_agent, teammate_agent):
    call = CallFactory(agent=owner_agent)
    client.force_login(supervisor)

    response = client.post(
        reverse("scoring:assign"),
        {"reviewer": teammate_agent.user.pk, "purpose": "nope", "calls": [call.pk]},
    )

    assert response.status_code == 422
    page = page_of(response)
    assert page.unresolved_references() == []
    reviewer = page.one("select", name="reviewer")
    assert reviewer.attrs["aria-invalid"] == "true"
    assert page.description(reviewer) == (
        "Reviewer: Select a valid choice. That choice is not one of the available choices."
    )
    assert page.description(page.one("select", name="purpose")) == (
        "Purpose: Select a valid choice. nope is not one of the available choices."
    )


@pytest.mark.django_db
def test_scorecard_form_ties_the_channel_checkboxes_to_their_error(client, qa_lead):
    client.force_login(qa_lead)

    response = client.post(
        reverse("scoring:scorecard_create"), {"family": "chat-qa", "name": "Chat QA", "channels": ["fax"]}
    )

    assert response.status_code == 422
    page = page_of(response)
    assert page.unresolved_references() == []
    group = page.one("fieldset", aria_describedby="id_channels_helptext id_channels_error")
    assert page.description(group) == (
        "None ticked = every channel. Select a valid choice. fax is not one of the available choices."
    )
    boxes = page.find_all("input", name="channels")
    assert boxes and all(box.attrs.get("aria-invalid") == "true" for box in boxes)
    departments = page.one("fieldset", aria_describedby="id_departments_helptext")
    assert page.description(departments) == "None ticked = every department."
