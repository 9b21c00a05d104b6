"""Small builders for analytics tests: scorecards, evaluations, responses written straight to the tables
(the analytics code reads tables; the scoring services are tested by their own suites)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from django.contrib.auth.models import User
from django.utils import timezone

from scoring.models import Answer, Criterion, Evaluation, Scorecard, Section, SectionScore
from scoring.surveys.models import ResponseCredit, SurveyResponse, category_for_score


def at(day: int, hour: int = 12) -> datetime:
    """A fixed moment in June 2026 (UTC, the test TIME_ZONE)."""
    return datetime(2026, 6, day, hour, 0, tzinfo=UTC)


def make_scorecard() -> dict:
    scorecard = Scorecard.objects.create(family="test-qa", version=1, name="Test QA", status="draft")
    greeting = Section.objects.create(scorecard=scorecard, title="Greeting", position=1)
    resolution = Section.objects.create(scorecard=scorecard, title="Resolution", position=2)
    criteria = {
        "greet": Criterion.objects.create(
            scorecard=scorecard, section=greeting, key="greet", question="Greets", position=1
        ),
        "close": Criterion.objects.create(
            scorecard=scorecard, section=greeting, key="close", question="Closes", position=2, allows_na=True
        ),
        "solve": Criterion.objects.create(
            scorecard=scorecard,
            section=resolution,
            key="solve",
            question="Solves",
            scale="points",
            max_points=2,
            position=3,
        ),
    }
    return {
        "scorecard": scorecard,
        "sections": {"Greeting": greeting, "Resolution": resolution},
        "criteria": criteria,
    }


_author = None


def author() -> User:
    user, _ = User.objects.get_or_create(username="qa-author")
    return user


def make_evaluation(
    card: dict,
    *,
    call,
    agent=None,
    score,
    answers=None,
    sections=None,
    kind="review",
    status="submitted",
    is_current=True,
    revision=1,
    supersedes=None,
) -> Evaluation:
    evaluation = Evaluation.objects.create(
        call=call,
        agent=agent or call.agent,
        scorecard=card["scorecard"],
        author=author(),
        kind=kind,
        status=status,
        score=None if score is None else Decimal(str(score)),
        submitted_at=timezone.now() if status == "submitted" else None,
        is_current=is_current,
        revision=revision,
        supersedes=supersedes,
    )
    for key, value in (answers or {}).items():
        Answer.objects.create(
            evaluation=evaluation, criterion=card["criteria"][key], value=value, is_na=value is None
        )
    for title, value in (sections or {}).items():
        SectionScore.objects.create(
            evaluation=evaluation, section=card["sections"][title], score=Decimal(str(value))
        )
    return evaluation


def make_response(*, call, score: int, primary=None, others=(), csat=None, ces=None) -> SurveyResponse:
    response = SurveyResponse.objects.create(
        call=call,
        customer=call.customer,
        score=score,
        category=category_for_score(score),
        csat=csat,
        ces=ces,
        source="inbound_api",
        received_at=call.ended_at + timedelta(hours=1),
    )
    ResponseCredit.objects.create(response=response, agent=primary or call.agent, leg=0, is_primary=True)
    for leg, agent in enumerate(others, start=1):
        ResponseCredit.objects.create(response=response, agent=agent, leg=leg, is_primary=False)
    return response


def expected_satisfaction(responses) -> dict:
    """CSAT / CES of raw survey responses, computed independently of the app (scipy): the share of 4–5 CSAT
    answers with binomtest's Wilson 95% interval, the mean CES answer with its Student-t 95% interval (clipped
    to the 1–7 scale, none under two answers). Keys as the leaderboard's and the teams page's rows."""
    from scipy.stats import binomtest, sem, t

    csat = [r.csat for r in responses if r.csat is not None]
    ces = [r.ces for r in responses if r.ces is not None]
    expected = {"csat_answers": len(csat), "csat": None, "csat_low": None, "csat_high": None}
    expected |= {"ces_answers": len(ces), "ces": None, "ces_low": None, "ces_high": None}
    if csat:
        satisfied = sum(a >= 4 for a in csat)
        wilson = binomtest(satisfied, len(csat)).proportion_ci(confidence_level=0.95, method="wilson")
        expected |= {
            "csat": 100 * satisfied / len(csat),
            "csat_low": 100 * wilson.low,
            "csat_high": 100 * wilson.high,
        }
    if ces:
        mean = sum(ces) / len(ces)
        expected["ces"] = mean
        if len(ces) >= 2:
            spread = sem(ces)
            # scipy refuses a zero scale: identical answers have a zero-width interval.
            low, high = t.interval(0.95, len(ces) - 1, loc=mean, scale=spread) if spread else (mean, mean)
            expected |= {"ces_low": max(1, low), "ces_high": min(7, high)}
    return expected
