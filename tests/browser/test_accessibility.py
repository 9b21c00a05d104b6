"""Accessibility of every HTML page the app serves (EXPECTED_PAGES), checked by axe-core (a tool from outside
the team, from the npm registry as a dev dependency) in Debian's Chromium: each page as the role that uses it,
on the seeded demo data, with its forms also shown with the server's errors, in one browser session.

The rules run are WCAG 2.0 and 2.1 A and AA plus axe's best practices (landmarks, heading order, a main
region...); any violation, whatever its impact, fails the test, each listed with its page, rule and
targets. Set AXE_REPORT to a file path to also write every violation found as JSON, and AXE_SCREENSHOTS to
a directory to save a full-page screenshot of each page checked (to look at them).
The second test checks by keyboard what axe cannot: the scoring form's tab order and its focus ring.
"""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db.models import Count, F
from django.test import override_settings
from django.utils import timezone
from playwright.sync_api import expect

from calls import services as call_services
from calls.models import Agent, Call, CallImport, Escalation
from scoring.competitions.demo import FINISHED_NAME
from scoring.competitions.models import Competition
from scoring.followups.models import FollowUpCase
from scoring.metrics import criterion_applies
from scoring.models import Answer, Assignment, Criterion, Dispute, Evaluation, Scorecard
from scoring.notices.services import notice_create_for_weekly_digests
from scoring.selectors import call_context, can_dispute, scorecard_for_call
from scoring.surveys.models import SurveyInvitation
from scoring.surveys.tokens import token_generate
from tests.browser.helpers import AXE_PATH, AxeSweep, chat_call_to_review, login
from tests.scoring.factories import simple_scorecard, submitted_evaluation

DEMO_PASSWORD = "demo"


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


def _full_marks(call: Call, scorecard) -> dict:
    """Full marks wherever a criterion of the scorecard applies to the call, N/A elsewhere."""
    is_resolved, had_hold_or_transfer = call_context(call)
    return {
        criterion.key: criterion.max_points
        if criterion_applies(
            criterion.applicability, is_resolved=is_resolved, had_hold_or_transfer=had_hold_or_transfer
        )
        else "na"
        for criterion in scorecard.criteria.all()
    }


