import pytest
from django.urls import reverse

from scoring.surveys import selectors, services
from scoring.surveys.metrics import nps_interval
from scoring.surveys.models import SurveyResponse
from scoring.surveys.views import survey_call_panel
from tests.factories import AgentFactory, CallFactory, TransferFactory, UserFactory
from tests.surveys.factories import invitation_with_token

pytestmark = pytest.mark.django_db
LINK = SurveyResponse.Source.SURVEY_LINK


def answer(agent, score, *, transfer_to=None, comment=""):
    call = CallFactory(agent=agent)
    if transfer_to is not None:
        TransferFactory(call=call, sequence=1, from_agent=agent, to_agent=transfer_to)
    return services.response_record(call=call, score=score, comment=comment, source=LINK)[0]


@pytest.fixture
def responses(owner_agent, teammate_agent, outsider_agent):
    return {
        "owner": answer(owner_agent, 10),
        "mate": answer(teammate_agent, 3),
        "outsider": answer(outsider_agent, 8),
        # The owner handled the first leg, the outsider the final one: both see it.
        "shared": answer(owner_agent, 6, transfer_to=outsider_agent),
    }


def visible(user):
    return set(selectors.response_list_for_user(user).values_list("pk", flat=True))


def test_agents_see_responses_credited_to_them_on_any_leg(responses, owner_agent, outsider_agent):
    assert visible(owner_agent.user) == {responses["owner"].pk, responses["shared"].pk}
    assert visible(outsider_agent.user) == {responses["outsider"].pk, responses["shared"].pk}


def test_supervisors_see_their_teams_responses(responses, supervisor):
    assert visible(supervisor) == {responses["owner"].pk, responses["mate"].pk, responses["shared"].pk}


def test_reviewers_and_admins_see_all(responses, reviewer, admin_user):
    assert visible(reviewer) == {r.pk for r in responses.values()}
    assert visible(admin_user) == {r.pk for r in responses.values()}


def test_users_without_role_or_agent_see_nothing(responses):
    assert visible(UserFactory(username="nobody")) == set()


def test_a_foreign_response_is_a_404(responses, owner_agent):
    from django.http import Http404

    assert (
        selectors.response_get_for_user(owner_agent.user, pk=responses["owner"].pk).pk
        == responses["owner"].pk
    )
    with pytest.raises(Http404):
        selectors.response_get_for_user(owner_agent.user, pk=responses["mate"].pk)


def test_nps_summary_counts_in_sql_match_a_count_by_hand(db):
    agent = AgentFactory()
    scores = [10, 9, 9, 8, 7, 6, 0, 3, 10, 5, 9]
    for score in scores:
        answer(agent, score)
    promoters = sum(1 for s in scores if s >= 9)
    passives = sum(1 for s in scores if 7 <= s <= 8)
    detractors = sum(1 for s in scores if s <= 6)
    summary = selectors.nps_summary(SurveyResponse.objects.all())
    assert (
        (summary["promoters"], summary["passives"], summary["detractors"])
        == (5, 2, 4)
        == (promoters, passives, detractors)
    )
    assert summary["n"] == 11
    assert summary["interval"] == nps_interval(5, 2, 4)
    assert summary["interval"].nps == pytest.approx(100 * (5 - 4) / 11)
    assert summary["interval"].is_small_sample


def test_nps_by_agent_credits_every_leg_or_only_primary(owner_agent, outsider_agent, responses):
    rows = {r["agent__employee_code"]: r for r in selectors.nps_by_agent(SurveyResponse.objects.all())}
    assert (rows["A-OWNER"]["responses"], rows["A-OWNER"]["promoters"], rows["A-OWNER"]["detractors"]) == (
        2,
        1,
        1,
    )
    assert (rows["A-OUT"]["responses"], rows["A-OUT"]["passives"], rows["A-OUT"]["detractors"]) == (2, 1, 1)
    primary = {
        r["agent__employee_code"]: r
        for r in selectors.nps_by_agent(SurveyResponse.objects.all(), primary_only=True)
    }
    assert primary["A-OWNER"]["responses"] == 1 and primary["A-OUT"]["responses"] == 2


