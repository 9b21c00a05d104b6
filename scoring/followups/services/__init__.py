"""State changes of follow-up cases: open, dispatch (notify the owner), sweep (re-drive and escalate),
and the owner's work on the board (contact attempts, pause/resume, close).

Delivery guarantees, in one place:
- A case is created in the transaction that records the detractor response (one per response: UNIQUE).
- Dispatch is queued after that transaction commits; if the broker is down the enqueue is skipped
  (logged, the row stamped) and the sweeper re-drives the still-pending row. The row is the truth.
- A dispatch first *claims* the row (pending, or lease expired → dispatching, attempts + 1). Only one
  claimant wins; the attempt number is the fencing token for every later write of that attempt.
- Each effect is a Notification row with a UNIQUE idempotency key per (case, kind, level, recipient).
  See dispatch._deliver for the exactly-once argument.
"""

from .dispatch import (
    DispatchOutcome,
    FollowUpStateError,
    followup_dispatch,
    followup_dispatch_retry,
    followup_escalation_notify,
    retry_delay_seconds,
)
from .opening import followup_open_for_response
from .sweep import SweepResult, followup_sweep
from .work import (
    followup_close,
    followup_contact_attempt_log,
    followup_pause,
    followup_resume,
    notification_mark_read,
)

__all__ = [
    "DispatchOutcome",
    "FollowUpStateError",
    "SweepResult",
    "followup_close",
    "followup_contact_attempt_log",
    "followup_dispatch",
    "followup_dispatch_retry",
    "followup_escalation_notify",
    "followup_open_for_response",
    "followup_pause",
    "followup_resume",
    "followup_sweep",
    "notification_mark_read",
    "retry_delay_seconds",
]
