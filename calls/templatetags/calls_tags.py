"""Presentation helpers for call pages: durations, rates, masked phones, transcripts, safe links.

Pure functions, registered as template filters and also imported by the views and tests.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import urlsplit

from django import template

from calls.models import Escalation
from calls.roles import mask_phone

register = template.Library()


@register.filter
def duration(seconds: int | float | Decimal | None) -> str:
    """Seconds as m:ss, or h:mm:ss from an hour up; an em dash for no value."""
    if seconds is None:
        return "—"
    total = round(float(seconds))
    sign = "-" if total < 0 else ""
    total = abs(total)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}:{minutes:02d}:{secs:02d}"
    return f"{sign}{minutes}:{secs:02d}"


@register.filter
def percent(rate: float | Decimal | None, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage with `digits` decimals; an em dash when there is none."""
    if rate is None:
        return "—"
    return f"{float(rate) * 100:.{int(digits)}f} %"


@register.filter
def phone_for(phone: str, can_see_phone: bool) -> str:
    """The phone number in full for those allowed to see it, masked to its last four digits otherwise."""
    if not phone:
        return ""
    return phone if can_see_phone else mask_phone(phone)


@register.filter
def escalation_level(level: str) -> str:
    """The label of a known escalation level ("tier2" → "Tier 2"); unknown imported levels as they are."""
    try:
        return Escalation.Level(level).label
    except ValueError:
        return level


def http_url_or_empty(url: str | None) -> str:
    """The URL if it is an absolute http(s) link; "" otherwise (javascript:, data:, relative paths)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return ""
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return ""
    return url.strip()


# --- transcripts -------------------------------------------------------------------------------------

AGENT_LABELS = frozenset({"agent", "advisor", "adviser", "rep", "representative", "operator"})
CUSTOMER_LABELS = frozenset({"customer", "caller", "client", "member"})

# "Agent: text", optionally after a "[00:01:02]" time stamp. The colon must be followed by a space or
# the end of the line, so "http://…" or "12:30" are not taken for speakers.
_SPEAKER_LINE = re.compile(
    r"^\s*(?:\[(?P<stamp>[^\]]{1,16})\]\s*)?(?P<speaker>[^\W\d][\w .'’-]{0,29}?)\s*:(?:\s+|$)(?P<text>.*)$"
)


@dataclass(frozen=True)
class TranscriptLine:
    speaker: str
    role: str  # "agent", "customer" or "other"
    text: str
    stamp: str = ""


def _role_of(speaker: str, agent_names: frozenset[str], customer_names: frozenset[str]) -> str:
    key = speaker.strip().lower()
    if key in AGENT_LABELS or key in agent_names:
        return "agent"
    if key in CUSTOMER_LABELS or key in customer_names:
        return "customer"
    return "other"


def transcript_lines(
    transcript: str, *, agent_names: tuple[str, ...] = (), customer_names: tuple[str, ...] = ()
) -> list[TranscriptLine]:
    """Split a "Speaker: text" transcript into lines with a role for styling.

    Lines without a speaker label continue the previous speaker's turn (wrapped text); text before any
    label has no speaker. Agent and customer names may be given so "Olive: …" is styled as the agent.
    Nothing here marks text safe: the template escapes it.
    """
    agents = frozenset(name.strip().lower() for name in agent_names if name and name.strip())
    customers = frozenset(name.strip().lower() for name in customer_names if name and name.strip())
    lines: list[TranscriptLine] = []
    for raw in transcript.replace("\r\n", "\n").replace("\r", "\n").split("\n"):
        if not raw.strip():
            continue
        match = _SPEAKER_LINE.match(raw)
        if match:
            speaker = match["speaker"].strip()
            lines.append(
                TranscriptLine(
                    speaker=speaker,
                    role=_role_of(speaker, agents, customers),
                    text=match["text"].strip(),
                    stamp=(match["stamp"] or "").strip(),
                )
            )
        elif lines:
            previous = lines[-1]
            lines[-1] = TranscriptLine(
                speaker=previous.speaker,
                role=previous.role,
                text=f"{previous.text}\n{raw.strip()}" if previous.text else raw.strip(),
                stamp=previous.stamp,
            )
        else:
            lines.append(TranscriptLine(speaker="", role="other", text=raw.strip()))
    return lines
