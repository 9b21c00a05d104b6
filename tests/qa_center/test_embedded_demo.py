"""The embedded default `make run` gives a newcomer: SQLite and the filesystem broker, no services.

A subprocess (tests/qa_center/embedded_run.py) migrates the SQLite file (a copy of the session's template,
migrated from scratch once: tests/embedded_sqlite.py), seeds the demo, does what the worker would (dispatch
every pending follow-up, sweep, notify escalations) and opens every main page as a supervisor, a reviewer
and an agent. Everything must work there, not only on PostgreSQL.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.embedded_sqlite import copy_template

ROOT = Path(__file__).resolve().parents[2]
# The subprocess has its own SQLite file; the marker only lets the suite's session fixtures set up.
pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def embedded(tmp_path_factory, sqlite_template) -> dict:
    tmp = tmp_path_factory.mktemp("embedded")
    # `make run` migrates first; the session's template already holds every migration (test_settings.py
    # proves they all apply from scratch), so the script's migrate finds nothing to do on this copy.
    copy_template(sqlite_template, tmp / "var")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE"}
    }
    env |= {
        "QA_CENTER_VAR_DIR": str(tmp / "var"),
        "ALLOWED_HOSTS": "testserver",
        "SECRET_KEY": "embedded-test",
    }
    completed = subprocess.run(  # noqa: S603 - our own interpreter and script
        [sys.executable, str(ROOT / "tests" / "qa_center" / "embedded_run.py")],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])


def test_the_embedded_default_runs_on_sqlite_and_the_filesystem_broker(embedded):
    assert (embedded["vendor"], embedded["broker"]) == ("sqlite", "filesystem")
    assert embedded["calls"] == 400


def test_the_worker_side_of_follow_ups_works_on_sqlite(embedded):
    assert embedded["errors"] == []
    assert embedded["pending_before"] > 0
    assert embedded["dispatch_outcomes"] == {"dispatched": embedded["pending_before"]}
    assert embedded["assigned_notices"] >= embedded["pending_before"]


def test_every_main_page_opens_on_sqlite(embedded):
    failing = {page: status for page, status in embedded["pages"].items() if status != 200}
    assert failing == {}
    assert len(embedded["pages"]) == 27
    assert embedded["upload"] == [
        "done",
        1,
        1,
        [
            {
                "file": "calls.csv",
                "line": 3,
                "field": "channel",
                "reason": "unknown value 'fax' (expected one of: phone, email, chat, social, in_person)",
            }
        ],
    ]


def test_follow_up_insights_have_figures_on_sqlite(embedded):
    """No percentile_cont on SQLite: the medians are taken in Python, over the demo's closed cases."""
    figures = embedded["insights"]
    assert figures["closed"] > 0
    assert figures["causes"] == figures["closed"]
    assert figures["close_median_seconds"] > 0


def test_qa_progress_has_figures_on_sqlite(embedded):
    """The legs per agent (raw SQL around the ORM-built UNION) and the per-reviewer rows (summed in Python)
    on SQLite. The demo's reviews were not made from assignments, so there is no time to review to take a
    median of (the Python median is compared with percentile_cont in tests/scoring/test_progress.py)."""
    figures = embedded["progress"]
    assert figures["reviews"] > 0
    assert figures["reviews"] == figures["agent_reviews"] == figures["reviewer_reviews"]
    assert figures["legs"] >= figures["reviewed_legs"] > 0
    assert figures["medians"] == 0


def test_the_evaluation_export_streams_on_sqlite(embedded):
    """One row per answer of the admin's last 90 days (the demo's evaluations all fall in them), through the
    export's one query on SQLite; its columns are checked on PostgreSQL in tests/scoring/test_evaluation_export.py."""
    figures = embedded["evaluation_export"]
    assert figures["status"] == 200
    assert figures["rows"] == figures["answers"] > 0


def test_weekly_digests_are_written_on_sqlite(embedded):
    """The demo writes each supervisor's digest through the same queries (FILTER, DISTINCT count, the progress
    selector) on SQLite; their figures are checked against plain Python in tests/scoring/test_weekly_digest.py."""
    figures = embedded["weekly_digests"]
    assert figures["count"] > 0
    assert figures["agents"] > 0
