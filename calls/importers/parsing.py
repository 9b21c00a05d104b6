"""Reading and validating call records: pure Python, no database.

Everything here turns input (JSON Lines, JSON arrays, CSV files, dicts) into *staging rows*: flat tuples in
the column order of `STAGE_COLUMNS`, one per call, transfer or escalation, already normalised (aware
datetimes, canonical channel names, stripped identifiers).
Errors are `(field, reason)` pairs; the caller adds the line number and source.

The format is specified in docs/import-format.md; keep the two in step.
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, tzinfo
from typing import IO, Any

import ijson
import orjson
from django.core.exceptions import ValidationError
from django.core.validators import EmailValidator, URLValidator

# --- staging rows --------------------------------------------------------------------------------------

KIND_CALL, KIND_TRANSFER, KIND_ESCALATION = 0, 1, 2

# (column, PostgreSQL type): the staging table, the binary COPY types and the tuple layout.
STAGE_COLUMNS: tuple[tuple[str, str], ...] = (
    ("kind", "int2"),
    ("src", "int2"),
    ("line", "int4"),
    ("bad", "bool"),
    ("external_id", "text"),  # the call's external id (for transfers and escalations: the parent call's)
    ("channel", "text"),
    ("direction", "text"),
    ("started_at", "timestamptz"),
    ("answered_at", "timestamptz"),
    ("ended_at", "timestamptz"),
    ("wait_seconds", "int4"),
    ("talk_seconds", "int4"),
    ("hold_seconds", "int4"),
    ("wrap_seconds", "int4"),
    ("department", "text"),
    ("agent_code", "text"),
    ("agent_name", "text"),
    ("agent_team", "text"),
    ("customer_external_id", "text"),
    ("customer_name", "text"),
    ("customer_phone", "text"),
    ("customer_email", "text"),
    ("customer_tier", "text"),
    ("disposition", "text"),
    ("is_resolved", "bool"),
    ("transcript", "text"),
    ("recording_url", "text"),
    ("sequence", "int4"),
    ("at", "timestamptz"),
    ("resolved_at", "timestamptz"),
    ("from_department", "text"),
    ("to_department", "text"),
    ("from_agent", "text"),
    ("to_agent", "text"),
    ("reason", "text"),
    ("level", "text"),
    ("outcome", "text"),
)
COLUMN_INDEX = {name: i for i, (name, _) in enumerate(STAGE_COLUMNS)}
_CALL_TAIL = (None,) * (len(STAGE_COLUMNS) - COLUMN_INDEX["sequence"])  # the transfer/escalation columns
_N_CALL_MIDDLE = (
    COLUMN_INDEX["sequence"] - COLUMN_INDEX["channel"]
)  # columns a transfer/escalation leaves empty
_CHILD_MIDDLE = (None,) * _N_CALL_MIDDLE

# Digest of "no transfers" / "no escalations" in a call's content hash: md5 of the empty string.
EMPTY_CHILDREN_DIGEST = hashlib.md5(b"", usedforsecurity=False).hexdigest()[:16]

# --- vocabularies --------------------------------------------------------------------------------------

CHANNELS = {
    "phone": "phone",
    "email": "email",
    "e-mail": "email",
    "chat": "chat",
    "social": "social",
    "in_person": "in_person",
    "in person": "in_person",
    "in-person": "in_person",
    # What telephony and helpdesk exports call them (Amazon Connect, Genesys Cloud, Zendesk: VOICE).
    "voice": "phone",
    "call": "phone",
    "telephone": "phone",
    "mail": "email",
    "webchat": "chat",
    "web chat": "chat",
    "live chat": "chat",
    "livechat": "chat",
    "walk-in": "in_person",
    "walk in": "in_person",
}
CHANNEL_NAMES = "phone, email, chat, social, in_person"
DIRECTIONS = {
    "inbound": "inbound",
    "outbound": "outbound",
    "in": "inbound",
    "out": "outbound",
    "incoming": "inbound",
    "outgoing": "outbound",
}
TIERS = {"standard": "standard", "gold": "gold", "platinum": "platinum"}
LEVELS = {
    "tier2": "tier2",
    "tier 2": "tier2",
    "tier-2": "tier2",
    "tier_2": "tier2",
    "supervisor": "supervisor",
    "complaint": "complaint",
    # The level's label (and the issue's own words): "formal complaint".
    "formal complaint": "complaint",
    "formal-complaint": "complaint",
    "formal_complaint": "complaint",
    "other": "other",
}
# What spreadsheets, databases (PostgreSQL writes t/f) and CRM exports write for a boolean.
CSV_BOOLEANS = {
    "true": True,
    "false": False,
    "t": True,
    "f": False,
    "1": True,
    "0": False,
    "yes": True,
    "no": False,
    "y": True,
    "n": False,
}

_WHOLE_DECIMAL = re.compile(r"[+-]?[0-9]+\.0*")
# h:mm:ss, as telephony reports and spreadsheets write durations (Avaya CMS, Five9, Excel's [h]:mm:ss);
# a fraction of a second is rounded. m:ss is not taken: a spreadsheet's h:mm looks the same.
_DURATION = re.compile(r"([0-9]{1,5}):([0-5][0-9]):([0-5][0-9](?:\.[0-9]*)?)")

MAX_INT = 2_147_483_647  # PostgreSQL integer
MAX_RECORD_BYTES = 64 * 1024 * 1024  # one JSON Lines line or one CSV value
MAX_SEQUENCE = 32_767  # PositiveSmallIntegerField

CALL_FIELDS = frozenset(
    {
        "external_id",
        "channel",
        "direction",
        "started_at",
        "answered_at",
        "ended_at",
        "wait_seconds",
        "talk_seconds",
        "hold_seconds",
        "wrap_seconds",
        "department",
        "agent",
        "customer",
        "disposition",
        "resolved",
        "transcript",
        "recording_url",
        "transfers",
        "escalations",
    }
)
AGENT_FIELDS = frozenset({"employee_code", "name", "team"})
CUSTOMER_FIELDS = frozenset({"external_id", "name", "phone", "email", "tier"})
TRANSFER_FIELDS = frozenset(
    {"sequence", "at", "from_department", "to_department", "from_agent", "to_agent", "reason"}
)
ESCALATION_FIELDS = frozenset({"sequence", "at", "level", "reason", "outcome", "resolved_at"})

# CSV: the columns of each kind of file. Calls flatten `agent.x` to `agent_x` and `customer.x` to
# `customer_x`, except the two codes, which keep their full names.
CSV_CALL_COLUMNS = {
    "external_id": "external_id",
    "channel": "channel",
    "direction": "direction",
    "started_at": "started_at",
    "answered_at": "answered_at",
    "ended_at": "ended_at",
    "wait_seconds": "wait_seconds",
    "talk_seconds": "talk_seconds",
    "hold_seconds": "hold_seconds",
    "wrap_seconds": "wrap_seconds",
    "department": "department",
    "agent_employee_code": "agent.employee_code",
    "agent_name": "agent.name",
    "agent_team": "agent.team",
    "customer_external_id": "customer.external_id",
    "customer_name": "customer.name",
    "customer_phone": "customer.phone",
    "customer_email": "customer.email",
    "customer_tier": "customer.tier",
    "disposition": "disposition",
    "resolved": "resolved",
    "transcript": "transcript",
    "recording_url": "recording_url",
}
CSV_TRANSFER_COLUMNS = ("call_external_id", *sorted(TRANSFER_FIELDS))
CSV_ESCALATION_COLUMNS = ("call_external_id", *sorted(ESCALATION_FIELDS))
CSV_REQUIRED = {
    "calls": ("external_id", "channel", "started_at", "ended_at"),
    "transfers": ("call_external_id", "at"),
    "escalations": ("call_external_id", "at", "level"),
}
DURATION_COLUMNS = frozenset({"wait_seconds", "talk_seconds", "hold_seconds", "wrap_seconds"})
CSV_INTEGER_COLUMNS = DURATION_COLUMNS | {"sequence"}
CSV_VERBATIM_COLUMNS = frozenset({"transcript"})  # kept as written (only CRLF → LF), not stripped
MYSQL_NULL = "\\N"  # how MySQL's SELECT ... INTO OUTFILE and mysqldump --tab write NULL: an empty cell
# Ids and codes: `17.0` is how pandas writes the number 17 in a column that also holds a gap (NaN), as JSON
# records' 17.0 is read as "17" (see _text).
CSV_CODE_COLUMNS = frozenset(
    {
        "external_id",
        "call_external_id",
        "agent_employee_code",
        "customer_external_id",
        "customer_phone",
        "from_agent",
        "to_agent",
    }
)
_WHOLE_FLOAT = re.compile(r"[0-9]+\.0+")
# The column a rejects file adds (the reasons a row was rejected): ignored when the file, fixed, is imported again.
REJECTS_ERRORS_COLUMN = "errors"
# A line of a JSON rejects file: the rejected record, wrapped with its line and reasons.
REJECTS_WRAPPER = frozenset({"line", "errors", "record"})

_JSON_TO_CSV_FIELD = {json_name: column for column, json_name in CSV_CALL_COLUMNS.items()}

_email_validator = EmailValidator()
_url_validator = URLValidator(schemes=["http", "https"])

Errors = list[tuple[str, str]]


class _Invalid:
    """Marker for a value that already produced an error (so it is not reported twice)."""


INVALID: Any = _Invalid()


def _type_name(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


# --- field checks --------------------------------------------------------------------------------------
# Each returns the normalised value, or None (absent/null, or invalid after appending an error).


def _text(value: Any, field: str, max_length: int, errors: Errors, *, required: bool = False) -> str | None:
    if value is None or value is INVALID:
        if required and value is None:
            errors.append((field, "required"))
        return None
    if type(value) is not str:
        # Codes and ids exported as numbers (`"employee_code": 17`, a phone as 15551234567; pandas writes
        # 17.0 when the column has a null) are those digits.
        if type(value) is int or (type(value) is float and value.is_integer()):
            value = str(int(value))
        else:
            errors.append((field, f"expected a string, got {_type_name(value)}"))
            return None
    value = value.strip()
    if not value:
        if required:
            errors.append((field, "required"))
        return None
    if len(value) > max_length:
        errors.append((field, f"too long ({len(value)} characters, at most {max_length})"))
        return None
    if "\x00" in value:
        errors.append((field, "contains a NUL character"))
        return None
    return value


def _long_text(value: Any, field: str, errors: Errors) -> str | None:
    """Free text (transcripts): kept as written, not stripped, no length limit."""
    if value is None or value is INVALID or value == "":
        return None
    if type(value) is not str:
        errors.append((field, f"expected a string, got {_type_name(value)}"))
        return None
    if "\x00" in value:
        errors.append((field, "contains a NUL character"))
        return None
    return value


def _choice(
    value: Any, field: str, choices: dict[str, str], names: str, errors: Errors, *, required: bool = False
) -> str | None:
    text = _text(value, field, 100, errors, required=required)
    if text is None:
        return None
    normalised = choices.get(text) or choices.get(text.lower())
    if normalised is None:
        errors.append((field, f"unknown value {text!r} (expected one of: {names})"))
    return normalised


def _integer(
    value: Any, field: str, errors: Errors, *, maximum: int = MAX_INT, duration: bool = False
) -> int | None:
    """A whole number; with `duration`, seconds, also written as h:mm:ss."""
    if value is None or value is INVALID:
        return None
    if type(value) is float and value.is_integer():
        # 35.0: tools that write every number as a float (pandas, when the column holds a null).
        value = int(value)
    elif type(value) is str:
        # "35": tools that write every value as a string; read as a CSV cell is.
        value = _csv_seconds(value.strip()) if duration else _csv_integer(value.strip())
        if type(value) is str:
            errors.append((field, _not_integer(value, duration=duration)))
            return None
    if type(value) is not int:
        errors.append((field, f"expected an integer, got {_type_name(value)}"))
        return None
    if value < 0:
        errors.append((field, f"must not be negative ({value})"))
        return None
    if value > maximum:
        errors.append((field, f"too large ({value}, at most {maximum})"))
        return None
    return value


def _not_integer(text: str, *, duration: bool) -> str:
    expected = "an integer (seconds) or h:mm:ss" if duration else "an integer"
    return f"expected {expected}, got {text[:40]!r}"


def _csv_seconds(text: str) -> int | str:
    """Seconds as `_csv_integer` reads them, or `0:05:35` (h:mm:ss) as 335; anything else as it was."""
    value = _csv_integer(text)
    if type(value) is str and (match := _DURATION.fullmatch(text)):
        hours, minutes, seconds = match.groups()
        return int(hours) * 3600 + int(minutes) * 60 + round(float(seconds))
    return value


def _csv_integer(text: str) -> int | str:
    """`35`, or `35.0` as a spreadsheet or pandas writes it, as an int; anything else is returned as it was."""
    try:
        return int(text)
    except ValueError:
        pass
    if _WHOLE_DECIMAL.fullmatch(text):
        return int(text.partition(".")[0])
    return text


def _boolean(value: Any, field: str, errors: Errors) -> bool | None:
    if value is None or value is INVALID:
        return None
    if type(value) is bool:
        return value
    # "true", "yes", 1: tools that write booleans as strings or numbers; the same words as in CSV.
    boolean = None
    if type(value) is str:
        boolean = CSV_BOOLEANS.get(value.strip().lower())
    elif type(value) in (int, float) and value in (0, 1):
        boolean = bool(value)
    if boolean is None:
        shown = repr(value[:40]) if type(value) is str else _type_name(value)
        errors.append((field, f"expected true or false, got {shown}"))
        return None
    return boolean


def localize(naive: datetime, zone: tzinfo) -> datetime | str:
    """A naive wall-clock time in `zone` as an aware datetime, or the reason it has no single meaning.

    Times that fall in a daylight-saving gap (do not exist) or overlap (exist twice) are refused rather
    than guessed: the exporter must send an offset for them.
    """
    first = naive.replace(tzinfo=zone, fold=0)
    second = naive.replace(tzinfo=zone, fold=1)
    if first.utcoffset() == second.utcoffset():
        return first
    round_trip = first.astimezone(UTC).astimezone(zone).replace(tzinfo=None)
    if round_trip != naive:
        return f"{naive.isoformat()} does not exist in {zone} (daylight-saving gap); give a UTC offset"
    return f"{naive.isoformat()} is ambiguous in {zone} (daylight-saving overlap); give a UTC offset"


# A Unix time's unit, told by its size: seconds until the year 5138, then milli-, micro-, nanoseconds.
_EPOCH_UNITS = ((1e11, 1), (1e14, 1e3), (1e17, 1e6), (1e20, 1e9))
_EPOCH_FIRST = datetime(1990, 1, 1, tzinfo=UTC)  # earlier: a mistake (a duration, a count), not a call


def _epoch(value: float, field: str, errors: Errors) -> datetime | None:
    """A JSON number as a Unix time (pandas' to_json writes dates as milliseconds since 1970 by default)."""
    scale = next((scale for limit, scale in _EPOCH_UNITS if abs(value) < limit), None)
    moment = None
    if scale is not None:
        try:
            moment = datetime.fromtimestamp(value / scale, UTC)
        except (OverflowError, OSError, ValueError):
            moment = None
    if moment is None or moment < _EPOCH_FIRST:
        errors.append((field, f"not a date-time: the number {value!r} is not a Unix time after 1990"))
        return None
    return moment


# A date as a spreadsheet writes it once it has opened and saved a file: 11/2/2026 9:15, 02.11.2026 09:15:30,
# 11/2/2026 9:15 PM, 2026/11/02 09:15, 2026-11-02 9:15. Year first is read as year/month/day; year last
# needs the file's day order (mdy or dmy), which cannot be told from the values.
_SHEET_TIME = re.compile(
    r"(\d{1,4})([/.\-])(\d{1,2})\2(\d{1,4})[ T]+(\d{1,2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,6}))?)?"
    r"\s*([AaPp]\.?[Mm]\.?)?"
)
DATE_ORDERS = {"mdy": "month/day/year", "dmy": "day/month/year"}


def _sheet_time(text: str, date_order: str) -> datetime | str | None:
    """A spreadsheet's date-time as a naive datetime, or why it cannot be read; None if it is not one."""
    match = _SHEET_TIME.fullmatch(text)
    if match is None:
        return None
    first, _separator, middle, last, hour, minute, second, fraction, meridiem = match.groups()
    if len(first) == 4 and len(last) <= 2:
        year, month, day = int(first), int(middle), int(last)
    elif len(last) == 4 and len(first) <= 2:
        if date_order not in DATE_ORDERS:
            return (
                f"a spreadsheet date {text[:40]!r}: month/day or day/month? "
                "Name the file's date order (mdy or dmy)"
            )
        month, day = (int(first), int(middle)) if date_order == "mdy" else (int(middle), int(first))
        year = int(last)
    else:
        return None
    hours = int(hour)
    if meridiem:
        if not 1 <= hours <= 12:
            return f"not a date-time: {text[:40]!r} (hour {hours} with {meridiem})"
        hours = hours % 12 + (12 if meridiem[0] in "pP" else 0)
    try:
        return datetime(  # noqa: DTZ001 (a wall-clock time: _time reads it in the import's zone)
            year, month, day, hours, int(minute), int(second or 0), int((fraction or "0").ljust(6, "0"))
        )
    except ValueError as error:
        order = f" read as {DATE_ORDERS[date_order]}" if len(last) == 4 else ""
        return f"not a date-time: {text[:40]!r}{order} ({error})"


# Call times the product can hold: the day rollups reach a few days before and after a call's day, and a year
# 1 or 9999 moment at an offset is not even a datetime in UTC (the import answered 500 for both).
_MOMENT_FIRST = datetime(1900, 1, 1, tzinfo=UTC)
_MOMENT_END = datetime(9999, 1, 1, tzinfo=UTC)


def _time(
    value: Any, field: str, zone: tzinfo, errors: Errors, *, required: bool = False, date_order: str = ""
) -> datetime | None:
    if value is None or value is INVALID or value == "":
        if required and value is not INVALID:
            errors.append((field, "required"))
        return None
    if type(value) is not str:
        if type(value) in (int, float):
            return _epoch(value, field, errors)
        errors.append((field, f"expected an ISO 8601 date-time string, got {_type_name(value)}"))
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        # Padded, or RFC 3339's lower-case "t" and "z" (fromisoformat takes upper case only): tried only
        # after the plain form, which is what nearly every row holds.
        value = value.strip()
        try:
            moment = datetime.fromisoformat(value.upper() if value.isascii() else value)
        except ValueError:
            moment = _sheet_time(value, date_order)
            if moment is None:
                errors.append((field, f"not an ISO 8601 date-time: {value[:40]!r}"))
                return None
            if isinstance(moment, str):
                errors.append((field, moment))
                return None
    if len(value) <= 10:  # "2026-11-02" or "20261102": a date, not a moment
        errors.append((field, f"a date without a time: {value!r}"))
        return None
    if moment.tzinfo is None:
        localized = localize(moment, zone)
        if isinstance(localized, str):
            errors.append((field, localized))
            return None
        moment = localized
    # Aware values keep their offset: comparisons are exact and the database stores UTC.
    try:
        in_range = _MOMENT_FIRST <= moment < _MOMENT_END
    except OverflowError:  # the first or last day of years 1 and 9999 at an offset that leaves them in UTC
        in_range = False
    if not in_range:
        errors.append((field, f"out of range: {value[:40]!r} is not in the years 1900 to 9998 (UTC)"))
        return None
    return moment


def _email(value: Any, field: str, errors: Errors) -> str | None:
    text = _text(value, field, 254, errors)
    if text is not None:
        try:
            _email_validator(text)
        except ValidationError:
            errors.append((field, f"not an e-mail address: {text!r}"))
            return None
    return text


def _url(value: Any, field: str, errors: Errors) -> str | None:
    text = _text(value, field, 500, errors)
    if text is not None:
        try:
            _url_validator(text)
        except ValidationError:
            errors.append((field, f"not an http(s) URL: {text[:60]!r}"))
            return None
    return text


def _unknown(record: dict, allowed: frozenset[str], prefix: str, errors: Errors) -> None:
    if len(record) > len(allowed) or not allowed.issuperset(record):
        for key in record:
            if key not in allowed:
                errors.append((f"{prefix}{key}", "unknown field"))


# --- records ---------------------------------------------------------------------------------------------


def rejected_record(record: Any) -> Any:
    """The record itself of a JSON rejects file's line (`{"line": N, "errors": [...], "record": {...}}`), so
    that a rejects file, fixed, imports again as it is; any other value as it was."""
    if type(record) is dict and len(record) == 3 and record.keys() == REJECTS_WRAPPER:
        inner = record["record"]
        if type(inner) is dict:
            return inner
    return record


def _blank_object(value: dict, allowed: frozenset[str]) -> bool:
    """An agent/customer object with only known members, all null or blank: no agent/customer, as the
    same call's empty cells mean in CSV (SQL and jq exports build such objects for abandoned calls)."""
    return allowed.issuperset(value) and all(
        member is None or (type(member) is str and not member.strip()) for member in value.values()
    )


def call_row(
    record: Any,
    *,
    src: int,
    line: int,
    zone: tzinfo,
    errors: Errors,
    nested: bool = True,
    date_order: str = "",
) -> tuple | None:
    """The staging row of one call record in the JSON contract shape; None (and errors) if invalid.

    With nested=True (JSON input) the record's transfers and escalations are validated too, and the
    returned value is (call_row, [child rows]). CSV calls (nested=False) have their children in other
    files: the call row alone is returned.
    """
    if type(record) is not dict:
        errors.append(("record", f"expected a JSON object, got {_type_name(record)}"))
        return None
    start = len(errors)
    _unknown(record, CALL_FIELDS, "", errors)
    get = record.get
    external_id = _text(get("external_id"), "external_id", 100, errors, required=True)
    channel = _choice(get("channel"), "channel", CHANNELS, CHANNEL_NAMES, errors, required=True)
    direction = _choice(get("direction"), "direction", DIRECTIONS, "inbound, outbound", errors) or "inbound"
    started_at = _time(get("started_at"), "started_at", zone, errors, required=True, date_order=date_order)
    answered_at = _time(get("answered_at"), "answered_at", zone, errors, date_order=date_order)
    ended_at = _time(get("ended_at"), "ended_at", zone, errors, required=True, date_order=date_order)
    wait = _integer(get("wait_seconds"), "wait_seconds", errors, duration=True) or 0
    talk = _integer(get("talk_seconds"), "talk_seconds", errors, duration=True) or 0
    hold = _integer(get("hold_seconds"), "hold_seconds", errors, duration=True) or 0
    wrap = _integer(get("wrap_seconds"), "wrap_seconds", errors, duration=True) or 0
    department = _text(get("department"), "department", 100, errors)

    agent_code = agent_name = agent_team = None
    agent = get("agent")
    if type(agent) is dict and _blank_object(agent, AGENT_FIELDS):
        agent = None
    if agent is not None and agent is not INVALID:
        if type(agent) is not dict:
            errors.append(("agent", f"expected an object or null, got {_type_name(agent)}"))
        else:
            _unknown(agent, AGENT_FIELDS, "agent.", errors)
            agent_code = _text(agent.get("employee_code"), "agent.employee_code", 50, errors, required=True)
            agent_name = _text(agent.get("name"), "agent.name", 200, errors)
            agent_team = _text(agent.get("team"), "agent.team", 100, errors)

    customer_id = customer_name = customer_phone = customer_email = customer_tier = None
    customer = get("customer")
    if type(customer) is dict and _blank_object(customer, CUSTOMER_FIELDS):
        customer = None
    if customer is not None and customer is not INVALID:
        if type(customer) is not dict:
            errors.append(("customer", f"expected an object or null, got {_type_name(customer)}"))
        else:
            _unknown(customer, CUSTOMER_FIELDS, "customer.", errors)
            customer_id = _text(
                customer.get("external_id"), "customer.external_id", 100, errors, required=True
            )
            customer_name = _text(customer.get("name"), "customer.name", 200, errors)
            customer_phone = _text(customer.get("phone"), "customer.phone", 40, errors)
            customer_email = _email(customer.get("email"), "customer.email", errors)
            customer_tier = _choice(
                customer.get("tier"), "customer.tier", TIERS, "standard, gold, platinum", errors
            )

    disposition = _text(get("disposition"), "disposition", 50, errors)
    is_resolved = _boolean(get("resolved"), "resolved", errors) or False
    transcript = _long_text(get("transcript"), "transcript", errors)
    recording_url = _url(get("recording_url"), "recording_url", errors)

    if started_at is not None and ended_at is not None and ended_at < started_at:
        errors.append(("ended_at", "before started_at"))
    if answered_at is not None and started_at is not None and answered_at < started_at:
        errors.append(("answered_at", "before started_at"))
    if answered_at is not None and ended_at is not None and answered_at > ended_at:
        errors.append(("answered_at", "after ended_at"))

    children: list[tuple] = []
    if nested:
        for key, kind in (("transfers", KIND_TRANSFER), ("escalations", KIND_ESCALATION)):
            items = get(key)
            if items is None:
                continue
            if type(items) is not list:
                errors.append((key, f"expected an array or null, got {_type_name(items)}"))
                continue
            sequences: dict[int, int] = {}
            for position, item in enumerate(items):
                prefix = f"{key}[{position}]."
                row = child_row(
                    item,
                    kind,
                    src=src,
                    line=line,
                    call_external_id=external_id,
                    zone=zone,
                    errors=errors,
                    prefix=prefix,
                    date_order=date_order,
                    default_sequence=position + 1,
                )
                if row is None:
                    continue
                sequence = row[COLUMN_INDEX["sequence"]]
                if sequence in sequences:
                    errors.append((f"{prefix}sequence", f"duplicate of {key}[{sequences[sequence]}]"))
                sequences[sequence] = position
                problem = child_outside_call(kind, row, started_at, ended_at)
                if problem:
                    errors.append((f"{prefix}at", problem))
                children.append(row)

    if len(errors) > start:
        return None
    row = (
        KIND_CALL, src, line, False, external_id, channel, direction, started_at, answered_at, ended_at,
        wait, talk, hold, wrap, department, agent_code, agent_name, agent_team,
        customer_id, customer_name, customer_phone, customer_email, customer_tier,
        disposition, is_resolved, transcript, recording_url, *_CALL_TAIL,
    )  # fmt: skip
    if nested:
        return row, children
    return row


def child_outside_call(
    kind: int, row: tuple, started_at: datetime | None, ended_at: datetime | None
) -> str | None:
    """Why a transfer/escalation time does not fit its call, or None. Escalations may be raised after the
    call ended (a complaint filed later), not before it started; a transfer happens during the call."""
    at = row[COLUMN_INDEX["at"]]
    if at is None or started_at is None:
        return None
    if at < started_at:
        return "before the call's started_at"
    if kind == KIND_TRANSFER and ended_at is not None and at > ended_at:
        return "after the call's ended_at"
    return None


def child_row(
    item: Any,
    kind: int,
    *,
    src: int,
    line: int,
    call_external_id: str | None,
    zone: tzinfo,
    errors: Errors,
    prefix: str = "",
    default_sequence: int | None = None,
    date_order: str = "",
) -> tuple | None:
    """The staging row of one transfer or escalation (without checks against its call)."""
    if type(item) is not dict:
        errors.append((prefix.rstrip(".") or "record", f"expected an object, got {_type_name(item)}"))
        return None
    start = len(errors)
    get = item.get
    sequence = _integer(get("sequence"), f"{prefix}sequence", errors, maximum=MAX_SEQUENCE)
    if sequence == 0:
        errors.append((f"{prefix}sequence", "must be at least 1"))
    if sequence is None:
        sequence = default_sequence
    at = _time(get("at"), f"{prefix}at", zone, errors, required=True, date_order=date_order)
    if kind == KIND_TRANSFER:
        _unknown(item, TRANSFER_FIELDS, prefix, errors)
        from_department = _text(get("from_department"), f"{prefix}from_department", 100, errors)
        to_department = _text(get("to_department"), f"{prefix}to_department", 100, errors)
        from_agent = _text(get("from_agent"), f"{prefix}from_agent", 50, errors)
        to_agent = _text(get("to_agent"), f"{prefix}to_agent", 50, errors)
        reason = _text(get("reason"), f"{prefix}reason", 200, errors)
        if len(errors) > start:
            return None
        return (
            KIND_TRANSFER, src, line, False, call_external_id, *_CHILD_MIDDLE,
            sequence, at, None, from_department, to_department, from_agent, to_agent, reason, None, None,
        )  # fmt: skip
    _unknown(item, ESCALATION_FIELDS, prefix, errors)
    level = _choice(
        get("level"), f"{prefix}level", LEVELS, "tier2, supervisor, complaint, other", errors, required=True
    )
    reason = _text(get("reason"), f"{prefix}reason", 200, errors)
    outcome = _text(get("outcome"), f"{prefix}outcome", 200, errors)
    resolved_at = _time(get("resolved_at"), f"{prefix}resolved_at", zone, errors, date_order=date_order)
    if at is not None and resolved_at is not None and resolved_at < at:
        errors.append((f"{prefix}resolved_at", "before at"))
    if len(errors) > start:
        return None
    return (
        KIND_ESCALATION, src, line, False, call_external_id, *_CHILD_MIDDLE,
        sequence, at, resolved_at, None, None, None, None, reason, level, outcome,
    )  # fmt: skip


def bad_row(kind: int, src: int, line: int, external_id: Any) -> tuple:
    """A placeholder staging row for an invalid record: only its key, so SQL can reject its relatives."""
    key = external_id.strip() if type(external_id) is str and 0 < len(external_id.strip()) <= 100 else None
    if key is not None and "\x00" in key:
        key = None
    return (kind, src, line, True, key, *(None,) * (len(STAGE_COLUMNS) - 5))


# --- sources -------------------------------------------------------------------------------------------


BOM = b"\xef\xbb\xbf"
# UTF-16 with a byte-order mark: Excel's "Unicode Text" and Windows PowerShell 5's `>` write it.
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def sniff_format(head: bytes) -> str:
    """'jsonl', 'json' (a JSON document: see json_items) or 'csv' from the first bytes of a file."""
    if head.startswith(UTF16_BOMS):
        head = head.decode("utf-16", "ignore").encode("utf-8")
    text = head.removeprefix(BOM).lstrip()
    if text.startswith(b"["):
        return "json"
    if text.startswith(b"{"):
        # JSON Lines when the first line is a call record, or cannot be told (a broken first line is then
        # one row error); a document when the first line is a lone `{` (objects pretty-printed one after
        # another, as `jq '.[]'` without -c writes them) or an object holding the records.
        first, newline, _rest = text.partition(b"\n")
        first = first.strip()
        if first == b"{":
            return "json"
        if newline:  # the whole first line: a record (JSON Lines), unless it wraps the records itself
            try:
                value = orjson.loads(first)
            except orjson.JSONDecodeError:
                return "jsonl"  # a broken first line: one row error
            return "json" if type(value) is dict and _wraps_records(value) else "jsonl"
        return "json" if records_member(first) is not None else "jsonl"
    return "csv"


def records_member(document: bytes) -> str | None:
    """The top-level member holding the records when a JSON document (its beginning will do) is an object
    wrapping them, as API exports are (`{"calls": [...]}`, `{"count": 2, "data": [...]}`): the first member
    whose value is an array of objects. None when the object is a call record itself (it has a call's
    fields) or no such member was seen."""
    depth = 0
    key = None
    candidate = None  # a top-level member whose value is an array: the records if its first item is an object
    try:
        for _prefix, event, value in ijson.parse(io.BytesIO(document)):
            if candidate is not None:
                if event == "start_map":
                    return candidate
                candidate = None
            if event == "map_key" and depth == 1:
                if value in CALL_FIELDS:
                    return None
                key = value
            elif event == "start_array" and depth == 1 and key is not None:
                candidate = key
            if event in ("start_map", "start_array"):
                depth += 1
            elif event in ("end_map", "end_array"):
                depth -= 1
    except ijson.JSONError:  # the beginning of a longer document, or broken: what was seen decides
        pass
    return None


def _wraps_records(value: dict) -> bool:
    """A whole JSON object that holds call records in an array member rather than being one."""
    if CALL_FIELDS.intersection(value):
        return False
    return any(type(member) is list and member and type(member[0]) is dict for member in value.values())


class JSONArrayError(ValueError):
    """A JSON document that is not well-formed, or holds no call records (the message says where and why)."""


SHAPE_PROBE_BYTES = 1 << 16


class _Prepended(io.RawIOBase):
    """A byte stream whose first bytes were already read: them, then the rest."""

    def __init__(self, head: bytes, rest: IO[bytes]):
        self.head = head
        self.rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        if self.head:
            count = min(len(buffer), len(self.head))
            buffer[:count] = self.head[:count]
            self.head = self.head[count:]
            return count
        data = self.rest.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)


