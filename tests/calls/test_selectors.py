"""Derived call metrics and permission scoping, each checked against values worked out by hand."""

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.db.models import F
from django.http import Http404
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from calls.models import Agent, AgentDayCallStats, Call, Department, Transfer
from calls.selectors import (
    agent_list_for_user,
    call_annotate_is_repeat_contact,
    call_annotate_metrics,
    call_detail_for_user,
    call_filter,
    call_get_for_user,
    call_list_for_user,
    call_summary,
    call_timeline,
    customer_contacts,
    team_list_for_user,
)
from tests.calls.helpers import build_summary_world, hand_summary, list_filters, list_summary, specs_of
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


def metrics_by_external_id() -> dict[str, Call]:
    return {call.external_id: call for call in call_annotate_metrics(Call.objects.all())}


# --- transfers, escalations, handle time ------------------------------------------------------------


@pytest.mark.django_db
def test_transfer_count_counts_each_transfer_of_its_own_call_only():
    none = CallFactory(external_id="none", started_at=T0)
    one = CallFactory(external_id="one", started_at=T0)
    three = CallFactory(external_id="three", started_at=T0)
    TransferFactory(call=one, sequence=1)
    for sequence in (1, 2, 3):
        TransferFactory(call=three, sequence=sequence)

    calls = metrics_by_external_id()

    assert {key: call.transfer_count for key, call in calls.items()} == {"none": 0, "one": 1, "three": 3}
    assert none.transfers.count() == 0


@pytest.mark.django_db
def test_is_escalated_only_for_calls_with_an_escalation():
    plain = CallFactory(external_id="plain", started_at=T0)
    escalated_twice = CallFactory(external_id="twice", started_at=T0)
    EscalationFactory(call=escalated_twice, sequence=1)
    EscalationFactory(call=escalated_twice, sequence=2, level="complaint")

    calls = metrics_by_external_id()

    assert calls["plain"].is_escalated is False
    assert calls["twice"].is_escalated is True
    # Two escalations do not duplicate the row.
    assert len(calls) == 2
    assert plain.escalations.count() == 0


@pytest.mark.django_db
def test_handle_seconds_total_is_talk_plus_hold_plus_wrap():
    CallFactory(
        external_id="a", started_at=T0, wait_seconds=40, talk_seconds=300, hold_seconds=45, wrap_seconds=30
    )
    CallFactory(
        external_id="b", started_at=T0, wait_seconds=5, talk_seconds=61, hold_seconds=0, wrap_seconds=0
    )

    calls = metrics_by_external_id()

    # Wait time is not handle time: 300 + 45 + 30 and 61 + 0 + 0.
    assert calls["a"].handle_seconds_total == 375
    assert calls["b"].handle_seconds_total == 61
    assert calls["a"].handle_seconds == 375


# --- repeat contacts and first-contact resolution ---------------------------------------------------


@pytest.fixture
def repeat_calls(db, settings):
    """Pairs of calls by one customer at distances around a 3-day window."""
    settings.REPEAT_CONTACT_WINDOW_DAYS = 3
    window = timedelta(days=3)
    pairs = {
        "exact": window,  # exactly on the edge: counts (the window is inclusive)
        "past": window + timedelta(seconds=1),  # one second past: does not count
        "inside": timedelta(hours=5),
        "same_second": timedelta(0),  # tie on start: the later id is the repeat
    }
    for name, gap in pairs.items():
        customer = CustomerFactory(external_id=f"CU-{name}")
        CallFactory(external_id=f"{name}-1", customer=customer, started_at=T0)
        CallFactory(external_id=f"{name}-2", customer=customer, started_at=T0 + gap)
    # Another customer's call one hour later must not make "lonely-1" a repeat.
    CallFactory(external_id="lonely-1", customer=CustomerFactory(external_id="CU-lonely"), started_at=T0)
    CallFactory(
        external_id="stranger",
        customer=CustomerFactory(external_id="CU-stranger"),
        started_at=T0 + timedelta(hours=1),
    )
    # Calls without a customer are never matched with each other: their repeat contacts are unknown.
    CallFactory(external_id="anon-1", customer=None, started_at=T0)
    CallFactory(external_id="anon-2", customer=None, started_at=T0 + timedelta(minutes=1))


def test_repeat_contact_window_is_inclusive_and_per_customer(repeat_calls):
    flags = {key: call.has_repeat_contact for key, call in metrics_by_external_id().items()}

    assert flags == {
        "exact-1": True,
        "exact-2": False,
        "past-1": False,
        "past-2": False,
        "inside-1": True,
        "inside-2": False,
        "same_second-1": True,
        "same_second-2": False,
        "lonely-1": False,
        "stranger": False,
        # No customer: whether the caller called again cannot be known.
        "anon-1": None,
        "anon-2": None,
    }


