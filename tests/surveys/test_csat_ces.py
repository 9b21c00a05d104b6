"""The optional CSAT (1–5) and CES (1–7) questions: stored with the NPS answer, checked by the database,
summarised with intervals that an independent computation (scipy) reproduces."""

import math
import random

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient
from scipy import stats

from scoring.surveys import selectors, services
from scoring.surveys.metrics import csat_interval, mean_interval
from scoring.surveys.models import SurveyResponse
from tests.factories import CallFactory
from tests.surveys.factories import invitation_with_token

pytestmark = pytest.mark.django_db
URL = "/api/surveys/responses"


# --- the math, against scipy --------------------------------------------------------------------------------


@pytest.mark.parametrize(("satisfied", "n"), [(8, 10), (0, 7), (7, 7), (1, 1), (163, 200), (29, 31)])
def test_csat_is_the_share_of_4_and_5_with_the_wilson_interval(satisfied, n):
    result = csat_interval(satisfied, n)
    expected = stats.binomtest(satisfied, n).proportion_ci(confidence_level=0.95, method="wilson")
    assert result.n == n
    assert result.percent == pytest.approx(100 * satisfied / n, abs=1e-12)
    assert result.low == pytest.approx(100 * expected.low, abs=1e-9)
    assert result.high == pytest.approx(100 * expected.high, abs=1e-9)
    assert result.is_small_sample == (n < 30)


def test_csat_of_no_answers_is_unknown_and_impossible_counts_are_refused():
    assert csat_interval(0, 0).percent is None and csat_interval(0, 0).low is None
    with pytest.raises(ValueError):
        csat_interval(3, 2)
    with pytest.raises(ValueError):
        csat_interval(-1, 2)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_ces_mean_and_t_interval_from_sql_sums_match_scipy_on_the_raw_answers(seed):
    rng = random.Random(seed)
    answers = [rng.randint(1, 7) for _ in range(rng.randint(2, 60))]
    n = len(answers)
    result = mean_interval(sum(answers), sum(a * a for a in answers), n, lowest=1, highest=7)
    mean = sum(answers) / n
    low, high = stats.t.interval(0.95, n - 1, loc=mean, scale=stats.sem(answers))
    assert result.mean == pytest.approx(mean, abs=1e-12)
    assert result.low == pytest.approx(max(1, low), abs=1e-9)
    assert result.high == pytest.approx(min(7, high), abs=1e-9)


def test_ces_interval_needs_two_answers_and_stays_on_the_scale():
    one = mean_interval(6, 36, 1, lowest=1, highest=7)
    assert (one.mean, one.low, one.high) == (6.0, None, None)
    # Two answers 7 and 6: t(0.975, 1) = 12.706 gives 6.5 ± 6.35, clipped to the 1–7 scale.
    two = mean_interval(13, 85, 2, lowest=1, highest=7)
    assert two.mean == 6.5
    assert 6.5 - 12.706204736174698 * 0.5 < 1
    assert (two.low, two.high) == (1, 7)
    three = mean_interval(18, 110, 3, lowest=1, highest=7)  # 5, 6, 7: 6 ± t(0.975, 2) × 1 / √3
    half = 4.302652729911275 / math.sqrt(3)
    assert (three.low, three.high) == (pytest.approx(6 - half, abs=1e-9), 7)
    same = mean_interval(20, 100, 4, lowest=1, highest=7)  # all four answered 5: no spread
    assert (same.mean, same.low, same.high) == (5.0, 5.0, 5.0)
    assert mean_interval(0, 0, 0, lowest=1, highest=7).mean is None


# --- storage ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("field", "value"), [("csat", 0), ("csat", 6), ("ces", 0), ("ces", 8)])
def test_the_database_refuses_answers_off_the_scale(field, value):
    call = CallFactory()
    with pytest.raises(IntegrityError), transaction.atomic():
        SurveyResponse.objects.create(
            call=call, score=9, category="promoter", source="survey_link", **{field: value}
        )


@pytest.mark.parametrize(("csat", "ces"), [(6, None), (None, 0), (True, None), ("4", None)])
def test_the_service_refuses_a_bad_companion_answer_and_writes_nothing(csat, ces):
    call = CallFactory()
    with pytest.raises(ValueError, match="csat" if csat is not None else "ces"):
        services.response_record(call=call, score=3, source="inbound_api", csat=csat, ces=ces)
    assert SurveyResponse.objects.count() == 0


# --- the survey page --------------------------------------------------------------------------------------


def test_the_page_asks_both_optional_questions_and_stores_the_answers(client):
    invitation, raw = invitation_with_token()
    html = client.get(f"/s/{raw}/").content.decode()
    assert "<legend>How satisfied were you with the service you received? (optional)</legend>" in html
    assert "<legend>The company made it easy for me to handle my issue. (optional)</legend>" in html
    assert html.count('type="radio" name="csat"') == 5 and html.count('type="radio" name="ces"') == 7
    assert "1 = Very dissatisfied" in html and "7 = Strongly agree" in html

    response = client.post(f"/s/{raw}/", {"score": "6", "csat": "2", "ces": "3"})

    assert response.status_code == 302
    saved = SurveyResponse.objects.get()
    assert (saved.invitation_id, saved.score, saved.csat, saved.ces) == (invitation.pk, 6, 2, 3)


def test_the_nps_answer_alone_still_goes_through(client):
    _invitation, raw = invitation_with_token()
    assert client.post(f"/s/{raw}/", {"score": "10"}).status_code == 302
    assert list(SurveyResponse.objects.values_list("score", "csat", "ces")) == [(10, None, None)]


