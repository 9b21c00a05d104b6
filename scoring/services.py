"""State changes for QA scoring. Every public function is `<entity>_<action>`, keyword-only.

Rule violations raise `django.core.exceptions.ValidationError` (show them in the form); acting on
someone else's object raises `PermissionDenied`. Views fetch objects through `scoring.selectors`
(`*_get_for_user`, which 404s foreign objects) before calling a service.

The weekly sampling service lives in `scoring.sampling` (`weekly_sample_assign`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from calls import roles
from calls.models import Agent, Call, Channel, Department

from . import autocheck, metrics
from .analytics.rollups import analytics_refresh_for_calls_on_commit
from .legs import call_legs, calls_legs, leg_for_agent, leg_opens_and_closes
from .models import (
    Answer,
    Assignment,
    AuditEntry,
    Criterion,
    Dispute,
    DisputeItem,
    Evaluation,
    Notice,
    Scorecard,
    Section,
    SectionScore,
)
from .notices.services import notice_schedule_for_event
from .selectors import (
    assignment_filter_leg,
    call_context,
    call_leg_agents,
    can_resolve_dispute,
    default_leg,
    leg_assign_scope,
    leg_evaluable_by_user,
    scorecard_for_leg,
)
from .ui_support import transcript_rows

logger = logging.getLogger(__name__)

# =====================================================================================================
# Scorecards
# =====================================================================================================


def _require_scorecard_manager(user) -> None:
    if user is None:  # system / migrations / demo data
        return
    if not (roles.is_admin(user) or user.has_perm("scoring.manage_scorecards")):
        raise PermissionDenied("Only QA leads (scoring.manage_scorecards) and admins build scorecards.")


def _require_draft(scorecard: Scorecard) -> None:
    # Re-read the status: a stale instance must not let an edit through after publication.
    status = Scorecard.objects.filter(pk=scorecard.pk).values_list("status", flat=True).first()
    if status != Scorecard.Status.DRAFT:
        raise ValidationError("A published scorecard cannot be changed; create a new version instead.")


def _clean_channels(channels: Iterable[str]) -> list[str]:
    channels = list(dict.fromkeys(channels))
    unknown = [c for c in channels if c not in Channel.values]
    if unknown:
        raise ValidationError(f"Unknown channel(s): {', '.join(unknown)}")
    return channels


def scorecard_create_draft(
    *,
    family: str,
    name: str,
    user,
    description: str = "",
    channels: Iterable[str] = (),
    departments: Iterable[Department] = (),
) -> Scorecard:
    """A new scorecard family at version 1, as a draft. The family must not exist yet."""
    _require_scorecard_manager(user)
    if Scorecard.objects.filter(family=family).exists():
        raise ValidationError(
            f"Scorecard family {family!r} already exists; create a new version of it instead."
        )
    scorecard = Scorecard.objects.create(
        family=family,
        version=1,
        name=name,
        description=description,
        channels=_clean_channels(channels),
        created_by=user,
    )
    scorecard.departments.set(list(departments))
    return scorecard


def scorecard_update_draft(
    *,
    scorecard: Scorecard,
    user,
    name: str | None = None,
    description: str | None = None,
    channels: Iterable[str] | None = None,
    departments: Iterable[Department] | None = None,
) -> Scorecard:
    """Change a draft's name, description or scope (channels/departments; empty = all)."""
    _require_scorecard_manager(user)
    _require_draft(scorecard)
    if name is not None:
        scorecard.name = name
    if description is not None:
        scorecard.description = description
    if channels is not None:
        scorecard.channels = _clean_channels(channels)
    scorecard.save(update_fields=["name", "description", "channels"])
    if departments is not None:
        scorecard.departments.set(list(departments))
    return scorecard


def section_add(
    *, scorecard: Scorecard, user, title: str, description: str = "", position: int | None = None
) -> Section:
    """Append a section to a draft scorecard (or put it at `position`)."""
    _require_scorecard_manager(user)
    _require_draft(scorecard)
    if position is None:
        position = (scorecard.sections.aggregate(m=Max("position"))["m"] or 0) + 1
    return Section.objects.create(
        scorecard=scorecard, title=title, description=description, position=position
    )


def section_update(
    *,
    section: Section,
    user,
    title: str | None = None,
    description: str | None = None,
    position: int | None = None,
) -> Section:
    """Edit a section of a draft scorecard."""
    _require_scorecard_manager(user)
    _require_draft(section.scorecard)
    for attr, value in (("title", title), ("description", description), ("position", position)):
        if value is not None:
            setattr(section, attr, value)
    section.save(update_fields=["title", "description", "position"])
    return section


def section_remove(*, section: Section, user) -> None:
    """Delete a section (and its criteria) from a draft scorecard."""
    _require_scorecard_manager(user)
    _require_draft(section.scorecard)
    section.delete()


CRITERION_FIELDS = (
    "question",
    "guidance",
    "weight",
    "scale",
    "max_points",
    "allows_na",
    "is_critical",
    "applicability",
    "auto_phrases",
    "auto_scope",
    "position",
    "key",
)


def _clean_criterion_fields(fields: dict) -> dict:
    if "weight" in fields:
        try:
            fields["weight"] = Decimal(str(fields["weight"]))
        except InvalidOperation:
            raise ValidationError({"weight": "Weight must be a number."}) from None
        if not fields["weight"].is_finite() or fields["weight"] <= 0:
            raise ValidationError({"weight": "Weight must be greater than 0."})
    if "scale" in fields and fields["scale"] not in Criterion.Scale.values:
        raise ValidationError({"scale": f"Unknown scale {fields['scale']!r}."})
    if "applicability" in fields and fields["applicability"] not in Criterion.Applicability.values:
        raise ValidationError({"applicability": f"Unknown applicability {fields['applicability']!r}."})
    if "auto_scope" in fields and fields["auto_scope"] not in Criterion.AutoScope.values:
        raise ValidationError({"auto_scope": f"Unknown auto-check scope {fields['auto_scope']!r}."})
    if "auto_phrases" in fields:
        # Stored one clean phrase per line, so what the builder shows is exactly what is matched.
        fields["auto_phrases"] = "\n".join(autocheck.phrases_of(fields["auto_phrases"] or ""))
    return fields


