"""The embedded default's SQLite database, migrated from scratch once per test session.

Migrating a new SQLite file takes ~15 s, and several tests run a subprocess on a fresh embedded database.
`build_template` runs `manage.py migrate` once, with no service configured (the embedded default), into
a file under the session's tmp dir; `copy_template` gives each test its own copy in the QA_CENTER_VAR_DIR
its subprocess uses, where `migrate` then finds nothing to do. The `sqlite_template` fixture in
tests/conftest.py holds the session's template; test_settings.py asserts that every migration applied.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DATABASE_FILE = "qa_center.sqlite3"  # qa_center/settings.py: VAR_DIR / "qa_center.sqlite3"
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


def build_template(var_dir: Path) -> Path:
    """Migrate a new embedded-default SQLite file in `var_dir` from scratch; return the file."""
    env = {key: value for key, value in os.environ.items() if key not in SERVICE_VARIABLES}
    env |= {"QA_CENTER_VAR_DIR": str(var_dir), "DJANGO_SETTINGS_MODULE": "qa_center.settings"}
    completed = subprocess.run(  # noqa: S603 - our own interpreter and manage.py, fixed arguments
        [sys.executable, "manage.py", "migrate", "--noinput", "-v0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"migrate from scratch failed on SQLite:\n{completed.stderr[-5000:]}")
    template = var_dir / DATABASE_FILE
    if not template.is_file():
        raise RuntimeError(f"migrate exited 0 but wrote no {template}: the embedded default moved?")
    # The settings open SQLite in WAL mode, and a process that exits without closing its connection can
    # leave committed pages in the -wal file only. Fold them into the main file and leave WAL mode, so
    # a plain file copy is the whole database; each copy's first connection turns WAL on again.
    with sqlite3.connect(template) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        connection.execute("PRAGMA journal_mode=DELETE")
    connection.close()
    return template


def copy_template(template: Path, var_dir: Path) -> Path:
    """Give a test its own copy of the migrated template, where the embedded default looks for it."""
    var_dir.mkdir(parents=True, exist_ok=True)
    return Path(shutil.copyfile(template, var_dir / DATABASE_FILE))


def applied_migrations(database: Path) -> set[tuple[str, str]]:
    """The (app, name) rows of django_migrations in an SQLite file."""
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return set(connection.execute("SELECT app, name FROM django_migrations"))
    finally:
        connection.close()


def table_names(database: Path) -> set[str]:
    connection = sqlite3.connect(f"file:{database}?mode=ro", uri=True)
    try:
        return {row[0] for row in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        connection.close()


def run_script_on_copy(
    template: Path, tmp: Path, script: str, *args: str, env: dict[str, str] | None = None, timeout: int = 600
) -> dict:
    """Run one of the tests' scripts (`script`, relative to the repository) in a subprocess on the embedded
    default — no database, Redis or broker configured: SQLite and the filesystem broker under `tmp`/var, on
    its own copy of the template — and return the JSON object its last line prints. `env` adds settings."""
    var_dir = tmp / "var"
    copy_template(template, var_dir)
    completed = subprocess.run(  # noqa: S603 - our own interpreter and test script, fixed arguments
        [sys.executable, str(ROOT / script), *args],
        cwd=ROOT,
        env={
            **os.environ,
            "DATABASE_URL": "",
            "REDIS_URL": "",
            "CELERY_BROKER_URL": "",
            "QA_CENTER_VAR_DIR": str(var_dir),
            "ALLOWED_HOSTS": "testserver",
            "DJANGO_SETTINGS_MODULE": "qa_center.settings_test",
            **(env or {}),
        },
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-5000:]
    return json.loads(completed.stdout.strip().splitlines()[-1])
