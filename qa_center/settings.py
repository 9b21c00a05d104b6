"""QA Center settings: everything comes from the environment, with typed helpers that refuse bad values.

With no DATABASE_URL and no broker configured, the app runs on an embedded default (an SQLite file
and kombu's filesystem broker under var/) so `make run` works on a machine with nothing installed.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import dj_database_url
from celery.schedules import crontab
from django.core.exceptions import ImproperlyConfigured
from django.utils.csp import CSP
from kombu import Queue

BASE_DIR = Path(__file__).resolve().parent.parent


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true/false, 1/0, yes/no, on/off)")


def env_int(name: str, default: int, *, minimum: int | None = None, maximum: int | None = None) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not an integer") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def env_float(
    name: str, default: float, *, minimum: float | None = None, maximum: float | None = None
) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a number") from None
    if minimum is not None and value < minimum:
        raise ImproperlyConfigured(f"{name}={value} is below the minimum {minimum}")
    if maximum is not None and value > maximum:
        raise ImproperlyConfigured(f"{name}={value} is above the maximum {maximum}")
    return value


def env_rate(name: str, default: str) -> str:
    """A request rate as DRF's throttles read it: `<count>/<second|minute|hour|day>` (`10/minute`, `5/s`)."""
    raw = os.environ.get(name, "").strip() or default
    count, _, period = raw.partition("/")
    if not (
        count.isdigit()
        and period.lower() in {"s", "sec", "second", "m", "min", "minute", "h", "hour", "d", "day"}
    ):
        raise ImproperlyConfigured(f"{name}={raw!r} is not a rate (use e.g. 10/minute, 100/hour)")
    return f"{int(count)}/{period.lower()}"


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


_ORIGIN = re.compile(
    r"https?://(\*\.)?[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*(:\d{1,5})?"
)


def env_origins(name: str) -> list[str]:
    """Comma-separated origins (scheme://host[:port], a host may start with "*." for its subdomains), as a
    Content Security Policy source list writes them; anything else (a path, a bare host) is refused."""
    origins = [item.lower().rstrip("/") for item in env_list(name, [])]
    for origin in origins:
        if not _ORIGIN.fullmatch(origin):
            raise ImproperlyConfigured(
                f"{name}: {origin!r} is not an origin (write scheme://host[:port], e.g. https://recordings.example.com "
                "or https://*.example.com)"
            )
    return origins


DEBUG = env_bool("DEBUG", False)
SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG and env_bool("REQUIRE_SECRET_KEY", False):
        raise ImproperlyConfigured("SECRET_KEY must be set in production")
    # Demo/dev only: a fixed key would be a vulnerability, so derive one per checkout and keep it in var/.
    _key_file = BASE_DIR / "var" / "secret_key"
    _key_file.parent.mkdir(parents=True, exist_ok=True)
    if not _key_file.exists():
        import secrets

        _key_file.write_text(secrets.token_urlsafe(50))
    SECRET_KEY = _key_file.read_text().strip()

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]"])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])
SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
VAR_DIR = Path(env_str("QA_CENTER_VAR_DIR", str(BASE_DIR / "var")))

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",  # Swagger UI and ReDoc served from our static files, not a CDN
    "django_htmx",
    "qa_center",
    "calls",
    "scoring",
    "scoring.surveys",
    "scoring.followups",
    "scoring.analytics",
    "scoring.competitions",
]

MIDDLEWARE = [
    "qa_center.middleware.HealthCheckMiddleware",  # before anything validates the Host header
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    "qa_center.middleware.HtmxLoginRedirectMiddleware",
]

ROOT_URLCONF = "qa_center.urls"
WSGI_APPLICATION = "qa_center.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csp",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "qa_center.context_processors.roles",
                "scoring.notices.context_processors.notices",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
CONN_MAX_AGE = env_int("CONN_MAX_AGE", 600, minimum=0)
# PostgreSQL's JIT compiles every plan whose estimated cost is high. The app's list and dashboard queries
# are estimated high and run in well under a second: at 1M calls, compiling took 0.4 s of a supervisor's
# 1 s calls-list summary, and turning it off halved an admin's calls list (0.26 s -> 0.13 s).
DATABASE_JIT = env_bool("DATABASE_JIT", False)
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(DATABASE_URL, conn_max_age=CONN_MAX_AGE, conn_health_checks=True)
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql" and not DATABASE_JIT:
        _pg_options = DATABASES["default"].setdefault("OPTIONS", {})
        _pg_options["options"] = f"{_pg_options.get('options', '')} -c jit=off".strip()
