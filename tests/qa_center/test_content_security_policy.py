"""The Content Security Policy every response carries (qa_center/settings.py SECURE_CSP): what it allows, the nonce
of the pages that keep an inline <style> block, and the templates kept clear of what it refuses."""

from __future__ import annotations

import json
import re
from pathlib import Path

from django.conf import settings

from tests.surveys.factories import invitation_with_token

POLICY = (
    "default-src 'self'; media-src 'self'; script-src 'self'; style-src 'self'{nonce}; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


TEMPLATES = Path(settings.BASE_DIR) / "templates"


def directives(header: str) -> dict[str, str]:
    return dict(part.split(" ", 1) for part in header.split("; "))


def test_only_the_email_template_has_style_attributes():
    """The policy refuses style attributes on web pages (their bars are <progress> and <meter>, the rest classes of
    the style sheets); an HTML e-mail is read in a mail client, where the policy does not apply, and needs them."""
    with_style = sorted(
        str(path.relative_to(TEMPLATES))
        for path in TEMPLATES.rglob("*.html")
        if re.search(r"\sstyle\s*=", path.read_text())
    )
    assert with_style == ["surveys/email_invitation.html"]


def test_htmx_never_settles_a_style_attribute():
    """htmx settles the listed attributes by copying them from the swapped-out element with setAttribute, which the
    policy refuses for "style" (a chart canvas has one, set by Chart.js): every page's htmx config leaves it out."""
    configs = {
        str(path.relative_to(TEMPLATES)): json.loads(config)
        for path in TEMPLATES.rglob("*.html")
        for config in re.findall(r"<meta name=\"htmx-config\" content='([^']*)'>", path.read_text())
    }
    assert sorted(configs) == ["base.html", "calls/list.html", "scoring/workspace.html"]
    for config in configs.values():
        assert config["attributesToSettle"] == ["class", "width", "height"]
        assert config["includeIndicatorStyles"] is False


def test_an_app_page_forbids_inline_scripts_and_other_origins(client, supervisor):
    client.force_login(supervisor)

    page = client.get("/calls/")

    assert page.status_code == 200
    header = page.headers["Content-Security-Policy"]
    # The nonce is only sent when the page used it (htmx's script tag asks for it); it never allows scripts.
    nonce = re.search(r"'nonce-([\w-]+)'", header)
    assert header == POLICY.format(nonce=f" 'nonce-{nonce.group(1)}'" if nonce else "")
    assert directives(header)["script-src"] == "'self'"
    assert "<script>" not in page.text and " onclick=" not in page.text


def test_the_survey_page_style_block_carries_this_responses_nonce(client, db):
    _invitation, raw = invitation_with_token()

    first, second = client.get(f"/s/{raw}/"), client.get(f"/s/{raw}/opt-out/")

    nonces = []
    for page in (first, second):
        (nonce,) = re.findall(r"<style nonce=\"([\w-]+)\">", page.text)
        assert directives(page.headers["Content-Security-Policy"])["style-src"] == f"'self' 'nonce-{nonce}'"
        nonces.append(nonce)
    assert nonces[0] != nonces[1]  # a fresh nonce for each response
    assert len(nonces[0]) >= 22  # 16 random bytes, URL-safe base64


def test_the_api_docs_start_swagger_ui_from_a_script_file_not_an_inline_script(client, admin_user):
    client.force_login(admin_user)

    page = client.get("/api/docs/")
    script = client.get("/api/docs/?script=")

    assert page.status_code == 200
    inline = [s for s in re.findall(r"<script([^>]*)>", page.text) if "src=" not in s]
    assert inline == []
    assert '<script src="/api/docs/?script="></script>' in page.text
    (nonce,) = re.findall(r"<style nonce=\"([\w-]+)\">", page.text)
    assert f"'nonce-{nonce}'" in page.headers["Content-Security-Policy"]
    assert script.status_code == 200
    assert script.headers["Content-Type"].startswith("application/javascript")
    assert "/api/schema/" in script.content.decode()


def test_the_json_api_carries_the_policy_too(client, admin_user):
    client.force_login(admin_user)
    response = client.get("/api/scorecards/")
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == POLICY.format(nonce="")


def test_only_the_browsable_api_pages_allow_style_attributes_and_their_style_block_has_the_nonce(
    client, admin_user
):
    client.force_login(admin_user)

    page = client.get("/api/scorecards/", HTTP_ACCEPT="text/html")
    json = client.get("/api/scorecards/", HTTP_ACCEPT="application/json")

    assert page["Content-Type"].startswith("text/html")
    (nonce,) = re.findall(r"<style nonce=\"([\w-]+)\">", page.text)
    policy = directives(page.headers["Content-Security-Policy"])
    assert policy == {
        **directives(POLICY.format(nonce=f" 'nonce-{nonce}'")),
        "style-src-attr": "'unsafe-inline'",
    }
    assert policy["script-src"] == "'self'"
    assert json.headers["Content-Security-Policy"] == POLICY.format(nonce="")
