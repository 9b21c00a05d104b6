"""Test settings: the real PostgreSQL and Redis on 127.0.0.1 unless the environment says otherwise."""

import os

os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/qa_center")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/15")
os.environ.setdefault("STATICFILES_BACKEND", "django.contrib.staticfiles.storage.StaticFilesStorage")

from .settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # fast hashing in tests only
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}
# Tests check the refresh each commit queues; the debounce has its own test.
ANALYTICS_REFRESH_DEBOUNCE_SECONDS = 0
# Each test process counts throttles and keeps progress to itself: nothing carries over between runs.
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
# The notice sweep writes a weekly digest for every supervisor left without one; most tests have supervisors
# and count notices (and the sweep's queries), so the digest is on only in its own tests (tests/scoring/
# test_weekly_digest.py turns it on).
QA_WEEKLY_DIGEST = False
