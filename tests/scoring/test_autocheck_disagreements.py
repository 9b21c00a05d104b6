"""Where an auto-check rule and the reviewers disagree: the scorecard page links each rule's agreement row to its
disagreements page, which lists the answers behind the agreement figure that went against the suggestion, one
tab per direction ("rule said Yes, reviewer No" / "rule said No, reviewer Yes")."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from scoring import services
from scoring.models import Answer, Evaluation
from scoring.selectors import scorecard_auto_check_agreement
from tests.factories import CallFactory, UserFactory
from tests.html_a11y import page_of
from tests.scoring.factories import criteria_by_key

DEFINITION = {
    "family": "disagree",
    "name": "Disagree",
    "channels": [],
    "sections": [
        {
            "title": "S",
            "criteria": [
                {"key": "greet", "question": "Greet?", "auto_phrases": ["welcome"], "auto_scope": "opening"},
                {"key": "bye", "question": "Bye?", "auto_phrases": ["goodbye"], "auto_scope": "closing"},
                {"key": "sorry", "question": "Sorry?", "auto_phrases": ["sorry"], "auto_scope": "anywhere"},
                {"key": "plain", "question": "Plain?"},
            ],
        }
    ],
}
# Five agent lines (transcript lines 1, 3, 4, 5, 7), two customer lines.
TRANSCRIPT = (
    "Agent: Hello there.\n"
    "Customer: Hi, my order is late.\n"
    "Agent: Let me look.\n"
    "Agent: Found it.\n"
    "Agent: It ships today.\n"
    "Customer: Thanks.\n"
    "Agent: I am sorry for the wait, bye."
)
NOW = timezone.now()


@pytest.fixture
def scorecard(db):
    return services.scorecard_create_from_definition(definition=DEFINITION)


@pytest.fixture
def crit(scorecard):
    return criteria_by_key(scorecard)


@pytest.fixture
def call(owner_agent):
    return CallFactory(external_id="D-1", channel="chat", agent=owner_agent, transcript=TRANSCRIPT)


def answered(call, author, scorecard, criterion, value, auto_value, *, minutes_ago=0, is_na=False, **fields):
    """One answer on its own evaluation (a submitted current review unless told), submitted `minutes_ago`."""
    evaluation_fields = {
        "kind": "review",
        "status": "submitted",
        "submitted_at": NOW - timedelta(minutes=minutes_ago),
        **fields,
    }
    evaluation = Evaluation.objects.create(
        call=call, agent=call.agent, author=author, scorecard=scorecard, **evaluation_fields
    )
    return Answer.objects.create(
        evaluation=evaluation,
        criterion=criterion,
        value=None if is_na else value,
        is_na=is_na,
        auto_value=auto_value,
    )


def url(scorecard, criterion, **query) -> str:
    base = reverse("scoring:criterion_disagreements", args=[scorecard.pk, criterion.pk])
    return base + ("?" + "&".join(f"{k}={v}" for k, v in query.items()) if query else "")


def listed(response) -> list[int]:
    """The answer ids of the page's rows, in order."""
    return [int(e.attrs["data-answer"]) for e in page_of(response).find_all("li") if "data-answer" in e.attrs]


def tab_texts(response) -> dict[str, str]:
    return {e.attrs["data-kind"]: e.text for e in page_of(response).find_all("a") if "data-kind" in e.attrs}


@pytest.fixture
def hand_built(call, qa_lead, scorecard, crit):
    """greet: 2 agreeing answers, 3 "rule Yes, reviewer No" and 2 "rule No, reviewer Yes" (7 counted, 2 agreed),
    plus answers that must appear nowhere: N/A, no suggestion, a draft, a self-review, a calibration, a
    superseded revision, another criterion's and another scorecard's."""
    greet = crit["greet"]
    rows = {
        "agree": [
            answered(call, qa_lead, scorecard, greet, 1, 1, minutes_ago=1),
            answered(call, qa_lead, scorecard, greet, 0, 0, minutes_ago=2),
        ],
        "too_loose": [
            answered(call, qa_lead, scorecard, greet, 0, 1, minutes_ago=30),
            answered(call, qa_lead, scorecard, greet, 0, 1, minutes_ago=10),
            answered(call, qa_lead, scorecard, greet, 0, 1, minutes_ago=20),
        ],
        "missing": [
            answered(call, qa_lead, scorecard, greet, 1, 0, minutes_ago=5),
            answered(call, qa_lead, scorecard, greet, 1, 0, minutes_ago=50),
        ],
    }
    answered(call, qa_lead, scorecard, greet, None, 1, is_na=True)
    answered(call, qa_lead, scorecard, greet, 0, None)
    answered(call, qa_lead, scorecard, greet, 0, 1, status="draft", submitted_at=None)
    answered(call, qa_lead, scorecard, greet, 1, 0, kind="self_review")
    answered(call, qa_lead, scorecard, greet, 0, 1, kind="calibration")
    answered(call, qa_lead, scorecard, greet, 0, 1, is_current=False)
    answered(call, qa_lead, scorecard, crit["bye"], 0, 1)
    answered(call, qa_lead, scorecard, crit["sorry"], 1, 0)
    other = services.scorecard_create_from_definition(definition={**DEFINITION, "family": "other"})
    answered(call, qa_lead, other, other.criteria.get(key="greet"), 0, 1)
    return rows


