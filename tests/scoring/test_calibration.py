"""Calibration: Krippendorff's alpha and reviewer bias over calls scored by several reviewers."""

from __future__ import annotations

import datetime as dt
import math
import re
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient
from scipy import stats

from scoring import services
from scoring.calibration import agreement
from scoring.calibration.selectors import calibration_report
from scoring.models import Evaluation
from tests.factories import AgentFactory, CallFactory, UserFactory
from tests.scoring.factories import simple_scorecard, submitted_evaluation

pytestmark = pytest.mark.django_db

# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", section C: four observers, twelve
# units, missing values (None). Published: interval alpha = 0.849 (nominal 0.743), n = 40 pairable values.
KRIPPENDORFF_2011 = [
    [1, 2, 3, 3, 2, 1, 4, 1, 2, None, None, None],
    [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, None, 3],
    [None, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, None],
    [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, None],
]


# --- the math ----------------------------------------------------------------------------------------


def test_published_worked_example_gives_interval_alpha_0849():
    result = agreement.interval_alpha(agreement.ratings_from_matrix(KRIPPENDORFF_2011))

    assert round(result.value, 3) == 0.849
    assert (result.units, result.ratings, result.raters) == (11, 40, 4)  # unit 12 has one value only
    assert result.verdict == "reliable"


def test_tiny_case_matches_a_hand_computation():
    # Two raters, three units: (1, 2), (2, 3), (3, 4). Six pairable values 1 2 2 3 3 4.
    # D_o = (1/6)·Σ_units Σ_ordered pairs (a−b)²/(m−1) = (1/6)·6 = 1.
    # D_e = Σ_ordered pairs over all values (a−b)² / (n(n−1)) = 66 / 30 = 2.2.  alpha = 1 − 1/2.2 = 6/11.
    result = agreement.interval_alpha({1: {"A": 1, "B": 2}, 2: {"A": 2, "B": 3}, 3: {"A": 3, "B": 4}})

    assert result.value == pytest.approx(6 / 11, abs=1e-12)
    assert result.verdict == "unreliable"


def test_alpha_is_undefined_without_pairable_values_or_without_variation():
    alone = agreement.interval_alpha({1: {"A": 80}, 2: {"B": 70}, 3: {"A": None, "B": 60}})
    same = agreement.interval_alpha({1: {"A": 80, "B": 80}, 2: {"A": 80, "B": 80, "C": 80}, 3: {"A": 50}})

    assert (alone.value, alone.reason, alone.units, alone.ratings, alone.verdict) == (
        None,
        agreement.NOT_ENOUGH_DATA,
        0,
        0,
        None,
    )
    # The library refuses a single value (0/0); the report says why instead of a number.
    assert (same.value, same.reason, same.units, same.ratings) == (None, agreement.NO_VARIATION, 2, 5)


def test_verdict_follows_krippendorffs_guide():
    def verdict(value):
        return agreement.Alpha(value, 5, 10, 2).verdict

    assert [verdict(v) for v in (0.9, 0.8, 0.7999, 0.667, 0.6669, -0.2)] == [
        "reliable",
        "reliable",
        "tentative",
        "tentative",
        "unreliable",
        "unreliable",
    ]


def test_bootstrap_interval_holds_the_estimate_and_is_reproducible():
    ratings = agreement.ratings_from_matrix(KRIPPENDORFF_2011)

    first = agreement.interval_alpha(ratings, bootstrap=True)
    second = agreement.interval_alpha(ratings, bootstrap=True)

    assert first.low < first.value <= first.high <= 1
    assert (first.low, first.high) == (second.low, second.high)
    assert agreement.interval_alpha(ratings).low is None  # only when asked


@pytest.mark.parametrize("df", [1, 2, 3, 4, 7, 10, 29, 30, 120, 500])
def test_t_quantile_matches_scipy(df):
    assert agreement.t_quantile_975(df) == pytest.approx(stats.t.ppf(0.975, df), abs=1e-9)


# --- through real evaluations ------------------------------------------------------------------------


