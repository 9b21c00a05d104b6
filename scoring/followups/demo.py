"""Demo follow-ups: history closed with outcomes and root causes, and a live board with a case in every
state. Run after the calls and surveys demos (it uses their calls and detractor cases).

- Cases opened by the surveys demo more than HISTORY_DAYS ago are worked and closed (bulk): contact
  attempts, an outcome, a root cause that follows the call (transferred → passed around, long wait →
  wait time, unresolved → product/process …), most within the SLA, the late ones escalated.
- A handful of fresh detractor responses are recorded through the real service, timed so the real SLA
  puts them in each live state: due soon, open, overdue (escalated), waiting on the customer, dispatch
  failed. Idempotent: re-running finds them by their response idempotency keys.
"""

from __future__ import annotations

import random
from collections import Counter
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from calls.models import Call
from scoring.surveys.services import response_record

from .models import ContactAttempt, FollowUpCase, Notification, RootCause

HISTORY_DAYS = 3
OUTCOMES = [
    ("resolved", 45),
    ("explained", 20),
    ("goodwill", 15),
    ("unreachable", 10),
    ("not_resolved", 8),
    ("declined", 2),
]

# (state, score, hours since the response, customer tier or None) — the real SLA decides the due time.
LIVE = [
    ("due_soon", 3, 23.2, None),  # 24 h policy: due in ~48 min
    ("due_soon", 1, 0.4, "platinum"),  # 1 h policy: due in ~36 min
    ("open", 5, 2.0, None),
    ("open", 6, 5.5, None),
    ("overdue", 2, 27.0, None),  # escalated to level 1
    ("overdue", 0, 30.0, "platinum"),
    ("waiting", 4, 8.0, None),
    ("failed", 3, 1.5, None),
]
COMMENTS = {
    "due_soon": "I was promised a call back about my refund and nobody called.",
    "open": "Had to explain my problem three times.",
    "overdue": "Transferred four times and the line went dead. Cancelling.",
    "waiting": "Still no answer about the duplicate charge.",
    "failed": "Agent was rude when I asked for a supervisor.",
}


def _root_cause_code(call: Call, rng: random.Random, transfers: int) -> str:
    if transfers >= 2 or (transfers and rng.random() < 0.5):
        return "transfer-runaround"
    if call.wait_seconds > 300 and rng.random() < 0.7:
        return "wait-time"
    if not call.is_resolved:
        return rng.choice(["product-defect", "process-policy", "billing-error", "system-outage"])
    return rng.choice(["agent-knowledge", "agent-attitude", "unmet-expectation", "process-policy", "other"])


def _pick(rng: random.Random, weighted: list[tuple[str, int]]) -> str:
    return rng.choices([k for k, _ in weighted], weights=[w for _, w in weighted])[0]


def _close_history(rng: random.Random, now: datetime) -> Counter:
    causes = {c.code: c for c in RootCause.objects.filter(is_active=True)}
    old = list(
        FollowUpCase.objects.filter(response__received_at__lt=now - timedelta(days=HISTORY_DAYS))
        .exclude(status=FollowUpCase.Status.CLOSED)
        .select_related("call", "response", "owner", "queue")
        .order_by("pk")
    )
    transfers = _transfer_counts([c.call_id for c in old])
    attempts: list[ContactAttempt] = []
    notices: list[Notification] = []
    tally: Counter = Counter()
    for case in old:
        opened = case.response.received_at
        # The surveys demo records these answers today, dated in the past: the case is opened as the answer
        # came in, as in production, so its times to first attempt and to close (insights) read true.
        case.created_at = opened
        sla = case.due_at - opened
        late = rng.random() < 0.18
        worked = sla * (rng.uniform(1.05, 2.5) if late else rng.uniform(0.05, 0.9))
        case.closed_at = min(opened + worked, now - timedelta(hours=1))
        case.outcome = _pick(rng, OUTCOMES)
        case.root_cause = (
            causes.get(_root_cause_code(case.call, rng, transfers.get(case.call_id, 0))) or causes["other"]
        )
        case.status, case.closed_by = FollowUpCase.Status.CLOSED, case.owner
        case.dispatch_state, case.dispatched_at, case.dispatch_attempts = (
            "dispatched",
            opened + timedelta(seconds=2),
            1,
        )
        recipient_key = f"user.{case.owner_id}" if case.owner_id else "board"
        notices.append(
            Notification(
                case=case,
                kind="assigned",
                recipient_id=case.owner_id,
                created_at=case.dispatched_at,
                idempotency_key=f"followup.{case.pk}.assigned.0.{recipient_key}",
                read_at=case.dispatched_at,
            )
        )
        if case.closed_at > case.due_at:
            case.escalation_level = case.escalation_notified_level = 1
            case.escalated_at = case.due_at
        tries = 1 if case.outcome != "unreachable" else rng.randint(2, 3)
        for n in range(tries):
            reached = n == tries - 1 and case.outcome != "unreachable"
            attempts.append(
                ContactAttempt(
                    case=case,
                    by_id=case.owner_id,
                    channel=rng.choice(["phone", "phone", "email"]),
                    at=opened + worked * (n + 1) / (tries + 1),
                    result="reached" if reached else rng.choice(["no_answer", "left_message"]),
                    note="Called back, listened, agreed next steps." if reached else "",
                )
            )
        tally[case.outcome] += 1
    FollowUpCase.objects.bulk_update(
        old,
        [
            "created_at",
            "closed_at",
            "outcome",
            "root_cause",
            "status",
            "closed_by",
            "dispatch_state",
            "dispatched_at",
            "dispatch_attempts",
            "escalation_level",
            "escalation_notified_level",
            "escalated_at",
        ],
        batch_size=1000,
    )
    Notification.objects.bulk_create(notices, batch_size=2000, ignore_conflicts=True)
    ContactAttempt.objects.bulk_create(attempts, batch_size=2000)
    return tally


