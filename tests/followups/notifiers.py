"""A scripted outside channel for tests, usable in-process and inside a real worker process.

Its behaviour is chosen by the customer's external id prefix, and it records every send and failure in
Redis (so the test process can count what a worker did):
  FLAKY3-…      fails (transient) the first 3 times per idempotency key, then succeeds
  ALWAYSFAIL-…  always fails (transient)
  PERMFAIL-…    fails permanently
  SLOW-…        sleeps 0.2 s before succeeding (widens race windows)
  anything else succeeds at once
"""

from __future__ import annotations

import os
import time

import redis
from django.conf import settings

from scoring.followups.notifiers import Notice, Notifier, PermanentNotifyError, TransientNotifyError

SENDS = "fu:test:sends"  # list of idempotency keys, one entry per successful send
FAILS = "fu:test:fails"  # hash: idempotency key → failed sends


def client() -> redis.Redis:
    return redis.Redis.from_url(os.environ.get("FU_TEST_REDIS_URL") or settings.REDIS_URL)


def reset() -> None:
    client().delete(SENDS, FAILS)


def sends() -> list[str]:
    return [k.decode() for k in client().lrange(SENDS, 0, -1)]


def failures(key: str) -> int:
    return int(client().hget(FAILS, key) or 0)


class ScriptedNotifier(Notifier):
    name = "scripted"

    def send(self, notice: Notice) -> None:
        r = client()
        who = notice.customer_external_id
        if who.startswith("SLOW-"):
            time.sleep(0.2)
        if who.startswith("PERMFAIL-"):
            r.hincrby(FAILS, notice.idempotency_key, 1)
            raise PermanentNotifyError("scripted permanent failure")
        if who.startswith("ALWAYSFAIL-") or (
            who.startswith("FLAKY3-") and failures(notice.idempotency_key) < 3
        ):
            r.hincrby(FAILS, notice.idempotency_key, 1)
            raise TransientNotifyError("scripted transient failure")
        r.rpush(SENDS, notice.idempotency_key)