else:
    VAR_DIR.mkdir(parents=True, exist_ok=True)
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": VAR_DIR / "qa_center.sqlite3",
            # Web and worker write at once: IMMEDIATE transactions + WAL + a busy timeout is the only
            # combination that gave zero "database is locked" errors on this kind of machine.
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Auth -----------------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# --- i18n / time ----------------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

# --- Static files ---------------------------------------------------------------------------------
STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
_chartjs = BASE_DIR / "node_modules" / "chart.js" / "dist"
if _chartjs.exists():
    STATICFILES_DIRS.append(("vendor/chartjs", _chartjs))
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": env_str(
            "STATICFILES_BACKEND",
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage",
        )
    },
}

# --- Security -------------------------------------------------------------------------------------
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"
SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_SECURE = SESSION_COOKIE_SECURE = env_bool("SECURE_COOKIES", False)
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https") if env_bool("BEHIND_TLS_PROXY", False) else None
# Served over HTTPS only: plain-HTTP requests are redirected (the health check is answered before, over plain HTTP
# from inside the network), and browsers are told to use HTTPS alone for this many seconds (HSTS: they remember
# it, so start small, e.g. 3600, and raise it to a year once all is well). Both off by default (`manage.py check
# --deploy` reminds of them).
SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", False)
SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 0, minimum=0)
# Content Security Policy (Django's middleware): scripts, style sheets, images and requests only from this site, so
# markup that got past escaping (a transcript, a survey comment, an imported name) could neither run a script nor
# load or send anything elsewhere. <style> blocks need the request's nonce (the survey page's, the admin's);
# style attributes are refused (style-src applies to them, which has no 'unsafe-inline'), so injected markup
# cannot restyle a page either (hide a warning, overlay a fake form): the pages' bars are <progress> and <meter>
# elements, and scripts set styles through the CSSOM (element.style), which the policy does not govern. Nothing
# here uses eval, inline scripts, style attributes or event-handler attributes (DRF's browsable API pages, which
# do write style attributes, get them back on their own responses: qa_center/renderers.py).

# Where call recordings are played from (the telephony platform's or the storage's origins, e.g.
# https://recordings.example.com,https://*.s3.amazonaws.com): the review workspace and the call page play a
# recording in the page only from these (and from this site); others are a link that opens on their own site.
RECORDING_SOURCES = env_origins("RECORDING_SOURCES")

SECURE_CSP = {
    "default-src": [CSP.SELF],
    "media-src": [CSP.SELF, *RECORDING_SOURCES],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, CSP.NONCE],
    "img-src": [CSP.SELF, "data:"],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

# --- API ------------------------------------------------------------------------------------------
REST_FRAMEWORK = {
    # Token first (as qa_center.authentication.TOKEN_AUTHENTICATION): DRF answers an unauthenticated
    # request with the first class's WWW-Authenticate, and SessionAuthentication has none, which would
    # turn a missing or wrong token into 403 instead of 401; a wrong token is refused even with a session.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "rest_framework.authentication.TokenAuthentication",
        "qa_center.authentication.BearerTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    # POST /api/auth/token (username + password): per client address.
    "DEFAULT_THROTTLE_RATES": {"api-token": env_rate("API_TOKEN_RATE", "10/minute")},
    # The client address throttles count by: with NUM_PROXIES unset DRF takes X-Forwarded-For as sent by
    # the client, so anyone could reset their count by sending a new one. 0: the socket's address; behind
    # a TLS proxy (BEHIND_TLS_PROXY), the address that proxy appended.
    "NUM_PROXIES": env_int("NUM_PROXIES", 1 if env_bool("BEHIND_TLS_PROXY", False) else 0, minimum=0),
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_SCHEMA_CLASS": "qa_center.schema.AutoSchema",
    "EXCEPTION_HANDLER": "qa_center.api_errors.exception_handler",
    # DRF's browsable pages under the site's Content Security Policy (qa_center/renderers.py).
    "DEFAULT_RENDERER_CLASSES": [
        "rest_framework.renderers.JSONRenderer",
        "qa_center.renderers.BrowsableAPIRenderer",
    ],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
}
SPECTACULAR_SETTINGS = {
    "TITLE": "QA Center API",
    "DESCRIPTION": "Call records, QA evaluations, NPS surveys and follow-ups.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Endpoints without a trailing slash also answer with one; the schema names each once.
    "PREPROCESSING_HOOKS": ["qa_center.schema.drop_trailing_slash_aliases"],
    # /api/docs/ works without internet access and loads no third-party script into a logged-in page.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}
# Failed sign-ins at /accounts/login/ per client address (the web form must not be a way around the
# API token endpoint's throttle).
LOGIN_FAILURE_RATE = env_rate("LOGIN_FAILURE_RATE", "10/minute")
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 50 * 1024 * 1024, minimum=1024)