# --- the rows of each tab -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_each_tab_lists_exactly_its_disagreements_newest_first(client, qa_lead, scorecard, crit, hand_built):
    client.force_login(qa_lead)
    loose, missing = hand_built["too_loose"], hand_built["missing"]

    default = client.get(url(scorecard, crit["greet"]))
    too_loose = client.get(url(scorecard, crit["greet"], kind="too_loose"))
    missed = client.get(url(scorecard, crit["greet"], kind="missing"))

    # Submitted 10, 20, 30 minutes ago; and 5, 50.
    assert listed(too_loose) == [loose[1].pk, loose[2].pk, loose[0].pk]
    assert listed(default) == listed(too_loose)
    assert listed(missed) == [missing[0].pk, missing[1].pk]
    assert tab_texts(missed) == {
        "too_loose": "Rule said Yes, reviewer No (3)",
        "missing": "Rule said No, reviewer Yes (2)",
    }
    assert page_of(missed).one("a", aria_current="page").attrs["data-kind"] == "missing"


def tab_counts(response) -> dict[str, int]:
    return {kind: int(text.rsplit("(", 1)[1].rstrip(")")) for kind, text in tab_texts(response).items()}


@pytest.mark.django_db
def test_tab_counts_are_the_agreement_figures_complement(client, qa_lead, scorecard, crit, hand_built):
    client.force_login(qa_lead)

    counts = {key: tab_counts(client.get(url(scorecard, crit[key]))) for key in ("greet", "bye", "sorry")}
    agreement = {row.criterion.key: row for row in scorecard_auto_check_agreement(scorecard)}

    # Counted by hand in hand_built: greet 3 and 2, bye one "Yes/No", sorry one "No/Yes".
    assert counts == {
        "greet": {"too_loose": 3, "missing": 2},
        "bye": {"too_loose": 1, "missing": 0},
        "sorry": {"too_loose": 0, "missing": 1},
    }
    for key, tabs in counts.items():
        assert tabs["too_loose"] + tabs["missing"] == agreement[key].answers - agreement[key].agreed


@pytest.mark.django_db
def test_a_row_shows_call_agent_reviewer_date_values_quote_comment_and_the_opening(
    client, qa_lead, scorecard, crit, call
):
    reviewer = UserFactory(username="rita", first_name="Rita", last_name="Reyes", roles=["reviewer"])
    answer = answered(call, reviewer, scorecard, crit["greet"], 1, 0, minutes_ago=0)
    Answer.objects.filter(pk=answer.pk).update(quote="Hello there.", comment="A greeting, not the brand.")
    client.force_login(qa_lead)

    page = page_of(client.get(url(scorecard, crit["greet"], kind="missing")))

    card = page.one("li", data_answer=str(answer.pk))
    submitted = timezone.localtime(answer.evaluation.submitted_at).strftime("%Y-%m-%d %H:%M")
    assert card.text == (
        f"Call D-1 · review #{answer.evaluation_id} "
        f"Agent {call.agent.name} ({call.agent.employee_code}) Reviewer Rita Reyes Submitted {submitted} "
        "Rule suggested No Reviewer answered Yes "
        "Quote Hello there. Comment A greeting, not the brand. "
        # The speaker as the transcript names it; lines 2 and 6 are the customer's.
        "line 1 Agent Hello there. line 3 Agent Let me look. line 4 Agent Found it."
    )
    hrefs = [a.attrs["href"] for a in page.find_all("a")]
    assert reverse("calls:detail", args=[call.pk]) in hrefs
    assert reverse("scoring:evaluation_detail", args=[answer.evaluation_id]) in hrefs


def scope_texts(response) -> list[str]:
    return [e.text for e in page_of(response).find_all("span", class_="text")]


@pytest.mark.django_db
def test_closing_shows_the_last_three_agent_lines_and_anywhere_the_first_three_and_the_match(
    client, qa_lead, scorecard, crit, call
):
    answered(call, qa_lead, scorecard, crit["bye"], 1, 0)
    answered(call, qa_lead, scorecard, crit["sorry"], 0, 1)
    client.force_login(qa_lead)

    closing = scope_texts(client.get(url(scorecard, crit["bye"], kind="missing")))
    anywhere = page_of(client.get(url(scorecard, crit["sorry"], kind="too_loose")))

    assert closing == ["Found it.", "It ships today.", "I am sorry for the wait, bye."]
    assert [e.text for e in anywhere.find_all("span", class_="text")] == [
        "Hello there.",
        "Let me look.",
        "Found it.",
        "I am sorry for the wait, bye. matched",
    ]
    assert anywhere.one("mark").text == "I am sorry for the wait, bye."