def test_is_repeat_contact_mirrors_has_repeat_contact(repeat_calls):
    flags = {
        call.external_id: call.is_repeat_contact
        for call in call_annotate_is_repeat_contact(Call.objects.all())
    }

    # A call is a repeat contact exactly when an earlier call of its customer has a repeat contact.
    assert flags == {
        "exact-1": False,
        "exact-2": True,
        "past-1": False,
        "past-2": False,
        "inside-1": False,
        "inside-2": True,
        "same_second-1": False,
        "same_second-2": True,
        "lonely-1": False,
        "stranger": False,
        "anon-1": None,
        "anon-2": None,
    }


def test_repeat_contact_window_follows_the_setting(repeat_calls, settings):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 4

    flags = metrics_by_external_id()

    # 3 days + 1 second is inside a 4-day window.
    assert flags["past-1"].has_repeat_contact is True
    assert flags["exact-1"].has_repeat_contact is True

    settings.REPEAT_CONTACT_WINDOW_DAYS = 1
    flags = metrics_by_external_id()
    assert flags["exact-1"].has_repeat_contact is False
    assert flags["inside-1"].has_repeat_contact is True


@pytest.mark.django_db
def test_first_contact_resolution_needs_resolved_untransferred_and_no_repeat(settings):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    CallFactory(external_id="fcr", started_at=T0, is_resolved=True)
    CallFactory(external_id="unresolved", started_at=T0, is_resolved=False)
    transferred = CallFactory(external_id="transferred", started_at=T0, is_resolved=True)
    TransferFactory(call=transferred, sequence=1)
    customer = CustomerFactory()
    CallFactory(external_id="called-back", customer=customer, started_at=T0, is_resolved=True)
    CallFactory(
        external_id="callback", customer=customer, started_at=T0 + timedelta(days=2), is_resolved=True
    )
    escalated = CallFactory(external_id="escalated", started_at=T0, is_resolved=True)
    EscalationFactory(call=escalated)

    fcr = {key: call.is_first_contact_resolution for key, call in metrics_by_external_id().items()}

    assert fcr == {
        "fcr": True,
        "unresolved": False,
        "transferred": False,
        "called-back": False,
        # The second call is itself resolved, untransferred and not followed by another one.
        "callback": True,
        # Escalation is not part of the FCR definition (resolved, not transferred, no repeat).
        "escalated": True,
    }


# --- call_summary ----------------------------------------------------------------------------------

SUMMARY_SPECS = [
    # (external id, customer key, day offset, resolved, transfers, escalations, talk, hold, wrap, wait)
    ("s1", "x", 0, True, 0, 0, 200, 0, 20, 10),
    ("s2", "x", 2, True, 0, 0, 100, 10, 10, 20),  # repeat of s1 within 7 days
    ("s3", "y", 0, False, 1, 1, 400, 60, 30, 30),
    ("s4", "z", 0, True, 2, 0, 250, 0, 0, 40),
    ("s5", "w", 0, True, 0, 1, 90, 5, 5, 50),
]


@pytest.fixture
def summary_calls(db, settings):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    customers = {key: CustomerFactory(external_id=f"CU-{key}") for key in "xyzw"}
    for (
        external_id,
        customer,
        days,
        resolved,
        transfers,
        escalations,
        talk,
        hold,
        wrap,
        wait,
    ) in SUMMARY_SPECS:
        call = CallFactory(
            external_id=external_id,
            customer=customers[customer],
            started_at=T0 + timedelta(days=days),
            is_resolved=resolved,
            talk_seconds=talk,
            hold_seconds=hold,
            wrap_seconds=wrap,
            wait_seconds=wait,
        )
        for sequence in range(1, transfers + 1):
            TransferFactory(call=call, sequence=sequence)
        for sequence in range(1, escalations + 1):
            EscalationFactory(call=call, sequence=sequence)


def test_call_summary_counts_and_rates_match_a_hand_computation(summary_calls):
    summary = call_summary(Call.objects.all())

    # By hand: 5 calls; transferred s3, s4; escalated s3, s5; resolved s1, s2, s4, s5;
    # repeat contact s1 (s2 two days later); FCR = resolved, no transfer, no repeat = s2, s5.
    # Handle: 220, 120, 490, 250, 100 -> 1180 / 5 = 236. Wait: 150 / 5 = 30.
    assert summary["calls"] == 5
    assert summary["transferred"] == 2
    assert summary["escalated"] == 2
    assert summary["resolved"] == 4
    assert summary["repeat_contacts"] == 1
    assert summary["first_contact_resolved"] == 2
    assert summary["transferred_rate"] == pytest.approx(0.4)
    assert summary["escalated_rate"] == pytest.approx(0.4)
    assert summary["resolved_rate"] == pytest.approx(0.8)
    assert summary["repeat_contacts_rate"] == pytest.approx(0.2)
    assert summary["first_contact_resolved_rate"] == pytest.approx(0.4)
    assert float(summary["average_handle_seconds"]) == pytest.approx(236.0)
    assert float(summary["average_wait_seconds"]) == pytest.approx(30.0)


