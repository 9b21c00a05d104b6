"""The calls web UI: login, permissions, filters, htmx partials, pagination, the call page."""

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest
from django.db import connection
from django.template import Template
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from calls import views
from calls.models import AgentDayCallStats, Call
from calls.selectors import call_repeat_window_open, call_summary
from calls.templatetags.calls_tags import duration, http_url_or_empty, percent, phone_for, transcript_lines
from tests.calls.helpers import (
    SPECS,
    build_summary_world,
    busy_calls,
    hand_summary,
    rollups_refresh_all,
    specs_of,
)
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    DepartmentFactory,
    EscalationFactory,
    TeamFactory,
    TransferFactory,
)
from tests.html_a11y import page_of

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LIST_URL = reverse("calls:list")


def detail_url(call: Call) -> str:
    return reverse("calls:detail", args=[call.pk])


def listed_ids(response) -> list[str]:
    return [call.external_id for call in response.context["calls"]]


# --- login ------------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize("url", [LIST_URL, "/calls/1/", "/"])
def test_anonymous_users_are_redirected_to_login(client, url):
    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={url}"


@pytest.mark.django_db
def test_login_leads_to_the_calls_list(client, owner_agent):
    CallFactory(external_id="OWN-1", agent=owner_agent, started_at=T0)

    response = client.post(reverse("login"), {"username": "owner", "password": "pw"}, follow=True)

    assert response.redirect_chain == [(reverse("home"), 302), (LIST_URL, 302)]
    assert response.status_code == 200
    assert listed_ids(response) == ["OWN-1"]
    assert response.wsgi_request.user.username == "owner"


@pytest.mark.django_db
def test_login_honours_next_to_a_call_page(client, owner_agent):
    call = CallFactory(agent=owner_agent, started_at=T0)

    response = client.post(
        reverse("login"), {"username": "owner", "password": "pw", "next": detail_url(call)}, follow=True
    )

    assert response.redirect_chain == [(detail_url(call), 302)]
    assert response.context["call"].pk == call.pk


@pytest.mark.django_db
def test_wrong_password_stays_on_login_with_an_error(client, owner_agent):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})

    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert "Please correct the errors below." in response.content.decode()


@pytest.mark.django_db
def test_wrong_credentials_are_tied_to_both_login_fields(client, owner_agent):
    response = client.post(reverse("login"), {"username": "owner", "password": "nope"})

    page = page_of(response)
    assert page.unresolved_references() == []
    expected = (
        "Please correct the errors below. Please enter a correct username and password. "
        "Note that both fields may be case-sensitive."
    )
    for name in ("username", "password"):
        control = page.one("input", name=name)
        assert control.attrs["aria-invalid"] == "true"
        assert page.description(control) == expected


@pytest.mark.django_db
def test_list_rejects_post(client, admin_user):
    client.force_login(admin_user)

    assert client.post(LIST_URL).status_code == 405


# --- permissions ------------------------------------------------------------------------------------


@pytest.fixture
def matrix_calls(owner_agent, teammate_agent, outsider_agent):
    calls = {
        "owner": CallFactory(external_id="M-OWNER", agent=owner_agent, started_at=T0),
        "teammate": CallFactory(
            external_id="M-MATE", agent=teammate_agent, started_at=T0 + timedelta(minutes=1)
        ),
        "outsider": CallFactory(
            external_id="M-OUT", agent=outsider_agent, started_at=T0 + timedelta(minutes=2)
        ),
        "to_owner": CallFactory(
            external_id="M-TO-OWNER", agent=outsider_agent, started_at=T0 + timedelta(minutes=3)
        ),
    }
    TransferFactory(call=calls["to_owner"], sequence=1, from_agent=outsider_agent, to_agent=owner_agent)
    rollups_refresh_all()
    return calls


VISIBLE = {
    "owner": {"owner", "to_owner"},
    "teammate": {"teammate"},
    "outsider": {"outsider", "to_owner"},
    "supervisor": {"owner", "teammate", "to_owner"},
    "reviewer": {"owner", "teammate", "outsider", "to_owner"},
    "admin": {"owner", "teammate", "outsider", "to_owner"},
}


def user_for(request, who):
    return {
        "owner": lambda: request.getfixturevalue("owner_agent").user,
        "teammate": lambda: request.getfixturevalue("teammate_agent").user,
        "outsider": lambda: request.getfixturevalue("outsider_agent").user,
        "supervisor": lambda: request.getfixturevalue("supervisor"),
        "reviewer": lambda: request.getfixturevalue("reviewer"),
        "admin": lambda: request.getfixturevalue("admin_user"),
    }[who]()


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_permission_matrix_on_list_and_call_pages(request, client, matrix_calls, who):
    client.force_login(user_for(request, who))

    response = client.get(LIST_URL)

    expected = {matrix_calls[name].external_id for name in VISIBLE[who]}
    assert sorted(listed_ids(response)) == sorted(expected)
    assert response.context["summary"]["calls"] == len(expected)
    for name, call in matrix_calls.items():
        status = client.get(detail_url(call)).status_code
        assert status == (200 if name in VISIBLE[who] else 404), (who, name)


@pytest.mark.django_db
def test_foreign_call_is_404_like_a_missing_one(client, owner_agent, matrix_calls):
    client.force_login(owner_agent.user)

    foreign = client.get(detail_url(matrix_calls["teammate"]))
    missing = client.get(reverse("calls:detail", args=[999_999_999]))

    assert foreign.status_code == missing.status_code == 404
    assert matrix_calls["teammate"].external_id not in foreign.content.decode()