def _validate_criterion(criterion: Criterion) -> None:
    if criterion.scale == Criterion.Scale.YES_NO:
        criterion.max_points = 1
    elif not (isinstance(criterion.max_points, int) and 1 <= criterion.max_points <= 100):
        raise ValidationError({"max_points": "A points scale needs a maximum between 1 and 100."})
    if not criterion.key or not criterion.question:
        raise ValidationError("A criterion needs a key and a question.")
    phrase_errors = autocheck.phrase_errors(criterion.auto_phrases, scale=criterion.scale)
    if phrase_errors:
        raise ValidationError({"auto_phrases": phrase_errors})
    clash = Criterion.objects.filter(scorecard_id=criterion.scorecard_id, key=criterion.key).exclude(
        pk=criterion.pk
    )
    if clash.exists():
        raise ValidationError({"key": f"Key {criterion.key!r} is already used on this scorecard."})


def criterion_add(
    *,
    section: Section,
    user,
    key: str,
    question: str,
    guidance: str = "",
    weight: Decimal | int | str = 1,
    scale: str = Criterion.Scale.YES_NO,
    max_points: int = 1,
    allows_na: bool = False,
    is_critical: bool = False,
    applicability: str = Criterion.Applicability.ALWAYS,
    auto_phrases: str = "",
    auto_scope: str = Criterion.AutoScope.ANYWHERE,
    position: int | None = None,
) -> Criterion:
    """Add a criterion to a section of a draft scorecard. Keys are unique per scorecard."""
    _require_scorecard_manager(user)
    _require_draft(section.scorecard)
    fields = _clean_criterion_fields(
        {
            "key": key,
            "question": question,
            "guidance": guidance,
            "weight": weight,
            "scale": scale,
            "max_points": max_points,
            "allows_na": allows_na,
            "is_critical": is_critical,
            "applicability": applicability,
            "auto_phrases": auto_phrases,
            "auto_scope": auto_scope,
        }
    )
    if position is None:
        position = (
            Criterion.objects.filter(scorecard_id=section.scorecard_id).aggregate(m=Max("position"))["m"] or 0
        ) + 1
    criterion = Criterion(scorecard_id=section.scorecard_id, section=section, position=position, **fields)
    _validate_criterion(criterion)
    criterion.save()
    return criterion


def criterion_update(*, criterion: Criterion, user, section: Section | None = None, **changes) -> Criterion:
    """Edit a criterion of a draft scorecard (any of CRITERION_FIELDS; `section` moves it within the scorecard)."""
    _require_scorecard_manager(user)
    _require_draft(criterion.scorecard)
    unknown = set(changes) - set(CRITERION_FIELDS)
    if unknown:
        raise TypeError(f"criterion_update() got unknown fields: {', '.join(sorted(unknown))}")
    changes = _clean_criterion_fields(dict(changes))
    for attr, value in changes.items():
        setattr(criterion, attr, value)
    if section is not None:
        if section.scorecard_id != criterion.scorecard_id:
            raise ValidationError("A criterion can only move to a section of the same scorecard.")
        criterion.section = section
    _validate_criterion(criterion)
    criterion.save()
    return criterion


def criterion_remove(*, criterion: Criterion, user) -> None:
    """Delete a criterion from a draft scorecard."""
    _require_scorecard_manager(user)
    _require_draft(criterion.scorecard)
    criterion.delete()


@transaction.atomic
def scorecard_publish(*, scorecard: Scorecard, user) -> Scorecard:
    """Publish a draft with at least one criterion; the family's previous published version is retired."""
    _require_scorecard_manager(user)
    scorecard = Scorecard.objects.select_for_update().get(pk=scorecard.pk)
    if scorecard.status != Scorecard.Status.DRAFT:
        raise ValidationError("Only a draft can be published.")
    if not scorecard.criteria.exists():
        raise ValidationError("A scorecard needs at least one criterion before it can be published.")
    empty = scorecard.sections.filter(criteria__isnull=True)
    if empty.exists():
        raise ValidationError(f"Section(s) without criteria: {', '.join(s.title for s in empty)}")
    Scorecard.objects.filter(family=scorecard.family, status=Scorecard.Status.PUBLISHED).update(
        status=Scorecard.Status.RETIRED
    )
    scorecard.status = Scorecard.Status.PUBLISHED
    scorecard.published_at = timezone.now()
    scorecard.published_by = user
    scorecard.save(update_fields=["status", "published_at", "published_by"])
    return scorecard


