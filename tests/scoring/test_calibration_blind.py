"""Blind calibration: a reviewer with an open calibration assignment for a call sees none of that call's
other ratings (the original review included) until their own calibration is in."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from rest_framework.test import APIClient

from scoring import services
from scoring.calibration.selectors import calibration_report
from scoring.selectors import evaluation_list_for_user
from tests.factories import CallFactory, UserFactory
from tests.scoring.factories import simple_scorecard, submitted_evaluation

pytestmark = pytest.mark.django_db

VALUES = {"a": 1, "b": 4, "crit": 1, "res": 1}


@pytest.fixture
def setup(admin_user):
    permission = Permission.objects.get(codename="evaluate_any_call")
    original = UserFactory(username="original", roles=["reviewer"])
    original.user_permissions.add(permission)
    calibrator = UserFactory(username="calibrator", roles=["reviewer"])
    scorecard = simple_scorecard()
    call = CallFactory(is_resolved=True)
    review = submitted_evaluation(call=call, author=original, scorecard=scorecard, values=VALUES)
    services.assignment_create(call=call, reviewer=calibrator, assigned_by=admin_user, purpose="calibration")
    return call, review, calibrator, original, scorecard


def test_the_original_review_is_hidden_until_the_calibration_is_submitted(setup):
    call, review, calibrator, _original, scorecard = setup

    assert not evaluation_list_for_user(calibrator).filter(pk=review.pk).exists()
    api = APIClient()
    api.force_authenticate(calibrator)
    assert api.get(f"/api/evaluations/{review.pk}/").status_code == 404
    assert api.get("/api/evaluations/", {"call": call.external_id}).json()["results"] == []

    submitted_evaluation(call=call, author=calibrator, scorecard=scorecard, values=VALUES, kind="calibration")

    assert evaluation_list_for_user(calibrator).filter(pk=review.pk).exists()


def test_the_workspace_does_not_show_the_other_score(setup, client):
    call, review, calibrator, _original, _scorecard = setup
    client.force_login(calibrator)

    page = client.get(reverse("scoring:workspace", args=[call.pk])).content.decode()

    assert reverse("scoring:evaluation_detail", args=[review.pk]) not in page


def test_an_earlier_review_does_not_open_the_calibration_report_while_a_calibration_is_pending(
    setup, admin_user
):
    call, _review, calibrator, original, scorecard = setup
    submitted_evaluation(call=call, author=calibrator, scorecard=scorecard, values=VALUES, kind="calibration")
    # The original reviewer is now asked to calibrate the same call: blind again until they submit.
    services.assignment_create(call=call, reviewer=original, assigned_by=admin_user, purpose="calibration")

    assert calibration_report(original).calls == []
