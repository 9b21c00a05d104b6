"""Read paths for QA scoring, with permission scoping. Views and the API must fetch through these.

Who sees which evaluations (`evaluation_list_for_user`):
- admins: everything, drafts included;
- everyone: what they authored (their drafts are visible to nobody else but admins);
- agents: submitted reviews and self-reviews *of themselves* (evaluated agent = their Agent row);
  never calibration evaluations (a reviewers' exercise) and never someone else's drafts;
- reviewers: every submitted review and self-review (consistency and coaching need the whole
  picture; they see every call anyway), but other reviewers' calibration evaluations stay hidden, so
  calibration is blind;
- supervisors: every submitted evaluation (any kind) of their teams' agents.
Superseded revisions (replaced after a dispute) are left out of lists unless asked for; a direct
`evaluation_get_for_user` still finds them (history links).

Who may review or calibrate a leg (call, agent) of a call (`LegEvaluateScope`, `leg_evaluable_by_user`):
- admins, and QA-wide reviewers (reviewers with `scoring.evaluate_any_call`): every leg;
- supervisors with `scoring.evaluate_any_call`: the legs of their teams' agents;
- anyone with an open assignment of a leg: that leg (the assignment's agent), not the call's other legs;
- nobody their own leg (that is a self-review: an agent on any leg of their own calls).
A call is evaluable (`call_evaluable_by_user`, the call page's Review button) when one of its legs is.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Count, Exists, F, OuterRef, Prefetch, Q, QuerySet
from django.db.models.functions import Coalesce
from django.http import Http404
from django.utils import timezone

from calls import roles
from calls.models import Agent, Call, Team, Transfer
from calls.selectors import agent_for_user

from . import autocheck, metrics
from .legs import Leg, call_legs
from .models import (
    Answer,
    Assignment,
    AuditEntry,
    Criterion,
    Dispute,
    Evaluation,
    Scorecard,
    Section,
    SectionScore,
)
from .surveys.metrics import ShareInterval, csat_interval

# =====================================================================================================
# Calls (as scoring sees them)
# =====================================================================================================


def call_context(call: Call) -> tuple[bool, bool]:
    """(is_resolved, had_hold_or_transfer): the facts context-aware criteria depend on."""
    had_hold_or_transfer = call.hold_seconds > 0 or Transfer.objects.filter(call_id=call.pk).exists()
    return call.is_resolved, had_hold_or_transfer


def call_leg_agents(call: Call) -> list[Agent]:
    """The agents of the call's legs (`legs.call_legs`): the handling agent first, then by transfer."""
    return [leg.agent for leg in call_legs(call)]


@dataclass(frozen=True)
class LegEvaluateScope:
    """Which legs of one call a user may review or calibrate (rules in the module docstring), decided once
    per call (led teams, the user's open assignments of the call) and then per leg in memory."""

    every_leg: bool
    team_ids: frozenset[int]
    # The leg agents of the user's open assignments of this call.
    assigned_agent_ids: frozenset[int]
    # The user's own legs are never theirs to review (the agent's login, read off the leg's Agent: no query).
    user_id: int | None

    def may_evaluate(self, agent: Agent) -> bool:
        if agent.user_id is not None and agent.user_id == self.user_id:
            return False
        if self.every_leg or agent.pk in self.assigned_agent_ids:
            return True
        return agent.team_id is not None and agent.team_id in self.team_ids

    @property
    def may_evaluate_any(self) -> bool:
        """Whether some leg could be evaluable at all (so a caller can skip loading the call's legs)."""
        return self.every_leg or bool(self.team_ids) or bool(self.assigned_agent_ids)


_NO_LEGS = LegEvaluateScope(
    every_leg=False, team_ids=frozenset(), assigned_agent_ids=frozenset(), user_id=None
)


