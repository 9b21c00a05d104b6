"""GET /api/calls/ and /api/calls/{id}/: call records read back, scoped and filtered as the calls list."""

from __future__ import annotations

import base64
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from rest_framework.authtoken.models import Token

from calls.models import Call, Customer
from tests.calls.helpers import busy_calls
from tests.factories import (
    AgentFactory,
    CallFactory,
    CustomerFactory,
    DepartmentFactory,
    EscalationFactory,
    TransferFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
LIST_URL = "/api/calls/"


def detail_url(call) -> str:
    return f"/api/calls/{call.pk}/"


@pytest.fixture
def world(settings, owner_agent, teammate_agent, outsider_agent):
    """Five calls over five days (REPEAT_CONTACT_WINDOW_DAYS 7):

    API-1  owner,    Billing, Acme, resolved; Acme calls again two days later (API-3): a repeat follows, not FCR
    API-2  teammate, Tech,    anonymous chat, outbound, never answered, escalated twice: flags unknown
    API-3  outsider, Billing, Acme, resolved, transferred to the owner (Billing -> Tech): not FCR, a repeat of API-1
    API-4  outsider, Tech,    Bolt, resolved, nothing else: FCR; a recording that is not an http(s) link
    API-5  nobody (abandoned), Billing, anonymous, unresolved
    """
    settings.REPEAT_CONTACT_WINDOW_DAYS = 7
    billing = DepartmentFactory(name="Billing")
    tech = DepartmentFactory(name="Tech")
    acme = CustomerFactory(
        external_id="CU-ACME", name="Acme Ltd", phone="+15550001234", tier=Customer.Tier.GOLD
    )
    bolt = CustomerFactory(external_id="CU-BOLT", name="Bolt Inc", phone="", tier=Customer.Tier.PLATINUM)
    calls = SimpleNamespace(
        one=CallFactory(
            external_id="API-1",
            agent=owner_agent,
            department=billing,
            customer=acme,
            started_at=T0,
            answered_at=T0 + timedelta(seconds=20),
            ended_at=T0 + timedelta(seconds=350),
            wait_seconds=20,
            talk_seconds=300,
            hold_seconds=30,
            wrap_seconds=45,
            disposition="resolved",
            is_resolved=True,
            transcript="Agent: Hello, Olive speaking.\nCustomer: My bill is wrong.",
            recording_url="https://rec.example.com/api-1.mp3",
        ),
        two=CallFactory(
            external_id="API-2",
            agent=teammate_agent,
            department=tech,
            customer=None,
            channel="chat",
            direction="outbound",
            started_at=T0 + timedelta(days=1),
            answered_at=None,
            ended_at=T0 + timedelta(days=1, seconds=90),
            wait_seconds=0,
            talk_seconds=80,
            hold_seconds=0,
            wrap_seconds=10,
            disposition="",
            is_resolved=True,
        ),
        three=CallFactory(
            external_id="API-3",
            agent=outsider_agent,
            department=billing,
            customer=acme,
            started_at=T0 + timedelta(days=2),
            talk_seconds=200,
            wrap_seconds=5,
            is_resolved=True,
        ),
        four=CallFactory(
            external_id="API-4",
            agent=outsider_agent,
            department=tech,
            customer=bolt,
            started_at=T0 + timedelta(days=3),
            is_resolved=True,
            recording_url="javascript:alert(1)",
        ),
        five=CallFactory(
            external_id="API-5",
            agent=None,
            department=billing,
            customer=None,
            started_at=T0 + timedelta(days=4),
            answered_at=None,
            wait_seconds=120,
            talk_seconds=0,
            disposition="abandoned",
            is_resolved=False,
        ),
    )
    TransferFactory(
        call=calls.three,
        sequence=1,
        at=T0 + timedelta(days=2, seconds=60),
        from_department=billing,
        to_department=tech,
        from_agent=outsider_agent,
        to_agent=owner_agent,
        reason="wrong queue",
    )
    # Created out of order: the API lists them by sequence.
    EscalationFactory(
        call=calls.two,
        sequence=2,
        level="complaint",
        reason="still angry",
        raised_at=T0 + timedelta(days=1, seconds=70),
        outcome="",
    )
    EscalationFactory(
        call=calls.two,
        sequence=1,
        level="tier2",
        reason="refund over limit",
        raised_at=T0 + timedelta(days=1, seconds=30),
        outcome="refund approved",
        resolved_at=T0 + timedelta(days=1, seconds=60),
    )
    return SimpleNamespace(calls=calls, billing=billing, tech=tech)


def ids(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [row["external_id"] for row in response.json()["results"]]


def expected_one(world, owner_agent, team, *, phone: str) -> dict:
    """API-1 as the list gives it, every figure by hand."""
    return {
        "id": world.calls.one.pk,
        "external_id": "API-1",
        "channel": "phone",
        "direction": "inbound",
        "started_at": "2026-03-02T10:00:00Z",
        "answered_at": "2026-03-02T10:00:20Z",
        "ended_at": "2026-03-02T10:05:50Z",
        "wait_seconds": 20,
        "talk_seconds": 300,
        "hold_seconds": 30,
        "wrap_seconds": 45,
        "handle_seconds": 375,  # 300 + 30 + 45
        "disposition": "resolved",
        "resolved": True,
        "agent": {"id": owner_agent.pk, "employee_code": "A-OWNER", "name": "Olive Owner"},
        "team": {"id": team.pk, "name": "Billing East"},
        "department": {"id": world.billing.pk, "name": "Billing"},
        "customer": {"external_id": "CU-ACME", "name": "Acme Ltd", "tier": "gold", "phone": phone},
        "transfer_count": 0,
        "escalated": False,
        # Resolved and never transferred, but Acme called again (API-3) two days later, inside the 7 days.
        "first_contact_resolution": False,
        "has_repeat_contact": True,
        "is_repeat_contact": False,
        "updated_at": world.calls.one.updated_at.isoformat().replace("+00:00", "Z"),
    }


# --- items and details --------------------------------------------------------------------------------------


def test_a_list_item_holds_every_field_with_the_full_phone_for_an_admin(
    client, admin_user, world, owner_agent, team
):
    client.force_login(admin_user)

    body = client.get(LIST_URL).json()

    assert [row["external_id"] for row in body["results"]] == ["API-5", "API-4", "API-3", "API-2", "API-1"]
    assert body["results"][4] == expected_one(world, owner_agent, team, phone="+15550001234")
    assert (body["next"], body["previous"]) == (None, None)


def test_the_flags_of_every_call_against_hand_computed_ones(client, admin_user, world):
    client.force_login(admin_user)

    rows = {row["external_id"]: row for row in client.get(LIST_URL).json()["results"]}
    flags = {
        external_id: (
            row["transfer_count"],
            row["escalated"],
            row["resolved"],
            row["first_contact_resolution"],
            row["has_repeat_contact"],
            row["is_repeat_contact"],
        )
        for external_id, row in rows.items()
    }

    assert flags == {
        "API-1": (0, False, True, False, True, False),  # followed by API-3 within 7 days
        "API-2": (0, True, True, None, None, None),  # anonymous: unknown
        "API-3": (1, False, True, False, False, True),  # transferred; came 2 days after API-1
        "API-4": (0, False, True, True, False, False),  # Bolt's only call
        "API-5": (0, False, False, None, None, None),  # anonymous and abandoned
    }


def test_calls_without_agent_customer_or_answer_are_nulls(client, admin_user, world):
    client.force_login(admin_user)

    rows = {row["external_id"]: row for row in client.get(LIST_URL).json()["results"]}

    five = rows["API-5"]
    assert (five["agent"], five["team"], five["customer"], five["answered_at"]) == (None, None, None, None)
    assert five["department"] == {"id": world.billing.pk, "name": "Billing"}
    assert (five["wait_seconds"], five["handle_seconds"], five["disposition"]) == (120, 0, "abandoned")
    two = rows["API-2"]
    assert (two["channel"], two["direction"], two["customer"], two["answered_at"]) == (
        "chat",
        "outbound",
        None,
        None,
    )
    assert rows["API-4"]["customer"] == {
        "external_id": "CU-BOLT",
        "name": "Bolt Inc",
        "tier": "platinum",
        "phone": "",
    }
    assert "transcript" not in rows["API-1"] and "transfers" not in rows["API-1"]


@pytest.mark.parametrize(
    ("who", "phone"),
    [
        ("admin_user", "+15550001234"),
        ("supervisor", "+15550001234"),
        ("reviewer", "•••••••1234"),  # 11 digits: 7 masked, the last 4 shown
        ("owner", "•••••••1234"),
    ],
)
def test_the_phone_is_masked_as_on_the_pages_for_roles_that_may_not_see_it(
    request, client, world, owner_agent, who, phone
):
    user = owner_agent.user if who == "owner" else request.getfixturevalue(who)
    client.force_login(user)

    listed = {row["external_id"]: row for row in client.get(LIST_URL).json()["results"]}["API-1"]
    detail = client.get(detail_url(world.calls.one)).json()

    assert listed["customer"]["phone"] == detail["customer"]["phone"] == phone


def test_the_detail_adds_transcript_recording_transfers_and_escalations(
    client, admin_user, world, owner_agent, team
):
    client.force_login(admin_user)

    one = client.get(detail_url(world.calls.one)).json()

    assert one == {
        **expected_one(world, owner_agent, team, phone="+15550001234"),
        "transcript": "Agent: Hello, Olive speaking.\nCustomer: My bill is wrong.",
        "recording_url": "https://rec.example.com/api-1.mp3",
        "transfers": [],
        "escalations": [],
    }


def test_the_detail_lists_transfers_and_escalations_in_sequence_order(
    client, admin_user, world, owner_agent, outsider_agent
):
    client.force_login(admin_user)

    three = client.get(detail_url(world.calls.three)).json()
    two = client.get(detail_url(world.calls.two)).json()
    four = client.get(detail_url(world.calls.four)).json()

    assert three["transfers"] == [
        {
            "sequence": 1,
            "at": "2026-03-04T10:01:00Z",
            "from_department": {"id": world.billing.pk, "name": "Billing"},
            "to_department": {"id": world.tech.pk, "name": "Tech"},
            "from_agent": {"id": outsider_agent.pk, "employee_code": "A-OUT", "name": "Otto Outsider"},
            "to_agent": {"id": owner_agent.pk, "employee_code": "A-OWNER", "name": "Olive Owner"},
            "reason": "wrong queue",
        }
    ]
    assert (three["transfer_count"], three["escalations"], three["recording_url"]) == (1, [], None)
    assert two["escalations"] == [
        {
            "sequence": 1,
            "level": "tier2",
            "reason": "refund over limit",
            "raised_at": "2026-03-03T10:00:30Z",
            "outcome": "refund approved",
            "resolved_at": "2026-03-03T10:01:00Z",
        },
        {
            "sequence": 2,
            "level": "complaint",
            "reason": "still angry",
            "raised_at": "2026-03-03T10:01:10Z",
            "outcome": "",
            "resolved_at": None,
        },
    ]
    assert (two["escalated"], two["first_contact_resolution"], two["transcript"]) == (True, None, "")
    # Not an http(s) link: null, as the call page shows no link for it.
    assert four["recording_url"] is None


# --- scope --------------------------------------------------------------------------------------------------

VISIBLE = {
    "owner": ["API-3", "API-1"],  # their own call, and the one transferred to them
    "teammate": ["API-2"],
    "outsider": ["API-4", "API-3"],
    "supervisor": ["API-3", "API-2", "API-1"],  # their team's agents, on any leg
    "other_supervisor": ["API-4", "API-3"],
    "reviewer": ["API-5", "API-4", "API-3", "API-2", "API-1"],
    "admin_user": ["API-5", "API-4", "API-3", "API-2", "API-1"],
}


def user_for(request, who):
    if who in {"owner", "teammate", "outsider"}:
        return request.getfixturevalue(f"{who}_agent").user
    return request.getfixturevalue(who)


@pytest.mark.parametrize("who", sorted(VISIBLE))
def test_each_role_lists_and_opens_exactly_the_calls_the_web_list_shows_it(request, client, world, who):
    client.force_login(user_for(request, who))

    listed = ids(client.get(LIST_URL))
    opened = {
        call.external_id: client.get(detail_url(call)).status_code for call in vars(world.calls).values()
    }

    assert listed == VISIBLE[who]
    assert opened == {external_id: 200 if external_id in VISIBLE[who] else 404 for external_id in opened}


def test_an_out_of_scope_call_is_a_404_like_a_missing_one(client, owner_agent, world):
    client.force_login(owner_agent.user)

    foreign = client.get(detail_url(world.calls.four))
    missing = client.get("/api/calls/999999999/")

    assert (
        (foreign.status_code, foreign.json())
        == (missing.status_code, missing.json())
        == (
            404,
            {"detail": "No such call"},
        )
    )


def test_a_user_without_a_role_sees_no_call(client, world):
    client.force_login(UserFactory(username="nobody"))

    assert ids(client.get(LIST_URL)) == []
    assert client.get(detail_url(world.calls.one)).status_code == 404


@pytest.mark.parametrize("scheme", ["Token", "Bearer"])
def test_an_api_token_authenticates_as_its_user(client, owner_agent, world, scheme):
    token = Token.objects.create(user=owner_agent.user)
    headers = {"HTTP_AUTHORIZATION": f"{scheme} {token.key}"}

    assert ids(client.get(LIST_URL, **headers)) == ["API-3", "API-1"]
    assert client.get(detail_url(world.calls.one), **headers).status_code == 200
    assert client.get(detail_url(world.calls.four), **headers).status_code == 404


@pytest.mark.parametrize("url", [LIST_URL, "/api/calls/1/"])
def test_without_credentials_it_is_401_with_a_challenge(client, world, url):
    response = client.get(url)

    assert (response.status_code, response["WWW-Authenticate"]) == (401, "Token")


# --- filters ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"channel": "chat"}, ["API-2"]),
        ({"transferred": "yes"}, ["API-3"]),
        ({"transferred": "no"}, ["API-5", "API-4", "API-2", "API-1"]),
        ({"escalated": "yes"}, ["API-2"]),
        ({"escalated": "no"}, ["API-5", "API-4", "API-3", "API-1"]),
        ({"resolved": "no"}, ["API-5"]),
        ({"resolved": "yes"}, ["API-4", "API-3", "API-2", "API-1"]),
        # Identified callers only: API-4 is FCR; API-1 has a repeat, API-3 a transfer.
        ({"fcr": "yes"}, ["API-4"]),
        ({"fcr": "no"}, ["API-3", "API-1"]),
        ({"date_from": "2026-03-03", "date_to": "2026-03-04"}, ["API-3", "API-2"]),
        ({"date_from": "2026-03-05"}, ["API-5", "API-4"]),
        ({"date_to": "2026-03-02"}, ["API-1"]),
        ({"q": "acme"}, ["API-3", "API-1"]),
        ({"q": "API-4"}, ["API-4"]),  # a whole id: the exact match
        ({"q": "0001234"}, ["API-3", "API-1"]),  # Acme's phone, which an admin may search
        ({"resolved": "yes", "escalated": "no", "channel": "phone"}, ["API-4", "API-3", "API-1"]),
    ],
)
def test_each_filter_narrows_the_list_as_on_the_calls_page(client, admin_user, world, params, expected):
    client.force_login(admin_user)

    assert ids(client.get(LIST_URL, params)) == expected


