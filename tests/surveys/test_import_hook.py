"""Importing calls schedules their survey decisions when the import commits (calls.events hook), without
waiting for the 5-minute sweep; the sweep stays the safety net."""

from datetime import timedelta

import pytest
from django.utils import timezone

from calls.events import _handlers
from calls.importers import import_records
from calls.models import Call
from scoring.surveys import services, tasks
from scoring.surveys.models import SurveyInvitation


@pytest.fixture(autouse=True)
def invite_everyone(settings):
    settings.SURVEY_SAMPLE_RATE = 1.0
    settings.SURVEY_FATIGUE_DAYS = 30
    settings.SURVEY_DELAY_SECONDS = 300
    settings.SURVEY_SWEEP_LOOKBACK_HOURS = 72
    settings.SURVEY_CHANNELS = ["email"]


def record(number: int, *, ended_ago: timedelta, answered: bool = True, customer: dict | None = None) -> dict:
    ended = timezone.now() - ended_ago
    started = ended - timedelta(minutes=5)
    data = {
        "external_id": f"HOOK-{number}",
        "channel": "phone",
        "started_at": started.isoformat(),
        "ended_at": ended.isoformat(),
        "agent": {"employee_code": "A-1", "name": "Ana Lopez", "team": "Billing East"},
    }
    if answered:
        data["answered_at"] = (started + timedelta(seconds=20)).isoformat()
    if customer is not None:
        data["customer"] = customer
    return data


def customer(number: int, email: str = "") -> dict:
    return {"external_id": f"CU-{number}", "name": f"Customer {number}", "email": email}


def decisions() -> dict[str, tuple[str, str]]:
    return {
        external_id: (status, reason)
        for external_id, status, reason in SurveyInvitation.objects.values_list(
            "call__external_id", "status", "skip_reason"
        )
    }


def test_the_surveys_app_registers_its_import_handler():
    assert services.survey_schedule_for_imported_calls in _handlers


def test_importing_calls_records_a_decision_for_each_recent_call_at_commit(
    db, eager_celery, django_capture_on_commit_callbacks
):
    records = [
        record(1, ended_ago=timedelta(minutes=10), customer=customer(1, "one@example.com")),
        record(2, ended_ago=timedelta(hours=2), customer=customer(2, "two@example.com")),
        record(3, ended_ago=timedelta(minutes=10), customer=customer(3)),  # no e-mail address
        record(4, ended_ago=timedelta(minutes=10)),  # anonymous
        record(5, ended_ago=timedelta(minutes=10), answered=False, customer=customer(5, "five@example.com")),
        record(6, ended_ago=timedelta(days=10), customer=customer(6, "six@example.com")),  # history
    ]
    with django_capture_on_commit_callbacks(execute=True):
        result = import_records(records)
        assert SurveyInvitation.objects.count() == 0  # nothing before the import commits
    assert result.created == 6
    assert decisions() == {
        "HOOK-1": ("sent", ""),
        "HOOK-2": ("sent", ""),
        "HOOK-3": ("skipped", "no_contact"),
        "HOOK-4": ("skipped", "anonymous"),
        "HOOK-5": ("skipped", "abandoned"),
    }


def test_a_call_still_inside_the_survey_delay_is_queued_with_the_remaining_countdown(
    db, monkeypatch, django_capture_on_commit_callbacks
):
    sent, batches = [], []
    monkeypatch.setattr(
        tasks.survey_invite_task,
        "apply_async",
        lambda args, countdown=None, **kwargs: sent.append((args, countdown or 0)),
    )
    monkeypatch.setattr(
        tasks.survey_invite_batch_task,
        "apply_async",
        lambda args, countdown=None, **kwargs: batches.append((args, countdown or 0)),
    )
    records = [
        record(1, ended_ago=timedelta(minutes=10), customer=customer(1, "one@example.com")),
        record(2, ended_ago=timedelta(seconds=100), customer=customer(2, "two@example.com")),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        import_records(records)
    due_now, due_soon = Call.objects.get(external_id="HOOK-1"), Call.objects.get(external_id="HOOK-2")
    assert batches == [(([due_now.pk],), 0)]  # due now: decided in a batch, at once
    assert len(sent) == 1
    assert sent[0][0] == (due_soon.pk,)
    assert 195 <= sent[0][1] <= 200  # 300 s after it ended, less the seconds this test took


def test_a_decision_due_later_than_a_short_countdown_is_left_to_the_sweeper(
    db, settings, monkeypatch, django_capture_on_commit_callbacks
):
    settings.SURVEY_DELAY_SECONDS = 3600  # no hour-long Celery countdowns (Redis would redeliver them)
    sent = []
    for task in (tasks.survey_invite_task, tasks.survey_invite_batch_task):
        monkeypatch.setattr(
            task, "apply_async", lambda args, countdown=None, **kwargs: sent.append((args, countdown or 0))
        )
    with django_capture_on_commit_callbacks(execute=True):
        import_records([record(1, ended_ago=timedelta(minutes=10), customer=customer(1, "one@example.com"))])
    assert sent == []
    assert services.survey_sweep(now=timezone.now() + timedelta(hours=1))["decided"] == 1
    assert decisions() == {"HOOK-1": ("pending", "")}


def test_reimporting_the_same_calls_decides_nothing_twice(
    db, eager_celery, django_capture_on_commit_callbacks
):
    records = [
        record(1, ended_ago=timedelta(minutes=10), customer=customer(1, "one@example.com")),
        record(2, ended_ago=timedelta(minutes=10)),
    ]
    with django_capture_on_commit_callbacks(execute=True):
        import_records(records)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        again = import_records(records)
    assert (again.created, again.updated, again.unchanged) == (0, 0, 2)
    assert callbacks == []  # an import that changed nothing tells nobody
    assert SurveyInvitation.objects.count() == 2


def test_a_rejected_import_schedules_nothing(db, eager_celery, django_capture_on_commit_callbacks):
    good = record(1, ended_ago=timedelta(minutes=10), customer=customer(1, "one@example.com"))
    bad = {"external_id": "HOOK-BAD", "channel": "phone"}  # no start or end: the whole import is refused
    with django_capture_on_commit_callbacks(execute=True):
        result = import_records([good, bad])
    assert (result.created, result.rejected) == (0, 1)  # the bad record; the good one is not written either
    assert Call.objects.count() == 0
    assert SurveyInvitation.objects.count() == 0