# --- Cache ----------------------------------------------------------------------------------------
# Shared by every process (web workers, Celery workers): the API token throttle and the progress of
# uploaded imports. Redis when configured, else files under var/ (the embedded demo, one machine).
CACHE_URL = env_str("CACHE_URL") or env_str("REDIS_URL")
if CACHE_URL:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": CACHE_URL}}
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(VAR_DIR / "cache"),
        }
    }

# --- Celery ---------------------------------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
CELERY_BROKER_URL = env_str("CELERY_BROKER_URL") or REDIS_URL
CELERY_BROKER_TRANSPORT_OPTIONS: dict = {}
if not CELERY_BROKER_URL:
    # Embedded broker for the demo: kombu's filesystem transport. in/out must be the same folder.
    _broker_dir = VAR_DIR / "celery"
    for _sub in ("queue", "processed", "control"):
        (_broker_dir / _sub).mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_URL = "filesystem://localhost//"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(_broker_dir / "queue"),
        "data_folder_out": str(_broker_dir / "queue"),
        "processed_folder": str(_broker_dir / "processed"),
        "control_folder": str(_broker_dir / "control"),
        "store_processed": False,
        # The 1 s default adds ~0.8 s latency to every task.
        "polling_interval": 0.1,
    }
# Follow-up notices are time-critical (the owner is told "within seconds"): their tasks get a queue of
# their own that every worker consumes first (listed first, strict "priority" order on Redis), so a
# backlog of rollup refreshes or survey work queued one per response never delays a detractor's notice.
# Other tasks stay on the default queue; starting a worker with -Q must name both.
CELERY_TASK_DEFAULT_QUEUE = "celery"
# Imports uploaded in the web UI run for up to minutes: a queue of their own, so production runs them on a
# worker of their own (docker-compose `importer`) and never holds a follow-up or refresh behind one. A worker
# started without -Q (`make run`) consumes all three.
CELERY_TASK_QUEUES = [
    Queue("followups", routing_key="followups"),
    Queue(CELERY_TASK_DEFAULT_QUEUE, routing_key=CELERY_TASK_DEFAULT_QUEUE),
    Queue("imports", routing_key="imports"),
]
CELERY_TASK_ROUTES = {
    "scoring.followups.*": {"queue": "followups"},
    "calls.tasks.call_import_run_task": {"queue": "imports"},
}
if CELERY_BROKER_URL.startswith(("redis://", "rediss://")):
    CELERY_BROKER_TRANSPORT_OPTIONS["queue_order_strategy"] = "priority"
CELERY_TASK_IGNORE_RESULT = True
CELERY_RESULT_BACKEND = None
# At-least-once delivery, made harmless by idempotent tasks that claim their row first.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
# Celery's Django fixup closes the DB connection around every task (it ignores CONN_MAX_AGE): a new
# PostgreSQL connection per task cost ~15 ms here and cut follow-up dispatch throughput to a third (bench
# followups). With this set, the fixup only closes a worker's connection every this many tasks (a hard
# ceiling on reuse); qa_center/celery.py applies Django's own rules around every task instead (CONN_MAX_AGE,
# CONN_HEALTH_CHECKS, a connection that had an error is dropped), so a database restart costs no task.
# 0 restores Celery's default (a new connection per task).
CELERY_DB_REUSE_MAX = env_int("CELERY_DB_REUSE_MAX", 1000, minimum=0)
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", False)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE: dict = {}

