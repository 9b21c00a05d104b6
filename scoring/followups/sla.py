"""Business-hours arithmetic for follow-up SLAs. Pure functions: no Django, no database.

A calendar is a set of weekly opening intervals in one IANA time zone, minus holidays. Business time is
*real elapsed time* (UTC) inside the opening intervals, so a DST change inside an opening interval
makes that day an hour shorter or longer, exactly as the clock on the wall says.

Conventions:
- Weekday 0 is Monday (``date.weekday()``).
- An interval whose closing time is not after its opening time runs past midnight (22:00–06:00), and
  opens == closes means the full 24 hours (00:00–00:00 every day is a 24/7 calendar).
- A holiday closes the calendar for the whole local day, including the after-midnight part of the
  previous evening's overnight interval.
- Local times that do not exist (DST gap) or exist twice (DST fold) are resolved as PEP 495 ``fold=0``:
  a gap time is pushed forward by the gap, an ambiguous time is its first occurrence. Opening hours
  rarely sit between 02:00 and 03:00; this rule only makes the result deterministic.
- ``add_business_time`` returns the instant the duration is used up; if that is exactly a closing
  time, it returns the closing time (not the next opening).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

#: A calendar with no opening time within this many days is refused (it would loop forever).
MAX_SEARCH_DAYS = 400

#: A 24/7 calendar never closes: its open time is handed out in chunks of at most this length.
MAX_CHUNK = timedelta(days=7)

MIDNIGHT = time(0, 0)


@dataclass(frozen=True)
class OpeningInterval:
    weekday: int
    opens: time
    closes: time

    def __post_init__(self) -> None:
        if not 0 <= self.weekday <= 6:
            raise ValueError(f"weekday must be 0 (Monday) … 6 (Sunday), not {self.weekday}")
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("opening times are local wall times: they must be naive")

    @property
    def is_overnight(self) -> bool:
        return self.closes <= self.opens


@dataclass(frozen=True)
class Calendar:
    time_zone: ZoneInfo
    intervals: tuple[OpeningInterval, ...]
    holidays: frozenset[date] = field(default_factory=frozenset)

    @classmethod
    def build(
        cls,
        time_zone: str | ZoneInfo,
        intervals: Iterable[tuple[int, time, time] | OpeningInterval],
        holidays: Iterable[date] = (),
    ) -> Calendar:
        zone = time_zone if isinstance(time_zone, ZoneInfo) else ZoneInfo(time_zone)
        built = tuple(i if isinstance(i, OpeningInterval) else OpeningInterval(*i) for i in intervals)
        return cls(time_zone=zone, intervals=built, holidays=frozenset(holidays))


def _local(day: date, at: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(day, at, tzinfo=zone).astimezone(UTC)


def _pieces_for_day(calendar: Calendar, day: date) -> list[tuple[datetime, datetime]]:
    """The UTC opening pieces that fall on one local day, sorted and merged (holidays give none)."""
    if day in calendar.holidays:
        return []
    zone = calendar.time_zone
    start_of_day = _local(day, MIDNIGHT, zone)
    end_of_day = _local(day + timedelta(days=1), MIDNIGHT, zone)
    previous = (day - timedelta(days=1)).weekday()
    pieces: list[tuple[datetime, datetime]] = []
    for interval in calendar.intervals:
        if interval.weekday == day.weekday():
            end = end_of_day if interval.is_overnight else _local(day, interval.closes, zone)
            pieces.append((_local(day, interval.opens, zone), end))
        if interval.weekday == previous and interval.is_overnight and interval.closes != MIDNIGHT:
            pieces.append((start_of_day, _local(day, interval.closes, zone)))
    return _merge(p for p in pieces if p[0] < p[1])


def _merge(pieces: Iterable[tuple[datetime, datetime]]) -> list[tuple[datetime, datetime]]:
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(pieces):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged


def open_intervals(calendar: Calendar, since: datetime) -> Iterator[tuple[datetime, datetime]]:
    """Maximal UTC opening intervals that end after ``since``, in order (infinite generator).

    Raises ValueError if the calendar has no opening time within MAX_SEARCH_DAYS of the last one.
    """
    _require_aware(since)
    since_utc = since.astimezone(UTC)
    day = since_utc.astimezone(calendar.time_zone).date() - timedelta(days=1)
    pending: tuple[datetime, datetime] | None = None
    empty_days = 0
    while True:
        pieces = _pieces_for_day(calendar, day)
        day += timedelta(days=1)
        if not pieces:
            empty_days += 1
            if empty_days > MAX_SEARCH_DAYS:
                raise ValueError(f"the calendar has no opening hours within {MAX_SEARCH_DAYS} days")
            continue
        empty_days = 0
        for piece in pieces:
            if pending is not None and piece[0] <= pending[1] and pending[1] - pending[0] < MAX_CHUNK:
                pending = (pending[0], max(pending[1], piece[1]))
                continue
            if pending is not None and pending[1] > since_utc:
                yield pending
            pending = piece
        # A day's last piece may continue at the next local midnight: hold it until the next day is seen.


def add_business_time(start: datetime, duration: timedelta, calendar: Calendar | None) -> datetime:
    """The instant ``duration`` of business time after ``start`` (UTC). No calendar means 24/7."""
    _require_aware(start)
    if duration < timedelta(0):
        raise ValueError("duration must not be negative")
    start_utc = start.astimezone(UTC)
    if calendar is None:
        return start_utc + duration
    if duration == timedelta(0):
        return start_utc
    remaining = duration
    for opens, closes in open_intervals(calendar, start_utc):
        opens = max(opens, start_utc)
        available = closes - opens
        if remaining <= available:
            return opens + remaining
        remaining -= available
    raise AssertionError("open_intervals is infinite")  # pragma: no cover


def business_time_between(a: datetime, b: datetime, calendar: Calendar | None) -> timedelta:
    """Business time from ``a`` to ``b`` (negative when ``b`` is before ``a``). No calendar means 24/7."""
    _require_aware(a)
    _require_aware(b)
    a_utc, b_utc = a.astimezone(UTC), b.astimezone(UTC)
    if b_utc < a_utc:
        return -business_time_between(b_utc, a_utc, calendar)
    if calendar is None or a_utc == b_utc:
        return b_utc - a_utc
    total = timedelta(0)
    for opens, closes in open_intervals(calendar, a_utc):
        if opens >= b_utc:
            break
        total += min(closes, b_utc) - max(opens, a_utc)
    return total


def is_open(at: datetime, calendar: Calendar | None) -> bool:
    if calendar is None:
        return True
    opens, _closes = next(open_intervals(calendar, at))
    return opens <= at.astimezone(UTC)


def _require_aware(value: datetime) -> None:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError("naive datetime: SLA arithmetic needs time-zone-aware datetimes")