@pytest.fixture
def scorer_factory(db):
    """Reviewers who may evaluate any call (as calibration participants are)."""
    permission = Permission.objects.get(codename="evaluate_any_call")

    def make(username, **extra):
        user = UserFactory(username=username, roles=["reviewer"], **extra)
        user.user_permissions.add(permission)
        return user

    return make


def rating(call, author, score, *, kind="calibration", when=None, scorecard=None, **extra):
    """A submitted rating with a given score (answers are not needed for the overall figures)."""
    return Evaluation.objects.create(
        call=call,
        agent=call.agent,
        scorecard=scorecard,
        author=author,
        kind=kind,
        status=Evaluation.Status.SUBMITTED,
        score=None if score is None else Decimal(score),
        submitted_at=when or timezone.now() - dt.timedelta(hours=1),
        **extra,
    )


@pytest.fixture
def worked_example(scorecard, scorer_factory, team):
    """Krippendorff's table as calibration evaluations: scores = value × 20 (alpha is unchanged by a
    linear rescaling of interval data)."""
    reviewers = [scorer_factory(f"rater{i}", first_name=f"Rater {'ABCD'[i]}") for i in range(4)]
    agent = AgentFactory(team=team)
    calls = [CallFactory(agent=agent, external_id=f"KA-{unit + 1:02d}") for unit in range(12)]
    for reviewer, row in zip(reviewers, KRIPPENDORFF_2011, strict=True):
        for call, value in zip(calls, row, strict=True):
            if value is not None:
                rating(call, reviewer, value * 20, scorecard=scorecard)
    return reviewers, calls


def test_worked_example_through_evaluation_rows(worked_example, admin_user):
    report = calibration_report(admin_user)

    assert round(report.overall.value, 3) == 0.849
    assert (report.overall.units, report.overall.ratings, report.overall.raters) == (11, 40, 4)
    assert (
        report.calls_total == 11 and not report.is_truncated
    )  # KA-12 has one rating: not a calibration call
    assert [r.name for r in report.columns] == ["Rater A", "Rater B", "Rater C", "Rater D"]
    widest = report.calls[0]
    assert (widest.external_id, widest.scores, widest.spread) == (
        "KA-06",
        [Decimal("20.00"), Decimal("40.00"), Decimal("60.00"), Decimal("80.00")],
        Decimal("60.00"),
    )


def test_bias_is_the_mean_gap_to_the_other_reviewers(scorecard, scorer_factory, admin_user, team):
    a, b, c = (scorer_factory(name) for name in ("ann", "bob", "cat"))
    agent = AgentFactory(team=team)
    one, two, three = (CallFactory(agent=agent) for _ in range(3))
    for call, scores in ((one, (80, 70, 60)), (two, (90, 90, None)), (three, (70, None, 50))):
        for author, score in zip((a, b, c), scores, strict=True):
            if score is not None:
                rating(call, author, score, scorecard=scorecard)

    biases = {row.reviewer.name: row.bias for row in calibration_report(admin_user).reviewers}

    # ann: 80 − (70+60)/2 = 15, 90 − 90 = 0, 70 − 50 = 20 → mean 35/3, sd² = 325/3 over n = 3.
    ann = biases["ann"]
    half = stats.t.ppf(0.975, 2) * math.sqrt(325 / 3) / math.sqrt(3)
    assert ann.units == 3 and ann.mean == pytest.approx(35 / 3)
    assert (ann.low, ann.high) == (pytest.approx(35 / 3 - half), pytest.approx(35 / 3 + half))
    assert ann.mean_value == pytest.approx(80) and ann.direction == "none"
    # bob: 70 − (80+60)/2 = 0, 90 − 90 = 0 → no spread at all.
    assert (biases["bob"].mean, biases["bob"].low, biases["bob"].high) == (0, 0, 0)
    # cat: 60 − 75 = −15, 50 − 70 = −20 → mean −17.5, sd = √12.5, t(1).
    cat_half = stats.t.ppf(0.975, 1) * math.sqrt(12.5) / math.sqrt(2)
    assert biases["cat"].mean == pytest.approx(-17.5)
    assert biases["cat"].low == pytest.approx(-17.5 - cat_half)
    assert list(biases) == ["cat", "ann", "bob"]  # largest lean first


