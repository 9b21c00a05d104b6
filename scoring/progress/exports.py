"""CSV export of the QA progress page's agent coverage table, safe against spreadsheet formula injection (the
analytics CSV helper: agent and team names are imported text)."""

from __future__ import annotations

import csv
import io

from scoring.analytics.exports import csv_number, csv_safe

from .selectors import QaProgress


def agent_coverage_csv(progress: QaProgress) -> str:
    """One row per agent in the page's order (no reviews first): reviews received in the period, the target
    and status, the period's legs, those reviewed, and that share in percent with its Wilson 95% interval."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            "agent",
            "employee_code",
            "team",
            "reviews",
            "target",
            "status",
            "legs",
            "reviewed_legs",
            "reviewed_share",
            "reviewed_share_low",
            "reviewed_share_high",
        ]
    )
    for row in progress.agents:
        writer.writerow(
            [
                csv_safe(row.name),
                csv_safe(row.employee_code),
                csv_safe(row.team_name),
                row.reviews,
                row.target,
                row.status,
                row.legs,
                row.reviewed_legs,
                csv_number(row.share.percent, 1),
                csv_number(row.share.low, 1),
                csv_number(row.share.high, 1),
            ]
        )
    return out.getvalue()
