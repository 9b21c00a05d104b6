"""The policy in a real browser: the pages outside the axe sweep (the Django admin, Swagger UI) work under it, and
the browser does refuse what it forbids. (Every browser test fails on a policy violation: tests/conftest.py.)"""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browser.helpers import login
from tests.factories import CallFactory, TeamFactory, UserFactory
from tests.qa_center.test_content_security_policy import POLICY


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_admin_and_the_api_docs_work_under_the_policy(page, live_server):
    UserFactory(username="root", roles=["admin"], is_staff=True, is_superuser=True)
    call = CallFactory(external_id="C-CSP-1")
    team = TeamFactory(name="CSP team")
    login(page, live_server, "root")

    for path, ready in (
        ("/admin/", "#content"),
        ("/admin/calls/call/?channel__exact=phone", "#changelist-filter"),
        (f"/admin/calls/call/{call.pk}/change/", "#call_form"),
        # The widgets the admin's scripts build: the two-box supervisors picker and the department autocomplete.
        (f"/admin/calls/team/{team.pk}/change/", "#id_supervisors_from"),
    ):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        expect(page.locator(ready)).to_be_visible()
    page.locator(".field-department .select2-selection").click()
    expect(page.locator(".select2-results__option", has_text=team.department.name)).to_be_visible()
    # Swagger UI renders the schema only if its start-up script ran: served from our URL, not inline.
    page.goto(f"{live_server.url}/api/docs/")
    expect(page.locator(".swagger-ui .info .title")).to_contain_text("QA Center")
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    # An operation opened: its parameters, and its responses with their highlighted example bodies.
    page.locator(".swagger-ui .opblock-summary").first.click()
    expect(page.locator(".swagger-ui .opblock-body .responses-table").first).to_be_visible()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_browsable_api_pages_work_under_the_policy(page, live_server):
    # DRF's own pages (Bootstrap, its highlighting <style> block, style attributes), opened from a browser
    # signed in to the site: they render, with no violation (the page fixture fails on any).
    UserFactory(username="root", roles=["admin"], is_staff=True, is_superuser=True)
    CallFactory(external_id="C-CSP-API")
    login(page, live_server, "root")

    for path in ("/api/calls/", "/api/evaluations/", "/api/scorecards/"):
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, path
        expect(page.locator(".response-info")).to_be_visible()
    page.goto(f"{live_server.url}/api/calls/")
    expect(page.locator(".response-info")).to_contain_text("C-CSP-API")
    # The highlighting block applied (its nonce matched): a string in the body is coloured by it.
    colour = page.evaluate("() => getComputedStyle(document.querySelector('.response-info .str')).color")
    assert colour != page.evaluate("() => getComputedStyle(document.querySelector('.response-info')).color")


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_browser_refuses_an_injected_inline_script_and_style_block(browser, live_server):
    """What the policy is for: markup that got past escaping cannot run. (A fresh page: the violations are the
    point here, not a failure.)"""
    UserFactory(username="sup-csp", roles=["supervisor"])
    page = browser.new_page()
    reported = []
    page.on("console", lambda m: reported.append(m.text) if "Content Security Policy" in m.text else None)
    login(page, live_server, "sup-csp")
    page.goto(f"{live_server.url}/calls/")

    ran = page.evaluate(
        """() => new Promise(done => {
            window.injected = false;
            const script = document.createElement('script');
            script.textContent = 'window.injected = true';
            document.body.append(script);
            const style = document.createElement('style');
            style.textContent = 'body { color: rgb(1, 2, 3) }';
            document.head.append(style);
            requestAnimationFrame(() => done({
                script: window.injected,
                colour: getComputedStyle(document.body).color,
            }));
        })"""
    )

    assert ran["script"] is False
    assert ran["colour"] != "rgb(1, 2, 3)"
    assert any("script-src" in text for text in reported), reported
    assert any("style-src" in text for text in reported), reported
    page.close()


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_loading_indicators_follow_the_sites_css_not_an_injected_style(page, live_server):
    """htmx's own indicator <style> (which the policy would refuse) is turned off; app.css hides an indicator
    and shows it while its request runs, whether htmx marks the requesting element or the indicator itself
    (hx-indicator="#…", as on the survey responses)."""
    supervisor = UserFactory(username="sup-indicator", roles=["supervisor"])
    TeamFactory(name="East").supervisors.add(supervisor)
    login(page, live_server, "sup-indicator")
    page.goto(f"{live_server.url}/surveys/responses/")

    states = page.evaluate(
        """() => {
            const shown = el => getComputedStyle(el).display !== 'none';
            const own = document.getElementById('results-loading');
            const form = own.closest('form');
            const states = {styles: document.querySelectorAll('style').length, idle: shown(own)};
            own.classList.add('htmx-request');
            states.itself = shown(own);
            own.classList.remove('htmx-request');
            form.classList.add('htmx-request');
            states.inside = shown(own);
            return states;
        }"""
    )

    assert states == {"styles": 0, "idle": False, "itself": True, "inside": True}


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_the_browser_refuses_an_injected_style_attribute(browser, live_server):
    """Markup that got past escaping cannot restyle the page through a style attribute, whether it arrives as HTML
    or through setAttribute; the site's scripts still set styles through the CSSOM, which the policy does not
    govern. The header the browser got is the site's whole policy, with no style-src-attr. (A fresh page: the
    violations are the point here, not a failure.)"""
    UserFactory(username="sup-csp", roles=["supervisor"])
    page = browser.new_page()
    login(page, live_server, "sup-csp")
    response = page.goto(f"{live_server.url}/calls/")

    header = response.headers["content-security-policy"]
    nonce = re.search(r"'nonce-([\w-]+)'", header)
    assert header == POLICY.format(nonce=f" 'nonce-{nonce.group(1)}'" if nonce else "")
    result = page.evaluate(
        """() => new Promise(done => {
            const refused = [];
            document.addEventListener('securitypolicyviolation',
                event => refused.push([event.effectiveDirective, event.blockedURI]));
            document.body.insertAdjacentHTML('beforeend', '<p id="as-html" style="color: rgb(1, 2, 3)">x</p>');
            const viaAttribute = document.createElement('p');
            viaAttribute.setAttribute('style', 'color: rgb(1, 2, 3)');
            const viaCssom = document.createElement('p');
            viaCssom.style.color = 'rgb(4, 5, 6)';
            document.body.append(viaAttribute, viaCssom);
            const elements = [document.getElementById('as-html'), viaAttribute, viaCssom];
            // The violation events are queued as tasks: read them after the next frame and a task more.
            requestAnimationFrame(() => setTimeout(() => done({
                colours: elements.map(el => getComputedStyle(el).color),
                refused,
            })));
        })"""
    )

    text_colour = "rgb(29, 35, 48)"  # app.css --fg #1d2330, inherited from <body>
    assert result["colours"] == [text_colour, text_colour, "rgb(4, 5, 6)"]
    assert result["refused"] == [["style-src-attr", "inline"], ["style-src-attr", "inline"]]
    page.close()
