"""What the two storage paths (PostgreSQL, SQLite) share: findings, counts and the backend interface."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True, slots=True)
class Finding:
    """A problem found once all rows are staged (or a row rejected with its call)."""

    src: int
    line: int
    external_id: str | None
    field: str
    reason: str
    # Any bad row takes its whole call (the call row, its transfers and escalations) with it; a duplicate
    # external id is refused alone, since the first occurrence stays valid.
    spoils_call: bool = True


@dataclass(slots=True)
class MergeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0


# An import that creates or changes more calls than this refreshes every agent's rollup rows of the days it
# touched, as before: past it, the scoped refresh (one rebuild per run of days with the same agents, plus a
# look-up of the customers' other calls) stops paying and the ids stop being worth carrying around.
SCOPED_REFRESH_MAX_CALLS = 1000


@dataclass(slots=True)
class Affected:
    """What an import changed, for refreshing per-agent-per-day rollups: the range of start times of the
    calls created or updated (before and after the change), the agents involved (handling agents and
    transfer-leg agents, old and new), and, while no more than SCOPED_REFRESH_MAX_CALLS calls changed, their
    ids and their customers (old and new), whose other calls' repeat-contact flags the change can turn."""

    started_from: datetime | None = None
    started_to: datetime | None = None
    agent_ids: set[int] = field(default_factory=set)
    customer_ids: set[int] = field(default_factory=set)
    call_ids: set[int] = field(default_factory=set)
    calls: int = 0  # calls created or updated

    def add(self, first: datetime | None, last: datetime | None, agents, customers=()) -> None:
        if first is not None:
            self.started_from = first if self.started_from is None else min(self.started_from, first)
        if last is not None:
            self.started_to = last if self.started_to is None else max(self.started_to, last)
        if agents:
            self.agent_ids.update(agent for agent in agents if agent is not None)
        if customers and self.scoped:
            self.customer_ids.update(customer for customer in customers if customer is not None)

    def add_calls(self, count: int, ids) -> None:
        """`count` calls created or updated, with their ids (None when the merge did not collect them)."""
        self.calls += count
        if self.scoped and ids:
            self.call_ids.update(ids)
        if not self.scoped:
            self.customer_ids.clear()
            self.call_ids.clear()

    @property
    def scoped(self) -> bool:
        """Few enough calls changed to refresh only the rollup rows they can change."""
        return self.calls <= SCOPED_REFRESH_MAX_CALLS


class StageBackend:
    """Staging rows go in with `write(row)` between `open()` and `close()`; then `check()`, and either a
    rollback by the caller or `reject(findings)` (partial imports) and `merge()`."""

    def __init__(self, *, source_names: list[str], csv_sources: set[int]):
        self.source_names = source_names
        self.csv_sources = csv_sources

    def where(self, src: int, other_src: int, other_line: int) -> str:
        """'line N', or '<file> line N' when the other row is in another source."""
        if other_src == src:
            return f"line {other_line}"
        return f"{self.source_names[other_src]} line {other_line}"

    def open(self) -> None:
        raise NotImplementedError

    def write(self, row: tuple) -> None:
        raise NotImplementedError

    def close(self, error: BaseException | None = None) -> None:
        raise NotImplementedError

    def check(self) -> list[Finding]:
        raise NotImplementedError

    def reject(self, findings: list[Finding]) -> list[Finding]:
        raise NotImplementedError

    def merge(self) -> tuple[MergeCounts, Affected]:
        raise NotImplementedError
