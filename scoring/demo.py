"""Demo QA data: submitted evaluations consistent with the demo agents and their transcripts, a few
self-reviews, disputes (open and resolved), calibration sessions, coaching sessions and open assignments.

`seed_evaluations` reads each call's transcript (written by calls.demo from the agent's profile) the way
a reviewer would: the greeting line, the recording disclosure, "anything else?" on an unresolved call…
Where a transcript says nothing (no summary line, say), the agent's profile decides, so a good closer
closes well in every data set. Reviewer judgement adds a little noise on the 0–N items. Compliance
(critical) fails when the agent asks for a full card number; the recording notice is taken as played
by the IVR, so its absence in the transcript is not scored as a breach.

Bulk: evaluations, answers, section scores and audit entries go in with bulk_create; disputes go through
the services (a handful), so their audit trail is the real one. Idempotent: if any evaluation exists,
nothing is written.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Iterable
from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef
from django.utils import timezone

from calls import roles
from calls.demo import ANYTHING_ELSE, BRAND, agent_profile
from calls.models import Agent, Call

from . import autocheck, metrics, services
from .analytics.rollups import counted_evaluations
from .coaching.selectors import coaching_focus_choices
from .coaching.services import coaching_session_acknowledge, coaching_session_create
from .legs import calls_legs, leg_opens_and_closes
from .models import (
    Answer,
    AuditEntry,
    CoachingSession,
    Criterion,
    Dispute,
    Evaluation,
    Notice,
    Scorecard,
    SectionScore,
)
from .notices.services import (
    notice_create_for_due_follow_ups,
    notice_create_for_event,
    notice_create_for_weekly_digests,
)
from .sampling import weekly_sample_assign
from .selectors import scorecard_for_call
from .ui_support import numbered_transcript

# Reviewed calls that the other demo reviewers score again (calibration), spread over the period.
CALIBRATION_CALLS = 18


@dataclass(frozen=True)
class _Skills:
    """The profile fields the demo scoring uses, with a neutral default for non-demo agents."""

    greeting: float = 0.7
    verification: float = 0.7
    history_use: float = 0.7
    empathy: float = 0.7
    script_adherence: float = 0.7
    common_sense: float = 0.7
    resolution: float = 0.7
    closing: float = 0.7
    compliance: float = 0.9
    first_name: str = ""


def _skills(agent: Agent) -> _Skills:
    try:
        profile = agent_profile(agent.employee_code)
    except (ValueError, KeyError, TypeError):
        return _Skills(first_name=(agent.name or "").split(" ")[0])
    return _Skills(
        greeting=profile.greeting,
        verification=profile.verification,
        history_use=profile.history_use,
        empathy=profile.empathy,
        script_adherence=profile.script_adherence,
        common_sense=profile.common_sense,
        resolution=profile.resolution,
        closing=profile.closing,
        compliance=profile.compliance,
        first_name=profile.first_name,
    )


def _agent_lines(transcript: str) -> list[str]:
    return [line.removeprefix("Agent: ") for line in transcript.splitlines() if line.startswith("Agent: ")]


def demo_answers(call: Call, skills: _Skills, rng: random.Random, *, had_hold_or_transfer: bool) -> dict:
    """Voice QA answers for a call: key -> points, or None for N/A (inapplicable items included)."""
    text = call.transcript or ""
    lines = _agent_lines(text)
    has_transcript = bool(lines)

    def chance(p: float) -> int:
        return int(rng.random() < p)

    first = lines[0] if lines else ""
    answers: dict[str, int | None] = {}
    if has_transcript:
        answers["greeting_brand"] = int(bool(BRAND) and BRAND in first)
        answers["greeting_own_name"] = int(bool(skills.first_name) and skills.first_name in first)
        answers["greeting_offer_help"] = int("help" in first.lower())
    else:
        answers["greeting_brand"] = answers["greeting_own_name"] = answers["greeting_offer_help"] = chance(
            skills.greeting
        )
    if call.customer_id is None:
        answers["identity_verified"] = None
    elif has_transcript:
        answers["identity_verified"] = int("you're verified" in text)
    else:
        answers["identity_verified"] = chance(skills.verification)
    if has_transcript:
        if "I called on" in text:
            answers["history_used"] = int("don't need to explain it again" in text)
        else:
            answers["history_used"] = None
    else:
        answers["history_used"] = chance(skills.history_use)
    empathetic = "I'm sorry" in text if has_transcript else rng.random() < skills.empathy
    answers["empathy"] = 2 if empathetic else rng.choice((0, 1))
    asked_anything_else = ANYTHING_ELSE in text if has_transcript else rng.random() < skills.script_adherence
    if call.is_resolved:
        answers["script_common_sense"] = 2 if asked_anything_else else 1
        answers["accurate_resolution"] = 4 if rng.random() < skills.resolution else 3
    else:
        set_next_steps = "opened a case" in text if has_transcript else rng.random() < skills.common_sense
        answers["script_common_sense"] = 0 if asked_anything_else else (2 if set_next_steps else 1)
        answers["accurate_resolution"] = 2 if set_next_steps else rng.choice((0, 1))
    if had_hold_or_transfer:
        if has_transcript:
            good = "May I place you on a brief hold" in text or "passing on the details" in text
            bad = "Hold on." in lines or "I'll transfer you." in lines
            answers["hold_transfer_etiquette"] = 0 if bad else int(good)
        else:
            answers["hold_transfer_etiquette"] = chance(skills.script_adherence)
    else:
        answers["hold_transfer_etiquette"] = None
    answers["closing_summary"] = chance(skills.closing)
    if call.is_resolved:
        answers["closing_confirms_resolution"] = chance(max(skills.closing, skills.script_adherence))
        answers["closing_anything_else"] = int(asked_anything_else)
        answers["closing_next_steps"] = None
    else:
        answers["closing_confirms_resolution"] = None
        answers["closing_anything_else"] = None
        answers["closing_next_steps"] = int(set_next_steps and not asked_anything_else)
    if has_transcript:
        answers["closing_thanks"] = int(bool(lines) and "Thank you for calling" in lines[-1])
        # The demo center's IVR plays the recording notice, so an agent skipping it is not a breach;
        # asking for a full card number and security code is (PCI), and fails the evaluation.
        answers["compliance"] = int("full card number" not in text)
    else:
        answers["closing_thanks"] = chance(skills.closing)
        answers["compliance"] = chance(skills.compliance)
    return answers


def _score(criteria: list[Criterion], values: dict) -> metrics.ScoreResult:
    return metrics.compute_score(
        metrics.ScoredAnswer(
            weight=c.weight,
            possible=c.max_points,
            earned=values.get(c.key),
            is_critical=c.is_critical,
            section=c.section_id,
        )
        for c in criteria
    )


def _self_view(values: dict, rng: random.Random) -> dict:
    """Agents rate themselves a little more kindly: some misses become hits."""
    kinder = {}
    for key, value in values.items():
        if value == 0 and rng.random() < 0.4:
            value = 1
        kinder[key] = value
    return kinder


def _reviewer_view(values: dict, criteria: dict[str, Criterion], rng: random.Random, bias: int) -> dict:
    """Another reviewer's take on the same call (calibration): ±1 (plus their lean) on a points item now
    and then, a yes/no item misheard now and then. Critical items are read from the transcript (a card
    number asked for is there or not), so colleagues never differ on them."""
    other = {}
    for key, value in values.items():
        criterion = criteria[key]
        # A reviewer with a lean acts on it more often than chance alone moves a score.
        moved = 0.5 if bias else 0.35
        if value is not None and criterion.scale == Criterion.Scale.POINTS and rng.random() < moved:
            value = min(criterion.max_points, max(0, value + rng.choice((-1, 1)) + bias))
        elif value is not None and not criterion.is_critical and rng.random() < 0.05:
            value = 1 - value if criterion.max_points == 1 else value
        other[key] = value
    return other


def _reviewers() -> list:
    users = list(
        get_user_model()
        .objects.filter(is_active=True, groups__name=roles.REVIEWER)
        .distinct()
        .order_by("username")
    )
    if not users:
        users = list(
            get_user_model().objects.filter(is_active=True, is_superuser=True).order_by("username")[:1]
        )
    return users


def _say(stdout, message: str) -> None:
    if stdout is not None:
        stdout.write(message)


@transaction.atomic
def seed_evaluations(*, seed: int = 42, share: float = 0.15, stdout=None) -> dict:
    """Create demo QA data for about `share` of the answered phone calls (see module docstring)."""
    if Evaluation.objects.exists():
        _say(stdout, "Evaluations already exist: QA demo data left as it is.")
        return {"skipped": True, "evaluations": Evaluation.objects.count()}
    reviewers = _reviewers()
    if not reviewers:
        _say(stdout, "No reviewer (or superuser) account: no QA demo data.")
        return {"skipped": True, "evaluations": 0}
    rng = random.Random(seed)
    now = timezone.now()
    # Draw the sample over the candidate ids (one random number per candidate, in id order, as before),
    # then load only the sampled calls: at a million calls, loading every transcript took minutes.
    candidate_ids = Call.objects.filter(
        agent__isnull=False, answered_at__isnull=False, ended_at__lt=now - dt.timedelta(hours=1)
    ).order_by("id")
    sample_ids = [pk for pk in candidate_ids.values_list("id", flat=True).iterator() if rng.random() < share]
    sample = []
    for start in range(0, len(sample_ids), 5000):
        sample.extend(
            Call.objects.filter(pk__in=sample_ids[start : start + 5000])
            .select_related("agent")
            .order_by("id")
        )
    transferred = set(
        Call.objects.filter(pk__in=[c.pk for c in sample], transfers__isnull=False).values_list(
            "pk", flat=True
        )
    )
    with_hold_or_transfer = transferred | {c.pk for c in sample if c.hold_seconds > 0}

    scorecards: dict[int, Scorecard | None] = {}
    criteria_of: dict[int, list[Criterion]] = {}
    skills_of: dict[int, _Skills] = {}
    evaluations: list[Evaluation] = []
    answer_values: list[dict] = []
    results: list[metrics.ScoreResult] = []
    skipped_channel = 0

    def add(call, author, kind, values, submitted_at, acknowledged_at=None):
        scorecard = scorecards[call.pk]
        result = _score(criteria_of[scorecard.pk], values)
        evaluations.append(
            Evaluation(
                call=call,
                agent=call.agent,
                scorecard=scorecard,
                author=author,
                kind=kind,
                status=Evaluation.Status.SUBMITTED,
                score=result.score_for_storage,
                is_auto_failed=result.is_auto_failed,
                submitted_at=submitted_at,
                acknowledged_at=acknowledged_at,
            )
        )
        answer_values.append(values)
        results.append(result)

    agent_users = dict(Agent.objects.filter(user__isnull=False).values_list("pk", "user_id"))
    users_by_id = {u.pk: u for u in get_user_model().objects.filter(pk__in=agent_users.values())}
    self_review_calls = []
    # The scorecard depends on the call's department and channel only: look it up once per pair.
    scorecard_by_kind: dict[tuple[int | None, str], Scorecard | None] = {}
    for index, call in enumerate(sample):
        if call.pk not in scorecards:
            kind = (call.department_id, call.channel)
            if kind not in scorecard_by_kind:
                scorecard_by_kind[kind] = scorecard_for_call(call)
            scorecards[call.pk] = scorecard_by_kind[kind]
        scorecard = scorecards[call.pk]
        if scorecard is None:
            skipped_channel += 1
            continue
        if scorecard.pk not in criteria_of:
            criteria_of[scorecard.pk] = list(scorecard.criteria.all())
        skills = skills_of.setdefault(call.agent_id, _skills(call.agent))
        values = demo_answers(call, skills, rng, had_hold_or_transfer=call.pk in with_hold_or_transfer)
        keys = {c.key for c in criteria_of[scorecard.pk]}
        values = {k: v for k, v in values.items() if k in keys}
        submitted_at = min(
            call.ended_at + dt.timedelta(hours=rng.uniform(2, 96)), now - dt.timedelta(minutes=5)
        )
        acknowledged_at = None
        if now - submitted_at > dt.timedelta(days=2) and rng.random() < 0.6:
            acknowledged_at = submitted_at + dt.timedelta(hours=rng.uniform(1, 40))
        add(
            call,
            reviewers[index % len(reviewers)],
            Evaluation.Kind.REVIEW,
            values,
            submitted_at,
            acknowledged_at,
        )
        if call.agent_id in agent_users and rng.random() < 0.5:
            self_review_calls.append((call, values, submitted_at))

    # Self-reviews beside the reviewer's, for agents who have a login.
    for call, values, submitted_at in self_review_calls:
        add(
            call,
            users_by_id[agent_users[call.agent_id]],
            Evaluation.Kind.SELF_REVIEW,
            _self_view(values, rng),
            submitted_at,
        )

    # Calibration: the other reviewers score a few reviewed calls again, spread over the whole period so
    # every period filter finds some (needs two or more reviewers). The call's review is its reviewer's
    # rating; each colleague reads the points items a little differently, with a lean of their own.
    calibration = 0
    if len(reviewers) >= 2:
        reviewed = sorted(
            (i for i, e in enumerate(evaluations) if e.kind == Evaluation.Kind.REVIEW),
            key=lambda i: (evaluations[i].submitted_at, i),
        )
        step = max(1, len(reviewed) // CALIBRATION_CALLS)
        # The first reviewer scores as the review does, the second a little kindly, the third strictly.
        leans = {r.pk: (0, 1, -1)[position % 3] for position, r in enumerate(reviewers)}
        for index in reviewed[step // 2 :: step][:CALIBRATION_CALLS]:
            evaluation, values = evaluations[index], answer_values[index]
            criteria = {c.key: c for c in criteria_of[evaluation.scorecard_id]}
            for reviewer in reviewers:
                if reviewer.pk == evaluation.author.pk:
                    continue
                add(
                    evaluation.call,
                    reviewer,
                    Evaluation.Kind.CALIBRATION,
                    _reviewer_view(values, criteria, rng, leans[reviewer.pk]),
                    min(
                        evaluation.submitted_at + dt.timedelta(hours=rng.uniform(1, 48)),
                        now - dt.timedelta(minutes=5),
                    ),
                )
                calibration += 1

    created = Evaluation.objects.bulk_create(evaluations, batch_size=2000)
    leg_ends = _leg_ends(transferred)
    answers, section_scores, audit = [], [], []
    for evaluation, values, result in zip(created, answer_values, results, strict=True):
        auto_values = _auto_values(evaluation, criteria_of[evaluation.scorecard_id], values, leg_ends)
        for criterion in criteria_of[evaluation.scorecard_id]:
            value = values.get(criterion.key)
            answers.append(
                Answer(
                    evaluation=evaluation,
                    criterion=criterion,
                    value=value,
                    is_na=value is None,
                    auto_value=auto_values.get(criterion.pk),
                )
            )
        for section_id, score in result.section_scores.items():
            section_scores.append(
                SectionScore(evaluation=evaluation, section_id=section_id, score=metrics.to_storage(score))
            )
        audit.append(
            AuditEntry(
                evaluation=evaluation,
                action=AuditEntry.Action.SUBMITTED,
                actor=evaluation.author,
                at=evaluation.submitted_at,
                new_score=evaluation.score,
            )
        )
        if evaluation.acknowledged_at:
            audit.append(
                AuditEntry(
                    evaluation=evaluation,
                    action=AuditEntry.Action.ACKNOWLEDGED,
                    actor_id=agent_users.get(evaluation.agent_id),
                    at=evaluation.acknowledged_at,
                )
            )
    Answer.objects.bulk_create(answers, batch_size=5000)
    SectionScore.objects.bulk_create(section_scores, batch_size=5000)
    AuditEntry.objects.bulk_create(audit, batch_size=5000)

    disputes = _seed_disputes(created, answer_values, agent_users, users_by_id, rng, now)
    coaching = _seed_coaching(now)
    notices = _seed_notices(created, agent_users, now)
    assignments = _seed_assignments(seed, reviewers)
    summary = {
        "skipped": False,
        "evaluations": len(created),
        "reviews": sum(1 for e in created if e.kind == Evaluation.Kind.REVIEW),
        "self_reviews": len(self_review_calls),
        "calibration": calibration,
        "answers": len(answers),
        "auto_failed": sum(1 for e in created if e.is_auto_failed),
        "skipped_no_scorecard": skipped_channel,
        **disputes,
        "coaching_sessions": coaching,
        "notices": notices,
        "assignments": assignments,
    }
    _say(
        stdout,
        f"QA demo: {summary['reviews']} reviews, {summary['self_reviews']} self-reviews, "
        f"{calibration} calibration scores, {disputes['disputes_open']} open and "
        f"{disputes['disputes_resolved']} resolved disputes, {coaching} coaching sessions, {notices} notices, "
        f"{assignments} open assignments.",
    )
    return summary


def _leg_ends(transferred: set[int]) -> dict[int, tuple[bool, bool]]:
    """Whether the handling agent (the one reviewed) opened and closed each transferred call; calls without a
    transfer are theirs from start to end. Two queries per 5000 transferred calls."""
    ids, ends = sorted(transferred), {}
    for start in range(0, len(ids), 5000):
        calls = list(
            Call.objects.filter(pk__in=ids[start : start + 5000]).select_related("agent__team", "department")
        )
        agents = {call.pk: call.agent_id for call in calls}
        for call_id, legs in calls_legs(calls).items():
            ends[call_id] = leg_opens_and_closes(legs, agents[call_id])
    return ends


def _auto_values(
    evaluation: Evaluation, criteria: list[Criterion], values: dict, leg_ends: dict[int, tuple[bool, bool]]
) -> dict[int, int]:
    """What each auto-check rule suggested on a seeded review, as evaluation_submit records it (the transcript's
    speakers are labelled "Agent"/"Customer" in the demo, so no names are needed)."""
    checked = [c for c in criteria if c.auto_phrases and values.get(c.key) is not None]
    if evaluation.kind != Evaluation.Kind.REVIEW or not checked:
        return {}
    first_leg, last_leg = leg_ends.get(evaluation.call_id, (True, True))
    lines = numbered_transcript(evaluation.call.transcript or "")
    auto_values = {}
    for criterion in checked:
        suggestion = autocheck.suggest(criterion, lines, first_leg=first_leg, last_leg=last_leg)
        if suggestion is not None:
            auto_values[criterion.pk] = suggestion.value
    return auto_values


def _seed_disputes(created: Iterable[Evaluation], answer_values, agent_users, users_by_id, rng, now) -> dict:
    """A few disputes by agents with a login: some left open, one upheld, one adjusted."""
    candidates = [
        (evaluation, values)
        for evaluation, values in zip(created, answer_values, strict=True)
        if evaluation.kind == Evaluation.Kind.REVIEW and evaluation.agent_id in agent_users
    ]
    candidates = [(e, v) for e, v in candidates if any(value == 0 for value in v.values())]
    rng.shuffle(candidates)
    resolver = get_user_model().objects.filter(is_superuser=True, is_active=True).order_by("pk").first()
    opened = resolved = 0
    for number, (evaluation, values) in enumerate(candidates[:4]):
        # Disputes must fall within the window: these evaluations were submitted recently.
        recent = now - dt.timedelta(days=1, hours=number)
        Evaluation.objects.filter(pk=evaluation.pk).update(submitted_at=recent, acknowledged_at=None)
        AuditEntry.objects.filter(evaluation=evaluation, action=AuditEntry.Action.SUBMITTED).update(at=recent)
        AuditEntry.objects.filter(evaluation=evaluation, action=AuditEntry.Action.ACKNOWLEDGED).delete()
        evaluation.refresh_from_db()
        criteria = {c.key: c for c in evaluation.scorecard.criteria.all()}
        missed = [key for key, value in values.items() if value == 0][:2]
        agent_user = users_by_id[agent_users[evaluation.agent_id]]
        dispute = services.dispute_open(
            evaluation=evaluation,
            user=agent_user,
            items={
                criteria[key].pk: f"I believe I did cover '{criteria[key].question}' — please re-listen."
                for key in missed
            },
            reason="Please re-check these items against the recording.",
        )
        opened += 1
        if number >= 2 and resolver is not None:
            if number == 2:
                services.dispute_resolve(
                    dispute=dispute,
                    user=resolver,
                    outcome="upheld",
                    note="Re-listened: the original scoring stands.",
                )
            else:
                services.dispute_resolve(
                    dispute=dispute,
                    user=resolver,
                    outcome="adjusted",
                    note="Re-listened: the agent is right on the first item.",
                    new_answers={criteria[missed[0]].pk: criteria[missed[0]].max_points},
                )
            resolved += 1
    return {"disputes_open": opened - resolved, "disputes_resolved": resolved}


# Coaching sessions in the demo: the first agents (by id) that can be coached get one each.
DEMO_COACHING_SESSIONS = 2


def _seed_coaching(now) -> int:
    """A couple of coaching sessions, made by the service (so each is valid and tells its agent). No random
    draw (the demo's other figures stay as they were): the first agents by id with a login, a supervisor
    and current reviews, each coached by that supervisor a few days ago on their two most often failed
    criteria, discussing their two latest reviews; the first session is acknowledged."""
    choices = {criterion.key: criterion for criterion in coaching_focus_choices()}
    reviewed = Evaluation.objects.filter(agent=OuterRef("pk"), **counted_evaluations())
    agents = (
        Agent.objects.filter(user__isnull=False, user__is_active=True, team__isnull=False)
        .filter(Exists(reviewed))
        .select_related("team", "user")
        .order_by("pk")
    )
    made = []
    for agent in agents:
        if len(made) == DEMO_COACHING_SESSIONS:
            break
        coach = agent.team.supervisors.filter(is_active=True).exclude(pk=agent.user_id).order_by("pk").first()
        if coach is None:
            continue
        failed = (
            Answer.objects.filter(
                **counted_evaluations("evaluation__"),
                evaluation__agent=agent,
                is_na=False,
                value__lt=F("criterion__max_points"),
            )
            .values("criterion__key")
            .annotate(failures=Count("pk"))
            .order_by("-failures", "criterion__key")
        )
        keys = [row["criterion__key"] for row in failed if row["criterion__key"] in choices][:2]
        if not keys:
            continue
        held_on = timezone.localdate(now) - dt.timedelta(days=3 + 4 * len(made))
        made.append(
            coaching_session_create(
                agent=agent,
                coach=coach,
                held_on=held_on,
                focus_criteria=[choices[key] for key in keys],
                notes="We listened to two recent calls together and compared them with the scorecard.",
                agreed_actions="Practise the items in focus on every call this week; ask when unsure.",
                follow_up_on=held_on + dt.timedelta(days=14),
                evaluations=Evaluation.objects.filter(agent=agent, **counted_evaluations()).order_by(
                    "-submitted_at", "-id"
                )[:2],
            )
        )
    if made:
        coaching_session_acknowledge(session=made[0], user=made[0].agent.user)
    return len(made)


# Notices older than this are shown as read: the demo agents have kept up, except with the last few days.
DEMO_NOTICES_UNREAD_DAYS = 3


def _seed_notices(created: Iterable[Evaluation], agent_users: dict[int, int], now) -> int:
    """The notices of the demo's events, made by the service the Celery task runs (reviews of agents with a
    login, every dispute opened and decided, every coaching session and its follow-up once due, each supervisor's
    weekly digest). Returns how many notices exist."""
    for evaluation in created:
        if evaluation.kind == Evaluation.Kind.REVIEW and evaluation.agent_id in agent_users:
            notice_create_for_event(kind=Notice.Kind.REVIEW_SUBMITTED, evaluation_id=evaluation.pk)
    for dispute in Dispute.objects.order_by("pk").only("pk", "status"):
        notice_create_for_event(kind=Notice.Kind.DISPUTE_OPENED, dispute_id=dispute.pk)
        if dispute.status != Dispute.Status.OPEN:
            notice_create_for_event(kind=Notice.Kind.DISPUTE_DECIDED, dispute_id=dispute.pk)
    for coaching_session_id in CoachingSession.objects.order_by("pk").values_list("pk", flat=True):
        notice_create_for_event(kind=Notice.Kind.COACHING_RECORDED, coaching_session_id=coaching_session_id)
    # The follow-ups that have come tell their coach, as the daily task would.
    notice_create_for_due_follow_ups()
    # Each supervisor's digest of last week, as Monday's task writes it (nothing with QA_WEEKLY_DIGEST off).
    notice_create_for_weekly_digests(now=now)
    Notice.objects.filter(created_at__lt=now - dt.timedelta(days=DEMO_NOTICES_UNREAD_DAYS)).update(
        read_at=now
    )
    return Notice.objects.count()


def _seed_assignments(seed: int, reviewers) -> int:
    """Fill reviewers' queues with last week's sample."""
    latest = Call.objects.order_by("-started_at").values_list("started_at", flat=True).first()
    if latest is None:
        return 0
    latest_date = timezone.localtime(latest).date()
    week_start = latest_date - dt.timedelta(days=latest_date.weekday())
    result = weekly_sample_assign(week_start=week_start, seed=seed, reviewers=reviewers)
    return result.created