def test_call_summary_agrees_with_a_python_recomputation_from_the_specs(summary_calls):
    summary = call_summary(Call.objects.all())

    n = len(SUMMARY_SPECS)
    by_customer: dict[str, list[int]] = {}
    for spec in SUMMARY_SPECS:
        by_customer.setdefault(spec[1], []).append(spec[2])
    has_repeat = {
        spec[0]: any(0 < other - spec[2] <= 7 for other in by_customer[spec[1]]) for spec in SUMMARY_SPECS
    }
    fcr = sum(1 for spec in SUMMARY_SPECS if spec[3] and spec[4] == 0 and not has_repeat[spec[0]])
    handle = sum(spec[6] + spec[7] + spec[8] for spec in SUMMARY_SPECS) / n

    assert summary["transferred_rate"] == pytest.approx(sum(1 for s in SUMMARY_SPECS if s[4]) / n)
    assert summary["escalated_rate"] == pytest.approx(sum(1 for s in SUMMARY_SPECS if s[5]) / n)
    assert summary["first_contact_resolved_rate"] == pytest.approx(fcr / n)
    assert summary["repeat_contacts_rate"] == pytest.approx(sum(has_repeat.values()) / n)
    assert float(summary["average_handle_seconds"]) == pytest.approx(handle)


def test_call_summary_of_an_already_filtered_annotated_queryset(summary_calls):
    filtered = call_filter(call_annotate_metrics(Call.objects.all()), is_transferred=False)

    summary = call_summary(filtered)

    # s1, s2, s5 have no transfer; FCR among them: s2, s5; handle (220 + 120 + 100) / 3.
    assert summary["calls"] == 3
    assert summary["transferred"] == 0
    assert summary["first_contact_resolved"] == 2
    assert summary["escalated"] == 1
    assert float(summary["average_handle_seconds"]) == pytest.approx(440 / 3)


@pytest.mark.django_db
def test_call_summary_of_no_calls_has_no_rates():
    summary = call_summary(Call.objects.all())

    assert summary["calls"] == 0
    assert summary["transferred_rate"] is None
    assert summary["first_contact_resolved_rate"] is None
    assert summary["average_handle_seconds"] is None


# --- call_filter ------------------------------------------------------------------------------------


def filtered_ids(**filters) -> set[str]:
    return set(
        call_filter(call_annotate_metrics(Call.objects.all()), **filters).values_list(
            "external_id", flat=True
        )
    )


def test_call_filter_flags(summary_calls):
    assert filtered_ids(is_transferred=True) == {"s3", "s4"}
    assert filtered_ids(is_transferred=False) == {"s1", "s2", "s5"}
    assert filtered_ids(is_escalated=True) == {"s3", "s5"}
    assert filtered_ids(is_resolved=False) == {"s3"}
    assert filtered_ids(is_first_contact_resolution=True) == {"s2", "s5"}
    assert filtered_ids(is_first_contact_resolution=False) == {"s1", "s3", "s4"}
    assert filtered_ids(is_resolved=True, is_escalated=False) == {"s1", "s2", "s4"}


@pytest.mark.django_db
def test_call_filter_date_range_is_whole_local_days_inclusive():
    paris = ZoneInfo("Europe/Paris")
    # 2026-03-02 00:30 in Paris is 2026-03-01 23:30 UTC: it belongs to March 2nd locally.
    CallFactory(external_id="early", started_at=datetime(2026, 3, 2, 0, 30, tzinfo=paris))
    CallFactory(external_id="late", started_at=datetime(2026, 3, 3, 23, 59, 59, tzinfo=paris))
    CallFactory(external_id="next", started_at=datetime(2026, 3, 4, 0, 0, tzinfo=paris))
    CallFactory(external_id="before", started_at=datetime(2026, 3, 1, 23, 59, tzinfo=paris))

    with timezone.override(paris):
        assert filtered_ids(date_from=date(2026, 3, 2), date_to=date(2026, 3, 3)) == {"early", "late"}
        assert filtered_ids(date_from=date(2026, 3, 4)) == {"next"}
        assert filtered_ids(date_to=date(2026, 3, 1)) == {"before"}
    with timezone.override(UTC):
        # In UTC "early" is on March 1st.
        assert filtered_ids(date_to=date(2026, 3, 1)) == {"before", "early"}