@transaction.atomic
def scorecard_new_version(*, scorecard: Scorecard, user) -> Scorecard:
    """A draft copy (version = family max + 1) of a published/retired scorecard, to edit then publish.

    If the family already has a draft, that draft is returned (one draft per family)."""
    _require_scorecard_manager(user)
    if scorecard.status == Scorecard.Status.DRAFT:
        raise ValidationError("This version is still a draft: edit it directly.")
    existing = Scorecard.objects.filter(family=scorecard.family, status=Scorecard.Status.DRAFT).first()
    if existing is not None:
        return existing
    next_version = Scorecard.objects.filter(family=scorecard.family).aggregate(m=Max("version"))["m"] + 1
    draft = Scorecard.objects.create(
        family=scorecard.family,
        version=next_version,
        name=scorecard.name,
        description=scorecard.description,
        channels=list(scorecard.channels),
        based_on=scorecard,
        created_by=user,
    )
    draft.departments.set(list(scorecard.departments.all()))
    for section in scorecard.sections.prefetch_related("criteria"):
        new_section = Section.objects.create(
            scorecard=draft, title=section.title, description=section.description, position=section.position
        )
        Criterion.objects.bulk_create(
            Criterion(
                scorecard=draft,
                section=new_section,
                **{field: getattr(criterion, field) for field in CRITERION_FIELDS},
            )
            for criterion in section.criteria.all()
        )
    return draft


@transaction.atomic
def scorecard_create_from_definition(*, definition: Mapping, user=None, publish: bool = True) -> Scorecard:
    """Build a scorecard family from a dict shaped like scoring.default_scorecard.DEFINITION."""
    from .default_scorecard import criterion_auto_check, criterion_defaults

    scorecard = scorecard_create_draft(
        family=definition["family"],
        name=definition["name"],
        description=definition.get("description", ""),
        channels=definition.get("channels", ()),
        user=user,
    )
    for section_def in definition["sections"]:
        section = section_add(
            scorecard=scorecard,
            user=user,
            title=section_def["title"],
            description=section_def.get("description", ""),
        )
        for criterion_def in section_def["criteria"]:
            criterion_add(
                section=section,
                user=user,
                **criterion_defaults(criterion_def),
                **criterion_auto_check(criterion_def),
            )
    if publish:
        scorecard = scorecard_publish(scorecard=scorecard, user=user)
    return scorecard


# =====================================================================================================
# Evaluations
# =====================================================================================================


def _require_author(evaluation: Evaluation, user) -> None:
    if evaluation.author_id != user.pk:
        raise PermissionDenied("Only the evaluation's author can change it.")


def _lock_draft(evaluation: Evaluation, user, *, check_leg: bool = True) -> Evaluation:
    """The author's draft, locked. A review or calibration draft also needs the author to still be allowed
    the leg (`leg_evaluable_by_user`): an assignment cancelled or moved since the draft began ends the right
    to go on, whatever path calls the service (the workspace checks it too)."""
    locked = (
        Evaluation.objects.select_for_update(of=("self", "call", "scorecard"))  # as before: not the agent
        .select_related("call", "scorecard", "agent")
        .get(pk=evaluation.pk)
    )
    _require_author(locked, user)
    if locked.status != Evaluation.Status.DRAFT:
        raise ValidationError("This evaluation is already submitted and can no longer be changed.")
    if (
        check_leg
        and locked.kind != Evaluation.Kind.SELF_REVIEW
        and not leg_evaluable_by_user(user, locked.call, locked.agent)
    ):
        raise PermissionDenied("You may not evaluate this leg of the call (not assigned to you).")
    return locked


def _open_assignment_for(call: Call, user, kind: str, agent: Agent) -> Assignment | None:
    """The reviewer's open assignment this evaluation fulfils: the one of the evaluated agent's leg;
    calibration ones for calibrations, the others (manual, weekly sample) for reviews."""
    purposes = (
        [Assignment.Purpose.CALIBRATION]
        if kind == Evaluation.Kind.CALIBRATION
        else [Assignment.Purpose.MANUAL, Assignment.Purpose.WEEKLY_SAMPLE]
    )
    return (
        assignment_filter_leg(
            Assignment.objects.filter(
                call=call, reviewer=user, status=Assignment.Status.OPEN, purpose__in=purposes
            ),
            agent_id=agent.pk,
        )
        .order_by("created_at", "id")
        .first()
    )


@transaction.atomic
def evaluation_start(
    *,
    call: Call,
    author,
    agent: Agent | None = None,
    kind: str = Evaluation.Kind.REVIEW,
    scorecard: Scorecard | None = None,
    assignment: Assignment | None = None,
) -> Evaluation:
    """Start (or return the existing) draft of `author` for this call/agent/kind.

    Reviews and calibrations need `leg_evaluable_by_user` for the evaluated agent's leg; self-reviews go
    through `self_evaluation_start`. `agent` defaults to the assignment's leg agent, else the call's agent,
    and must be one of its leg agents. `scorecard` defaults to the newest published scorecard that applies to
    the leg's channel/department.
    """
    if kind not in Evaluation.Kind.values:
        raise ValidationError(f"Unknown evaluation kind {kind!r}.")
    if kind == Evaluation.Kind.SELF_REVIEW:
        return self_evaluation_start(call=call, user=author, scorecard=scorecard)
    agent = _default_agent(call, agent, assignment)
    if not leg_evaluable_by_user(author, call, agent):
        raise PermissionDenied("You may not evaluate this leg of the call (not assigned to you).")
    return _evaluation_start(
        call=call, author=author, agent=agent, kind=kind, scorecard=scorecard, assignment=assignment
    )


def _default_agent(call: Call, agent: Agent | None, assignment: Assignment | None) -> Agent:
    if agent is not None:
        return agent
    if assignment is not None and assignment.agent_id:
        return assignment.agent
    if call.agent_id:
        return call.agent
    raise ValidationError("This call has no agent to evaluate.")