def test_criterion_alpha_uses_earned_over_possible_with_na_missing_worst_first(
    scorecard, scorer_factory, admin_user
):
    r1, r2 = scorer_factory("r1"), scorer_factory("r2")
    calls = [CallFactory(is_resolved=True) for _ in range(3)]
    answers = [  # (r1, r2) per call; b is 0–4 points, unres is N/A on resolved calls
        ({"a": 1, "b": 4, "crit": 1, "res": 1}, {"a": 1, "b": 2, "crit": 1, "res": 1}),
        ({"a": 0, "b": 3, "crit": 1, "res": 1}, {"a": 1, "b": 3, "crit": 1, "res": 1}),
        ({"a": 1, "b": "na", "crit": 1, "res": 1}, {"a": 1, "b": 1, "crit": 1, "res": 1}),
    ]
    for call, (first, second) in zip(calls, answers, strict=True):
        submitted_evaluation(call=call, author=r1, scorecard=scorecard, values=first, kind="calibration")
        submitted_evaluation(call=call, author=r2, scorecard=scorecard, values=second, kind="calibration")

    rows = calibration_report(admin_user).criteria

    assert [row.key for row in rows] == ["b", "a", "crit", "res", "unres"]
    b, a, crit, res, unres = rows
    # b: fractions (1, .5), (.75, .75); the third call's N/A leaves one value. D_o = .125, D_e = 1/12.
    assert b.alpha.value == pytest.approx(-0.5) and (b.alpha.units, b.alpha.ratings) == (2, 4)
    # a: (1, 1), (0, 1), (1, 1): D_o = D_e = 1/3.
    assert a.alpha.value == pytest.approx(0.0, abs=1e-12) and a.disagreeing_calls == 1
    assert crit.alpha.reason == res.alpha.reason == agreement.NO_VARIATION
    assert (unres.alpha.reason, unres.alpha.units) == (agreement.NOT_ENOUGH_DATA, 0)


def test_reviews_count_as_ratings_but_self_reviews_and_dispute_revisions_do_not(
    scorecard, scorer_factory, admin_user, owner_agent
):
    r1, r2 = scorer_factory("r1"), scorer_factory("r2")
    call = CallFactory(agent=owner_agent)
    rating(call, r1, 50, kind="review", scorecard=scorecard)
    rating(call, r1, 70, kind="calibration", scorecard=scorecard)  # r1's calibration wins over their review
    original = rating(call, r2, 60, kind="review", scorecard=scorecard, is_current=False)
    rating(call, r2, 100, kind="review", scorecard=scorecard, revision=2, supersedes=original)
    rating(call, owner_agent.user, 100, kind="self_review", scorecard=scorecard)

    report = calibration_report(admin_user)

    assert [(c.external_id, c.scores) for c in report.calls] == [
        (call.external_id, [Decimal("70.00"), Decimal("60.00")])
    ]
    assert report.overall.ratings == 2


def test_one_reviewer_per_call_is_not_enough_data_and_the_page_says_so(
    scorecard, scorer_factory, admin_user, client
):
    r1, r2 = scorer_factory("r1"), scorer_factory("r2")
    rating(CallFactory(), r1, 80, scorecard=scorecard)
    rating(CallFactory(), r2, 60, scorecard=scorecard)
    report = calibration_report(admin_user)
    assert (report.overall.value, report.overall.reason, report.calls, report.reviewers) == (
        None,
        agreement.NOT_ENOUGH_DATA,
        [],
        [],
    )

    client.force_login(admin_user)
    page = client.get(reverse("scoring:calibration")).content.decode()

    assert re.search(r'data-testid="overall-alpha">—<', page)
    assert "Not enough data:" in page and "0.000" not in page