@pytest.mark.django_db
def test_call_filter_search_matches_ids_and_names_and_phone_only_when_allowed():
    customer = CustomerFactory(external_id="CU-ACME", name="Ada Lovelace", phone="+15550001234")
    CallFactory(external_id="C-XYZ-1", customer=customer, started_at=T0)
    CallFactory(external_id="C-OTHER", started_at=T0)

    assert filtered_ids(search="xyz") == {"C-XYZ-1"}
    assert filtered_ids(search="cu-acme") == {"C-XYZ-1"}
    assert filtered_ids(search="lovelace") == {"C-XYZ-1"}
    assert filtered_ids(search="0001234") == set()
    assert filtered_ids(search="0001234", search_phone=True) == {"C-XYZ-1"}
    assert filtered_ids(search="  ") == {"C-XYZ-1", "C-OTHER"}


@pytest.mark.django_db
def test_call_filter_search_for_a_whole_id_gives_that_call_or_that_customers_calls():
    customer = CustomerFactory(external_id="C-10")  # a customer id that is also part of call ids
    CallFactory(external_id="C-100", started_at=T0)
    CallFactory(external_id="C-1000", started_at=T0)
    CallFactory(external_id="X-1", customer=customer, started_at=T0)
    CallFactory(external_id="X-2", customer=customer, started_at=T0)

    assert filtered_ids(search="C-100") == {"C-100"}  # not C-1000
    assert filtered_ids(search=" C-10 ") == {"X-1", "X-2"}  # the customer's calls
    assert filtered_ids(search="c-100") == {"C-100", "C-1000"}  # not written as stored: any part
    assert filtered_ids(search="C-10", channel="chat") == set()  # other filters still apply
    assert filtered_ids(search="-100") == {"C-100", "C-1000"}


@pytest.mark.django_db
def test_call_filter_agent_team_department_and_channel():
    department = DepartmentFactory(name="Billing")
    team = TeamFactory(name="Red", department=department)
    agent = AgentFactory(team=team)
    teammate = AgentFactory(team=team)
    CallFactory(external_id="mine", agent=agent, channel="chat", started_at=T0)
    CallFactory(external_id="mate", agent=teammate, started_at=T0)
    CallFactory(external_id="elsewhere", started_at=T0)

    assert filtered_ids(agent=agent) == {"mine"}
    assert filtered_ids(team=team) == {"mine", "mate"}
    assert filtered_ids(department=department) == {"mine", "mate"}
    assert filtered_ids(channel="chat") == {"mine"}


# --- permission scoping -----------------------------------------------------------------------------


@pytest.fixture
def visibility_calls(owner_agent, teammate_agent, outsider_agent):
    calls = {
        "owner": CallFactory(external_id="owner", agent=owner_agent, started_at=T0),
        "teammate": CallFactory(external_id="teammate", agent=teammate_agent, started_at=T0),
        "outsider": CallFactory(external_id="outsider", agent=outsider_agent, started_at=T0),
        # The outsider took the call first, then transferred it to the owner.
        "to_owner": CallFactory(external_id="to_owner", agent=outsider_agent, started_at=T0),
        "unassigned": CallFactory(external_id="unassigned", agent=None, started_at=T0),
    }
    TransferFactory(call=calls["to_owner"], sequence=1, from_agent=outsider_agent, to_agent=owner_agent)
    return calls


EVERYONE = {"owner", "teammate", "outsider", "to_owner", "unassigned"}


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("owner", {"owner", "to_owner"}),
        ("teammate", {"teammate"}),
        ("outsider", {"outsider", "to_owner"}),
        ("supervisor", {"owner", "teammate", "to_owner"}),
        ("reviewer", EVERYONE),
        ("admin", EVERYONE),
    ],
)
def test_call_list_for_user_matrix(request, visibility_calls, who, expected):
    user = {
        "owner": lambda: request.getfixturevalue("owner_agent").user,
        "teammate": lambda: request.getfixturevalue("teammate_agent").user,
        "outsider": lambda: request.getfixturevalue("outsider_agent").user,
        "supervisor": lambda: request.getfixturevalue("supervisor"),
        "reviewer": lambda: request.getfixturevalue("reviewer"),
        "admin": lambda: request.getfixturevalue("admin_user"),
    }[who]()

    visible = list(call_list_for_user(user).values_list("external_id", flat=True))

    assert sorted(visible) == sorted(expected)
    for name, call in visibility_calls.items():
        if name in expected:
            assert call_get_for_user(user, pk=call.pk).pk == call.pk
        else:
            with pytest.raises(Http404):
                call_get_for_user(user, pk=call.pk)


def test_a_supervisors_calls_are_their_agents_by_id_or_in_the_array_of_calls_taken_over(
    visibility_calls, supervisor, owner_agent, teammate_agent
):
    visible = call_list_for_user(supervisor)
    with CaptureQueriesContext(connection) as queries:
        found = sorted(visible.values_list("external_id", flat=True))

    assert found == ["owner", "teammate", "to_owner"]
    # Not `id IN (SELECT ...)`, which PostgreSQL answered by scanning every call of the period, and the
    # agents' ids written out, so the planner knows how many calls they have.
    (sql,) = [query["sql"] for query in queries]
    agents = ", ".join(str(pk) for pk in sorted([owner_agent.pk, teammate_agent.pk]))
    assert f'"calls_call"."agent_id" IN ({agents}) OR "calls_call"."id" = ANY(ARRAY(SELECT' in sql