def leg_evaluate_scope(user, call: Call) -> LegEvaluateScope:
    """The user's `LegEvaluateScope` on this call: at most two queries (led teams for a supervisor with
    `scoring.evaluate_any_call`, the user's open assignments of the call) besides the cached roles."""
    if not user.is_authenticated:
        return _NO_LEGS
    evaluates_any = user.has_perm("scoring.evaluate_any_call")
    if roles.is_admin(user) or (evaluates_any and roles.is_reviewer(user)):
        return LegEvaluateScope(
            every_leg=True, team_ids=frozenset(), assigned_agent_ids=frozenset(), user_id=user.pk
        )
    team_ids: frozenset[int] = frozenset()
    if evaluates_any and roles.is_supervisor(user):
        team_ids = frozenset(Team.objects.filter(supervisors=user).values_list("pk", flat=True))
    # A null agent (rows from before migration 0007) is the call's agent, as in assignment_filter_leg.
    assigned = (
        Assignment.objects.filter(call_id=call.pk, reviewer=user, status=Assignment.Status.OPEN)
        .annotate(leg_agent_id=Coalesce("agent_id", "call__agent_id"))
        .values_list("leg_agent_id", flat=True)
    )
    return LegEvaluateScope(
        every_leg=False,
        team_ids=team_ids,
        assigned_agent_ids=frozenset(agent_id for agent_id in assigned if agent_id is not None),
        user_id=user.pk,
    )


def leg_evaluable_by_user(user, call: Call, agent: Agent) -> bool:
    """May this user start or continue a review/calibration of this agent's leg of the call?"""
    return leg_evaluate_scope(user, call).may_evaluate(agent)


def call_evaluable_by_user(user, call: Call) -> bool:
    """May this user review/calibrate at least one leg of this call? See the module docstring."""
    scope = leg_evaluate_scope(user, call)
    return scope.may_evaluate_any and any(scope.may_evaluate(leg.agent) for leg in call_legs(call))


# =====================================================================================================
# Scorecards
# =====================================================================================================


def _with_content(queryset: QuerySet[Scorecard]) -> QuerySet[Scorecard]:
    return queryset.prefetch_related(
        "departments",
        Prefetch(
            "sections",
            queryset=Section.objects.order_by("position", "id").prefetch_related(
                Prefetch("criteria", queryset=Criterion.objects.order_by("position", "id"))
            ),
        ),
    )


def can_manage_scorecards(user) -> bool:
    return user.is_authenticated and (roles.is_admin(user) or user.has_perm("scoring.manage_scorecards"))


def scorecard_list_for_user(user, *, include_drafts: bool = False) -> QuerySet[Scorecard]:
    """Published and retired versions for every signed-in user (agents should know what they are scored
    on); drafts too for QA leads/admins when asked. Sections and criteria are prefetched."""
    if not user.is_authenticated:
        return Scorecard.objects.none()
    queryset = Scorecard.objects.all()
    if not (include_drafts and can_manage_scorecards(user)):
        queryset = queryset.exclude(status=Scorecard.Status.DRAFT)
    return _with_content(queryset).order_by("family", "-version")


def scorecard_get_for_user(user, *, pk: int) -> Scorecard:
    """A scorecard with its content; drafts only for QA leads/admins; 404 otherwise."""
    try:
        return scorecard_list_for_user(user, include_drafts=True).get(pk=pk)
    except Scorecard.DoesNotExist:
        raise Http404("No such scorecard") from None


def published_scorecard_scopes() -> list[tuple[set[int], Scorecard]]:
    """The published scorecards, each with the departments it is limited to (empty: every department), in
    two queries: for choosing the scorecard of many calls (scorecard_for_call(call, scopes))."""
    return [
        ({d.pk for d in scorecard.departments.all()}, scorecard)
        for scorecard in Scorecard.objects.filter(status=Scorecard.Status.PUBLISHED).prefetch_related(
            "departments"
        )
    ]


def scorecard_for_call(
    call: Call, scopes: list[tuple[set[int], Scorecard]] | None = None
) -> Scorecard | None:
    """The scorecard of the call's handling leg (its own department and channel): `scorecard_for_leg`."""
    return scorecard_for_leg(department_id=call.department_id, channel=call.channel, scopes=scopes)


def scorecard_for_leg(
    *, department_id: int | None, channel: str, scopes: list[tuple[set[int], Scorecard]] | None = None
) -> Scorecard | None:
    """The newest published scorecard that applies to a leg (the department the agent worked the call in:
    the call's for the handling agent, the transfer's to_department for an agent it was transferred to;
    the channel is the call's): department-specific ones beat channel-specific ones, which beat
    catch-alls; ties go to the most recently published."""
    candidates = []
    for department_ids, scorecard in published_scorecard_scopes() if scopes is None else scopes:
        if department_ids and department_id not in department_ids:
            continue
        if not scorecard.applies_to_channel(channel):
            continue
        specificity = (bool(department_ids), bool(scorecard.channels))
        candidates.append((specificity, scorecard.published_at, scorecard.pk, scorecard))
    if not candidates:
        return None
    return max(candidates, key=lambda c: c[:3])[3]


