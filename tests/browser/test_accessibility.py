"""Accessibility of the main pages, checked by axe-core (a tool from outside the team, from the npm registry
as a dev dependency) in Debian's Chromium: every role on the seeded demo data, one browser session.

The rules run are WCAG 2.0 and 2.1 A and AA plus axe's best practices (landmarks, heading order, a main
region...); violations of impact "serious" or "critical" fail the test, each listed with its page, rule and
targets. Set AXE_REPORT to a file path to also write every violation found, of any impact, as JSON.
The second test checks by keyboard what axe cannot: the scoring form's tab order and its focus ring.
"""

from __future__ import annotations

import json
import os
from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count
from django.utils import timezone
from playwright.sync_api import expect

from calls.models import Call, Escalation
from scoring.metrics import criterion_applies
from scoring.models import Assignment, Dispute, Evaluation
from scoring.selectors import call_context, can_dispute, scorecard_for_call
from scoring.surveys.models import SurveyInvitation
from scoring.surveys.tokens import token_generate
from tests.browser.helpers import login
from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory
from tests.scoring.factories import AssignmentFactory, simple_scorecard, submitted_evaluation

AXE_PATH = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"
DEMO_PASSWORD = "demo"
FAILING_IMPACTS = {"serious", "critical"}
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# axe.run resolves to a plain object; only what the failure message needs crosses back to Python.
AXE_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: 'tag', values: tags}, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


