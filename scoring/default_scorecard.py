"""The seeded "Voice QA" scorecard (family `voice-qa`, version 1), as plain data.

Migration 0003 publishes it; `scoring.services.scorecard_create_from_definition` can build the same
thing in tests or for another family. Changing this file later does not change databases that already
ran the migration: publish a new version instead (evaluations keep the version they were scored on).

Context-aware closing (the seed article's point): "Is there anything else I can help you with today?"
is right on a resolved call and a fault on an unresolved one, so the closing has one criterion that
applies only to resolved calls and another, with the opposite expectation, only to unresolved ones.
"""

from __future__ import annotations

FAMILY = "voice-qa"
NAME = "Voice QA"

# Each criterion: key, question, guidance, weight, scale ("yes_no" | "points"), max_points,
# allows_na, is_critical, applicability ("always" | "resolved" | "unresolved" | "hold_or_transfer"),
# and for an auto-checked yes/no criterion auto_phrases (a list) and auto_scope ("opening" | "closing" |
# "anywhere"): the phrases match what calls/demo's good agents say (see scoring.autocheck).
DEFINITION: dict = {
    "family": FAMILY,
    "name": NAME,
    "description": (
        "Default scorecard for phone calls: greeting, verification, understanding the customer, "
        "resolution, hold/transfer etiquette, a context-aware closing, and compliance (critical)."
    ),
    "channels": ["phone"],
    "sections": [
        {
            "title": "Greeting",
            "description": "A consistent, warm opening.",
            "criteria": [
                {
                    "key": "greeting_brand",
                    "question": "Did the agent greet the customer with the company name?",
                    "guidance": "The brand is named in the first sentence, in the standard greeting.",
                    "weight": "1",
                    "auto_phrases": [
                        "Northwind Telecom",
                        "Northwind",
                    ],
                    "auto_scope": "opening",
                },
                {
                    "key": "greeting_own_name",
                    "question": "Did the agent give their own name?",
                    "guidance": "First name is enough.",
                    "weight": "1",
                    "auto_phrases": [
                        "my name is",
                        "this is",
                    ],
                    "auto_scope": "opening",
                },
                {
                    "key": "greeting_offer_help",
                    "question": "Did the agent offer to help?",
                    "guidance": "E.g. 'How can I help you today?' — any natural wording counts.",
                    "weight": "1",
                    "auto_phrases": [
                        "how can I help",
                        "how may I help",
                        "what can I do for you",
                    ],
                    "auto_scope": "opening",
                },
            ],
        },
        {
            "title": "Verification and context",
            "description": "Know who you are talking to and what happened before.",
            "criteria": [
                {
                    "key": "identity_verified",
                    "question": "Did the agent verify the customer's identity per policy before account details?",
                    "guidance": (
                        "Two factors from the verification policy before any account-specific information. "
                        "N/A for general enquiries that touch no account."
                    ),
                    "weight": "2",
                    "allows_na": True,
                },
                {
                    "key": "history_used",
                    "question": "Did the agent use the customer's history instead of asking them to repeat themselves?",
                    "guidance": (
                        "Prior contacts and notes were read; the customer did not have to re-explain a problem "
                        "already on record. N/A for a first contact with no history."
                    ),
                    "weight": "2",
                    "allows_na": True,
                },
            ],
        },
        {
            "title": "Handling",
            "description": "Empathy, common-sense use of the script, and getting it right.",
            "criteria": [
                {
                    "key": "empathy",
                    "question": "Did the agent listen actively and show empathy?",
                    "guidance": (
                        "0 = dismissive or interrupting; 1 = polite but mechanical; 2 = acknowledged the "
                        "customer's situation and feelings in their own words."
                    ),
                    "weight": "2",
                    "scale": "points",
                    "max_points": 2,
                },
                {
                    "key": "script_common_sense",
                    "question": "Did the agent follow the script where it helps and adapt where it doesn't?",
                    "guidance": (
                        "0 = ignored required steps or recited lines that didn't fit; 1 = followed the script "
                        "rigidly even where it jarred; 2 = covered the required steps naturally, adapted to "
                        "the conversation."
                    ),
                    "weight": "2",
                    "scale": "points",
                    "max_points": 2,
                },
                {
                    "key": "accurate_resolution",
                    "question": "Was the information or solution given accurate and complete?",
                    "guidance": (
                        "0 = wrong; 1 = partly right, customer will need to call back; 2 = right but "
                        "incomplete; 3 = right and complete; 4 = right, complete, and anticipated the next "
                        "question. Judge the answer, not the outcome: an unresolvable problem correctly "
                        "explained and routed can earn full marks."
                    ),
                    "weight": "4",
                    "scale": "points",
                    "max_points": 4,
                },
                {
                    "key": "hold_transfer_etiquette",
                    "question": "Before a hold or transfer, did the agent explain why and what happens next?",
                    "guidance": (
                        "Asked permission before holding, checked back within the promised time; before a "
                        "transfer, explained why and to whom, and passed the context on so the customer "
                        "doesn't repeat themselves. Applies only to calls with a hold or a transfer."
                    ),
                    "weight": "2",
                    "allows_na": True,
                    "applicability": "hold_or_transfer",
                },
            ],
        },
        {
            "title": "Closing",
            "description": "End on a positive note — with common sense about the outcome.",
            "criteria": [
                {
                    "key": "closing_summary",
                    "question": "Did the agent summarise what was done or agreed?",
                    "guidance": "A one- or two-sentence recap of the actions and any reference number.",
                    "weight": "1",
                },
                {
                    "key": "closing_confirms_resolution",
                    "question": "Did the agent confirm with the customer that the issue is resolved?",
                    "guidance": "Resolved calls only: an explicit check, not an assumption.",
                    "weight": "1",
                    "applicability": "resolved",
                },
                {
                    "key": "closing_anything_else",
                    "question": "Did the agent ask 'Is there anything else I can help you with today?'",
                    "guidance": (
                        "Resolved calls only. On an unresolved call this line backfires — see "
                        "closing_next_steps instead."
                    ),
                    "weight": "1",
                    "applicability": "resolved",
                    "auto_phrases": [
                        "anything else I can help you with",
                        "anything else I can do for you",
                    ],
                    "auto_scope": "closing",
                },
                {
                    "key": "closing_next_steps",
                    "question": (
                        "On an unresolved call, did the agent set clear next steps and a time frame — "
                        "without the 'anything else?' line?"
                    ),
                    "guidance": (
                        "Unresolved calls only. Full marks need: who does what by when, how the customer "
                        "will hear back, and no 'Is there anything else I can help you with?' while the "
                        "main problem is still open."
                    ),
                    "weight": "2",
                    "applicability": "unresolved",
                },
                {
                    "key": "closing_thanks",
                    "question": "Did the agent thank the customer?",
                    "guidance": "Thanked them for calling / for their patience.",
                    "weight": "1",
                    "auto_phrases": [
                        "thank you for calling",
                        "thanks for calling",
                        "thank you for your patience",
                    ],
                    "auto_scope": "closing",
                },
            ],
        },
        {
            "title": "Compliance",
            "description": "Critical: a failure here fails the whole evaluation.",
            "criteria": [
                {
                    "key": "compliance",
                    "question": "Did the agent meet all mandatory compliance requirements?",
                    "guidance": (
                        "Recording disclosure given; no personal or payment data disclosed before verification "
                        "or read back in full; no prohibited promises; mandatory regulatory statements made. "
                        "Any breach = No, and the evaluation scores 0."
                    ),
                    "weight": "5",
                    "is_critical": True,
                },
            ],
        },
    ],
}


def criterion_defaults(criterion: dict) -> dict:
    """A criterion dict with every field filled in (the definition omits defaults)."""
    scale = criterion.get("scale", "yes_no")
    return {
        "key": criterion["key"],
        "question": criterion["question"],
        "guidance": criterion.get("guidance", ""),
        "weight": criterion.get("weight", "1"),
        "scale": scale,
        "max_points": criterion.get("max_points", 1) if scale == "points" else 1,
        "allows_na": criterion.get("allows_na", False),
        "is_critical": criterion.get("is_critical", False),
        "applicability": criterion.get("applicability", "always"),
    }


def criterion_auto_check(criterion: dict) -> dict:
    """A criterion's auto-check fields (kept apart from criterion_defaults: migration 0003's historical
    Criterion has no such columns; migration 0009 adds them and fills them in on the seeded version)."""
    return {
        "auto_phrases": "\n".join(criterion.get("auto_phrases", ())),
        "auto_scope": criterion.get("auto_scope", "anywhere"),
    }
