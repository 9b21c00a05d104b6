from datetime import timedelta

import factory
from django.contrib.auth.models import Group, User
from django.utils import timezone

from calls.models import Agent, Call, Customer, Department, Escalation, Team, Transfer


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        django_get_or_create = ("username",)
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    password = factory.django.Password("pw")

    @factory.post_generation
    def roles(self, create, extracted, **kwargs):
        if create and extracted:
            for name in extracted:
                self.groups.add(Group.objects.get(name=name))


class DepartmentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Department
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Department {n}")


class TeamFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Team
        django_get_or_create = ("name",)

    name = factory.Sequence(lambda n: f"Team {n}")
    department = factory.SubFactory(DepartmentFactory)


class AgentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Agent

    employee_code = factory.Sequence(lambda n: f"A-{n:04d}")
    name = factory.Faker("name")
    team = factory.SubFactory(TeamFactory)


class CustomerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Customer

    external_id = factory.Sequence(lambda n: f"CU-{n:05d}")
    name = factory.Faker("name")
    phone = factory.Sequence(lambda n: f"+1555{n:07d}")
    tier = Customer.Tier.STANDARD


class CallFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Call

    external_id = factory.Sequence(lambda n: f"C-{n:06d}")
    channel = "phone"
    direction = "inbound"
    customer = factory.SubFactory(CustomerFactory)
    agent = factory.SubFactory(AgentFactory)
    department = factory.LazyAttribute(
        lambda o: o.agent.team.department if o.agent and o.agent.team else None
    )
    started_at = factory.LazyFunction(lambda: timezone.now() - timedelta(days=1))
    answered_at = factory.LazyAttribute(lambda o: o.started_at + timedelta(seconds=o.wait_seconds))
    ended_at = factory.LazyAttribute(
        lambda o: o.started_at + timedelta(seconds=o.wait_seconds + o.talk_seconds + o.hold_seconds)
    )
    wait_seconds = 30
    talk_seconds = 300
    hold_seconds = 0
    disposition = "resolved"
    is_resolved = True


class TransferFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Transfer

    call = factory.SubFactory(CallFactory)
    sequence = factory.Sequence(lambda n: n + 1)
    at = factory.LazyAttribute(lambda o: o.call.started_at + timedelta(seconds=60))
    from_department = factory.LazyAttribute(lambda o: o.call.department)
    to_department = factory.SubFactory(DepartmentFactory)
    reason = "technical issue"


class EscalationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Escalation

    call = factory.SubFactory(CallFactory)
    sequence = 1
    level = "supervisor"
    reason = "refund over limit"
    raised_at = factory.LazyAttribute(lambda o: o.call.started_at + timedelta(seconds=120))