# --- Domain settings ------------------------------------------------------------------------------
# A call is not first-contact resolved if the same customer calls again within this many days. (A call
# without a customer has no first-contact resolution: FCR and repeat contacts count identified callers only.)
REPEAT_CONTACT_WINDOW_DAYS = env_int("REPEAT_CONTACT_WINDOW_DAYS", 7, minimum=1, maximum=90)
CALLS_PAGE_SIZE = env_int("CALLS_PAGE_SIZE", 50, minimum=5, maximum=500)
# The calls list's CSV download holds at most this many calls (narrower filters for more).
CALLS_EXPORT_MAX_ROWS = env_int("CALLS_EXPORT_MAX_ROWS", 100_000, minimum=1)
# The calls list opens on this many days up to the latest call (0: all dates); clearing the dates shows all.
CALLS_DEFAULT_PERIOD_DAYS = env_int("CALLS_DEFAULT_PERIOD_DAYS", 30, minimum=0, maximum=3650)
# An import that creates or updates at least this many calls refreshes the planner statistics of the call
# tables before it commits (ANALYZE; about a second at 1M calls), so that queries right after a bulk load
# are planned on real numbers even where autovacuum is slow or off.
CALLS_IMPORT_ANALYZE_MIN_ROWS = env_int("CALLS_IMPORT_ANALYZE_MIN_ROWS", 10_000, minimum=1)
# Imports uploaded in the web UI (/calls/imports/): the files of one import together, at most this many
# bytes (kept in the database until the import is deleted; bigger files: `manage.py import_calls`).
CALLS_IMPORT_UPLOAD_MAX_BYTES = env_int("CALLS_IMPORT_UPLOAD_MAX_BYTES", 100 * 1024 * 1024, minimum=1024)
# A zip archive of call files is refused when its files unpack to more than this (a zip bomb); they are read
# from the archive as it is decompressed, never unpacked to disk or memory.
CALLS_IMPORT_ARCHIVE_MAX_BYTES = env_int("CALLS_IMPORT_ARCHIVE_MAX_BYTES", 4 * 1024**3, minimum=1024)
# An uploaded import still running this long after it started is taken over by another worker (its own
# died); imports are idempotent, so a second run of the same files changes nothing twice.
CALLS_IMPORT_STALE_MINUTES = env_int("CALLS_IMPORT_STALE_MINUTES", 60, minimum=1)
CELERY_BEAT_SCHEDULE["calls-import-sweep"] = {"task": "calls.tasks.call_import_sweep_task", "schedule": 60.0}
# The uploaded files of an import are kept this many days after it finished (to download its rejects).
CALLS_IMPORT_KEEP_DAYS = env_int("CALLS_IMPORT_KEEP_DAYS", 30, minimum=1)
CELERY_BEAT_SCHEDULE["calls-import-prune"] = {
    "task": "calls.tasks.call_import_prune_task",
    "schedule": crontab(minute=30, hour=3),
}