@pytest.mark.django_db
def test_agent_and_team_choices_are_limited_to_what_the_user_may_see(client, supervisor, matrix_calls):
    client.force_login(supervisor)

    form = client.get(LIST_URL).context["form"]

    assert sorted(a.employee_code for a in form.fields["agent"].queryset) == ["A-MATE", "A-OWNER"]
    assert [t.name for t in form.fields["team"].queryset] == ["Billing East"]


@pytest.mark.django_db
def test_filtering_by_a_foreign_agent_is_an_error_and_shows_nothing(
    client, supervisor, outsider_agent, matrix_calls
):
    client.force_login(supervisor)

    response = client.get(LIST_URL, {"agent": outsider_agent.pk})

    assert response.status_code == 200
    assert "agent" in response.context["form"].errors
    assert listed_ids(response) == []
    assert response.context["summary"]["calls"] == 0
    assert "M-OUT" not in response.content.decode()


# --- filters, summary, htmx -------------------------------------------------------------------------


@pytest.fixture
def filter_calls(db, settings):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    billing = DepartmentFactory(name="Billing")
    tech = DepartmentFactory(name="Tech")
    red = TeamFactory(name="Red", department=billing)
    blue = TeamFactory(name="Blue", department=tech)
    ann = AgentFactory(employee_code="A-ANN", name="Ann", team=red)
    bob = AgentFactory(employee_code="A-BOB", name="Bob", team=blue)
    acme = CustomerFactory(external_id="CU-ACME", name="Acme Ltd", phone="+15550001234")
    calls = {
        "F1": CallFactory(
            external_id="F1", agent=ann, department=billing, customer=acme, started_at=T0, talk_seconds=100
        ),
        "F2": CallFactory(
            external_id="F2",
            agent=ann,
            department=billing,
            started_at=T0 + timedelta(days=1),
            channel="chat",
            talk_seconds=200,
        ),
        "F3": CallFactory(
            external_id="F3",
            agent=bob,
            department=tech,
            started_at=T0 + timedelta(days=2),
            is_resolved=False,
            talk_seconds=300,
        ),
        "F4": CallFactory(
            external_id="F4",
            agent=bob,
            department=tech,
            customer=acme,
            started_at=T0 + timedelta(days=3),
            talk_seconds=400,
        ),
    }
    TransferFactory(call=calls["F3"], sequence=1, from_agent=bob, to_department=billing, reason="wrong queue")
    EscalationFactory(call=calls["F4"], sequence=1)
    rollups_refresh_all()
    return {
        "calls": calls,
        "ann": ann,
        "bob": bob,
        "red": red,
        "blue": blue,
        "billing": billing,
        "tech": tech,
    }


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["F4", "F3", "F2", "F1"]),
        ({"channel": "chat"}, ["F2"]),
        ({"transferred": "yes"}, ["F3"]),
        ({"transferred": "no"}, ["F4", "F2", "F1"]),
        ({"escalated": "yes"}, ["F4"]),
        ({"resolved": "no"}, ["F3"]),
        # F1 is followed by F4 (same customer, 3 days later): not FCR. F3 is unresolved and transferred.
        ({"fcr": "yes"}, ["F4", "F2"]),
        ({"fcr": "no"}, ["F3", "F1"]),
        ({"date_from": "2026-03-03", "date_to": "2026-03-04"}, ["F3", "F2"]),
        ({"q": "acme"}, ["F4", "F1"]),
        ({"q": "f2"}, ["F2"]),
        ({"resolved": "yes", "escalated": "no", "channel": "phone"}, ["F1"]),
    ],
)
def test_list_filters(client, admin_user, filter_calls, params, expected):
    client.force_login(admin_user)

    response = client.get(LIST_URL, params)

    assert response.context["form"].errors == {}
    assert listed_ids(response) == expected


def test_list_filters_by_agent_team_and_department(client, admin_user, filter_calls):
    client.force_login(admin_user)

    def ids(**params):
        return listed_ids(client.get(LIST_URL, params))

    assert ids(agent=filter_calls["ann"].pk) == ["F2", "F1"]
    assert ids(team=filter_calls["blue"].pk) == ["F4", "F3"]
    assert ids(department=filter_calls["billing"].pk) == ["F2", "F1"]


def test_summary_strip_matches_call_summary_of_the_filtered_calls(client, admin_user, filter_calls):
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"department": filter_calls["tech"].pk})

    summary = response.context["summary"]
    # F3 and F4: one transferred, one escalated, FCR only F4; handle (300 + 400) / 2 = 350 s.
    assert summary["calls"] == 2
    assert summary["transferred_rate"] == pytest.approx(0.5)
    assert summary["escalated_rate"] == pytest.approx(0.5)
    assert summary["first_contact_resolved_rate"] == pytest.approx(0.5)
    assert float(summary["average_handle_seconds"]) == pytest.approx(350.0)
    assert summary == call_summary(Call.objects.filter(external_id__in=["F3", "F4"]))
    html = response.content.decode()
    assert "<dd>50.0 %</dd>" in html
    assert "<dd>5:50</dd>" in html


def test_the_summary_is_marked_provisional_while_a_calls_repeat_window_is_open(client, admin_user, settings):
    """A call younger than the repeat window may still get its repeat contact: FCR and repeats may change."""
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    now = datetime.now(UTC)
    CallFactory(external_id="OLD", started_at=now - timedelta(days=8))
    CallFactory(external_id="NEW", started_at=now - timedelta(days=6, hours=23))
    client.force_login(admin_user)
    note = "Provisional: some of these calls are less than 7 days old"

    def shows_note(**params) -> bool:
        response = client.get(LIST_URL, {"date_from": "", "date_to": "", **params})
        assert response.context["repeat_window_open"] is (note in response.text)
        return note in response.text

    assert shows_note() is True
    assert shows_note(q="OLD") is False
    assert shows_note(q="NEW") is True
    assert shows_note(q="NOTHING") is False  # no calls: nothing to qualify
    settings.REPEAT_CONTACT_WINDOW_DAYS = 6
    assert shows_note(q="NEW") is False


