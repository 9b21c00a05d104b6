"""Admin: the managed lists and the case list load; failed dispatches can be retried from the list."""

import pytest
from django.urls import reverse

from scoring.followups import tasks
from scoring.followups.models import FollowUpCase, Notification
from tests.followups.conftest import make_detractor

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "name", ["rootcause", "businesscalendar", "slapolicy", "followupqueue", "followupcase", "notification"]
)
def test_admin_lists_load(client, admin_user, supervisor, owner_agent, name):
    make_detractor(agent=owner_agent)
    client.force_login(admin_user)
    assert client.get(reverse(f"admin:followups_{name}_changelist")).status_code == 200


def test_admin_shows_a_case_read_only_where_services_own_the_state(
    client, admin_user, supervisor, owner_agent
):
    case = make_detractor(agent=owner_agent)
    client.force_login(admin_user)
    page = client.get(reverse("admin:followups_followupcase_change", args=[case.pk])).content.decode()
    assert 'name="status"' not in page and 'name="due_at_0"' not in page
    assert 'name="notes"' in page


def test_admin_action_retries_failed_dispatches_only(
    client, admin_user, supervisor, owner_agent, monkeypatch
):
    monkeypatch.setattr(tasks, "publish", lambda *a, **kw: True)
    failed = make_detractor(agent=owner_agent)
    fine = make_detractor(agent=owner_agent)
    FollowUpCase.objects.filter(pk=failed.pk).update(
        status="failed", dispatch_state="failed", dispatch_attempts=5
    )
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:followups_followupcase_changelist"),
        {"action": "retry_dispatch", "_selected_action": [failed.pk, fine.pk]},
    )
    assert response.status_code == 302
    failed.refresh_from_db()
    fine.refresh_from_db()
    assert (failed.status, failed.dispatch_state, failed.dispatch_attempts) == ("open", "pending", 0)
    assert (fine.status, fine.dispatch_state) == ("open", "pending")


def test_notifications_cannot_be_edited_in_admin(client, admin_user, supervisor, owner_agent):
    case = make_detractor(agent=owner_agent)
    notice = Notification.objects.create(case=case, kind="assigned", idempotency_key="k-admin")
    client.force_login(admin_user)
    client.post(
        reverse("admin:followups_notification_change", args=[notice.pk]), {"idempotency_key": "changed"}
    )
    notice.refresh_from_db()
    assert notice.idempotency_key == "k-admin"
