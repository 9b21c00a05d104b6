"""Business-hours SLA math: hand-computed edge cases, then a brute-force minute counter as the oracle."""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from scoring.followups.sla import Calendar, add_business_time, business_time_between, is_open

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
H = timedelta(hours=1)

# Monday–Friday 09:00–17:00 in Berlin. 2026-03-23 is a Monday; DST starts Sunday 2026-03-29.
OFFICE = Calendar.build(BERLIN, [(d, time(9), time(17)) for d in range(5)])


def berlin(y, mo, d, h, mi=0):
    return datetime(y, mo, d, h, mi, tzinfo=BERLIN)


def test_within_one_day_adds_plainly():
    assert add_business_time(berlin(2026, 3, 24, 10), 2 * H, OFFICE) == berlin(2026, 3, 24, 12)


def test_overnight_carries_the_rest_to_next_opening():
    # Tuesday 16:30 + 1 h: 30 min on Tuesday, 30 min from Wednesday 09:00.
    assert add_business_time(berlin(2026, 3, 24, 16, 30), H, OFFICE) == berlin(2026, 3, 25, 9, 30)


def test_weekend_is_skipped():
    # Friday 16:00 + 2 h: 1 h on Friday, 1 h from Monday 09:00.
    assert add_business_time(berlin(2026, 3, 20, 16), 2 * H, OFFICE) == berlin(2026, 3, 23, 10)


def test_start_outside_hours_begins_at_next_opening():
    assert add_business_time(berlin(2026, 3, 24, 6), H, OFFICE) == berlin(2026, 3, 24, 10)
    assert add_business_time(berlin(2026, 3, 24, 20), H, OFFICE) == berlin(2026, 3, 25, 10)
    assert add_business_time(berlin(2026, 3, 21, 11), H, OFFICE) == berlin(2026, 3, 23, 10)  # Saturday


def test_duration_ending_exactly_at_closing_returns_the_closing_time():
    assert add_business_time(berlin(2026, 3, 24, 16), H, OFFICE) == berlin(2026, 3, 24, 17)


def test_dst_change_over_the_weekend_keeps_local_opening_hours():
    # Friday 27 March 16:00 CET (+01:00) + 2 h → Monday 30 March 10:00 CEST (+02:00) = 08:00 UTC.
    # A fixed-offset computation would answer 09:00 UTC.
    due = add_business_time(berlin(2026, 3, 27, 16), 2 * H, OFFICE)
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)
    assert due.astimezone(BERLIN).hour == 10


def test_dst_night_is_23_real_hours_on_a_24_7_calendar():
    always = Calendar.build(BERLIN, [(d, time(0), time(0)) for d in range(7)])
    start = berlin(2026, 3, 28, 12)  # Saturday 12:00 CET = 11:00 UTC
    assert add_business_time(start, 24 * H, always) == datetime(2026, 3, 29, 11, 0, tzinfo=UTC)  # 13:00 CEST
    assert business_time_between(berlin(2026, 3, 28, 0), berlin(2026, 3, 30, 0), always) == 47 * H
    assert business_time_between(berlin(2026, 10, 24, 0), berlin(2026, 10, 26, 0), always) == 49 * H


def test_dst_change_inside_an_overnight_shift_shortens_it():
    # Night shift 22:00–06:00 every day, New York. DST starts Sunday 2026-03-08 02:00 → 03:00.
    night = Calendar.build(NEW_YORK, [(d, time(22), time(6)) for d in range(7)])
    saturday_22 = datetime(2026, 3, 7, 22, tzinfo=NEW_YORK)
    sunday_06 = datetime(2026, 3, 8, 6, tzinfo=NEW_YORK)
    assert business_time_between(saturday_22, sunday_06, night) == 7 * H
    # 5 h after 05:00 Saturday: 1 h until 06:00, then 4 h from 22:00 → 02:00 EST (07:00 UTC).
    assert add_business_time(datetime(2026, 3, 7, 5, tzinfo=NEW_YORK), 5 * H, night) == datetime(
        2026, 3, 8, 7, tzinfo=UTC
    )
    # 5 h after Saturday 22:00: 04:00 EDT, because 02:00–03:00 does not exist that night.
    assert add_business_time(saturday_22, 5 * H, night) == datetime(2026, 3, 8, 4, tzinfo=NEW_YORK)


def test_holiday_closes_the_whole_day():
    with_holiday = Calendar.build(BERLIN, OFFICE.intervals, holidays=[date(2026, 3, 23)])
    assert add_business_time(berlin(2026, 3, 20, 16), 2 * H, with_holiday) == berlin(2026, 3, 24, 10)


def test_holiday_cuts_the_after_midnight_part_of_an_overnight_shift():
    night = Calendar.build(BERLIN, [(d, time(22), time(6)) for d in range(7)], holidays=[date(2026, 12, 25)])
    assert business_time_between(berlin(2026, 12, 24, 20), berlin(2026, 12, 26, 8), night) == 2 * H + 6 * H


def test_business_time_between_counts_only_open_hours():
    # Friday 15:00 → Tuesday 11:00: 2 h Friday + 8 h Monday + 2 h Tuesday.
    assert business_time_between(berlin(2026, 3, 20, 15), berlin(2026, 3, 24, 11), OFFICE) == 12 * H
    assert business_time_between(berlin(2026, 3, 24, 11), berlin(2026, 3, 20, 15), OFFICE) == -12 * H
    assert business_time_between(berlin(2026, 3, 21, 8), berlin(2026, 3, 22, 20), OFFICE) == timedelta(0)


