"""agent_day_stats_refresh_on_commit: which local days it refreshes, and only once the caller commits.

(The rollup rebuild itself is checked against a plain-Python recomputation in tests/analytics/test_rollups.py;
tests/calls/test_admin.py checks real refreshes through the admin.)"""

from datetime import date

import pytest

from calls import rollups
from calls.models import AgentDayCallStats
from tests.calls.helpers import build_summary_world, paris


@pytest.fixture
def refreshed(settings, monkeypatch) -> list[tuple[date, date]]:
    """The day ranges whose call rollups are rebuilt; the ranges given to registered refreshers (scoring) are
    in `refreshed.others`."""
    settings.TIME_ZONE = "Europe/Paris"
    settings.REPEAT_CONTACT_WINDOW_DAYS = 2
    ranges = RefreshLog()
    monkeypatch.setattr(
        rollups,
        "_call_stats_rebuild",
        lambda *, date_from, date_to, agent_ids=None: ranges.append((date_from, date_to)),
    )
    monkeypatch.setattr(
        rollups,
        "_day_refreshers",
        [lambda *, date_from, date_to, agent_ids: ranges.others.append((date_from, date_to))],
    )
    return ranges


class RefreshLog(list):
    def __init__(self):
        super().__init__()
        self.others: list[tuple[date, date]] = []


@pytest.mark.django_db
def test_refresh_covers_each_start_day_and_the_repeat_window_before_it_after_the_commit(
    refreshed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks() as callbacks:
        rollups.agent_day_stats_refresh_on_commit(
            # 00:30 in Paris is still March 9th in UTC: the local day is the 10th.
            started_ats=[paris(3, 10, 0, 30), None, paris(3, 21, 9), paris(3, 20, 18)]
        )
        assert refreshed == []

    assert len(callbacks) == 1
    callbacks[0]()
    # March 8-10, and March 18-21 merged from 18-20 and 19-21.
    assert refreshed == [(date(2026, 3, 8), date(2026, 3, 10)), (date(2026, 3, 18), date(2026, 3, 21))]
    # Registered refreshers: the start days only (repeat contacts are the call rollups' alone).
    assert refreshed.others == [
        (date(2026, 3, 10), date(2026, 3, 10)),
        (date(2026, 3, 20), date(2026, 3, 21)),
    ]


@pytest.mark.django_db
def test_refresh_without_repeat_window_covers_only_the_start_days(
    refreshed, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        rollups.agent_day_stats_refresh_on_commit(
            started_ats=[paris(3, 12, 23, 59), paris(3, 10, 8), paris(3, 11, 8), paris(3, 10, 9)],
            include_repeat_window=False,
        )

    assert refreshed == [(date(2026, 3, 10), date(2026, 3, 12))]
    assert refreshed.others == [(date(2026, 3, 10), date(2026, 3, 12))]


@pytest.mark.django_db
def test_refresh_of_no_start_queues_nothing(refreshed, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks() as callbacks:
        rollups.agent_day_stats_refresh_on_commit(started_ats=[None])
        rollups.agent_day_stats_refresh_on_commit(started_ats=[])

    assert callbacks == []
    assert refreshed == []
    assert refreshed.others == []


@pytest.mark.django_db
def test_an_import_rebuilds_the_call_rollups_over_the_repeat_window_and_other_rollups_over_its_own_days(
    settings, monkeypatch
):
    """Repeat contacts are the call rollups' alone: registered refreshers (scoring) only get the days of the
    calls that changed, the call rollups those days and the repeat window before them."""
    settings.TIME_ZONE = "Europe/Paris"
    settings.REPEAT_CONTACT_WINDOW_DAYS = 2
    rebuilt: list[tuple[date, date]] = []
    refreshed: list[tuple[date, date]] = []
    monkeypatch.setattr(
        rollups,
        "_call_stats_rebuild",
        lambda *, date_from, date_to, agent_ids=None: rebuilt.append((date_from, date_to)),
    )
    monkeypatch.setattr(
        rollups,
        "_day_refreshers",
        [lambda *, date_from, date_to, agent_ids: refreshed.append((date_from, date_to))],
    )

    # 00:30 in Paris on March 10th is March 9th in UTC.
    rollups.agent_day_stats_refresh_for_calls(started_from=paris(3, 10, 0, 30), started_to=paris(3, 12, 18))

    assert rebuilt == [(date(2026, 3, 8), date(2026, 3, 12))]
    assert refreshed == [(date(2026, 3, 10), date(2026, 3, 12))]


@pytest.mark.django_db
def test_a_refresh_scoped_to_agents_rebuilds_their_rows_of_the_day_and_those_of_the_customers_calls(
    settings, django_capture_on_commit_callbacks
):
    world = build_summary_world(settings)
    rows = AgentDayCallStats.objects.all()
    before = {(row.agent_id, row.day): row.calls for row in rows}
    rows.update(calls=999)  # marks every row: a rebuilt row gets its true count back

    c2 = world.calls["c2"]  # cat's, customer X, March 5th; b1 (bob, X) is March 4th
    with django_capture_on_commit_callbacks(execute=True):
        rollups.agent_day_stats_refresh_on_commit(
            started_ats=[c2.started_at], agent_ids=[c2.agent_id], customer_ids=[c2.customer_id]
        )

    # c2's own row (cat, March 5th) and the rows of customer X's calls in the window (two days before c2,
    # and its own): bob's March 4th (b1). Not cat's other days, nor anybody else's rows of those days.
    rebuilt = {(world.agents["cat"].pk, date(2026, 3, 5)), (world.agents["bob"].pk, date(2026, 3, 4))}
    assert any(key[1] in {date(2026, 3, 3), date(2026, 3, 4)} and key not in rebuilt for key in before)
    assert {(row.agent_id, row.day): row.calls for row in AgentDayCallStats.objects.all()} == {
        key: count if key in rebuilt else 999 for key, count in before.items()
    }


@pytest.mark.django_db
def test_compiled_sql_of_a_queryset_known_to_be_empty_has_its_columns_and_no_rows():
    """Django writes no SQL for `…__in=[]`; an embedding statement still needs the columns (a supervisor who leads
    no team made two analytics pages fail with a server error)."""
    from django.db import connection

    from calls.models import Call
    from tests.factories import CallFactory

    CallFactory()
    empty = Call.objects.filter(agent__team_id__in=[]).values("agent_id", "is_resolved")
    full = Call.objects.values("agent_id", "is_resolved")

    with connection.cursor() as cursor:
        results = []
        for queryset in (empty, full):
            sql, params = rollups.compiled(queryset)
            cursor.execute(f"SELECT m.agent_id, m.is_resolved FROM ({sql}) m", params)
            results.append((len(cursor.fetchall()), [column.name for column in cursor.description]))

    assert results == [(0, ["agent_id", "is_resolved"]), (1, ["agent_id", "is_resolved"])]