def test_a_list_ending_before_the_repeat_window_needs_no_query_to_know_it_is_settled(
    db, settings, django_assert_num_queries
):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    today = timezone.localdate()
    with django_assert_num_queries(0):
        assert call_repeat_window_open(Call.objects.all(), date_to=today - timedelta(days=8)) is False
    CallFactory(started_at=timezone.now() - timedelta(days=6, hours=23))
    with django_assert_num_queries(1):
        assert call_repeat_window_open(Call.objects.all(), date_to=today - timedelta(days=6)) is True


def summary_queries(captured) -> list[str]:
    return [q["sql"] for q in captured.captured_queries if AgentDayCallStats._meta.db_table in q["sql"]]


@pytest.mark.django_db
def test_admin_list_summary_comes_from_the_rollups_with_the_right_totals(client, admin_user, settings):
    build_summary_world(settings)
    settings.CALLS_DEFAULT_PERIOD_DAYS = 30
    settings.CALLS_PAGE_SIZE = 4
    client.force_login(admin_user)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST_URL)

    # The default period (February 5th to March 6th, the last call's day) holds all ten calls.
    assert response.context["default_period"] == (date(2026, 2, 5), date(2026, 3, 6))
    assert len(summary_queries(captured)) == 1
    assert response.context["summary"] == hand_summary(SPECS)
    assert response.context["page_obj"].paginator.num_pages == 3
    assert len(listed_ids(response)) == 4
    html = response.content.decode()
    # 10 calls, 2 abandoned (20 %); of the 8 an agent handled: transferred 2 and escalated 2 (25 %); handle
    # 1365 s / 8 = 170.6 s, shown as 2:51. Of the 8, 7 have a customer (a3 is anonymous): FCR b2 b3, 2 of 7
    # (28.6 %), repeat a1 a2 b1 c1, 4 of 7 (57.1 %).
    for shown in (
        "<dd>10</dd>",
        "20.0 %",
        "<dd>25.0 %</dd>",
        '<dd>28.6 %<span class="sub">of 7 calls from identified callers</span></dd>',
        "<dd>2:51</dd>",
        '<dd>57.1 %<span class="sub">of 7 calls from identified callers</span></dd>',
        "1 anonymous call left out",
    ):
        assert shown in html


@pytest.mark.django_db
def test_admin_list_summary_of_a_team_and_days_from_the_rollups(client, admin_user, settings):
    world = build_summary_world(settings)
    client.force_login(admin_user)

    with CaptureQueriesContext(connection) as captured:
        response = client.get(
            LIST_URL, {"team": world.teams["red"].pk, "date_from": "2026-03-03", "date_to": "2026-03-06"}
        )

    assert len(summary_queries(captured)) == 1
    assert response.context["summary"] == hand_summary(specs_of("a3 b1 b2 b3"))
    assert sorted(listed_ids(response)) == ["a3", "b1", "b2", "b3"]


def test_invalid_date_range_shows_an_error_and_no_rows(client, admin_user, filter_calls):
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    assert response.status_code == 200
    assert response.context["form"].errors == {"date_to": ["The end date is before the start date."]}
    assert listed_ids(response) == []
    assert "The end date is before the start date." in response.content.decode()


def test_a_filter_error_is_tied_to_its_field(client, admin_user, filter_calls):
    """The filter inputs are rendered whole, so Django points them at `<id>_error`: the summary entry."""
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"date_from": "2026-03-05", "date_to": "2026-03-01"})

    page = page_of(response)
    assert page.unresolved_references() == []
    date_to = page.one("input", name="date_to")
    assert date_to.attrs["aria-invalid"] == "true"
    assert page.description(date_to) == "To: The end date is before the start date."
    assert "aria-invalid" not in page.one("input", name="date_from").attrs


HX = {"HX-Request": "true"}
# The filter controls as Django renders them, in the form's order (buttons and links left out).
FILTER_CONTROLS = [
    ("input", "q"),
    ("input", "date_from"),
    ("input", "date_to"),
    ("select", "agent"),
    ("select", "team"),
    ("select", "department"),
    ("select", "channel"),
    ("select", "transferred"),
    ("select", "escalated"),
    ("select", "resolved"),
    ("select", "fcr"),
]


def filter_wiring(response) -> dict[str, tuple[str | None, str | None]]:
    """Each filter control of the response's form: (aria-invalid, the text its aria-describedby names)."""
    page = page_of(response)
    assert page.unresolved_references() == []
    form = page.one("form", id="call-filters")
    assert (form.attrs.get("hx-swap-oob"), form.attrs.get("data-aria-sync")) == ("true", "")
    wiring = {}
    for tag, name in FILTER_CONTROLS:
        control = page.one(tag, name=name)
        described = page.description(control) if "aria-describedby" in control.attrs else None
        wiring[name] = (control.attrs.get("aria-invalid"), described)
    return wiring


def test_an_htmx_filter_change_brings_the_form_back_wired_to_the_errors_it_made(
    client, admin_user, filter_calls
):
    client.force_login(admin_user)

    wrong = client.get(LIST_URL, {"date_from": "2026-03-05", "date_to": "2026-03-01"}, headers=HX)

    assert wrong.status_code == 200
    assert listed_ids(wrong) == []
    assert filter_wiring(wrong) == {
        **{name: (None, None) for _, name in FILTER_CONTROLS},
        "date_to": ("true", "To: The end date is before the start date."),
    }

    corrected = client.get(LIST_URL, {"date_from": "2026-03-01", "date_to": "2026-03-04"}, headers=HX)

    assert sorted(listed_ids(corrected)) == ["F1", "F2", "F3"]
    assert filter_wiring(corrected) == {name: (None, None) for _, name in FILTER_CONTROLS}
    assert page_of(corrected).find_all("li", id="id_date_to_error") == []


