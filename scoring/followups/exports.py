"""CSV export of the follow-up insights' root-cause table, safe against spreadsheet formula injection (the
analytics CSV helper: root-cause names are typed in the admin)."""

from __future__ import annotations

import csv
import io
from typing import Any

from scoring.analytics.exports import csv_number, csv_safe


def root_causes_csv(insights: dict[str, Any]) -> str:
    """One row per root cause of the period's closed cases, most cases first (the page's Pareto table): the
    share of the closed cases in percent with its Wilson 95% interval, and the cumulative share."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["root_cause", "cases", "share", "share_low", "share_high", "cumulative_share"])
    for row in insights["root_causes"]:
        writer.writerow(
            [
                csv_safe(row.label),
                row.cases,
                csv_number(row.share.percent, 1),
                csv_number(row.share.low, 1),
                csv_number(row.share.high, 1),
                csv_number(row.cumulative_percent, 1),
            ]
        )
    return out.getvalue()
