"""The period/team filters of the analytics pages, calibration and follow-up insights: a refused filter falls
back on its own, the control shows what the figures are for, and the page says so in words."""

import html
import re
from datetime import date, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring.analytics.forms import AnalyticsFilterForm
from scoring.analytics.selectors import Period
from scoring.calibration.forms import CalibrationFilterForm
from scoring.models import Scorecard
from tests.analytics.helpers import make_scorecard

JUNE = {"period": "custom", "date_from": "2026-06-01", "date_to": "2026-06-30"}


def selected(html: str, name: str) -> list[str]:
    """The values of the options a <select name=…> renders as selected."""
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, name
    return re.findall(r'<option value="([^"]*)"[^>]*\bselected\b', select.group(1))


def fallback_notes(page: str) -> list[str]:
    return [html.unescape(note) for note in re.findall(r'<p data-testid="filter-fallback">(.*?)</p>', page)]


AP_MONTHS = ["Jan.", "Feb.", "March", "April", "May", "June", "July", "Aug.", "Sept.", "Oct.", "Nov.", "Dec."]


def ap_style(day: date) -> str:
    """A date as the pages print it (Django's default DATE_FORMAT "N j, Y": AP-style month abbreviations)."""
    return f"{AP_MONTHS[day.month - 1]} {day.day}, {day.year}"


def last_days(days: int) -> Period:
    today = timezone.localdate()
    return Period(f"last_{days}", today - timedelta(days=days - 1), today)


def test_a_refused_team_leaves_the_period_asked_for_applied(client, supervisor, team, other_team):
    client.force_login(supervisor)

    page = client.get(reverse("analytics:leaderboard"), {**JUNE, "team": other_team.pk})

    assert page.status_code == 200
    assert page.context["board"]["period"] == Period("custom", date(2026, 6, 1), date(2026, 6, 30))
    assert page.context["form"].team_ids() == [team.pk]
    assert selected(page.text, "team") == [""]
    assert selected(page.text, "period") == ["custom"]
    assert fallback_notes(page.text) == ["Team: showing “All my teams” instead."]


def test_an_unknown_period_shows_the_default_period_in_the_select_and_in_words(client, supervisor, team):
    client.force_login(supervisor)
    shown = last_days(30)

    page = client.get(reverse("analytics:leaderboard"), {"period": "fortnight", "team": team.pk})

    assert page.context["board"]["period"] == shown
    assert page.context["form"].team_ids() == [team.pk]
    # The select had no option for "fortnight" and showed its first one, "This week", over 30 days' figures.
    assert selected(page.text, "period") == ["last_30"]
    assert selected(page.text, "team") == [str(team.pk)]
    assert fallback_notes(page.text) == [
        f"Period: showing last 30 days ({ap_style(shown.date_from)} – {ap_style(shown.date_to)}) instead."
    ]


def test_a_refused_range_keeps_the_dates_typed_and_says_what_is_shown_meanwhile(client, supervisor):
    client.force_login(supervisor)
    shown = last_days(30)

    page = client.get(
        reverse("analytics:drivers"), {"period": "custom", "date_from": "2026-06-30", "date_to": "2026-06-01"}
    )

    assert page.context["period"] == shown
    assert selected(page.text, "period") == ["custom"]
    assert 'name="date_from" value="2026-06-30"' in page.text
    assert 'name="date_to" value="2026-06-01"' in page.text
    assert "The range starts after it ends." in page.text
    assert fallback_notes(page.text) == [
        f"Period: showing last 30 days ({ap_style(shown.date_from)} – {ap_style(shown.date_to)}) instead."
    ]


def test_valid_filters_show_no_fallback(client, supervisor, team):
    client.force_login(supervisor)
    page = client.get(reverse("analytics:teams"), {**JUNE, "team": team.pk})
    assert page.context["form"].errors == {}
    assert fallback_notes(page.text) == []
    assert "Please correct" not in page.text


def test_the_agent_page_defaults_to_90_days_whatever_else_the_link_carries(
    client, supervisor, owner_agent, team
):
    client.force_login(supervisor)
    url = reverse("analytics:agent", args=[owner_agent.pk])
    shown = last_days(90)

    bare = client.get(url)
    team_only = client.get(url, {"team": team.pk})
    unknown = client.get(url, {"period": "fortnight"})

    assert [p.context["period"] for p in (bare, team_only, unknown)] == [shown, shown, shown]
    assert selected(unknown.text, "period") == ["last_90"]
    assert fallback_notes(unknown.text) == [
        f"Period: showing last 90 days ({ap_style(shown.date_from)} – {ap_style(shown.date_to)}) instead."
    ]
    refused_team = client.get(url, {**JUNE, "team": 10**6})
    assert refused_team.context["period"] == Period("custom", date(2026, 6, 1), date(2026, 6, 30))
    assert fallback_notes(refused_team.text) == ["Team: showing “The agent's team” instead."]


