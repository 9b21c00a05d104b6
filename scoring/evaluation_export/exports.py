"""The evaluation export's CSV cells: one row per answer, times in the site's zone with their offset, figures
through `csv_number`, text through `csv_safe` (names, comments and questions are typed or imported text)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from django.utils import timezone

from ..analytics.exports import csv_number, csv_safe
from ..ui_support import scale_value_label

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


def _local_iso(moment) -> str:
    return "" if moment is None else timezone.localtime(moment).isoformat()


def _text(value: str | None) -> str:
    return "" if value is None else csv_safe(value)


def _flag(value: bool) -> str:
    return "true" if value else "false"


def evaluation_export_lines(rows: Iterable[tuple]) -> Iterator[list[Any]]:
    """COLUMNS cells for each row of `evaluation_export_rows` (its fields in `selectors.ROW_FIELDS` order). An N/A answer
    reads "N/A" with no points earned or possible (it does not count in the score); a yes/no answer "Yes"/"No"
    (1 or 0 of 1 point), a points answer "3 / 4". The score is the evaluation's stored one (0 when a critical
    criterion failed it, empty when every criterion was N/A), as on the evaluation page.

    The rows come grouped by evaluation: its cells are written once and repeated on each of its answers."""
    evaluation_id, evaluation_cells = None, []
    for (
        row_evaluation_id,
        revision,
        kind,
        submitted_at,
        call_external_id,
        call_started_at,
        channel,
        employee_code,
        agent_name,
        team_name,
        department_name,
        username,
        first_name,
        last_name,
        scorecard_name,
        scorecard_version,
        score,
        is_auto_failed,
        dispute_status,
        section_title,
        criterion_key,
        question,
        scale,
        max_points,
        weight,
        is_critical,
        value,
        is_na,
        comment,
    ) in rows:
        if row_evaluation_id != evaluation_id:
            evaluation_id = row_evaluation_id
            evaluation_cells = [
                evaluation_id,
                revision,
                kind,
                _local_iso(submitted_at),
                _text(call_external_id),
                _local_iso(call_started_at),
                channel,
                _text(employee_code),
                _text(agent_name),
                _text(team_name),
                _text(department_name),
                _text(username),
                _text(f"{first_name} {last_name}".strip()),
                _text(scorecard_name),
                scorecard_version,
                csv_number(score),
                _flag(is_auto_failed),
                dispute_status or "",
            ]
        points = None if is_na else value
        yield [
            *evaluation_cells,
            _text(section_title),
            _text(criterion_key),
            _text(question),
            _flag(is_critical),
            csv_number(weight),
            scale_value_label(scale, max_points, points),
            "" if points is None else points,
            "" if points is None else max_points,
            _text(comment),
        ]
