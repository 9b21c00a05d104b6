"""Auto-check: transparent phrase rules that *suggest* a yes/no answer from the transcript (no ML).

A criterion with `auto_phrases` (one per line) suggests "Yes" when the agent said any of them in the
criterion's `auto_scope` (opening = the agent's first 3 lines, closing = their last 3, anywhere = every
agent line), with the first matching line as evidence, and "No" when none was said. Nothing here
answers anything: the reviewer decides, the workspace only shows the suggestion.

Matching is forgiving about form, strict about words: both sides are NFKC-normalised and casefolded,
punctuation becomes spaces, runs of whitespace collapse, and a phrase must match whole words
("thank you" is not found in "thank youth"). Pure functions only: no database access.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

OPENING = "opening"
CLOSING = "closing"
ANYWHERE = "anywhere"
# How many agent lines make the opening and the closing.
SCOPE_LINES = 3
MAX_PHRASES = 20
MAX_PHRASE_LENGTH = 200
YES = 1  # Answer.value of a yes/no criterion: yes = 1, no = 0.
NO = 0

_PUNCTUATION = re.compile(r"[\W_]+")


class _Criterion(Protocol):
    scale: str
    auto_phrases: str
    auto_scope: str


class _Line(Protocol):
    number: int
    role: str
    text: str


@dataclass(frozen=True)
class Suggestion:
    """What the rule suggests: `value` is the Answer value (1 = Yes, 0 = No), with its evidence."""

    value: int
    scope: str
    line: int | None = None  # 1-based transcript line number of the evidence (Yes only)
    text: str | None = None  # that line's text, as in the transcript
    phrase: str | None = None  # the phrase (as written on the criterion) that matched

    @property
    def is_yes(self) -> bool:
        return self.value == YES

    @property
    def label(self) -> str:
        return "Yes" if self.is_yes else "No"


def normalize(text: str) -> str:
    """NFKC, casefold, punctuation to spaces, whitespace collapsed (the form both sides are compared in)."""
    folded = unicodedata.normalize("NFKC", text).casefold()
    # casefold may leave a few characters outside NFKC again: normalise once more so both sides agree.
    folded = unicodedata.normalize("NFKC", folded)
    return " ".join(_PUNCTUATION.sub(" ", folded).split())


def phrases_of(auto_phrases: str) -> list[str]:
    """The non-blank lines of a criterion's auto_phrases, stripped."""
    return [line.strip() for line in auto_phrases.splitlines() if line.strip()]


def phrase_errors(auto_phrases: str, *, scale: str) -> list[str]:
    """Why these phrases cannot be saved on a criterion of this scale (empty list: they can)."""
    phrases = phrases_of(auto_phrases)
    if not phrases:
        return []
    if scale != "yes_no":
        return ["Auto-check phrases can only be set on a yes/no criterion."]
    errors = []
    if len(phrases) > MAX_PHRASES:
        errors.append(f"At most {MAX_PHRASES} auto-check phrases ({len(phrases)} given).")
    for phrase in phrases:
        if len(phrase) > MAX_PHRASE_LENGTH:
            errors.append(
                f"Auto-check phrase “{phrase[:40]}…” is longer than {MAX_PHRASE_LENGTH} characters."
            )
        elif not normalize(phrase):
            errors.append(f"Auto-check phrase “{phrase}” has no letters or digits.")
    return errors


def _contains(haystack: str, needle: str) -> bool:
    # Both normalised: words are single-space separated, so padding with spaces makes whole-word matches.
    return f" {needle} " in f" {haystack} "


def _scoped(agent_lines: Sequence[_Line], scope: str) -> Sequence[_Line]:
    if scope == OPENING:
        return agent_lines[:SCOPE_LINES]
    if scope == CLOSING:
        return agent_lines[-SCOPE_LINES:]
    return agent_lines


def suggest(
    criterion: _Criterion, lines: Iterable[_Line], *, first_leg: bool = True, last_leg: bool = True
) -> Suggestion | None:
    """The suggested answer for a yes/no criterion with phrases, from the numbered transcript lines.

    None (no suggestion) when the criterion has no phrases or is not yes/no, when the transcript has no
    agent line, for an opening rule on a leg other than the call's first, and for a closing rule on a leg
    other than the last (that agent neither opened nor closed the call)."""
    if criterion.scale != "yes_no":
        return None
    phrases = [(phrase, normalize(phrase)) for phrase in phrases_of(criterion.auto_phrases)]
    phrases = [(phrase, normal) for phrase, normal in phrases if normal]
    if not phrases:
        return None
    scope = criterion.auto_scope or ANYWHERE
    if (scope == OPENING and not first_leg) or (scope == CLOSING and not last_leg):
        return None
    agent_lines = [line for line in lines if line.role == "agent"]
    if not agent_lines:
        return None
    for line in _scoped(agent_lines, scope):
        text = normalize(line.text)
        for phrase, normal in phrases:
            if _contains(text, normal):
                return Suggestion(value=YES, scope=scope, line=line.number, text=line.text, phrase=phrase)
    return Suggestion(value=NO, scope=scope)
