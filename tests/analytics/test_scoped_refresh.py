"""A single call's edit refreshes only the affected agents' rows of the affected days, and stays exact.

After each random edit (agent, start, customer, department, resolution, transfers moved / changed /
deleted, escalations added / deleted, calls deleted, evaluations changed and refreshed directly or
debounced), every rollup table, row by row, equals what a full rebuild of every day from scratch gives
(the nightly rebuild's code), and at the end also a plain-Python recomputation from the raw rows. The same
edits run on SQLite in test_sqlite.py's manner (tests/analytics/sqlite_refresh_run.py).
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from django.urls import reverse
from django.utils import timezone

from calls.models import AgentDayCallStats, Call
from scoring.analytics.models import AgentDayScoreStats
from scoring.analytics.rollups import calls_agent_ids
from tests.analytics.helpers import make_evaluation
from tests.analytics.refresh_world import (
    EDIT_KINDS,
    ROLLUP_MODELS,
    build_world,
    change_page_data,
    full_rebuild,
    run_random_edits,
    snapshot,
)
from tests.analytics.test_rollups import assert_rollups_match_raw
from tests.embedded_sqlite import run_script_on_copy

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def zone(settings):
    # Local days differ from UTC days; a 2-day repeat window makes repeat contacts common in 11 days.
    settings.TIME_ZONE = "Europe/Paris"
    settings.REPEAT_CONTACT_WINDOW_DAYS = 2


@pytest.mark.django_db
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_edits_keep_every_rollup_table_equal_to_a_full_rebuild(
    seed, zone, client, admin_user, django_capture_on_commit_callbacks
):
    client.force_login(admin_user)
    world = build_world(seed)
    assert all(snapshot().values()), "every rollup table has rows to get wrong"
    assert_rollups_match_raw()

    log: list[str] = []
    mismatches = run_random_edits(
        world,
        client,
        lambda: django_capture_on_commit_callbacks(execute=True),
        edits=2 * len(EDIT_KINDS),
        log=log,
    )

    assert mismatches == []
    # Every edit found something to edit, and most of them changed some rollup figure.
    assert len(log) == 2 * len(EDIT_KINDS)
    assert not [what for what in log if what.startswith("no ")]
    assert sum("[rollups changed]" in what for what in log) >= len(log) // 2
    assert_rollups_match_raw()


def row_ids() -> dict[tuple, int]:
    """(table, agent, day, rest of the key) -> id of every rollup row. A refresh deletes and re-inserts the
    rows it rebuilds, so a row it did not touch is the one whose id is still there."""
    out = {}
    for model in ROLLUP_MODELS:
        columns = [f.attname for f in model._meta.concrete_fields if not f.primary_key]
        for row in model.objects.values("id", *columns):
            key = tuple(row[c] for c in columns if c.endswith("_id") or c in ("day", "kind", "reason"))
            out[(model._meta.db_table, *key)] = row["id"]
    return out


@pytest.mark.django_db
def test_an_admin_call_edit_rebuilds_only_the_rows_of_agents_it_can_change(
    zone, client, admin_user, django_capture_on_commit_callbacks
):
    """Giving a call to another agent rebuilds, on its day, the old and new agent's rows and those of the
    agents credited with its legs (evaluations, survey responses); the call rollups also the rows of its
    customer's other agents over the repeat window. Every other row keeps its id: it was not touched."""
    client.force_login(admin_user)
    world = build_world(7)
    ann, bob, leg = world.agents[0], world.agents[1], world.agents[2]
    call = Call.objects.filter(customer__isnull=False).exclude(agent=bob).order_by("pk").first()
    Call.objects.filter(pk=call.pk).update(agent=ann)
    make_evaluation(world.card, call=call, agent=leg, score=55)
    full_rebuild()
    day = timezone.localtime(call.started_at).date()
    window = {day - timedelta(days=n) for n in range(3)}  # REPEAT_CONTACT_WINDOW_DAYS = 2
    customer_agents = set(Call.objects.filter(customer=call.customer).values_list("agent_id", flat=True))
    leg_agents = calls_agent_ids([call.pk])
    assert leg.pk in leg_agents
    before = row_ids()

    url = reverse("admin:calls_call_change", args=[call.pk])
    data = change_page_data(client, url)
    data["agent"] = str(bob.pk)
    with django_capture_on_commit_callbacks(execute=True):
        assert client.post(url, data).status_code == 302

    after = row_ids()
    rebuilt = {key for key, pk in before.items() if after.get(key) != pk} | (after.keys() - before.keys())
    calls_table, score_table = AgentDayCallStats._meta.db_table, AgentDayScoreStats._meta.db_table
    assert {(key[1], key[2]) for key in rebuilt if key[0] == calls_table} <= {
        (agent, d) for agent in {ann.pk, bob.pk} | customer_agents for d in window
    }
    assert {(key[1], key[2]) for key in rebuilt if key[0] != calls_table} <= {
        (agent, day) for agent in {ann.pk, bob.pk} | leg_agents
    }
    assert (calls_table, bob.pk, day) in rebuilt
    assert (score_table, leg.pk, day) in rebuilt
    # Rows of other agents on the same day were there, and were left alone.
    scope = {ann.pk, bob.pk} | leg_agents
    others = {
        key
        for key in before
        if key[2] == day and key[1] not in (scope | customer_agents if key[0] == calls_table else scope)
    }
    assert others
    assert not others & rebuilt
    # And the scoped refresh is exact.
    incremental = snapshot()
    full_rebuild()
    assert snapshot() == incremental
    assert_rollups_match_raw()


@pytest.fixture(scope="module")
def sqlite_refresh_run(tmp_path_factory, sqlite_template) -> dict:
    return run_script_on_copy(
        sqlite_template,
        tmp_path_factory.mktemp("sqlite-refresh"),
        "tests/analytics/sqlite_refresh_run.py",
        "11",
        str(2 * len(EDIT_KINDS)),
        env={"TIME_ZONE": "America/New_York", "REPEAT_CONTACT_WINDOW_DAYS": "2"},
    )


@pytest.mark.django_db
def test_random_edits_keep_every_rollup_table_equal_to_a_full_rebuild_on_sqlite(sqlite_refresh_run):
    assert sqlite_refresh_run["vendor"] == "sqlite"
    assert sqlite_refresh_run["time_zone"] == "America/New_York"
    assert sqlite_refresh_run["rows"] > 100
    assert len(sqlite_refresh_run["edits"]) == 2 * len(EDIT_KINDS)
    assert sqlite_refresh_run["mismatches"] == []
    assert sum("[rollups changed]" in what for what in sqlite_refresh_run["edits"]) >= len(EDIT_KINDS)
    assert sqlite_refresh_run["matches_raw"] is True
