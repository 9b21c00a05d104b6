"""Run in a subprocess by test_scoped_refresh.py: the random-edit check of the agent-scoped refreshes on the
embedded demo's database (SQLite, DATABASE_URL empty; a copy of the session's migrated template, see
tests/embedded_sqlite.py). Builds refresh_world's world, makes random edits through the Django admin and the
analytics refresh services, and after each compares every rollup table with a full rebuild; prints the
mismatches (and a plain-Python recomputation's verdict) as JSON. The test asserts on them; nothing is
asserted here.

Usage: python tests/analytics/sqlite_refresh_run.py SEED EDITS
"""

from __future__ import annotations

import json
import os
import sys
from contextlib import nullcontext
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings_test")

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.contrib.auth.models import User  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import setup_test_environment  # noqa: E402

from tests.analytics.refresh_world import build_world, run_random_edits, snapshot  # noqa: E402
from tests.analytics.test_rollups import assert_rollups_match_raw  # noqa: E402


def main(seed: int, edits: int) -> None:
    setup_test_environment()  # responses carry their template context, as in the test client under pytest
    call_command("migrate", verbosity=0)
    # Autocommit, as in production: each admin request commits and then runs its on-commit refresh.
    world = build_world(seed)
    rows = sum(len(rows) for rows in snapshot().values())
    admin = User.objects.create_superuser("sqlite-admin", "admin@example.com", "x")
    client = Client()
    client.force_login(admin)
    log: list[str] = []

    mismatches = run_random_edits(world, client, nullcontext, edits=edits, log=log)
    try:
        assert_rollups_match_raw()
        matches_raw = True
    except AssertionError:
        matches_raw = False
    print(
        json.dumps(
            {
                "vendor": connection.vendor,
                "time_zone": settings.TIME_ZONE,
                "rows": rows,
                "edits": log,
                "mismatches": mismatches,
                "matches_raw": matches_raw,
            }
        )
    )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]))