def test_agent_team_and_department_filters(client, admin_user, world, owner_agent, other_team):
    client.force_login(admin_user)

    # The call's (first) handling agent and their team: API-3 was only transferred to the owner.
    assert ids(client.get(LIST_URL, {"agent": owner_agent.pk})) == ["API-1"]
    assert ids(client.get(LIST_URL, {"team": other_team.pk})) == ["API-4", "API-3"]
    assert ids(client.get(LIST_URL, {"department": world.billing.pk})) == ["API-5", "API-3", "API-1"]


def test_a_reviewer_cannot_find_a_call_by_a_phone_they_see_masked(client, reviewer, world):
    client.force_login(reviewer)

    assert ids(client.get(LIST_URL, {"q": "0001234"})) == []


@pytest.mark.parametrize(
    ("params", "errors"),
    [
        ({"date_from": "yesterday"}, {"date_from": ["Enter a valid date."]}),
        (
            {"date_from": "2026-03-05", "date_to": "2026-03-01"},
            {"date_to": ["The end date is before the start date."]},
        ),
        ({"date_to": "9999-12-31"}, {"date_to": ["This date is out of range."]}),
        ({"fcr": "true"}, {"fcr": ["Select a valid choice. true is not one of the available choices."]}),
        (
            {"channel": "fax"},
            {"channel": ["Select a valid choice. fax is not one of the available choices."]},
        ),
        (
            {"department": "abc"},
            {"department": ["Select a valid choice. That choice is not one of the available choices."]},
        ),
        ({"q": "x" * 101}, {"q": ["Ensure this value has at most 100 characters (it has 101)."]}),
    ],
)
def test_a_refused_filter_is_a_400_naming_the_field(client, admin_user, world, params, errors):
    client.force_login(admin_user)

    response = client.get(LIST_URL, params)

    assert (response.status_code, response.json()) == (400, errors)


