"""Calibration read path: the ratings of calls scored by two or more reviewers, and what they say about
agreement (see `scoring.calibration` for the decisions). Permission scoping lives here, so a view or the
API cannot forget it. A fixed number of queries whatever the data size: ratings (one query, units found
with an EXISTS in SQL), their answers (one), the criteria they answer (one), and a count only when the
newest MAX_CALLS calls are all that is shown.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, OuterRef, Q, QuerySet

from calls import roles
from calls.models import Team

from ..models import Answer, Criterion, Evaluation, Scorecard
from ..selectors import evaluation_filter, open_calibration_assignments
from . import agreement

RATING_KINDS = (Evaluation.Kind.REVIEW, Evaluation.Kind.CALIBRATION)
# Alpha, bias and the side-by-side table rest on the calls rated most recently, at most this many: the
# library's alpha holds a calls × values² array in memory, and a page of 500 calls is already long.
MAX_CALLS = 500


@dataclass(frozen=True)
class Reviewer:
    pk: int
    name: str


@dataclass
class CalibrationCall:
    call_id: int
    external_id: str
    started_at: dt.datetime
    agent_name: str
    scorecards: list[str]
    scores: list[Decimal | None]  # one cell per report reviewer, None where they did not rate or all N/A
    rating_count: int
    spread: Decimal | None  # highest − lowest score, None with fewer than two scores


@dataclass
class CriterionAgreement:
    criterion_id: int
    key: str
    question: str
    section: str
    scorecard: str
    alpha: agreement.Alpha
    disagreeing_calls: int  # pairable calls whose reviewers did not all give the same answer


@dataclass
class ReviewerBias:
    reviewer: Reviewer
    bias: agreement.Bias


@dataclass
class CalibrationReport:
    overall: agreement.Alpha
    criteria: list[CriterionAgreement]
    reviewers: list[ReviewerBias]
    calls: list[CalibrationCall]
    columns: list[Reviewer]  # the reviewers, as the calls table's columns
    calls_total: int  # calls with two or more reviewers in scope (can exceed MAX_CALLS)
    is_truncated: bool
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    scorecard: Scorecard | None = None
    scorecard_names: list[str] = field(default_factory=list)


def can_view_calibration(user) -> bool:
    """Reviewers, supervisors and admins (for the navigation); agents never."""
    return bool(
        user.is_authenticated and roles.roles_for(user) & {roles.REVIEWER, roles.SUPERVISOR, roles.ADMIN}
    )


def calibration_ratings_for_user(user) -> QuerySet[Evaluation]:
    """Ratings the user may compare: original submitted reviews and calibrations (see the package docs).

    Admins: all. Supervisors: those of their teams' agents. Reviewers: those of calls they rated
    themselves — calibration stays blind until one's own score is in. Others: PermissionDenied."""
    ratings = Evaluation.objects.filter(status=Evaluation.Status.SUBMITTED, revision=1, kind__in=RATING_KINDS)
    if not can_view_calibration(user):
        raise PermissionDenied("Calibration is for reviewers, supervisors and admins.")
    if roles.is_admin(user):
        return ratings
    visible = Q(pk__in=[])
    if roles.is_supervisor(user):
        # A subquery, never a join through the supervisors table (a join repeats rows per supervisor).
        visible |= Q(agent__team__in=Team.objects.filter(supervisors=user).values("pk"))
    if roles.is_reviewer(user):
        own = ratings.filter(author=user, call_id=OuterRef("call_id"), agent_id=OuterRef("agent_id"))
        # An earlier review of the call does not open it while a calibration of it is still to do.
        pending = open_calibration_assignments(user).filter(call_id=OuterRef("call_id"))
        visible |= Q(Exists(own)) & ~Q(Exists(pending))
    return ratings.filter(visible)


def calibration_scorecards() -> QuerySet[Scorecard]:
    """Scorecards the filter offers: every published or retired version (one query, no content)."""
    return Scorecard.objects.exclude(status=Scorecard.Status.DRAFT).order_by("family", "-version")


