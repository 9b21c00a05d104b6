"""Run in a subprocess by test_fcr_identified.py: the first-contact-resolution world (fcr_world) on the
embedded demo's database (SQLite, DATABASE_URL empty; the test copies in the session's migrated template, see
tests/embedded_sqlite.py, so `migrate` finds nothing to do). The calls app is first migrated back to just
before migration 0007 (identified_calls), the world and its rollups are written as the code of then counted
them, and the migration is run; then every figure the product shows is printed as JSON. The test compares
them with its hand counts; nothing is asserted here.

Usage: python tests/analytics/sqlite_fcr_run.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "qa_center.settings_test")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402

from calls.rollups import agent_day_stats_refresh  # noqa: E402
from tests.analytics.fcr_world import (  # noqa: E402
    BEFORE_IDENTIFIED,
    FIRST_DAY,
    LAST_DAY,
    build_fcr_world,
    figures,
    make_users,
    migrate_calls,
    rollup_rows,
    write_rollups_before_identified,
)


def main() -> None:
    call_command("migrate", verbosity=0)
    migrate_calls(BEFORE_IDENTIFIED)
    world = build_fcr_world(refresh=False)
    write_rollups_before_identified(world["agents"])
    migrate_calls()
    out: dict = {"vendor": connection.vendor, "after_migration": rollup_rows()}
    # The QA/NPS rollups the leaderboard also reads (and the call rollups again, as the importer would).
    agent_day_stats_refresh(date_from=FIRST_DAY, date_to=LAST_DAY)
    out["figures"] = figures(world, make_users(world))
    print(json.dumps(out))


if __name__ == "__main__":
    main()