def test_an_htmx_filter_change_rewires_each_control_to_its_own_current_error(
    client, admin_user, filter_calls
):
    client.force_login(admin_user)

    several = client.get(LIST_URL, {"date_from": "yesterday", "agent": "abc", "fcr": "maybe"}, headers=HX)

    assert filter_wiring(several) == {
        **{name: (None, None) for _, name in FILTER_CONTROLS},
        "date_from": ("true", "From: Enter a valid date."),
        "agent": ("true", "Agent: Select a valid choice. That choice is not one of the available choices."),
        "fcr": (
            "true",
            "First-contact resolved: Select a valid choice. maybe is not one of the available choices.",
        ),
    }

    # The next change fixes two of them and keeps one: only that one stays wired, to its (same) message.
    fewer = client.get(LIST_URL, {"date_from": "", "fcr": "maybe", "channel": "chat"}, headers=HX)

    assert filter_wiring(fewer) == {
        **{name: (None, None) for _, name in FILTER_CONTROLS},
        "fcr": (
            "true",
            "First-contact resolved: Select a valid choice. maybe is not one of the available choices.",
        ),
    }


def test_malformed_filter_values_are_form_errors_not_500(client, admin_user, filter_calls):
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"date_from": "yesterday", "agent": "abc", "fcr": "maybe", "page": "x"})

    assert response.status_code == 200
    assert set(response.context["form"].errors) == {"date_from", "agent", "fcr"}
    assert listed_ids(response) == []


@pytest.mark.parametrize(
    ("zone", "params", "field"),
    [
        ("UTC", {"date_to": "9999-12-31"}, "date_to"),  # its end is in year 10000
        ("Asia/Tokyo", {"date_from": "0001-01-01"}, "date_from"),  # its start is in year 0 in UTC
    ],
)
def test_a_day_whose_bounds_no_datetime_holds_is_a_form_error_not_500(
    client, admin_user, filter_calls, zone, params, field
):
    client.force_login(admin_user)

    with timezone.override(zone):
        response = client.get(LIST_URL, params)

    assert response.status_code == 200
    assert response.context["form"].errors == {field: ["This date is out of range."]}
    assert listed_ids(response) == []
    assert listed_ids(client.get(LIST_URL, {"date_from": "0001-01-01", "date_to": "9999-12-30"})) == [
        "F4",
        "F3",
        "F2",
        "F1",
    ]


def test_htmx_request_gets_only_the_results_partial(client, admin_user, filter_calls):
    client.force_login(admin_user)

    full = client.get(LIST_URL, {"channel": "chat"})
    partial = client.get(LIST_URL, {"channel": "chat"}, headers={"HX-Request": "true"})
    restore = client.get(
        LIST_URL, {"channel": "chat"}, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )

    full_html, partial_html = full.content.decode(), partial.content.decode()
    assert "<html" in full_html and 'id="results"' in full_html and "<form" in full_html
    assert "<html" not in partial_html and 'id="results"' not in partial_html
    # The filter form rides along out of band only (its error wiring), never as part of the results.
    assert partial_html.count("<form") == 1
    assert page_of(partial).one("form", id="call-filters").attrs["hx-swap-oob"] == "true"
    assert 'class="summary-strip"' in partial_html
    assert ">F2</a>" in partial_html and ">F1</a>" not in partial_html
    assert "<html" in restore.content.decode()
    assert "HX-Request" in partial["Vary"]
    assert "HX-Request" in full["Vary"]


def test_list_page_wires_the_filter_form_to_htmx(client, admin_user):
    client.force_login(admin_user)

    html = client.get(LIST_URL).content.decode()

    assert f'hx-get="{LIST_URL}"' in html
    assert 'hx-target="#results"' in html
    assert 'hx-push-url="true"' in html
    assert "htmx" in html  # the script tag from base.html


def test_customer_phone_is_masked_unless_the_role_may_see_it(client, filter_calls, reviewer, admin_user):
    client.force_login(reviewer)
    reviewer_html = client.get(LIST_URL).content.decode()
    client.force_login(admin_user)
    admin_html = client.get(LIST_URL).content.decode()

    assert "+15550001234" not in reviewer_html
    assert "•••••••1234" in reviewer_html
    assert "+15550001234" in admin_html


def test_reviewer_cannot_search_by_phone_but_an_admin_can(client, filter_calls, reviewer, admin_user):
    client.force_login(reviewer)
    assert listed_ids(client.get(LIST_URL, {"q": "0001234"})) == []
    client.force_login(admin_user)
    assert listed_ids(client.get(LIST_URL, {"q": "0001234"})) == ["F4", "F1"]


# --- pagination and query counts --------------------------------------------------------------------