def test_filtering_on_an_agent_or_team_outside_the_scope_is_refused_not_widened(
    client, supervisor, world, outsider_agent, other_team
):
    client.force_login(supervisor)

    by_agent = client.get(LIST_URL, {"agent": outsider_agent.pk})
    by_team = client.get(LIST_URL, {"team": other_team.pk})

    invalid = ["Select a valid choice. That choice is not one of the available choices."]
    assert (by_agent.status_code, by_agent.json()) == (400, {"agent": invalid})
    assert (by_team.status_code, by_team.json()) == (400, {"team": invalid})


# --- incremental sync ---------------------------------------------------------------------------------------


def test_updated_since_lists_the_calls_changed_since_a_moment_with_every_other_filter(
    client, admin_user, world, settings
):
    settings.TIME_ZONE = "Europe/Paris"
    moment = datetime(2026, 4, 1, 12, 0, tzinfo=UTC)
    stamps = {
        "API-1": moment - timedelta(microseconds=1),
        "API-2": moment,
        "API-3": moment + timedelta(days=1),
    }
    stamps |= {"API-4": moment + timedelta(days=2), "API-5": moment - timedelta(days=9)}
    for external_id, stamp in stamps.items():
        Call.objects.filter(external_id=external_id).update(updated_at=stamp)
    client.force_login(admin_user)

    since = client.get(LIST_URL, {"updated_since": "2026-04-01T12:00:00Z"})
    local = client.get(LIST_URL, {"updated_since": "2026-04-01 14:00:00"})  # no offset: Paris, UTC+2 in April
    narrowed = client.get(LIST_URL, {"updated_since": "2026-04-01T12:00:00+00:00", "channel": "phone"})
    refused = client.get(LIST_URL, {"updated_since": "yesterday", "channel": "fax"})

    assert (
        ids(since) == ids(local) == ["API-4", "API-3", "API-2"]
    )  # at or after the moment, newest call first
    assert (
        since.json()["results"][0]["updated_at"] == "2026-04-03T14:00:00+02:00"
    )  # 12:00 UTC, in the site zone
    assert ids(narrowed) == ["API-4", "API-3"]  # API-2 is a chat
    assert refused.status_code == 400
    assert sorted(refused.json()) == ["channel", "updated_since"]  # every refused parameter, named
    assert refused.json()["updated_since"] == ["Enter a valid date/time."]


