"""`manage.py bench ingest` (calls.benchmarks): its generated file and its reference loaders do what they say.

The benchmark's figures are measured, not asserted; these tests check that each side loads exactly the
generated calls, so that the rates it prints compare the same work.
"""

from __future__ import annotations

import io
import json
import re

import psycopg
import pytest
from django.core.management import call_command
from django.db import connection

from calls import benchmarks
from calls.importers import import_files
from calls.models import Call, Escalation, Transfer


def _records(path):
    return [json.loads(line) for line in path.read_bytes().splitlines()]


def _conninfo() -> str:
    params = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        host=params["HOST"] or None,
        port=params["PORT"] or None,
        user=params["USER"] or None,
        password=params["PASSWORD"] or None,
        dbname=params["NAME"],
    )


def test_generate_writes_the_counts_it_returns(tmp_path):
    path = tmp_path / "calls.jsonl"
    transfers, escalations = benchmarks.generate(path, 300)
    records = _records(path)
    assert len(records) == 300
    assert len({r["external_id"] for r in records}) == 300
    assert transfers == sum(len(r["transfers"]) for r in records)
    assert escalations == sum(len(r["escalations"]) for r in records)
    assert transfers > 0 and escalations > 0
    # Deterministic: the same seed writes the same file.
    again = tmp_path / "again.jsonl"
    benchmarks.generate(again, 300)
    assert again.read_bytes() == path.read_bytes()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("foreign_keys", [True, False])
def test_bare_copy_into_the_product_tables_loads_every_call_with_its_links(tmp_path, foreign_keys):
    path = tmp_path / "calls.jsonl"
    transfers, escalations = benchmarks.generate(path, 200)
    result = import_files([path])  # the product makes the departments, agents and customers
    assert (result.created, result.rejected) == (200, 0)

    seconds = benchmarks.constrained_copy(_conninfo(), path, foreign_keys=foreign_keys)

    assert seconds > 0
    assert Call.objects.count() == 200
    assert Transfer.objects.count() == transfers
    assert Escalation.objects.count() == escalations
    record = next(r for r in _records(path) if r["transfers"])
    call = Call.objects.select_related("agent", "customer", "department").get(
        external_id=record["external_id"]
    )
    assert (call.agent.employee_code, call.customer.external_id, call.department.name) == (
        record["agent"]["employee_code"],
        record["customer"]["external_id"],
        record["department"],
    )
    assert [(t.sequence, t.to_agent.employee_code) for t in call.transfers.select_related("to_agent")] == [
        (t["sequence"], t["to_agent"]) for t in record["transfers"]
    ]


@pytest.mark.django_db(transaction=True)
def test_without_foreign_key_checks_the_triggers_are_really_off_and_a_plain_role_is_refused(
    tmp_path, monkeypatch
):
    path = tmp_path / "calls.jsonl"
    benchmarks.generate(path, 20)
    assert import_files([path]).created == 20

    # Every department, agent and customer id the loader looks up points a million rows past the real ones:
    # with the foreign-key triggers on, the commit refuses the calls; turned off, they get in (the run
    # measured no foreign-key work at all).
    def shifted(rows):
        return {key: value + 1_000_000 for key, value in rows}

    monkeypatch.setattr(benchmarks, "dict", shifted, raising=False)
    with pytest.raises(psycopg.errors.ForeignKeyViolation):
        benchmarks.constrained_copy(_conninfo(), path)
    benchmarks.constrained_copy(_conninfo(), path, foreign_keys=False)
    assert Call.objects.count() == 20
    assert (
        Call.objects.filter(agent_id__gte=1_000_000).count() == Call.objects.exclude(agent=None).count() > 0
    )
    with connection.cursor() as cursor:  # leave no orphans behind for the flush
        cursor.execute("TRUNCATE calls_transfer, calls_escalation, calls_call CASCADE")
    monkeypatch.undo()

    plain = "qa_bench_plain_role"
    with connection.cursor() as cursor:
        cursor.execute(f"DROP ROLE IF EXISTS {plain}")
        cursor.execute(f"CREATE ROLE {plain} LOGIN")
    try:
        conninfo = psycopg.conninfo.make_conninfo(_conninfo(), user=plain)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="session_replication_role"):
            benchmarks.constrained_copy(conninfo, path, foreign_keys=False)
    finally:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP ROLE {plain}")