@pytest.mark.django_db
def test_pagination_keeps_the_filter_querystring(client, admin_user, settings):
    settings.CALLS_PAGE_SIZE = 5
    for i in range(12):
        CallFactory(external_id=f"P{i:02d}", channel="chat", started_at=T0 + timedelta(minutes=i))
    CallFactory(external_id="PHONE", channel="phone", started_at=T0)
    client.force_login(admin_user)

    first = client.get(LIST_URL, {"channel": "chat"})
    second = client.get(LIST_URL, {"channel": "chat", "page": "2"})
    third = client.get(LIST_URL, {"channel": "chat", "page": "3"})

    assert listed_ids(first) == [f"P{i:02d}" for i in range(11, 6, -1)]
    assert listed_ids(second) == [f"P{i:02d}" for i in range(6, 1, -1)]
    assert listed_ids(third) == ["P01", "P00"]
    assert first.context["page_obj"].paginator.num_pages == 3
    assert first.context["querystring_next"] == "channel=chat&page=2"
    assert second.context["querystring_prev"] == "channel=chat&page=1"
    assert 'href="?channel=chat&amp;page=3"' in second.content.decode()
    assert "Page 2 of 3 · 12 results" in second.content.decode()


def _list_queries(client) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(LIST_URL)
    assert response.status_code == 200
    return len(captured.captured_queries), len(response.context["calls"])


def _make_busy_calls(n: int, agents, customers) -> None:
    busy_calls(n, agents, customers, start=T0)
    rollups_refresh_all()


@pytest.mark.parametrize("who", ["supervisor", "admin_user"])
def test_list_query_count_does_not_grow_with_the_rows_on_the_page(
    request, client, settings, team, django_assert_max_num_queries, who
):
    settings.CALLS_PAGE_SIZE = 100
    agents = [AgentFactory(team=team) for _ in range(3)]
    customers = [CustomerFactory() for _ in range(4)]
    client.force_login(request.getfixturevalue(who))
    _make_busy_calls(5, agents, customers)
    # A supervisor's summary: their agents' rollups, the calls transferred to them, and the guard's count;
    # their agents' ids are read once; one EXISTS tells whether the summary is provisional.
    with django_assert_max_num_queries(15):
        few_queries, few_rows = _list_queries(client)

    _make_busy_calls(55, agents, customers)
    with django_assert_max_num_queries(15):
        many_queries, many_rows = _list_queries(client)

    assert (few_rows, many_rows) == (5, 60)
    assert few_queries == many_queries


# --- the call page ----------------------------------------------------------------------------------


@pytest.fixture
def rich_call(db, owner_agent, teammate_agent):
    billing = DepartmentFactory(name="Billing")
    tech = DepartmentFactory(name="Technical support")
    customer = CustomerFactory(external_id="CU-RICH", name="Rita Rich", phone="+15559876543")
    call = CallFactory(
        external_id="RICH-1",
        agent=owner_agent,
        department=billing,
        customer=customer,
        started_at=T0,
        wait_seconds=15,
        talk_seconds=600,
        hold_seconds=60,
        wrap_seconds=45,
        transcript=(
            "Agent: Thank you for calling, this is Olive.\n"
            "Customer: My router <script>alert('x')</script> is broken\n"
            "and it blinks red.\n"
            "Agent: Let me transfer you to technical support."
        ),
        recording_url="https://recordings.example.com/rich-1.mp3",
    )
    TransferFactory(
        call=call,
        sequence=1,
        at=T0 + timedelta(seconds=200),
        from_department=billing,
        to_department=tech,
        from_agent=owner_agent,
        to_agent=teammate_agent,
        reason="router fault",
    )
    EscalationFactory(
        call=call,
        sequence=1,
        level="tier2",
        reason="needs engineer visit",
        raised_at=T0 + timedelta(seconds=400),
        outcome="visit booked",
        resolved_at=T0 + timedelta(seconds=500),
    )
    return call


def test_call_page_shows_metadata_timeline_and_transcript(client, supervisor, rich_call):
    client.force_login(supervisor)

    response = client.get(detail_url(rich_call))

    html = response.content.decode()
    assert response.status_code == 200
    assert "Call RICH-1" in html
    assert "Olive Owner (A-OWNER)" in html
    # Handle time 600 + 60 + 45 = 705 s = 11:45; the wait is separate.
    assert "11:45" in html
    assert "+15559876543" in html  # supervisors see the full phone
    kinds = [event["kind"] for event in response.context["timeline"]]
    assert kinds == ["started", "answered", "transfer", "escalation", "escalation_resolved", "ended"]
    assert "Billing (Olive Owner (A-OWNER))" in html
    assert "Technical support (Tom Mate (A-MATE))" in html
    assert "Reason: router fault" in html
    assert "Escalated</strong> to Tier 2" in html
    assert "Reason: needs engineer visit" in html
    assert "Outcome: visit booked" in html
    lines = response.context["transcript"]
    assert [(line.role, line.speaker) for line in lines] == [
        ("agent", "Agent"),
        ("customer", "Customer"),
        ("agent", "Agent"),
    ]
    assert lines[1].text == "My router <script>alert('x')</script> is broken\nand it blinks red."
    assert '<li class="line customer">' in html
    assert '<li class="line agent">' in html


def test_transcript_markup_is_escaped(client, admin_user, rich_call):
    client.force_login(admin_user)

    html = client.get(detail_url(rich_call)).content.decode()

    assert "<script>alert(" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt;" in html


def test_recording_link_only_for_http_urls(client, admin_user, rich_call):
    client.force_login(admin_user)
    assert (
        'href="https://recordings.example.com/rich-1.mp3"'
        in client.get(detail_url(rich_call)).content.decode()
    )

    Call.objects.filter(pk=rich_call.pk).update(recording_url="javascript:alert(1)")
    html = client.get(detail_url(rich_call)).content.decode()

    assert "javascript:alert(1)" not in html
    assert "Listen to the recording" not in html


def test_reviewer_sees_a_masked_phone_on_the_call_page(client, reviewer, rich_call):
    client.force_login(reviewer)

    html = client.get(detail_url(rich_call)).content.decode()

    assert "+15559876543" not in html
    assert "•••••••6543" in html


