"""`manage.py bench ingest`: the product's call import against a bare COPY of the same file.

Both run in the same process tree on the same machine, one after the other, into a temporary PostgreSQL
database made for the run and dropped at the end, so the ratio means something even where absolute rates
drift from machine to machine.

- product: `calls.importers.import_files` (validation, staging, dedup, upsert, transfers/escalations), in a
  child process so its peak memory (RSS high-water mark) is its own;
- reference: the json module + psycopg text COPY of the same fields into plain tables without constraints
  or indexes (no validation, no dedup), timestamps left for PostgreSQL to parse.
"""

from __future__ import annotations

import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from urllib.parse import quote

import orjson
import psycopg
from django.conf import settings
from django.db import connection

SEED = 20261102
DEPARTMENTS = [
    "Billing",
    "Tech Support",
    "Sales",
    "Retention",
    "Claims",
    "Onboarding",
    "Collections",
    "General",
]
LEVELS = ["tier2", "supervisor", "complaint", "other"]
OFFSET = timezone(timedelta(hours=1))


def generate(path: Path, calls: int, *, seed: int = SEED) -> tuple[int, int]:
    """Write `calls` call records (≈0.3 transfers and 0.05 escalations each) as JSON Lines; deterministic.

    Returns (transfers, escalations) written.
    """
    rng = random.Random(seed)
    agents = [(f"A-{n:04d}", f"Agent {n}", f"Team {n % 40}") for n in range(500)]
    customers = max(1, calls // 5)
    start = datetime(2026, 1, 1, 8, 0, tzinfo=OFFSET)
    transfers = escalations = 0
    with path.open("wb") as out:
        for number in range(calls):
            started = start + timedelta(seconds=number * 7 + rng.randint(0, 5))
            wait, talk, hold = rng.randint(0, 120), rng.randint(30, 900), rng.choice((0, 0, 0, 15, 40))
            answered = started + timedelta(seconds=wait)
            ended = answered + timedelta(seconds=talk + hold)
            code, name, team = agents[rng.randrange(len(agents))]
            department = DEPARTMENTS[int(team.split()[1]) % len(DEPARTMENTS)]
            customer = rng.randrange(customers)
            record = {
                "external_id": f"C-{number:08d}",
                "channel": "phone"
                if rng.random() < 0.8
                else rng.choice(("chat", "email", "social", "in_person")),
                "direction": "inbound",
                "started_at": started.isoformat(),
                "answered_at": answered.isoformat(),
                "ended_at": ended.isoformat(),
                "wait_seconds": wait,
                "talk_seconds": talk,
                "hold_seconds": hold,
                "wrap_seconds": rng.randint(10, 90),
                "department": department,
                "agent": {"employee_code": code, "name": name, "team": team},
                "customer": {
                    "external_id": f"CU-{customer:07d}",
                    "name": f"Customer {customer}",
                    "phone": f"+1555{customer:07d}",
                    "tier": ("standard", "standard", "standard", "gold", "platinum")[customer % 5],
                },
                "disposition": "resolved" if rng.random() < 0.7 else "unresolved",
                "resolved": rng.random() < 0.7,
                "transcript": f"Agent: Thank you for calling {department}, this is {name}.\nCustomer: I have a question about my account {customer}.",
                "recording_url": None,
                "transfers": [],
                "escalations": [],
            }
            draw = rng.random()
            for sequence in range(1, 1 + (1 if draw < 0.24 else 2 if draw < 0.27 else 0)):
                target = agents[rng.randrange(len(agents))]
                record["transfers"].append(
                    {
                        "sequence": sequence,
                        "at": (answered + timedelta(seconds=min(talk, 20 * sequence))).isoformat(),
                        "from_department": department,
                        "to_department": rng.choice(DEPARTMENTS),
                        "from_agent": code,
                        "to_agent": target[0],
                        "reason": rng.choice(("technical issue", "wrong queue", "billing question")),
                    }
                )
                transfers += 1
            if rng.random() < 0.05:
                record["escalations"].append(
                    {
                        "at": (answered + timedelta(seconds=talk // 2)).isoformat(),
                        "level": rng.choice(LEVELS),
                        "reason": "refund over limit",
                        "outcome": "approved",
                        "resolved_at": (ended + timedelta(minutes=30)).isoformat(),
                    }
                )
                escalations += 1
            out.write(orjson.dumps(record) + b"\n")
    return transfers, escalations


# --- the reference: json module + bare COPY ---------------------------------------------------------------

BARE_TABLES = {
    "bare_call": (
        "external_id text, channel text, direction text, started_at timestamptz, answered_at timestamptz, "
        "ended_at timestamptz, wait_seconds int, talk_seconds int, hold_seconds int, wrap_seconds int, department text, "
        "agent_employee_code text, agent_name text, agent_team text, customer_external_id text, customer_name text, "
        "customer_phone text, customer_email text, customer_tier text, disposition text, resolved bool, transcript text, "
        "recording_url text"
    ),
    "bare_transfer": (
        "call_external_id text, sequence int, at timestamptz, from_department text, to_department text, "
        "from_agent text, to_agent text, reason text"
    ),
    "bare_escalation": (
        "call_external_id text, sequence int, at timestamptz, level text, reason text, outcome text, resolved_at timestamptz"
    ),
}


def bare_copy(conninfo: str, path: Path) -> float:
    """Seconds to load the file with json.loads + text COPY into the three plain tables (committed)."""
    connections = [psycopg.connect(conninfo) for _ in BARE_TABLES]
    try:
        for conn, (table, columns) in zip(connections, BARE_TABLES.items(), strict=True):
            conn.execute(f"DROP TABLE IF EXISTS {table}")
            conn.execute(f"CREATE TABLE {table} ({columns})")
            conn.commit()
        started = time.perf_counter()
        cursors = [conn.cursor() for conn in connections]
        copies = [
            cursor.copy(f"COPY {table} FROM STDIN")
            for cursor, table in zip(cursors, BARE_TABLES, strict=True)
        ]
        calls, transfers, escalations = (copy.__enter__() for copy in copies)
        loads = json.loads
        with path.open("rb") as stream:
            for raw in stream:
                r = loads(raw)
                agent = r["agent"] or {}
                customer = r["customer"] or {}
                external_id = r["external_id"]
                calls.write_row(
                    (
                        external_id, r["channel"], r.get("direction"), r["started_at"], r.get("answered_at"), r["ended_at"],
                        r.get("wait_seconds"), r.get("talk_seconds"), r.get("hold_seconds"), r.get("wrap_seconds"),
                        r.get("department"), agent.get("employee_code"), agent.get("name"), agent.get("team"),
                        customer.get("external_id"), customer.get("name"), customer.get("phone"), customer.get("email"),
                        customer.get("tier"), r.get("disposition"), r.get("resolved"), r.get("transcript"), r.get("recording_url"),
                    )
                )  # fmt: skip
                for position, t in enumerate(r.get("transfers") or (), start=1):
                    transfers.write_row(
                        (
                            external_id, t.get("sequence", position), t["at"], t.get("from_department"), t.get("to_department"),
                            t.get("from_agent"), t.get("to_agent"), t.get("reason"),
                        )
                    )  # fmt: skip
                for position, e in enumerate(r.get("escalations") or (), start=1):
                    escalations.write_row(
                        (
                            external_id,
                            e.get("sequence", position),
                            e["at"],
                            e["level"],
                            e.get("reason"),
                            e.get("outcome"),
                            e.get("resolved_at"),
                        )
                    )
        for copy in copies:
            copy.__exit__(None, None, None)
        for conn in connections:
            conn.commit()
        return time.perf_counter() - started
    finally:
        for conn in connections:
            conn.close()


def constrained_copy(conninfo: str, path: Path, *, foreign_keys: bool = True) -> float:
    """Seconds to load the file with json.loads + text COPY straight into the product's own tables (their
    foreign keys, checks and indexes), no validation, dedup or rollups: what PostgreSQL alone charges for the
    integrity the product keeps. Departments, agents and customers must already be there (the product import
    made them); calls get their ids here so that transfers can name them. Three connections, as the bare
    COPY, committed calls first (the foreign keys are checked at commit): a reference, not atomic.

    `foreign_keys=False` turns the foreign-key triggers off for these connections (session_replication_role
    = replica, as pg_restore --disable-triggers does; it needs a superuser or PostgreSQL 15's GRANT SET ON
    PARAMETER): what the indexes and checks alone cost. A reference only; the product never does this."""
    connections = [psycopg.connect(conninfo) for _ in range(3)]
    try:
        if not foreign_keys:
            for conn in connections:
                conn.execute("SET session_replication_role = replica")
                conn.commit()
        first = connections[0]
        first.autocommit = True
        first.execute("TRUNCATE calls_transfer, calls_escalation, calls_call RESTART IDENTITY CASCADE")
        first.execute("VACUUM ANALYZE calls_call, calls_transfer, calls_escalation")
        departments = dict(first.execute("SELECT name, id FROM calls_department").fetchall())
        agents = dict(first.execute("SELECT employee_code, id FROM calls_agent").fetchall())
        customers = dict(first.execute("SELECT external_id, id FROM calls_customer").fetchall())
        first.autocommit = False
        now = datetime.now(UTC).isoformat()
        started = time.perf_counter()
        copies = [
            conn.cursor().copy(sql)
            for conn, sql in zip(
                connections,
                (
                    "COPY calls_call (id, external_id, channel, direction, customer_id, agent_id, department_id, "
                    "started_at, answered_at, ended_at, wait_seconds, talk_seconds, hold_seconds, wrap_seconds, "
                    "disposition, is_resolved, transcript, recording_url, content_hash, created_at, updated_at) FROM STDIN",
                    "COPY calls_transfer (call_id, sequence, at, from_department_id, to_department_id, from_agent_id, "
                    "to_agent_id, reason) FROM STDIN",
                    "COPY calls_escalation (call_id, sequence, level, reason, raised_at, outcome, resolved_at) FROM STDIN",
                ),
                strict=True,
            )
        ]
        calls, transfers, escalations = (copy.__enter__() for copy in copies)
        loads = json.loads
        with path.open("rb") as stream:
            for call_id, raw in enumerate(stream, start=1):
                r = loads(raw)
                agent = r["agent"] or {}
                customer = r["customer"] or {}
                calls.write_row(
                    (
                        call_id, r["external_id"], r["channel"], r.get("direction") or "inbound",
                        customers.get(customer.get("external_id")), agents.get(agent.get("employee_code")),
                        departments.get(r.get("department")), r["started_at"], r.get("answered_at"), r["ended_at"],
                        r.get("wait_seconds") or 0, r.get("talk_seconds") or 0, r.get("hold_seconds") or 0,
                        r.get("wrap_seconds") or 0, r.get("disposition") or "", bool(r.get("resolved")),
                        r.get("transcript") or "", r.get("recording_url") or "", "", now, now,
                    )
                )  # fmt: skip
                for position, t in enumerate(r.get("transfers") or (), start=1):
                    transfers.write_row(
                        (
                            call_id, t.get("sequence", position), t["at"], departments.get(t.get("from_department")),
                            departments.get(t.get("to_department")), agents.get(t.get("from_agent")),
                            agents.get(t.get("to_agent")), t.get("reason") or "",
                        )
                    )  # fmt: skip
                for position, e in enumerate(r.get("escalations") or (), start=1):
                    escalations.write_row(
                        (
                            call_id, e.get("sequence", position), e["level"], e.get("reason") or "", e["at"],
                            e.get("outcome") or "", e.get("resolved_at"),
                        )
                    )  # fmt: skip
        for copy in copies:
            copy.__exit__(None, None, None)
        for conn in connections:  # calls first: the children's foreign keys are checked at their commit
            conn.commit()
        return time.perf_counter() - started
    finally:
        for conn in connections:
            conn.close()


def validation_only(path: Path) -> float:
    """Seconds for the product's own reading and validation of the file (orjson, every field rule, the
    staging rows built) with no database at all: the Python half of the product's import."""
    from .importers import parsing

    zone = datetime.now(UTC).tzinfo
    errors: list = []
    started = time.perf_counter()
    with path.open("rb") as stream:
        for line, record, problems in parsing.jsonl_records(stream):
            errors += problems
            parsing.call_row(record, src=0, line=line, zone=zone, errors=errors)
    if errors:
        raise RuntimeError(f"the generated file does not validate: {errors[:3]}")
    return time.perf_counter() - started


# --- the product, in a child process ------------------------------------------------------------------------

_CHILD = """
import json, os, resource, sys, django
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings")
django.setup()
from calls.importers import import_files
result = import_files([sys.argv[1]])
print(json.dumps({"elapsed": result.elapsed, "created": result.created, "updated": result.updated,
                  "unchanged": result.unchanged, "rejected": result.rejected, "errors": [str(e) for e in result.errors[:5]],
                  "maxrss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss}))
"""


def product_import(database_url: str, path: Path) -> dict:
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "qa_center.settings"}
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, "-c", _CHILD, str(path)],
        cwd=settings.BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    wall = time.perf_counter() - started
    if done.returncode != 0:
        raise RuntimeError(f"product import failed:\n{done.stderr[-3000:]}")
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    figures["wall"] = wall
    return figures


# --- the benchmark --------------------------------------------------------------------------------------------


def add_arguments(parser) -> None:
    parser.add_argument(
        "--calls", type=int, default=200_000, help="calls in the generated file (default 200000)"
    )
    parser.add_argument(
        "--rounds", type=int, default=1, help="interleaved rounds; medians are reported (default 1)"
    )
    parser.add_argument("--seed", type=int, default=SEED)
    parser.add_argument(
        "--keep-database", action="store_true", help="do not drop the temporary database (for inspection)"
    )


def _database_url(params: dict, name: str) -> str:
    user = quote(params.get("USER") or "", safe="")
    password = quote(params.get("PASSWORD") or "", safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = params.get("HOST") or "localhost"
    port = f":{params['PORT']}" if params.get("PORT") else ""
    return f"postgres://{auth}{host}{port}/{name}"


def run(out, *, calls: int, rounds: int, seed: int, keep_database: bool, **_options) -> dict:
    if connection.vendor != "postgresql":
        raise RuntimeError(
            "bench ingest needs PostgreSQL (set DATABASE_URL); SQLite is the demo fallback, not benchmarked"
        )
    if calls < 1 or rounds < 1:
        raise RuntimeError("--calls and --rounds must be at least 1")
    params = settings.DATABASES["default"]
    name = f"qa_center_bench_{os.getpid()}"
    database_url = _database_url(params, name)
    admin = psycopg.connect(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname="postgres",
        autocommit=True,
    )
    conninfo = psycopg.conninfo.make_conninfo(
        host=params.get("HOST") or None,
        port=params.get("PORT") or None,
        user=params.get("USER") or None,
        password=params.get("PASSWORD") or None,
        dbname=name,
    )
    with tempfile.TemporaryDirectory(prefix="qa_center_bench_") as folder:
        path = Path(folder) / "calls.jsonl"
        started = time.perf_counter()
        transfers, escalations = generate(path, calls, seed=seed)
        out(
            f"generated {calls:,} calls, {transfers:,} transfers, {escalations:,} escalations "
            f"({path.stat().st_size / 2**20:.0f} MiB) in {time.perf_counter() - started:.1f} s"
        )
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "qa_center.settings"}
            subprocess.run(  # noqa: S603
                [sys.executable, "manage.py", "migrate", "--no-input", "-v0"],
                cwd=settings.BASE_DIR,
                env=env,
                check=True,
            )
            product_rates, bare_rates, reimport_rates, peaks = [], [], [], []
            constrained_rates, unchecked_rates, validation_rates = [], [], []
            for round_number in range(1, rounds + 1):
                with psycopg.connect(conninfo, autocommit=True) as conn:
                    conn.execute(
                        "TRUNCATE calls_transfer, calls_escalation, calls_call, calls_customer, calls_agent, calls_team, "
                        "calls_department RESTART IDENTITY CASCADE"
                    )
                    conn.execute("VACUUM ANALYZE")
                order = ("bare", "product") if round_number % 2 else ("product", "bare")
                for which in order:
                    if which == "bare":
                        seconds = bare_copy(conninfo, path)
                        bare_rates.append(calls / seconds)
                        out(
                            f"round {round_number}: bare COPY      {seconds:7.2f} s  {calls / seconds:10,.0f} calls/s"
                        )
                    else:
                        figures = product_import(database_url, path)
                        if figures["created"] != calls or figures["rejected"]:
                            raise RuntimeError(f"product import did not create every call: {figures}")
                        product_rates.append(calls / figures["elapsed"])
                        peaks.append(figures["maxrss_kib"])
                        out(
                            f"round {round_number}: product import {figures['elapsed']:7.2f} s  {calls / figures['elapsed']:10,.0f} calls/s"
                            f"  (peak RSS {figures['maxrss_kib'] / 1024:.0f} MiB, process wall {figures['wall']:.2f} s)"
                        )
                again = product_import(database_url, path)
                if again["unchanged"] != calls:
                    raise RuntimeError(f"re-import was not a no-op: {again}")
                reimport_rates.append(calls / again["elapsed"])
                out(
                    f"round {round_number}: re-import (all unchanged) {again['elapsed']:7.2f} s  {calls / again['elapsed']:10,.0f} calls/s"
                )
                seconds = constrained_copy(conninfo, path)
                constrained_rates.append(calls / seconds)
                out(
                    f"round {round_number}: bare COPY into the product's tables {seconds:7.2f} s  {calls / seconds:10,.0f} calls/s"
                )
                try:
                    seconds = constrained_copy(conninfo, path, foreign_keys=False)
                except psycopg.errors.InsufficientPrivilege:
                    out(
                        f"round {round_number}: the same without foreign-key checks: skipped (turning triggers "
                        "off needs a superuser)"
                    )
                else:
                    unchecked_rates.append(calls / seconds)
                    out(
                        f"round {round_number}: the same without foreign-key checks {seconds:7.2f} s  {calls / seconds:10,.0f} calls/s"
                    )
                seconds = validation_only(path)
                validation_rates.append(calls / seconds)
                out(
                    f"round {round_number}: validation alone (no database) {seconds:7.2f} s  {calls / seconds:10,.0f} calls/s"
                )
        finally:
            if keep_database:
                out(f"kept database {name}")
            else:
                admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            admin.close()

    product, bare = statistics.median(product_rates), statistics.median(bare_rates)
    ratio = product / bare
    out(f"product import: {product:,.0f} calls/s (median of {rounds}), peak RSS {max(peaks) / 1024:.0f} MiB")
    out(f"bare COPY:      {bare:,.0f} calls/s (median of {rounds})")
    out(f"re-import:      {statistics.median(reimport_rates):,.0f} calls/s (nothing changed)")
    # Where the product's time goes: the same bare COPY into the product's tables (foreign keys, checks,
    # indexes, no validation) is what PostgreSQL charges for the integrity kept; validation alone is the
    # Python half. Both are references for the ratio below, which stays product / bare COPY.
    constrained, validation = statistics.median(constrained_rates), statistics.median(validation_rates)
    out(
        f"bare COPY into the product's tables: {constrained:,.0f} calls/s ({constrained / bare:.2f} of bare COPY; "
        f"product at {product / constrained:.2f} of it)"
    )
    unchecked = statistics.median(unchecked_rates) if unchecked_rates else None
    if unchecked is not None:
        out(
            f"the same without foreign-key checks (indexes and checks only): {unchecked:,.0f} calls/s "
            f"({unchecked / bare:.2f} of bare COPY)"
        )
    out(f"validation alone, no database: {validation:,.0f} calls/s ({validation / bare:.2f} of bare COPY)")
    out(f"bench ingest: product {product:.0f} rows/s, bare COPY {bare:.0f} rows/s, ratio {ratio:.2f}")
    return {
        "product": product,
        "bare": bare,
        "ratio": ratio,
        "peak_rss_kib": max(peaks),
        "constrained": constrained,
        "unchecked": unchecked,
        "validation": validation,
        "when": datetime.now(UTC).isoformat(),
    }