def test_filters_by_category_agent_and_primary(responses, owner_agent, outsider_agent):
    base = SurveyResponse.objects.all()
    assert set(selectors.response_filter(base, category="detractor").values_list("pk", flat=True)) == {
        responses["mate"].pk,
        responses["shared"].pk,
    }
    assert set(selectors.response_filter(base, agent_id=owner_agent.pk).values_list("pk", flat=True)) == {
        responses["owner"].pk,
        responses["shared"].pk,
    }
    assert set(
        selectors.response_filter(base, agent_id=owner_agent.pk, primary_only=True).values_list(
            "pk", flat=True
        )
    ) == {
        responses["owner"].pk,
    }
    assert set(
        selectors.response_filter(base, team_id=outsider_agent.team_id).values_list("pk", flat=True)
    ) == {
        responses["outsider"].pk,
        responses["shared"].pk,
    }


def test_responses_screen_needs_login(client):
    response = client.get("/surveys/responses/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_responses_screen_shows_only_visible_rows_with_summary(client, responses, owner_agent):
    client.force_login(owner_agent.user)
    page = client.get("/surveys/responses/")
    assert page.status_code == 200
    assert [r.pk for r in page.context["responses"]] == sorted(
        [responses["owner"].pk, responses["shared"].pk],
        key=lambda pk: -SurveyResponse.objects.get(pk=pk).received_at.timestamp(),
    )
    summary = page.context["summary"]
    assert (summary["promoters"], summary["passives"], summary["detractors"]) == (1, 0, 1)
    html = page.content.decode()
    assert "Small sample" in html
    assert 'class="badge good">Promoter' in html and 'class="badge bad">Detractor' in html
    assert responses["mate"].call.external_id not in html


def test_htmx_filter_request_returns_only_the_results_partial(client, responses, admin_user):
    client.force_login(admin_user)
    page = client.get("/surveys/responses/", {"category": "promoter"}, headers={"HX-Request": "true"})
    html = page.content.decode()
    assert "<html" not in html and "<form" not in html
    assert responses["owner"].call.external_id in html
    assert responses["mate"].call.external_id not in html
    assert page.context["summary"]["n"] == 1


def test_filtering_by_a_foreign_agent_shows_nothing(client, responses, owner_agent, outsider_agent):
    client.force_login(owner_agent.user)
    page = client.get("/surveys/responses/", {"agent": outsider_agent.pk})
    assert page.status_code == 200
    assert "agent" in page.context["form"].errors
    assert list(page.context["responses"]) == []


def test_call_panel_shows_the_response_with_its_credits(rf, responses, admin_user):
    from django.template.loader import render_to_string

    request = rf.get("/")
    request.user = admin_user
    shared = responses["shared"]
    panel = survey_call_panel(request, shared.call)
    assert panel["response"].pk == shared.pk
    html = render_to_string(panel["template"], {"panel": panel, "call": shared.call}, request=request)
    assert "6</span>/10" in html and "Detractor" in html
    assert "(leg 0)" in html and "(leg 1, primary)" in html


def test_call_panel_explains_a_skipped_call(rf, admin_user):
    call = CallFactory(customer=None)
    services.invitation_decide(call=call)
    request = rf.get("/")
    request.user = admin_user
    panel = survey_call_panel(request, call)
    from django.template.loader import render_to_string

    assert "Not surveyed: Anonymous caller." in render_to_string(
        panel["template"], {"panel": panel}, request=request
    )


def test_call_page_includes_the_survey_panel(client, admin_user):
    invitation, raw = invitation_with_token()
    client.post(f"/s/{raw}/", {"score": "9", "comment": "Lovely"})
    client.force_login(admin_user)
    html = client.get(f"/calls/{invitation.call_id}/").content.decode()
    assert "Customer survey" in html and "Lovely" in html
    # Styled by app.css (the Content Security Policy refuses style attributes).
    assert '<span class="num big-score">9</span>/10' in html and " style=" not in html


def test_an_invalid_filter_is_reported_on_an_htmx_filter_change_too(client, supervisor):
    """htmx swaps only #results: the error must be inside it, not above it in the (unswapped) form, or
    the screen shows an empty list with no reason."""
    client.force_login(supervisor)
    query = {"date_from": "2026-06-30", "date_to": "2026-06-01"}
    for headers in ({}, {"HX-Request": "true"}):
        page = client.get(reverse("surveys:responses"), query, headers=headers)
        assert page.status_code == 200
        assert "The end date is before the start date." in page.text, headers