def test_customer_history_lists_visible_contacts_before_and_after(
    client, owner_agent, outsider_agent, rich_call, settings
):
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    customer = rich_call.customer
    CallFactory(
        external_id="H-BEFORE",
        agent=owner_agent,
        customer=customer,
        started_at=T0 - timedelta(days=2),
        is_resolved=False,
    )
    CallFactory(
        external_id="H-HIDDEN", agent=outsider_agent, customer=customer, started_at=T0 - timedelta(days=1)
    )
    CallFactory(
        external_id="H-AFTER", agent=owner_agent, customer=customer, started_at=T0 + timedelta(days=1)
    )
    CallFactory(
        external_id="H-MUCH-LATER", agent=owner_agent, customer=customer, started_at=T0 + timedelta(days=30)
    )
    client.force_login(owner_agent.user)

    response = client.get(detail_url(rich_call))

    assert [c.external_id for c in response.context["previous_contacts"]] == ["H-BEFORE"]
    assert [c.external_id for c in response.context["later_contacts"]] == ["H-AFTER", "H-MUCH-LATER"]
    # H-AFTER is a day after RICH-1: a repeat contact; H-MUCH-LATER is 29 days after H-AFTER: not.
    assert [c.is_repeat_contact for c in response.context["later_contacts"]] == [True, False]
    assert response.context["previous_contacts"][0].is_repeat_contact is False
    # RICH-1 comes 1-2 days after H-BEFORE and the hidden call: it is itself a repeat contact.
    assert response.context["call"].is_repeat_contact is True
    html = response.content.decode()
    assert "H-HIDDEN" not in html
    assert ">H-BEFORE</a>" in html and ">H-AFTER</a>" in html


def test_customer_history_is_capped_to_the_nearest_contacts(client, admin_user, rich_call, monkeypatch):
    monkeypatch.setattr(views, "CUSTOMER_HISTORY_LIMIT", 2)
    for days in (1, 2, 3):
        CallFactory(external_id=f"B{days}", customer=rich_call.customer, started_at=T0 - timedelta(days=days))
    client.force_login(admin_user)

    response = client.get(detail_url(rich_call))

    assert [c.external_id for c in response.context["previous_contacts"]] == ["B1", "B2"]
    assert response.context["previous_contacts_truncated"] is True
    assert response.context["later_contacts_truncated"] is False
    assert "Showing the nearest 2." in response.content.decode()


def test_call_page_query_count_does_not_grow_with_transfers_or_contacts(
    client, admin_user, rich_call, django_assert_max_num_queries, monkeypatch
):
    client.force_login(admin_user)
    with CaptureQueriesContext(connection) as small:
        client.get(detail_url(rich_call))

    for sequence in range(2, 12):
        TransferFactory(call=rich_call, sequence=sequence, to_agent=AgentFactory())
        EscalationFactory(call=rich_call, sequence=sequence)
    for days in range(1, 10):
        CallFactory(customer=rich_call.customer, started_at=T0 - timedelta(days=days))
    with CaptureQueriesContext(connection) as large:
        response = client.get(detail_url(rich_call))

    # started, answered, 11 transfers, 11 escalations, 1 resolution (only the first has one), ended
    assert len(response.context["timeline"]) == 2 + 11 + 11 + 1 + 1
    assert len(large.captured_queries) == len(small.captured_queries)
    # The page's own queries, without the panels other apps register (they answer for their own):
    # session, user, groups, call, timeline transfers + escalations, contacts before + after.
    monkeypatch.setattr(views, "_call_panels", [])
    with django_assert_max_num_queries(9):
        client.get(detail_url(rich_call))


def test_registered_call_panels_are_rendered_on_the_call_page(client, admin_user, rich_call, monkeypatch):
    monkeypatch.setattr(views, "_call_panels", [])

    panel_template = Template("<section>PANEL for {{ call.external_id }}: {{ panel.score }}</section>")

    def evaluations_panel(request, call):
        return {"template": panel_template, "score": "<b>92</b>"}

    def silent_panel(request, call):
        return None

    views.register_call_panel(evaluations_panel)
    views.register_call_panel(evaluations_panel)
    views.register_call_panel(silent_panel)
    client.force_login(admin_user)

    html = client.get(detail_url(rich_call)).content.decode()

    assert html.count("PANEL for RICH-1: &lt;b&gt;92&lt;/b&gt;") == 1


# --- presentation helpers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "—"),
        (0, "0:00"),
        (59, "0:59"),
        (61, "1:01"),
        (705, "11:45"),
        (3600, "1:00:00"),
        (3725.6, "1:02:06"),
    ],
)
def test_duration_filter(seconds, text):
    assert duration(seconds) == text


def test_percent_and_phone_filters():
    assert percent(None) == "—"
    assert percent(0.4) == "40.0 %"
    assert percent(1 / 3) == "33.3 %"
    assert phone_for("+15550001234", True) == "+15550001234"
    assert phone_for("+15550001234", False) == "•••••••1234"
    assert phone_for("", False) == ""


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://r.example.com/a.mp3", "https://r.example.com/a.mp3"),
        ("HTTP://r.example.com/a", "HTTP://r.example.com/a"),
        ("javascript:alert(1)", ""),
        (" JavaScript:alert(1)", ""),
        ("data:text/html,<b>x</b>", ""),
        ("/relative/path", ""),
        ("https:///no-host", ""),
        ("", ""),
        (None, ""),
    ],
)
def test_http_url_or_empty(url, expected):
    assert http_url_or_empty(url) == expected