def test_an_agents_calls_are_fetched_from_the_array_of_their_own_and_taken_over_ids(
    visibility_calls, owner_agent
):
    visible = call_list_for_user(owner_agent.user)
    with CaptureQueriesContext(connection) as queries:
        found = sorted(visible.values_list("external_id", flat=True))

    assert found == ["owner", "to_owner"]
    (sql,) = [query["sql"] for query in queries]
    assert '"calls_call"."id" = ANY(ARRAY((SELECT' in sql
    assert f'"agent_id" = {owner_agent.pk}' in sql


@pytest.mark.django_db
def test_user_without_role_or_agent_sees_no_calls(visibility_calls):
    nobody = UserFactory(username="nobody")

    assert call_list_for_user(nobody).count() == 0
    assert agent_list_for_user(nobody).count() == 0
    assert team_list_for_user(nobody).count() == 0


@pytest.mark.django_db
def test_anonymous_user_sees_nothing(visibility_calls):
    from django.contrib.auth.models import AnonymousUser

    assert call_list_for_user(AnonymousUser()).count() == 0
    assert agent_list_for_user(AnonymousUser()).count() == 0


def test_supervisor_sees_each_call_once_when_teams_have_several_supervisors(
    visibility_calls, supervisor, team, other_team
):
    # Extra supervisors on both teams must not multiply rows (a join on team supervisors would).
    for name in ("sup2", "sup3"):
        other_team.supervisors.add(UserFactory(username=f"other-{name}", roles=["supervisor"]))
        team.supervisors.add(UserFactory(username=f"team-{name}", roles=["supervisor"]))

    visible = list(call_list_for_user(supervisor).values_list("external_id", flat=True))

    assert sorted(visible) == sorted(["owner", "teammate", "to_owner"])
    assert call_summary(call_list_for_user(supervisor))["calls"] == 3
    assert sorted(a.employee_code for a in agent_list_for_user(supervisor)) == ["A-MATE", "A-OWNER"]


def test_agent_and_team_lists_per_role(
    owner_agent, teammate_agent, outsider_agent, supervisor, reviewer, admin_user
):
    def codes(user):
        return sorted(agent_list_for_user(user).values_list("employee_code", flat=True))

    def teams(user):
        return sorted(team_list_for_user(user).values_list("name", flat=True))

    assert codes(owner_agent.user) == ["A-OWNER"]
    assert teams(owner_agent.user) == ["Billing East"]
    assert codes(supervisor) == ["A-MATE", "A-OWNER"]
    assert teams(supervisor) == ["Billing East"]
    assert codes(reviewer) == ["A-MATE", "A-OUT", "A-OWNER"]
    assert teams(admin_user) == ["Billing East", "Tech West"]


def test_supervisor_who_also_takes_calls_sees_own_calls_and_agent(visibility_calls, other_team):
    lead = UserFactory(username="playing-lead", roles=["supervisor", "agent"])
    other_team.supervisors.add(lead)
    own = AgentFactory(employee_code="A-LEAD", user=lead, team=TeamFactory(name="Solo"))
    CallFactory(external_id="lead-own", agent=own, started_at=T0)

    visible = set(call_list_for_user(lead).values_list("external_id", flat=True))

    assert visible == {"outsider", "to_owner", "lead-own"}
    assert sorted(agent_list_for_user(lead).values_list("employee_code", flat=True)) == ["A-LEAD", "A-OUT"]


# --- call page helpers -----------------------------------------------------------------------------


def test_customer_contacts_are_the_visible_other_calls_with_repeat_flags(
    owner_agent, outsider_agent, settings
):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    customer = CustomerFactory()
    first = CallFactory(external_id="first", agent=owner_agent, customer=customer, started_at=T0)
    hidden = CallFactory(
        external_id="hidden", agent=outsider_agent, customer=customer, started_at=T0 + timedelta(days=1)
    )
    this = CallFactory(
        external_id="this", agent=owner_agent, customer=customer, started_at=T0 + timedelta(days=3)
    )
    later = CallFactory(
        external_id="later", agent=owner_agent, customer=customer, started_at=T0 + timedelta(days=20)
    )
    CallFactory(external_id="someone-else", agent=owner_agent, started_at=T0 + timedelta(days=2))

    contacts = list(customer_contacts(this, user=owner_agent.user))

    assert [c.external_id for c in contacts] == ["later", "first"]
    # "first" is followed by a contact a day later (the hidden one still counts for the metric);
    # "later" comes 17 days after "this": outside the window, so not a repeat contact.
    assert [(c.is_repeat_contact, c.has_repeat_contact) for c in contacts] == [(False, False), (False, True)]
    detail = call_detail_for_user(owner_agent.user, pk=this.pk)
    assert detail.is_repeat_contact is True
    assert detail.has_repeat_contact is False
    assert hidden.pk not in {c.pk for c in contacts}
    assert first.pk == contacts[1].pk
    assert later.pk == contacts[0].pk


