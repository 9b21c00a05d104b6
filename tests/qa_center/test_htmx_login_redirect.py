"""An htmx request whose session has expired goes to the login page as a whole page (HX-Redirect), back
to the page that was open; it is never answered with a login page for htmx to swap into a panel."""

import pytest
from django.urls import reverse


@pytest.mark.django_db
def test_an_expired_session_on_an_autosave_redirects_the_whole_page_to_the_login(client):
    page = "/qa/calls/12/review/"
    response = client.post(
        "/qa/calls/12/review/answer/",
        {"criterion": "1", "c1-value": "1"},
        headers={"HX-Request": "true", "HX-Current-URL": f"http://testserver{page}?agent=3"},
    )
    assert response.status_code == 204
    assert response["HX-Redirect"] == f"{reverse('login')}?next=/qa/calls/12/review/%3Fagent%3D3"
    assert response.content == b""


@pytest.mark.django_db
def test_a_plain_request_is_still_redirected_as_usual(client):
    response = client.get("/calls/")
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert "HX-Redirect" not in response


@pytest.mark.django_db
def test_other_htmx_redirects_are_left_alone(client, django_user_model):
    user = django_user_model.objects.create_user("u", password="pw")
    client.force_login(user)
    response = client.get("/", headers={"HX-Request": "true"})  # the home page redirects to a section
    assert response.status_code == 302 and "HX-Redirect" not in response
    assert not response["Location"].startswith(reverse("login"))
