"""Any-part search over calls and customers (calls list and admin): the same calls as plain icontains, the
permission scoping kept, the trigram indexes of migration calls 0008 created, used and dropped."""

import importlib
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest
from django.contrib import admin as django_admin
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.state import ProjectState
from django.db.utils import ConnectionHandler
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from calls import selectors
from calls.models import Call, Customer
from calls.selectors import call_annotate_metrics, call_filter, call_list_for_user
from tests.calls.helpers import list_filters
from tests.factories import CallFactory, CustomerFactory, TransferFactory

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)
MIGRATION = importlib.import_module("calls.migrations.0008_search_trigram_indexes")
PREVIOUS = ("calls", "0007_agent_day_call_stats_identified_calls")
LATEST = ("calls", "0008_search_trigram_indexes")
INDEXES = {
    "call_external_id_trgm_idx": ("calls_call", "external_id"),
    "customer_external_id_trgm_idx": ("calls_customer", "external_id"),
    "customer_name_trgm_idx": ("calls_customer", "name"),
    "customer_phone_trgm_idx": ("calls_customer", "phone"),
    "customer_email_trgm_idx": ("calls_customer", "email"),
}

# (call external id, customer key or None, first agent key or None, agent the call was transferred to)
CALLS = (
    ("C-7001", "zoe", "owner", None),
    ("c-7002-x", "nandu", "mate", None),
    ("C-ANG-1", "ivan", "out", None),
    ("C-0001111", "ada", "out", "owner"),  # the outsider's call, taken over by the owner
    ("C 900 Z", "king", "owner", None),
    ("C-9005", "king", "out", None),
    ("Z-55", None, "mate", None),
    ("Z-56", "ada", None, None),
)
CUSTOMERS = {
    "zoe": {"external_id": "CU-ALPHA", "name": "Zoë Ångström", "phone": "+15550001111", "email": "z@x.org"},
    "nandu": {"external_id": "CU-BETA", "name": "Ñandú Pérez", "phone": "+15550002222", "email": ""},
    "ivan": {"external_id": "CU-GAMMA-7", "name": "Иван Петров", "phone": "+44 20 7946 0958", "email": ""},
    "ada": {"external_id": "CU-7000", "name": "Ada Lovelace", "phone": "+15557000111", "email": ""},
    "king": {"external_id": "cu-delta", "name": "ADA KING", "phone": "", "email": "king@ada.org"},
}
VISIBLE = {
    "admin": {spec[0] for spec in CALLS},
    "supervisor": {spec[0] for spec in CALLS if spec[2] in ("owner", "mate") or spec[3] in ("owner", "mate")},
    "owner": {spec[0] for spec in CALLS if "owner" in (spec[2], spec[3])},
}


@pytest.fixture
def world(supervisor, owner_agent, teammate_agent, outsider_agent, admin_user):
    agents = {"owner": owner_agent, "mate": teammate_agent, "out": outsider_agent}
    customers = {key: CustomerFactory(**fields) for key, fields in CUSTOMERS.items()}
    for number, (external_id, customer, agent, taken_over_by) in enumerate(CALLS):
        call = CallFactory(
            external_id=external_id,
            customer=customers.get(customer),
            agent=agents.get(agent),
            started_at=T0 + timedelta(minutes=number),
        )
        if taken_over_by:
            TransferFactory(call=call, sequence=1, from_agent=call.agent, to_agent=agents[taken_over_by])
    return SimpleNamespace(
        users={"admin": admin_user, "supervisor": supervisor, "owner": owner_agent.user}, agents=agents
    )


def contains(text: str, term: str) -> bool:
    return term.upper() in text.upper()


def expected_list_ids(who: str, term: str, *, phone: bool) -> set[str]:
    """What the list finds, worked out here: a whole call or customer id as written gives those visible calls;
    otherwise any part, any case, of the call id or the customer's id or name (or phone)."""
    visible = [spec for spec in CALLS if spec[0] in VISIBLE[who]]
    term = term.strip()
    exact = {
        call_id
        for call_id, customer, _agent, _to in visible
        if call_id == term or (customer and CUSTOMERS[customer]["external_id"] == term)
    }
    if exact:
        return exact
    found = set()
    for call_id, customer, _agent, _to in visible:
        texts = [call_id]
        if customer:
            fields = CUSTOMERS[customer]
            texts += [fields["external_id"], fields["name"]] + ([fields["phone"]] if phone else [])
        if any(contains(text, term) for text in texts):
            found.add(call_id)
    return found


def list_ids(user, term: str, *, phone: bool) -> set[str]:
    calls = call_filter(
        call_annotate_metrics(call_list_for_user(user)), **list_filters(search=term, search_phone=phone)
    )
    return set(calls.values_list("external_id", flat=True))