@pytest.mark.django_db
def test_customer_contacts_of_a_call_without_customer_is_empty(admin_user):
    call = CallFactory(customer=None, started_at=T0)

    assert list(customer_contacts(call, user=admin_user)) == []


@pytest.mark.django_db
def test_call_detail_for_user_is_404_for_a_foreign_call(owner_agent, outsider_agent):
    foreign = CallFactory(agent=outsider_agent, started_at=T0)

    with pytest.raises(Http404):
        call_detail_for_user(owner_agent.user, pk=foreign.pk)


@pytest.mark.django_db
def test_call_timeline_orders_start_answer_transfers_escalations_end():
    call = CallFactory(started_at=T0, wait_seconds=30, talk_seconds=600)
    EscalationFactory(
        call=call, sequence=1, raised_at=T0 + timedelta(seconds=300), resolved_at=T0 + timedelta(seconds=500)
    )
    TransferFactory(call=call, sequence=2, at=T0 + timedelta(seconds=400))
    TransferFactory(call=call, sequence=1, at=T0 + timedelta(seconds=100))

    events = call_timeline(call)

    assert [(e["kind"], e["at"] - T0) for e in events] == [
        ("started", timedelta(0)),
        ("answered", timedelta(seconds=30)),
        ("transfer", timedelta(seconds=100)),
        ("escalation", timedelta(seconds=300)),
        ("transfer", timedelta(seconds=400)),
        ("escalation_resolved", timedelta(seconds=500)),
        ("ended", timedelta(seconds=630)),
    ]
    assert [e["transfer"].sequence for e in events if e["kind"] == "transfer"] == [1, 2]


# --- call_summary_for_list: the rollup path and when it is taken ----------------------------------


@pytest.fixture
def summary_world(db, settings):
    return build_summary_world(settings)


@pytest.mark.parametrize(
    ("chosen", "keys"),
    [
        ({}, "a1 a2 a3 b1 b2 b3 c1 c2 n1 n2"),
        # b2 started 23:15 UTC on March 2nd, March 3rd in Paris.
        ({"date_from": date(2026, 3, 3), "date_to": date(2026, 3, 4)}, "a3 b1 b2 c1"),
        # a1's repeat contact (b1) is outside the range and still makes a1 a repeat.
        ({"date_to": date(2026, 3, 2)}, "a1 a2 n2"),
        ({"date_from": date(2026, 3, 5)}, "b3 c2 n1"),
        ({"agent": "ann"}, "a1 a2 a3"),
        ({"team": "red"}, "a1 a2 a3 b1 b2 b3"),
        ({"team": "blue"}, "c1 c2"),
        ({"agent": "bob", "date_from": date(2026, 3, 2), "date_to": date(2026, 3, 3)}, "b2"),
        ({"team": "blue", "date_from": date(2026, 3, 3), "date_to": date(2026, 3, 3)}, "c1"),
        ({"agent": "cat", "team": "red"}, ""),
        # A blank search is no search (call_filter strips it).
        ({"search": "   "}, "a1 a2 a3 b1 b2 b3 c1 c2 n1 n2"),
    ],
    ids=[
        "all",
        "days",
        "up-to-a-day",
        "from-a-day",
        "agent",
        "team",
        "other-team",
        "agent-days",
        "team-day",
        "agent-outside-team",
        "blank-search",
    ],
)
def test_list_summary_from_rollups_equals_the_hand_count_and_the_live_summary(
    summary_world, admin_user, chosen, keys
):
    if "agent" in chosen:
        chosen["agent"] = summary_world.agents[chosen["agent"]]
    if "team" in chosen:
        chosen["team"] = summary_world.teams[chosen["team"]]

    summary, live, read_rollups = list_summary(admin_user, list_filters(**chosen))

    assert read_rollups is True
    assert summary == hand_summary(specs_of(keys))
    assert summary == live