def json_items(stream: IO[bytes]) -> Iterator[Any]:
    """The records of a JSON document in a byte stream, one at a time (ijson's C parser), whatever its
    size: the items of an array; those of the array an object holds them in (`{"calls": [...]}`, see
    records_member); or objects one after another (pretty-printed JSON Lines). JSONArrayError if the
    document is not well-formed. Numbers come as int or float, like orjson's."""
    head = stream.read(SHAPE_PROBE_BYTES)
    text = head.lstrip()
    if text.startswith(b"["):
        prefix, several = "item", False
    elif text.startswith(b"{"):
        member = records_member(text)
        prefix, several = (f"{member}.item", False) if member is not None else ("", True)
    else:
        raise JSONArrayError("expected a JSON array of call records, an object holding one, or JSON objects")
    try:
        yield from ijson.items(_Prepended(head, stream), prefix, use_float=True, multiple_values=several)
    except ijson.JSONError as error:
        # yajl draws an arrow under the spot on further lines; an error here is one line.
        reason = (str(error).strip().splitlines() or ["unreadable"])[0].strip()
        raise JSONArrayError(f"invalid JSON ({reason})") from None


def capped_lines(stream: IO[bytes], on_bytes: Callable[[int], None] | None) -> Iterator[bytes | None]:
    """The lines of a byte stream, or None for a line longer than MAX_RECORD_BYTES (read past in pieces,
    never held whole)."""
    readline = stream.readline
    while raw := readline(MAX_RECORD_BYTES + 1):
        if on_bytes is not None:
            on_bytes(len(raw))
        if len(raw) > MAX_RECORD_BYTES and not raw.endswith(b"\n"):
            while (rest := readline(1 << 20)) and not rest.endswith(b"\n"):
                if on_bytes is not None:
                    on_bytes(len(rest))
            if on_bytes is not None and rest:
                on_bytes(len(rest))
            yield None
            continue
        yield raw


