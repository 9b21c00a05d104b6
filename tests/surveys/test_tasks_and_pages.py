import pytest

from scoring.surveys import services, tasks
from scoring.surveys.models import SurveyInvitation, SurveyResponse
from tests.factories import CallFactory
from tests.surveys.factories import invitation_with_token

pytestmark = pytest.mark.django_db


def test_invite_task_decides_the_call_by_id(settings, customer_call, django_capture_on_commit_callbacks):
    settings.SURVEY_SAMPLE_RATE = 0.0
    assert tasks.survey_invite_task.run(customer_call.pk) == "sampled_out"
    assert SurveyInvitation.objects.get(call=customer_call).skip_reason == "sampled_out"
    assert (
        tasks.survey_invite_task.run(customer_call.pk) == "sampled_out"
    )  # a redelivered message: same answer
    assert SurveyInvitation.objects.count() == 1


def test_invite_task_for_a_deleted_call_does_nothing():
    assert tasks.survey_invite_task.run(987654321) == "missing"
    assert SurveyInvitation.objects.count() == 0


def test_sweep_task_runs_the_sweeper(monkeypatch):
    monkeypatch.setattr(services, "survey_sweep", lambda: {"decided": 3, "released": 0, "requeued": 1})
    assert tasks.survey_sweep_task.run() == {"decided": 3, "released": 0, "requeued": 1}


def test_the_beat_schedule_sweeps_surveys(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["surveys-sweep"]
    assert entry["task"] == tasks.survey_sweep_task.name == "scoring.surveys.tasks.survey_sweep_task"


def test_the_survey_page_costs_one_query(client, django_assert_num_queries):
    _invitation, raw = invitation_with_token()
    with django_assert_num_queries(1):
        assert client.get(f"/s/{raw}/").status_code == 200


def test_responses_screen_query_count_does_not_grow_with_rows(
    client, admin_user, django_assert_max_num_queries
):
    client.force_login(admin_user)
    for _ in range(3):
        services.response_record(call=CallFactory(), score=9, source="survey_link")
    client.get("/surveys/responses/")  # warm caches (roles, content types)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as few:
        client.get("/surveys/responses/")
    for _ in range(20):
        services.response_record(call=CallFactory(), score=4, source="survey_link")
    with django_assert_max_num_queries(len(few)):
        page = client.get("/surveys/responses/")
    assert len(page.context["responses"]) == 23


def test_admin_lists_survey_models(client, admin_user):
    services.response_record(call=CallFactory(), score=9, source="survey_link")
    client.force_login(admin_user)
    for model in ("surveyresponse", "surveyinvitation", "customeroptout"):
        assert client.get(f"/admin/surveys/{model}/").status_code == 200
    response = SurveyResponse.objects.get()
    assert client.get(f"/admin/surveys/surveyresponse/{response.pk}/change/").status_code == 200
    assert client.get("/admin/surveys/surveyresponse/add/").status_code == 403
