"""Shared steps of the browser tests."""

from __future__ import annotations


def login(page, live_server, username: str, password: str = "pw") -> None:
    """Sign in through the login form as a fresh session (the factories' users have the password "pw")."""
    page.context.clear_cookies()
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
