"""Password guessing: the web login form is throttled too, and a client cannot reset a throttle by sending
its own X-Forwarded-For."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from tests.factories import UserFactory

LOGIN_URL = "/accounts/login/"
TOKEN_URL = "/api/auth/token"


@pytest.fixture(autouse=True)
def fresh_throttle():
    cache.clear()
    yield
    cache.clear()


def test_the_login_form_refuses_guesses_past_the_limit_even_the_right_password(db, client):
    user = UserFactory(username="victim", roles=["agent"])
    user.set_password("right-pass")
    user.save()

    answers = [
        client.post(LOGIN_URL, {"username": "victim", "password": f"guess-{n}"}).status_code
        for n in range(10)
    ]
    blocked = client.post(LOGIN_URL, {"username": "victim", "password": "right-pass"})

    assert answers == [200] * 10
    assert blocked.status_code == 429
    assert "_auth_user_id" not in client.session


def test_a_successful_login_is_not_counted(db, client):
    user = UserFactory(username="someone", roles=["agent"])
    user.set_password("right-pass")
    user.save()

    for _ in range(12):
        assert client.post(LOGIN_URL, {"username": "someone", "password": "right-pass"}).status_code == 302


def test_a_forged_x_forwarded_for_does_not_reset_the_token_throttle(db):
    client = APIClient()
    answers = [
        client.post(
            TOKEN_URL, {"username": "nobody", "password": f"guess-{n}"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(11)
    ]

    assert answers == [400] * 10 + [429]


def test_a_forged_x_forwarded_for_does_not_reset_the_login_throttle(db, client):
    answers = [
        client.post(
            LOGIN_URL, {"username": "nobody", "password": f"guess-{n}"}, HTTP_X_FORWARDED_FOR=f"10.0.0.{n}"
        ).status_code
        for n in range(11)
    ]

    assert answers == [200] * 10 + [429]
