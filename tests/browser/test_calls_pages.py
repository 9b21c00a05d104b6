"""End to end in headless Chromium: an administrator filters the calls list (htmx), opens a call and reads
its timeline and transcript; no request fails and the page logs no error on the way."""

import re
from datetime import timedelta
from pathlib import Path

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from calls.importers import import_records
from tests.browser.helpers import AxeSweep, login
from tests.factories import UserFactory

HOSTILE = 'Agent: hello <img src=x onerror="window.pwned=1"> <script>window.pwned=2</script>\nCustomer: hi'


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_filters_the_calls_list_and_opens_a_call_without_a_failed_request(page, live_server):
    problems: list[str] = []
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))

    # Through the importer, as calls arrive in production (it also refreshes the daily rollups).
    start = (timezone.now() - timedelta(days=2)).replace(microsecond=0)
    agent = {"employee_code": "A-1", "name": "Ana Lopez", "team": "Billing East"}
    customer = {"external_id": "CU-1", "name": "Sam Reed", "phone": "+15551234567"}

    def at(minutes: int) -> str:
        return (start + timedelta(minutes=minutes)).isoformat()

    result = import_records(
        [
            {"external_id": "C-PLAIN", "channel": "phone", "started_at": at(0), "ended_at": at(5),
             "department": "Billing", "agent": agent, "customer": customer, "resolved": True},
            {"external_id": "C-MOVED", "channel": "phone", "started_at": at(60), "ended_at": at(70),
             "department": "Billing", "agent": agent, "customer": customer, "resolved": False,
             "transcript": HOSTILE,
             "transfers": [{"at": at(62), "from_department": "Billing", "to_department": "Tech Support",
                            "reason": "technical issue"}],
             "escalations": [{"at": at(65), "level": "supervisor", "reason": "refund over limit"}]},
        ]
    )  # fmt: skip
    assert (result.created, result.errors) == (2, [])
    UserFactory(username="boss", roles=["admin"])

    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/calls/")
    rows = page.locator(".calls-table tbody tr")
    expect(rows).to_have_count(2)
    expect(page.locator(".summary-strip")).to_contain_text("Calls2")

    # Changing a filter swaps the results in place (htmx) and puts the filter in the address bar.
    page.select_option("#id_transferred", "yes")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("C-MOVED")
    expect(page).to_have_url(re.compile(r"[?&]transferred=yes(&|$)"))

    # Typing a search and pressing Enter at once: the requests queue (none is aborted with a console error)
    # and the list ends on the last one.
    page.select_option("#id_transferred", "")
    for term in ("C-", "C-PL", "C-PLAIN"):
        page.fill("#id_q", term)
        page.keyboard.press("Enter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("C-PLAIN")
    expect(page).to_have_url(re.compile(r"[?&]q=C-PLAIN(&|$)"))
    page.fill("#id_q", "")
    page.keyboard.press("Enter")
    expect(rows).to_have_count(2)
    page.select_option("#id_transferred", "yes")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("C-MOVED")
    expect(page).to_have_url(re.compile(r"[?&]transferred=yes(&|$)"))

    # The download follows the filters the list shows.
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download as CSV (1 call)").click()
    download = download_info.value
    assert re.fullmatch(r"calls-\d{4}-\d{2}-\d{2}\.csv", download.suggested_filename)
    lines = Path(download.path()).read_text(encoding="utf-8-sig").splitlines()
    assert lines[0].startswith("external_id,channel,direction,started_at,")
    assert [line.split(",")[0] for line in lines[1:]] == ["C-MOVED"]

    page.get_by_role("link", name="C-MOVED").click()
    expect(page.locator("h1")).to_have_text("Call C-MOVED")
    timeline = page.locator("ol.timeline")
    expect(timeline).to_contain_text("Tech Support")
    expect(timeline).to_contain_text("refund over limit")
    # The transcript's markup is shown as text and never runs.
    transcript = page.locator("ol.transcript")
    expect(transcript).to_contain_text('<img src=x onerror="window.pwned=1">')
    expect(transcript.locator("img, script")).to_have_count(0)
    assert page.evaluate("window.pwned === undefined")

    page.reload()
    expect(page.locator("h1")).to_have_text("Call C-MOVED")
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_clearing_both_dates_in_the_filters_shows_every_date_not_the_default_period(page, live_server):
    now = timezone.now().replace(microsecond=0)
    agent = {"employee_code": "A-1", "name": "Ana Lopez", "team": "Billing East"}

    def call(external_id: str, days_ago: int) -> dict:
        start = now - timedelta(days=days_ago)
        return {"external_id": external_id, "channel": "phone", "started_at": start.isoformat(),
                "ended_at": (start + timedelta(minutes=5)).isoformat(), "department": "Billing",
                "agent": agent, "resolved": True}  # fmt: skip

    assert import_records([call("C-RECENT", 1), call("C-OLD", 200)]).created == 2
    UserFactory(username="boss", roles=["admin"])
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/calls/")
    rows = page.locator(".calls-table tbody tr")
    expect(rows).to_have_count(1)  # the default period: the latest month only

    page.fill("#id_date_from", "")
    page.dispatch_event("#id_date_from", "change")
    page.fill("#id_date_to", "")
    page.dispatch_event("#id_date_to", "change")
    # Both fields are empty: the list must hold every date, as the "Show all dates" link gives.
    expect(rows).to_have_count(2)
    expect(page).to_have_url(re.compile(r"[?&]date_from=(&|$)"))
    page.reload()
    expect(rows).to_have_count(2)
    expect(page.locator("#id_date_from")).to_have_value("")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_main_navigation_fits_a_phone_screen(page, live_server):
    UserFactory(username="boss", roles=["admin", "supervisor", "reviewer"], is_staff=True)
    page.set_viewport_size({"width": 390, "height": 844})
    login(page, live_server, "boss")
    page.goto(f"{live_server.url}/calls/")
    # Every link of the main navigation is on screen, and the page does not scroll sideways.
    for link in page.locator("nav[aria-label=Main] a").all():
        box = link.bounding_box()
        assert box is not None and box["x"] + box["width"] <= 390, link.inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 390


# A filter control's error wiring in the live DOM: aria-invalid, the ids its aria-describedby names with the text
# of each (null for a missing one), and whether it is still the node marked before the htmx swaps.
WIRING = """control => ({
  invalid: control.getAttribute('aria-invalid'),
  described_by: (control.getAttribute('aria-describedby') || '').split(' ').filter(Boolean)
    .map(id => [id, document.getElementById(id) && document.getElementById(id).textContent.trim()]),
  same_node: control.dataset.mark === 'before',
})"""


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_filter_errors_stay_wired_to_their_controls_across_htmx_filter_changes(page, live_server):
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    UserFactory(username="boss", roles=["admin"])
    login(page, live_server, "boss")
    # Opened from a link whose period is backwards: the server renders the error, tied to the end date.
    page.goto(f"{live_server.url}/calls/?date_from=2026-03-05&date_to=2026-03-01")
    date_from, date_to = page.locator("#id_date_from"), page.locator("#id_date_to")
    error = "To: The end date is before the start date."
    page.locator("form.filters input, form.filters select").evaluate_all(
        "all => all.forEach(c => { c.dataset.mark = 'before'; })"
    )
    assert date_to.evaluate(WIRING) == {
        "invalid": "true", "described_by": [["id_date_to_error", error]], "same_node": True
    }  # fmt: skip

    # Typing a later end date with the keyboard, digit by digit: each digit of the year is a filter change
    # (0002, 0020, 0202: still before the start, then 2026). The control keeps every digit typed, and once the
    # period is right it names no error (the old one is gone from the page).
    date_to.focus()
    for key in ["ArrowLeft", "ArrowLeft", "ArrowLeft", *"03102026"]:
        page.keyboard.press(key)
    expect(date_to).to_have_value("2026-03-10")
    expect(page).to_have_url(re.compile(r"[?&]date_to=2026-03-10(&|$)"))
    expect(page.locator("#id_date_to_error")).to_have_count(0)
    expect(date_to).not_to_have_attribute("aria-invalid", "true")
    assert date_to.evaluate(WIRING) == {"invalid": None, "described_by": [], "same_node": True}
    assert date_to.evaluate("control => control === document.activeElement")

    # A start after the end, chosen by an htmx change: the end date is wired to the new error in the live DOM.
    page.fill("#id_date_from", "2026-03-20")
    page.dispatch_event("#id_date_from", "change")
    expect(page.locator("#id_date_to_error")).to_have_text(error)
    expect(date_to).to_have_attribute("aria-invalid", "true")
    assert date_to.evaluate(WIRING) == {
        "invalid": "true", "described_by": [["id_date_to_error", error]], "same_node": True
    }  # fmt: skip
    assert date_from.evaluate(WIRING) == {"invalid": None, "described_by": [], "same_node": True}
    sweep = AxeSweep(page, live_server.url)
    sweep.visit("calls list with a filter error after htmx", None, heading="Calls")
    assert sweep.failures() == []
    assert problems == []
