"""Read path of the evaluation export: the answers of the submitted evaluations a user may read, one row each.

Scoping is `scoring.selectors.evaluation_list_for_user` (the evaluation pages', the dispute pages' and
/api/evaluations/ rule), narrowed to submitted evaluations: admins every one; supervisors those of their teams'
agents; reviewers every review and self-review (never another reviewer's calibration, nor the ratings of a call
they still have to calibrate blind); agents their own reviews and self-reviews, never calibrations; everyone
what they wrote. Current revisions only (a revision made after a dispute replaces its original), as the lists.

One SQL query whatever the number of rows, read through a server-side cursor (`iterator`), so memory stays flat.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Case, Exists, F, OuterRef, QuerySet, Subquery, When
from django.db.models.functions import Coalesce

from calls.models import Agent, Transfer

from ..analytics.selectors import Period
from ..models import Answer, Dispute, Evaluation, Scorecard
from ..selectors import evaluation_filter, evaluation_list_for_user

# Rows fetched from the server-side cursor at a time: ~27 short columns, a few hundred kB per fetch.
EXPORT_CHUNK = 2000

ROW_FIELDS = (
    "evaluation_id",
    "evaluation__revision",
    "evaluation__kind",
    "evaluation__submitted_at",
    "evaluation__call__external_id",
    "evaluation__call__started_at",
    "evaluation__call__channel",
    "evaluation__agent__employee_code",
    "evaluation__agent__name",
    "evaluation__agent__team__name",
    "leg_department",
    "evaluation__author__username",
    "evaluation__author__first_name",
    "evaluation__author__last_name",
    "evaluation__scorecard__name",
    "evaluation__scorecard__version",
    "evaluation__score",
    "evaluation__is_auto_failed",
    "dispute_status",
    "criterion__section__title",
    "criterion__key",
    "criterion__question",
    "criterion__scale",
    "criterion__max_points",
    "criterion__weight",
    "criterion__is_critical",
    "value",
    "is_na",
    "comment",
)


@dataclass(frozen=True)
class ExportFilters:
    period: Period
    team: int | None = None
    agent: Agent | None = None
    scorecard: Scorecard | None = None
    kind: str | None = None


def _leg_department():
    """The department of the evaluated leg (`scoring.legs`): the call's for its handling agent, else the
    to_department of the first transfer that brought the call to the agent, else (an agent the record shows only
    transferring the call out) the from_department of their first transfer out. Empty when unknown."""
    transfers = Transfer.objects.filter(call_id=OuterRef("evaluation__call_id")).order_by("sequence")
    first_in = transfers.filter(to_agent_id=OuterRef("evaluation__agent_id"))
    first_out = transfers.filter(from_agent_id=OuterRef("evaluation__agent_id"))
    return Case(
        When(
            evaluation__agent_id=F("evaluation__call__agent_id"), then=F("evaluation__call__department__name")
        ),
        When(Exists(first_in), then=Subquery(first_in.values("to_department__name")[:1])),
        default=Subquery(first_out.values("from_department__name")[:1]),
    )


def _dispute_status():
    """The state of the dispute raised on the evaluation (an agent may raise one per review), or, on a revision
    a dispute produced, that dispute's ("adjusted"). Empty when neither."""
    raised = Dispute.objects.filter(evaluation_id=OuterRef("evaluation_id")).order_by("-created_at", "-id")
    produced = Dispute.objects.filter(revised_evaluation_id=OuterRef("evaluation_id"))
    return Coalesce(Subquery(raised.values("status")[:1]), Subquery(produced.values("status")[:1]))


def evaluation_export_queryset(user, filters: ExportFilters) -> QuerySet[Evaluation]:
    """The submitted evaluations of the export: the user's scope (module docstring), then the filters; the
    period is of submission, whole local days."""
    visible = evaluation_list_for_user(user).filter(status=Evaluation.Status.SUBMITTED)
    return evaluation_filter(
        visible,
        agent=filters.agent.pk if filters.agent else None,
        team=filters.team,
        date_from=filters.period.date_from,
        date_to=filters.period.date_to,
        scorecard=filters.scorecard.pk if filters.scorecard else None,
        kind=filters.kind or None,
    )


def evaluation_export_rows(user, filters: ExportFilters) -> QuerySet:
    """One tuple (ROW_FIELDS) per answer of the export's evaluations: by submission time, then evaluation, then
    the scorecard's order of sections and criteria."""
    evaluations = evaluation_export_queryset(user, filters).order_by().values("pk")
    return (
        Answer.objects.filter(evaluation_id__in=evaluations)
        .annotate(leg_department=_leg_department(), dispute_status=_dispute_status())
        .order_by(
            "evaluation__submitted_at",
            "evaluation_id",
            "criterion__section__position",
            "criterion__section_id",
            "criterion__position",
            "criterion_id",
        )
        .values_list(*ROW_FIELDS)
    )