def jsonl_records(
    stream: IO[bytes], on_bytes: Callable[[int], None] | None = None
) -> Iterator[tuple[int, Any, Errors]]:
    """(line number, parsed value or None, errors) per non-blank line of a JSON Lines byte stream."""
    line_number = 0
    for raw in capped_lines(stream, on_bytes):
        line_number += 1
        if raw is None:
            yield line_number, None, [("record", f"longer than {MAX_RECORD_BYTES:,} bytes")]
            continue
        if line_number == 1 and raw.startswith(BOM):
            raw = raw[3:]
        if not raw.strip():
            continue
        raw = raw.rstrip(b"\r\n")
        try:
            yield line_number, orjson.loads(raw), []
        except orjson.JSONDecodeError as error:
            try:
                raw.decode("utf-8")
            except UnicodeDecodeError as decode_error:
                reason = not_utf8(raw, decode_error.start)
                yield line_number, None, [("record", reason)]
                continue
            yield line_number, None, [("record", f"invalid JSON ({error.msg} at column {error.colno})")]


class CsvHeaderError(Exception):
    def __init__(self, errors: Errors):
        super().__init__("; ".join(f"{field}: {reason}" for field, reason in errors))
        self.errors = errors


def not_utf8(raw: bytes, position: int) -> str:
    """Why a line is refused when it is not UTF-8, and what to do about it."""
    return (
        f"not valid UTF-8 (byte 0x{raw[position]:02x} at column {position + 1}); "
        "if the file is in another encoding, name it (e.g. cp1252)"
    )


