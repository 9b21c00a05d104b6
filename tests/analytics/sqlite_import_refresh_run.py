"""Run in a subprocess by test_scoped_import_refresh.py: the random-import check of the scoped import
refresh on the embedded demo's database (SQLite, DATABASE_URL empty), from scratch. Builds refresh_world's
world, makes random small imports, and after each compares every rollup table with a full rebuild; then
imports a transfers-only CSV for a stored call and compares again; prints the mismatches (and a plain-Python
recomputation's verdict) as JSON. The test asserts on them.

Usage: python tests/analytics/sqlite_import_refresh_run.py SEED IMPORTS
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings_test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.utils import timezone  # noqa: E402

from calls import rollups  # noqa: E402
from calls.importers import import_files  # noqa: E402
from calls.models import AgentDayCallStats  # noqa: E402
from tests.analytics.import_world import run_random_imports, write_transfers_csv_for_a_stored_call  # noqa: E402
from tests.analytics.refresh_world import build_world, differences, full_rebuild, snapshot  # noqa: E402
from tests.analytics.test_rollups import assert_rollups_match_raw  # noqa: E402


def main(seed: int, imports: int) -> None:
    # Six agents: keep even imports involving most of them on the scoped path under test.
    rollups.SCOPED_REFRESH_MAX_AGENT_SHARE = 1.0
    call_command("migrate", verbosity=0)
    world = build_world(seed)  # autocommit, as in production: each import commits on its own
    log: list[str] = []
    mismatches = run_random_imports(world, nullcontext, imports=imports, log=log)
    try:
        assert_rollups_match_raw()
        matches_raw = True
    except AssertionError:
        matches_raw = False
    csv_transfers = transfers_csv_check(world)
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "time_zone": settings.TIME_ZONE,
                "imports": log,
                "mismatches": mismatches,
                "matches_raw": matches_raw,
                "csv_transfers": csv_transfers,
            }
        )
    )


def transfers_csv_check(world) -> dict:
    """A transfers-only CSV for a call only in the database: the call's agent's row gains the transfer, and
    every rollup table still equals a full rebuild."""
    with tempfile.TemporaryDirectory() as folder:
        path, call = write_transfers_csv_for_a_stored_call(world, Path(folder))
        day = timezone.localtime(call.started_at).date()
        before = AgentDayCallStats.objects.get(agent_id=call.agent_id, day=day).transferred
        result = import_files([path])
    after = AgentDayCallStats.objects.get(agent_id=call.agent_id, day=day).transferred
    incremental = snapshot()
    full_rebuild()
    return {
        "updated": result.updated,
        "errors": [str(error) for error in result.errors],
        "transferred_added": after - before,
        "differences": differences(incremental, snapshot()),
    }


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
