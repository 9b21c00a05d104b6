"""The scoring admin renders, and keeps published scorecards and evaluations read-only."""

from __future__ import annotations

import pytest

from scoring.models import Evaluation
from tests.scoring.factories import simple_scorecard, submitted_evaluation

pytestmark = pytest.mark.django_db


def test_admin_pages_render_and_published_content_is_read_only(
    client, admin_user, voice_qa, call, qa_lead, scorecard
):
    evaluation = submitted_evaluation(
        call=call, author=qa_lead, scorecard=scorecard, values={"a": 1, "b": 4, "crit": 1, "res": 1}
    )
    draft = simple_scorecard(family="drafty", publish=False)
    client.force_login(admin_user)
    for url in (
        "/admin/scoring/scorecard/",
        f"/admin/scoring/scorecard/{voice_qa.pk}/change/",
        f"/admin/scoring/scorecard/{draft.pk}/change/",
        f"/admin/scoring/section/{draft.sections.first().pk}/change/",
        "/admin/scoring/evaluation/",
        f"/admin/scoring/evaluation/{evaluation.pk}/change/",
        "/admin/scoring/assignment/",
        "/admin/scoring/dispute/",
        "/admin/scoring/auditentry/",
    ):
        assert client.get(url).status_code == 200, url
    # Published: the change form has no save button; a POST is refused.
    page = client.get(f"/admin/scoring/scorecard/{voice_qa.pk}/change/").content.decode()
    assert 'name="_save"' not in page
    response = client.post(f"/admin/scoring/scorecard/{voice_qa.pk}/change/", {"name": "Hacked"})
    assert response.status_code == 403
    voice_qa.refresh_from_db()
    assert voice_qa.name == "Voice QA"
    # Draft: editable.
    assert 'name="_save"' in client.get(f"/admin/scoring/scorecard/{draft.pk}/change/").content.decode()
    # Evaluations cannot be added or deleted from the admin.
    assert client.get("/admin/scoring/evaluation/add/").status_code == 403
    assert (
        client.post(f"/admin/scoring/evaluation/{evaluation.pk}/delete/", {"post": "yes"}).status_code == 403
    )
    assert Evaluation.objects.filter(pk=evaluation.pk).exists()


def test_admin_publish_action_goes_through_the_service(client, admin_user):
    draft = simple_scorecard(family="to-publish", publish=False)
    client.force_login(admin_user)
    response = client.post(
        "/admin/scoring/scorecard/", {"action": "publish", "_selected_action": [draft.pk]}, follow=True
    )
    assert response.status_code == 200
    draft.refresh_from_db()
    assert draft.status == "published" and draft.published_by == admin_user
