"""Auto-check phrases in the scorecard builder, the seeded scorecard and the database guards."""

from __future__ import annotations

import sqlite3

import pytest
from django.db import IntegrityError, transaction
from django.urls import reverse

from scoring import services
from scoring.models import Criterion
from tests.embedded_sqlite import copy_template
from tests.html_a11y import page_of


@pytest.fixture
def draft_section(qa_lead):
    draft = services.scorecard_create_draft(family="auto", name="Auto", user=qa_lead)
    return services.section_add(scorecard=draft, user=qa_lead, title="Greeting")


def add_post(section, **fields) -> dict:
    data = {
        "key": "greet",
        "question": "Greeted?",
        "weight": "1",
        "scale": "yes_no",
        "max_points": "1",
        "applicability": "always",
        "section": section.pk,
        **fields,
    }
    return {f"s{section.pk}-{name}": value for name, value in data.items()}


@pytest.mark.django_db
def test_builder_saves_phrases_one_per_line_and_the_scope(client, qa_lead, draft_section):
    client.force_login(qa_lead)
    url = reverse("scoring:criterion_add", args=[draft_section.scorecard_id, draft_section.pk])

    response = client.post(
        url,
        add_post(
            draft_section, auto_phrases="  Thank you for calling \r\n\r\nNorthwind\r\n", auto_scope="opening"
        ),
    )

    assert response.status_code == 302
    criterion = Criterion.objects.get(scorecard=draft_section.scorecard)
    assert (criterion.auto_phrases, criterion.auto_scope) == ("Thank you for calling\nNorthwind", "opening")


@pytest.mark.django_db
def test_edit_form_shows_the_fields_with_their_help_and_keeps_them(client, qa_lead, draft_section):
    criterion = services.criterion_add(
        section=draft_section,
        user=qa_lead,
        key="k",
        question="Q?",
        auto_phrases="hello",
        auto_scope="closing",
    )
    client.force_login(qa_lead)
    url = reverse("scoring:criterion_edit", args=[draft_section.scorecard_id, criterion.pk])

    page = page_of(client.get(url))
    phrases = page.one("textarea", name="auto_phrases")
    assert phrases.text == "hello"
    assert [o.attrs["value"] for o in page.find_all("option", selected="")] == [
        "yes_no",
        "always",
        "closing",
        str(draft_section.pk),
    ]
    assert page.description(phrases).startswith("Optional, yes/no criteria only. One phrase per line")
    assert page.description(page.one("select", name="auto_scope")) == (
        "Which of the agent's transcript lines the phrases are looked for in."
    )
    assert page.one("label", for_="id_auto_phrases").text == "Auto-check phrases:"

    response = client.post(
        url,
        {
            "key": "k",
            "question": "Q?",
            "weight": "1",
            "scale": "yes_no",
            "max_points": "1",
            "applicability": "always",
            "section": draft_section.pk,
            "auto_phrases": "hello\ngood morning",
            "auto_scope": "anywhere",
        },
    )
    criterion.refresh_from_db()
    assert response.status_code == 302
    assert (criterion.auto_phrases, criterion.auto_scope) == ("hello\ngood morning", "anywhere")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        (
            {"scale": "points", "max_points": "2", "auto_phrases": "hello"},
            "only be set on a yes/no criterion",
        ),
        ({"auto_phrases": "hello\n...!"}, "Auto-check phrase “...!” has no letters or digits."),
        ({"auto_phrases": "a" * 201}, "is longer than 200 characters."),
        (
            {"auto_phrases": "\n".join(f"phrase {n}" for n in range(21))},
            "At most 20 auto-check phrases (21 given).",
        ),
    ],
)
@pytest.mark.django_db
def test_bad_phrases_are_refused_with_an_error_on_the_field(client, qa_lead, draft_section, fields, message):
    client.force_login(qa_lead)
    url = reverse("scoring:criterion_add", args=[draft_section.scorecard_id, draft_section.pk])

    response = client.post(url, add_post(draft_section, **fields))

    assert response.status_code == 422
    page = page_of(response)
    assert page.unresolved_references() == []
    field = page.one("textarea", name=f"s{draft_section.pk}-auto_phrases")
    assert field.attrs["aria-invalid"] == "true"
    assert message in page.description(field)
    assert not Criterion.objects.filter(scorecard=draft_section.scorecard).exists()