# --- cursor pagination --------------------------------------------------------------------------------------


def walk(client, url: str) -> tuple[list[str], int]:
    """Every external id by following `next`, and the number of pages."""
    seen, pages = [], 0
    while url:
        response = client.get(url)
        seen += ids(response)
        pages += 1
        url = response.json()["next"]
    return seen, pages


@pytest.fixture
def many_calls(db, owner_agent):
    """23 calls, newest first P22 ... P00; P10-P15 start in the same second (an import rounded to seconds),
    so their order is the id's, newest (highest) first."""
    moments = [T0 + timedelta(minutes=i) for i in range(23)]
    for i in range(10, 16):
        moments[i] = T0 + timedelta(minutes=10)
    return [CallFactory(external_id=f"P{i:02d}", agent=owner_agent, started_at=moments[i]) for i in range(23)]


def test_the_cursor_walks_every_call_once_newest_first(client, admin_user, settings, many_calls):
    settings.CALLS_PAGE_SIZE = 5
    client.force_login(admin_user)

    seen, pages = walk(client, LIST_URL)

    assert seen == [f"P{i:02d}" for i in range(22, -1, -1)]
    assert pages == 5  # 5 + 5 + 5 + 5 + 3


def test_page_size_sets_the_length_of_the_pages(client, admin_user, settings, many_calls):
    settings.CALLS_PAGE_SIZE = 5
    client.force_login(admin_user)

    seen, pages = walk(client, f"{LIST_URL}?page_size=4&resolved=yes")
    refused = client.get(LIST_URL, {"page_size": "-3"})

    assert (len(seen), len(set(seen)), pages) == (23, 23, 6)  # 5 pages of 4, then 3
    assert "page_size=4" in client.get(LIST_URL, {"page_size": 4}).json()["next"]
    assert len(refused.json()["results"]) == 5  # the default, as DRF treats a page size it cannot use


