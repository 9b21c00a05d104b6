import pytest

from tests.factories import CallFactory, CustomerFactory


@pytest.fixture
def customer(db):
    return CustomerFactory(email="ann@example.com", phone="+15550000001")


@pytest.fixture
def customer_call(customer):
    return CallFactory(customer=customer, external_id="C-SURVEY-1")