CR_READ_BYTES = 1 << 16


def physical_lines(stream: IO[bytes]) -> Iterator[bytes | None]:
    """The lines of a text byte stream, each with its line break: LF or CRLF, or a lone CR in files from
    classic Mac OS software (Excel's "CSV (Macintosh)"), told by the first line. Memory stays flat: a line
    longer than MAX_RECORD_BYTES is read past and given as None."""
    first = stream.readline(CR_READ_BYTES)
    if not first:
        return
    if b"\r" not in first.rstrip(b"\r\n"):
        if not first.endswith(b"\n"):
            rest = next(capped_lines(stream, None), b"")  # a first line longer than the probe: the rest of it
            first = None if rest is None or len(first) + len(rest) > MAX_RECORD_BYTES else first + rest
        yield first
        yield from capped_lines(stream, None)
        return
    pending = first
    while True:
        pieces = pending.split(b"\r")
        pending = pieces.pop()
        for piece in pieces:
            yield piece + b"\r" if len(piece) < MAX_RECORD_BYTES else None
        if len(pending) > MAX_RECORD_BYTES:
            yield None  # read past the rest of the line
            while (chunk := stream.read(CR_READ_BYTES)) and b"\r" not in chunk:
                pass
            pending = chunk.split(b"\r", 1)[1] if chunk else b""
            if not chunk:
                return
            continue
        chunk = stream.read(CR_READ_BYTES)
        if not chunk:
            if pending:
                yield pending
            return
        pending += chunk


