"""An import of a few calls refreshes only the rollup rows those calls can change, and stays exact.

After each random small import (new calls, a call given to another agent or customer, its transfers
replaced, moved to another day, several at once, an unchanged re-import), every rollup table, row by row,
equals what a full rebuild of every day from scratch gives, and at the end also a plain-Python
recomputation from the raw rows. The same imports run on SQLite in a subprocess
(tests/analytics/sqlite_import_refresh_run.py), as test_scoped_refresh.py does for admin edits.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from django.utils import timezone

from calls import rollups
from calls.importers import import_files, import_records, staging
from calls.models import AgentDayCallStats, Call
from calls.rollups import local_day_start
from calls.selectors import call_import_record
from scoring.analytics.models import AgentDayScoreStats
from scoring.analytics.rollups import calls_agent_ids
from tests.analytics.helpers import make_evaluation
from tests.analytics.import_world import (
    IMPORT_KINDS,
    run_random_imports,
    write_transfers_csv_for_a_stored_call,
)
from tests.analytics.refresh_world import build_world, full_rebuild, snapshot
from tests.analytics.test_rollups import assert_rollups_match_raw
from tests.analytics.test_scoped_refresh import row_ids
from tests.embedded_sqlite import run_script_on_copy

ROOT = Path(__file__).resolve().parents[2]
IMPORTS = 3 * len(IMPORT_KINDS)


@pytest.fixture
def zone(settings, monkeypatch):
    # Local days differ from UTC days; a 2-day repeat window makes repeat contacts common in 11 days.
    settings.TIME_ZONE = "Europe/Paris"
    settings.REPEAT_CONTACT_WINDOW_DAYS = 2
    # The world has six agents: a call with two legs moved to another agent involves more than half of
    # them, which would send most imports to the full rebuild instead of the scoped path under test.
    monkeypatch.setattr(rollups, "SCOPED_REFRESH_MAX_AGENT_SHARE", 1.0)


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2])
def test_random_small_imports_keep_every_rollup_table_equal_to_a_full_rebuild(
    seed, zone, django_capture_on_commit_callbacks
):
    world = build_world(seed)
    assert all(snapshot().values()), "every rollup table has rows to get wrong"

    log: list[str] = []
    mismatches = run_random_imports(
        world, lambda: django_capture_on_commit_callbacks(execute=True), imports=IMPORTS, log=log
    )

    assert mismatches == []
    assert len(log) == IMPORTS
    assert sum("[rollups changed]" in what for what in log) >= len(log) // 2
    # A re-import of the records just imported changes nothing and touches no agent.
    unchanged = [what for what in log if what.startswith("re-imported unchanged")]
    assert unchanged
    assert all(" 0 created, 0 updated" in what and "agents []" in what for what in unchanged)
    assert_rollups_match_raw()


@pytest.mark.django_db
def test_a_pushed_call_rebuilds_only_the_rows_of_agents_it_can_change(
    zone, django_capture_on_commit_callbacks
):
    """One call re-imported with another agent rebuilds, on its day, the old and new agent's rows, its
    transfer legs' agents' and those of the agents credited on it (evaluations); the call rollups also the
    rows of its customer's other agents over the repeat window. Every other row keeps its id."""
    world = build_world(7)
    ann, bob, leg = world.agents[0], world.agents[1], world.agents[2]
    call = Call.objects.filter(customer__isnull=False).exclude(agent=bob).order_by("pk").first()
    Call.objects.filter(pk=call.pk).update(agent=ann)
    call.refresh_from_db()
    make_evaluation(world.card, call=call, agent=leg, score=55)
    full_rebuild()
    day = timezone.localtime(call.started_at).date()
    window = {day - timedelta(days=n) for n in range(3)}  # REPEAT_CONTACT_WINDOW_DAYS = 2
    customer_agents = set(Call.objects.filter(customer=call.customer).values_list("agent_id", flat=True))
    leg_agents = calls_agent_ids([call.pk]) | {
        agent
        for pair in call.transfers.values_list("from_agent_id", "to_agent_id")
        for agent in pair
        if agent
    }
    assert leg.pk in leg_agents
    before = row_ids()

    record = {**call_import_record(call), "agent": {"employee_code": bob.employee_code}}
    with django_capture_on_commit_callbacks(execute=True):
        result = import_records([record])
    assert (result.created, result.updated, result.errors) == (0, 1, [])

    after = row_ids()
    rebuilt = {key for key, pk in before.items() if after.get(key) != pk} | (after.keys() - before.keys())
    calls_table, score_table = AgentDayCallStats._meta.db_table, AgentDayScoreStats._meta.db_table
    scope = {ann.pk, bob.pk} | leg_agents
    assert {(key[1], key[2]) for key in rebuilt if key[0] == calls_table} <= {
        (agent, d) for agent in scope | customer_agents for d in window
    }
    assert {(key[1], key[2]) for key in rebuilt if key[0] != calls_table} <= {(agent, day) for agent in scope}
    assert (calls_table, bob.pk, day) in rebuilt
    assert (score_table, leg.pk, day) in rebuilt
    others = {
        key
        for key in before
        if key[2] == day and key[1] not in (scope | customer_agents if key[0] == calls_table else scope)
    }
    assert others
    assert not others & rebuilt
    incremental = snapshot()
    full_rebuild()
    assert snapshot() == incremental


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("module", "threshold", "value"),
    [(staging, "SCOPED_REFRESH_MAX_CALLS", 1), (rollups, "SCOPED_REFRESH_MAX_AGENT_SHARE", 0.1)],
)
def test_an_import_past_a_threshold_rebuilds_every_agent_of_its_days(
    module, threshold, value, zone, monkeypatch, django_capture_on_commit_callbacks
):
    """Past SCOPED_REFRESH_MAX_CALLS changed calls, or with more than SCOPED_REFRESH_MAX_AGENT_SHARE of all
    agents involved, the import rebuilds every agent's rows of its days (a bulk load touches most agents
    anyway): a row of an agent it did not touch is rebuilt too, and exact. (Two calls of one agent out of
    six: past either threshold lowered here.)"""
    monkeypatch.setattr(module, threshold, value)
    world = build_world(5)
    bystander = AgentDayCallStats.objects.order_by("pk").first()
    agent = next(a for a in world.agents if a.pk != bystander.agent_id)
    start = local_day_start(bystander.day) + timedelta(hours=12)
    records = [
        {
            "external_id": f"BULK-{n}",
            "channel": "phone",
            "started_at": start.isoformat(),
            "ended_at": (start + timedelta(minutes=5)).isoformat(),
            "agent": {"employee_code": agent.employee_code},
        }
        for n in range(2)
    ]
    with django_capture_on_commit_callbacks(execute=True):
        result = import_records(records)
    assert (result.created, result.errors, result.affected_agent_ids) == (2, [], [agent.pk])
    assert not AgentDayCallStats.objects.filter(pk=bystander.pk).exists()  # deleted and re-inserted
    assert AgentDayCallStats.objects.filter(agent_id=bystander.agent_id, day=bystander.day).exists()
    incremental = snapshot()
    full_rebuild()
    assert snapshot() == incremental


