"""The embedded default (no configuration) and the typed settings helpers."""

import json
import os
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db.migrations.loader import MigrationLoader

from qa_center import settings as app_settings
from tests.embedded_sqlite import applied_migrations, copy_template, table_names

ROOT = Path(__file__).resolve().parents[2]
SERVICE_VARIABLES = ("DATABASE_URL", "REDIS_URL", "CELERY_BROKER_URL", "DJANGO_SETTINGS_MODULE")


def clean_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in SERVICE_VARIABLES}
    env.update({"QA_CENTER_VAR_DIR": str(tmp_path / "var"), "DJANGO_SETTINGS_MODULE": "qa_center.settings"})
    env.update(extra)
    return env


def test_no_configuration_resolves_to_sqlite_and_filesystem_broker(tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps({'engine': s.DATABASES['default']['ENGINE'], 'name': str(s.DATABASES['default']['NAME']),"
        "'options': s.DATABASES['default']['OPTIONS'], 'broker': s.CELERY_BROKER_URL,"
        "'transport': s.CELERY_BROKER_TRANSPORT_OPTIONS}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        check=True,
    )
    resolved = json.loads(out.stdout.strip().splitlines()[-1])
    var = tmp_path / "var"
    assert resolved["engine"] == "django.db.backends.sqlite3"
    assert resolved["name"] == str(var / "qa_center.sqlite3")
    assert resolved["options"]["transaction_mode"] == "IMMEDIATE"
    assert resolved["broker"] == "filesystem://localhost//"
    transport = resolved["transport"]
    assert transport["data_folder_in"] == transport["data_folder_out"] == str(var / "celery" / "queue")
    assert transport["control_folder"] == str(var / "celery" / "control")
    for folder in ("queue", "processed", "control"):
        assert (var / "celery" / folder).is_dir()


def test_migrations_apply_on_the_embedded_sqlite_database(sqlite_template):
    """The session's template (tests/conftest.py) is `manage.py migrate` from scratch with no configuration."""
    # Every migration on disk, read here without any database: all of them were recorded as applied.
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    assert applied_migrations(sqlite_template) == set(graph.nodes)
    assert {"calls", "scoring", "surveys", "followups", "analytics"} <= {app for app, _ in graph.nodes}
    # And the schema is there: a table for every model, and for every many-to-many through table.
    models = [m for m in apps.get_models(include_auto_created=True) if m._meta.managed and not m._meta.proxy]
    assert {m._meta.db_table for m in models} <= table_names(sqlite_template)


def test_each_copy_of_the_template_is_a_whole_database_of_its_own(sqlite_template, tmp_path):
    first = copy_template(sqlite_template, tmp_path / "first")
    second = copy_template(sqlite_template, tmp_path / "second")
    # Nothing of the template lives in a -wal file beside it: the plain copy holds every migration.
    assert not sqlite_template.with_name(sqlite_template.name + "-wal").exists()
    assert applied_migrations(first) == applied_migrations(sqlite_template)
    # A test's writes stay in its copy: neither the template nor another test's copy sees them.
    connection = sqlite3.connect(first)
    with connection:
        connection.execute("DELETE FROM django_migrations WHERE app = 'calls'")
    connection.close()
    calls = {row for row in applied_migrations(sqlite_template) if row[0] == "calls"}
    assert calls
    assert applied_migrations(first) == applied_migrations(sqlite_template) - calls
    assert applied_migrations(second) == applied_migrations(sqlite_template)


def test_database_url_and_redis_url_select_postgres_and_redis(tmp_path):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(s.DATABASES['default']['ENGINE'], s.DATABASES['default']['CONN_MAX_AGE'], s.CELERY_BROKER_URL)"
    )
    env = clean_env(tmp_path, DATABASE_URL="postgres://u@db.example:5433/x", REDIS_URL="redis://cache:6379/2")
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["django.db.backends.postgresql", "600", "redis://cache:6379/2"]


@pytest.mark.parametrize(
    ("extra", "options"),
    [
        ({}, "-c jit=off"),
        ({"DATABASE_URL": "postgres://u@db.example:5433/x?options=-c%20statement_timeout%3D5000"},
         "-c statement_timeout=5000 -c jit=off"),
        ({"DATABASE_JIT": "true"}, None),
    ],
)  # fmt: skip
def test_postgresql_connections_run_without_jit_unless_asked(tmp_path, extra, options):
    code = (
        "import django; django.setup(); from django.conf import settings as s;"
        "print(repr(s.DATABASES['default'].get('OPTIONS', {}).get('options')))"
    )
    env = clean_env(tmp_path, **{"DATABASE_URL": "postgres://u@db.example:5433/x", **extra})
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == repr(options)


def test_the_test_database_connection_has_jit_off(db):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone() == ("off",)


@pytest.mark.parametrize(
    ("helper", "raw", "message"),
    [
        (app_settings.env_bool, "maybe", "is not a boolean"),
        (app_settings.env_int, "7days", "is not an integer"),
        (app_settings.env_float, "abc", "is not a number"),
        (app_settings.env_rate, "10 per minute", "is not a rate"),
        (app_settings.env_rate, "x/minute", "is not a rate"),
        (app_settings.env_rate, "10/fortnight", "is not a rate"),
    ],
)
def test_typed_helpers_refuse_bad_values(monkeypatch, helper, raw, message):
    monkeypatch.setenv("QA_TEST_VALUE", raw)
    with pytest.raises(ImproperlyConfigured, match=message):
        helper("QA_TEST_VALUE", 1)


def test_typed_helpers_enforce_bounds_and_parse_good_values(monkeypatch):
    monkeypatch.setenv("QA_TEST_VALUE", "0")
    with pytest.raises(ImproperlyConfigured, match="below the minimum 1"):
        app_settings.env_int("QA_TEST_VALUE", 7, minimum=1)
    monkeypatch.setenv("QA_TEST_VALUE", "14")
    assert app_settings.env_int("QA_TEST_VALUE", 7, minimum=1) == 14
    monkeypatch.setenv("QA_TEST_VALUE", "Yes")
    assert app_settings.env_bool("QA_TEST_VALUE", False) is True
    monkeypatch.setenv("QA_TEST_VALUE", " a, b ,,c ")
    assert app_settings.env_list("QA_TEST_VALUE", []) == ["a", "b", "c"]
    monkeypatch.setenv("QA_TEST_VALUE", " 100/Hour ")
    assert app_settings.env_rate("QA_TEST_VALUE", "1/s") == "100/hour"
    monkeypatch.delenv("QA_TEST_VALUE")
    assert app_settings.env_float("QA_TEST_VALUE", 0.5) == 0.5
    assert app_settings.env_rate("QA_TEST_VALUE", "10/minute") == "10/minute"


def test_a_bad_setting_stops_the_app_with_its_name(tmp_path):
    code = "import django; django.setup()"
    env = clean_env(tmp_path, REPEAT_CONTACT_WINDOW_DAYS="soon")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "REPEAT_CONTACT_WINDOW_DAYS='soon' is not an integer" in out.stderr


def test_healthz_answers_ok(client, db):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_healthz_answers_whatever_host_the_health_check_sends(client, db, settings):
    """The container's own check asks 127.0.0.1 (an orchestrator, the pod's address): a strict ALLOWED_HOSTS
    must not make the service look unhealthy, while every other page still refuses a host it does not allow."""
    settings.ALLOWED_HOSTS = ["qa.example.com"]

    assert client.get("/healthz", HTTP_HOST="127.0.0.1:8000").json() == {"status": "ok"}
    assert client.get("/accounts/login/", HTTP_HOST="127.0.0.1:8000").status_code == 400
    assert client.get("/accounts/login/", HTTP_HOST="qa.example.com").status_code == 200


def test_https_settings_come_from_the_environment(tmp_path):
    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.SECURE_SSL_REDIRECT, s.SECURE_HSTS_SECONDS, s.SECURE_PROXY_SSL_HEADER]))"
    )
    env = clean_env(tmp_path, SECURE_SSL_REDIRECT="true", SECURE_HSTS_SECONDS="3600", BEHIND_TLS_PROXY="true")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [True, 3600, ["HTTP_X_FORWARDED_PROTO", "https"]]
    refused = subprocess.run(
        [sys.executable, "-c", code],
        cwd=ROOT,
        env={**env, "SECURE_HSTS_SECONDS": "-1"},
        capture_output=True,
        text=True,
    )
    assert refused.returncode != 0 and "SECURE_HSTS_SECONDS" in refused.stderr