class _DecodedLines:
    """Decode a byte stream line by line (so a bad byte spoils one line, not the file), remembering which
    lines were not UTF-8."""

    def __init__(self, stream: IO[bytes], on_bytes: Callable[[int], None] | None = None):
        self.stream = stream
        self.on_bytes = on_bytes
        self.number = 0
        self.bad_lines: dict[int, str] = {}

    def __iter__(self) -> Iterator[str]:
        for raw in physical_lines(self.stream):
            self.number += 1
            if raw is None:
                self.bad_lines[self.number] = f"longer than {MAX_RECORD_BYTES:,} bytes"
                yield "\x00\n"  # a row, not a blank line, so that the error is reported
                continue
            if self.on_bytes is not None:
                self.on_bytes(len(raw))
            if self.number == 1 and raw.startswith(BOM):
                raw = raw[3:]
            try:
                yield raw.decode("utf-8")
            except UnicodeDecodeError as error:
                self.bad_lines[self.number] = not_utf8(raw, error.start)
                yield raw.decode("utf-8", "replace")


def csv_kind(header: list[str]) -> tuple[str, Errors]:
    """The kind of a CSV file from its header: 'calls', 'transfers' or 'escalations'; errors if unusable."""
    columns = set(header)
    if "call_external_id" in columns:
        if "level" in columns:
            kind = "escalations"
        elif columns & {"from_department", "to_department", "from_agent", "to_agent"}:
            kind = "transfers"
        else:
            return "", [
                (
                    "header",
                    "has call_external_id but neither level (escalations) nor from_/to_ columns (transfers)",
                )
            ]
    elif "external_id" in columns:
        kind = "calls"
    else:
        return "", [
            (
                "header",
                "not a calls, transfers or escalations file (no external_id or call_external_id column)",
            )
        ]
    allowed = {
        "calls": CSV_CALL_COLUMNS,
        "transfers": CSV_TRANSFER_COLUMNS,
        "escalations": CSV_ESCALATION_COLUMNS,
    }[kind]
    errors: Errors = []
    seen: set[str] = set()
    for column in header:
        if not column:  # an unnamed column (a spreadsheet's trailing separator): its cells must be empty
            continue
        if column in seen:
            errors.append((column, "duplicate column"))
        seen.add(column)
        if column not in allowed and column != REJECTS_ERRORS_COLUMN:
            errors.append((column or "header", f"unknown column in a {kind} file"))
    for column in CSV_REQUIRED[kind]:
        if column not in columns:
            errors.append((column, "required column missing"))
    return kind, errors