def _evaluation_start(*, call, author, agent, kind, scorecard, assignment) -> Evaluation:
    legs = call_legs(call)
    agent = _default_agent(call, agent, assignment)
    leg = leg_for_agent(legs, agent.pk)
    if leg is None:
        raise ValidationError("The evaluated agent must have handled a leg of this call.")
    existing = Evaluation.objects.filter(
        call=call, author=author, kind=kind, agent=agent, status=Evaluation.Status.DRAFT
    ).first()
    if existing is not None:
        return existing
    if scorecard is None:
        # The leg's department decides (the transfer's to_department for an agent it was transferred to).
        scorecard = scorecard_for_leg(department_id=leg.department_id, channel=call.channel)
        if scorecard is None:
            raise ValidationError("No published scorecard applies to this leg's channel and department.")
    elif scorecard.status != Scorecard.Status.PUBLISHED:
        raise ValidationError("Evaluations use a published scorecard version.")
    if assignment is None and kind != Evaluation.Kind.SELF_REVIEW:
        assignment = _open_assignment_for(call, author, kind, agent)
    elif assignment is not None and (assignment.reviewer_id != author.pk or assignment.call_id != call.pk):
        raise PermissionDenied("That assignment belongs to another reviewer or call.")
    try:
        # A savepoint so a lost race (double click, two tabs) falls back to the winner's draft.
        with transaction.atomic():
            return Evaluation.objects.create(
                call=call, agent=agent, scorecard=scorecard, author=author, kind=kind, assignment=assignment
            )
    except IntegrityError:
        return Evaluation.objects.get(
            call=call, author=author, kind=kind, agent=agent, status=Evaluation.Status.DRAFT
        )


@transaction.atomic
def self_evaluation_start(*, call: Call, user, scorecard: Scorecard | None = None) -> Evaluation:
    """An agent's self-review draft of a call they handled (any leg); idempotent."""
    agent = Agent.objects.filter(user=user).first() if user.is_authenticated else None
    if agent is None:
        raise PermissionDenied("Only agents can review themselves.")
    if agent.pk not in {a.pk for a in call_leg_agents(call)}:
        raise PermissionDenied("You can only review your own calls.")
    return _evaluation_start(
        call=call,
        author=user,
        agent=agent,
        kind=Evaluation.Kind.SELF_REVIEW,
        scorecard=scorecard,
        assignment=None,
    )


@transaction.atomic
def evaluation_answer(
    *,
    evaluation: Evaluation,
    author,
    criterion: Criterion,
    value: int | None = None,
    is_na: bool = False,
    comment: str = "",
    quote: str = "",
    offset_seconds: int | None = None,
) -> Answer:
    """Save one answer on a draft (htmx autosave). Yes/No is 1/0; N/A only if allowed or inapplicable."""
    evaluation = _lock_draft(evaluation, author)
    if criterion.scorecard_id != evaluation.scorecard_id:
        raise ValidationError("This criterion is not on the evaluation's scorecard.")
    is_resolved, had_hold_or_transfer = call_context(evaluation.call)
    applies = metrics.criterion_applies(
        criterion.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
    )
    if is_na:
        if value is not None:
            raise ValidationError("An N/A answer has no value.")
        if applies and not criterion.allows_na:
            raise ValidationError(f"{criterion.key}: N/A is not allowed for this criterion.")
    else:
        if not applies:
            raise ValidationError(
                f"{criterion.key}: does not apply to this call ({criterion.get_applicability_display().lower()}); "
                "it can only be N/A."
            )
        if value is None or isinstance(value, bool) or not isinstance(value, int):
            raise ValidationError(f"{criterion.key}: choose a value.")
        if not 0 <= value <= criterion.max_points:
            raise ValidationError(f"{criterion.key}: value must be between 0 and {criterion.max_points}.")
    if offset_seconds is not None and offset_seconds < 0:
        raise ValidationError("The recording offset cannot be negative.")
    answer, _ = Answer.objects.update_or_create(
        evaluation=evaluation,
        criterion=criterion,
        defaults={
            "value": None if is_na else value,
            "is_na": is_na,
            "comment": comment,
            "quote": quote,
            "offset_seconds": offset_seconds,
        },
    )
    # Touch the draft so "last saved" reflects autosaves.
    Evaluation.objects.filter(pk=evaluation.pk).update(updated_at=timezone.now())
    return answer


def _scored_answers(
    criteria: Iterable[Criterion], answers: Mapping[int, Answer]
) -> list[metrics.ScoredAnswer]:
    return [
        metrics.ScoredAnswer(
            weight=c.weight,
            possible=c.max_points,
            earned=None if answers[c.pk].is_na else answers[c.pk].value,
            is_critical=c.is_critical,
            section=c.section_id,
        )
        for c in criteria
    ]


def _store_scores(
    evaluation: Evaluation, criteria: list[Criterion], answers: Mapping[int, Answer]
) -> metrics.ScoreResult:
    result = metrics.compute_score(_scored_answers(criteria, answers))
    evaluation.score = result.score_for_storage
    evaluation.is_auto_failed = result.is_auto_failed
    SectionScore.objects.filter(evaluation=evaluation).delete()
    section_ids = list(dict.fromkeys(c.section_id for c in criteria))
    SectionScore.objects.bulk_create(
        SectionScore(
            evaluation=evaluation, section_id=sid, score=metrics.to_storage(result.section_scores.get(sid))
        )
        for sid in section_ids
    )
    return result


def _record_auto_values(
    evaluation: Evaluation, criteria: list[Criterion], answers: Mapping[int, Answer]
) -> None:
    """Keep each auto-checked criterion's suggestion beside the reviewer's answer (reviews only: a self-review or
    a calibration never saw the hints), so the scorecard page can say how often reviewers agree with the rule."""
    if evaluation.kind != Evaluation.Kind.REVIEW:
        return
    checked = [c for c in criteria if c.auto_phrases and not answers[c.pk].is_na]
    if not checked:
        return
    first_leg, last_leg = leg_opens_and_closes(call_legs(evaluation.call), evaluation.agent_id)
    lines = transcript_rows(evaluation.call)  # the workspace's numbering: the same suggestion it showed
    changed = []
    for criterion in checked:
        suggestion = autocheck.suggest(criterion, lines, first_leg=first_leg, last_leg=last_leg)
        answer = answers[criterion.pk]
        auto_value = suggestion.value if suggestion is not None else None
        if answer.auto_value != auto_value:
            answer.auto_value = auto_value
            changed.append(answer)
    Answer.objects.bulk_update(changed, ["auto_value"])