def test_a_page_holds_at_most_500_calls(client, admin_user):
    Call.objects.bulk_create(
        Call(
            external_id=f"BULK-{i:03d}",
            channel="phone",
            started_at=T0 + timedelta(minutes=i),
            ended_at=T0 + timedelta(minutes=i, seconds=30),
        )
        for i in range(501)
    )
    client.force_login(admin_user)

    body = client.get(LIST_URL, {"page_size": 100_000}).json()
    rest = client.get(body["next"]).json()

    assert (len(body["results"]), body["results"][0]["external_id"]) == (500, "BULK-500")
    assert ([row["external_id"] for row in rest["results"]], rest["next"]) == (["BULK-000"], None)


def test_previous_goes_back_over_the_same_pages(client, admin_user, settings, many_calls):
    settings.CALLS_PAGE_SIZE = 5
    client.force_login(admin_user)
    first = client.get(LIST_URL).json()
    second = client.get(first["next"]).json()
    third = client.get(second["next"]).json()

    back = client.get(third["previous"]).json()

    assert [row["external_id"] for row in third["results"]] == ["P12", "P11", "P10", "P09", "P08"]
    assert back["results"] == second["results"]
    assert [row["external_id"] for row in client.get(back["previous"]).json()["results"]] == [
        row["external_id"] for row in first["results"]
    ]