def test_transcript_lines_speakers_continuations_and_names():
    text = (
        "intro without speaker\n"
        "[00:00:05] Agent: Hello\r\n"
        "\n"
        "Olive: I can help\n"
        "Rita: see http://example.com at 12:30\n"
        "wrapped line\n"
        "IVR: press 1"
    )

    lines = transcript_lines(text, agent_names=("Olive",), customer_names=("Rita",))

    assert [(line.speaker, line.role, line.text, line.stamp) for line in lines] == [
        ("", "other", "intro without speaker", ""),
        ("Agent", "agent", "Hello", "00:00:05"),
        ("Olive", "agent", "I can help", ""),
        ("Rita", "customer", "see http://example.com at 12:30\nwrapped line", ""),
        ("IVR", "other", "press 1", ""),
    ]
    assert transcript_lines("") == []
    assert [(line.speaker, line.text) for line in transcript_lines("http://example.com/x")] == [
        ("", "http://example.com/x")
    ]


# --- default period -------------------------------------------------------------------------------


@pytest.fixture
def spread_calls(owner_agent):
    """Calls on 1 Jan, 10 Feb, 11 Feb and 12 Mar 2026 (UTC, the project's time zone in tests)."""
    days = {"OLD": datetime(2026, 1, 1, 9, tzinfo=UTC), "EDGE-OUT": datetime(2026, 2, 10, 23, 59, tzinfo=UTC)}
    days |= {
        "EDGE-IN": datetime(2026, 2, 11, 0, 0, tzinfo=UTC),
        "LATEST": datetime(2026, 3, 12, 8, tzinfo=UTC),
    }
    calls = {
        name: CallFactory(external_id=name, agent=owner_agent, started_at=at) for name, at in days.items()
    }
    rollups_refresh_all()
    return calls


def test_list_opens_on_the_last_30_days_up_to_the_latest_call(client, admin_user, spread_calls, settings):
    settings.CALLS_DEFAULT_PERIOD_DAYS = 30
    client.force_login(admin_user)

    response = client.get(LIST_URL)

    # 12 Mar back 30 days inclusive: 11 Feb .. 12 Mar.
    assert sorted(listed_ids(response)) == ["EDGE-IN", "LATEST"]
    assert response.context["summary"]["calls"] == 2
    form = response.context["form"]
    assert (form.cleaned_data["date_from"].isoformat(), form.cleaned_data["date_to"].isoformat()) == (
        "2026-02-11",
        "2026-03-12",
    )
    html = response.content.decode()
    assert "Showing 11 Feb 2026 – 12 Mar 2026, the last 30 days of calls." in html
    assert 'href="?date_from=&amp;date_to="' in html


def test_explicitly_empty_dates_show_every_call(client, admin_user, spread_calls):
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"date_from": "", "date_to": ""})

    assert sorted(listed_ids(response)) == ["EDGE-IN", "EDGE-OUT", "LATEST", "OLD"]
    assert response.context["default_period"] is None
    assert "the last 30 days of calls" not in response.content.decode()


def test_a_search_that_finds_nothing_between_dates_offers_all_dates(
    client, admin_user, spread_calls, settings
):
    settings.CALLS_DEFAULT_PERIOD_DAYS = 30
    client.force_login(admin_user)

    # OLD is a call id from before the last 30 days, as pasted from an older ticket.
    in_period = client.get(LIST_URL, {"q": "OLD", "date_from": "2026-02-11", "date_to": "2026-03-12"})
    everywhere = client.get(LIST_URL, {"q": "OLD", "date_from": "", "date_to": ""})
    no_search = client.get(LIST_URL, {"date_from": "2026-01-01", "date_to": "2026-01-02"})

    assert listed_ids(in_period) == []
    assert (
        'No calls match these filters.\n    <a href="?q=OLD&amp;date_from=&amp;date_to=">Search all dates</a>'
        in in_period.content.decode()
    )
    assert listed_ids(everywhere) == ["OLD"]
    assert "Search all dates" not in no_search.content.decode()  # nothing searched: the dates are the filter


def test_one_explicit_date_replaces_the_default_period(client, admin_user, spread_calls):
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"date_to": "2026-02-10"})

    assert sorted(listed_ids(response)) == ["EDGE-OUT", "OLD"]


def test_default_period_zero_means_all_dates(client, admin_user, spread_calls, settings):
    settings.CALLS_DEFAULT_PERIOD_DAYS = 0
    client.force_login(admin_user)

    response = client.get(LIST_URL)

    assert len(listed_ids(response)) == 4


def test_default_period_on_an_empty_database_is_none(client, admin_user):
    client.force_login(admin_user)

    response = client.get(LIST_URL)

    assert response.status_code == 200
    assert response.context["default_period"] is None
    assert response.context["summary"]["calls"] == 0


def test_calls_without_an_agent_render_in_the_list_and_the_customer_history(client, admin_user):
    customer = CustomerFactory(external_id="CU-NA", name="")
    abandoned = CallFactory(
        external_id="ABANDONED", agent=None, department=None, customer=customer, started_at=T0
    )
    CallFactory(external_id="LATER", agent=None, customer=customer, started_at=T0 + timedelta(days=1))
    client.force_login(admin_user)

    listing = client.get(LIST_URL)
    page = client.get(detail_url(abandoned))

    assert listing.status_code == 200
    assert sorted(listed_ids(listing)) == ["ABANDONED", "LATER"]
    assert page.status_code == 200
    assert "LATER" in page.content.decode()


# --- the CSV download of the list ---------------------------------------------------------------------

EXPORT_URL = reverse("calls:export")
MARCH = {"date_from": "2026-03-02", "date_to": "2026-03-08"}


