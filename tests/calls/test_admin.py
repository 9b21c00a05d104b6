"""The Django admin for calls data loads for an admin, with a query count that does not grow with rows, and
every change made through it reaches the per-agent-day rollups behind the calls list summary."""

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls.bench_admin_save import admin_change_page_data as change_page_data
from calls.models import Agent, Call, Customer, Department, Escalation, Team, Transfer
from calls.selectors import call_summary
from tests.calls.helpers import SPECS, Spec, build_summary_world, hand_summary, paris
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    DepartmentFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
    UserFactory,
)

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
def test_call_changelist_search_for_a_whole_id_gives_that_call_or_those_calls(client, admin_user):
    client.force_login(admin_user)
    calls = make_calls(12)
    CallFactory(external_id="ADM-0011", started_at=T0)
    customer = CustomerFactory(external_id="ADM-00")  # also a part of every call id
    Call.objects.filter(external_id__in=["ADM-003", "ADM-004"]).update(customer=customer)
    agent = calls[5].agent

    def found(term: str) -> list[str]:
        response = client.get(changelist_url(Call), {"q": term})
        return sorted(c.external_id for c in response.context["cl"].result_list)

    assert found("ADM-001") == ["ADM-001"]  # not ADM-0011
    assert found("ADM-00") == ["ADM-003", "ADM-004"]  # the customer's calls
    assert found(agent.employee_code) == ["ADM-005"]
    assert found("adm-001") == ["ADM-001", "ADM-0011"]  # not as stored: any part, as before
    assert found("ADM-01") == ["ADM-010", "ADM-011"]


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
@pytest.mark.parametrize(
    ("model_name", "field_name", "factory"),
    [("team", "department", DepartmentFactory), ("agent", "team", TeamFactory)],
)
def test_department_and_team_autocompletes_are_in_name_order(
    client, admin_user, model_name, field_name, factory
):
    """Their admins count teams and agents (a GROUP BY, which drops the model's ordering): the admin orders by name
    itself, so the autocomplete's pages are stable."""
    client.force_login(admin_user)
    for name in ("Sort B", "Sort C", "Sort A"):
        factory(name=name)

    response = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "calls", "model_name": model_name, "field_name": field_name, "term": "Sort"},
    )

    assert response.status_code == 200
    assert [row["text"] for row in response.json()["results"]] == ["Sort A", "Sort B", "Sort C"]


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


# --- changes made here keep the per-agent-day rollups (and so the calls list summary) current ---------


def post_and_commit(client, django_capture_on_commit_callbacks, url: str, data: dict) -> None:
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        response = client.post(url, data)
    assert response.status_code == 302, response.context and response.context.get("errors")
    assert len(callbacks) >= 1


def list_summary(client) -> dict:
    """The calls list summary over all dates, as the admin sees it (the rollup path)."""
    return client.get(reverse("calls:list"), {"date_from": "", "date_to": ""}).context["summary"]


def changed(**changes) -> list[Spec]:
    """SPECS with some calls changed ({"b2": {"resolved": False}}) or removed (None)."""
    specs = []
    for spec in SPECS:
        if spec.key not in changes:
            specs.append(spec)
        elif changes[spec.key] is not None:
            specs.append(replace(spec, **changes[spec.key]))
    return specs


@pytest.fixture
def summary_world(db, settings, client, admin_user):
    client.force_login(admin_user)
    world = build_summary_world(settings)
    assert list_summary(client) == hand_summary(SPECS)
    return world


def test_unresolving_a_call_in_the_admin_updates_the_list_summary(
    client, summary_world, django_capture_on_commit_callbacks
):
    url = reverse("admin:calls_call_change", args=[summary_world.calls["b2"].pk])
    data = change_page_data(client, url)
    del data["is_resolved"]

    post_and_commit(client, django_capture_on_commit_callbacks, url, data)

    # b2 was resolved at first contact: resolved 7 -> 6, FCR 2 -> 1 (b2 and b3; not the anonymous a3, whose
    # FCR is unknown).
    summary = list_summary(client)
    assert (summary["resolved"], summary["first_contact_resolved"]) == (6, 1)
    assert summary == hand_summary(changed(b2={"resolved": False}))
    assert summary == call_summary(Call.objects.all())


def test_the_refresh_waits_for_the_commit(client, summary_world, django_capture_on_commit_callbacks):
    url = reverse("admin:calls_call_change", args=[summary_world.calls["b2"].pk])
    data = change_page_data(client, url)
    del data["is_resolved"]

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        client.post(url, data)

    assert Call.objects.get(external_id="b2").is_resolved is False
    assert list_summary(client) == hand_summary(SPECS)
    for callback in callbacks:
        callback()
    assert list_summary(client) == hand_summary(changed(b2={"resolved": False}))


def test_deleting_transfers_inline_on_the_call_page_updates_the_list_summary(
    client, summary_world, django_capture_on_commit_callbacks
):
    url = reverse("admin:calls_call_change", args=[summary_world.calls["c2"].pk])
    data = change_page_data(client, url)
    data["transfers-0-DELETE"] = data["transfers-1-DELETE"] = "on"

    post_and_commit(client, django_capture_on_commit_callbacks, url, data)

    # c2 (resolved, no repeat) loses both transfers: transferred 2 -> 1, and it becomes an FCR (2 -> 3: b2, b3,
    # c2; the anonymous a3 is never counted).
    assert Transfer.objects.filter(call__external_id="c2").count() == 0
    summary = list_summary(client)
    assert (summary["transferred"], summary["first_contact_resolved"]) == (1, 3)
    assert summary == hand_summary(changed(c2={"transfers": 0}))


