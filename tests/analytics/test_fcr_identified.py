"""First-contact resolution (FCR) and repeat contacts are measured over identified callers only.

An anonymous call (no customer) can never be matched with a later contact, so it used to count as resolved on
first contact whenever it was resolved and not transferred. Now its FCR and repeat contact are unknown per
call, and FCR and repeat-contact rates are over the handled calls of identified callers — on the calls list
(live and from the rollups, for everyone's list and a supervisor's), in the rollups, on the leaderboard, the
team and agent pages, the transfers and NPS-drivers pages, the leaderboard API and CSV, and the calls CSV.

Every expected figure below is counted by hand from the table in tests/analytics/fcr_world.py (ROWS); the
same figures are checked on PostgreSQL (in-process) and on SQLite (a subprocess, tests/analytics/
sqlite_fcr_run.py, which also runs migration 0007 over rollups written the old way).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.analytics.fcr_world import (
    BEFORE_IDENTIFIED,
    WINDOW_DAYS,
    build_fcr_world,
    figures,
    make_users,
    migrate_calls,
    rollup_rows,
    write_rollups_before_identified,
)
from tests.embedded_sqlite import run_script_on_copy

ROOT = Path(__file__).resolve().parents[2]

# --- the hand counts (fcr_world.ROWS) -------------------------------------------------------------------

# Per call: None is unknown (an anonymous caller: K03, K04, K08, K09, K16, K17).
FCR = {
    "K01": False,  # P again two days later (K06)
    "K02": True,
    "K03": None,
    "K04": None,
    "K05": True,
    "K06": True,  # P's next call (K12) is 17 days later
    "K07": False,  # transferred
    "K08": None,
    "K09": None,
    "K10": False,  # unresolved, and S again the next day
    "K11": True,
    "K12": True,
    "K13": False,  # T again the next day (K15, abandoned: a repeat contact all the same)
    "K14": True,
    "K15": False,  # unresolved (abandoned)
    "K16": None,
    "K17": None,
    "K18": True,
}
REPEAT = {
    **dict.fromkeys(FCR, False),
    **dict.fromkeys(("K03", "K04", "K08", "K09", "K16", "K17")),
    **dict.fromkeys(("K01", "K10", "K13"), True),
}

# June, everyone's calls: 18 calls, 2 abandoned (K15, K17); 16 handled, of which 11 have a customer and 5 are
# anonymous (K03 K04 K08 K09 K16). FCR K02 K05 K06 K11 K12 K14 K18 = 7 of 11 (it was 10 of 16 when K03, K08
# and K09 counted); repeat K01 K10 K13 = 3 of 11; transferred K07 K16 and escalated K04 K10, 2 of 16 each;
# resolved 14 of 16 (not K04, K10). Handle: the talk times of the 16 (hold and wrap 0): Ann 1300 s, Bob 770 s,
# Cat 1300 s; wait 20 s each.
SUMMARY = {
    "calls": 18,
    "handled_calls": 16,
    "identified_calls": 11,
    "anonymous_calls": 5,
    "abandoned": 2,
    "abandoned_rate": 2 / 18,
    "transferred": 2,
    "escalated": 2,
    "resolved": 14,
    "first_contact_resolved": 7,
    "repeat_contacts": 3,
    "transferred_rate": 2 / 16,
    "escalated_rate": 2 / 16,
    "resolved_rate": 14 / 16,
    "first_contact_resolved_rate": 7 / 11,
    "repeat_contacts_rate": 3 / 11,
    "average_handle_seconds": 3370 / 16,
    "average_wait_seconds": 20.0,
}
# North's supervisor: Ann's 5 calls, Bob's 4 and K16 (Cat's, transferred to Bob) = 10, all handled; 5 have a
# customer (K01 K02 K05 K06 K07), 5 not (K03 K04 K08 K09 K16). FCR K02 K05 K06 = 3 of 5; repeat K01, 1 of 5;
# transferred K07 K16, 2 of 10; escalated K04, 1 of 10; resolved 9 of 10 (not K04). Handle 1300 + 770 + 170.
LEAD_SUMMARY = {
    "calls": 10,
    "handled_calls": 10,
    "identified_calls": 5,
    "anonymous_calls": 5,
    "abandoned": 0,
    "abandoned_rate": 0.0,
    "transferred": 2,
    "escalated": 1,
    "resolved": 9,
    "first_contact_resolved": 3,
    "repeat_contacts": 1,
    "transferred_rate": 2 / 10,
    "escalated_rate": 1 / 10,
    "resolved_rate": 9 / 10,
    "first_contact_resolved_rate": 3 / 5,
    "repeat_contacts_rate": 1 / 5,
    "average_handle_seconds": 2240 / 10,
    "average_wait_seconds": 20.0,
}
# Rollup rows, "<agent> <day>": [calls, identified_calls, resolved, transferred, escalated,
# first_contact_resolved, repeat_contacts].
ROLLUPS = {
    "A-ANN 2026-06-01": [2, 2, 2, 0, 0, 1, 1],  # K01 (repeat) K02 (FCR)
    "A-ANN 2026-06-02": [2, 0, 1, 0, 1, 0, 0],  # K03 K04, anonymous: no FCR counted
    "A-ANN 2026-06-10": [1, 1, 1, 0, 0, 1, 0],  # K05
    "A-BOB 2026-06-03": [2, 2, 2, 1, 0, 1, 0],  # K06 (FCR) K07 (transferred)
    "A-BOB 2026-06-04": [2, 0, 2, 0, 0, 0, 0],  # K08 K09, anonymous, resolved, untransferred: no FCR counted
    "A-CAT 2026-06-05": [1, 1, 0, 0, 1, 0, 1],  # K10
    "A-CAT 2026-06-06": [1, 1, 1, 0, 0, 1, 0],  # K11
    "A-CAT 2026-06-07": [1, 1, 1, 0, 0, 0, 1],  # K13
    "A-CAT 2026-06-09": [1, 1, 1, 0, 0, 1, 0],  # K14
    "A-CAT 2026-06-12": [1, 0, 1, 1, 0, 0, 0],  # K16, anonymous
    "A-CAT 2026-06-14": [1, 1, 1, 0, 0, 1, 0],  # K18
    "A-CAT 2026-06-20": [1, 1, 1, 0, 0, 1, 0],  # K12
}
# Per agent: Ann 5 calls, 3 identified, FCR K02 K05 (2 of 3; it was 3 of 5); Bob 4, 2, FCR K06 (1 of 2; it was
# 3 of 4); Cat 7, 6, FCR K11 K12 K14 K18 (4 of 6; it was 4 of 7).
LEADERBOARD = {
    "A-ANN": {"calls": 5, "identified_calls": 3, "first_contact_resolved": 2, "fcr_rate": 2 / 3},
    "A-BOB": {"calls": 4, "identified_calls": 2, "first_contact_resolved": 1, "fcr_rate": 1 / 2},
    "A-CAT": {"calls": 7, "identified_calls": 6, "first_contact_resolved": 4, "fcr_rate": 4 / 6},
}
TEAMS = {
    "North": {"calls": 9, "identified_calls": 5, "fcr_rate": 3 / 5},
    "South": {"calls": 7, "identified_calls": 6, "fcr_rate": 4 / 6},
}
AGENT_ANN = {
    "calls": 5,
    "identified_calls": 3,
    "fcr_rate": 2 / 3,
    "team_calls": 9,
    "team_identified_calls": 5,
    "team_fcr_rate": 3 / 5,
}
# The teams' 16 handled calls, 11 of identified callers, 3 of them followed by a repeat contact.
TRANSFERS_REPEAT = {
    "calls": 16,
    "identified_calls": 11,
    "anonymous_calls": 5,
    "repeat_contacts": 3,
    "rate": 3 / 11,
}
# Survey answers by FCR level, [promoters, passives, detractors]: K02 (FCR, 9), K01 (not, 3), K03 (unknown, 10).
DRIVERS_FCR = {"yes": [1, 0, 0], "no": [0, 0, 1], "unknown": [1, 0, 0]}
API = {
    code: {"identified_calls": row["identified_calls"], "fcr_rate": row["fcr_rate"]}
    for code, row in LEADERBOARD.items()
}
# The CSV rounds rates to 4 decimals.
CSV = {
    "A-ANN": {"calls": "5", "identified_calls": "3", "fcr_rate": "0.6667"},
    "A-BOB": {"calls": "4", "identified_calls": "2", "fcr_rate": "0.5"},
    "A-CAT": {"calls": "7", "identified_calls": "6", "fcr_rate": "0.6667"},
}
# The calls CSV: first_contact_resolution and repeat_contact, empty when unknown.
CALLS_CSV = {
    key: [
        "" if FCR[key] is None else str(FCR[key]).lower(),
        "" if REPEAT[key] is None else str(REPEAT[key]).lower(),
    ]
    for key in FCR
}
ANONYMOUS = sorted(key for key, fcr in FCR.items() if fcr is None)


def check_figures(got: dict) -> None:
    """Every figure of fcr_world against the hand counts above (on either database)."""
    assert got["per_call"] == {key: {"fcr": FCR[key], "repeat": REPEAT[key]} for key in FCR}
    # Yes: identified and FCR; no: identified and not FCR. Anonymous calls match neither.
    assert got["filter_yes"] == ["K02", "K05", "K06", "K11", "K12", "K14", "K18"]
    assert got["filter_no"] == ["K01", "K07", "K10", "K13", "K15"]
    assert got["summary_live"] == SUMMARY
    assert got["list_admin"] == {"summary": SUMMARY, "from_rollups": True}
    assert got["list_lead"] == {"summary": LEAD_SUMMARY, "from_rollups": True}
    assert got["rollups"] == ROLLUPS
    assert got["leaderboard"] == LEADERBOARD
    assert got["teams"] == TEAMS
    assert got["agent_ann"] == AGENT_ANN
    assert got["transfers_repeat"] == TRANSFERS_REPEAT
    assert got["drivers_fcr"] == DRIVERS_FCR
    assert got["api"] == API
    assert got["csv"] == CSV
    pages = got["pages"]
    assert pages["calls_csv"] == CALLS_CSV
    listed = pages["list"]
    # One "FCR unknown" badge per anonymous call, and the rates say what they are over.
    assert listed.count(">FCR unknown<") == len(ANONYMOUS) == 6
    assert '<dd>63.6 %<span class="sub">of 11 calls from identified callers</span></dd>' in listed
    assert '<dd>27.3 %<span class="sub">of 11 calls from identified callers</span></dd>' in listed
    assert (
        "are of the 11 of 16 handled calls whose caller is identified: 5 anonymous calls left out" in listed
    )
    assert pages["list_fcr_yes"].count(">FCR</span>") == 7
    assert ">FCR unknown<" not in pages["list_fcr_yes"]
    assert "FCR unknown (caller not identified)" in pages["detail_anonymous"]
    assert "its first-contact resolution and repeat contacts are unknown" in pages["detail_anonymous"]
    assert 'title="2 of 3 calls from identified callers">66.7' in pages["leaderboard"]
    assert "FCR (first-contact resolution) is over the calls of identified callers" in pages["leaderboard"]
    assert 'title="Over 5 calls from identified callers">60.0' in pages["teams"]
    assert "Repeat contacts: 3 of 11 calls from identified callers (27.3" in pages["transfers"]
    assert "5 anonymous calls left out" in pages["transfers"]
    assert 'unknown <span class="muted">(caller not identified)</span>' in pages["drivers"]
    assert 'Calls from identified callers</th><td class="num">3</td><td class="num">5</td>' in pages["agent"]


# --- PostgreSQL (the suite's database) --------------------------------------------------------------------


@pytest.fixture
def world(db, settings):
    settings.REPEAT_CONTACT_WINDOW_DAYS = WINDOW_DAYS
    return build_fcr_world()


def test_the_hand_counts_are_consistent():
    # The summary's counts and the rollup rows and the leaderboard are three tallies of one table.
    columns = list(zip(*ROLLUPS.values(), strict=True))
    assert [sum(column) for column in columns] == [
        SUMMARY["handled_calls"],
        SUMMARY["identified_calls"],
        SUMMARY["resolved"],
        SUMMARY["transferred"],
        SUMMARY["escalated"],
        SUMMARY["first_contact_resolved"],
        SUMMARY["repeat_contacts"],
    ]
    assert sum(row["identified_calls"] for row in LEADERBOARD.values()) == SUMMARY["identified_calls"]
    assert (
        sum(row["first_contact_resolved"] for row in LEADERBOARD.values())
        == SUMMARY["first_contact_resolved"]
    )
    assert sum(value is True for value in FCR.values()) == SUMMARY["first_contact_resolved"]


def test_every_figure_on_postgresql_matches_the_hand_counts(world):
    check_figures(figures(world, make_users(world)))


def test_per_call_fcr_of_an_anonymous_caller_is_unknown_even_resolved_and_untransferred(world):
    from calls.models import Call
    from calls.selectors import call_annotate_metrics

    k03 = call_annotate_metrics(Call.objects.filter(external_id="K03")).get()
    assert (k03.is_resolved, k03.transfer_count, k03.is_first_contact_resolution, k03.has_repeat_contact) == (
        True,
        0,
        None,
        None,
    )


def test_the_rollup_path_gives_the_live_figures_for_every_day_range(world):
    from datetime import date

    from calls.models import Call
    from calls.selectors import call_annotate_metrics, call_filter, call_summary, call_summary_for_list
    from tests.calls.helpers import list_filters

    admin = make_users(world)["admin"]
    for first, last in ((1, 2), (3, 4), (5, 9), (1, 30), (10, 20)):
        filters = list_filters(date_from=date(2026, 6, first), date_to=date(2026, 6, last))
        queryset = call_filter(call_annotate_metrics(Call.objects.all()), **filters)
        assert call_summary_for_list(admin, queryset, filters) == call_summary(queryset), (first, last)


def test_june_2_holds_only_anonymous_calls_so_its_fcr_is_unknown_on_the_list(world):
    from datetime import date

    from calls.models import Call
    from calls.selectors import call_annotate_metrics, call_filter, call_summary_for_list
    from tests.calls.helpers import list_filters

    admin = make_users(world)["admin"]
    filters = list_filters(date_from=date(2026, 6, 2), date_to=date(2026, 6, 2))
    queryset = call_filter(call_annotate_metrics(Call.objects.all()), **filters)
    summary = call_summary_for_list(admin, queryset, filters)
    # K03 and K04 (Ann's, anonymous): no identified call, so no FCR or repeat-contact rate at all.
    assert (summary["calls"], summary["identified_calls"], summary["anonymous_calls"]) == (2, 0, 2)
    assert (summary["first_contact_resolved_rate"], summary["repeat_contacts_rate"]) == (None, None)
    assert summary["resolved_rate"] == 1 / 2


@pytest.mark.django_db(transaction=True)
def test_migration_0007_rebuilds_rollups_written_the_old_way_on_postgresql(settings):
    settings.REPEAT_CONTACT_WINDOW_DAYS = WINDOW_DAYS
    migrate_calls(BEFORE_IDENTIFIED)
    try:
        world = build_fcr_world(refresh=False)
        write_rollups_before_identified(world["agents"])
    finally:
        migrate_calls()
    assert rollup_rows() == ROLLUPS


# --- SQLite (the embedded demo's database), in a subprocess ---------------------------------------------


@pytest.fixture(scope="module")
def sqlite_fcr_run(tmp_path_factory, sqlite_template) -> dict:
    # The script migrates calls back before 0007 and forward again on its copy of the template.
    return run_script_on_copy(
        sqlite_template,
        tmp_path_factory.mktemp("sqlite-fcr"),
        "tests/analytics/sqlite_fcr_run.py",
        env={"REPEAT_CONTACT_WINDOW_DAYS": str(WINDOW_DAYS)},
        timeout=300,
    )


@pytest.mark.django_db
def test_migration_0007_rebuilds_rollups_written_the_old_way_on_sqlite(sqlite_fcr_run):
    assert sqlite_fcr_run["vendor"] == "sqlite"
    assert sqlite_fcr_run["after_migration"] == ROLLUPS


@pytest.mark.django_db
def test_every_figure_on_sqlite_matches_the_hand_counts(sqlite_fcr_run):
    check_figures(sqlite_fcr_run["figures"])
