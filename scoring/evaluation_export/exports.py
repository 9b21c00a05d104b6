"""The evaluation export's CSV cells: one row per answer, times in the site's zone with their offset, figures
through `csv_number`, text through `csv_safe` (names, comments and questions are typed or imported text)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone

from ..analytics.exports import csv_number, csv_safe
from ..ui_support import scale_value_label
from .selectors import ROW_FIELDS

COLUMNS = [
    "evaluation_id",
    "revision",
    "kind",
    "submitted_at",
    "call_external_id",
    "call_started_at",
    "channel",
    "agent_employee_code",
    "agent_name",
    "team",
    "department",
    "reviewer_username",
    "reviewer_name",
    "scorecard",
    "scorecard_version",
    "score",
    "critical_failed",
    "dispute_status",
    "section",
    "criterion_key",
    "criterion",
    "critical_criterion",
    "weight",
    "answer",
    "points_earned",
    "points_possible",
    "comment",
]

_FIELD = {name: index for index, name in enumerate(ROW_FIELDS)}


def _local_iso(moment) -> str:
    return "" if moment is None else timezone.localtime(moment).isoformat()


def _text(value: str | None) -> str:
    return "" if value is None else csv_safe(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def evaluation_export_lines(rows: Iterable[tuple]) -> Iterator[list[Any]]:
    """COLUMNS cells for each row of `evaluation_export_rows`. An N/A answer reads "N/A" with no points earned
    or possible (it does not count in the score); a yes/no answer "Yes"/"No" (1 or 0 of 1 point), a points
    answer "3 / 4". The score is the evaluation's stored one (0 when a critical criterion failed it, empty
    when every criterion was N/A), as on the evaluation page."""
    f = _FIELD
    for row in rows:
        is_na = row[f["is_na"]]
        value = None if is_na else row[f["value"]]
        scale, max_points = row[f["criterion__scale"]], row[f["criterion__max_points"]]
        full_name = f"{row[f['evaluation__author__first_name']]} {row[f['evaluation__author__last_name']]}"
        yield [
            row[f["evaluation_id"]],
            row[f["evaluation__revision"]],
            row[f["evaluation__kind"]],
            _local_iso(row[f["evaluation__submitted_at"]]),
            _text(row[f["evaluation__call__external_id"]]),
            _local_iso(row[f["evaluation__call__started_at"]]),
            row[f["evaluation__call__channel"]],
            _text(row[f["evaluation__agent__employee_code"]]),
            _text(row[f["evaluation__agent__name"]]),
            _text(row[f["evaluation__agent__team__name"]]),
            _text(row[f["leg_department"]]),
            _text(row[f["evaluation__author__username"]]),
            _text(full_name.strip()),
            _text(row[f["evaluation__scorecard__name"]]),
            row[f["evaluation__scorecard__version"]],
            csv_number(row[f["evaluation__score"]]),
            _flag(row[f["evaluation__is_auto_failed"]]),
            row[f["dispute_status"]] or "",
            _text(row[f["criterion__section__title"]]),
            _text(row[f["criterion__key"]]),
            _text(row[f["criterion__question"]]),
            _flag(row[f["criterion__is_critical"]]),
            csv_number(row[f["criterion__weight"]]),
            scale_value_label(scale, max_points, value),
            "" if value is None else value,
            "" if value is None else max_points,
            _text(row[f["comment"]]),
        ]
