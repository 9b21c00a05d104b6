from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.followups.models import FollowUpCase
from scoring.surveys import services
from scoring.surveys.models import ResponseCredit, SurveyResponse
from tests.factories import AgentFactory, CallFactory, TransferFactory
from tests.surveys.factories import invitation_with_token

LINK = SurveyResponse.Source.SURVEY_LINK
API = SurveyResponse.Source.INBOUND_API


def transferred_call(*agents):
    """A call answered by agents[0] and transferred to each following agent in turn."""
    call = CallFactory(agent=agents[0])
    for sequence, (source, target) in enumerate(zip(agents, agents[1:], strict=False), start=1):
        TransferFactory(call=call, sequence=sequence, from_agent=source, to_agent=target)
    return call


def credits_of(response):
    return list(
        ResponseCredit.objects.filter(response=response)
        .order_by("leg")
        .values_list("agent__employee_code", "leg", "is_primary")
    )


def test_a_response_is_recorded_with_its_category_and_credit(db):
    call = CallFactory()
    response, created = services.response_record(call=call, score=8, comment="  fine  ", source=LINK)
    assert created
    assert (response.score, response.category, response.comment, response.source) == (
        8,
        "passive",
        "fine",
        "survey_link",
    )
    assert response.customer_id == call.customer_id
    assert credits_of(response) == [(call.agent.employee_code, 0, True)]


def test_transferred_call_credits_every_leg_with_the_final_agent_primary(settings, db):
    settings.SURVEY_PRIMARY_AGENT = "final"
    first, second, third = (
        AgentFactory(employee_code="A-1"),
        AgentFactory(employee_code="A-2"),
        AgentFactory(employee_code="A-3"),
    )
    call = transferred_call(first, second, third)
    response, _ = services.response_record(call=call, score=9, source=LINK)
    assert credits_of(response) == [("A-1", 0, False), ("A-2", 1, False), ("A-3", 2, True)]
    assert response.primary_agent == third


def test_primary_can_be_the_first_agent_by_setting(settings, db):
    settings.SURVEY_PRIMARY_AGENT = "first"
    first, second = AgentFactory(employee_code="A-1"), AgentFactory(employee_code="A-2")
    response, _ = services.response_record(call=transferred_call(first, second), score=9, source=LINK)
    assert credits_of(response) == [("A-1", 0, True), ("A-2", 1, False)]


def test_an_agent_on_two_legs_is_credited_once_on_the_primary_leg(settings, db):
    settings.SURVEY_PRIMARY_AGENT = "final"
    first, second = AgentFactory(employee_code="A-1"), AgentFactory(employee_code="A-2")
    response, _ = services.response_record(call=transferred_call(first, second, first), score=9, source=LINK)
    assert credits_of(response) == [("A-2", 1, False), ("A-1", 2, True)]


def test_never_orphaned_when_the_call_row_has_no_agent_but_a_transfer_does(db):
    first, second = AgentFactory(employee_code="A-1"), AgentFactory(employee_code="A-2")
    call = CallFactory(agent=None)
    TransferFactory(call=call, sequence=1, from_agent=first, to_agent=second)
    response, _ = services.response_record(call=call, score=9, source=LINK)
    assert credits_of(response) == [("A-1", 0, False), ("A-2", 1, True)]


def test_transfer_to_a_queue_without_agent_keeps_the_last_known_agent_primary(db):
    first = AgentFactory(employee_code="A-1")
    call = CallFactory(agent=first)
    TransferFactory(call=call, sequence=1, from_agent=first, to_agent=None)
    response, _ = services.response_record(call=call, score=9, source=LINK)
    assert credits_of(response) == [("A-1", 0, True)]


def test_the_database_allows_only_one_primary_credit(db):
    first, second = AgentFactory(), AgentFactory()
    response, _ = services.response_record(call=CallFactory(agent=first), score=9, source=LINK)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponseCredit.objects.create(response=response, agent=second, leg=1, is_primary=True)
    with pytest.raises(IntegrityError), transaction.atomic():
        ResponseCredit.objects.create(response=response, agent=first, leg=3, is_primary=False)
    assert ResponseCredit.objects.filter(response=response).count() == 1