_COLUMN_SEPARATORS = re.compile(r"[\s.\-]+")


def csv_column(name: str) -> str:
    """A header cell as a column name: any case, and words joined by spaces, dots or hyphens as by
    underscores (`Agent Employee Code`, `agent.employee_code` as pandas' json_normalize writes it)."""
    return _COLUMN_SEPARATORS.sub("_", name.strip().lower())


CSV_DELIMITERS = (",", ";", "\t")

# The csv module refuses a field over 128 KiB by default ("field larger than field limit"), which would make
# a long transcript an "unreadable CSV" and lose the rest of the file. A record is allowed MAX_RECORD_BYTES
# (a transcript of ten hours of speech is about 1 MB): the bound keeps an unterminated quote, or a gzip bomb
# of one endless line, from filling the memory.
csv.field_size_limit(MAX_RECORD_BYTES)


def csv_type_line(line: str) -> bool:
    """Windows PowerShell 5's Export-Csv first line, `#TYPE System.Management.Automation.PSCustomObject`
    (unless told -NoTypeInformation): not part of the table."""
    return line.removeprefix("\ufeff").startswith("#TYPE ")


def csv_separator_line(line: str) -> str:
    """The separator a first line `sep=;` names (Excel reads it, and exports meant for Excel write it);
    "" when the line is not one."""
    text = line.removeprefix("\ufeff").rstrip("\r\n")
    if len(text) == 5 and text[:4].lower() == "sep=":
        return text[4]
    return ""