@transaction.atomic
def evaluation_submit(*, evaluation: Evaluation, author, summary: str | None = None) -> Evaluation:
    """Submit a draft: every applicable criterion answered; inapplicable ones are recorded as N/A.

    Computes and stores the score, section scores and auto-fail flag; closes the linked assignment."""
    evaluation = _lock_draft(evaluation, author)
    criteria = list(
        evaluation.scorecard.criteria.select_related("section").order_by("section__position", "position")
    )
    answers = {a.criterion_id: a for a in evaluation.answers.all()}
    is_resolved, had_hold_or_transfer = call_context(evaluation.call)
    missing = []
    for criterion in criteria:
        applies = metrics.criterion_applies(
            criterion.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
        )
        answer = answers.get(criterion.pk)
        if not applies:
            if answer is None:
                answers[criterion.pk] = Answer.objects.create(
                    evaluation=evaluation,
                    criterion=criterion,
                    is_na=True,
                    comment="Does not apply to this call.",
                )
            elif not answer.is_na:
                # The call record changed since the answer was saved (e.g. re-import): it no longer applies.
                answer.is_na, answer.value = True, None
                answer.save(update_fields=["is_na", "value", "updated_at"])
        elif answer is None:
            missing.append(criterion.key)
    if missing:
        raise ValidationError(f"Answer every criterion before submitting; missing: {', '.join(missing)}")
    _store_scores(evaluation, criteria, answers)
    _record_auto_values(evaluation, criteria, answers)
    now = timezone.now()
    evaluation.status = Evaluation.Status.SUBMITTED
    evaluation.submitted_at = now
    if summary is not None:
        evaluation.summary = summary
    evaluation.save()
    AuditEntry.objects.create(
        evaluation=evaluation,
        action=AuditEntry.Action.SUBMITTED,
        actor=author,
        at=now,
        new_score=evaluation.score,
    )
    if evaluation.assignment_id:
        Assignment.objects.filter(pk=evaluation.assignment_id, status=Assignment.Status.OPEN).update(
            status=Assignment.Status.DONE, completed_at=now
        )
    analytics_refresh_for_calls_on_commit(call_ids=[evaluation.call_id])
    if evaluation.kind == Evaluation.Kind.REVIEW:
        # The agent is told of a review (self-reviews and blind calibrations tell nobody).
        notice_schedule_for_event(kind=Notice.Kind.REVIEW_SUBMITTED, evaluation_id=evaluation.pk)
    return evaluation


@transaction.atomic
def evaluation_summary_save(*, evaluation: Evaluation, author, summary: str) -> Evaluation:
    """Save the overall feedback of the author's draft as they type it (the workspace autosaves it)."""
    evaluation = _lock_draft(evaluation, author)
    if evaluation.summary != summary:
        evaluation.summary = summary
        evaluation.save(update_fields=["summary", "updated_at"])
    return evaluation


def self_evaluation_submit(*, evaluation: Evaluation, user, summary: str | None = None) -> Evaluation:
    """Submit the agent's own self-review draft; one submitted self-review per call and agent (a
    partial unique constraint backs the check against concurrent submits)."""
    if evaluation.kind != Evaluation.Kind.SELF_REVIEW:
        raise ValidationError("Not a self-review.")
    already = Evaluation.objects.filter(
        call_id=evaluation.call_id,
        agent_id=evaluation.agent_id,
        kind=Evaluation.Kind.SELF_REVIEW,
        status=Evaluation.Status.SUBMITTED,
    ).exclude(pk=evaluation.pk)
    if already.exists():
        raise ValidationError("You have already submitted a self-review of this call.")
    try:
        with transaction.atomic():
            return evaluation_submit(evaluation=evaluation, author=user, summary=summary)
    except IntegrityError as error:
        if "evaluation_one_submitted_self_review_per_call_agent" in str(error):
            raise ValidationError("You have already submitted a self-review of this call.") from error
        raise


@transaction.atomic
def evaluation_discard(*, evaluation: Evaluation, author) -> None:
    """Delete the author's own draft (submitted evaluations are never deleted), even of a leg no longer theirs."""
    evaluation = _lock_draft(evaluation, author, check_leg=False)
    evaluation.delete()


def _is_evaluated_agent(evaluation: Evaluation, user) -> bool:
    return user.is_authenticated and Agent.objects.filter(pk=evaluation.agent_id, user=user).exists()