def test_the_database_refuses_a_category_that_contradicts_the_score(db):
    response, _ = services.response_record(call=CallFactory(), score=9, source=LINK)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponse.objects.filter(pk=response.pk).update(category="detractor")
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponse.objects.filter(pk=response.pk).update(score=11, category="promoter")
    response.refresh_from_db()
    assert (response.score, response.category) == (9, "promoter")


@pytest.mark.parametrize("score", [-1, 11, 7.5, "7", True])
def test_scores_that_are_not_integers_0_to_10_are_refused(db, score):
    call = CallFactory()
    with pytest.raises(ValueError):
        services.response_record(call=call, score=score, source=API)
    assert SurveyResponse.objects.count() == 0


def test_same_idempotency_key_returns_the_existing_response(db):
    call = CallFactory()
    first, created = services.response_record(call=call, score=4, source=API, idempotency_key="id:r1")
    again, created_again = services.response_record(call=call, score=4, source=API, idempotency_key="id:r1")
    assert created and not created_again and again.pk == first.pk
    assert SurveyResponse.objects.count() == 1
    assert ResponseCredit.objects.count() == 1
    assert FollowUpCase.objects.count() == 1


def test_same_invitation_returns_the_existing_response(db):
    invitation, _raw = invitation_with_token()
    first, _ = services.response_record(call=invitation.call, score=9, invitation=invitation, source=LINK)
    again, created = services.response_record(
        call=invitation.call, score=2, invitation=invitation, source=LINK
    )
    assert not created and again.pk == first.pk and again.score == 9
    assert SurveyResponse.objects.count() == 1


def test_a_different_answer_for_an_answered_call_is_a_conflict(db):
    call = CallFactory()
    first, _ = services.response_record(call=call, score=9, source=API, idempotency_key="id:a")
    with pytest.raises(services.ResponseConflict) as excinfo:
        services.response_record(call=call, score=3, source=API, idempotency_key="id:b")
    assert excinfo.value.existing.pk == first.pk
    assert SurveyResponse.objects.count() == 1
    assert FollowUpCase.objects.count() == 0


def test_a_key_reused_for_another_call_is_a_conflict(db):
    services.response_record(call=CallFactory(), score=9, source=API, idempotency_key="id:x")
    other = CallFactory()
    with pytest.raises(services.ResponseConflict):
        services.response_record(call=other, score=9, source=API, idempotency_key="id:x")
    assert not SurveyResponse.objects.filter(call=other).exists()


def test_an_invitation_of_another_call_is_refused(db):
    invitation, _raw = invitation_with_token()
    with pytest.raises(ValueError):
        services.response_record(call=CallFactory(), score=9, invitation=invitation, source=LINK)
    assert SurveyResponse.objects.count() == 0


def test_a_detractor_opens_exactly_one_follow_up_in_the_same_transaction(db):
    call = CallFactory()
    response, _ = services.response_record(call=call, score=6, comment="still broken", source=LINK)
    assert response.is_detractor
    case = FollowUpCase.objects.get()
    assert case.response_id == response.pk and case.call_id == call.pk


def test_a_follow_up_failure_rolls_back_the_response(db, monkeypatch):
    def broken(*, response):
        raise RuntimeError("follow-up store down")

    monkeypatch.setattr("scoring.followups.services.followup_open_for_response", broken)
    with pytest.raises(RuntimeError):
        services.response_record(call=CallFactory(), score=2, source=LINK)
    assert SurveyResponse.objects.count() == 0
    assert ResponseCredit.objects.count() == 0


@pytest.mark.parametrize("score", [7, 8, 9, 10])
def test_passives_and_promoters_open_no_follow_up(db, score):
    services.response_record(call=CallFactory(), score=score, source=LINK)
    assert FollowUpCase.objects.count() == 0


def test_received_at_is_kept_and_marks_the_invitation_used(db):
    invitation, _raw = invitation_with_token()
    at = timezone.now() - timedelta(hours=3)
    response, _ = services.response_record(
        call=invitation.call, score=9, invitation=invitation, source=LINK, received_at=at
    )
    invitation.refresh_from_db()
    assert response.received_at == at and invitation.used_at == at