class AxeSweep:
    """Runs axe on the current page of a Playwright page and keeps what it finds, per page name."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.violations: list[dict] = []
        self.pages: list[str] = []

    def visit(self, name: str, path: str | None, *, heading: str = "") -> None:
        """Open path (None: stay on the current page), check it is the page meant, and run axe on it."""
        if path is not None:
            response = self.page.goto(f"{self.base_url}{path}")
            assert response is not None and response.status == 200, (
                f"{name}: {path} answered {response.status}"
            )
        if heading:
            expect(self.page.locator("h1")).to_contain_text(heading)
        self.page.add_script_tag(path=str(AXE_PATH))
        for violation in self.page.evaluate(AXE_RUN, AXE_TAGS):
            self.violations.append({"page": name, **violation})
        self.pages.append(name)

    def failures(self) -> list[str]:
        return [
            f"{v['page']}: {v['id']} ({v['impact']}) {v['help']} at {', '.join(v['targets'][:5])}"
            + (f" and {len(v['targets']) - 5} more" if len(v["targets"]) > 5 else "")
            for v in self.violations
            if v["impact"] in FAILING_IMPACTS
        ]

    def write_report(self) -> None:
        path = os.environ.get("AXE_REPORT")
        if path:
            Path(path).write_text(json.dumps({"pages": self.pages, "violations": self.violations}, indent=1))


def _seed_demo() -> None:
    """The demo data (calls with transcripts and transfers, reviews, disputes, surveys, notices), kept small;
    calls end yesterday, so a run gives the same data all day."""
    call_command("seed_demo", calls=80, agents=6, days=10, end_date=timezone.localdate(), stdout=StringIO())


def _call_with_transcript_transfers_and_escalations() -> Call:
    """A seeded call with a transcript and a transfer; it gets an escalation if the demo gave it none."""
    call = (
        Call.objects.annotate(transfer_count=Count("transfers", distinct=True))
        .filter(transfer_count__gt=0)
        .exclude(transcript="")
        .annotate(escalation_count=Count("escalations", distinct=True))
        .order_by("-escalation_count", "pk")
        .first()
    )
    assert call is not None, "the demo seeded no transferred call with a transcript"
    if not call.escalations.exists():
        Escalation.objects.create(
            call=call, sequence=1, level="supervisor", reason="Asked for a manager", raised_at=call.started_at
        )
    return call


def _fresh_review_of(agent_user) -> Evaluation:
    """A submitted review of a demo agent's call that they may still dispute (the demo disputes all of
    theirs): full marks wherever the criterion applies to the call, N/A elsewhere."""
    user_model = get_user_model()
    for call in Call.objects.filter(agent__user=agent_user, evaluations__isnull=True).order_by("pk"):
        scorecard = scorecard_for_call(call)
        if scorecard is None:
            continue
        is_resolved, had_hold_or_transfer = call_context(call)
        values = {
            criterion.key: criterion.max_points
            if criterion_applies(
                criterion.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
            )
            else "na"
            for criterion in scorecard.criteria.all()
        }
        evaluation = submitted_evaluation(
            call=call, author=user_model.objects.get(username="admin"), scorecard=scorecard, values=values
        )
        assert can_dispute(agent_user, evaluation)
        return evaluation
    raise AssertionError(f"no call of {agent_user.username} left to review")


def _open_survey_link() -> str:
    """The raw token of a seeded invitation still waiting for its answer (the database keeps only hashes,
    so the invitation gets a token the test knows)."""
    invitation = (
        SurveyInvitation.objects.filter(
            status=SurveyInvitation.Status.SENT, used_at__isnull=True, expires_at__gt=timezone.now()
        )
        .order_by("pk")
        .first()
    )
    assert invitation is not None, "the demo seeded no survey invitation waiting for an answer"
    raw, digest = token_generate()
    invitation.token_hash = digest
    invitation.save(update_fields=["token_hash"])
    return raw


@pytest.mark.browser
# Transactional (the live server reads the seeded rows from another thread), as the other browser tests.
@pytest.mark.django_db(transaction=True)
def test_main_pages_of_every_role_have_no_serious_or_critical_axe_violations(page, live_server):
    assert AXE_PATH.is_file(), f"{AXE_PATH} is missing: run `make assets` (npm installs axe-core)"
    _seed_demo()
    call = _call_with_transcript_transfers_and_escalations()
    open_dispute = (
        Dispute.objects.filter(status=Dispute.Status.OPEN, evaluation__agent__user__isnull=False)
        .select_related("evaluation__agent__user", "evaluation__agent__team")
        .order_by("pk")
        .first()
    )
    assert open_dispute is not None, "the demo seeded no open dispute"
    disputing_agent = open_dispute.evaluation.agent
    supervisor = disputing_agent.team.supervisors.order_by("pk").first()
    agent_evaluation = _fresh_review_of(disputing_agent.user)
    raw_token = _open_survey_link()
    sweep = AxeSweep(page, live_server.url)

    # Not signed in: the login page and the customer's signed survey link.
    sweep.visit("login", "/accounts/login/", heading="Log in")
    sweep.visit("public survey", f"/s/{raw_token}/", heading="How did we do?")

    # Reviewer: queue, the scoring form (one answer given: running score and autosave status show), calls.
    # The demo's weekly sample fills some reviewers' queues (which ones depends on the weekday): take one.
    assignment = (
        Assignment.objects.filter(status=Assignment.Status.OPEN, reviewer__username__startswith="reviewer")
        .select_related("reviewer")
        .order_by("pk")
        .first()
    )
    assert assignment is not None, "the demo seeded no open assignment"
    login(page, live_server, assignment.reviewer.username, DEMO_PASSWORD)
    sweep.visit("queue", "/qa/queue/", heading="My review queue")
    workspace_href = page.locator("table a[href*='/review/']").first.get_attribute("href")
    page.goto(f"{live_server.url}{workspace_href}")
    page.locator("fieldset.criterion .scale .opt").first.click()
    expect(page.locator("fieldset.criterion .save-status").first).to_contain_text("Saved")
    sweep.visit("review workspace", None, heading="Review of")
    sweep.visit("calls list", "/calls/", heading="Calls")
    sweep.visit("call page", f"/calls/{call.pk}/", heading=f"Call {call.external_id}")
    expect(page.locator(".timeline li.event-transfer")).not_to_have_count(0)
    expect(page.locator(".timeline li.event-escalation")).not_to_have_count(0)
    expect(page.locator(".transcript li")).not_to_have_count(0)

    # Supervisor: leaderboard, the team and agent dashboards (charts), NPS drivers and responses, a dispute
    # to decide.
    login(page, live_server, supervisor.username, DEMO_PASSWORD)
    sweep.visit("leaderboard", "/analytics/", heading="Agent leaderboard")
    sweep.visit("teams dashboard", "/analytics/teams/", heading="Teams")
    sweep.visit(
        "agent dashboard",
        f"/analytics/agents/{disputing_agent.pk}/",
        heading=disputing_agent.name,
    )
    sweep.visit("NPS drivers", "/analytics/drivers/", heading="What drives NPS")
    sweep.visit("NPS responses", "/surveys/responses/", heading="Survey responses")
    sweep.visit("dispute to decide", f"/qa/disputes/{open_dispute.pk}/", heading="Dispute")

    # Agent: own evaluations, an evaluation, the dispute form, the open dispute, notices.
    login(page, live_server, disputing_agent.user.username, DEMO_PASSWORD)
    sweep.visit("my evaluations", "/qa/me/", heading="My QA")
    sweep.visit("evaluation", f"/qa/evaluations/{agent_evaluation.pk}/", heading="Review of")
    sweep.visit("dispute form", f"/qa/evaluations/{agent_evaluation.pk}/dispute/", heading="Dispute")
    sweep.visit("own dispute", f"/qa/disputes/{open_dispute.pk}/", heading="Dispute")
    sweep.visit("notices", "/qa/notices/", heading="Notices")

    # Admin: the import upload page.
    login(page, live_server, "admin", DEMO_PASSWORD)
    sweep.visit("import upload", "/calls/imports/", heading="Import calls")

    sweep.write_report()
    assert len(sweep.pages) == 18
    failures = sweep.failures()
    assert not failures, f"{len(failures)} serious/critical axe violation(s):\n" + "\n".join(failures)


# What the focused element is (the question of its criterion, and its label), how its focus ring looks, and
# whether the ring lies under the sticky score panel. A radio button is invisible: its ring is on its box.
FOCUSED = """() => {
  const el = document.activeElement;
  const ring = el.matches('.scale input') ? el.nextElementSibling : el;
  const style = getComputedStyle(ring);
  const box = ring.getBoundingClientRect();
  const panel = document.getElementById('score-panel').getBoundingClientRect();
  const question = el.closest('fieldset.criterion')?.querySelector('legend .question')?.textContent || '';
  return {
    in_form: !!el.closest('#scorecard-form'),
    name: (question ? question + ' ' : '') + (ring.innerText || el.name || '').trim().split('\\n')[0],
    outline: [style.outlineStyle, style.outlineWidth, style.outlineColor].join(' '),
    under_panel: box.top < panel.bottom - 2 && box.bottom > panel.top + 2,
    in_view: box.top >= 0 && box.bottom <= window.innerHeight,
  };
}"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_scoring_form_is_tabbed_in_order_with_a_visible_unobscured_focus_ring(page, live_server):
    team = TeamFactory(name="Keys Team")
    agent = AgentFactory(employee_code="A-TAB", name="Tab Agent", team=team)
    reviewer = UserFactory(username="tab-reviewer", roles=["reviewer"])
    # Criteria in order: A? (yes/no), B? (0-4 points, N/A allowed), Critical? (yes/no), Resolved only?
    # (yes/no), Unresolved only? (not applicable on this resolved call: nothing to focus).
    simple_scorecard(family="tabbing")
    call = CallFactory(
        external_id="TAB-1",
        channel="chat",
        agent=agent,
        is_resolved=True,
        transcript="[00:00:01] Agent: Hello.\n[00:00:04] Customer: Hi.",
    )
    AssignmentFactory(call=call, reviewer=reviewer)
    # Short enough that tabbing down the form scrolls it under the sticky score panel.
    page.set_viewport_size({"width": 1280, "height": 520})
    login(page, live_server, "tab-reviewer")
    page.goto(f"{live_server.url}/qa/calls/{call.pk}/review/")
    expect(page.locator("h1")).to_contain_text("Review of Tab Agent")

    visited = []
    for _ in range(60):
        page.keyboard.press("Tab")
        focused = page.evaluate(FOCUSED)
        if not focused["in_form"]:
            assert not visited, f"focus left the form after {visited[-1]['name']!r}: {focused['name']!r}"
            continue
        visited.append(focused)
        if focused["name"].startswith("Submit evaluation"):
            break

    assert [f["name"] for f in visited] == [
        "A? Yes",
        "A? Comment",
        "B? 0",
        "B? Comment",
        "Critical? Yes",
        "Critical? Comment",
        "Resolved only? Yes",
        "Resolved only? Comment",
        "summary",
        "Save draft",
        "Submit evaluation Ctrl+Enter",
    ]
    # The accent colour: 5.7:1 against the current criterion's background (3:1 needed).
    assert {f["outline"] for f in visited} == {"solid 3px rgb(31, 95, 191)"}
    assert [f["name"] for f in visited if f["under_panel"] or not f["in_view"]] == []

    # Back to the first answer with Shift+Tab; Space answers it (autosaved: the running score moves).
    for _ in range(10):
        page.keyboard.press("Shift+Tab")
    assert page.evaluate(FOCUSED)["name"] == "A? Yes"
    page.keyboard.press("Space")
    expect(page.get_by_test_id("running-score")).to_have_text("100.00")

    # The page's second skip link jumps over the call panel (transcript, timeline, contacts): two Tabs and Enter,
    # and the next Tab is the first answer, instead of about 30 Tabs through the links before the form.
    page.reload()
    expect(page.locator("h1")).to_contain_text("Review of Tab Agent")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Skip to content"
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "Skip to the scorecard"
    page.keyboard.press("Enter")
    page.keyboard.press("Tab")
    assert page.evaluate(FOCUSED)["name"] == "A? Yes"