@pytest.mark.django_db
def test_transcript_lines_and_comments_are_escaped(client, qa_lead, scorecard, crit, owner_agent):
    hostile = CallFactory(
        channel="chat", agent=owner_agent, transcript="Agent: <script>alert('x')</script> welcome\nAgent: ok"
    )
    answer = answered(hostile, qa_lead, scorecard, crit["greet"], 0, 1)
    Answer.objects.filter(pk=answer.pk).update(comment="<b>bold</b>")
    client.force_login(qa_lead)

    html = client.get(url(scorecard, crit["greet"])).content.decode()

    assert "<script>alert" not in html and "<b>bold</b>" not in html
    assert "&lt;script&gt;alert(&#x27;x&#x27;)&lt;/script&gt; welcome" in html
    assert "&lt;b&gt;bold&lt;/b&gt;" in html


# --- pagination, queries --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_pages_of_25_keep_the_tab(client, qa_lead, scorecard, crit, call):
    made = [answered(call, qa_lead, scorecard, crit["greet"], 0, 1, minutes_ago=m) for m in range(27)]
    client.force_login(qa_lead)

    first = client.get(url(scorecard, crit["greet"], kind="too_loose"))
    second = client.get(url(scorecard, crit["greet"], kind="too_loose", page=2))

    assert listed(first) == [a.pk for a in made[:25]]
    assert listed(second) == [made[25].pk, made[26].pk]
    nav = page_of(first).one("nav", aria_label="Pagination")
    assert nav.text == "Page 1 of 2 · 27 results Next →"
    assert page_of(first).one("a", rel="next").attrs["href"] == "?kind=too_loose&page=2"
    assert page_of(second).one("a", rel="prev").attrs["href"] == "?kind=too_loose&page=1"


# Session, user, the user's groups and permissions (2), its group names (roles), the scorecard with its departments,
# sections and criteria (4), the two tab counts (1), the page's rows with call, agents and reviewer (1), the nav's
# unread notices (1): the same for 1 row as for 25.
PAGE_QUERIES = 12


@pytest.mark.django_db
@pytest.mark.parametrize("rows", [1, 25])
def test_the_page_takes_a_fixed_number_of_queries(
    client, qa_lead, scorecard, crit, owner_agent, rows, django_assert_num_queries
):
    for minutes in range(rows):
        call = CallFactory(channel="chat", agent=owner_agent, transcript=TRANSCRIPT)
        answered(call, qa_lead, scorecard, crit["greet"], 0, 1, minutes_ago=minutes)
    client.force_login(qa_lead)

    with django_assert_num_queries(PAGE_QUERIES):
        response = client.get(url(scorecard, crit["greet"]))

    assert len(listed(response)) == rows


# --- who may see it, and the link ------------------------------------------------------------------------


@pytest.mark.django_db
def test_scorecard_page_links_each_rule_to_its_disagreements_for_managers_only(
    client, qa_lead, reviewer, scorecard, crit, hand_built
):
    client.force_login(qa_lead)
    page = page_of(client.get(reverse("scoring:scorecard_detail", args=[scorecard.pk])))

    links = {
        a.attrs["href"]: a.text
        for a in page.find_all("a")
        if a.attrs.get("href", "").endswith("/disagreements/")
    }
    assert links == {
        url(scorecard, crit["greet"]): "5 disagreements with the greet rule",
        url(scorecard, crit["bye"]): "1 disagreement with the bye rule",
        url(scorecard, crit["sorry"]): "1 disagreement with the sorry rule",
    }
    client.force_login(reviewer)
    assert "/disagreements/" not in client.get(reverse("scoring:scorecard_detail", args=[scorecard.pk])).text


@pytest.mark.django_db
def test_only_scorecard_managers_may_open_it(
    client, qa_lead, admin_user, reviewer, supervisor, owner_agent, scorecard, crit, hand_built
):
    target = url(scorecard, crit["greet"])
    statuses = {}
    for name, user in [
        ("qa_lead", qa_lead),
        ("admin", admin_user),
        ("reviewer", reviewer),
        ("supervisor", supervisor),
        ("agent", owner_agent.user),
    ]:
        client.force_login(user)
        statuses[name] = client.get(target).status_code
    client.logout()
    anonymous = client.get(target)

    assert statuses == {"qa_lead": 200, "admin": 200, "reviewer": 403, "supervisor": 403, "agent": 403}
    assert anonymous.status_code == 302 and anonymous["Location"].startswith(reverse("login"))


@pytest.mark.django_db
def test_a_criterion_without_a_rule_or_of_another_scorecard_is_not_found(client, qa_lead, scorecard, crit):
    other = services.scorecard_create_from_definition(definition={**DEFINITION, "family": "other"})
    client.force_login(qa_lead)

    assert client.get(url(scorecard, crit["plain"])).status_code == 404
    foreign = reverse(
        "scoring:criterion_disagreements", args=[scorecard.pk, other.criteria.get(key="greet").pk]
    )
    assert client.get(foreign).status_code == 404
    assert (
        client.get(reverse("scoring:criterion_disagreements", args=[0, crit["greet"].pk])).status_code == 404
    )
