import importlib
import os

import pytest

from qa_center.celery import app as celery_app
from tests.embedded_sqlite import build_template
from tests.factories import AgentFactory, TeamFactory, UserFactory

# Playwright's sync API runs an event loop in the test thread; Django's ORM refuses that unless told.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


# Rows that data migrations create (role groups, the default scorecard, follow-up root causes, SLA
# policies). A transactional test (live server, real Celery worker) ends with a flush that wipes them, so
# each transactional test replays these idempotent functions first: test order never decides whether
# that data exists.
MIGRATION_DATA = (
    ("calls.migrations.0002_roles", "create_groups"),
    ("scoring.migrations.0003_seed_voice_qa", "seed"),
    ("scoring.migrations.0009_criterion_auto_check", "fill_seeded_phrases"),
    ("scoring.followups.migrations.0002_defaults", "create_defaults"),
)


def replay_migration_data() -> None:
    from django.apps import apps

    for module_name, function_name in MIGRATION_DATA:
        getattr(importlib.import_module(module_name), function_name)(apps, None)


DATABASE_FIXTURES = {"db", "transactional_db", "django_db_reset_sequences", "live_server"}


def _uses_database(item: pytest.Item) -> bool:
    return item.get_closest_marker("django_db") is not None or bool(
        DATABASE_FIXTURES & set(getattr(item, "fixturenames", ()))
    )


@pytest.fixture(scope="session", autouse=True)
def _migration_data_at_session_start(request, django_db_blocker):
    """A reused test database may have been flushed by the last run's final transactional test. A run of
    database-free tests alone (e.g. one pure-math file) sets no test database up, and must not touch one."""
    if not any(_uses_database(item) for item in request.session.items):
        return
    request.getfixturevalue("django_db_setup")
    with django_db_blocker.unblock():
        replay_migration_data()


@pytest.fixture(autouse=True)
def _migration_data_in_transactional_tests(request):
    marker = request.node.get_closest_marker("django_db")
    fixtures = request.fixturenames
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "live_server" in fixtures or "transactional_db" in fixtures
    )
    if not transactional:
        return
    request.getfixturevalue("transactional_db")
    replay_migration_data()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory):
    """The embedded default's SQLite file with every migration applied, built once per session.

    Tests that run a subprocess on the embedded database copy it (tests.embedded_sqlite.copy_template)
    into their own QA_CENTER_VAR_DIR instead of migrating from scratch each; nothing writes to it.
    """
    template = build_template(tmp_path_factory.mktemp("sqlite-template") / "var")
    template.chmod(0o444)  # a test that opened the template instead of its copy fails rather than leaks
    return template


@pytest.fixture
def page(page):
    """pytest-playwright's page, failing the test on any Content Security Policy violation (Chromium reports each
    as a console error): whatever a browser test checks, every page it opens must work under the site's policy."""
    violations = []

    def keep(message):
        if message.type == "error" and "Content Security Policy" in message.text:
            violations.append(f"{page.url}: {message.text}")

    page.on("console", keep)
    yield page
    assert violations == [], "\n".join(violations)


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
def other_supervisor(other_team):
    """The supervisor of the other team (the outsider agent's): sees none of the owner's team."""
    user = UserFactory(username="othersup", roles=["supervisor"])
    other_team.supervisors.add(user)
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


@pytest.fixture
def eager_celery():
    """Run queued tasks in-process, as a worker would right after the commit."""
    before = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = True
    yield
    celery_app.conf.task_always_eager = before