def test_list_summary_of_all_calls_by_hand(summary_world, reviewer):
    summary, live, read_rollups = list_summary(reviewer, list_filters())

    # Reviewers see every call too. By hand: 10 calls, 8 an agent handled (n1, n2 have no agent: abandoned,
    # 2 of 10); over the 8: handle 115+200+120+330+50+60+90+400 = 1365; transferred a2 c2; escalated b1 c2
    # (n2's escalation is not an agent's); resolved all but b1. Of the 8, a3 has no customer: 7 identified,
    # 1 anonymous; over the 7: repeat a1 a2 b1 c1; FCR b2 b3 (a3, resolved and untransferred, is not counted:
    # its FCR is unknown). Wait 295 over all 10.
    assert read_rollups is True
    assert (summary["calls"], summary["handled_calls"], summary["abandoned"]) == (10, 8, 2)
    assert (summary["identified_calls"], summary["anonymous_calls"]) == (7, 1)
    assert (summary["transferred"], summary["escalated"], summary["resolved"]) == (2, 2, 7)
    assert (summary["repeat_contacts"], summary["first_contact_resolved"]) == (4, 2)
    assert summary["average_handle_seconds"] == 1365 / 8
    assert summary["average_wait_seconds"] == 29.5
    assert (summary["first_contact_resolved_rate"], summary["abandoned_rate"]) == (2 / 7, 0.2)
    assert (summary["transferred_rate"], summary["repeat_contacts_rate"]) == (0.25, 4 / 7)
    assert summary == live


def test_average_handle_time_leaves_out_calls_no_agent_took(summary_world, admin_user):
    """AHT is over handled calls, on both paths, as on the leaderboard: the agentless n1 (abandoned, 0 s) and
    n2 do not pull it down; it counts as abandoned instead, and the wait counts every call."""
    summary, live, read_rollups = list_summary(
        admin_user, list_filters(date_from=date(2026, 3, 5), date_to=date(2026, 3, 5))
    )

    # 5 March: c2 (400 s, agent cat) and n1 (0 s, no agent).
    assert read_rollups is True
    assert summary["calls"] == live["calls"] == 2
    assert summary["average_handle_seconds"] == live["average_handle_seconds"] == 400
    assert summary["average_wait_seconds"] == (30 + 90) / 2
    # c2 was transferred twice: not resolved on first contact.
    assert (summary["abandoned"], summary["abandoned_rate"], summary["first_contact_resolved_rate"]) == (
        1,
        0.5,
        0.0,
    )
    assert summary == live


@pytest.mark.django_db
def test_rates_of_only_abandoned_calls_are_none():
    CallFactory(agent=None, talk_seconds=0, hold_seconds=0, wrap_seconds=0, is_resolved=True)

    summary = call_summary(Call.objects.all())

    assert (summary["calls"], summary["handled_calls"], summary["abandoned_rate"]) == (1, 0, 1.0)
    assert summary["average_handle_seconds"] is None
    assert (summary["first_contact_resolved_rate"], summary["transferred_rate"]) == (None, None)


def test_team_average_is_the_exact_quotient_on_both_paths(summary_world, admin_user):
    summary, live, _ = list_summary(admin_user, list_filters(team=summary_world.teams["red"]))

    # 115 + 200 + 120 + 330 + 50 + 60 = 875 s over 6 calls: not a round number, equal to the last bit.
    assert summary["average_handle_seconds"] == 875 / 6
    assert live["average_handle_seconds"] == 875 / 6


def test_call_durations_cannot_be_null():
    # The rollup path divides summed durations by the number of calls, which is AVG only while no duration
    # can be NULL (AVG skips NULLs; the rollups keep no count of them).
    fields = ("talk_seconds", "hold_seconds", "wrap_seconds", "wait_seconds")

    assert [Call._meta.get_field(name).null for name in fields] == [False, False, False, False]


@pytest.fixture
def poisoned_world(summary_world):
    """The summary world with 1000 hours of phantom handle time in one rollup row (the call count kept right,
    so the guard does not notice): a summary that reads the rollups shows them."""
    AgentDayCallStats.objects.filter(agent=summary_world.agents["ann"], day=date(2026, 3, 2)).update(
        handle_seconds=F("handle_seconds") + 3_600_000
    )
    return summary_world


def test_poisoned_rollups_show_through_the_rollup_path(poisoned_world, admin_user):
    summary, live, read_rollups = list_summary(admin_user, list_filters())

    assert read_rollups is True
    assert summary["calls"] == live["calls"] == 10
    # Spread over the 8 calls an agent handled (AHT leaves out the agentless n1, n2).
    assert summary["average_handle_seconds"] - live["average_handle_seconds"] == pytest.approx(3_600_000 / 8)


def test_rollups_that_miss_calls_are_not_believed_and_the_summary_is_counted_live(
    summary_world, admin_user, caplog
):
    """A writer that did not refresh the rollups: their call count disagrees with the calls table, so the
    list is summed live (its pagination depends on that count) and the mismatch is logged."""
    AgentDayCallStats.objects.filter(agent=summary_world.agents["ann"]).delete()

    with caplog.at_level("WARNING", logger="calls.selectors"):
        summary, live, from_rollups = list_summary(admin_user, list_filters())

    assert from_rollups is False
    assert summary == live
    assert summary["calls"] == 10
    assert "rollups hold 7 calls where the calls table has 10" in caplog.text


