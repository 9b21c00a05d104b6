"""Disputes: the agent challenges criteria; the team supervisor upholds or adjusts (a new revision)."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import override_settings
from django.urls import reverse
from django.utils import timezone

from scoring import selectors, services
from scoring.models import AuditEntry, Dispute, Evaluation
from tests.factories import UserFactory
from tests.html_a11y import page_of
from tests.scoring.factories import criteria_by_key, expected_score, submitted_evaluation

pytestmark = pytest.mark.django_db

VALUES = {"a": 0, "b": 2, "crit": 1, "res": 1}


@pytest.fixture
def evaluation(call, assigned_reviewer, scorecard):
    return submitted_evaluation(call=call, author=assigned_reviewer, scorecard=scorecard, values=VALUES)


@pytest.fixture
def criteria(scorecard):
    return criteria_by_key(scorecard)


@pytest.fixture
def dispute(evaluation, owner_agent, criteria):
    return services.dispute_open(
        evaluation=evaluation,
        user=owner_agent.user,
        items={
            criteria["a"].pk: "I did greet with the brand at 0:03",
            criteria["b"].pk: "Answer was complete",
        },
        reason="Two items look wrong",
    )


def test_agent_opens_a_dispute_per_criterion(dispute, evaluation, owner_agent, criteria):
    assert dispute.status == "open"
    assert dispute.raised_by == owner_agent.user
    assert sorted(dispute.items.values_list("criterion__key", "reason")) == [
        ("a", "I did greet with the brand at 0:03"),
        ("b", "Answer was complete"),
    ]
    assert list(evaluation.audit_entries.values_list("action", flat=True)) == ["submitted", "dispute_opened"]


def test_only_the_evaluated_agent_can_dispute(evaluation, teammate_agent, supervisor, criteria):
    for user in (teammate_agent.user, supervisor):
        with pytest.raises(PermissionDenied):
            services.dispute_open(evaluation=evaluation, user=user, items={criteria["a"].pk: "no"})
    assert not Dispute.objects.exists()


def test_one_open_dispute_per_evaluation(dispute, evaluation, owner_agent, criteria):
    with pytest.raises(ValidationError):
        services.dispute_open(
            evaluation=evaluation, user=owner_agent.user, items={criteria["crit"].pk: "again"}
        )
    assert Dispute.objects.count() == 1


def test_dispute_window_is_enforced(evaluation, owner_agent, criteria):
    Evaluation.objects.filter(pk=evaluation.pk).update(
        submitted_at=timezone.now() - timedelta(days=7, minutes=1)
    )
    with pytest.raises(ValidationError) as error:
        services.dispute_open(evaluation=evaluation, user=owner_agent.user, items={criteria["a"].pk: "late"})
    assert "7-day" in str(error.value)
    assert not Dispute.objects.exists()
    evaluation.refresh_from_db()
    assert selectors.can_dispute(owner_agent.user, evaluation) is False


@override_settings(QA_DISPUTE_WINDOW_DAYS=10)
def test_dispute_window_follows_the_setting(evaluation, owner_agent, criteria):
    Evaluation.objects.filter(pk=evaluation.pk).update(submitted_at=timezone.now() - timedelta(days=9))
    evaluation.refresh_from_db()
    assert selectors.can_dispute(owner_agent.user, evaluation) is True
    services.dispute_open(evaluation=evaluation, user=owner_agent.user, items={criteria["a"].pk: "ok"})
    assert Dispute.objects.count() == 1


def test_dispute_needs_reasons_and_criteria_of_the_scorecard(evaluation, owner_agent, criteria, voice_qa):
    bad_items = [
        {},
        {criteria["a"].pk: "   "},
        {voice_qa.criteria.first().pk: "not on this scorecard"},
    ]
    for items in bad_items:
        with pytest.raises(ValidationError):
            services.dispute_open(evaluation=evaluation, user=owner_agent.user, items=items)
    assert not Dispute.objects.exists()


def test_self_reviews_and_drafts_cannot_be_disputed(
    call, owner_agent, scorecard, criteria, assigned_reviewer
):
    self_review = submitted_evaluation(
        call=call, author=owner_agent.user, scorecard=scorecard, values=VALUES, kind="self_review"
    )
    with pytest.raises(ValidationError):
        services.dispute_open(evaluation=self_review, user=owner_agent.user, items={criteria["a"].pk: "x"})
    draft = services.evaluation_start(call=call, author=assigned_reviewer, scorecard=scorecard)
    with pytest.raises(ValidationError):
        services.dispute_open(evaluation=draft, user=owner_agent.user, items={criteria["a"].pk: "x"})
    assert not Dispute.objects.exists()


def test_supervisor_upholds_and_nothing_changes(dispute, evaluation, supervisor):
    before = Evaluation.objects.get(pk=evaluation.pk)
    services.dispute_resolve(
        dispute=dispute, user=supervisor, outcome="upheld", note="Recording confirms the score"
    )
    dispute.refresh_from_db()
    after = Evaluation.objects.get(pk=evaluation.pk)
    assert (dispute.status, dispute.resolved_by, dispute.revised_evaluation) == ("upheld", supervisor, None)
    assert (after.score, after.is_current, after.revision) == (before.score, True, 1)
    assert Evaluation.objects.count() == 1
    entry = AuditEntry.objects.get(action="dispute_upheld")
    assert (entry.actor, entry.reason, entry.old_score, entry.new_score) == (
        supervisor,
        "Recording confirms the score",
        before.score,
        before.score,
    )


def test_adjustment_creates_a_new_current_revision_with_an_audit_trail(
    dispute, evaluation, supervisor, criteria, owner_agent
):
    old_score = evaluation.score
    assert old_score == expected_score([(1, 0, 1), (3, 2, 4), (2, 1, 1), (1, 1, 1)])  # 64.29
    services.dispute_resolve(
        dispute=dispute,
        user=supervisor,
        outcome="adjusted",
        note="Brand was said at 0:03",
        new_answers={criteria["a"].pk: 1},
    )
    dispute.refresh_from_db()
    new = dispute.revised_evaluation
    old = Evaluation.objects.get(pk=evaluation.pk)
    assert dispute.status == "adjusted"
    assert (new.revision, new.supersedes_id, new.is_current, new.status) == (2, old.pk, True, "submitted")
    assert (old.is_current, old.score) == (False, old_score)
    assert new.score == expected_score([(1, 1, 1), (3, 2, 4), (2, 1, 1), (1, 1, 1)])  # 78.57
    assert new.score == Decimal("78.57")
    assert new.submitted_at == old.submitted_at
    assert new.author == old.author and new.agent == old.agent and new.scorecard == old.scorecard
    assert dict(new.answers.values_list("criterion__key", "value")) == {
        "a": 1,
        "b": 2,
        "crit": 1,
        "res": 1,
        "unres": None,
    }
    assert dict(old.answers.values_list("criterion__key", "value")) == {
        "a": 0,
        "b": 2,
        "crit": 1,
        "res": 1,
        "unres": None,
    }
    assert dict(new.section_scores.values_list("section__title", "score")) == {
        "Basics": expected_score([(1, 1, 1), (3, 2, 4)]),
        "Closing": Decimal("100.00"),
    }
    entry = AuditEntry.objects.get(evaluation=new, action="dispute_adjusted")
    assert entry.actor == supervisor
    assert entry.reason == "Brand was said at 0:03"
    assert entry.changes == [{"criterion": "a", "old": 0, "new": 1}]
    assert (entry.old_score, entry.new_score) == (old_score, Decimal("78.57"))
    assert AuditEntry.objects.filter(
        evaluation=old, action="dispute_adjusted", revised_evaluation=new
    ).exists()
    # Selectors show the current revision only, unless asked; the old one is still reachable.
    visible = selectors.evaluation_list_for_user(owner_agent.user)
    assert list(visible.values_list("pk", flat=True)) == [new.pk]
    assert set(
        selectors.evaluation_list_for_user(owner_agent.user, include_superseded=True).values_list(
            "pk", flat=True
        )
    ) == {
        old.pk,
        new.pk,
    }
    assert selectors.evaluation_get_for_user(owner_agent.user, pk=old.pk) == old
    assert [e.pk for e in selectors.evaluation_revisions(old)] == [old.pk, new.pk]


def test_adjusting_to_na_where_allowed(dispute, evaluation, supervisor, criteria):
    services.dispute_resolve(
        dispute=dispute,
        user=supervisor,
        outcome="adjusted",
        note="No answer was possible",
        new_answers={criteria["b"].pk: None},
    )
    dispute.refresh_from_db()
    assert dispute.revised_evaluation.score == expected_score([(1, 0, 1), (2, 1, 1), (1, 1, 1)])  # 75.00
    assert dispute.revised_evaluation.answers.get(criterion__key="b").is_na
    assert AuditEntry.objects.get(evaluation=dispute.revised_evaluation).changes == [
        {"criterion": "b", "old": 2, "new": "N/A"}
    ]


def test_adjustment_rules(dispute, evaluation, supervisor, criteria):
    bad = [
        ("adjusted", {criteria["crit"].pk: 0}),  # not disputed
        ("adjusted", {criteria["a"].pk: 0}),  # same as before
        ("adjusted", {}),
        ("adjusted", {criteria["a"].pk: None}),  # N/A not allowed on a
        ("adjusted", {criteria["b"].pk: 9}),  # outside 0–4
        ("upheld", {criteria["a"].pk: 1}),
        ("reopened", None),
    ]
    for outcome, answers in bad:
        with pytest.raises(ValidationError):
            services.dispute_resolve(
                dispute=dispute, user=supervisor, outcome=outcome, note="x", new_answers=answers
            )
    with pytest.raises(ValidationError):
        services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="  ")
    dispute.refresh_from_db()
    assert dispute.status == "open"
    assert Evaluation.objects.count() == 1


def test_only_the_agents_supervisor_or_admin_resolves(dispute, other_team, reviewer, owner_agent, admin_user):
    other_supervisor = UserFactory(username="othersup", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    for user in (other_supervisor, reviewer, owner_agent.user):
        with pytest.raises(PermissionDenied):
            services.dispute_resolve(dispute=dispute, user=user, outcome="upheld", note="no")
    assert Dispute.objects.get(pk=dispute.pk).status == "open"
    services.dispute_resolve(dispute=dispute, user=admin_user, outcome="upheld", note="Admin decision")
    assert Dispute.objects.get(pk=dispute.pk).status == "upheld"


def test_supervisor_cannot_resolve_a_dispute_of_their_own_evaluation(
    call, supervisor, scorecard, owner_agent, criteria
):
    services.assignment_create(call=call, reviewer=supervisor, assigned_by=supervisor, purpose="calibration")
    evaluation = submitted_evaluation(call=call, author=supervisor, scorecard=scorecard, values=VALUES)
    dispute = services.dispute_open(
        evaluation=evaluation, user=owner_agent.user, items={criteria["a"].pk: "x"}
    )
    assert selectors.can_resolve_dispute(supervisor, dispute) is False
    with pytest.raises(PermissionDenied):
        services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="mine")


def test_resolved_dispute_cannot_be_resolved_again_or_re_disputed(
    dispute, evaluation, supervisor, owner_agent, criteria
):
    services.dispute_resolve(
        dispute=dispute, user=supervisor, outcome="adjusted", note="ok", new_answers={criteria["a"].pk: 1}
    )
    with pytest.raises(ValidationError):
        services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="again")
    dispute.refresh_from_db()
    new = dispute.revised_evaluation
    with pytest.raises(ValidationError):
        services.dispute_open(evaluation=new, user=owner_agent.user, items={criteria["b"].pk: "more"})
    with pytest.raises(ValidationError):
        services.dispute_open(
            evaluation=evaluation, user=owner_agent.user, items={criteria["b"].pk: "old one"}
        )
    assert Dispute.objects.count() == 1
    assert selectors.can_dispute(owner_agent.user, new) is False


def test_new_revision_can_be_acknowledged(dispute, supervisor, owner_agent, criteria, evaluation):
    services.evaluation_acknowledge(evaluation=evaluation, user=owner_agent.user)
    services.dispute_resolve(
        dispute=dispute, user=supervisor, outcome="adjusted", note="ok", new_answers={criteria["a"].pk: 1}
    )
    dispute.refresh_from_db()
    new = dispute.revised_evaluation
    assert new.acknowledged_at is None
    assert selectors.can_acknowledge(owner_agent.user, new) is True
    with pytest.raises(ValidationError):
        services.evaluation_acknowledge(
            evaluation=Evaluation.objects.get(pk=evaluation.pk), user=owner_agent.user
        )


def test_dispute_visibility(
    dispute, owner_agent, teammate_agent, supervisor, assigned_reviewer, outsider_agent
):
    for user in (owner_agent.user, supervisor, assigned_reviewer):
        assert list(selectors.dispute_list_for_user(user)) == [dispute]
    for user in (teammate_agent.user, outsider_agent.user):
        assert list(selectors.dispute_list_for_user(user)) == []


def test_the_open_tab_says_when_disputes_were_decided_lately(
    client, dispute, supervisor, owner_agent, teammate_agent
):
    """No notification is sent: the agent who looks at their (empty) open tab learns the outcome is in."""
    from django.urls import reverse

    client.force_login(owner_agent.user)
    assert 'data-testid="recently-resolved"' not in client.get(reverse("scoring:dispute_list")).text

    services.dispute_resolve(dispute=dispute, user=supervisor, outcome="upheld", note="Recording confirms it")
    page = client.get(reverse("scoring:dispute_list"))
    assert page.context["recently_resolved"] == 1
    assert "1 dispute decided in the last 14 days" in page.text
    long_ago = timezone.now() - timedelta(days=15)
    Dispute.objects.filter(pk=dispute.pk).update(
        created_at=long_ago - timedelta(days=1), resolved_at=long_ago
    )
    assert client.get(reverse("scoring:dispute_list")).context["recently_resolved"] == 0
    client.force_login(teammate_agent.user)  # not a party to it
    assert client.get(reverse("scoring:dispute_list")).context["recently_resolved"] == 0


# --- error messages tied to their controls (aria-describedby / aria-invalid) ----------------------------


def test_the_decision_radios_name_their_error(client, dispute, supervisor):
    client.force_login(supervisor)

    response = client.post(reverse("scoring:dispute_detail", args=[dispute.pk]), {"note": "Checked the call"})

    assert response.status_code == 422
    page = page_of(response)
    assert page.unresolved_references() == []
    radios = page.find_all("input", type="radio", name="outcome")
    assert [radio.attrs["value"] for radio in radios] == ["upheld", "adjusted"]
    for radio in radios:
        assert radio.attrs["aria-invalid"] == "true"
        assert page.description(radio) == "This field is required."
    note = page.one("textarea", name="note")
    assert "aria-invalid" not in note.attrs and "aria-describedby" not in note.attrs


def test_a_missing_reason_names_its_error_on_the_dispute_form(client, evaluation, owner_agent, criteria):
    client.force_login(owner_agent.user)

    response = client.post(
        reverse("scoring:dispute_open", args=[evaluation.pk]),
        {f"dispute-{criteria['a'].pk}": "on", f"reason-{criteria['a'].pk}": " ", "reason": "y" * 5001},
    )

    assert response.status_code == 422
    page = page_of(response)
    assert page.unresolved_references() == []
    reason = page.one("textarea", name=f"reason-{criteria['a'].pk}")
    assert reason.attrs["aria-invalid"] == "true"
    assert page.description(reason) == "Say why you disagree with this answer."
    untouched = page.one("textarea", name=f"reason-{criteria['b'].pk}")
    assert "aria-invalid" not in untouched.attrs and "aria-describedby" not in untouched.attrs
    overall = page.one("textarea", name="reason")
    assert overall.attrs["aria-invalid"] == "true"
    assert page.description(overall) == "Ensure this value has at most 5000 characters (it has 5001)."
