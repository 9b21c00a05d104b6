"""CSV helpers of the scoring exports (cells safe against spreadsheet formula injection, figures, a file or a stream
named after its period), the leaderboard's CSV, and the plain-text refusal of
filters it cannot honour."""

from __future__ import annotations

import csv
import io
import itertools
from collections.abc import Iterable
from typing import Any

from django.http import HttpResponse, StreamingHttpResponse

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def csv_safe(value: Any) -> Any:
    """Prefix text cells a spreadsheet would run as a formula with an apostrophe (OWASP advice).

    Numbers stay numbers: a negative NPS is data, not a formula (only str cells are touched).
    """
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def csv_number(value, digits: int = 2):
    """A figure for a CSV cell: rounded, or empty when there is none."""
    return "" if value is None else round(value, digits)


def leaderboard_csv(board: dict[str, Any]) -> str:
    """The leaderboard's rows; fcr_rate is over identified_calls (the calls of identified callers); csat is the
    percentage of 4–5 answers and ces the mean effort answer (empty without answers; neither is ranked)."""
    out = io.StringIO()
    writer = csv.writer(out)
    titles = board["section_titles"]
    writer.writerow(
        [
            "rank",
            "movement",
            "agent",
            "employee_code",
            "team",
            "calls",
            "identified_calls",
            "average_handle_seconds",
            "fcr_rate",
            "transfer_rate",
            "escalation_rate",
            "qa_mean",
            "qa_shrunk",
            "evaluations",
            "nps",
            "nps_low",
            "nps_high",
            "responses",
            "csat",
            "csat_answers",
            "ces",
            "ces_answers",
            "followups_closed",
            "followups_closed_within_sla",
            "followups_open_overdue",
        ]
        + [csv_safe(f"section: {t}") for t in titles]
    )
    for r in board["rows"]:
        writer.writerow(
            [
                csv_safe(v)
                for v in [
                    r["rank"] or "",
                    "" if r["movement"] is None else r["movement"],
                    r["name"],
                    r["employee_code"],
                    r["team_name"],
                    r["calls"],
                    r["identified_calls"],
                    csv_number(r["average_handle_seconds"], 1),
                    csv_number(r["fcr_rate"], 4),
                    csv_number(r["transfer_rate"], 4),
                    csv_number(r["escalation_rate"], 4),
                    csv_number(r["qa_mean"]),
                    csv_number(r["qa_shrunk"]),
                    r["evaluations"],
                    csv_number(r["nps"], 1),
                    csv_number(r["nps_low"], 1),
                    csv_number(r["nps_high"], 1),
                    r["responses"],
                    csv_number(r["csat"], 1),
                    r["csat_answers"],
                    csv_number(r["ces"], 2),
                    r["ces_answers"],
                    r["followups_closed"],
                    r["followups_closed_within_sla"],
                    r["followups_open_overdue"],
                ]
            ]
            + [csv_number(s) for s in r["sections"]]
        )
    return out.getvalue()


def form_errors_text(errors: dict[str, list[str]]) -> str:
    """A form's errors as plain text, one `field: message` line each (the keys of the API's 400 body, so
    `__all__` for an error of the whole form such as a custom range that starts after it ends).

    A message may quote the query string (`Select a valid choice. <value> ...`): its line breaks are
    flattened so a crafted value cannot add a line that looks like another field's error.
    """
    return "".join(
        f"{field}: {' '.join(str(message).splitlines())}\n"
        for field, messages in errors.items()
        for message in messages
    )


def filters_refused(form) -> HttpResponse | None:
    """For a CSV download: a 400 naming each refused filter (`form_errors_text`), or None when the filters
    (or no filters at all) are fine. The pages show a bad filter beside the default figures; a downloaded file
    has no room for that, and would pass those figures off as the period and team asked for."""
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            form_errors_text(form.errors), status=400, content_type="text/plain; charset=utf-8"
        )
    return None


def csv_download(text: str, *, name: str, period) -> HttpResponse:
    """The CSV text as an attachment named after what it holds and its period: `<name>-<from>-<to>.csv`."""
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{name}-{period.date_from}-{period.date_to}.csv"'
    return response


class _Echo:
    """A file-like object whose write returns the line, so csv.writer formats rows for a streamed response."""

    def write(self, value: str) -> str:
        return value


def csv_stream_download(
    header: list[str], rows: Iterable[list[Any]], *, name: str, period
) -> StreamingHttpResponse:
    """Rows streamed as CSV, named as `csv_download` names its files. The rows are read as the response is sent
    (a generator over a server-side cursor keeps memory flat whatever their number); each cell must already be
    `csv_safe`. A byte-order mark first, as the calls export: without it Excel reads UTF-8 as the machine's code
    page (José → JosÃ©); Python's csv reads it with encoding="utf-8-sig"."""
    writer = csv.writer(_Echo())
    lines = itertools.chain(["\ufeff" + writer.writerow(header)], (writer.writerow(row) for row in rows))
    # Sent a few hundred rows at a time rather than a piece per row.
    response = StreamingHttpResponse(
        ("".join(piece) for piece in itertools.batched(lines, 500)), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{period.date_from}-{period.date_to}.csv"'
    return response