@pytest.fixture(scope="module")
def sqlite_import_run(tmp_path_factory, sqlite_template) -> dict:
    return run_script_on_copy(
        sqlite_template,
        tmp_path_factory.mktemp("sqlite-import-refresh"),
        "tests/analytics/sqlite_import_refresh_run.py",
        "11",
        str(IMPORTS),
        env={"TIME_ZONE": "America/New_York", "REPEAT_CONTACT_WINDOW_DAYS": "2"},
    )


@pytest.mark.django_db
def test_random_small_imports_keep_every_rollup_table_equal_to_a_full_rebuild_on_sqlite(sqlite_import_run):
    assert sqlite_import_run["vendor"] == "sqlite"
    assert sqlite_import_run["time_zone"] == "America/New_York"
    assert len(sqlite_import_run["imports"]) == IMPORTS
    assert sqlite_import_run["mismatches"] == []
    assert sum("[rollups changed]" in what for what in sqlite_import_run["imports"]) >= IMPORTS // 2
    assert sqlite_import_run["matches_raw"] is True
    # Then a transfers-only CSV for a call only in the database (the CSV path of the SQLite merge).
    assert sqlite_import_run["csv_transfers"] == {
        "updated": 1,
        "errors": [],
        "transferred_added": 1,
        "differences": {},
    }


@pytest.mark.django_db
def test_a_call_taken_from_a_customer_refreshes_that_customers_earlier_call_of_another_agent(
    zone, django_capture_on_commit_callbacks
):
    """The old customer counts: a call re-imported under another customer stops being the repeat contact
    of its old customer's call of the day before, handled by another agent, whose row is then rebuilt."""
    world = build_world(3)
    ann, bob = world.agents[0], world.agents[1]
    first, second = local_day_start(date(2026, 6, 14)), local_day_start(date(2026, 6, 15))  # no call there
    customer = world.customers[0]

    def record(external_id, start, agent, customer_id):
        return {
            "external_id": external_id,
            "channel": "phone",
            "started_at": (start + timedelta(hours=10)).isoformat(),
            "ended_at": (start + timedelta(hours=10, minutes=5)).isoformat(),
            "agent": {"employee_code": agent.employee_code},
            "customer": {"external_id": customer_id},
            "resolved": True,
        }

    with django_capture_on_commit_callbacks(execute=True):
        import_records([record("EARLY", first, bob, customer.external_id)])
        import_records([record("LATER", second, ann, customer.external_id)])
    bob_row = AgentDayCallStats.objects.get(agent=bob, day=date(2026, 6, 14))
    assert (bob_row.calls, bob_row.repeat_contacts, bob_row.first_contact_resolved) == (1, 1, 0)

    with django_capture_on_commit_callbacks(execute=True):
        result = import_records([record("LATER", second, ann, world.customers[1].external_id)])

    assert (result.updated, result.affected_agent_ids) == (1, [ann.pk])
    bob_row = AgentDayCallStats.objects.get(agent=bob, day=date(2026, 6, 14))
    assert (bob_row.calls, bob_row.repeat_contacts, bob_row.first_contact_resolved) == (1, 0, 1)
    incremental = snapshot()
    full_rebuild()
    assert snapshot() == incremental


@pytest.mark.django_db
def test_a_csv_of_transfers_for_calls_already_imported_refreshes_their_rows_exactly(
    zone, tmp_path, django_capture_on_commit_callbacks
):
    """A transfers-only CSV replaces the transfers of calls that are only in the database (the CSV path of
    both backends' merge): their handling agents' rows follow, and every table equals a full rebuild. (On SQLite:
    the end of sqlite_import_refresh_run.py.)"""
    world = build_world(4)
    path, call = write_transfers_csv_for_a_stored_call(world, tmp_path)
    day = timezone.localtime(call.started_at).date()
    before = AgentDayCallStats.objects.get(agent_id=call.agent_id, day=day).transferred
    with django_capture_on_commit_callbacks(execute=True):
        result = import_files([path])

    assert (result.updated, result.errors) == (1, [])
    assert AgentDayCallStats.objects.get(agent_id=call.agent_id, day=day).transferred == before + 1
    incremental = snapshot()
    full_rebuild()
    assert snapshot() == incremental