@transaction.atomic
def evaluation_acknowledge(*, evaluation: Evaluation, user) -> Evaluation:
    """The evaluated agent confirms they have read a submitted, current review. Idempotent."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not _is_evaluated_agent(evaluation, user):
        raise PermissionDenied("Only the evaluated agent can acknowledge an evaluation.")
    if evaluation.kind == Evaluation.Kind.SELF_REVIEW:
        raise ValidationError("A self-review needs no acknowledgement.")
    if evaluation.status != Evaluation.Status.SUBMITTED or not evaluation.is_current:
        raise ValidationError("Only a submitted, current evaluation can be acknowledged.")
    if evaluation.acknowledged_at is None:
        evaluation.acknowledged_at = timezone.now()
        evaluation.save(update_fields=["acknowledged_at", "updated_at"])
        AuditEntry.objects.create(
            evaluation=evaluation,
            action=AuditEntry.Action.ACKNOWLEDGED,
            actor=user,
            at=evaluation.acknowledged_at,
        )
    return evaluation


# =====================================================================================================
# Assignments
# =====================================================================================================


def _can_assign(user, call: Call, agent: Agent | None = None) -> bool:
    """Admins and `scoring.assign_calls` holders any leg; supervisors the legs of their teams' agents
    (`agent`: that leg; None: any leg of the call). See `selectors.LegAssignScope`."""
    scope = leg_assign_scope(user)
    if scope.every_leg or agent is not None:
        return scope.may_assign(agent)
    return any(scope.may_assign(leg_agent) for leg_agent in call_leg_agents(call))


def _may_take_assignments(reviewer) -> bool:
    return roles.is_reviewer(reviewer) or roles.is_supervisor(reviewer) or roles.is_admin(reviewer)


def _duplicate_message(purpose: str) -> str:
    if purpose == Assignment.Purpose.CALIBRATION:
        return "This call is already in that reviewer's calibration queue."
    return "This agent's leg of the call is already assigned for that purpose."


# Nobody reviews their own leg (`LegEvaluateScope`): such an assignment could never be done.
OWN_LEG_MESSAGE = "A reviewer cannot be assigned their own leg of a call (they handled it)."


@transaction.atomic
def assignment_create(
    *,
    call: Call,
    reviewer,
    assigned_by,
    purpose: str = Assignment.Purpose.MANUAL,
    period: date | None = None,
    agent: Agent | None = None,
    note: str = "",
) -> Assignment:
    """Put a leg of a call (the call and the agent to evaluate) in a reviewer's queue (admins,
    `scoring.assign_calls` holders, supervisors for their teams' agents). `agent` defaults to the handling
    agent (see `selectors.default_leg`) and is always stored.

    Refused if that leg is already assigned for the same purpose and period; for calibration (several
    reviewers scoring the same call), if the call is already in this reviewer's calibration queue."""
    scope = leg_assign_scope(assigned_by)
    legs = call_legs(call)
    if not any(scope.may_assign(leg.agent) for leg in legs) and not scope.every_leg:
        raise PermissionDenied("You may not assign this call.")
    if purpose not in Assignment.Purpose.values:
        raise ValidationError(f"Unknown purpose {purpose!r}.")
    if agent is None:
        leg = default_leg(call, legs, scope)
        agent = leg.agent if leg is not None else None
    elif leg_for_agent(legs, agent.pk) is None:
        raise ValidationError("The agent to evaluate must have handled a leg of this call.")
    if agent is not None and not scope.may_assign(agent):
        raise PermissionDenied("You may not assign this agent's leg of the call (not one of your teams).")
    if not _may_take_assignments(reviewer):
        raise ValidationError("Calls can only be assigned to reviewers, supervisors or admins.")
    if agent is not None and agent.user_id is not None and agent.user_id == reviewer.pk:
        raise ValidationError(OWN_LEG_MESSAGE)
    if purpose == Assignment.Purpose.WEEKLY_SAMPLE and (period is None or agent is None):
        raise ValidationError("A weekly sample assignment needs its week and a leg agent.")
    duplicate = Assignment.objects.filter(call=call, purpose=purpose, period=period).exclude(
        status=Assignment.Status.CANCELLED
    )
    calibration = purpose == Assignment.Purpose.CALIBRATION
    duplicate = duplicate.filter(reviewer=reviewer) if calibration else duplicate.filter(agent=agent)
    if duplicate.exists():
        raise ValidationError(_duplicate_message(purpose))
    try:
        with transaction.atomic():
            return Assignment.objects.create(
                call=call,
                reviewer=reviewer,
                assigned_by=assigned_by,
                purpose=purpose,
                period=period,
                agent=agent,
                note=note,
            )
    except IntegrityError:
        raise ValidationError(_duplicate_message(purpose)) from None


@dataclass
class BulkAssignResult:
    """What `assignment_create_many` made, and why each refused leg was refused (call, message)."""

    created: list[Assignment] = field(default_factory=list)
    problems: list[tuple[Call, str]] = field(default_factory=list)


