"""The QA progress page's filters: the analytics period and team filter, this week by default."""

from __future__ import annotations

from ..analytics.forms import TeamPeriodFilterForm


class ProgressFilterForm(TeamPeriodFilterForm):
    """A period (this week, Monday to today in the site's time zone, unless told) and one of the user's teams."""

    default_period = "this_week"