def exported(response) -> list[dict]:
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    data = b"".join(response.streaming_content)
    assert data.startswith(b"\xef\xbb\xbf")  # a UTF-8 byte-order mark, for Excel
    text = data.decode("utf-8-sig")
    rows = list(csv.DictReader(io.StringIO(text)))
    assert text.splitlines()[0].split(",") == list(views.EXPORT_COLUMNS)
    return rows


def test_the_csv_holds_the_filtered_calls_with_their_figures(client, admin_user, filter_calls, settings):
    settings.TIME_ZONE = "Europe/Paris"
    client.force_login(admin_user)

    rows = exported(client.get(EXPORT_URL, MARCH))
    transferred = exported(client.get(EXPORT_URL, {**MARCH, "transferred": "yes"}))

    assert [row["external_id"] for row in rows] == ["F4", "F3", "F2", "F1"]
    assert [row["external_id"] for row in transferred] == ["F3"]
    f1 = filter_calls["calls"]["F1"]
    assert rows[3] == {
        "external_id": "F1",
        "channel": "phone",
        "direction": "inbound",
        "started_at": "2026-03-02T11:00:00+01:00",  # T0 10:00 UTC in Paris
        "answered_at": "2026-03-02T11:00:30+01:00",
        "ended_at": "2026-03-02T11:02:10+01:00",
        "wait_seconds": "30",
        "talk_seconds": "100",
        "hold_seconds": "0",
        "wrap_seconds": str(f1.wrap_seconds),
        "handle_seconds": str(f1.talk_seconds + f1.hold_seconds + f1.wrap_seconds),
        "department": "Billing",
        "agent_employee_code": "A-ANN",
        "agent_name": "Ann",
        "agent_team": "Red",
        "customer_external_id": "CU-ACME",
        "customer_name": "Acme Ltd",
        "customer_phone": "+15550001234",
        "customer_tier": "standard",
        "disposition": "resolved",
        "resolved": "true",
        "transfers": "0",
        "escalated": "false",
        "first_contact_resolution": "false",  # Acme called again (F4) three days later
        "repeat_contact": "true",
        "recording_url": "",
    }
    by_id = {row["external_id"]: row for row in rows}
    assert (by_id["F3"]["transfers"], by_id["F3"]["resolved"], by_id["F3"]["first_contact_resolution"]) == (
        "1",
        "false",
        "false",
    )
    assert (by_id["F4"]["escalated"], by_id["F4"]["first_contact_resolution"]) == ("true", "true")


def test_the_csv_never_hands_a_spreadsheet_a_formula(client, admin_user, filter_calls):
    calls = filter_calls["calls"]
    Call.objects.filter(pk=calls["F1"].pk).update(disposition='=HYPERLINK("http://evil.example","x")')
    Call.objects.filter(pk=calls["F2"].pk).update(disposition="@SUM(1+1)*cmd|' /C calc'!A0")
    Call.objects.filter(pk=calls["F3"].pk).update(disposition="-2+3")
    client.force_login(admin_user)

    rows = {row["external_id"]: row for row in exported(client.get(EXPORT_URL, MARCH))}

    assert rows["F1"]["disposition"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows["F2"]["disposition"] == "'@SUM(1+1)*cmd|' /C calc'!A0"
    assert rows["F3"]["disposition"] == "'-2+3"
    assert rows["F4"]["disposition"] == "resolved"
    assert rows["F1"]["customer_phone"] == "+15550001234"  # a phone stays as it is


def test_the_csv_masks_phones_and_holds_only_the_users_calls(
    client, reviewer, owner_agent, filter_calls, matrix_calls
):
    client.force_login(reviewer)
    masked = {row["external_id"]: row["customer_phone"] for row in exported(client.get(EXPORT_URL, MARCH))}
    client.force_login(owner_agent.user)
    own = [row["external_id"] for row in exported(client.get(EXPORT_URL, MARCH))]

    assert masked["F1"] == "•••••••1234"
    assert sorted(own) == ["M-OWNER", "M-TO-OWNER"]


def test_the_csv_reads_its_rows_a_chunk_at_a_time_in_list_order(
    client, admin_user, filter_calls, monkeypatch
):
    monkeypatch.setattr(views, "EXPORT_CHUNK", 3)  # 4 calls: two chunks
    client.force_login(admin_user)
    response = client.get(EXPORT_URL, MARCH)

    with CaptureQueriesContext(connection) as queries:
        rows = exported(response)

    assert [row["external_id"] for row in rows] == ["F4", "F3", "F2", "F1"]
    assert len(queries) == 2  # one per chunk, related rows joined in


def test_the_list_links_to_the_csv_of_its_filters(client, admin_user, filter_calls):
    client.force_login(admin_user)

    html = client.get(LIST_URL, {**MARCH, "channel": "chat", "page": "1"}).content.decode()

    assert (
        f'href="{EXPORT_URL}?date_from=2026-03-02&amp;date_to=2026-03-08&amp;channel=chat" download>'
        "Download as CSV (1 call)</a>" in html
    )


def test_too_many_calls_or_invalid_filters_get_400_with_the_reason(
    client, admin_user, filter_calls, settings
):
    settings.CALLS_EXPORT_MAX_ROWS = 3
    client.force_login(admin_user)

    too_many = client.get(EXPORT_URL, MARCH)
    invalid = client.get(EXPORT_URL, {"date_from": "2026-03-09", "date_to": "2026-03-01"})

    assert (too_many.status_code, too_many.content.decode()) == (
        400,
        "More than 3 calls match: a download holds at most 3. Narrow the filters (a shorter period).",
    )
    assert invalid.status_code == 400
    assert client.get(EXPORT_URL, {"date_from": "2026-03-02", "date_to": "2026-03-03"}).status_code == 200