def _transfer_counts(call_ids: list[int]) -> dict[int, int]:
    from django.db.models import Count

    return dict(Call.objects.filter(pk__in=call_ids).annotate(n=Count("transfers")).values_list("pk", "n"))


def _live_cases(now: datetime, seed: int) -> Counter:
    """Fresh detractors through the real service, one per LIVE row, on calls that have no response yet."""
    tally: Counter = Counter()
    fresh = (
        Call.objects.filter(survey_responses__isnull=True, agent__isnull=False, customer__isnull=False)
        .filter(ended_at__lt=now - timedelta(days=2))
        .select_related("customer")
        .order_by("-ended_at", "pk")
    )
    used: set[int] = set()
    for index, (state, score, hours_ago, tier) in enumerate(LIVE):
        key = f"demo-followup:{seed}:{index}"
        if FollowUpCase.objects.filter(response__idempotency_key=key).exists():
            tally[state] += 1
            continue
        pool = fresh.exclude(pk__in=used)
        call = pool.filter(customer__tier=tier or "standard").first() or pool.first()
        if call is None:
            break
        used.add(call.pk)
        with transaction.atomic():
            response, _ = response_record(
                call=call,
                score=score,
                comment=COMMENTS[state],
                source="inbound_api",
                idempotency_key=key,
                received_at=now - timedelta(hours=hours_ago),
            )
            case = FollowUpCase.objects.get(response=response)
            _put_in_state(case, state, now)
        tally[state] += 1
    return tally


def _put_in_state(case: FollowUpCase, state: str, now: datetime) -> None:
    """Only what the real processes would have done by now; dispatch is left to the worker and sweeper."""
    updates: dict = {}
    if state == "overdue":
        # Escalated by the sweeper at the due time; the worker announces it (escalation_notified_level 0).
        updates = {"escalation_level": 1, "escalated_at": case.due_at}
    elif state == "waiting":
        updates = {"status": FollowUpCase.Status.WAITING, "sla_paused_at": now - timedelta(hours=3)}
        ContactAttempt.objects.create(
            case=case,
            at=now - timedelta(hours=3),
            channel="email",
            result="left_message",
            note="Asked for the invoice number.",
            by=case.owner,
        )
    elif state == "failed":
        updates = {
            "status": FollowUpCase.Status.FAILED,
            "dispatch_state": "failed",
            "dispatch_attempts": 5,
            "dispatch_error": "5 attempts; last error: SMTP 451: b'4.3.0 Mail server temporarily rejected message'",
        }
    if updates:
        FollowUpCase.objects.filter(pk=case.pk).update(**updates)


def seed_followups(*, seed: int = 42, stdout=None, now: datetime | None = None) -> dict:
    """Close the demo's old follow-ups and add live ones in every board state. Returns counts."""
    now = now or timezone.now()
    rng = random.Random(f"followups:{seed}")
    closed = _close_history(rng, now)
    live = _live_cases(now, seed)
    by_status = Counter(FollowUpCase.objects.values_list("status", flat=True))
    causes = Counter(FollowUpCase.objects.filter(status="closed").values_list("root_cause__code", flat=True))
    result = {
        "closed_now": sum(closed.values()),
        "outcomes": dict(sorted(closed.items())),
        "live": dict(sorted(live.items())),
        "by_status": dict(sorted(by_status.items())),
        "root_causes": dict(causes.most_common()),
    }
    if stdout is not None:
        stdout.write(
            f"followups: closed {result['closed_now']} old cases {result['outcomes']}; live {result['live']}; "
            f"now {result['by_status']}\n"
        )
    return result