def test_identical_scores_show_alpha_undefined_not_a_number(scorecard, scorer_factory, admin_user, client):
    r1, r2 = scorer_factory("r1"), scorer_factory("r2")
    for call in (CallFactory(), CallFactory()):
        rating(call, r1, 80, scorecard=scorecard)
        rating(call, r2, 80, scorecard=scorecard)

    client.force_login(admin_user)
    page = client.get(reverse("scoring:calibration")).content.decode()

    assert calibration_report(admin_user).overall.reason == agreement.NO_VARIATION
    assert re.search(r'data-testid="overall-alpha">—<', page) and "Alpha undefined" in page


def test_period_and_scorecard_filters_select_the_ratings(scorecard, scorer_factory, admin_user):
    other_scorecard = simple_scorecard("other")
    r1, r2 = scorer_factory("r1"), scorer_factory("r2")
    recent, old, elsewhere = CallFactory(), CallFactory(), CallFactory()
    long_ago = timezone.now() - dt.timedelta(days=200)
    for author, score in ((r1, 80), (r2, 70)):
        rating(recent, author, score, scorecard=scorecard)
        rating(old, author, score, scorecard=scorecard, when=long_ago)
        rating(elsewhere, author, score, scorecard=other_scorecard)
    today = timezone.localdate()

    def calls(**filters):
        report = calibration_report(admin_user, **filters)
        return {c.external_id for c in report.calls}

    assert calls() == {recent.external_id, old.external_id, elsewhere.external_id}
    assert calls(date_from=today - dt.timedelta(days=89), date_to=today) == {
        recent.external_id,
        elsewhere.external_id,
    }
    assert calls(date_from=today - dt.timedelta(days=89), date_to=today, scorecard=scorecard) == {
        recent.external_id
    }


# --- who sees what -----------------------------------------------------------------------------------


@pytest.fixture
def two_teams(scorecard, scorer_factory, owner_agent, outsider_agent):
    """Two calibration calls: one of the supervisor's team (owner), one of another team (outsider)."""
    r1, r2, r3 = scorer_factory("r1"), scorer_factory("r2"), scorer_factory("r3")
    ours, theirs = (
        CallFactory(agent=owner_agent, external_id="OURS"),
        CallFactory(agent=outsider_agent, external_id="THEIRS"),
    )
    for author, score in ((r1, 80), (r2, 60)):
        rating(ours, author, score, scorecard=scorecard)
    for author, score in ((r1, 90), (r3, 40)):
        rating(theirs, author, score, scorecard=scorecard)
    return r1, r2, r3


def test_supervisor_sees_only_their_teams_calls(two_teams, supervisor, admin_user):
    def seen(user):
        return {c.external_id for c in calibration_report(user).calls}

    assert seen(admin_user) == {"OURS", "THEIRS"}
    assert seen(supervisor) == {"OURS"}


def test_reviewer_sees_only_calls_they_rated_themselves(two_teams):
    r1, r2, r3 = two_teams
    bystander = UserFactory(username="bystander", roles=["reviewer"])

    def seen(user):
        return {c.external_id for c in calibration_report(user).calls}

    assert (seen(r1), seen(r2), seen(r3), seen(bystander)) == (
        {"OURS", "THEIRS"},
        {"OURS"},
        {"THEIRS"},
        set(),
    )


def test_reviewer_with_a_draft_still_sees_nothing_of_that_call(scorecard, scorer_factory):
    r1, r2 = scorer_factory("r1"), scorer_factory("r2")
    call = CallFactory(is_resolved=True)
    submitted_evaluation(
        call=call,
        author=r1,
        scorecard=scorecard,
        values={"a": 1, "b": 4, "crit": 1, "res": 1},
        kind="calibration",
    )
    services.evaluation_start(call=call, author=r2, kind="calibration", scorecard=scorecard)  # blind: a draft

    assert calibration_report(r2).calls == []


def test_agents_get_403_on_the_page_and_the_api(owner_agent, client):
    client.force_login(owner_agent.user)
    assert client.get(reverse("scoring:calibration")).status_code == 403

    api = APIClient()
    api.force_authenticate(owner_agent.user)
    assert api.get("/api/calibration/").status_code == 403


def test_the_navigation_links_the_page_for_reviewers_not_agents(reviewer, owner_agent, client):
    link = f'href="{reverse("scoring:calibration")}"'
    client.force_login(reviewer)
    assert link in client.get(reverse("scoring:queue")).content.decode()
    client.force_login(owner_agent.user)
    assert link not in client.get(reverse("scoring:me")).content.decode()