def _fresh_review_of(agent_user) -> Evaluation:
    """A submitted review of a demo agent's call that they may still dispute (the demo disputes all of
    theirs): full marks wherever the criterion applies to the call, N/A elsewhere."""
    user_model = get_user_model()
    for call in Call.objects.filter(agent__user=agent_user, evaluations__isnull=True).order_by("pk"):
        scorecard = scorecard_for_call(call)
        if scorecard is None:
            continue
        evaluation = submitted_evaluation(
            call=call,
            author=user_model.objects.get(username="admin"),
            scorecard=scorecard,
            values=_full_marks(call, scorecard),
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


def _close_followups_of(supervisor) -> None:
    """This small demo closes no follow-up (its detractors are too recent for its history): three of the
    supervisor's live cases are worked and closed through the services, so the insights page has figures."""
    from scoring.followups import services as followup_services
    from scoring.followups.models import RootCause
    from scoring.followups.selectors import followup_case_list_for_user

    cases = list(
        followup_case_list_for_user(supervisor).exclude(status=FollowUpCase.Status.CLOSED).order_by("pk")[:3]
    )
    assert cases, f"the demo gave {supervisor.username} no follow-up"
    causes = list(RootCause.objects.filter(is_active=True).order_by("sort_order", "pk")[:2])
    for index, case in enumerate(cases):
        followup_services.followup_contact_attempt_log(
            case=case, by=supervisor, channel="phone", result="reached"
        )
        followup_services.followup_close(
            case=case, by=supervisor, outcome="resolved", root_cause=causes[min(index, 1)]
        )


def _import_with_rejected_rows(*, agent_code: str) -> CallImport:
    """An import run as a worker runs it: one call taken, one row rejected (a channel the app does not know)."""
    rows = (
        "external_id,channel,started_at,ended_at,agent_employee_code,transcript\n"
        f"AXE-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,{agent_code},Agent: hello\n"
        f"AXE-2,fax,2026-11-02T11:00:00Z,2026-11-02T11:05:00Z,{agent_code},\n"
    )
    call_import = call_services.call_import_create(
        user=get_user_model().objects.get(username="admin"),
        uploads=[call_services.Upload(name="calls.csv", data=rows.encode())],
        partial=True,
    )
    call_import = call_services.call_import_run(call_import.pk)
    assert call_import is not None and call_import.error_count == 1, "the sample import should reject one row"
    return call_import


def _self_reviewed_and_reviewed_call(review: Evaluation) -> Call:
    """The reviewed call, which its agent now reviews too (full marks, as the review)."""
    submitted_evaluation(
        call=review.call,
        author=review.agent.user,
        scorecard=review.scorecard,
        values=_full_marks(review.call, review.scorecard),
        kind="self_review",
    )
    return review.call


def _call_to_self_review(agent) -> Call:
    """A call of the agent's that has a scorecard and no self-review yet."""
    for call in (
        Call.objects.filter(agent=agent).exclude(evaluations__kind=Evaluation.Kind.SELF_REVIEW).order_by("pk")
    ):
        if scorecard_for_call(call) is not None:
            return call
    raise AssertionError(f"no call of {agent} left to self-review")


# Every HTML page the app serves (qa_center/urls.py and the URL modules it includes), in the order visited;
# left out: the API, CSV and file downloads, the htmx fragments and POST-only actions, the Django admin.
EXPECTED_PAGES = [
    "login",
    "login with errors",
    "public survey",
    "public survey with errors",
    "survey thanks",
    "survey link used",
    "survey opt-out",
    "survey opted out",
    "queue",
    "review workspace",
    "review workspace with errors",
    "calls list",
    "call page",
    "calibration",
    "supervisor notices with a weekly digest",
    "leaderboard",
    "teams dashboard",
    "agent dashboard",
    "NPS drivers",
    "NPS responses",
    "dispute to decide",
    "dispute decision with errors",
    "disputes",
    "transfers",
    "assign",
    "assign with errors",
    "follow-ups",
    "follow-up",
    "follow-up attempt with errors",
    "follow-up insights",
    "follow-up insights with errors",
    "record coaching",
    "record coaching with errors",
    "coaching session",
    "shout-out",
    "shout-out with errors",
    "coaching overview",
    "qa progress",
    "qa progress evaluation export filters",
    "qa progress with errors",
    "competitions",
    "competition standings",
    "new competition",
    "new competition with errors",
    "my evaluations",
    "evaluation",
    "dispute form",
    "dispute form with errors",
    "own dispute",
    "notices",
    "my analytics",
    "competition (agent)",
    "compare",
    "self-review workspace",
    "self-review with errors",
    "forbidden",
    "not found",
    "import upload",
    "import upload with errors",
    "import outcome",
    "import format",
    "scorecards",
    "scorecard",
    "draft scorecard",
    "scorecard edit",
    "scorecard edit with errors",
    "section edit",
    "criterion add",
    "criterion add with errors",
    "criterion edit",
    "scorecard create",
    "scorecard create with errors",
    "auto-check disagreements",
]


@pytest.mark.browser
# Transactional (the live server reads the seeded rows from another thread), as the other browser tests.
@pytest.mark.django_db(transaction=True)
def test_every_page_of_every_role_has_no_axe_violations(page, live_server):
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

    # Not signed in: the login page, and the customer's signed survey link from its answer to the opt-out.
    sweep.visit("login", "/accounts/login/", heading="Log in")
    page.fill("input[name=username]", "nobody")
    sweep.submit_invalid("login with errors", "form[action='/accounts/login/']", heading="Log in", status=200)
    sweep.visit("public survey", f"/s/{raw_token}/", heading="How did we do?")
    sweep.submit_invalid("public survey with errors", "form", heading="How did we do?", status=400)
    page.locator("#score-2").check()
    page.get_by_role("button", name="Send my answer").click()
    sweep.visit("survey thanks", None, heading="Thank you")
    sweep.visit("survey link used", f"/s/{raw_token}/", heading="already answered")
    sweep.visit("survey opt-out", f"/s/{raw_token}/opt-out/", heading="Unsubscribe")
    page.get_by_role("button", name="Yes, stop sending me surveys").click()
    sweep.visit("survey opted out", None, heading="unsubscribed")

    # Reviewer: queue, the scoring form (one answer given: running score and autosave status show; then
    # submitted with the others unanswered), calls, calibration.
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
    sweep.submit_invalid("review workspace with errors", "#scorecard-form", heading="Review of", status=422)
    sweep.visit("calls list", "/calls/", heading="Calls")
    sweep.visit("call page", f"/calls/{call.pk}/", heading=f"Call {call.external_id}")
    expect(page.locator(".timeline li.event-transfer")).not_to_have_count(0)
    expect(page.locator(".timeline li.event-escalation")).not_to_have_count(0)
    expect(page.locator(".transcript li")).not_to_have_count(0)
    sweep.visit("calibration", "/qa/calibration/", heading="Calibration")
    expect(page.locator("table tbody tr")).not_to_have_count(0)

    # Supervisor: leaderboard, the team and agent dashboards (charts), NPS drivers and responses, a dispute
    # to decide, the disputes, transfers, manual assignment, the follow-up board and a case.
    login(page, live_server, supervisor.username, DEMO_PASSWORD)
    # Their notices with last week's digest (the setting is on by default, off in the test settings).
    with override_settings(QA_WEEKLY_DIGEST=True):
        notice_create_for_weekly_digests()
    sweep.visit("supervisor notices with a weekly digest", "/qa/notices/", heading="Notices")
    expect(page.locator("[data-testid=notice-weekly-digest]")).to_have_count(1)
    sweep.visit("leaderboard", "/analytics/", heading="Agent leaderboard")
    sweep.visit("teams dashboard", "/analytics/teams/", heading="Teams")
    # The agent of the supervisor's teams with the most survey answers: the NPS chart then has its band.
    surveyed_agent = (
        Agent.objects.filter(team__supervisors=supervisor)
        .annotate(credit_count=Count("survey_credits"))
        .order_by("-credit_count", "pk")
        .first()
    )
    sweep.visit("agent dashboard", f"/analytics/agents/{surveyed_agent.pk}/", heading=surveyed_agent.name)
    # The NPS chart's 95% interval band: dotted edges of 3:1 or more around a light fill (the ratios are
    # computed in tests/analytics/test_chart_colours.py).
    band = page.evaluate(
        "() => Chart.getChart('nps-chart').data.datasets.slice(0, 2)"
        ".map(d => [d.label, d.borderColor, d.borderDash, d.backgroundColor, d.fill])"
    )
    assert band == [
        ["95% low", "#5b7fc7", [2, 3], "rgba(37,99,235,.12)", False],
        ["95% high", "#5b7fc7", [2, 3], "rgba(37,99,235,.12)", "-1"],
    ]
    sweep.visit("NPS drivers", "/analytics/drivers/", heading="What drives NPS")
    sweep.visit("NPS responses", "/surveys/responses/", heading="Survey responses")
    sweep.visit("dispute to decide", f"/qa/disputes/{open_dispute.pk}/", heading="Dispute")
    sweep.submit_invalid(
        "dispute decision with errors", "form.card[method=post]", heading="Dispute", status=422
    )
    sweep.visit("disputes", "/qa/disputes/", heading="Disputes")
    sweep.visit("transfers", "/analytics/transfers/", heading="Transfers and escalations")
    sweep.visit("assign", "/qa/assign/", heading="Assign calls")
    sweep.submit_invalid(
        "assign with errors", "form[method=post]:has(input[name=calls])", heading="Assign", status=422
    )
    case = FollowUpCase.objects.filter(owner=supervisor).order_by("due_at", "pk").first()
    assert case is not None, f"the demo gave {supervisor.username} no follow-up"
    sweep.visit("follow-ups", "/followups/", heading="Detractor follow-ups")
    sweep.visit("follow-up", f"/followups/{case.pk}/", heading=f"Follow-up #{case.pk}")
    sweep.submit_invalid(
        "follow-up attempt with errors",
        f"form[action='/followups/{case.pk}/attempts/']",
        heading="Follow-up",
        status=400,
    )
    # The insights with their "As a table" fallback open, then with a filter error.
    _close_followups_of(supervisor)
    page.goto(f"{live_server.url}/followups/insights/")
    expect(page.locator(".pareto-bars li")).not_to_have_count(0)
    page.locator("#results details").evaluate_all("all => all.forEach(d => { d.open = true; })")
    sweep.visit("follow-up insights", None, heading="Follow-up insights")
    sweep.visit(
        "follow-up insights with errors",
        "/followups/insights/?period=custom&date_from=2026-11-02&date_to=2026-11-01",
        heading="Follow-up insights",
    )
    expect(page.locator("#results [role=alert]")).to_contain_text("The range starts after it ends.")
    # Coaching of the disputing agent (the supervisor leads their team): the form, with its errors (no notes),
    # then recorded; the agent then finds it in My QA and on their analytics page below.
    coaching_form = f"/qa/agents/{disputing_agent.pk}/coaching/new/"
    sweep.visit("record coaching", coaching_form, heading="Record coaching")
    sweep.submit_invalid(
        "record coaching with errors",
        "form[data-testid=coaching-form]",
        heading="Record coaching",
        status=422,
    )
    page.fill("textarea[name=notes]", "We listened to a call together.")
    if page.locator("input[name=focus_criteria]:checked").count() == 0:
        page.locator("input[name=focus_criteria]").first.check()
    page.get_by_role("button", name="Save session").click()
    sweep.visit("coaching session", None, heading="Coaching of")
    # A shout-out to the same agent: the form, with its error (no message), then sent (the agent's page lists it).
    shout_out_form = f"/qa/agents/{disputing_agent.pk}/shout-outs/new/"
    sweep.visit("shout-out", shout_out_form, heading="shout-out")
    sweep.submit_invalid(
        "shout-out with errors", "form[data-testid=shout-out-form]", heading="shout-out", status=422
    )
    page.fill("textarea[name=message]", "Kept calm with an upset customer <and> solved it.")
    page.get_by_role("button", name="Send the shout-out").click()
    expect(page.locator("[data-testid=shout-outs] blockquote").first).to_contain_text("<and> solved it.")
    # The overview: the session just recorded is at least recent and awaiting the agent's acknowledgement.
    sweep.visit("coaching overview", "/qa/coaching/", heading="Coaching")
    expect(page.locator("[data-testid=coaching-recent] tbody tr")).not_to_have_count(0)
    # QA progress over the demo's last 30 days (every agent of the supervisor's teams is listed), then with a
    # refused filter (the error above the default figures).
    sweep.visit("qa progress", "/qa/progress/?period=last_30", heading="QA progress")
    expect(page.locator("[data-testid=progress-agents] tbody tr")).not_to_have_count(0)
    expect(page.locator("[data-testid=progress-reviewers] tbody tr")).not_to_have_count(0)
    # The evaluation export's narrower filters, opened (closed, their controls are not rendered for axe).
    page.locator("[data-testid=evaluation-export-form] summary").click()
    expect(page.locator("#export_agent")).to_be_visible()
    sweep.visit("qa progress evaluation export filters", None, heading="QA progress")
    sweep.visit(
        "qa progress with errors",
        "/qa/progress/?period=custom&date_from=2026-11-02&date_to=2026-11-01",
        heading="QA progress",
    )
    expect(page.locator("#results [role=alert]")).to_contain_text("The range starts after it ends.")
    # Competitions: the demo's two (running first), the finished one's standings, the form and its errors.
    sweep.visit("competitions", "/analytics/competitions/", heading="Competitions")
    expect(page.locator("[data-testid=competitions] tbody tr")).to_have_count(2)
    finished = Competition.objects.get(name=FINISHED_NAME)
    sweep.visit("competition standings", f"/analytics/competitions/{finished.pk}/", heading=finished.name)
    sweep.visit("new competition", "/analytics/competitions/new/", heading="New competition")
    sweep.submit_invalid(
        "new competition with errors",
        "form[data-testid=competition-form]",
        heading="New competition",
        status=422,
    )

    # Agent: own evaluations (and coaching), an evaluation, the dispute form, the open dispute, notices, own analytics, the
    # review beside their self-review, a self-review; a page of another role (403) and a wrong address (404).
    login(page, live_server, disputing_agent.user.username, DEMO_PASSWORD)
    sweep.visit("my evaluations", "/qa/me/", heading="My QA")
    expect(page.locator("[data-testid=my-shout-outs] blockquote").first).to_contain_text("<and> solved it.")
    sweep.visit("evaluation", f"/qa/evaluations/{agent_evaluation.pk}/", heading="Review of")
    sweep.visit("dispute form", f"/qa/evaluations/{agent_evaluation.pk}/dispute/", heading="Dispute")
    sweep.submit_invalid("dispute form with errors", "form.card[method=post]", heading="Dispute", status=422)
    sweep.visit("own dispute", f"/qa/disputes/{open_dispute.pk}/", heading="Dispute")
    sweep.visit("notices", "/qa/notices/", heading="Notices")
    sweep.visit("my analytics", "/analytics/me/", heading=disputing_agent.name)
    sweep.visit("competition (agent)", f"/analytics/competitions/{finished.pk}/", heading=finished.name)
    expect(page.locator("[data-testid=my-position]")).to_have_count(1)
    compared = _self_reviewed_and_reviewed_call(agent_evaluation)
    sweep.visit("compare", f"/qa/calls/{compared.pk}/compare/", heading="Reviewer vs self-review")
    self_review_call = _call_to_self_review(disputing_agent)
    sweep.visit(
        "self-review workspace", f"/qa/calls/{self_review_call.pk}/self-review/", heading="Self-review"
    )
    sweep.submit_invalid("self-review with errors", "#scorecard-form", heading="Self-review", status=422)
    sweep.visit("forbidden", "/qa/calibration/", heading="can't open", status=403)
    sweep.visit("not found", "/no-such-page/", heading="Page not found", status=404)

    # Admin: the import pages (the upload form with its errors, an import with rejected rows, the format),
    # the scorecard builder (a published card, a new draft version with its add forms, forms with errors).
    login(page, live_server, "admin", DEMO_PASSWORD)
    sweep.visit("import upload", "/calls/imports/", heading="Import calls")
    sweep.submit_invalid("import upload with errors", "form.import-form", heading="Import calls", status=200)
    import_with_rejects = _import_with_rejected_rows(agent_code=call.agent.employee_code)
    sweep.visit("import outcome", f"/calls/imports/{import_with_rejects.pk}/", heading="Import")
    expect(page.locator(".import-errors tbody tr")).not_to_have_count(0)
    sweep.visit("import format", "/calls/imports/format/", heading="Call import format")
    sweep.visit("scorecards", "/qa/scorecards/", heading="Scorecards")
    published = Scorecard.objects.filter(status=Scorecard.Status.PUBLISHED).order_by("pk").first()
    assert published is not None, "the demo seeded no published scorecard"
    sweep.visit("scorecard", f"/qa/scorecards/{published.pk}/", heading=published.name)
    page.get_by_role("button", name="Make a new version").click()
    expect(page.locator("h1")).to_contain_text(f"v{published.version + 1}")
    draft = Scorecard.objects.get(family=published.family, version=published.version + 1)
    # Its "Add a criterion" forms are folded: open them, so that axe checks them too.
    page.locator("details.builder-add").evaluate_all("all => all.forEach(d => { d.open = true; })")
    expect(page.get_by_role("button", name="Add criterion").first).to_be_visible()
    expect(page.get_by_role("button", name="Add section")).to_be_visible()
    sweep.visit("draft scorecard", None, heading=published.name)
    sweep.visit("scorecard edit", f"/qa/scorecards/{draft.pk}/edit/")
    page.fill("form.stacked-form input[name=name]", "")
    sweep.submit_invalid("scorecard edit with errors", "form.stacked-form", status=422)
    section = draft.sections.order_by("position", "pk").first()
    criterion = Criterion.objects.filter(scorecard=draft).order_by("pk").first()
    sweep.visit("section edit", f"/qa/scorecards/{draft.pk}/sections/{section.pk}/edit/")
    sweep.visit("criterion add", f"/qa/scorecards/{draft.pk}/sections/{section.pk}/criteria/add/")
    sweep.submit_invalid("criterion add with errors", "form.stacked-form", status=422)
    sweep.visit("criterion edit", f"/qa/scorecards/{draft.pk}/criteria/{criterion.pk}/edit/")
    sweep.visit("scorecard create", "/qa/scorecards/new/")
    sweep.submit_invalid("scorecard create with errors", "form.stacked-form", status=422)
    # Where a rule and the reviewers disagreed: the tab of the newest seeded review that went against its
    # suggestion (the page's first row). The demo is random: if every reviewer followed the rules, one did not.
    counted = Answer.objects.filter(
        criterion__scorecard__status=Scorecard.Status.PUBLISHED,
        evaluation__kind=Evaluation.Kind.REVIEW,
        evaluation__status=Evaluation.Status.SUBMITTED,
        evaluation__is_current=True,
        is_na=False,
        auto_value__isnull=False,
    ).order_by("-evaluation__submitted_at", "-evaluation_id")
    against = counted.exclude(value=F("auto_value")).select_related("criterion").first()
    if against is None:
        against = counted.select_related("criterion").first()
        assert against is not None, "the demo recorded no auto-check suggestion"
        Answer.objects.filter(pk=against.pk).update(auto_value=1 - against.value)
        against.auto_value = 1 - against.value
    kind = "too_loose" if against.auto_value == 1 else "missing"
    sweep.visit(
        "auto-check disagreements",
        f"/qa/scorecards/{against.criterion.scorecard_id}/criteria/{against.criterion_id}/disagreements/?kind={kind}",
        heading="Auto-check disagreements",
    )
    expect(page.locator(f"li[data-answer='{against.pk}']")).to_have_count(1)

    sweep.write_report()
    assert sweep.pages == EXPECTED_PAGES
    failures = sweep.failures()
    assert not failures, f"{len(failures)} axe violation(s):\n" + "\n".join(failures)


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
    # Criteria in order: A? (yes/no), B? (0-4 points, N/A allowed), Critical? (yes/no), Resolved only?
    # (yes/no), Unresolved only? (not applicable on this resolved call: nothing to focus).
    simple_scorecard(family="tabbing")
    call = chat_call_to_review(
        team="Keys Team",
        code="A-TAB",
        agent_name="Tab Agent",
        reviewer="tab-reviewer",
        external_id="TAB-1",
        transcript="[00:00:01] Agent: Hello.\n[00:00:04] Customer: Hi.",
    )
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