@pytest.mark.parametrize(("field", "value"), [("csat", "6"), ("csat", "0"), ("ces", "8"), ("ces", "x")])
def test_an_off_scale_answer_on_the_page_is_named_and_nothing_is_saved(client, field, value):
    _invitation, raw = invitation_with_token()
    response = client.post(f"/s/{raw}/", {"score": "8", field: value})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'<p class="errors" id="{field}-error" role="alert">Select a valid choice.' in html
    assert SurveyResponse.objects.count() == 0


# --- the inbound API --------------------------------------------------------------------------------------


@pytest.fixture
def api(admin_user):
    client = APIClient()
    client.force_authenticate(admin_user)
    return client


def test_the_api_takes_and_returns_the_companion_answers(api):
    CallFactory(external_id="C-CSAT-1")
    response = api.post(URL, {"call_external_id": "C-CSAT-1", "score": 4, "csat": 1, "ces": 7}, format="json")
    assert response.status_code == 201
    assert (response.json()["csat"], response.json()["ces"]) == (1, 7)
    assert list(SurveyResponse.objects.values_list("score", "csat", "ces")) == [(4, 1, 7)]
    # A redelivery with the same answers is the same response; different companion answers are a conflict.
    again = api.post(URL, {"call_external_id": "C-CSAT-1", "score": 4, "csat": 1, "ces": 7}, format="json")
    assert again.status_code == 200
    other = api.post(URL, {"call_external_id": "C-CSAT-1", "score": 4, "csat": 2, "ces": 7}, format="json")
    assert other.status_code == 409
    assert SurveyResponse.objects.count() == 1


@pytest.mark.parametrize(("field", "value"), [("csat", 6), ("csat", 0), ("ces", 8), ("ces", "easy")])
def test_the_api_names_an_off_scale_answer(api, field, value):
    CallFactory(external_id="C-CSAT-2")
    response = api.post(URL, {"call_external_id": "C-CSAT-2", "score": 9, field: value}, format="json")
    assert response.status_code == 400
    assert list(response.json()) == [field]
    assert SurveyResponse.objects.count() == 0


# --- the summary on the responses screen ----------------------------------------------------------------


def test_summary_figures_match_an_independent_computation_in_one_query(admin_user, client):
    rng = random.Random(7)
    rows = []
    for number in range(45):
        csat = rng.choice([None, 1, 2, 3, 4, 5])
        ces = rng.choice([None, 1, 2, 3, 4, 5, 6, 7])
        score = rng.randint(0, 10)
        services.response_record(
            call=CallFactory(external_id=f"C-SUM-{number}"),
            score=score,
            source="inbound_api",
            csat=csat,
            ces=ces,
        )
        rows.append((csat, ces))
    csat_answers = [c for c, _ in rows if c is not None]
    ces_answers = [e for _, e in rows if e is not None]

    with CaptureQueriesContext(connection) as queries:
        summary = selectors.nps_summary(SurveyResponse.objects.all())
    assert len(queries) == 1

    satisfied = sum(1 for c in csat_answers if c >= 4)
    wilson = stats.binomtest(satisfied, len(csat_answers)).proportion_ci(method="wilson")
    assert summary["csat"].n == len(csat_answers)
    assert summary["csat"].percent == pytest.approx(100 * satisfied / len(csat_answers))
    assert (summary["csat"].low, summary["csat"].high) == (
        pytest.approx(100 * wilson.low),
        pytest.approx(100 * wilson.high),
    )
    mean = sum(ces_answers) / len(ces_answers)
    low, high = stats.t.interval(0.95, len(ces_answers) - 1, loc=mean, scale=stats.sem(ces_answers))
    assert summary["ces"].n == len(ces_answers)
    assert summary["ces"].mean == pytest.approx(mean)
    assert (summary["ces"].low, summary["ces"].high) == (
        pytest.approx(max(1, low)),
        pytest.approx(min(7, high)),
    )

    client.force_login(admin_user)
    html = client.get("/surveys/responses/").content.decode()
    assert f"<dd>{100 * satisfied / len(csat_answers):.1f}%</dd>" in html
    assert f"<dd>{100 * wilson.low:.1f} to {100 * wilson.high:.1f}</dd>" in html
    assert f"<dd>{mean:.2f} / 7</dd>" in html
    assert f"<dd>{max(1, low):.2f} to {min(7, high):.2f}</dd>" in html
    assert f"<div><dt>CSAT answers</dt><dd>{len(csat_answers)}</dd></div>" in html
    assert f"<div><dt>CES answers</dt><dd>{len(ces_answers)}</dd></div>" in html


def test_summary_without_companion_answers_shows_dashes(admin_user, client):
    services.response_record(call=CallFactory(), score=9, source="inbound_api")
    summary = selectors.nps_summary(SurveyResponse.objects.all())
    assert (summary["csat"].n, summary["csat"].percent, summary["ces"].n, summary["ces"].mean) == (
        0,
        None,
        0,
        None,
    )
    client.force_login(admin_user)
    html = client.get("/surveys/responses/").content.decode()
    assert "<div><dt>CSAT answers</dt><dd>0</dd></div>" in html
    assert "<div><dt>CES answers</dt><dd>0</dd></div>" in html
    strip = html[html.index('aria-label="CSAT and effort summary"') :]
    strip = strip[: strip.index("</dl>")]
    # The figures and their intervals are dashes, not 0% or 0.00.
    assert strip.count("<dd>—</dd>") == 4
    assert summary["interval"].nps == 100.0  # the NPS beside them is still computed
