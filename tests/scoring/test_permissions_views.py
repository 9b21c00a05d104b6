"""Permission matrix of the QA web UI: every role × every scoring URL. A role outside a URL's allowed set
must never get a success (2xx, or a 3xx other than the login redirect); a role inside it must succeed,
so the matrix cannot pass by refusing everybody. Each request runs in a savepoint rolled back after it,
so every cell starts from the same data."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from scoring import services
from scoring.competitions.models import Competition
from scoring.models import Answer, Assignment, CoachingSession, Evaluation, Notice, Scorecard
from tests.factories import CallFactory, TransferFactory, UserFactory
from tests.scoring.factories import AssignmentFactory, criteria_by_key, submitted_evaluation

ROLES = ("anonymous", "owner", "teammate", "outsider", "reviewer", "supervisor", "other_supervisor", "admin")
LOGGED_IN = frozenset(ROLES) - {"anonymous"}
FULL = {"a": 1, "b": 4, "crit": 1, "res": 1}


@dataclass
class Cell:
    name: str
    method: str
    url: str
    allowed: frozenset
    data: dict = field(default_factory=dict)
    htmx: bool = False
    # Text that only allowed-to-see roles may find in a 200 page (for lists everyone may open).
    private_marker: str = ""
    marker_visible_to: frozenset = frozenset()


@pytest.fixture
def world(
    team, other_team, owner_agent, teammate_agent, outsider_agent, reviewer, supervisor, admin_user, scorecard
):
    other_supervisor = UserFactory(username="othersup", roles=["supervisor"])
    other_team.supervisors.add(other_supervisor)
    crit = criteria_by_key(scorecard)
    call = CallFactory(external_id="M-CALL", channel="chat", agent=owner_agent)
    AssignmentFactory(call=call, reviewer=reviewer)
    reviewed_call = CallFactory(external_id="M-REVIEWED", channel="chat", agent=owner_agent)
    AssignmentFactory(call=reviewed_call, reviewer=reviewer)
    review = submitted_evaluation(call=reviewed_call, author=reviewer, scorecard=scorecard, values=FULL)
    submitted_evaluation(
        call=reviewed_call, author=owner_agent.user, scorecard=scorecard, values=FULL, kind="self_review"
    )
    disputed_call = CallFactory(external_id="M-DISPUTED", channel="chat", agent=owner_agent)
    AssignmentFactory(call=disputed_call, reviewer=reviewer)
    disputed = submitted_evaluation(call=disputed_call, author=reviewer, scorecard=scorecard, values=FULL)
    dispute = services.dispute_open(evaluation=disputed, user=owner_agent.user, items={crit["a"].pk: "I did"})
    free_call = CallFactory(external_id="M-FREE", channel="chat", agent=owner_agent)
    # Handled by the owner (supervisor's team), transferred to the outsider (other_supervisor's team).
    legs_call = CallFactory(external_id="M-LEGS", channel="chat", agent=owner_agent)
    TransferFactory(call=legs_call, sequence=1, from_agent=owner_agent, to_agent=outsider_agent)
    # QA is per leg: the reviewer is assigned the owner's (handling) leg of this call only, not the leg of
    # the outsider it was transferred to; an assignment of one leg gives no right to the call's other legs.
    split_call = CallFactory(external_id="M-SPLIT", channel="chat", agent=owner_agent)
    TransferFactory(call=split_call, sequence=1, from_agent=owner_agent, to_agent=outsider_agent)
    AssignmentFactory(call=split_call, reviewer=reviewer, agent=owner_agent)
    draft = services.scorecard_create_draft(family="matrix-draft", name="Matrix draft", user=admin_user)
    section = services.section_add(scorecard=draft, user=admin_user, title="Only")
    criterion = services.criterion_add(section=section, user=admin_user, key="k", question="Q?")
    users = {
        "anonymous": None,
        "owner": owner_agent.user,
        "teammate": teammate_agent.user,
        "outsider": outsider_agent.user,
        "reviewer": reviewer,
        "supervisor": supervisor,
        "other_supervisor": other_supervisor,
        "admin": admin_user,
    }
    assignment = Assignment.objects.get(call=call)
    # The owner's notice of the review (made here directly: the fixture runs no on_commit task).
    owner_notice = Notice.objects.create(
        recipient=owner_agent.user,
        kind=Notice.Kind.REVIEW_SUBMITTED,
        evaluation=review,
        event_key=f"evaluation:{review.pk}",
    )
    # A session of the owner, recorded by their supervisor (written directly, as the notice above).
    coaching = CoachingSession.objects.create(
        agent=owner_agent, coach=supervisor, held_on=review.submitted_at.date(), notes="Private coaching note"
    )
    coaching.focus_criteria.set([crit["a"]])
    signed_in = frozenset(role for role in users if role != "anonymous")
    criterion_fields = {
        "key": "k2",
        "question": "Q2?",
        "weight": "1",
        "scale": "yes_no",
        "max_points": "1",
        "applicability": "always",
        "section": section.pk,
    }
    a = crit["a"]
    # A retired version with an auto-check rule, for its disagreements page (retired: visible to every
    # signed-in user like a published one, but never chosen for a call, so the workspace cells keep theirs).
    checked = services.scorecard_create_from_definition(
        definition={
            "family": "matrix-auto",
            "name": "Matrix auto",
            "channels": [],
            "sections": [
                {"title": "S", "criteria": [{"key": "hi", "question": "Hi?", "auto_phrases": ["hello"]}]}
            ],
        },
        publish=False,
    )
    Scorecard.objects.filter(pk=checked.pk).update(
        status=Scorecard.Status.RETIRED, published_at=review.submitted_at
    )
    checked_criterion = checked.criteria.get()
    assigned_leg = {"agent": owner_agent.pk}
    other_leg = {"agent": outsider_agent.pk}
    # Every applicable criterion of the simple scorecard on a resolved call ("unres" is N/A by itself).
    submit_full = {"action": "submit", **{f"c{crit[key].pk}-value": str(v) for key, v in FULL.items()}}
    split_workspace = reverse("scoring:workspace", args=[split_call.pk])
    split_answer = reverse("scoring:workspace_answer", args=[split_call.pk])
    split_summary = reverse("scoring:workspace_summary", args=[split_call.pk])
    reviewer_or_admin = frozenset({"reviewer", "admin"})
    admin_only = frozenset({"admin"})
    leg_cells = [
        Cell("workspace: assigned leg", "get", split_workspace, reviewer_or_admin, data=assigned_leg),
        Cell("workspace: other leg of the call", "get", split_workspace, admin_only, data=other_leg),
        Cell(
            "workspace answer: assigned leg",
            "post",
            split_answer,
            reviewer_or_admin,
            data={"criterion": a.pk, f"c{a.pk}-value": "1", **assigned_leg},
            htmx=True,
        ),
        Cell(
            "workspace answer: other leg",
            "post",
            split_answer,
            admin_only,
            data={"criterion": a.pk, f"c{a.pk}-value": "1", **other_leg},
            htmx=True,
        ),
        Cell(
            "workspace feedback autosave: assigned leg",
            "post",
            split_summary,
            reviewer_or_admin,
            data={"summary": "Well done", **assigned_leg},
            htmx=True,
        ),
        Cell(
            "workspace feedback autosave: other leg",
            "post",
            split_summary,
            admin_only,
            data={"summary": "Well done", **other_leg},
            htmx=True,
        ),
        Cell(
            "workspace save: assigned leg",
            "post",
            split_workspace,
            reviewer_or_admin,
            data={"action": "save", f"c{a.pk}-value": "1", **assigned_leg},
        ),
        Cell(
            "workspace save: other leg",
            "post",
            split_workspace,
            admin_only,
            data={"action": "save", f"c{a.pk}-value": "1", **other_leg},
        ),
        Cell(
            "workspace submit: assigned leg",
            "post",
            split_workspace,
            reviewer_or_admin,
            data={**submit_full, **assigned_leg},
        ),
        Cell(
            "workspace submit: other leg",
            "post",
            split_workspace,
            admin_only,
            data={**submit_full, **other_leg},
        ),
    ]
    # A running contest of the owner's team (Billing East): its agents, their supervisor and admins open it;
    # its standings name agents to the supervisor and admins only (agents see their own position alone).
    today = timezone.localdate()
    contest = Competition.objects.create(
        name="Matrix contest",
        starts_on=today - timedelta(days=3),
        ends_on=today + timedelta(days=4),
        created_by=admin_user,
    )
    contest.teams.set([team])
    contest_fields = {
        "name": "Matrix sprint",
        "metric": "qa",
        "teams": [team.pk],
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=6)).isoformat(),
    }
    competition_cells = [
        Cell(
            "competitions",
            "get",
            reverse("competitions:list"),
            signed_in - {"reviewer"},
            private_marker=f'href="{reverse("competitions:detail", args=[contest.pk])}"',
            marker_visible_to=frozenset({"owner", "teammate", "supervisor", "admin"}),
        ),
        Cell(
            "competition standings",
            "get",
            reverse("competitions:detail", args=[contest.pk]),
            frozenset({"owner", "teammate", "supervisor", "admin"}),
            private_marker=f'data-agent="{teammate_agent.pk}"',
            marker_visible_to=frozenset({"supervisor", "admin"}),
        ),
        Cell(
            "new competition form",
            "get",
            reverse("competitions:new"),
            frozenset({"supervisor", "other_supervisor", "admin"}),
        ),
        # Called off by a manager of every team in it (the contest is Billing East's alone).
        Cell(
            "cancel competition",
            "post",
            reverse("competitions:cancel", args=[contest.pk]),
            frozenset({"supervisor", "admin"}),
        ),
        # Another team's supervisor may not pick Billing East (a field error, 422).
        Cell(
            "new competition post",
            "post",
            reverse("competitions:new"),
            frozenset({"supervisor", "admin"}),
            data=contest_fields,
        ),
    ]
    cells = [
        *competition_cells,
        Cell(
            "queue",
            "get",
            reverse("scoring:queue"),
            frozenset({"reviewer", "supervisor", "other_supervisor", "admin"}),
        ),
        # Which calls each role sees there is tested in tests/scoring/test_calibration.py.
        Cell(
            "calibration",
            "get",
            reverse("scoring:calibration"),
            frozenset({"reviewer", "supervisor", "other_supervisor", "admin"}),
        ),
        Cell(
            "assign page",
            "get",
            reverse("scoring:assign"),
            frozenset({"supervisor", "other_supervisor", "admin"}),
        ),
        Cell(
            "assign post",
            "post",
            reverse("scoring:assign"),
            frozenset({"supervisor", "admin"}),
            data={"reviewer": reviewer.pk, "purpose": "manual", "calls": [free_call.pk]},
        ),
        # The leg picker: each supervisor may assign the leg of their own team's agent only; a forged agent
        # (one who did not handle the call) is refused to everybody, admins included (a field error, 422).
        Cell(
            "assign post: handling agent's leg",
            "post",
            reverse("scoring:assign"),
            frozenset({"supervisor", "admin"}),
            data={
                "reviewer": reviewer.pk,
                "purpose": "manual",
                "calls": [legs_call.pk],
                f"leg-{legs_call.pk}": owner_agent.pk,
            },
        ),
        Cell(
            "assign post: transfer target's leg",
            "post",
            reverse("scoring:assign"),
            frozenset({"other_supervisor", "admin"}),
            data={
                "reviewer": reviewer.pk,
                "purpose": "manual",
                "calls": [legs_call.pk],
                f"leg-{legs_call.pk}": outsider_agent.pk,
            },
        ),
        Cell(
            "assign post: forged leg",
            "post",
            reverse("scoring:assign"),
            frozenset(),
            data={
                "reviewer": reviewer.pk,
                "purpose": "manual",
                "calls": [legs_call.pk],
                f"leg-{legs_call.pk}": teammate_agent.pk,
            },
        ),
        Cell(
            "cancel assignment",
            "post",
            reverse("scoring:assignment_cancel", args=[assignment.pk]),
            frozenset({"reviewer", "supervisor", "admin"}),
        ),
        Cell(
            "workspace", "get", reverse("scoring:workspace", args=[call.pk]), frozenset({"reviewer", "admin"})
        ),
        Cell(
            "workspace answer",
            "post",
            reverse("scoring:workspace_answer", args=[call.pk]),
            frozenset({"reviewer", "admin"}),
            data={"criterion": a.pk, f"c{a.pk}-value": "1"},
            htmx=True,
        ),
        Cell(
            "workspace feedback autosave",
            "post",
            reverse("scoring:workspace_summary", args=[call.pk]),
            frozenset({"reviewer", "admin"}),
            data={"summary": "Well done"},
            htmx=True,
        ),
        Cell(
            "workspace save",
            "post",
            reverse("scoring:workspace", args=[call.pk]),
            frozenset({"reviewer", "admin"}),
            data={"action": "save", f"c{a.pk}-value": "1"},
        ),
        Cell("self-review", "get", reverse("scoring:self_review", args=[call.pk]), frozenset({"owner"})),
        Cell(
            "self-review answer",
            "post",
            reverse("scoring:self_review_answer", args=[call.pk]),
            frozenset({"owner"}),
            data={"criterion": a.pk, f"c{a.pk}-value": "1"},
            htmx=True,
        ),
        Cell(
            "self-review feedback autosave",
            "post",
            reverse("scoring:self_review_summary", args=[call.pk]),
            frozenset({"owner"}),
            data={"summary": "I rushed it"},
            htmx=True,
        ),
        Cell(
            "evaluation",
            "get",
            reverse("scoring:evaluation_detail", args=[review.pk]),
            frozenset({"owner", "reviewer", "supervisor", "admin"}),
        ),
        Cell(
            "acknowledge",
            "post",
            reverse("scoring:evaluation_acknowledge", args=[review.pk]),
            frozenset({"owner"}),
        ),
        Cell("dispute form", "get", reverse("scoring:dispute_open", args=[review.pk]), frozenset({"owner"})),
        Cell(
            "dispute post",
            "post",
            reverse("scoring:dispute_open", args=[review.pk]),
            frozenset({"owner"}),
            data={f"dispute-{a.pk}": "on", f"reason-{a.pk}": "Not fair"},
        ),
        Cell(
            "compare",
            "get",
            reverse("scoring:compare", args=[reviewed_call.pk]),
            frozenset({"owner", "reviewer", "supervisor", "admin"}),
        ),
        Cell(
            "my page",
            "get",
            reverse("scoring:me"),
            frozenset({"owner", "teammate", "outsider"}),
            private_marker=reverse("scoring:evaluation_detail", args=[review.pk]),
            marker_visible_to=frozenset({"owner"}),
        ),
        Cell(
            "dispute list",
            "get",
            reverse("scoring:dispute_list"),
            LOGGED_IN,
            private_marker=reverse("scoring:dispute_detail", args=[dispute.pk]),
            marker_visible_to=frozenset({"owner", "reviewer", "supervisor", "admin"}),
        ),
        Cell(
            "dispute",
            "get",
            reverse("scoring:dispute_detail", args=[dispute.pk]),
            frozenset({"owner", "reviewer", "supervisor", "admin"}),
        ),
        Cell(
            "resolve dispute",
            "post",
            reverse("scoring:dispute_detail", args=[dispute.pk]),
            frozenset({"supervisor", "admin"}),
            data={"outcome": "upheld", "note": "Stands"},
        ),
        Cell(
            "scorecards",
            "get",
            reverse("scoring:scorecard_list"),
            LOGGED_IN,
            private_marker="Matrix draft",
            marker_visible_to=frozenset({"admin"}),
        ),
        Cell(
            "published scorecard", "get", reverse("scoring:scorecard_detail", args=[scorecard.pk]), LOGGED_IN
        ),
        # Single reviews of every agent with their transcripts: scorecard managers only (403 for the other
        # signed-in roles, who see the page's aggregate agreement).
        Cell(
            "auto-check disagreements",
            "get",
            reverse("scoring:criterion_disagreements", args=[checked.pk, checked_criterion.pk]),
            frozenset({"admin"}),
        ),
        Cell(
            "draft scorecard",
            "get",
            reverse("scoring:scorecard_detail", args=[draft.pk]),
            frozenset({"admin"}),
        ),
        Cell("new scorecard form", "get", reverse("scoring:scorecard_create"), frozenset({"admin"})),
        Cell(
            "create scorecard",
            "post",
            reverse("scoring:scorecard_create"),
            frozenset({"admin"}),
            data={"family": "matrix-new", "name": "New"},
        ),
        Cell(
            "edit scorecard",
            "post",
            reverse("scoring:scorecard_edit", args=[draft.pk]),
            frozenset({"admin"}),
            data={"name": "Renamed"},
        ),
        Cell(
            "add section",
            "post",
            reverse("scoring:section_add", args=[draft.pk]),
            frozenset({"admin"}),
            data={"title": "Another"},
        ),
        Cell(
            "edit section",
            "post",
            reverse("scoring:section_edit", args=[draft.pk, section.pk]),
            frozenset({"admin"}),
            data={"title": "Renamed"},
        ),
        Cell(
            "remove section",
            "post",
            reverse("scoring:section_remove", args=[draft.pk, section.pk]),
            frozenset({"admin"}),
        ),
        Cell(
            "add criterion",
            "post",
            reverse("scoring:criterion_add", args=[draft.pk, section.pk]),
            frozenset({"admin"}),
            data={f"s{section.pk}-{k}": v for k, v in criterion_fields.items()},
        ),
        Cell(
            "edit criterion",
            "post",
            reverse("scoring:criterion_edit", args=[draft.pk, criterion.pk]),
            frozenset({"admin"}),
            data=criterion_fields,
        ),
        Cell(
            "remove criterion",
            "post",
            reverse("scoring:criterion_remove", args=[draft.pk, criterion.pk]),
            frozenset({"admin"}),
        ),
        # Everyone has a notices page, listing only their own notices; marking read is the recipient's alone.
        Cell(
            "notices",
            "get",
            reverse("scoring:notices"),
            signed_in,
            private_marker="Review received: call M-REVIEWED",
            marker_visible_to=frozenset({"owner"}),
        ),
        Cell(
            "notice read",
            "post",
            reverse("scoring:notice_read", args=[owner_notice.pk]),
            frozenset({"owner"}),
        ),
        Cell("notices all read", "post", reverse("scoring:notice_read_all"), signed_in),
        # Coaching: recorded by the agent's team supervisor or an admin (the agent and a reviewer may open the
        # agent's analytics page, not record coaching: 403; the others do not see the agent: 404); a session
        # is read by its agent, their supervisors and admins, acknowledged by its agent only.
        Cell(
            "record coaching form",
            "get",
            reverse("scoring:coaching_create", args=[owner_agent.pk]),
            frozenset({"supervisor", "admin"}),
        ),
        Cell(
            "record coaching post",
            "post",
            reverse("scoring:coaching_create", args=[owner_agent.pk]),
            frozenset({"supervisor", "admin"}),
            data={
                "held_on": review.submitted_at.date().isoformat(),
                "focus_criteria": [a.pk],
                "notes": "Talked",
            },
        ),
        Cell(
            "shout-out form",
            "get",
            reverse("scoring:shout_out_create", args=[owner_agent.pk]),
            frozenset({"supervisor", "admin"}),
        ),
        Cell(
            "shout-out post",
            "post",
            reverse("scoring:shout_out_create", args=[owner_agent.pk]),
            frozenset({"supervisor", "admin"}),
            data={"message": "Great save on that refund call"},
        ),
        Cell(
            "coaching session",
            "get",
            reverse("scoring:coaching_detail", args=[coaching.pk]),
            frozenset({"owner", "supervisor", "admin"}),
        ),
        Cell(
            "coaching acknowledge",
            "post",
            reverse("scoring:coaching_acknowledge", args=[coaching.pk]),
            frozenset({"owner"}),
        ),
        Cell(
            "coaching acknowledge (htmx)",
            "post",
            reverse("scoring:coaching_acknowledge", args=[coaching.pk]),
            frozenset({"owner"}),
            htmx=True,
        ),
        # The overview: supervisors and admins (agents and reviewers 403), each seeing only the sessions of their
        # teams' agents, as on the session page.
        Cell(
            "coaching overview",
            "get",
            reverse("scoring:coaching_overview"),
            frozenset({"supervisor", "other_supervisor", "admin"}),
            private_marker=f'href="{reverse("scoring:coaching_detail", args=[coaching.pk])}"',
            marker_visible_to=frozenset({"supervisor", "admin"}),
        ),
        # QA progress: supervisors and admins (agents and reviewers 403), each seeing only their teams' agents
        # (the owner's row is the supervisor's and the admin's, not the other team's supervisor's); its CSV alike.
        Cell(
            "qa progress",
            "get",
            reverse("scoring:progress"),
            frozenset({"supervisor", "other_supervisor", "admin"}),
            private_marker=f'data-agent="{owner_agent.pk}"',
            marker_visible_to=frozenset({"supervisor", "admin"}),
        ),
        Cell(
            "qa progress csv",
            "get",
            reverse("scoring:progress_csv"),
            frozenset({"supervisor", "other_supervisor", "admin"}),
            private_marker=owner_agent.employee_code,
            marker_visible_to=frozenset({"supervisor", "admin"}),
        ),
        # The evaluation export: every signed-in role, each getting the evaluations the pages show them: the owner's
        # review to the owner, the reviewers, the owner's supervisor and the admin; not to the teammate, the
        # outsider or the other team's supervisor.
        Cell(
            "evaluation export csv",
            "get",
            reverse("scoring:evaluation_export"),
            signed_in,
            private_marker="M-REVIEWED",
            marker_visible_to=frozenset({"owner", "reviewer", "supervisor", "admin"}),
        ),
        # My QA lists the owner's own sessions only.
        Cell(
            "my qa coaching",
            "get",
            reverse("scoring:me"),
            frozenset({"owner", "teammate", "outsider"}),
            private_marker=f'href="{reverse("scoring:coaching_detail", args=[coaching.pk])}"',
            marker_visible_to=frozenset({"owner"}),
        ),
        Cell("publish", "post", reverse("scoring:scorecard_publish", args=[draft.pk]), frozenset({"admin"})),
        Cell(
            "new version",
            "post",
            reverse("scoring:scorecard_new_version", args=[scorecard.pk]),
            frozenset({"admin"}),
        ),
        *leg_cells,
    ]
    return users, cells


def _evaluation_rows() -> tuple[int, int]:
    """(evaluations, answers): a refused request must leave both as they were."""
    return Evaluation.objects.count(), Answer.objects.count()


def _is_login_redirect(response) -> bool:
    """A redirect to the login page: plain (302), or for htmx a whole-page one (204 with HX-Redirect)."""
    if response.status_code == 302:
        return response["Location"].startswith(reverse("login"))
    return response.status_code == 204 and response.get("HX-Redirect", "").startswith(reverse("login"))


@pytest.mark.django_db
def test_no_role_gets_a_success_it_is_not_allowed(world):
    users, cells = world
    unauthorized_successes = []
    refused_allowed = []
    leaked = []
    wrote_when_refused = []
    for cell in cells:
        for role in ROLES:
            client = Client()
            if users[role] is not None:
                client.force_login(users[role])
            headers = {"HX-Request": "true"} if cell.htmx else {}
            savepoint = transaction.savepoint_create()
            try:
                before = _evaluation_rows()
                response = getattr(client, cell.method)(cell.url, cell.data, headers=headers)
                success = response.status_code < 400 and not _is_login_redirect(response)
                if not success and _evaluation_rows() != before:
                    wrote_when_refused.append((cell.name, role, response.status_code))
            finally:
                transaction.savepoint_rollback(savepoint)
            if role in cell.allowed:
                if not success:
                    refused_allowed.append((cell.name, role, response.status_code))
            elif success:
                unauthorized_successes.append((cell.name, role, response.status_code))
            else:
                if role == "anonymous":
                    assert _is_login_redirect(response), (cell.name, role, response.status_code)
                else:
                    assert response.status_code in {403, 404, 422}, (cell.name, role, response.status_code)
            if cell.private_marker and response.status_code == 200:
                content = b"".join(response.streaming_content) if response.streaming else response.content
                shown = cell.private_marker in content.decode()
                if shown != (role in cell.marker_visible_to):
                    leaked.append((cell.name, role, shown))

    assert unauthorized_successes == []
    assert refused_allowed == []
    assert leaked == []
    assert wrote_when_refused == []
    assert len(cells) == 69


@pytest.mark.django_db
def test_htmx_autosave_needs_the_csrf_token(client, reviewer, owner_agent, scorecard):
    call = CallFactory(channel="chat", agent=owner_agent)
    AssignmentFactory(call=call, reviewer=reviewer)
    a = criteria_by_key(scorecard)["a"]
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(reviewer)
    url = reverse("scoring:workspace_answer", args=[call.pk])
    data = {"criterion": a.pk, f"c{a.pk}-value": "1"}

    refused = strict.post(url, data, headers={"HX-Request": "true"})
    assert refused.status_code == 403
    assert not call.evaluations.exists()

    page = strict.get(reverse("scoring:workspace", args=[call.pk]))
    token = page.cookies["csrftoken"].value
    accepted = strict.post(url, data, headers={"HX-Request": "true", "X-CSRFToken": token})
    assert accepted.status_code == 200
    assert call.evaluations.get().answers.get().value == 1


@pytest.mark.django_db
def test_a_supervisor_cannot_resolve_a_dispute_of_another_team(
    client, outsider_agent, reviewer, scorecard, supervisor
):
    call = CallFactory(channel="chat", agent=outsider_agent)
    AssignmentFactory(call=call, reviewer=reviewer)
    evaluation = submitted_evaluation(call=call, author=reviewer, scorecard=scorecard, values=FULL)
    a = criteria_by_key(scorecard)["a"]
    dispute = services.dispute_open(evaluation=evaluation, user=outsider_agent.user, items={a.pk: "No"})
    client.force_login(supervisor)

    response = client.post(
        reverse("scoring:dispute_detail", args=[dispute.pk]), {"outcome": "upheld", "note": "x"}
    )

    dispute.refresh_from_db()
    assert response.status_code == 404
    assert dispute.status == "open"


@pytest.mark.django_db
def test_an_author_cannot_see_another_reviewers_calibration(client, reviewer, owner_agent, scorecard):
    other = UserFactory(username="calibrator", roles=["reviewer"])
    call = CallFactory(channel="chat", agent=owner_agent)
    AssignmentFactory(call=call, reviewer=other, purpose="calibration")
    calibration = submitted_evaluation(
        call=call, author=other, scorecard=scorecard, values=FULL, kind="calibration"
    )
    client.force_login(reviewer)

    assert client.get(reverse("scoring:evaluation_detail", args=[calibration.pk])).status_code == 404
    # and the owner agent never sees a calibration of themselves either
    client.force_login(owner_agent.user)
    assert client.get(reverse("scoring:evaluation_detail", args=[calibration.pk])).status_code == 404


def test_every_scoring_url_is_in_the_matrix():
    from scoring import urls

    names = {pattern.name for pattern in urls.urlpatterns}
    covered = {
        "queue",
        "assign",
        "assignment_cancel",
        "workspace",
        "workspace_answer",
        "workspace_summary",
        "self_review",
        "self_review_answer",
        "self_review_summary",
        "compare",
        "evaluation_detail",
        "evaluation_acknowledge",
        "dispute_open",
        "me",
        "calibration",
        "dispute_list",
        "dispute_detail",
        "scorecard_list",
        "scorecard_create",
        "scorecard_detail",
        "scorecard_edit",
        "scorecard_publish",
        "scorecard_new_version",
        "section_add",
        "section_edit",
        "section_remove",
        "criterion_add",
        "criterion_edit",
        "criterion_remove",
        "criterion_disagreements",
        "notices",
        "notice_read",
        "notice_read_all",
        "coaching_overview",
        "progress",
        "progress_csv",
        "evaluation_export",
        "coaching_create",
        "shout_out_create",
        "coaching_detail",
        "coaching_acknowledge",
    }
    assert names == covered