# --- the page and the API ----------------------------------------------------------------------------


def test_page_shows_the_figures(worked_example, admin_user, client):
    client.force_login(admin_user)

    response = client.get(reverse("scoring:calibration"))

    page = response.content.decode()
    assert response.status_code == 200
    assert re.search(r'data-testid="overall-alpha">0\.849<', page)
    assert re.search(r'data-testid="overall-calls">11<', page)
    assert re.search(r'data-testid="overall-ratings">40<', page)
    assert "Reliable" in page and "<strong>other</strong> reviewers" in page
    assert page.count('<tr data-call="KA-') == 11
    assert f'href="{reverse("calls:detail", args=[worked_example[1][5].pk])}"' in page


def test_htmx_filter_request_renders_only_the_results(worked_example, admin_user, client):
    client.force_login(admin_user)

    page = client.get(
        reverse("scoring:calibration"), {"period": "last_30"}, HTTP_HX_REQUEST="true"
    ).content.decode()

    assert "<html" not in page and 'data-testid="overall-alpha">0.849<' in page


def test_page_query_count_does_not_grow_with_the_data(
    worked_example, scorecard, admin_user, client, django_assert_max_num_queries
):
    client.force_login(admin_user)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("scoring:calibration")).status_code == 200

    _, calls = worked_example
    for call in calls:  # a new reviewer on every call: more ratings, reviewers and columns
        rating(call, UserFactory(roles=["reviewer"]), 50, scorecard=scorecard)
    with django_assert_max_num_queries(9):
        assert client.get(reverse("scoring:calibration")).status_code == 200


def test_api_returns_the_report(worked_example, admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)

    body = api.get("/api/calibration/", {"period": "last_90"}).json()

    assert round(body["overall"]["value"], 3) == 0.849
    assert body["overall"]["verdict"] == "reliable"
    assert (body["overall"]["calls"], body["overall"]["ratings"], body["overall"]["reviewers"]) == (11, 40, 4)
    assert len(body["calls"]) == 11 and len(body["reviewers"]) == 4
    first = body["calls"][0]
    assert first["external_id"] == "KA-06" and sorted(first["scores"].values()) == [
        "20.00",
        "40.00",
        "60.00",
        "80.00",
    ]


def test_api_refuses_a_bad_custom_range(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)

    response = api.get(
        "/api/calibration/", {"period": "custom", "date_from": "2026-05-02", "date_to": "2026-05-01"}
    )

    assert response.status_code == 400


def test_api_refuses_a_custom_range_ending_on_the_last_calendar_day_with_400_not_500(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)

    last_day = api.get(
        "/api/calibration/", {"period": "custom", "date_from": "9999-12-31", "date_to": "9999-12-31"}
    )
    day_before = api.get(
        "/api/calibration/", {"period": "custom", "date_from": "9999-12-30", "date_to": "9999-12-30"}
    )

    assert (last_day.status_code, last_day.json()) == (
        400,
        {"date_to": ["A custom range ends on 9999-12-30 or earlier."]},
    )
    assert day_before.status_code == 200
    assert (day_before.json()["date_to"], day_before.json()["calls_total"]) == ("9999-12-30", 0)


def test_schema_types_the_calibration_dates_as_dates(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)

    parameters = api.get("/api/schema/", {"format": "json"}).json()["paths"]["/api/calibration/"]["get"][
        "parameters"
    ]

    assert {
        p["name"]: p["schema"] for p in parameters if p["name"] in {"date_from", "date_to", "scorecard"}
    } == {
        "date_from": {"type": "string", "format": "date"},
        "date_to": {"type": "string", "format": "date"},
        "scorecard": {"type": "integer"},
    }


def test_schema_documents_the_calibration_endpoint(admin_user):
    api = APIClient()
    api.force_authenticate(admin_user)

    schema = api.get("/api/schema/", {"format": "json"}).json()

    assert "/api/calibration/" in schema["paths"]
