"""The Django admin for calls data loads for an admin, with a query count that does not grow with rows."""

from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.models import Agent, Call, Customer, Department, Escalation, Team, Transfer
from tests.factories import AgentFactory, CallFactory, EscalationFactory, TransferFactory, UserFactory

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MODELS = [Department, Team, Agent, Customer, Call, Transfer, Escalation]


def changelist_url(model) -> str:
    return reverse(f"admin:calls_{model._meta.model_name}_changelist")


def make_calls(n: int, *, start: int = 0) -> list[Call]:
    calls = []
    for i in range(start, start + n):
        call = CallFactory(external_id=f"ADM-{i:03d}", started_at=T0 + timedelta(hours=i))
        TransferFactory(call=call, sequence=1, to_agent=AgentFactory())
        EscalationFactory(call=call, sequence=1, level="tier2" if i % 2 else "complaint")
        calls.append(call)
    return calls


def query_count(client, url: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries)


@pytest.mark.django_db
@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_changelists_load_with_a_query_count_independent_of_rows(client, admin_user, model, supervisor):
    client.force_login(admin_user)
    make_calls(3)
    client.get(changelist_url(model))  # warm-up: the first admin request also fills caches
    few = query_count(client, changelist_url(model))

    make_calls(20, start=3)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(changelist_url(model))

    assert response.status_code == 200
    assert len(captured.captured_queries) == few
    assert len(captured.captured_queries) <= 15
    shown = response.context["cl"].result_count
    assert shown == model.objects.count()
    if model in (Call, Transfer, Escalation, Customer):
        assert shown == 23


@pytest.mark.django_db
def test_call_change_page_shows_transfer_and_escalation_inlines(client, admin_user):
    client.force_login(admin_user)
    call = make_calls(1)[0]
    TransferFactory(call=call, sequence=2, reason="second hop")
    url = reverse("admin:calls_call_change", args=[call.pk])
    client.get(url)  # warm-up: the first admin request also fills the content-type cache
    small = query_count(client, url)
    for sequence in range(3, 13):
        TransferFactory(call=call, sequence=sequence, to_agent=AgentFactory())
        EscalationFactory(call=call, sequence=sequence)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)

    html = response.content.decode()
    assert response.status_code == 200
    assert "second hop" in html
    assert response.context["inline_admin_formsets"][0].formset.queryset.count() == 12
    assert response.context["inline_admin_formsets"][1].formset.queryset.count() == 11
    assert len(captured.captured_queries) == small
    assert len(captured.captured_queries) <= 25


@pytest.mark.django_db
def test_team_change_page_uses_a_horizontal_filter_for_supervisors(client, admin_user, team, supervisor):
    client.force_login(admin_user)

    response = client.get(reverse("admin:calls_team_change", args=[team.pk]))

    assert response.status_code == 200
    assert 'class="selectfilter"' in response.content.decode()
    assert list(response.context["adminform"].form.initial["supervisors"]) == [supervisor]


@pytest.mark.django_db
def test_call_changelist_search_and_filters(client, admin_user):
    client.force_login(admin_user)
    make_calls(4)
    Call.objects.filter(external_id="ADM-002").update(channel="chat", is_resolved=False)

    by_search = client.get(changelist_url(Call), {"q": "ADM-001"})
    by_filter = client.get(changelist_url(Call), {"channel__exact": "chat", "is_resolved__exact": "0"})

    assert [c.external_id for c in by_search.context["cl"].result_list] == ["ADM-001"]
    assert [c.external_id for c in by_filter.context["cl"].result_list] == ["ADM-002"]


@pytest.mark.django_db
def test_call_autocomplete_for_agents_answers(client, admin_user):
    client.force_login(admin_user)
    AgentFactory(employee_code="A-FIND-ME", name="Findable")

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "calls", "model_name": "call", "field_name": "agent", "term": "FIND"},
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Findable (A-FIND-ME)"]


@pytest.mark.django_db
def test_admin_is_closed_to_non_staff_roles(client, reviewer):
    client.force_login(reviewer)
    before = Call.objects.count()

    response = client.get(changelist_url(Call))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("admin:login"))
    assert Call.objects.count() == before


@pytest.mark.django_db
def test_staff_without_model_permissions_cannot_open_calls(client):
    staff = UserFactory(username="staff-only", is_staff=True)
    client.force_login(staff)

    assert client.get(changelist_url(Call)).status_code == 403