def _reviewer_name(row: dict) -> str:
    full = f"{row['author__first_name']} {row['author__last_name']}".strip()
    return full or row["author__username"]


def _whole_points(score: Decimal) -> float:
    # Alpha sees the score in whole points: at most 101 distinct values keep the library's
    # calls × values² array small; the rounding moves alpha far less than its sampling error does.
    return float(score.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def calibration_report(
    user,
    *,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    scorecard: Scorecard | None = None,
    bootstrap: bool = True,
) -> CalibrationReport:
    """Agreement and bias over the calls the user may see that two or more reviewers rated, with ratings
    submitted between the dates (inclusive, local) and, if given, on that scorecard version."""
    scoped = evaluation_filter(
        calibration_ratings_for_user(user),
        date_from=date_from,
        date_to=date_to,
        scorecard=scorecard.pk if scorecard else None,
    )
    # A unit (one agent on one call) counts when someone other than the rating's author rated it too.
    others = scoped.filter(call_id=OuterRef("call_id"), agent_id=OuterRef("agent_id")).exclude(
        author_id=OuterRef("author_id")
    )
    paired = scoped.filter(Exists(others))
    recent_calls = (
        paired.values("call_id")
        .annotate(last=Max("submitted_at"))
        .order_by("-last", "-call_id")
        .values("call_id")
    )
    rows = list(
        paired.filter(call_id__in=recent_calls[: MAX_CALLS + 1])
        .values(
            "pk",
            "call_id",
            "call__external_id",
            "call__started_at",
            "agent_id",
            "agent__name",
            "agent__employee_code",
            "author_id",
            "author__username",
            "author__first_name",
            "author__last_name",
            "scorecard_id",
            "scorecard__name",
            "scorecard__version",
            "kind",
            "score",
            "submitted_at",
        )
        .order_by("call_id", "agent_id", "author_id", "-submitted_at", "-pk")
    )
    call_ids = sorted({row["call_id"] for row in rows})
    is_truncated = len(call_ids) > MAX_CALLS
    if is_truncated:
        latest: dict[int, dt.datetime] = {}
        for row in rows:
            latest[row["call_id"]] = max(latest.get(row["call_id"], row["submitted_at"]), row["submitted_at"])
        kept = set(sorted(latest, key=lambda pk: (latest[pk], pk), reverse=True)[:MAX_CALLS])
        rows = [row for row in rows if row["call_id"] in kept]
        calls_total = paired.values("call_id").distinct().count()
    else:
        calls_total = len(call_ids)

    # One rating per reviewer and unit: their calibration if they made one (the exercise), else their
    # latest review.
    chosen: dict[tuple[int, int, int], dict] = {}
    for row in rows:
        key = (row["call_id"], row["agent_id"], row["author_id"])
        current = chosen.get(key)
        if current is None or (
            row["kind"] == Evaluation.Kind.CALIBRATION and current["kind"] != Evaluation.Kind.CALIBRATION
        ):
            chosen[key] = row
    ratings = list(chosen.values())

    reviewers = {row["author_id"]: Reviewer(row["author_id"], _reviewer_name(row)) for row in ratings}
    columns = sorted(reviewers.values(), key=lambda r: (r.name.lower(), r.pk))

    overall: dict[tuple[int, int], dict[int, float | None]] = defaultdict(dict)
    exact: dict[tuple[int, int], dict[int, float | None]] = defaultdict(dict)
    for row in ratings:
        unit = (row["call_id"], row["agent_id"])
        score = row["score"]
        overall[unit][row["author_id"]] = None if score is None else _whole_points(score)
        exact[unit][row["author_id"]] = None if score is None else float(score)

    criteria = _criterion_agreement(ratings)
    biases = [ReviewerBias(reviewers[b.rater], b) for b in agreement.rater_bias(exact)]
    biases.sort(key=lambda b: (-abs(b.bias.mean or 0), b.reviewer.name.lower()))
    scorecard_names = sorted({f"{r['scorecard__name']} v{r['scorecard__version']}" for r in ratings})
    return CalibrationReport(
        overall=agreement.interval_alpha(overall, bootstrap=bootstrap),
        criteria=criteria,
        reviewers=biases,
        calls=_calls(ratings, columns),
        columns=columns,
        calls_total=calls_total,
        is_truncated=is_truncated,
        date_from=date_from,
        date_to=date_to,
        scorecard=scorecard,
        scorecard_names=scorecard_names,
    )


def _criterion_agreement(ratings: list[dict]) -> list[CriterionAgreement]:
    """Alpha per criterion on earned / possible (N/A = missing), worst agreement first."""
    unit_of = {row["pk"]: ((row["call_id"], row["agent_id"]), row["author_id"]) for row in ratings}
    by_criterion: dict[int, dict[tuple[int, int], dict[int, float | None]]] = defaultdict(
        lambda: defaultdict(dict)
    )
    criterion_ids = set()
    answers = Answer.objects.filter(evaluation_id__in=list(unit_of)).values_list(
        "evaluation_id", "criterion_id", "value", "criterion__max_points"
    )
    for evaluation_id, criterion_id, value, max_points in answers:
        unit, author = unit_of[evaluation_id]
        by_criterion[criterion_id][unit][author] = None if value is None else value / max_points
        criterion_ids.add(criterion_id)
    criteria = Criterion.objects.filter(pk__in=criterion_ids).select_related("section", "scorecard")
    result = []
    for criterion in criteria:
        units = by_criterion[criterion.pk]
        paired = agreement.pairable(units)
        result.append(
            CriterionAgreement(
                criterion_id=criterion.pk,
                key=criterion.key,
                question=criterion.question,
                section=criterion.section.title,
                scorecard=str(criterion.scorecard),
                alpha=agreement.interval_alpha(units),
                disagreeing_calls=sum(1 for values in paired.values() if len(set(values.values())) > 1),
            )
        )
    undefined_last = {None: 0, agreement.NO_VARIATION: 1, agreement.NOT_ENOUGH_DATA: 2}
    result.sort(
        key=lambda c: (
            undefined_last.get(c.alpha.reason, 3),
            c.alpha.value if c.alpha.value is not None else 0.0,
            -c.disagreeing_calls,
            c.scorecard,
            c.key,
        )
    )
    return result


def _calls(ratings: list[dict], columns: list[Reviewer]) -> list[CalibrationCall]:
    """Each rated unit with its reviewers' scores side by side, widest spread first, then newest."""
    position = {reviewer.pk: i for i, reviewer in enumerate(columns)}
    units: dict[tuple[int, int], CalibrationCall] = {}
    latest: dict[tuple[int, int], dt.datetime] = {}
    for row in ratings:
        unit = (row["call_id"], row["agent_id"])
        call = units.get(unit)
        if call is None:
            call = units[unit] = CalibrationCall(
                call_id=row["call_id"],
                external_id=row["call__external_id"],
                started_at=row["call__started_at"],
                agent_name=row["agent__name"] or row["agent__employee_code"],
                scorecards=[],
                scores=[None] * len(columns),
                rating_count=0,
                spread=None,
            )
        call.scores[position[row["author_id"]]] = row["score"]
        call.rating_count += 1
        name = f"{row['scorecard__name']} v{row['scorecard__version']}"
        if name not in call.scorecards:
            call.scorecards.append(name)
        latest[unit] = max(latest.get(unit, row["submitted_at"]), row["submitted_at"])
    for call in units.values():
        scores = [s for s in call.scores if s is not None]
        call.spread = max(scores) - min(scores) if len(scores) >= 2 else None
    ordered = sorted(units, key=lambda u: latest[u], reverse=True)
    ordered.sort(key=lambda u: units[u].spread if units[u].spread is not None else Decimal(-1), reverse=True)
    return [units[u] for u in ordered]
