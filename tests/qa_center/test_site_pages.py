"""Pages around the app's own: the API docs, the admin, the public survey pages."""

from __future__ import annotations

from tests.surveys.factories import invitation_with_token


def test_the_api_docs_page_loads_its_assets_from_our_static_files_not_a_cdn(client, admin_user):
    """Swagger UI from drf-spectacular-sidecar: the page works without internet access."""
    client.force_login(admin_user)

    page = client.get("/api/docs/")

    assert page.status_code == 200
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in page.text
    assert "cdn.jsdelivr.net" not in page.text and "unpkg.com" not in page.text


def test_admin_and_public_survey_pages_name_their_icon(client, admin_user):
    """Without a <link rel="icon">, browsers ask for /favicon.ico, a 404 and a console error on every page."""
    client.force_login(admin_user)

    admin_page = client.get("/admin/")

    assert admin_page.status_code == 200
    assert '<link rel="icon" href="/static/img/favicon.svg" type="image/svg+xml">' in admin_page.text
    assert "Django administration" in admin_page.text  # still the admin's own page around it
    client.logout()
    _invitation, raw = invitation_with_token()
    survey_page = client.get(f"/s/{raw}/")
    assert survey_page.status_code == 200
    assert '<link rel="icon" href="data:,">' in survey_page.text


def test_403_and_404_pages_keep_the_navigation_and_say_why(client, db):
    """Not Django's bare one-line pages: the app's layout, the view's own reason for a 403."""
    from tests.factories import AgentFactory, TeamFactory, UserFactory

    agent_user = UserFactory(username="ana-agent", roles=["agent"])
    AgentFactory(team=TeamFactory(), user=agent_user)
    client.force_login(agent_user)

    forbidden = client.get("/analytics/")
    missing = client.get("/calls/999999/")

    assert forbidden.status_code == 403
    assert "You can't open this page" in forbidden.text and 'aria-label="Main"' in forbidden.text
    assert "<p>Leaderboards are for supervisors" in forbidden.text  # the view's own reason
    assert missing.status_code == 404
    assert "Nothing is at <code>/calls/999999/</code>, or it is not yours to see." in missing.text
    assert 'aria-label="Main"' in missing.text
