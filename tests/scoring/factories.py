"""Factories and builders for scoring tests. Scorecards are built through the services (as a QA lead
would), so a test scorecard obeys the same rules as a real one."""

from __future__ import annotations

from decimal import Decimal

import factory

from scoring import services
from scoring.models import Assignment, Evaluation, Scorecard
from tests.factories import CallFactory, UserFactory


class AssignmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Assignment

    call = factory.SubFactory(CallFactory)
    reviewer = factory.SubFactory(UserFactory, roles=["reviewer"])
    # The leg's agent: the handling agent unless a test names another leg (as assignment_create does).
    agent = factory.LazyAttribute(lambda o: o.call.agent)
    purpose = Assignment.Purpose.MANUAL
    status = Assignment.Status.OPEN


# A compact scorecard whose numbers are easy to check by hand:
#   Basics: a (yes/no, w1), b (0–4 points, w3, N/A allowed)
#   Closing: crit (yes/no, w2, critical), res (yes/no, w1, resolved calls only),
#            unres (yes/no, w1, unresolved calls only)
SIMPLE_DEFINITION = {
    "family": "simple",
    "name": "Simple",
    "channels": [],
    "sections": [
        {
            "title": "Basics",
            "criteria": [
                {"key": "a", "question": "A?", "weight": "1"},
                {
                    "key": "b",
                    "question": "B?",
                    "weight": "3",
                    "scale": "points",
                    "max_points": 4,
                    "allows_na": True,
                },
            ],
        },
        {
            "title": "Closing",
            "criteria": [
                {"key": "crit", "question": "Critical?", "weight": "2", "is_critical": True},
                {"key": "res", "question": "Resolved only?", "weight": "1", "applicability": "resolved"},
                {
                    "key": "unres",
                    "question": "Unresolved only?",
                    "weight": "1",
                    "applicability": "unresolved",
                },
            ],
        },
    ],
}


def simple_scorecard(family: str = "simple", publish: bool = True) -> Scorecard:
    definition = {**SIMPLE_DEFINITION, "family": family, "name": family.title()}
    return services.scorecard_create_from_definition(definition=definition, user=None, publish=publish)


def department_scorecard(family: str, departments) -> Scorecard:
    """A published one-criterion scorecard limited to `departments`."""
    definition = {
        "family": family,
        "name": family.title(),
        "channels": [],
        "sections": [{"title": "S", "criteria": [{"key": "k", "question": "K?", "weight": "1"}]}],
    }
    draft = services.scorecard_create_from_definition(definition=definition, user=None, publish=False)
    services.scorecard_update_draft(scorecard=draft, user=None, departments=departments)
    return services.scorecard_publish(scorecard=draft, user=None)


def criteria_by_key(scorecard: Scorecard) -> dict:
    return {c.key: c for c in scorecard.criteria.all()}


def fill_evaluation(evaluation: Evaluation, author, values: dict) -> None:
    """values: key -> int points, or "na"."""
    criteria = criteria_by_key(evaluation.scorecard)
    for key, value in values.items():
        if value == "na":
            services.evaluation_answer(
                evaluation=evaluation, author=author, criterion=criteria[key], is_na=True
            )
        else:
            services.evaluation_answer(
                evaluation=evaluation, author=author, criterion=criteria[key], value=value
            )


def submitted_evaluation(*, call, author, scorecard, values: dict, agent=None, kind="review") -> Evaluation:
    """A submitted evaluation built through the services (author needs an assignment or the permission)."""
    if kind == "self_review":
        evaluation = services.self_evaluation_start(call=call, user=author, scorecard=scorecard)
    else:
        evaluation = services.evaluation_start(
            call=call, author=author, agent=agent, kind=kind, scorecard=scorecard
        )
    fill_evaluation(evaluation, author, values)
    return services.evaluation_submit(evaluation=evaluation, author=author)


def expected_score(items) -> Decimal:
    """Independent check: items are (weight, earned, possible) with earned None for N/A; floats, then round."""
    answered = [(w, e, p) for w, e, p in items if e is not None]
    total = sum(w for w, _, _ in answered)
    value = 100 * sum(w * e / p for w, e, p in answered) / total
    return Decimal(str(round(value + 1e-9, 2))).quantize(Decimal("0.01"))


def answer(
    client, call, criterion, value="", *, comment="", quote="", offset="", agent=None, self_mode=False
):
    """Post one criterion's answer the way the workspace's autosave does (an htmx request), to the review or,
    with self_mode, the self-review endpoint; `agent` names the leg on a transferred call."""
    from django.urls import reverse

    prefix = f"c{criterion.pk}"
    data = {
        "criterion": criterion.pk,
        f"{prefix}-value": value,
        f"{prefix}-comment": comment,
        f"{prefix}-quote": quote,
        f"{prefix}-offset_seconds": offset,
    }
    if agent is not None:
        data["agent"] = agent.pk
    name = "scoring:self_review_answer" if self_mode else "scoring:workspace_answer"
    return client.post(reverse(name, args=[call.pk]), data, headers={"HX-Request": "true"})