def test_calls_imported_during_a_walk_neither_repeat_nor_hide_rows(
    client, admin_user, settings, many_calls, owner_agent
):
    settings.CALLS_PAGE_SIZE = 5
    client.force_login(admin_user)
    first = client.get(LIST_URL).json()

    # Newer than every listed call: with page numbers, P18 would come again on page 2.
    CallFactory(external_id="NEW", agent=owner_agent, started_at=T0 + timedelta(hours=1))
    rest, _pages = walk(client, first["next"])

    assert [row["external_id"] for row in first["results"]] + rest == [f"P{i:02d}" for i in range(22, -1, -1)]


def test_any_number_of_calls_starting_in_the_same_instant_are_walked_once_each_way(client, admin_user):
    # An export rounded to the minute puts a busy centre's calls on one start time: more than the 1000 DRF's
    # own cursor steps over by an offset (past which its walk repeats a page for ever).
    Call.objects.bulk_create(
        Call(external_id=f"TIE-{i:04d}", channel="phone", started_at=T0, ended_at=T0 + timedelta(minutes=3))
        for i in range(1201)
    )
    CallFactory(external_id="LATER", started_at=T0 + timedelta(minutes=1))
    client.force_login(admin_user)
    by_id = list(Call.objects.order_by("-started_at", "-pk").values_list("external_id", flat=True))

    seen, pages = walk(client, f"{LIST_URL}?page_size=500")
    last = client.get(LIST_URL, {"page_size": 500}).json()
    while last["next"]:
        last = client.get(last["next"]).json()
    back, back_pages = [], 0
    url = last["previous"]
    while url:
        body = client.get(url).json()
        back = ids_of(body) + back
        back_pages += 1
        url = body["previous"]

    assert (seen, pages) == (by_id, 3)  # 500 + 500 + 202
    assert seen[0] == "LATER" and len(set(seen)) == 1202
    assert (back + ids_of(last), back_pages) == (by_id, 2)


