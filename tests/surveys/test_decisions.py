from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.surveys import services
from scoring.surveys.models import CustomerOptOut, SurveyDelivery, SurveyInvitation
from tests.concurrency import run_at_once
from tests.factories import CallFactory, CustomerFactory


@pytest.fixture(autouse=True)
def invite_everyone(settings):
    settings.SURVEY_SAMPLE_RATE = 1.0
    settings.SURVEY_FATIGUE_DAYS = 30
    settings.SURVEY_CHANNELS = ["email", "sms_webhook"]
    settings.SURVEY_SMS_WEBHOOK_URL = ""


def test_an_eligible_call_is_invited_by_email_with_a_pending_delivery(
    customer_call, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        invitation = services.invitation_decide(call=customer_call)
    assert (invitation.status, invitation.skip_reason, invitation.channel) == ("pending", "", "email")
    assert invitation.customer_id == customer_call.customer_id
    delivery = SurveyDelivery.objects.get(invitation=invitation)
    assert (delivery.channel, delivery.to, delivery.status, delivery.attempts) == (
        "email",
        "ann@example.com",
        "pending",
        0,
    )
    assert len(callbacks) == 1  # delivery queued only after commit


def test_deciding_twice_keeps_one_decision(customer_call):
    first = services.invitation_decide(call=customer_call)
    second = services.invitation_decide(call=customer_call)
    assert first.pk == second.pk
    assert SurveyInvitation.objects.count() == 1
    assert SurveyDelivery.objects.count() == 1


def test_the_database_refuses_a_second_invitation_for_a_call(customer_call):
    services.invitation_decide(call=customer_call)
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyInvitation.objects.create(call=customer_call, status="skipped", skip_reason="sampled_out")
    assert SurveyInvitation.objects.filter(call=customer_call).count() == 1


def test_the_database_refuses_a_skip_without_reason_and_an_invitation_without_token(customer_call):
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyInvitation.objects.create(call=customer_call, status="skipped", skip_reason="")
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyInvitation.objects.create(call=customer_call, status="pending", token_hash=None)
    assert SurveyInvitation.objects.count() == 0


def test_anonymous_call_is_skipped(db):
    call = CallFactory(customer=None)
    invitation = services.invitation_decide(call=call)
    assert (invitation.status, invitation.skip_reason, invitation.token_hash) == (
        "skipped",
        "anonymous",
        None,
    )
    assert SurveyDelivery.objects.count() == 0


def test_abandoned_call_is_skipped(customer):
    call = CallFactory(customer=customer, agent=None, answered_at=None, disposition="abandoned")
    assert services.invitation_decide(call=call).skip_reason == "abandoned"


def test_opted_out_customer_is_skipped(customer_call):
    CustomerOptOut.objects.create(customer=customer_call.customer)
    assert services.invitation_decide(call=customer_call).skip_reason == "opted_out"
    assert SurveyDelivery.objects.count() == 0


def test_customer_without_email_and_no_sms_gateway_has_no_contact(db):
    call = CallFactory(customer=CustomerFactory(email="", phone="+15550000002"))
    assert services.invitation_decide(call=call).skip_reason == "no_contact"


def test_customer_with_only_a_phone_gets_sms_when_the_gateway_is_configured(settings, db):
    settings.SURVEY_SMS_WEBHOOK_URL = "https://sms.example.test/send"
    call = CallFactory(customer=CustomerFactory(email="", phone="+15550000003"))
    invitation = services.invitation_decide(call=call)
    assert (invitation.status, invitation.channel) == ("pending", "sms_webhook")
    assert SurveyDelivery.objects.get(invitation=invitation).to == "+15550000003"


def test_sampled_out_call_is_skipped(settings, customer_call):
    settings.SURVEY_SAMPLE_RATE = 0.0
    assert services.invitation_decide(call=customer_call).skip_reason == "sampled_out"


def test_sampling_is_deterministic_per_call_and_close_to_the_rate():
    ids = [f"C-{n:07d}" for n in range(4000)]
    first = [services.survey_is_sampled(i, 0.3) for i in ids]
    assert first == [services.survey_is_sampled(i, 0.3) for i in ids]
    # Binomial(4000, 0.3): sd = 29; a hash that ignored the rate would be far outside ±4 sd.
    assert 1200 - 116 <= sum(first) <= 1200 + 116
    # A higher rate keeps every call the lower one took (the sample only grows).
    assert all(services.survey_is_sampled(i, 0.5) for i, taken in zip(ids, first, strict=True) if taken)


def test_customer_invited_within_the_fatigue_window_is_skipped(customer):
    earlier = CallFactory(customer=customer)
    services.invitation_decide(call=earlier, now=timezone.now() - timedelta(days=29))
    call = CallFactory(customer=customer)
    assert services.invitation_decide(call=call).skip_reason == "fatigue"


def test_customer_invited_before_the_fatigue_window_is_invited_again(customer):
    earlier = CallFactory(customer=customer)
    services.invitation_decide(call=earlier, now=timezone.now() - timedelta(days=31))
    call = CallFactory(customer=customer)
    assert services.invitation_decide(call=call).status == "pending"


def test_skipped_decisions_do_not_count_towards_fatigue(settings, customer):
    settings.SURVEY_SAMPLE_RATE = 0.0
    services.invitation_decide(call=CallFactory(customer=customer))
    settings.SURVEY_SAMPLE_RATE = 1.0
    assert services.invitation_decide(call=CallFactory(customer=customer)).status == "pending"


def test_opt_out_cancels_undelivered_invitations(customer_call):
    invitation = services.invitation_decide(call=customer_call)
    services.customer_opt_out(customer=customer_call.customer)
    invitation.refresh_from_db()
    assert invitation.status == "failed"
    assert SurveyDelivery.objects.get(invitation=invitation).status == "failed"
    assert CustomerOptOut.objects.filter(customer=customer_call.customer).count() == 1
    services.customer_opt_out(customer=customer_call.customer)  # idempotent
    assert CustomerOptOut.objects.count() == 1


def test_schedule_queues_undecided_calls_after_commit_with_the_delay(
    settings, customer, django_capture_on_commit_callbacks, monkeypatch
):
    settings.SURVEY_DELAY_SECONDS = 300
    now = timezone.now()
    fresh = CallFactory(
        customer=customer, started_at=now - timedelta(seconds=400), talk_seconds=300, wait_seconds=0
    )
    old = CallFactory(customer=customer, started_at=now - timedelta(days=1))
    decided = CallFactory(customer=customer)
    services.invitation_decide(call=decided)
    sent = []
    from scoring.surveys import tasks

    monkeypatch.setattr(
        tasks.survey_invite_task,
        "apply_async",
        lambda args, countdown=None, **kwargs: sent.append((args, countdown or 0)),
    )
    batches = []
    monkeypatch.setattr(
        tasks.survey_invite_batch_task,
        "apply_async",
        lambda args, countdown=None, **kwargs: batches.append(args),
    )
    with django_capture_on_commit_callbacks(execute=True):
        queued = services.survey_schedule_for_calls([fresh.pk, old.pk, decided.pk], now=now)
    assert queued == 2
    # fresh ended 100 s ago → due in 200 s, on its own; old ended long ago → now, in a batch.
    assert sent == [((fresh.pk,), 200)]
    assert batches == [([old.pk],)]


def test_calls_due_now_are_decided_in_batches_of_decide_batch(
    settings, customer, django_capture_on_commit_callbacks, monkeypatch
):
    """An import of many recent calls is a few messages, not one per call."""
    monkeypatch.setattr(services, "DECIDE_BATCH", 2)
    settings.SURVEY_DELAY_SECONDS = 0
    now = timezone.now()
    calls = [CallFactory(customer=customer, started_at=now - timedelta(hours=1)) for _ in range(5)]
    batches = []
    from scoring.surveys import tasks

    monkeypatch.setattr(
        tasks.survey_invite_batch_task,
        "apply_async",
        lambda args, countdown=None, **kwargs: batches.append(args),
    )
    with django_capture_on_commit_callbacks(execute=True):
        assert services.survey_schedule_for_calls([c.pk for c in calls], now=now) == 5
    assert sorted(len(ids) for (ids,) in batches) == [1, 2, 2]
    assert sorted(pk for (ids,) in batches for pk in ids) == sorted(c.pk for c in calls)
    outcomes = tasks.survey_invite_batch_task.run([c.pk for c in calls])
    assert sum(outcomes.values()) == 5
    assert SurveyInvitation.objects.filter(call__in=calls).count() == 5
    assert (
        tasks.survey_invite_batch_task.run([c.pk for c in calls]) == outcomes
    )  # deciding again changes nothing


def test_sweeper_decides_recent_undecided_calls_only(settings, customer):
    settings.SURVEY_SWEEP_LOOKBACK_HOURS = 72
    settings.SURVEY_DELAY_SECONDS = 300
    now = timezone.now()
    recent = CallFactory(customer=customer, started_at=now - timedelta(hours=2))
    too_fresh = CallFactory(
        customer=CustomerFactory(email="b@example.com"),
        started_at=now - timedelta(seconds=200),
        talk_seconds=60,
    )
    too_old = CallFactory(customer=customer, started_at=now - timedelta(days=10))
    result = services.survey_sweep(now=now)
    assert result["decided"] == 1
    assert list(SurveyInvitation.objects.values_list("call_id", flat=True)) == [recent.pk]
    assert not SurveyInvitation.objects.filter(call__in=[too_fresh, too_old]).exists()


@pytest.mark.django_db(transaction=True)
def test_two_calls_of_one_customer_decided_at_once_invite_once():
    customer = CustomerFactory(email="race@example.com")
    calls = [CallFactory(customer=customer), CallFactory(customer=customer)]
    results = run_at_once(2, lambda i: services.invitation_decide(call=calls[i]))
    assert not [result for result in results if isinstance(result, Exception)]
    statuses = sorted(SurveyInvitation.objects.values_list("status", "skip_reason"))
    assert statuses == [("pending", ""), ("skipped", "fatigue")]