@transaction.atomic
def assignment_create_many(
    *,
    legs: list[tuple[Call, Agent | None]],
    reviewer,
    assigned_by,
    purpose: str = Assignment.Purpose.MANUAL,
    note: str = "",
) -> BulkAssignResult:
    """`assignment_create` for many legs (call, agent; None: the default leg) at once, with the same rules,
    in a fixed number of queries whatever their number: the legs of every call (one query), the user's
    scope (one), the live duplicates (one), one INSERT. A leg refused (not a leg of the call, not the
    user's team, already assigned) is reported in `problems` and the others are still made; a reviewer
    who cannot take assignments or an unknown purpose refuses the whole batch (ValidationError)."""
    if purpose not in Assignment.Purpose.values or purpose == Assignment.Purpose.WEEKLY_SAMPLE:
        raise ValidationError(f"Purpose {purpose!r} cannot be assigned by hand.")
    if not _may_take_assignments(reviewer):
        raise ValidationError("Calls can only be assigned to reviewers, supervisors or admins.")
    result = BulkAssignResult()
    scope = leg_assign_scope(assigned_by)
    legs_by_call = calls_legs(list({call.pk: call for call, _ in legs}.values()))
    calibration = purpose == Assignment.Purpose.CALIBRATION
    live = Assignment.objects.filter(
        call_id__in=list(legs_by_call), purpose=purpose, period__isnull=True
    ).exclude(status=Assignment.Status.CANCELLED)
    # Calibration: one per (call, reviewer), whatever the leg; otherwise one per leg (call, agent).
    taken: set[tuple[int, int | None]] = (
        {(call_id, None) for call_id in live.filter(reviewer=reviewer).values_list("call_id", flat=True)}
        if calibration
        else set(live.values_list("call_id", "agent_id"))
    )
    wanted: list[Assignment] = []
    for call, agent in legs:
        call_legs_ = legs_by_call[call.pk]
        if agent is None:
            leg = default_leg(call, call_legs_, scope)
            agent = leg.agent if leg is not None else None
        elif leg_for_agent(call_legs_, agent.pk) is None:
            result.problems.append((call, "The agent to evaluate must have handled a leg of this call."))
            continue
        if not scope.may_assign(agent):
            result.problems.append(
                (call, "You may not assign this agent's leg of the call (not one of your teams).")
            )
            continue
        if agent is not None and agent.user_id is not None and agent.user_id == reviewer.pk:
            result.problems.append((call, OWN_LEG_MESSAGE))
            continue
        key = (call.pk, None if calibration else (agent.pk if agent else None))
        if key in taken:
            result.problems.append((call, _duplicate_message(purpose)))
            continue
        taken.add(key)
        wanted.append(
            Assignment(
                call=call, reviewer=reviewer, assigned_by=assigned_by, purpose=purpose, agent=agent, note=note
            )
        )
    if not wanted:
        return result
    try:
        with transaction.atomic():
            result.created = Assignment.objects.bulk_create(wanted)
    except IntegrityError:
        # Someone assigned one of these legs between the duplicate check and the INSERT: make them one by
        # one so the others are still made and the lost race is reported for its leg alone.
        for assignment in wanted:
            try:
                with transaction.atomic():
                    assignment.pk = None
                    assignment.save(force_insert=True)
                result.created.append(assignment)
            except IntegrityError:
                result.problems.append((assignment.call, _duplicate_message(purpose)))
    return result


def assignment_cancel(*, assignment: Assignment, user) -> Assignment:
    """Cancel an open assignment (whoever may assign the call, or its reviewer)."""
    if assignment.reviewer_id != user.pk and not _can_assign(user, assignment.call, assignment.agent):
        raise PermissionDenied("You may not cancel this assignment.")
    updated = Assignment.objects.filter(pk=assignment.pk, status=Assignment.Status.OPEN).update(
        status=Assignment.Status.CANCELLED, completed_at=timezone.now()
    )
    if not updated:
        raise ValidationError("Only an open assignment can be cancelled.")
    assignment.refresh_from_db()
    return assignment


# =====================================================================================================
# Disputes
# =====================================================================================================


def dispute_window() -> timedelta:
    return timedelta(days=settings.QA_DISPUTE_WINDOW_DAYS)


@transaction.atomic
def dispute_open(
    *,
    evaluation: Evaluation,
    user,
    items: Mapping[int, str] | Iterable[tuple[Criterion | int, str]],
    reason: str = "",
) -> Dispute:
    """The evaluated agent disputes criteria of a submitted, current review within QA_DISPUTE_WINDOW_DAYS.

    `items` maps criterion (or its id) → reason; at least one, each with a reason. One dispute per
    evaluation, ever: a resolved dispute (or a revision produced by one) cannot be disputed again."""
    evaluation = Evaluation.objects.select_for_update().get(pk=evaluation.pk)
    if not _is_evaluated_agent(evaluation, user):
        raise PermissionDenied("Only the evaluated agent can dispute an evaluation.")
    if evaluation.kind != Evaluation.Kind.REVIEW:
        raise ValidationError("Only reviews can be disputed.")
    if evaluation.status != Evaluation.Status.SUBMITTED or not evaluation.is_current:
        raise ValidationError("Only a submitted, current evaluation can be disputed.")
    if evaluation.revision > 1 or evaluation.disputes.exists():
        raise ValidationError("This evaluation has already been disputed.")
    if timezone.now() > evaluation.submitted_at + dispute_window():
        raise ValidationError(f"The {settings.QA_DISPUTE_WINDOW_DAYS}-day dispute window has closed.")
    pairs = list(items.items()) if isinstance(items, Mapping) else list(items)
    if not pairs:
        raise ValidationError("Choose at least one criterion to dispute.")
    criterion_ids = [c.pk if isinstance(c, Criterion) else int(c) for c, _ in pairs]
    if len(set(criterion_ids)) != len(criterion_ids):
        raise ValidationError("Each criterion can be disputed once.")
    valid_ids = set(evaluation.scorecard.criteria.filter(pk__in=criterion_ids).values_list("pk", flat=True))
    if valid_ids != set(criterion_ids):
        raise ValidationError("Disputed criteria must be on the evaluation's scorecard.")
    if any(not (text or "").strip() for _, text in pairs):
        raise ValidationError("Give a reason for every disputed criterion.")
    try:
        with transaction.atomic():
            dispute = Dispute.objects.create(evaluation=evaluation, raised_by=user, reason=reason)
    except IntegrityError:
        raise ValidationError("This evaluation already has an open dispute.") from None
    DisputeItem.objects.bulk_create(
        DisputeItem(dispute=dispute, criterion_id=cid, reason=text.strip())
        for cid, (_, text) in zip(criterion_ids, pairs, strict=True)
    )
    AuditEntry.objects.create(
        evaluation=evaluation,
        action=AuditEntry.Action.DISPUTE_OPENED,
        actor=user,
        at=dispute.created_at,
        reason=reason,
        dispute=dispute,
    )
    notice_schedule_for_event(kind=Notice.Kind.DISPUTE_OPENED, dispute_id=dispute.pk)
    return dispute


def _display_value(answer: Answer | None):
    if answer is None:
        return None
    return "N/A" if answer.is_na else answer.value