def test_adding_an_inline_escalation_on_the_call_page_updates_the_list_summary(
    client, summary_world, django_capture_on_commit_callbacks
):
    url = reverse("admin:calls_call_change", args=[summary_world.calls["a1"].pk])
    data = change_page_data(client, url)
    data.update(
        {
            "escalations-TOTAL_FORMS": "1",
            "escalations-0-sequence": "1",
            "escalations-0-level": "tier2",
            "escalations-0-raised_at_0": "2026-03-02",
            "escalations-0-raised_at_1": "09:05:00",
        }
    )

    post_and_commit(client, django_capture_on_commit_callbacks, url, data)

    summary = list_summary(client)
    assert summary["escalated"] == 3  # b1, c2 and now a1 (n2 has no agent)
    assert summary == hand_summary(changed(a1={"escalations": 1}))


def test_moving_a_call_to_a_later_day_refreshes_its_old_days_and_the_repeat_window_before(
    client, summary_world, django_capture_on_commit_callbacks
):
    url = reverse("admin:calls_call_change", args=[summary_world.calls["c2"].pk])
    data = change_page_data(client, url)
    data["started_at_0"], data["started_at_1"] = "2026-03-09", "12:00:00"
    data["ended_at_0"], data["ended_at_1"] = "2026-03-09", "12:30:00"
    data["answered_at_0"] = data["answered_at_1"] = ""

    post_and_commit(client, django_capture_on_commit_callbacks, url, data)

    # c2 leaves March 5th for March 9th, so b1 (March 4th, same customer) is no longer followed within two days.
    expected = changed(c2={"start": paris(3, 9, 12)}, b1={"repeat": False})
    assert list_summary(client) == hand_summary(expected)
    old_days = client.get(reverse("calls:list"), {"date_from": "2026-03-04", "date_to": "2026-03-05"})
    assert old_days.context["summary"] == hand_summary([s for s in expected if s.key in ("a3", "b1", "n1")])


def test_giving_a_call_to_another_customer_refreshes_both_customers_earlier_calls(
    client, summary_world, django_capture_on_commit_callbacks
):
    url = reverse("admin:calls_call_change", args=[summary_world.calls["c2"].pk])
    data = change_page_data(client, url)
    data["customer"] = str(Customer.objects.get(external_id="CU-Y").pk)

    post_and_commit(client, django_capture_on_commit_callbacks, url, data)

    # c2 (cat) goes from customer X to Y: b1 (bob, X, the day before) is no longer followed by a repeat
    # contact; c2 itself now is (n1, Y, three hours later). Only cat's and bob's rows could change, and
    # bob is found through the old customer's calls.
    summary = list_summary(client)
    assert summary["repeat_contacts"] == 4
    assert summary == hand_summary(changed(c2={"customer": "Y", "repeat": True}, b1={"repeat": False}))


def test_bulk_delete_action_refreshes_the_days_of_the_deleted_calls(
    client, summary_world, django_capture_on_commit_callbacks
):
    doomed = [summary_world.calls["c2"].pk, summary_world.calls["n1"].pk]

    post_and_commit(
        client,
        django_capture_on_commit_callbacks,
        changelist_url(Call),
        {"action": "delete_selected", "_selected_action": doomed, "post": "yes"},
    )

    # Without c2, b1 has no repeat contact; without n1, neither has c1 (which becomes an FCR: b2, b3, c1; the
    # anonymous a3 is never counted).
    assert not Call.objects.filter(pk__in=doomed).exists()
    summary = list_summary(client)
    assert (summary["calls"], summary["repeat_contacts"], summary["first_contact_resolved"]) == (8, 2, 3)
    assert summary == hand_summary(changed(c2=None, n1=None, b1={"repeat": False}, c1={"repeat": False}))


def test_deleting_a_call_refreshes_the_repeat_window_before_it(
    client, summary_world, django_capture_on_commit_callbacks
):
    url = reverse("admin:calls_call_delete", args=[summary_world.calls["b1"].pk])

    post_and_commit(client, django_capture_on_commit_callbacks, url, {"post": "yes"})

    # a1 (two days earlier) loses its repeat contact and becomes an FCR.
    assert list_summary(client) == hand_summary(changed(b1=None, a1={"repeat": False}))


def test_moving_a_transfer_to_another_call_refreshes_both_calls_days(
    client, summary_world, django_capture_on_commit_callbacks
):
    transfer = Transfer.objects.get(call__external_id="a2")
    url = reverse("admin:calls_transfer_change", args=[transfer.pk])
    data = change_page_data(client, url)
    data["call"] = str(summary_world.calls["b2"].pk)

    post_and_commit(client, django_capture_on_commit_callbacks, url, data)

    assert list_summary(client) == hand_summary(changed(a2={"transfers": 0}, b2={"transfers": 1}))


def test_deleting_escalations_in_their_own_admin_updates_the_list_summary(
    client, summary_world, django_capture_on_commit_callbacks
):
    b1_escalation = Escalation.objects.get(call__external_id="b1")
    post_and_commit(
        client,
        django_capture_on_commit_callbacks,
        reverse("admin:calls_escalation_delete", args=[b1_escalation.pk]),
        {"post": "yes"},
    )
    assert list_summary(client) == hand_summary(changed(b1={"escalations": 0}))

    others = list(Escalation.objects.values_list("pk", flat=True))
    post_and_commit(
        client,
        django_capture_on_commit_callbacks,
        changelist_url(Escalation),
        {"action": "delete_selected", "_selected_action": others, "post": "yes"},
    )
    assert list_summary(client) == hand_summary(
        changed(b1={"escalations": 0}, c2={"escalations": 0}, n2={"escalations": 0})
    )