@pytest.mark.django_db
def test_service_refuses_phrases_on_a_points_criterion(qa_lead, draft_section):
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError) as refused:
        services.criterion_add(
            section=draft_section, user=qa_lead, key="k", question="Q?", scale="points", max_points=2,
            auto_phrases="hello",
        )  # fmt: skip

    assert refused.value.message_dict == {
        "auto_phrases": ["Auto-check phrases can only be set on a yes/no criterion."]
    }


@pytest.mark.django_db
def test_database_refuses_phrases_on_a_points_criterion(qa_lead, draft_section):
    criterion = services.criterion_add(
        section=draft_section, user=qa_lead, key="k", question="Q?", scale="points", max_points=2
    )

    with pytest.raises(IntegrityError), transaction.atomic():
        Criterion.objects.filter(pk=criterion.pk).update(auto_phrases="hello")


@pytest.mark.django_db
def test_phrases_of_a_published_scorecard_are_frozen_in_the_database(voice_qa):
    criterion = voice_qa.criteria.get(key="closing_thanks")

    for change in ({"auto_phrases": "hi"}, {"auto_scope": "anywhere"}):
        with pytest.raises(IntegrityError), transaction.atomic():
            Criterion.objects.filter(pk=criterion.pk).update(**change)

    criterion.refresh_from_db()
    assert criterion.auto_scope == "closing"


@pytest.mark.django_db
def test_seeded_scorecard_has_the_greeting_and_closing_phrases(voice_qa):
    rules = {
        c.key: (c.auto_scope, c.auto_phrases.split("\n")) for c in voice_qa.criteria.exclude(auto_phrases="")
    }

    assert rules == {
        "greeting_brand": ("opening", ["Northwind Telecom", "Northwind"]),
        "greeting_own_name": ("opening", ["my name is", "this is"]),
        "greeting_offer_help": ("opening", ["how can I help", "how may I help", "what can I do for you"]),
        "closing_anything_else": (
            "closing",
            ["anything else I can help you with", "anything else I can do for you"],
        ),
        "closing_thanks": (
            "closing",
            ["thank you for calling", "thanks for calling", "thank you for your patience"],
        ),
    }


@pytest.mark.django_db
def test_a_new_version_keeps_the_phrases(qa_lead, voice_qa):
    draft = services.scorecard_new_version(scorecard=voice_qa, user=qa_lead)

    assert draft.criteria.get(key="greeting_brand").auto_phrases == "Northwind Telecom\nNorthwind"
    assert draft.criteria.get(key="greeting_brand").auto_scope == "opening"


def test_on_the_embedded_sqlite_database_the_phrases_are_seeded_and_frozen_too(sqlite_template, tmp_path):
    # Adding the columns rebuilds scoring_criterion on SQLite, which drops 0002's triggers: 0009 makes them again.
    connection = sqlite3.connect(copy_template(sqlite_template, tmp_path / "var"))
    triggers = {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'scoring_criterion'"
        )
    }
    phrases = connection.execute(
        "SELECT auto_scope, auto_phrases FROM scoring_criterion WHERE key = 'greeting_brand'"
    ).fetchone()

    assert triggers == {
        "scoring_criterion_frozen_ins",
        "scoring_criterion_frozen_upd",
        "scoring_criterion_frozen_del",
        "scoring_criterion_section_ins",
        "scoring_criterion_section_upd",
    }
    assert phrases == ("opening", "Northwind Telecom\nNorthwind")
    with pytest.raises(sqlite3.IntegrityError, match="published and cannot be changed"), connection:
        connection.execute("UPDATE scoring_criterion SET auto_phrases = 'hi' WHERE key = 'greeting_brand'")
    connection.close()