def csv_delimiter(header_line: str) -> str:
    """The field separator of a CSV file, told by its header line: a comma, or the semicolon or tab that
    spreadsheet exports use in many locales (whichever of the three the header holds most of)."""
    return max(CSV_DELIMITERS, key=header_line.count)  # ties (none at all) go to the comma, listed first


def csv_rows(
    stream: IO[bytes], on_bytes: Callable[[int], None] | None = None
) -> tuple[str, list[str], Iterator[tuple[int, list[str], Errors]]]:
    """(kind, header, rows) of a CSV byte stream; rows are (first physical line, cells, errors).

    Raises CsvHeaderError for a header that cannot be used: a file with a bad header is refused whole.
    A quoted value spanning several lines counts all its lines, so line numbers match an editor's.
    """
    lines = _DecodedLines(stream, on_bytes)
    line_iterator = iter(lines)
    first_line = next(line_iterator, None)
    skipped = 0  # physical lines before the header (a `#TYPE` line, a `sep=` line)
    if csv_type_line(first_line or ""):
        first_line, skipped = next(line_iterator, None), 1
    separator = csv_separator_line(first_line or "")
    if separator:
        first_line, skipped = next(line_iterator, None), skipped + 1
    if first_line is None:
        raise CsvHeaderError([("header", "empty file")])
    reader = csv.reader(
        itertools.chain((first_line,), line_iterator),
        delimiter=separator or csv_delimiter(first_line),
        strict=True,
    )
    try:
        header = next(reader)
    except StopIteration:
        raise CsvHeaderError([("header", "empty file")]) from None
    except csv.Error as error:
        raise CsvHeaderError([("header", f"unreadable CSV ({error})")]) from None
    header = [csv_column(name) for name in header]
    if 1 + skipped in lines.bad_lines:
        raise CsvHeaderError([("header", lines.bad_lines[1 + skipped])])
    kind, errors = csv_kind(header)
    if errors:
        raise CsvHeaderError(errors)

    def rows() -> Iterator[tuple[int, list[str], Errors]]:
        previous = reader.line_num + skipped
        while True:
            first = previous + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as error:
                # An unterminated quote swallows the rest of the file: report it and stop.
                yield first, [], [("record", f"unreadable CSV ({error})")]
                return
            last = reader.line_num + skipped
            previous = last
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            errors: Errors = []
            bad = (
                [lines.bad_lines[n] for n in range(first, last + 1) if n in lines.bad_lines]
                if lines.bad_lines
                else []
            )
            if bad:
                errors.append(("record", bad[0]))
            elif len(cells) != len(header):
                errors.append(("record", f"{len(cells)} fields, the header has {len(header)}"))
            yield first, cells, errors

    return kind, header, rows()