def ids_of(body: dict) -> list[str]:
    return [row["external_id"] for row in body["results"]]


def _cursor(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    "cursor",
    [
        "not-a-cursor",
        _cursor("p=tomorrow"),
        _cursor("p=2026-03-02 10:00:00"),  # no offset: not one of ours
        _cursor("p=0001-01-01 00:00:00+05:00"),  # before any datetime in UTC
        _cursor("o=-1&p=2026-03-02 10:00:00+00:00"),
        _cursor("p=2026-03-02 10:00:00+00:00&i=x"),
        _cursor("p=2026-03-02 10:00:00+00:00&i=0"),
        _cursor("p=2026-03-02 10:00:00+00:00&i=5&r=2"),
        _cursor("p=2026-03-02 10:00:00+00:00&i=5&i=6"),
        _cursor("p=2026-03-02 10:00:00+00:00&i=5&x=1"),
        _cursor("p=2026-03-02 10:00:00&i=5"),  # no offset: no instant
        "cD0yMDI2LTAzLTAyIDEwOjAwOjAwKzAwOjAwJmk9NQ",  # base64 without its padding
        "été",
    ],
)
def test_an_unreadable_or_forged_cursor_is_a_404(client, admin_user, many_calls, cursor):
    client.force_login(admin_user)

    response = client.get(LIST_URL, {"cursor": cursor})

    assert (response.status_code, response.json()) == (404, {"detail": "Invalid cursor"})


# --- query counts -------------------------------------------------------------------------------------------


# Session and user (2), the user's roles (1); a supervisor's agents (2: their record, their teams' agents);
# the page's ids (1) and its rows with every flag (1).
LIST_QUERIES = {"admin_user": 5, "supervisor": 7}


@pytest.mark.parametrize("who", sorted(LIST_QUERIES))
def test_the_list_costs_the_same_queries_for_one_call_and_twenty(
    request, client, team, django_assert_num_queries, who
):
    agents = [AgentFactory(team=team) for _ in range(3)]
    customers = [CustomerFactory() for _ in range(4)]
    client.force_login(request.getfixturevalue(who))

    busy_calls(1, agents, customers, start=T0)
    with django_assert_num_queries(LIST_QUERIES[who]):
        assert len(client.get(LIST_URL).json()["results"]) == 1

    busy_calls(19, agents, customers, start=T0)
    with django_assert_num_queries(LIST_QUERIES[who]):
        assert len(client.get(LIST_URL).json()["results"]) == 20


def test_the_detail_costs_the_same_queries_whatever_its_transfers_and_escalations(
    client, admin_user, team, django_assert_num_queries
):
    agents = [AgentFactory(team=team) for _ in range(3)]
    plain = CallFactory(agent=agents[0])
    busy = CallFactory(agent=agents[0])
    for sequence in range(1, 6):
        TransferFactory(call=busy, sequence=sequence, from_agent=agents[sequence % 3], to_agent=agents[0])
        EscalationFactory(call=busy, sequence=sequence)
    client.force_login(admin_user)

    # Session and user (2), roles (1), the call with its flags (1), its transfers (1) and escalations (1).
    with django_assert_num_queries(6):
        assert client.get(detail_url(plain)).json()["transfers"] == []
    with django_assert_num_queries(6):
        body = client.get(detail_url(busy)).json()
    assert [t["sequence"] for t in body["transfers"]] == [1, 2, 3, 4, 5]
    assert len(body["escalations"]) == 5


def test_the_browsable_api_renders_the_list_and_a_call_masked_as_in_json(client, reviewer, world):
    # DRF's HTML renderer asks the view for its queryset (its filter form): without one it answered 500.
    client.force_login(reviewer)

    listed = client.get(LIST_URL, HTTP_ACCEPT="text/html")
    detail = client.get(detail_url(world.calls.one), HTTP_ACCEPT="text/html")

    assert (listed.status_code, detail.status_code) == (200, 200)
    for html in (listed.content.decode(), detail.content.decode()):
        assert "API-1" in html and "•••••••1234" in html and "+15550001234" not in html
