"""`manage.py bench import-push`: a CRM pushing calls to POST /api/calls/import (1 call, then 100 calls per
request), rollup refresh included, refreshing every agent's rows of the touched days vs. only the rows the
pushed calls can change.

Runs against the configured database as it is (seed it first: `manage.py seed_demo --calls 200000`): it
takes the latest calls with an agent, and posts each batch twice per round, once with every call given to
another agent and once as the calls were, so the data ends as it began (a call's content hash may be
filled in). "every agent" is the import's refresh before it was scoped (SCOPED_REFRESH_MAX_CALLS forced
below any import: the call rollups of every agent over the touched days and the repeat window before,
every agent's rows of the registered refreshers over the touched days); "scoped" is what an import of at
most SCOPED_REFRESH_MAX_CALLS calls does now. Each figure is the whole request.
"""

from __future__ import annotations

import json
import statistics
import time
from contextlib import contextmanager, suppress

from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import setup_test_environment

from .importers import staging
from .models import Agent, Call
from .selectors import call_import_record


def add_arguments(parser) -> None:
    parser.add_argument(
        "--rounds", type=int, default=3, help="requests per batch size and method (default 3)"
    )
    parser.add_argument(
        "--sizes", type=str, default="1,100", help="calls per request, comma-separated (default 1,100)"
    )


def _body(records: list[dict]) -> bytes:
    return "\n".join(json.dumps(record) for record in records).encode()


@contextmanager
def _every_agent():
    saved = staging.SCOPED_REFRESH_MAX_CALLS
    staging.SCOPED_REFRESH_MAX_CALLS = -1
    try:
        yield
    finally:
        staging.SCOPED_REFRESH_MAX_CALLS = saved


def _post(client: Client, body: bytes) -> tuple[float, int]:
    count = [0]

    def counting(execute, sql, params, many, context):
        count[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(counting):
        started = time.perf_counter()
        response = client.post("/api/calls/import", body, content_type="application/x-ndjson")
        seconds = time.perf_counter() - started
    if response.status_code != 200:
        raise RuntimeError(f"the import was refused ({response.status_code}): {response.content[:500]!r}")
    return seconds, count[0]


def run(out, *, rounds: int, sizes: str, **_options) -> dict:
    # The test client's host (testserver) is allowed, as under pytest (already set up in a test).
    with suppress(RuntimeError):
        setup_test_environment()
    calls_total = Call.objects.count()
    sizes_list = [int(size) for size in sizes.split(",")]
    latest = list(
        Call.objects.filter(agent__isnull=False)
        .select_related("agent", "customer", "department")
        .prefetch_related(
            "transfers__from_agent",
            "transfers__to_agent",
            "transfers__from_department",
            "transfers__to_department",
            "escalations",
        )
        .order_by("-started_at")[: max(sizes_list)]
    )
    if len(latest) < max(sizes_list):
        raise RuntimeError("seed calls first (manage.py seed_demo --calls 200000)")
    agent_codes = list(Agent.objects.order_by("pk").values_list("employee_code", flat=True)[:50])
    user, _ = get_user_model().objects.get_or_create(
        username="bench-importer", defaults={"is_staff": True, "is_superuser": True}
    )
    client = Client()
    client.force_login(user)
    out(
        f"{calls_total} calls; per batch size, {rounds} rounds of two pushes (to other agents and back) per method"
    )
    summary: dict[int, dict[str, dict[str, float]]] = {}
    for size in sizes_list:
        originals = [call_import_record(call) for call in latest[:size]]
        moved = [
            {
                **record,
                "agent": {
                    "employee_code": next(c for c in agent_codes if c != record["agent"]["employee_code"])
                },
            }
            for record in originals
        ]
        _post(client, _body(originals))  # fill in content hashes: every push below changes every call
        results: dict[str, list[tuple[float, int]]] = {"every agent": [], "scoped": []}
        for _ in range(rounds):
            for method in ("every agent", "scoped"):
                for records in (moved, originals):
                    if method == "every agent":
                        with _every_agent():
                            results[method].append(_post(client, _body(records)))
                    else:
                        results[method].append(_post(client, _body(records)))
        summary[size] = {}
        for method, figures in results.items():
            seconds = statistics.median(s for s, _ in figures)
            queries = statistics.median(q for _, q in figures)
            summary[size][method] = {"seconds": seconds, "queries": queries}
            out(
                f"  {size:4} call(s)/request  {method:12} median {seconds * 1000:8.1f} ms  {queries:5.0f} queries"
                f"  ({len(figures)} requests)"
            )
    parts = [
        f"{size} call(s) {figures['every agent']['seconds'] * 1000:.0f} ms -> {figures['scoped']['seconds'] * 1000:.0f} ms"
        f" ({figures['every agent']['seconds'] / figures['scoped']['seconds']:.1f}x)"
        for size, figures in summary.items()
    ]
    out(
        f"bench import-push: POST /api/calls/import at {calls_total} calls, every agent -> scoped: "
        + "; ".join(parts)
    )
    return summary