def test_calibration_keeps_the_period_when_the_scorecard_is_refused(client, supervisor):
    make_scorecard()
    client.force_login(supervisor)

    page = client.get(reverse("scoring:calibration"), {**JUNE, "scorecard": "nope"})
    # htmx swaps only #results: the errors must be in it, or an htmx change shows none (and never clears them).
    swap = client.get(
        reverse("scoring:calibration"), {**JUNE, "scorecard": "nope"}, headers={"HX-Request": "true"}
    )

    assert page.status_code == 200
    assert page.context["period"] == Period("custom", date(2026, 6, 1), date(2026, 6, 30))
    assert selected(page.text, "scorecard") == [""]
    assert fallback_notes(page.text) == ["Scorecard: showing “All scorecards” instead."]
    assert "Select a valid choice." in swap.text
    assert fallback_notes(swap.text) == ["Scorecard: showing “All scorecards” instead."]


def test_follow_up_insights_keep_the_period_when_the_team_is_refused(client, supervisor, other_team):
    client.force_login(supervisor)
    page = client.get(reverse("followups:insights"), {**JUNE, "team": other_team.pk})
    assert page.context["insights"]["period"] == Period("custom", date(2026, 6, 1), date(2026, 6, 30))
    assert fallback_notes(page.text) == ["Team: showing “All my teams” instead."]


@pytest.mark.parametrize(
    ("data", "sort"),
    [
        ({"sort": "nps", "dir": "sideways"}, ("nps", False)),
        ({"sort": "shoe_size", "dir": "desc"}, ("rank", True)),
    ],
)
def test_a_refused_sort_key_or_direction_falls_back_alone(team, data, sort):
    form = AnalyticsFilterForm({**JUNE, **data}, teams=[team])
    assert not form.is_valid()
    assert form.sort_order() == sort
    assert form.resolved_period() == Period("custom", date(2026, 6, 1), date(2026, 6, 30))
    assert form.fallback_notes() == []  # the sort has no control to name (column header links)


def test_an_unbound_form_is_the_defaults_without_notes(team, db):
    form = AnalyticsFilterForm(None, teams=[team])
    assert (form.resolved_period(), form.team_ids(), form.sort_order()) == (
        last_days(30),
        [team.pk],
        ("rank", False),
    )
    assert form.fallback_notes() == []
    calibration = CalibrationFilterForm(None, scorecards=Scorecard.objects.none())
    assert calibration.resolved_period() == last_days(90)


@pytest.mark.parametrize(
    ("dates", "errors"),
    [
        (
            {"date_from": "2026-06-30", "date_to": "2026-06-01"},
            {"date_from": ["The range starts after it ends."]},
        ),
        (
            {},
            {
                "date_from": ["A custom range needs both dates."],
                "date_to": ["A custom range needs both dates."],
            },
        ),
        ({"date_from": "2026-06-01"}, {"date_to": ["A custom range needs both dates."]}),
        ({"date_from": "2026-06-31", "date_to": "2026-07-01"}, {"date_from": ["Enter a valid date."]}),
        (
            {"date_from": "2025-01-01", "date_to": "2026-06-30"},
            {"date_to": ["A custom range is at most 366 days."]},
        ),
    ],
)
def test_a_refused_range_is_the_error_of_the_date_it_is_about(client, supervisor, dates, errors):
    """Tied to its control: the date input is marked invalid and described by its message (it was a form-wide
    error, "__all__" in the API and the CSV, tied to nothing)."""
    client.force_login(supervisor)

    page = client.get(reverse("analytics:leaderboard"), {"period": "custom", **dates})

    assert page.context["form"].errors == errors
    for name, (message,) in errors.items():
        control = re.search(rf'<input type="date" name="{name}"[^>]*>', page.text).group(0)
        assert 'aria-invalid="true"' in control
        assert f'aria-describedby="id_{name}_error"' in control
        assert re.search(rf'<li id="id_{name}_error">[^<]*: {re.escape(message)}</li>', page.text)
    assert fallback_notes(page.text)[0].startswith("Period: showing last 30 days (")
