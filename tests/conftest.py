import os

import pytest

from tests.factories import AgentFactory, TeamFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses that unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": "/usr/bin/chromium",
        "args": [
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
        ],
    }


@pytest.fixture
def team(db):
    return TeamFactory(name="Billing East")


@pytest.fixture
def other_team(db):
    return TeamFactory(name="Tech West")


@pytest.fixture
def supervisor(team):
    user = UserFactory(username="sup", roles=["supervisor"])
    team.supervisors.add(user)
    return user


@pytest.fixture
def owner_agent(team):
    """An agent with a login: the owner in owner/teammate/outsider permission tests."""
    user = UserFactory(username="owner", roles=["agent"])
    return AgentFactory(employee_code="A-OWNER", name="Olive Owner", team=team, user=user)


@pytest.fixture
def teammate_agent(team):
    user = UserFactory(username="teammate", roles=["agent"])
    return AgentFactory(employee_code="A-MATE", name="Tom Mate", team=team, user=user)


@pytest.fixture
def outsider_agent(other_team):
    user = UserFactory(username="outsider", roles=["agent"])
    return AgentFactory(employee_code="A-OUT", name="Otto Outsider", team=other_team, user=user)


@pytest.fixture
def reviewer(db):
    return UserFactory(username="reviewer", roles=["reviewer"])


@pytest.fixture
def admin_user(db):
    return UserFactory(username="boss", roles=["admin"], is_staff=True, is_superuser=True)
