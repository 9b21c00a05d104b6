"""End to end in headless Chromium: an administrator uploads call files, and an import page that is still
waiting for a worker follows it to its outcome without a reload (htmx polling)."""

import pytest
from playwright.sync_api import expect

from calls import services
from calls.models import Call, CallImport, CallImportFile
from tests.browser.helpers import login
from tests.factories import UserFactory

CALLS_CSV = (
    "external_id,channel,started_at,ended_at,agent_employee_code,transcript\n"
    'B-1,phone,2026-11-02T10:00:00Z,2026-11-02T10:05:00Z,A-1,"Agent: <b>hi</b>"\n'
    "B-2,fax,2026-11-02T11:00:00Z,2026-11-02T11:05:00Z,A-1,\n"
)


def log_in(page, live_server) -> list[str]:
    problems: list[str] = []
    page.on("response", lambda r: problems.append(f"{r.status} {r.url}") if r.status >= 400 else None)
    page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    UserFactory(username="boss", roles=["admin"])
    login(page, live_server, "boss")
    return problems


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_admin_uploads_a_csv_and_reads_the_outcome(page, live_server, tmp_path, eager_celery):
    problems = log_in(page, live_server)
    upload = tmp_path / "calls.csv"
    upload.write_text(CALLS_CSV)

    page.goto(f"{live_server.url}/calls/")
    page.click("text=Import calls")
    page.set_input_files("#id_files", [str(upload)])
    page.check("#id_partial")
    page.click("button:has-text('Upload and import')")

    status = page.locator("#import-status")
    expect(status).to_contain_text("Imported, rows rejected")
    expect(status.locator(".summary-strip")).to_contain_text("Calls created1")
    expect(status.locator(".import-errors")).to_contain_text("channel")
    expect(status.get_by_role("link", name="calls.rejects.csv")).to_be_visible()
    assert list(Call.objects.values_list("external_id", "transcript")) == [("B-1", "Agent: <b>hi</b>")]
    assert problems == []


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_a_waiting_import_page_shows_the_outcome_when_a_worker_has_run_it(page, live_server):
    problems = log_in(page, live_server)
    # As an upload leaves it when no worker is running yet.
    waiting = CallImport.objects.create(partial=True, total_bytes=len(CALLS_CSV))
    CallImportFile.objects.create(
        call_import=waiting, position=1, name="calls.csv", size=len(CALLS_CSV), data=CALLS_CSV.encode()
    )

    page.goto(f"{live_server.url}/calls/imports/{waiting.pk}/")
    status = page.locator("#import-status")
    expect(status).to_contain_text("Waiting for a worker")

    services.call_import_run(waiting.pk)  # the worker

    expect(status).to_contain_text("Imported, rows rejected", timeout=5000)
    expect(status.locator(".summary-strip")).to_contain_text("Rows rejected1")
    assert problems == []