LIST_TERMS = (
    "ström",  # lower case of a stored upper-case non-ASCII letter (Å)
    "ÅNGSTRÖM",
    "ñandú",
    "иван",  # Cyrillic, stored capitalised
    "ada",  # two customers' names, in two cases
    "7000",  # a customer id part, and a phone part
    "0001111",  # a call id and, with the phone, a customer's phone
    "-7",
    "7",  # shorter than a trigram
    "c-700",
    "CU-BETA",  # a whole customer id as written: that customer's calls
    "C-7001",  # a whole call id as written
    "king@ada",  # e-mails are not searched on the list
    "zzqx",
)


@pytest.mark.django_db
@pytest.mark.parametrize("who", ["admin", "supervisor", "owner"])
@pytest.mark.parametrize("phone", [True, False])
def test_list_search_finds_what_icontains_finds_within_what_the_user_may_see(world, who, phone):
    for term in LIST_TERMS:
        assert list_ids(world.users[who], term, phone=phone) == expected_list_ids(who, term, phone=phone), (
            term
        )


@pytest.mark.django_db
def test_list_search_examples_worked_by_hand(world):
    admin = world.users["admin"]

    assert list_ids(admin, "ström", phone=False) == {"C-7001"}
    assert list_ids(admin, "ADA", phone=False) == {"C-0001111", "Z-56", "C 900 Z", "C-9005"}
    assert list_ids(admin, "0001111", phone=False) == {"C-0001111"}
    assert list_ids(admin, "0001111", phone=True) == {"C-0001111", "C-7001"}  # Zoë's phone
    assert list_ids(world.users["owner"], "ada", phone=True) == {"C-0001111", "C 900 Z"}
    assert list_ids(world.users["supervisor"], "иван", phone=True) == set()  # the outsider's customer


@pytest.mark.django_db
def test_list_search_past_the_customer_id_limit_finds_the_same_calls(world, monkeypatch):
    admin = world.users["admin"]
    list_ids(admin, "zzqx", phone=True)  # the user's roles, asked once and kept on the user object
    with CaptureQueriesContext(connection) as spelled_out_queries:
        spelled_out = list_ids(admin, "cu-", phone=True)
    monkeypatch.setattr(selectors, "CUSTOMER_SEARCH_ID_LIMIT", 2)  # five customers match "cu-"
    with CaptureQueriesContext(connection) as subquery_queries:
        by_subquery = list_ids(admin, "cu-", phone=True)

    assert spelled_out == by_subquery == {spec[0] for spec in CALLS if spec[1]}
    # The calls' query: customer ids spelled out, then the customers as a subquery.
    assert 'FROM "calls_customer"' not in spelled_out_queries.captured_queries[-1]["sql"]
    assert 'FROM "calls_customer"' in subquery_queries.captured_queries[-1]["sql"]
    assert len(spelled_out_queries) == len(subquery_queries)


@pytest.mark.django_db
def test_list_page_search_hides_phones_from_a_reviewer_and_shows_the_supervisor_their_calls(
    client, world, reviewer
):
    def listed(user, term: str) -> set[str]:
        client.force_login(user)
        response = client.get(reverse("calls:list"), {"q": term, "date_from": "", "date_to": ""})
        assert response.status_code == 200
        return {call.external_id for call in response.context["calls"]}

    assert listed(reviewer, "0001111") == {"C-0001111"}  # not Zoë's call through her phone
    assert listed(world.users["admin"], "0001111") == {"C-0001111", "C-7001"}
    assert listed(world.users["supervisor"], "ada") == {"C-0001111", "C 900 Z"}


# --- admin ---------------------------------------------------------------------------------------------------


def admin_ids(user, term: str) -> set[str]:
    model_admin = django_admin.site._registry[Call]
    request = RequestFactory().get("/admin/calls/call/", {"q": term})
    request.user = user
    queryset, may_have_duplicates = model_admin.get_search_results(request, Call.objects.all(), term)
    assert may_have_duplicates is False
    return set(queryset.values_list("external_id", flat=True))


def stock_admin_ids(user, term: str) -> set[str]:
    """Django's own search over the same search_fields (joins and icontains), the reference."""
    model_admin = django_admin.site._registry[Call]
    request = RequestFactory().get("/admin/calls/call/", {"q": term})
    request.user = user
    queryset, _ = django_admin.ModelAdmin.get_search_results(model_admin, request, Call.objects.all(), term)
    return set(queryset.values_list("external_id", flat=True))


