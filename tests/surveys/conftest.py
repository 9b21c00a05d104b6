import pytest
from django.apps import apps
from django.db import connection

from tests.factories import AgentFactory, CallFactory, CustomerFactory


@pytest.fixture
def customer(db):
    return CustomerFactory(email="ann@example.com", phone="+15550000001")


@pytest.fixture
def customer_call(customer):
    return CallFactory(customer=customer, external_id="C-SURVEY-1")


@pytest.fixture
def agent(db):
    return AgentFactory(employee_code="A-001")


@pytest.fixture
def committed_db(django_db_setup, django_db_blocker):
    """Committed data that other connections (threads) can see.

    Not `django_db(transaction=True)`: its flush afterwards empties every table, including the rows data
    migrations seeded (role groups, default SLA policies, the published voice scorecard, whose trigger
    also defeats serialized_rollback), and later tests need them. Instead, clean up by truncating only
    the call and survey tables; CASCADE reaches the rows that point at them (follow-up cases,
    evaluations, rollups), which tests create too.
    """
    with django_db_blocker.unblock():
        yield
        tables = [
            model._meta.db_table
            for label in ("calls", "surveys")
            for model in apps.get_app_config(label).get_models(include_auto_created=True)
        ]
        with connection.cursor() as cursor:
            cursor.execute("TRUNCATE " + ", ".join(connection.ops.quote_name(t) for t in tables) + " CASCADE")
