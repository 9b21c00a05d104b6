import pytest

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