def admin_text(spec, agents) -> list[str]:
    call_id, customer, agent, _to = spec
    texts = [call_id]
    if customer:
        texts.append(CUSTOMERS[customer]["external_id"])
    if agent:
        texts.append(agents[agent].employee_code)
    return texts


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("term", "words"),
    [
        ("alpha", ["alpha"]),
        ("cu- 7", ["cu-", "7"]),  # every word, each in any field
        ("C- a-o", ["C-", "a-o"]),  # "a-o": the owner's and the outsider's codes (A-OWNER, A-OUT)
        ('"900 z"', ["900 z"]),  # a quoted phrase is one word
        ("900 z", ["900", "z"]),
        ("delta  beta", ["delta", "beta"]),  # nothing has both
        ("A-MATE", ["A-MATE"]),  # a whole agent code: that agent's calls (exact shortcut, same calls here)
        ("Lovelace", ["Lovelace"]),  # names are not among the call admin's search fields
    ],
)
def test_call_admin_search_splits_words_and_finds_what_icontains_finds(world, term, words):
    expected = {
        spec[0]
        for spec in CALLS
        if all(any(contains(text, word) for text in admin_text(spec, world.agents)) for word in words)
    }

    assert admin_ids(world.users["admin"], term) == expected
    assert stock_admin_ids(world.users["admin"], term) == expected


@pytest.mark.django_db
def test_call_admin_changelist_search_with_two_words(client, world):
    client.force_login(world.users["admin"])

    response = client.get(reverse("admin:calls_call_changelist"), {"q": "c- 7"})

    assert response.status_code == 200
    assert {call.external_id for call in response.context["cl"].result_list} == {
        "C-7001",
        "c-7002-x",
        "C-ANG-1",  # CU-GAMMA-7
        "C-0001111",  # CU-7000
    }


# --- the indexes ---------------------------------------------------------------------------------------------


def trigram_indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT indexname, indexdef FROM pg_indexes WHERE indexname LIKE %s", ["%trgm_idx"])
        return dict(cursor.fetchall())


def explain(queryset) -> str:
    """EXPLAIN with fresh statistics, sequential and plain index scans priced out (for this transaction only).

    On a test's handful of rows PostgreSQL rightly prefers reading the whole table, or walking the btree that
    gives the ordering, which would say nothing about whether a trigram index can serve the query; a GIN
    index is only read by a bitmap scan, which is what stays allowed."""
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE calls_call")
        cursor.execute("ANALYZE calls_customer")
        cursor.execute("SET LOCAL enable_seqscan = off")
        cursor.execute("SET LOCAL enable_indexscan = off")
    try:
        return queryset.explain()
    finally:
        with connection.cursor() as cursor:
            cursor.execute("RESET enable_seqscan")
            cursor.execute("RESET enable_indexscan")


@pytest.mark.django_db
def test_the_migration_indexes_exactly_what_icontains_compares():
    indexes = trigram_indexes()

    assert set(indexes) == set(INDEXES)
    for name, (table, column) in INDEXES.items():
        assert (
            indexes[name]
            == f"CREATE INDEX {name} ON public.{table} USING gin (upper(({column})::text) gin_trgm_ops)"
        )
    sql = str(Customer.objects.filter(name__icontains="x").query)
    assert 'UPPER("calls_customer"."name"::text) LIKE UPPER(' in sql  # the expression the index is on


@pytest.mark.django_db
def test_the_list_search_and_its_customer_lookup_use_the_trigram_indexes(world):
    admin = world.users["admin"]
    customers = Customer.objects.filter(name__icontains="ström").values_list("pk", flat=True)
    calls = call_filter(call_list_for_user(admin), search="ström", search_phone=True)

    assert "customer_name_trgm_idx" in explain(customers)
    assert "call_external_id_trgm_idx" in explain(calls)


@pytest.mark.django_db
def test_the_customer_admin_search_uses_the_trigram_indexes(world):
    model_admin = django_admin.site._registry[Customer]
    request = RequestFactory().get("/admin/calls/customer/", {"q": "ström"})
    request.user = world.users["admin"]

    queryset, _ = model_admin.get_search_results(request, Customer.objects.all(), "ström")
    plan = explain(queryset)

    assert list(queryset.values_list("external_id", flat=True)) == ["CU-ALPHA"]
    for name in INDEXES:
        if name.startswith("customer_"):
            assert name in plan


@pytest.mark.django_db
def test_the_migration_reverses_and_applies_again_on_postgresql():
    executor = MigrationExecutor(connection)
    executor.migrate([PREVIOUS])
    assert trigram_indexes() == {}

    executor.loader.build_graph()
    executor.migrate([LATEST])
    assert set(trigram_indexes()) == set(INDEXES)
    # Whatever came to depend on it since is applied again too (later tests need the latest schema).
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db
def test_the_migration_does_nothing_on_sqlite():
    sqlite = ConnectionHandler({"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}})[
        "default"
    ]
    operation = MIGRATION.Migration("0008_search_trigram_indexes", "calls").operations[0]
    try:
        with sqlite.schema_editor() as schema_editor:
            with CaptureQueriesContext(sqlite) as queries:
                operation.database_forwards("calls", schema_editor, ProjectState(), ProjectState())
                operation.database_backwards("calls", schema_editor, ProjectState(), ProjectState())
            assert schema_editor.connection.vendor == "sqlite"
        assert queries.captured_queries == []
        assert schema_editor.deferred_sql == []
    finally:
        sqlite.close()