@transaction.atomic
def dispute_resolve(
    *,
    dispute: Dispute,
    user,
    outcome: str,
    note: str,
    new_answers: Mapping[int, int | None] | None = None,
) -> Dispute:
    """Supervisor of the agent's team (or admin) resolves an open dispute.

    outcome "upheld": nothing changes. outcome "adjusted": `new_answers` maps disputed criterion id →
    new value (None = N/A); a new revision (copy with those answers, rescored) becomes the current
    evaluation, the old one is kept and marked superseded, and an audit entry records what changed."""
    dispute = Dispute.objects.select_for_update().select_related("evaluation").get(pk=dispute.pk)
    if not can_resolve_dispute(user, dispute):
        raise PermissionDenied("Only the agent's supervisor or an admin can resolve this dispute.")
    if dispute.status != Dispute.Status.OPEN:
        raise ValidationError("This dispute is already resolved.")
    if not (note or "").strip():
        raise ValidationError("Explain the decision.")
    now = timezone.now()
    old = (
        Evaluation.objects.select_for_update()
        .select_related("call", "scorecard")
        .get(pk=dispute.evaluation_id)
    )
    if outcome == Dispute.Status.UPHELD:
        if new_answers:
            raise ValidationError("Upholding an evaluation changes no answers.")
        dispute.status = Dispute.Status.UPHELD
        dispute.resolved_by, dispute.resolved_at, dispute.resolution_note = user, now, note.strip()
        dispute.save()
        AuditEntry.objects.create(
            evaluation=old,
            action=AuditEntry.Action.DISPUTE_UPHELD,
            actor=user,
            at=now,
            reason=note.strip(),
            dispute=dispute,
            old_score=old.score,
            new_score=old.score,
        )
        notice_schedule_for_event(kind=Notice.Kind.DISPUTE_DECIDED, dispute_id=dispute.pk)
        return dispute
    if outcome != Dispute.Status.ADJUSTED:
        raise ValidationError(f"Unknown outcome {outcome!r}.")
    new_answers = dict(new_answers or {})
    disputed_ids = set(dispute.items.values_list("criterion_id", flat=True))
    if not new_answers:
        raise ValidationError("An adjustment needs at least one new answer.")
    if not set(new_answers) <= disputed_ids:
        raise ValidationError("Only disputed criteria can be adjusted.")

    criteria = list(
        old.scorecard.criteria.select_related("section").order_by("section__position", "position")
    )
    by_id = {c.pk: c for c in criteria}
    old_answers = {a.criterion_id: a for a in old.answers.all()}
    is_resolved, had_hold_or_transfer = call_context(old.call)
    changes = []
    for criterion_id, value in new_answers.items():
        criterion = by_id[criterion_id]
        applies = metrics.criterion_applies(
            criterion.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
        )
        if value is None:
            if applies and not criterion.allows_na:
                raise ValidationError(f"{criterion.key}: N/A is not allowed for this criterion.")
        elif not applies:
            raise ValidationError(f"{criterion.key}: does not apply to this call; it can only be N/A.")
        elif isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= criterion.max_points:
            raise ValidationError(f"{criterion.key}: value must be between 0 and {criterion.max_points}.")
        old_value = _display_value(old_answers.get(criterion_id))
        new_value = "N/A" if value is None else value
        if old_value != new_value:
            changes.append({"criterion": criterion.key, "old": old_value, "new": new_value})
    if not changes:
        raise ValidationError("The new answers are the same as the old ones: uphold the evaluation instead.")

    new = Evaluation.objects.create(
        call=old.call,
        agent=old.agent,
        scorecard=old.scorecard,
        author=old.author,
        assignment=old.assignment,
        kind=old.kind,
        status=Evaluation.Status.SUBMITTED,
        summary=old.summary,
        # The revision reports in the same period as the evaluation it corrects.
        submitted_at=old.submitted_at,
        revision=old.revision + 1,
        supersedes=old,
    )
    copied = {}
    for criterion_id, answer in old_answers.items():
        answer.pk = None
        answer.evaluation = new
        if criterion_id in new_answers:
            value = new_answers[criterion_id]
            answer.is_na, answer.value = value is None, value
            answer.comment = f"Adjusted after dispute: {note.strip()}"
        copied[criterion_id] = answer
    for criterion_id in set(new_answers) - set(copied):
        value = new_answers[criterion_id]
        copied[criterion_id] = Answer(
            evaluation=new,
            criterion_id=criterion_id,
            is_na=value is None,
            value=value,
            comment=f"Adjusted after dispute: {note.strip()}",
        )
    Answer.objects.bulk_create(copied.values())
    _store_scores(new, criteria, copied)
    new.save()
    Evaluation.objects.filter(pk=old.pk).update(is_current=False, updated_at=now)

    dispute.status = Dispute.Status.ADJUSTED
    dispute.resolved_by, dispute.resolved_at, dispute.resolution_note = user, now, note.strip()
    dispute.revised_evaluation = new
    dispute.save()
    for target in (old, new):
        AuditEntry.objects.create(
            evaluation=target,
            action=AuditEntry.Action.DISPUTE_ADJUSTED,
            actor=user,
            at=now,
            reason=note.strip(),
            dispute=dispute,
            revised_evaluation=new,
            changes=changes,
            old_score=old.score,
            new_score=new.score,
        )
    logger.info(
        "dispute %s adjusted evaluation %s -> %s (%s -> %s)", dispute.pk, old.pk, new.pk, old.score, new.score
    )
    analytics_refresh_for_calls_on_commit(call_ids=[old.call_id])
    notice_schedule_for_event(kind=Notice.Kind.DISPUTE_DECIDED, dispute_id=dispute.pk)
    return dispute