# =====================================================================================================
# Evaluations
# =====================================================================================================


def _evaluation_base() -> QuerySet[Evaluation]:
    return Evaluation.objects.select_related("call", "agent", "agent__team", "scorecard", "author")


def _led_team_ids(user):
    # A subquery, never a join through the supervisors table (a join repeats rows per supervisor).
    return Team.objects.filter(supervisors=user).values("pk")


def evaluation_list_for_user(user, *, include_superseded: bool = False) -> QuerySet[Evaluation]:
    """Evaluations the user may read (rules in the module docstring), current revisions only by default."""
    queryset = _evaluation_base()
    if not user.is_authenticated:
        return queryset.none()
    if not include_superseded:
        queryset = queryset.filter(is_current=True)
    if roles.is_admin(user):
        return queryset
    submitted = Q(status=Evaluation.Status.SUBMITTED)
    visible = Q(author=user)
    agent = agent_for_user(user)
    if agent is not None:
        visible |= submitted & Q(agent=agent) & ~Q(kind=Evaluation.Kind.CALIBRATION)
    if roles.is_reviewer(user):
        # Blind calibration: while the reviewer has an open calibration assignment for a call, the other
        # ratings of that call (the original review among them, which calibration compares against) stay
        # hidden until their own calibration is submitted (which completes the assignment).
        visible |= (
            submitted
            & ~Q(kind=Evaluation.Kind.CALIBRATION)
            & ~Exists(open_calibration_assignments(user).filter(call_id=OuterRef("call_id")))
        )
    if roles.is_supervisor(user):
        visible |= submitted & Q(agent__team__in=_led_team_ids(user))
    return queryset.filter(visible)


def open_calibration_assignments(user) -> QuerySet[Assignment]:
    """The user's open calibration assignments: calls whose other ratings they must not see yet."""
    return Assignment.objects.filter(
        reviewer=user, status=Assignment.Status.OPEN, purpose=Assignment.Purpose.CALIBRATION
    )


def evaluation_with_details(queryset: QuerySet[Evaluation]) -> QuerySet[Evaluation]:
    """Prefetch answers (with criteria and sections) and section scores, in scorecard order."""
    return queryset.prefetch_related(
        Prefetch(
            "answers",
            queryset=Answer.objects.select_related("criterion", "criterion__section").order_by(
                "criterion__section__position", "criterion__position", "criterion_id"
            ),
        ),
        Prefetch("section_scores", queryset=SectionScore.objects.select_related("section")),
    )


def evaluation_get_for_user(user, *, pk: int) -> Evaluation:
    """One evaluation (superseded revisions included) with answers; 404 if the user may not read it."""
    try:
        return evaluation_with_details(evaluation_list_for_user(user, include_superseded=True)).get(pk=pk)
    except (Evaluation.DoesNotExist, ValueError):  # ValueError: a non-numeric id from the URL
        raise Http404("No such evaluation") from None


def evaluation_draft_get_for_author(user, *, pk: int) -> Evaluation:
    """The user's own draft, for editing; 404 for anything else (others' drafts, submitted ones)."""
    try:
        return evaluation_with_details(
            _evaluation_base().filter(author=user, status=Evaluation.Status.DRAFT)
        ).get(pk=pk)
    except Evaluation.DoesNotExist:
        raise Http404("No such draft") from None


def evaluation_filter(
    queryset: QuerySet[Evaluation],
    *,
    agent: int | None = None,
    team: int | None = None,
    call_external_id: str | None = None,
    date_from: dt.date | None = None,
    date_to: dt.date | None = None,
    scorecard: int | None = None,
    family: str | None = None,
    kind: str | None = None,
    status: str | None = None,
) -> QuerySet[Evaluation]:
    """Narrow an already-scoped queryset. Dates are inclusive local dates of submission."""
    if agent is not None:
        queryset = queryset.filter(agent_id=agent)
    if team is not None:
        queryset = queryset.filter(agent__team_id=team)
    if call_external_id:
        queryset = queryset.filter(call__external_id=call_external_id)
    tz = timezone.get_current_timezone()
    if date_from is not None:
        queryset = queryset.filter(submitted_at__gte=dt.datetime.combine(date_from, dt.time.min, tzinfo=tz))
    if date_to is not None:
        end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
        queryset = queryset.filter(submitted_at__lt=end)
    if scorecard is not None:
        queryset = queryset.filter(scorecard_id=scorecard)
    if family:
        queryset = queryset.filter(scorecard__family=family)
    if kind:
        queryset = queryset.filter(kind=kind)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