@pytest.mark.parametrize(
    ("chosen", "calls"),
    [
        ({"channel": "chat"}, 1),  # a3
        ({"department": "Billing"}, 6),  # the Red team's calls
        ({"is_resolved": True}, 7),
        ({"is_resolved": False}, 3),  # b1 n1 n2
        ({"is_transferred": False}, 8),
        ({"is_escalated": True}, 3),  # b1 c2 n2
        ({"is_first_contact_resolution": False}, 7),
        ({"search": "CU-X"}, 3),  # a1 b1 c2
        ({"search": "CU-X", "agent": "ann"}, 1),  # a1
    ],
    ids=lambda value: "-".join(value) if isinstance(value, dict) else str(value),
)
def test_any_other_filter_is_counted_live(poisoned_world, admin_user, chosen, calls):
    if "department" in chosen:
        chosen["department"] = Department.objects.get(name=chosen["department"])
    if "agent" in chosen:
        chosen["agent"] = poisoned_world.agents[chosen["agent"]]

    summary, live, read_rollups = list_summary(admin_user, list_filters(**chosen))

    assert read_rollups is False
    assert summary["calls"] == calls
    assert summary == live


@pytest.fixture
def taken_over_world(summary_world):
    """The summary world with transfers that hand calls over: c2 (Cat, team Blue) to Ann, a2 (Ann) to Bob.
    Only who took the transfer changes, so no call's flags (nor the rollups) do."""
    world = summary_world
    Transfer.objects.filter(call=world.calls["c2"], sequence=1).update(to_agent=world.agents["ann"])
    Transfer.objects.filter(call=world.calls["a2"]).update(to_agent=world.agents["bob"])
    return world


def _login_of(agent: Agent):
    agent.user = UserFactory(username=agent.employee_code.lower(), roles=["agent"])
    agent.save()
    return agent.user


@pytest.mark.parametrize(
    ("who", "chosen", "keys"),
    [
        # Red's own calls, plus c2, first handled in Blue and transferred to Ann (a2 stays counted once).
        ("red-lead", {}, "a1 a2 a3 b1 b2 b3 c2"),
        ("red-lead", {"date_from": date(2026, 3, 5)}, "b3 c2"),
        ("ann", {}, "a1 a2 a3 c2"),
        # a2 was first handled by Ann and transferred to Bob: Bob's list counts it live.
        ("bob", {}, "a2 b1 b2 b3"),
        ("bob", {"date_to": date(2026, 3, 3)}, "a2 b2"),
        ("cat", {}, "c1 c2"),
    ],
)
def test_supervisor_and_agent_lists_come_from_their_agents_rollups_plus_the_calls_transferred_to_them(
    taken_over_world, who, chosen, keys
):
    world = taken_over_world
    if who == "red-lead":
        user = UserFactory(username="red-lead", roles=["supervisor"])
        world.teams["red"].supervisors.add(user)
    else:
        user = _login_of(world.agents[who])

    summary, live, from_rollups = list_summary(user, list_filters(**chosen))

    assert from_rollups is True
    assert summary == hand_summary(specs_of(keys))
    assert summary == live


def test_a_supervisors_list_narrowed_to_an_agent_or_a_team_is_counted_live(taken_over_world):
    world = taken_over_world
    user = UserFactory(username="red-lead", roles=["supervisor"])
    world.teams["red"].supervisors.add(user)

    for chosen, keys in (
        ({"agent": world.agents["ann"]}, "a1 a2 a3"),
        ({"team": world.teams["red"]}, "a1 a2 a3 b1 b2 b3"),
    ):
        summary, live, read_rollups = list_summary(user, list_filters(**chosen))

        assert read_rollups is False
        assert summary == hand_summary(specs_of(keys)) == live


def test_a_user_who_sees_no_call_never_reads_the_rollups(summary_world):
    nobody = UserFactory(username="nobody")

    summary, live, read_rollups = list_summary(nobody, list_filters())

    assert read_rollups is False
    assert summary["calls"] == live["calls"] == 0


def test_days_of_another_time_zone_are_counted_live(poisoned_world, admin_user):
    with timezone.override(UTC):
        summary, live, read_rollups = list_summary(
            admin_user, list_filters(date_from=date(2026, 3, 3), date_to=date(2026, 3, 3))
        )

    # In UTC, b2 (00:15 in Paris) is on March 2nd: only c1 is on March 3rd.
    assert read_rollups is False
    assert summary["calls"] == 1
    assert summary == live


def test_invalid_filters_are_counted_live_as_no_calls(poisoned_world, admin_user):
    summary, live, read_rollups = list_summary(admin_user, None)

    assert read_rollups is False
    assert summary == live == hand_summary([])