def csv_cells_to_record(kind: str, header: list[str], cells: list[str], errors: Errors) -> dict:
    """A CSV row as a record in the JSON contract shape (strings converted, empty cells → null)."""
    record: dict[str, Any] = {}
    for position, (column, cell) in enumerate(zip(header, cells, strict=False), start=1):
        if not column:
            if cell.strip():
                errors.append(
                    (f"column {position}", f"a value in a column without a name: {cell.strip()[:40]!r}")
                )
            continue
        if column == REJECTS_ERRORS_COLUMN:
            continue
        if cell == MYSQL_NULL:
            value: Any = None
        elif column in CSV_VERBATIM_COLUMNS:
            value = cell.replace("\r\n", "\n").replace("\r", "\n") if "\r" in cell else cell
            if not value.strip():
                value = None
        else:
            value = cell.strip()
            if value.startswith('="') and value.endswith('"') and len(value) >= 3:
                # ="00123": how exports meant for Excel keep leading zeros (a formula giving the text).
                value = value[2:-1].strip()
            if not value:
                value = None
            elif column in CSV_CODE_COLUMNS:
                if value[-1] == "0" and _WHOLE_FLOAT.fullmatch(value):
                    value = value.partition(".")[0]
            elif column in CSV_INTEGER_COLUMNS:
                duration = column in DURATION_COLUMNS
                value = _csv_seconds(value) if duration else _csv_integer(value)
                if type(value) is str:
                    errors.append((column, _not_integer(value, duration=duration)))
                    value = INVALID
            elif column == "resolved":
                boolean = CSV_BOOLEANS.get(value.lower())
                if boolean is None:
                    errors.append((column, f"expected true/false, 1/0 or yes/no, got {value[:40]!r}"))
                    value = INVALID
                else:
                    value = boolean
            elif "\r" in value:
                value = value.replace("\r\n", "\n").replace("\r", "\n")
        if kind == "calls":
            path = CSV_CALL_COLUMNS[column]
            if "." in path:
                parent, child = path.split(".")
                if value is not None:
                    record.setdefault(parent, {})[child] = value
                continue
            record[path] = value
        else:
            record[column] = value
    return record


def csv_field(field: str) -> str:
    """The CSV column name of a JSON-contract field path ('agent.employee_code' → 'agent_employee_code')."""
    return _JSON_TO_CSV_FIELD.get(field, field)
