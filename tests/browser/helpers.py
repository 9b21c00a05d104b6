"""Shared steps of the browser tests: signing in, and running axe-core on the page as it stands."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

from django.conf import settings
from playwright.sync_api import expect


def chat_call_to_review(
    *,
    team: str,
    code: str,
    agent_name: str,
    reviewer: str,
    external_id: str,
    transcript: str,
    agent_user=None,
):
    """A resolved chat call of a new agent (of a new team), assigned to a new reviewer (password "pw"). The
    scorecard is the test's own choice."""
    from tests.factories import AgentFactory, CallFactory, TeamFactory, UserFactory
    from tests.scoring.factories import AssignmentFactory

    agent = AgentFactory(employee_code=code, name=agent_name, team=TeamFactory(name=team), user=agent_user)
    call = CallFactory(
        external_id=external_id, channel="chat", agent=agent, is_resolved=True, transcript=transcript
    )
    AssignmentFactory(call=call, reviewer=UserFactory(username=reviewer, roles=["reviewer"]))
    return call


def login(page, live_server, username: str, password: str = "pw") -> None:
    """Sign in through the login form as a fresh session (the factories' users have the password "pw")."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")


AXE_PATH = Path(settings.BASE_DIR) / "node_modules" / "axe-core" / "axe.min.js"


@functools.cache
def axe_source() -> str:
    return f"{AXE_PATH.read_text()}\n;0"  # ;0: the script's completion value is not sent back


AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]

# axe.run resolves to a plain object; only what the failure message needs crosses back to Python.
AXE_RUN = """async (runOnly) => {
  const result = await axe.run(document, {runOnly, resultTypes: ['violations']});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    targets: v.nodes.map(n => n.target.join(' ')),
  }));
}"""


REFLOW_WIDTH = 320
# The outermost elements reaching past the viewport's right edge, unless a scrolling box of theirs clips them.
REFLOW_RUN = """async width => {
  // Charts follow the new width on the next frames (a ResizeObserver): measure after them.
  for (let i = 0; i < 3; i++) await new Promise(done => requestAnimationFrame(done));
  if (document.documentElement.scrollWidth <= width) return [];
  const clipped = el => { for (let p = el.parentElement; p; p = p.parentElement) {
    if (['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)) return true; } return false; };
  const wide = [...document.querySelectorAll('body *')]
    .filter(el => el.getBoundingClientRect().right > width + 1 && !clipped(el));
  return wide.filter(el => !wide.includes(el.parentElement))
    .map(el => el.tagName.toLowerCase() + (el.id ? '#' + el.id : '') + (el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/ +/).join('.') : ''))
    .slice(0, 5);
}"""


class AxeSweep:
    """Runs axe on the current page of a Playwright page and keeps what it finds, per page name."""

    def __init__(self, page, base_url: str):
        self.page = page
        self.base_url = base_url
        self.violations: list[dict] = []
        self.pages: list[str] = []

    def visit(self, name: str, path: str | None, *, heading: str = "", status: int = 200) -> None:
        """Open path (None: stay on the current page), check it is the page meant, and run axe on it."""
        if path is not None:
            response = self.page.goto(f"{self.base_url}{path}")
            assert response is not None and response.status == status, (
                f"{name}: {path} answered {response.status}"
            )
        if heading:
            expect(self.page.locator("h1")).to_contain_text(heading)
        screenshots = os.environ.get("AXE_SCREENSHOTS")
        if screenshots:
            self.page.screenshot(
                path=f"{screenshots}/{len(self.pages) + 1:02d}-{name.replace(' ', '-')}.png", full_page=True
            )
        # Evaluated through the DevTools protocol, which the page's Content Security Policy does not govern (a
        # <script> tag with the file inlined, as add_script_tag makes, is refused by script-src 'self').
        self.page.evaluate(axe_source())
        for violation in self.page.evaluate(AXE_RUN, {"type": "tag", "values": AXE_TAGS}):
            self.violations.append({"page": name, **violation})
        self._check_reflow(name)
        self.pages.append(name)

    def _check_reflow(self, name: str) -> None:
        """WCAG 1.4.10 (Reflow): at 320 CSS px the page itself must not scroll sideways (a wide table may, inside
        its own scrolling box). Records the elements that stick out as a violation of the page."""
        size = self.page.viewport_size
        self.page.set_viewport_size({"width": REFLOW_WIDTH, "height": size["height"]})
        try:
            wide = self.page.evaluate(REFLOW_RUN, REFLOW_WIDTH)
            # What scrolls sideways at that width (a table in its box) must be reachable from the keyboard.
            for violation in self.page.evaluate(
                AXE_RUN, {"type": "rule", "values": ["scrollable-region-focusable"]}
            ):
                self.violations.append({"page": f"{name} at {REFLOW_WIDTH} px", **violation})
        finally:
            self.page.set_viewport_size(size)
        if wide:
            self.violations.append(
                {
                    "page": name,
                    "id": "reflow",
                    "impact": "serious",
                    "help": f"The page scrolls sideways at {REFLOW_WIDTH} CSS px (WCAG 1.4.10)",
                    "targets": wide,
                }
            )

    def submit_invalid(self, name: str, form: str, *, heading: str = "", status: int) -> None:
        """Submit the form (a CSS selector) as it is, past the browser's own checks of required fields, and run
        axe on the page that answers: the same form, with the server's error messages."""
        self.page.locator(form).evaluate("form => { form.noValidate = true; }")
        with self.page.expect_response(lambda r: r.request.method == "POST") as answer:
            self.page.locator(form).locator("button[type=submit]").last.click()
        assert answer.value.status == status, f"{name}: the invalid form answered {answer.value.status}"
        self.page.wait_for_load_state()
        expect(self.page.locator("[role=alert], .errorlist").first).to_be_visible()
        self.visit(name, None, heading=heading)

    def failures(self) -> list[str]:
        return [
            f"{v['page']}: {v['id']} ({v['impact']}) {v['help']} at {', '.join(v['targets'][:5])}"
            + (f" and {len(v['targets']) - 5} more" if len(v["targets"]) > 5 else "")
            for v in self.violations
        ]

    def write_report(self) -> None:
        path = os.environ.get("AXE_REPORT")
        if path:
            Path(path).write_text(json.dumps({"pages": self.pages, "violations": self.violations}, indent=1))