# --- QA scoring (scoring) -------------------------------------------------------------------------
# Weekly sample: this many calls per agent per week go into reviewers' queues, counted per leg (a call
# transferred to the agent counts for them too; see scoring.legs).
QA_SAMPLE_CALLS_PER_AGENT = env_int("QA_SAMPLE_CALLS_PER_AGENT", 3, minimum=0, maximum=100)
# A call whose customer answered the survey as a detractor (0–6) is this much more likely to be sampled.
QA_SAMPLE_DETRACTOR_WEIGHT = env_float("QA_SAMPLE_DETRACTOR_WEIGHT", 2.0, minimum=0)
# An agent may dispute a submitted evaluation within this many days of its submission.
QA_DISPUTE_WINDOW_DAYS = env_int("QA_DISPUTE_WINDOW_DAYS", 7, minimum=0, maximum=365)
# Assignments have no due date: the QA progress page counts an open one as overdue once it has waited more
# than this many days in a reviewer's queue (a weekly sample is meant to be done within its week).
QA_ASSIGNMENT_OVERDUE_DAYS = env_int("QA_ASSIGNMENT_OVERDUE_DAYS", 7, minimum=1, maximum=365)
# Monday 06:00: last week's calls are complete (wrap-up and late imports done) and reviewers find a
# full queue when they start the week. Idempotent, so a re-run or a missed run is harmless.
SPECTACULAR_SETTINGS.setdefault("ENUM_NAME_OVERRIDES", {}).update(
    {
        "ScorecardStatusEnum": "scoring.models.Scorecard.Status",
        "EvaluationStatusEnum": "scoring.models.Evaluation.Status",
        "AssignmentStatusEnum": "scoring.models.Assignment.Status",
        # Two choice sets now have fields named "kind": the evaluation's keeps its published name.
        "KindEnum": "scoring.models.Evaluation.Kind",
        "NoticeKindEnum": "scoring.models.Notice.Kind",
    }
)
CELERY_BEAT_SCHEDULE["scoring-weekly-sample"] = {
    "task": "scoring.tasks.weekly_sample_assign_task",
    "schedule": crontab(minute=0, hour=6, day_of_week="mon"),
}
# QA notices (review received, dispute opened/decided): in-app always; also e-mailed when this is on.
QA_NOTICE_EMAIL = env_bool("QA_NOTICE_EMAIL", False)
# The sweeper recreates notices of events this recent whose task was lost, and retries their e-mail.
QA_NOTICE_SWEEP_LOOKBACK_HOURS = env_int("QA_NOTICE_SWEEP_LOOKBACK_HOURS", 24, minimum=1, maximum=24 * 30)
QA_NOTICE_PAGE_SIZE = env_int("QA_NOTICE_PAGE_SIZE", 50, minimum=5, maximum=500)
# A notice's e-mail is tried at most this many times on transient errors (SMTP 4xx, unreachable), waiting
# base·2^(n−1) after the n-th (5, 10, 20, 40 minutes by default; the 5-minute sweep retries it), then marked
# failed; a permanent error (5xx, refused address) or a recipient without an address fails at once.
QA_NOTICE_EMAIL_MAX_ATTEMPTS = env_int("QA_NOTICE_EMAIL_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
QA_NOTICE_EMAIL_RETRY_BASE_SECONDS = env_int(
    "QA_NOTICE_EMAIL_RETRY_BASE_SECONDS", 300, minimum=1, maximum=6 * 3600
)
# Every 5 minutes: a notice whose task was lost (broker down, worker killed) appears at most 5 minutes
# late; idempotent (one notice per event and recipient, by constraint) and bounded by the look-back.
CELERY_BEAT_SCHEDULE["scoring-notices-sweep"] = {
    "task": "scoring.tasks.notice_sweep_task",
    "schedule": 300.0,
}
# Coaching follow-ups: a follow-up this many days past is still told to its coach when the daily task ran
# late or not at all (older ones never: a first deploy does not flood coaches with old follow-ups).
QA_COACHING_FOLLOW_UP_NOTICE_DAYS = env_int("QA_COACHING_FOLLOW_UP_NOTICE_DAYS", 7, minimum=1, maximum=90)
# 06:15 daily, before the working day: the coach finds "Coaching follow-up due" when they sign in. The
# notices sweep (every 5 minutes) catches a run that was lost.
CELERY_BEAT_SCHEDULE["scoring-coaching-follow-ups"] = {
    "task": "scoring.tasks.notice_create_for_due_follow_ups_task",
    "schedule": crontab(minute=15, hour=6),
}
# Weekly digest: each supervisor (a user leading a team) gets last week's QA progress, NPS and overdue follow-ups.
QA_WEEKLY_DIGEST = env_bool("QA_WEEKLY_DIGEST", True)
# Monday 07:00 local time: the week (Monday–Sunday, local days) is over and the weekly sample (06:00) is
# assigned, so the digest is there when supervisors start the week. A run lost or late is caught up during
# the week (the notices sweep, every 5 minutes, from Monday 07:00 on); one digest per supervisor and week,
# by constraint. scoring.notices.digest.WEEKLY_DIGEST_AT says the same hour to the sweep.
CELERY_BEAT_SCHEDULE["scoring-weekly-digest"] = {
    "task": "scoring.tasks.notice_create_for_weekly_digests_task",
    "schedule": crontab(minute=0, hour=7, day_of_week="mon"),
}
# Competitions: each participant is told how a contest went the morning after it ended; a contest that ended
# this many days ago is still told when the daily task ran late or not at all (older ones never).
QA_COMPETITION_NOTICE_DAYS = env_int("QA_COMPETITION_NOTICE_DAYS", 7, minimum=1, maximum=90)
CELERY_BEAT_SCHEDULE["competitions-finished-notices"] = {
    "task": "scoring.competitions.tasks.notice_create_for_finished_competitions_task",
    "schedule": crontab(minute=10, hour=7),
}

# --- NPS surveys (scoring.surveys) ----------------------------------------------------------------
# Share of eligible ended calls whose customer is invited (deterministic per call external id).
SURVEY_SAMPLE_RATE = env_float("SURVEY_SAMPLE_RATE", 0.3, minimum=0.0, maximum=1.0)
# A customer is invited at most once per this many days.
SURVEY_FATIGUE_DAYS = env_int("SURVEY_FATIGUE_DAYS", 30, minimum=0, maximum=365)
# Wait this long after a call ends before inviting (the customer has hung up, the record is complete).
SURVEY_DELAY_SECONDS = env_int("SURVEY_DELAY_SECONDS", 300, minimum=0, maximum=7 * 86400)
SURVEY_LINK_TTL_DAYS = env_int("SURVEY_LINK_TTL_DAYS", 7, minimum=1, maximum=90)
# Which leg's agent owns a response of a transferred call ("final" or "first"); every leg is credited.
SURVEY_PRIMARY_AGENT = env_str("SURVEY_PRIMARY_AGENT", "final")
if SURVEY_PRIMARY_AGENT not in {"final", "first"}:
    raise ImproperlyConfigured(f"SURVEY_PRIMARY_AGENT={SURVEY_PRIMARY_AGENT!r} must be 'final' or 'first'")
# Delivery channels in order of preference: the first one the customer has an address for is used.
# Built-ins: "email", "sms_webhook"; a dotted path to a SurveyChannel subclass also works.
SURVEY_CHANNELS = env_list("SURVEY_CHANNELS", ["email", "sms_webhook"])
SURVEY_SMS_WEBHOOK_URL = env_str("SURVEY_SMS_WEBHOOK_URL")
SURVEY_SMS_WEBHOOK_SECRET = env_str("SURVEY_SMS_WEBHOOK_SECRET")
SURVEY_SMS_WEBHOOK_TIMEOUT = env_float("SURVEY_SMS_WEBHOOK_TIMEOUT", 10.0, minimum=0.5, maximum=120.0)
SURVEY_DELIVERY_MAX_ATTEMPTS = env_int("SURVEY_DELIVERY_MAX_ATTEMPTS", 5, minimum=1, maximum=20)
# Inbound responses from other survey tools: HMAC-SHA256 secret for the X-QA-Signature header
# (empty disables signature auth; DRF token auth still works).
SURVEY_WEBHOOK_SECRET = env_str("SURVEY_WEBHOOK_SECRET")
# The sweeper only decides calls that ended within this window (older imports are history, not surveys).
SURVEY_SWEEP_LOOKBACK_HOURS = env_int("SURVEY_SWEEP_LOOKBACK_HOURS", 72, minimum=1, maximum=24 * 90)
SURVEY_PAGE_SIZE = env_int("SURVEY_PAGE_SIZE", 50, minimum=5, maximum=500)
# Every 5 minutes: decide ended calls a lost message left undecided, re-queue due/stale deliveries.
CELERY_BEAT_SCHEDULE["surveys-sweep"] = {"task": "scoring.surveys.tasks.survey_sweep_task", "schedule": 300.0}

# --- Supervisor analytics (scoring.analytics) ----------------------------------------------------
# Agents with fewer evaluations (responses) in the period are shown greyed out, not ranked.
ANALYTICS_MIN_EVALUATIONS = env_int("ANALYTICS_MIN_EVALUATIONS", 5, minimum=1)
ANALYTICS_MIN_RESPONSES = env_int("ANALYTICS_MIN_RESPONSES", 10, minimum=1)
# Leaderboard rows per page (ranks are over all agents; CSV export and API return every row).
ANALYTICS_LEADERBOARD_PAGE_SIZE = env_int("ANALYTICS_LEADERBOARD_PAGE_SIZE", 50, minimum=5, maximum=1000)
# Empirical-Bayes prior weight: an agent's QA mean is shrunk toward the team mean as if the team mean
# were worth this many evaluations: (n·mean + k·team_mean) / (n + k).
ANALYTICS_SHRINKAGE_K = env_float("ANALYTICS_SHRINKAGE_K", 10.0, minimum=0.0)
# Estimate k per team from the period's data (method of moments: within-agent variance / between-agent
# variance); ANALYTICS_SHRINKAGE_K is then only the fallback when a team's data cannot give an estimate.
ANALYTICS_SHRINKAGE_K_ESTIMATE = env_bool("ANALYTICS_SHRINKAGE_K_ESTIMATE", True)
# Nightly safety net: rebuild this many days of rollups (catches deletions and lost refreshes).
ANALYTICS_REBUILD_DAYS = env_int("ANALYTICS_REBUILD_DAYS", 120, minimum=1, maximum=3650)
ANALYTICS_SWEEP_LOOKBACK_MINUTES = env_int("ANALYTICS_SWEEP_LOOKBACK_MINUTES", 15, minimum=1)
# A refresh rebuilds whole days (~1 s a day at 1M calls), so responses and closes arriving many a second
# are pooled: the first change of a day schedules its refresh this many seconds later, and changes until
# then ride along (per process, through the cache). 0 refreshes after every commit.
ANALYTICS_REFRESH_DEBOUNCE_SECONDS = env_int("ANALYTICS_REFRESH_DEBOUNCE_SECONDS", 5, minimum=0, maximum=300)
# Every 5 minutes: refresh the days of evaluations/responses/follow-ups changed recently (a service that
# did not queue its own refresh, or a lost message, leaves a rollup stale for 5 minutes at most).
CELERY_BEAT_SCHEDULE["analytics-refresh-changed"] = {
    "task": "scoring.analytics.tasks.analytics_refresh_changed_task",
    "schedule": 300.0,
}
# 03:30 nightly, off-peak: rebuild the recent rollups from scratch.
CELERY_BEAT_SCHEDULE["analytics-rebuild-recent"] = {
    "task": "scoring.analytics.tasks.analytics_rebuild_recent_task",
    "schedule": crontab(minute=30, hour=3),
}

# --- Detractor follow-ups (scoring.followups) -----------------------------------------------------
# Dispatch attempts (each claim of the row counts, crashed ones too) before a case is marked failed. With the
# backoff below, 12 attempts ride out about half an hour of a notifier outage (5+10+…+160 s, then 300 s
# apart); 5 gave up after 75 s, so a short e-mail outage failed every detractor that came in meanwhile.
FOLLOWUP_MAX_ATTEMPTS = env_int("FOLLOWUP_MAX_ATTEMPTS", 12, minimum=1, maximum=50)
# A claimed dispatch not finished within the lease is taken over (the worker died): keep it well above
# the slowest notifier call (webhook/SMTP timeouts).
FOLLOWUP_DISPATCH_LEASE_SECONDS = env_float("FOLLOWUP_DISPATCH_LEASE_SECONDS", 60.0, minimum=0.5)
# Transient notifier errors retry after base·2^(attempt−1) seconds, capped.
FOLLOWUP_RETRY_BASE_SECONDS = env_float("FOLLOWUP_RETRY_BASE_SECONDS", 5.0, minimum=0.01)
FOLLOWUP_RETRY_MAX_SECONDS = env_float("FOLLOWUP_RETRY_MAX_SECONDS", 300.0, minimum=0.01)
# The sweeper re-queues a pending case whose dispatch could not be queued (broker down) this long after;
# one whose message was queued only after the longer wait (only a crash loses a queued message, and
# re-queueing sooner would flood a backlogged queue with duplicates).
FOLLOWUP_REDRIVE_AFTER_SECONDS = env_float("FOLLOWUP_REDRIVE_AFTER_SECONDS", 15.0, minimum=0.0)
FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS = env_float("FOLLOWUP_REDRIVE_QUEUED_AFTER_SECONDS", 300.0, minimum=0.0)
FOLLOWUP_SWEEP_BATCH = env_int("FOLLOWUP_SWEEP_BATCH", 5000, minimum=1)
# Overdue escalation: level 1 at due_at, level n+1 this many minutes after level n, up to the max level.
FOLLOWUP_ESCALATION_STEP_MINUTES = env_int("FOLLOWUP_ESCALATION_STEP_MINUTES", 240, minimum=1)
FOLLOWUP_ESCALATION_MAX_LEVEL = env_int("FOLLOWUP_ESCALATION_MAX_LEVEL", 2, minimum=0, maximum=2)
# SLA used when no policy matches and no default policy exists.
FOLLOWUP_FALLBACK_SLA_MINUTES = env_int("FOLLOWUP_FALLBACK_SLA_MINUTES", 24 * 60, minimum=1)
FOLLOWUP_DUE_SOON_MINUTES = env_int("FOLLOWUP_DUE_SOON_MINUTES", 120, minimum=1)
# Outside channels for notices ("email", "webhook", or dotted paths to Notifier classes); the in-app
# board always gets them. The webhook is used only when a URL is set.
FOLLOWUP_NOTIFIERS = env_list("FOLLOWUP_NOTIFIERS", ["email", "webhook"])
FOLLOWUP_WEBHOOK_URL = env_str("FOLLOWUP_WEBHOOK_URL")
FOLLOWUP_WEBHOOK_SECRET = env_str("FOLLOWUP_WEBHOOK_SECRET")
FOLLOWUP_WEBHOOK_TIMEOUT = env_float("FOLLOWUP_WEBHOOK_TIMEOUT", 5.0, minimum=0.1, maximum=60.0)
# Publishing a dispatch from a web request must never hang it when the broker is down: short socket
# timeouts, no publish retries; the sweeper re-drives what could not be queued.
FOLLOWUP_BROKER_TIMEOUT = env_float("FOLLOWUP_BROKER_TIMEOUT", 1.0, minimum=0.05, maximum=30.0)
# Every minute: re-queue follow-ups whose message was lost (broker down, worker killed) and escalate
# overdue ones. SLA deadlines are never Celery countdowns; this sweep is the timer.
CELERY_BEAT_SCHEDULE["followups-sweep"] = {
    "task": "scoring.followups.tasks.followup_sweep_task",
    "schedule": 60.0,
}

# --- Logging --------------------------------------------------------------------------------------
LOG_LEVEL = env_str("LOG_LEVEL", "INFO").upper()
if LOG_LEVEL not in {"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}:
    raise ImproperlyConfigured(f"LOG_LEVEL={LOG_LEVEL!r} is not a logging level")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "plain"}
    },
    "filters": {
        "client_errors_without_traceback": {"()": "qa_center.logging_filters.ClientErrorsWithoutTraceback"}
    },
    "root": {"handlers": ["stdout"], "level": LOG_LEVEL},
    "loggers": {
        "django.db.backends": {"level": "INFO"},
        "django.request": {"filters": ["client_errors_without_traceback"]},
    },
}

# E-mail (survey invitations, follow-up notifications) through Django 6.1's MAILERS. The environment
# keeps the familiar EMAIL_* names; the console backend prints mail in the demo.
MAIL_BACKEND = env_str("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
_mail_options: dict = {}
if MAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend":
    _mail_options = {
        "host": env_str("EMAIL_HOST", "localhost"),
        "port": env_int("EMAIL_PORT", 25, minimum=1, maximum=65535),
        "username": env_str("EMAIL_HOST_USER"),
        "password": env_str("EMAIL_HOST_PASSWORD"),
        "use_tls": env_bool("EMAIL_USE_TLS", False),
        "timeout": env_int("EMAIL_TIMEOUT", 10, minimum=1),
    }
elif MAIL_BACKEND == "django.core.mail.backends.filebased.EmailBackend":
    _mail_options = {"file_path": str(VAR_DIR / "mail")}
MAILERS = {"default": {"BACKEND": MAIL_BACKEND, "OPTIONS": _mail_options}}
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", "qa-center@localhost")
