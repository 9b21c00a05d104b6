"""Pages that htmx updates in place share their URL with their part (hx-push-url; the follow-up board polls its own
URL): an htmx request gets the part, a history restore and a plain request the whole page, and every answer
varies on HX-Request so that no cache hands the part back for the page."""

from __future__ import annotations

import pytest

PAGES = [
    "/analytics/",
    "/analytics/teams/",
    "/analytics/drivers/",
    "/analytics/transfers/",
    "/qa/calibration/",
    "/qa/progress/",
    "/followups/",
    "/followups/insights/",
    "/surveys/responses/",
    "/calls/",
]


@pytest.mark.parametrize("url", PAGES)
def test_the_part_for_htmx_the_page_for_everything_else(client, admin_user, url):
    client.force_login(admin_user)

    page = client.get(url)
    part = client.get(url, headers={"HX-Request": "true"})
    restore = client.get(url, headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})

    assert [response.status_code for response in (page, part, restore)] == [200, 200, 200]
    assert "<html" in page.text and "<html" in restore.text
    assert "<html" not in part.text and part.text.strip()
    for response in (page, part, restore):
        assert "HX-Request" in [value.strip() for value in response["Vary"].split(",")]


@pytest.mark.parametrize("url", [url for url in PAGES if url.startswith(("/analytics/", "/qa/progress/"))])
def test_a_supervisor_who_leads_no_team_yet_gets_empty_pages(client, db, url):
    from tests.factories import UserFactory

    client.force_login(UserFactory(username="newsup", roles=["supervisor"]))
    assert client.get(url).status_code == 200
