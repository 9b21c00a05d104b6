"""The importer's public result types."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path


@dataclass(frozen=True, slots=True)
class RowError:
    """One problem with one input row. `line` is the physical line in the file (the CSV header is line 1;
    a quoted multi-line value counts all its lines), or the 1-based position in a JSON array."""

    line: int
    field: str
    reason: str
    source: str = ""

    def __str__(self) -> str:
        return f"line {self.line}: {self.field}: {self.reason}"

    def format(self, *, with_source: bool) -> str:
        return f"{self.source}: {self}" if with_source and self.source else str(self)

    def as_dict(self) -> dict:
        return {"line": self.line, "field": self.field, "reason": self.reason}


@dataclass(slots=True)
class ImportResult:
    """What an import did. Counts are of calls, except `rejected`: input records (JSON lines, array items,
    CSV rows of any file) that were not imported. With all-or-nothing (the default) and any error,
    nothing is written: created = updated = unchanged = 0."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors: list[RowError] = field(default_factory=list)
    elapsed: float = 0.0
    partial: bool = False
    sources: list[str] = field(default_factory=list)
    # Hook for rollups: start times (old and new) of the calls created or updated, and the agents
    # involved (call agents before and after, transfer agents). None/empty when nothing changed.
    affected_started_from: datetime | None = None
    affected_started_to: datetime | None = None
    affected_agent_ids: list[int] = field(default_factory=list)
    rejects_paths: list[Path] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True when every input record was valid (and so all were imported)."""
        return not self.errors and self.rejected == 0

    @property
    def written(self) -> bool:
        """True when the import committed (no errors, or a partial import)."""
        return self.ok or self.partial

    @property
    def rows(self) -> int:
        return self.created + self.updated + self.unchanged + self.rejected

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.elapsed if self.elapsed > 0 else 0.0

    def error_lines(self) -> list[str]:
        """Errors as `line N: field: reason`, prefixed with the file name when several files were read."""
        with_source = len(self.sources) > 1
        return [error.format(with_source=with_source) for error in self.errors]

    def summary(self) -> str:
        return (
            f"created {self.created}, updated {self.updated}, unchanged {self.unchanged}, "
            f"rejected {self.rejected}, {self.rows_per_second:.0f} rows/s"
        )

    def as_dict(self) -> dict:
        return {
            "ok": self.ok,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "elapsed_seconds": round(self.elapsed, 3),
            "rows_per_second": round(self.rows_per_second, 1),
            "errors": [error.as_dict() for error in self.errors],
        }