def test_behind_https_plain_requests_are_redirected_but_the_health_check_is_not(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_HSTS_SECONDS = 3600
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

    health = client.get("/healthz")
    plain = client.get("/accounts/login/?next=/calls/")
    secure = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})

    assert (health.status_code, health.json()) == (200, {"status": "ok"})
    assert (plain.status_code, plain.headers["Location"]) == (
        301,
        "https://testserver/accounts/login/?next=/calls/",
    )
    assert secure.status_code == 200
    assert secure.headers["Strict-Transport-Security"] == "max-age=3600"
    assert "Strict-Transport-Security" not in plain.headers


def test_recording_sources_are_origins_and_go_into_the_policys_media_src(tmp_path, monkeypatch):
    monkeypatch.setenv(
        "QA_TEST_VALUE", " https://Recordings.Example.com/ , https://*.s3.amazonaws.com,http://pbx:8080"
    )
    assert app_settings.env_origins("QA_TEST_VALUE") == [
        "https://recordings.example.com",
        "https://*.s3.amazonaws.com",
        "http://pbx:8080",
    ]
    for bad in ("recordings.example.com", "https://example.com/calls", "ftp://example.com", "https://*"):
        monkeypatch.setenv("QA_TEST_VALUE", bad)
        with pytest.raises(ImproperlyConfigured, match=f"QA_TEST_VALUE: '{re.escape(bad)}' is not an origin"):
            app_settings.env_origins("QA_TEST_VALUE")

    code = (
        "import json, django; django.setup(); from django.conf import settings as s;"
        "print(json.dumps([s.RECORDING_SOURCES, s.SECURE_CSP['media-src']]))"
    )
    env = clean_env(tmp_path, RECORDING_SOURCES="https://recordings.example.com")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == [
        ["https://recordings.example.com"],
        ["'self'", "https://recordings.example.com"],
    ]
