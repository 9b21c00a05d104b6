"""scoring.autocheck: phrase rules that suggest a yes/no answer from the transcript (pure, no database)."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given
from hypothesis import strategies as st

from scoring.autocheck import Suggestion, normalize, phrase_errors, phrases_of, suggest


@dataclass
class Rule:
    auto_phrases: str
    auto_scope: str = "anywhere"
    scale: str = "yes_no"


@dataclass
class Line:
    number: int
    role: str
    text: str


def agent_call(*agent_texts: str) -> list[Line]:
    """Agent and customer taking turns: agent lines are the odd numbers 1, 3, 5, …"""
    lines = []
    for text in agent_texts:
        lines.append(Line(len(lines) + 1, "agent", text))
        lines.append(Line(len(lines) + 1, "customer", "Okay."))
    return lines


# --- matching -------------------------------------------------------------------------------------------


def test_found_phrase_suggests_yes_with_the_first_matching_line():
    lines = agent_call("Hello.", "Thank you for calling!", "Thank you for calling again.")

    assert suggest(Rule("thank you for calling"), lines) == Suggestion(
        value=1, scope="anywhere", line=3, text="Thank you for calling!", phrase="thank you for calling"
    )


def test_no_phrase_said_suggests_no_without_evidence():
    lines = agent_call("Hello.", "Bye.")

    assert suggest(Rule("thank you"), lines) == Suggestion(value=0, scope="anywhere")


def test_a_phrase_matches_whole_words_only():
    assert suggest(Rule("thank you"), agent_call("Thank youth programmes.")).value == 0
    assert suggest(Rule("help"), agent_call("That was helpful.")).value == 0
    assert suggest(Rule("help"), agent_call("Glad to help!")).value == 1


def test_case_punctuation_and_spacing_are_ignored_on_both_sides():
    lines = agent_call("Is there ANYTHING   else, I can help you with — today?")

    result = suggest(Rule("  Anything else I can help you with?  "), lines)

    assert (result.value, result.line, result.phrase) == (1, 1, "Anything else I can help you with?")


def test_accented_and_compatibility_characters_match_their_canonical_form():
    # "é" composed (U+00E9) in the phrase, decomposed (e + U+0301) in the transcript; "Ｃａｆé" is full-width.
    assert suggest(Rule("Café Noir"), agent_call("Welcome to cafe\u0301 noir.")).value == 1
    assert suggest(Rule("café noir"), agent_call("Welcome to \uff23\uff41\uff46é NOIR.")).value == 1
    # Accents are letters, not decoration: "cafe" is another word.
    assert suggest(Rule("café"), agent_call("Welcome to cafe noir.")).value == 0
    # Casefold: German sharp s matches "ss".
    assert suggest(Rule("STRASSE"), agent_call("Wir sind in der Straße.")).value == 1


def test_customer_and_other_lines_never_count():
    lines = [
        Line(1, "customer", "Thank you for calling me back."),
        Line(2, "other", "Thank you for calling."),
        Line(3, "agent", "Hello."),
    ]

    assert suggest(Rule("thank you for calling"), lines) == Suggestion(value=0, scope="anywhere")


def test_any_of_several_phrases_counts_and_the_matching_one_is_named():
    result = suggest(Rule("how can I help\nhow may I help"), agent_call("Hi, how may I help?"))

    assert (result.value, result.phrase) == (1, "how may I help")


# --- scopes and legs ------------------------------------------------------------------------------------


def test_opening_looks_at_the_first_three_agent_lines_only():
    lines = agent_call("Hi.", "One moment.", "Right.", "Northwind Telecom, by the way.")

    assert suggest(Rule("Northwind Telecom", "opening"), lines) == Suggestion(value=0, scope="opening")
    assert suggest(Rule("Right", "opening"), lines).line == 5


def test_closing_looks_at_the_last_three_agent_lines_only():
    lines = agent_call("Thank you for calling Northwind.", "Fixed.", "Anything else?", "Bye.")

    assert suggest(Rule("thank you for calling", "closing"), lines) == Suggestion(value=0, scope="closing")
    assert suggest(Rule("fixed", "closing"), lines).line == 3


def test_opening_is_only_suggested_on_the_first_leg_and_closing_on_the_last():
    lines = agent_call("Thank you for calling.", "Bye, thank you for calling.")

    assert suggest(Rule("thank you", "opening"), lines, first_leg=False) is None
    assert suggest(Rule("thank you", "opening"), lines, last_leg=False).line == 1
    assert suggest(Rule("thank you", "closing"), lines, last_leg=False) is None
    assert suggest(Rule("thank you", "closing"), lines, first_leg=False).line == 1
    assert suggest(Rule("bye", "anywhere"), lines, first_leg=False, last_leg=False).line == 3


def test_no_suggestion_without_phrases_without_agent_lines_or_on_a_points_criterion():
    assert suggest(Rule(""), agent_call("Hello.")) is None
    assert suggest(Rule(" \n\n  "), agent_call("Hello.")) is None
    assert suggest(Rule("hello"), [Line(1, "customer", "hello")]) is None
    assert suggest(Rule("hello"), []) is None
    assert suggest(Rule("hello", scale="points"), agent_call("Hello.")) is None


# --- phrases --------------------------------------------------------------------------------------------


def test_normalize_and_phrase_lines():
    assert normalize("  Thank-you,\tCALLER!! ") == "thank you caller"
    assert phrases_of(" a \n\n b\r\n") == ["a", "b"]


def test_phrase_errors_name_each_problem():
    assert phrase_errors("a\nb", scale="yes_no") == []
    assert phrase_errors("", scale="points") == []
    assert phrase_errors("hello", scale="points") == [
        "Auto-check phrases can only be set on a yes/no criterion."
    ]
    assert phrase_errors("ok\n?!", scale="yes_no") == ["Auto-check phrase “?!” has no letters or digits."]
    assert phrase_errors("x" * 200, scale="yes_no") == []
    assert phrase_errors("x" * 201, scale="yes_no") == [
        f"Auto-check phrase “{'x' * 40}…” is longer than 200 characters."
    ]
    assert phrase_errors("\n".join(f"p{n}" for n in range(20)), scale="yes_no") == []
    assert phrase_errors("\n".join(f"p{n}" for n in range(21)), scale="yes_no") == [
        "At most 20 auto-check phrases (21 given)."
    ]


# --- property: formatting noise never hides a phrase -----------------------------------------------------

WORDS = st.lists(
    st.text(alphabet="abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8), min_size=1, max_size=5
)
SEPARATORS = st.lists(st.sampled_from([" ", "  ", "\t", ", ", " - ", "! ", "... ", " ; ", "? "]), min_size=6)


@given(words=WORDS, separators=SEPARATORS, upper=st.lists(st.booleans(), min_size=6))
def test_punctuation_spacing_and_case_changes_in_a_matching_line_still_match(words, separators, upper):
    phrase = " ".join(words)
    noisy_words = [word.upper() if upper[i % len(upper)] else word for i, word in enumerate(words)]
    noisy = "".join(word + separators[i % len(separators)] for i, word in enumerate(noisy_words))
    line = f"Well{separators[-1]}{noisy}indeed."

    result = suggest(Rule(phrase), [Line(1, "customer", phrase), Line(2, "agent", line)])

    assert (result.value, result.line, result.text) == (1, 2, line)