@dataclass
class EvaluationRow:
    """One criterion on an evaluation form/page: the criterion, whether it applies, the saved answer."""

    section: Section
    criterion: Criterion
    applies: bool
    answer: Answer | None

    @property
    def can_be_na(self) -> bool:
        return self.criterion.allows_na or not self.applies


def evaluation_rows(evaluation: Evaluation) -> list[EvaluationRow]:
    """Every criterion of the evaluation's scorecard in order, with applicability and the saved answer.

    Two queries (criteria, answers) plus one for the call's transfers."""
    is_resolved, had_hold_or_transfer = call_context(evaluation.call)
    criteria = (
        Criterion.objects.filter(scorecard_id=evaluation.scorecard_id)
        .select_related("section")
        .order_by("section__position", "section_id", "position", "id")
    )
    answers = {a.criterion_id: a for a in Answer.objects.filter(evaluation_id=evaluation.pk)}
    return [
        EvaluationRow(
            section=c.section,
            criterion=c,
            applies=metrics.criterion_applies(
                c.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
            ),
            answer=answers.get(c.pk),
        )
        for c in criteria
    ]


def evaluation_list_for_call(user, call: Call) -> QuerySet[Evaluation]:
    """Current evaluations of one call the user may read (reviewer's and self-review side by side)."""
    return evaluation_list_for_user(user).filter(call_id=call.pk).order_by("kind", "-submitted_at", "-id")


def evaluation_revisions(evaluation: Evaluation) -> list[Evaluation]:
    """The whole revision chain the evaluation belongs to, oldest first (follows supersedes both ways)."""
    chain = [evaluation]
    current = evaluation
    while current.supersedes_id:
        current = Evaluation.objects.select_related("author").get(pk=current.supersedes_id)
        chain.insert(0, current)
    current = evaluation
    while True:
        later = Evaluation.objects.select_related("author").filter(supersedes_id=current.pk).first()
        if later is None:
            break
        chain.append(later)
        current = later
    return chain


def evaluation_audit_trail(evaluation: Evaluation) -> QuerySet[AuditEntry]:
    """Audit entries of the evaluation, oldest first."""
    return evaluation.audit_entries.select_related("actor", "dispute").order_by("at", "id")


def can_acknowledge(user, evaluation: Evaluation) -> bool:
    return (
        user.is_authenticated
        and evaluation.kind != Evaluation.Kind.SELF_REVIEW
        and evaluation.status == Evaluation.Status.SUBMITTED
        and evaluation.is_current
        and evaluation.acknowledged_at is None
        and evaluation.agent.user_id == user.pk
    )


def can_dispute(user, evaluation: Evaluation) -> bool:
    """The evaluated agent, on a submitted current review never disputed, within the dispute window."""
    return (
        user.is_authenticated
        and evaluation.kind == Evaluation.Kind.REVIEW
        and evaluation.status == Evaluation.Status.SUBMITTED
        and evaluation.is_current
        and evaluation.revision == 1
        and evaluation.agent.user_id == user.pk
        and timezone.now() <= evaluation.submitted_at + dt.timedelta(days=settings.QA_DISPUTE_WINDOW_DAYS)
        and not evaluation.disputes.exists()
    )


# =====================================================================================================
# Assignments
# =====================================================================================================


def assignment_list_for_user(user, *, status: str | None = Assignment.Status.OPEN) -> QuerySet[Assignment]:
    """A reviewer's queue (their own assignments); supervisors also see assignments of their teams'
    agents' legs and those they made; admins all. Pass status=None for every status."""
    queryset = Assignment.objects.select_related(
        "call", "call__agent", "call__department", "reviewer", "agent", "agent__team", "assigned_by"
    ).order_by("status", "created_at", "id")
    if not user.is_authenticated:
        return queryset.none()
    if status is not None:
        queryset = queryset.filter(status=status)
    if roles.is_admin(user):
        return queryset
    visible = Q(reviewer=user) | Q(assigned_by=user)
    if roles.is_supervisor(user):
        # By the leg's agent: a supervisor sees the legs of their teams' agents, not every leg of a call
        # one of their agents handled first (null agent = the call's agent, on calls assigned before 0006).
        led = _led_team_ids(user)
        visible |= Q(agent__team__in=led) | Q(agent__isnull=True, call__agent__team__in=led)
    return queryset.filter(visible)