def test_validation_alone_reads_the_generated_file_and_refuses_a_bad_one(tmp_path):
    path = tmp_path / "calls.jsonl"
    benchmarks.generate(path, 100)
    assert benchmarks.validation_only(path) > 0

    records = _records(path)
    records[5]["ended_at"] = "2020-01-01T00:00:00+00:00"  # before started_at
    bad = tmp_path / "bad.jsonl"
    bad.write_text("".join(json.dumps(r) + "\n" for r in records))
    with pytest.raises(RuntimeError, match="ended_at"):
        benchmarks.validation_only(bad)


@pytest.mark.django_db(transaction=True)
def test_bench_ingest_runs_end_to_end_and_states_its_ratio():
    out = io.StringIO()
    call_command("bench", "ingest", "--calls", "60", stdout=out)
    text = out.getvalue()
    assert "round 1: product import" in text
    assert "bare COPY into the product's tables:" in text
    assert "the same without foreign-key checks (indexes and checks only):" in text
    assert "validation alone, no database:" in text
    last = text.strip().splitlines()[-1]
    match = re.fullmatch(
        r"bench ingest: product (\d+) rows/s, bare COPY (\d+) rows/s, ratio (\d+\.\d\d)", last
    )
    assert match, last
    product, bare, ratio = int(match[1]), int(match[2]), float(match[3])
    assert product > 0 and bare > 0
    assert ratio == pytest.approx(product / bare, abs=0.01)


@pytest.mark.django_db(transaction=True)
def test_admin_save_bench_saves_through_the_admin_and_leaves_the_data_as_it_was(settings):
    """`bench admin-save` (calls.bench_admin_save) really saves calls through the admin (both methods, a
    move to another agent and back), and leaves every call and every rollup row as it found them."""
    from datetime import date

    from calls import bench_admin_save
    from calls.models import AgentDayCallStats
    from calls.rollups import agent_day_stats_refresh
    from scoring.analytics.models import AgentDayScoreStats
    from tests.analytics.helpers import at, make_evaluation, make_scorecard
    from tests.factories import AgentFactory, CallFactory

    card = make_scorecard()
    agents = [AgentFactory(), AgentFactory()]
    for i in range(2):
        make_evaluation(card, call=CallFactory(agent=agents[i], started_at=at(3 + i, 10)), score=80)
    agent_day_stats_refresh(date_from=date(2026, 6, 1), date_to=date(2026, 6, 10))

    def state():
        return (
            sorted(Call.objects.values_list("pk", "agent_id", "started_at")),
            sorted(AgentDayCallStats.objects.values_list("agent_id", "day", "calls")),
            sorted(AgentDayScoreStats.objects.values_list("agent_id", "day", "evaluations")),
        )

    before = state()
    lines: list[str] = []
    summary = bench_admin_save.run(lines.append, rounds=2)

    assert state() == before
    assert set(summary) == {"every agent", "scoped"}
    assert all(figures["queries"] > 0 for figures in summary.values())
    assert re.match(r"bench admin-save: one call saved in the admin at 2 calls: \d+ ms", lines[-1])


@pytest.mark.django_db(transaction=True)
def test_import_push_bench_posts_through_the_api_and_leaves_the_calls_as_they_were():
    """`bench import-push` (calls.bench_import_push) really pushes calls to POST /api/calls/import (both
    methods, to other agents and back), and leaves every call's agent and every rollup row as it found them."""
    from datetime import date

    from calls import bench_import_push
    from calls.models import AgentDayCallStats
    from calls.rollups import agent_day_stats_refresh
    from tests.analytics.helpers import at
    from tests.factories import AgentFactory, CallFactory, TransferFactory

    agents = [AgentFactory(), AgentFactory()]
    for i in range(3):
        TransferFactory(call=CallFactory(agent=agents[i % 2], started_at=at(3 + i, 10)), to_agent=agents[0])
    agent_day_stats_refresh(date_from=date(2026, 6, 1), date_to=date(2026, 6, 10))

    def state():
        return (
            sorted(Call.objects.values_list("pk", "agent_id", "started_at", "customer_id")),
            sorted(AgentDayCallStats.objects.values_list("agent_id", "day", "calls")),
        )

    before = state()
    lines: list[str] = []
    summary = bench_import_push.run(lines.append, rounds=1, sizes="1,3")

    assert state() == before
    assert set(summary) == {1, 3}
    assert all(set(figures) == {"every agent", "scoped"} for figures in summary.values())
    assert re.match(
        r"bench import-push: POST /api/calls/import at 3 calls, every agent -> scoped: 1 call", lines[-1]
    )