def test_pause_spanning_the_deadline_moves_due_by_the_paused_business_time():
    due = berlin(2026, 3, 24, 12)  # Tuesday noon
    paused_at, resumed_at = berlin(2026, 3, 24, 11), berlin(2026, 3, 25, 10)
    paused = business_time_between(paused_at, resumed_at, OFFICE)
    assert paused == 7 * H  # Tuesday 11–17 and Wednesday 09–10
    new_due = add_business_time(due, paused, OFFICE)
    assert new_due == berlin(2026, 3, 25, 11)
    # Independently: 1 h was left at the pause; it runs from the resume.
    assert add_business_time(resumed_at, business_time_between(paused_at, due, OFFICE), OFFICE) == new_due


def test_no_calendar_means_round_the_clock():
    start = datetime(2026, 3, 28, 12, tzinfo=UTC)
    assert add_business_time(start, 24 * H, None) == datetime(2026, 3, 29, 12, tzinfo=UTC)
    assert business_time_between(start, start + 5 * H, None) == 5 * H


def test_is_open_follows_the_opening_hours():
    assert is_open(berlin(2026, 3, 24, 9), OFFICE)
    assert not is_open(berlin(2026, 3, 24, 17), OFFICE)
    assert not is_open(berlin(2026, 3, 22, 12), OFFICE)


def test_bad_inputs_are_refused():
    with pytest.raises(ValueError, match="naive"):
        add_business_time(datetime(2026, 3, 24, 10), H, OFFICE)  # noqa: DTZ001
    with pytest.raises(ValueError, match="negative"):
        add_business_time(berlin(2026, 3, 24, 10), -H, OFFICE)
    with pytest.raises(ValueError, match="no opening hours"):
        add_business_time(berlin(2026, 3, 24, 10), H, Calendar.build(BERLIN, []))
    with pytest.raises(ValueError, match="weekday"):
        Calendar.build(BERLIN, [(7, time(9), time(17))])


# --- brute force oracle ---------------------------------------------------------------------------


def brute_is_open(instant: datetime, calendar: Calendar) -> bool:
    """Is this instant open, judged only from its local wall time (independent of the implementation)."""
    local = instant.astimezone(calendar.time_zone)
    if local.date() in calendar.holidays:
        return False
    t, weekday = local.time().replace(tzinfo=None), local.weekday()
    for interval in calendar.intervals:
        if interval.is_overnight:
            if interval.weekday == weekday and t >= interval.opens:
                return True
            if interval.weekday == (weekday - 1) % 7 and t < interval.closes:
                return True
        elif interval.weekday == weekday and interval.opens <= t < interval.closes:
            return True
    return False


def brute_minutes_between(a: datetime, b: datetime, calendar: Calendar) -> int:
    return sum(
        brute_is_open(a + timedelta(minutes=m), calendar) for m in range(int((b - a).total_seconds() // 60))
    )


# Opening times avoid 01:00–04:00, where the DST gaps and folds of these zones are (there the
# implementation follows PEP 495 fold=0 and wall-clock judgement is ambiguous by nature).
hours = st.sampled_from([0, 4, 6, 8, 9, 12, 13, 17, 18, 20, 22, 23])
minutes = st.sampled_from([0, 15, 30])
interval = st.tuples(st.integers(0, 6), st.builds(time, hours, minutes), st.builds(time, hours, minutes))
calendars = st.builds(
    Calendar.build,
    st.sampled_from([BERLIN, NEW_YORK, ZoneInfo("UTC")]),
    st.lists(interval, min_size=1, max_size=6),
    st.sets(st.dates(date(2026, 3, 5), date(2026, 3, 12)), max_size=2),
)
# Starts around the 2026 DST changes of both zones (March 8 New York, March 29 Berlin).
starts = st.builds(
    lambda day, minute: datetime(2026, 3, 5, tzinfo=UTC) + timedelta(days=day, minutes=minute),
    st.sampled_from([0, 1, 2, 3, 22, 23, 24]),
    st.integers(0, 24 * 60 - 1),
)


@settings(max_examples=60, deadline=None)
@given(calendar=calendars, start=starts, span_minutes=st.integers(0, 5 * 24 * 60))
def test_business_time_between_matches_minute_by_minute_count(calendar, start, span_minutes):
    end = start + timedelta(minutes=span_minutes)
    assert business_time_between(start, end, calendar) == timedelta(
        minutes=brute_minutes_between(start, end, calendar)
    )


@settings(max_examples=60, deadline=None)
@given(calendar=calendars, start=starts, duration_minutes=st.integers(1, 3 * 24 * 60))
def test_add_business_time_lands_where_the_minute_count_reaches_the_duration(
    calendar, start, duration_minutes
):
    due = add_business_time(start, timedelta(minutes=duration_minutes), calendar)
    assert brute_minutes_between(start, due, calendar) == duration_minutes
    # The last minute before the due instant is open (the earliest instant, not a later one).
    assert brute_is_open(due - timedelta(minutes=1), calendar)