def assignment_filter_leg(queryset: QuerySet[Assignment], *, agent_id: int) -> QuerySet[Assignment]:
    """Assignments of one agent's leg (a null agent, on rows from before migration 0007, is the call's)."""
    return queryset.filter(Q(agent_id=agent_id) | Q(agent__isnull=True, call__agent_id=agent_id))


@dataclass(frozen=True)
class LegAssignScope:
    """Which legs a user may assign by hand, decided once (permissions, led teams) and then per leg in memory,
    so a list of calls or legs costs the same whatever its length. Admins and `scoring.assign_calls`
    holders: every leg; supervisors: the legs of their teams' agents (a leg agent in another team is that
    team's supervisor's, not the handling agent's supervisor's); anyone else: none."""

    every_leg: bool
    team_ids: frozenset[int]

    def may_assign(self, agent: Agent | None) -> bool:
        if self.every_leg:
            return True
        return agent is not None and agent.team_id is not None and agent.team_id in self.team_ids

    @property
    def may_assign_any(self) -> bool:
        return self.every_leg or bool(self.team_ids)


def leg_assign_scope(user) -> LegAssignScope:
    """The user's `LegAssignScope` (the led teams, one query, for a supervisor)."""
    if not user.is_authenticated:
        return LegAssignScope(every_leg=False, team_ids=frozenset())
    if roles.is_admin(user) or user.has_perm("scoring.assign_calls"):
        return LegAssignScope(every_leg=True, team_ids=frozenset())
    if roles.is_supervisor(user):
        led = Team.objects.filter(supervisors=user).values_list("pk", flat=True)
        return LegAssignScope(every_leg=False, team_ids=frozenset(led))
    return LegAssignScope(every_leg=False, team_ids=frozenset())


def default_leg(call: Call, legs: list[Leg], scope: LegAssignScope) -> Leg | None:
    """The leg an assignment made without naming one is for: the handling agent's when the user may assign
    it, else the user's first assignable leg of the call (a supervisor leading only a transfer target);
    None when the call has no leg."""
    if not legs:
        return None
    handling = next((leg for leg in legs if leg.agent.pk == call.agent_id), legs[0])
    if scope.may_assign(handling.agent):
        return handling
    return next((leg for leg in legs if scope.may_assign(leg.agent)), handling)


def open_legs_of_calls(call_ids: list[int]) -> set[tuple[int, int | None]]:
    """(call id, leg agent id) of every open assignment of these calls, in one query (a null agent, on
    rows from before migration 0007, is the call's agent)."""
    rows = (
        Assignment.objects.filter(call_id__in=call_ids, status=Assignment.Status.OPEN)
        .annotate(leg_agent_id=Coalesce("agent_id", "call__agent_id"))
        .values_list("call_id", "leg_agent_id")
    )
    return set(rows)


def assignment_get_for_user(user, *, pk: int) -> Assignment:
    try:
        return assignment_list_for_user(user, status=None).get(pk=pk)
    except (Assignment.DoesNotExist, ValueError):  # ValueError: a non-numeric id from the URL
        raise Http404("No such assignment") from None


# =====================================================================================================
# Disputes
# =====================================================================================================


def dispute_list_for_user(user, *, status: str | None = None) -> QuerySet[Dispute]:
    """Disputes about evaluations the user is party to: the agent, the evaluation's author, the agent's
    supervisors; admins all."""
    queryset = Dispute.objects.select_related(
        "evaluation",
        "evaluation__agent",
        "evaluation__agent__team",
        "evaluation__call",
        "raised_by",
        "resolved_by",
    ).prefetch_related("items__criterion")
    if not user.is_authenticated:
        return queryset.none()
    if status is not None:
        queryset = queryset.filter(status=status)
    if roles.is_admin(user):
        return queryset
    visible = Q(raised_by=user) | Q(evaluation__author=user) | Q(evaluation__agent__user=user)
    if roles.is_supervisor(user):
        visible |= Q(evaluation__agent__team__in=_led_team_ids(user))
    return queryset.filter(visible)


def dispute_get_for_user(user, *, pk: int) -> Dispute:
    try:
        return dispute_list_for_user(user).get(pk=pk)
    except Dispute.DoesNotExist:
        raise Http404("No such dispute") from None


def can_resolve_dispute(user, dispute: Dispute) -> bool:
    """Admins, or a supervisor of the evaluated agent's team who did not author the evaluation."""
    if not user.is_authenticated:
        return False
    if roles.is_admin(user):
        return True
    if not roles.is_supervisor(user) or dispute.evaluation.author_id == user.pk:
        return False
    return Team.objects.filter(supervisors=user, agents=dispute.evaluation.agent_id).exists()


def agents_with_open_disputes_for_supervisor(user) -> QuerySet[Agent]:
    """Agents of the supervisor's teams with an open dispute (for a dashboard badge)."""
    return Agent.objects.filter(
        team__in=_led_team_ids(user),
    ).filter(Exists(Dispute.objects.filter(evaluation__agent=OuterRef("pk"), status=Dispute.Status.OPEN)))


# =====================================================================================================
# Auto-check: how often reviewers agree with each rule
# =====================================================================================================


@dataclass(frozen=True)
class AutoCheckAgreement:
    """One auto-checked criterion: current submitted review answers that recorded a suggestion (N/A answers
    left out), how many the reviewer answered as suggested, and that share with its Wilson 95% interval."""

    criterion: Criterion
    answers: int
    agreed: int
    interval: ShareInterval

    @property
    def disagreed(self) -> int:
        return self.answers - self.agreed


def _auto_check_recorded(prefix: str = "") -> Q:
    """The answers the agreement counts: of current submitted reviews, not N/A, with a recorded suggestion
    (`prefix` is the path to Answer, e.g. "answers__" from Criterion). One definition for the agreement
    figure and its disagreements page, so the two always describe the same population."""
    return Q(
        **{
            f"{prefix}auto_value__isnull": False,
            f"{prefix}is_na": False,
            f"{prefix}evaluation__kind": Evaluation.Kind.REVIEW,
            f"{prefix}evaluation__status": Evaluation.Status.SUBMITTED,
            f"{prefix}evaluation__is_current": True,
        }
    )


def scorecard_auto_check_agreement(scorecard: Scorecard) -> list[AutoCheckAgreement]:
    """Agreement per auto-checked criterion of this scorecard version, counted in one query."""
    recorded = _auto_check_recorded("answers__")
    criteria = (
        Criterion.objects.filter(scorecard=scorecard)
        .exclude(auto_phrases="")
        .annotate(
            suggested=Count("answers", filter=recorded),
            agreed=Count("answers", filter=recorded & Q(answers__value=F("answers__auto_value"))),
        )
        .order_by("section__position", "section_id", "position", "id")
    )
    return [
        AutoCheckAgreement(
            criterion=criterion,
            answers=criterion.suggested,
            agreed=criterion.agreed,
            interval=csat_interval(criterion.agreed, criterion.suggested),
        )
        for criterion in criteria
    ]


# Which way the rule and the reviewer disagreed: (suggested, answered). Yes/no answers are stored as 1/0.
AUTO_CHECK_DISAGREEMENTS = {
    "too_loose": (autocheck.YES, autocheck.NO),  # the rule said Yes, the reviewer No: phrases too loose
    "missing": (autocheck.NO, autocheck.YES),  # the rule said No, the reviewer Yes: phrases missing
}


def auto_check_disagreement_counts(criterion: Criterion) -> dict[str, int]:
    """How many counted answers of this criterion fall in each AUTO_CHECK_DISAGREEMENTS kind, in one query;
    together they are the agreement figure's answers minus its agreed."""
    answers = Answer.objects.filter(_auto_check_recorded(), criterion=criterion)
    return answers.aggregate(
        **{
            kind: Count("pk", filter=Q(auto_value=suggested, value=answered))
            for kind, (suggested, answered) in AUTO_CHECK_DISAGREEMENTS.items()
        }
    )


def auto_check_disagreements(criterion: Criterion, *, kind: str) -> QuerySet[Answer]:
    """The counted answers of this criterion where the reviewer answered against the rule in the `kind` way,
    newest review first, with the call, its agent and customer (for the transcript), the evaluated agent
    and the reviewer."""
    suggested, answered = AUTO_CHECK_DISAGREEMENTS[kind]
    return (
        Answer.objects.filter(
            _auto_check_recorded(), criterion=criterion, auto_value=suggested, value=answered
        )
        .select_related(
            "evaluation__call__agent",
            "evaluation__call__customer",
            "evaluation__agent",
            "evaluation__author",
        )
        .order_by("-evaluation__submitted_at", "-evaluation_id")
    )
