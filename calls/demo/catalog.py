"""The demo contact center's fixed facts: organisation, names, issues, phrases and the rates that drive it."""

from __future__ import annotations

from zoneinfo import ZoneInfo

BRAND = "Northwind Telecom"
DEMO_TIMEZONE = ZoneInfo("America/New_York")
ANYTHING_ELSE = "Is there anything else I can help you with today?"
DEFAULT_CALLS = 6000
DEFAULT_AGENTS = 40
DEFAULT_DAYS = 90
DEFAULT_SEED = 42

# Department → share of incoming calls.
DEPARTMENTS: dict[str, float] = {
    "Billing": 0.30,
    "Tech Support": 0.28,
    "Customer Care": 0.18,
    "Sales": 0.14,
    "Retention": 0.10,
}
TEAMS: dict[str, str] = {
    "Billing East": "Billing",
    "Billing West": "Billing",
    "Tech Support North": "Tech Support",
    "Tech Support South": "Tech Support",
    "Care Central": "Customer Care",
    "Sales Inbound": "Sales",
    "Retention Desk": "Retention",
}
# Agent n joins TEAM_CYCLE[(n - 1) % 10]: staffing roughly follows the call shares above, and an
# agent's team never depends on how many agents were generated.
TEAM_CYCLE = (
    "Billing East",
    "Tech Support North",
    "Care Central",
    "Sales Inbound",
    "Billing West",
    "Tech Support South",
    "Retention Desk",
    "Billing East",
    "Tech Support North",
    "Care Central",
)

# fmt: off
FIRST_NAMES = (
    "Ana", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hiro", "Ines", "Jamal", "Kim", "Liam", "Maya",
    "Noah", "Olga", "Priya", "Quinn", "Rosa", "Sam", "Tariq", "Uma", "Victor", "Wen", "Ximena", "Yusuf",
    "Zoe", "Amir", "Bianca", "Chen", "Dana", "Emeka", "Fatima", "Gabe", "Hana", "Ivan", "Julia", "Kofi",
    "Lena", "Marco", "Nadia", "Omar", "Paula", "Raj", "Sofia", "Tom", "Valeria", "Will", "Yara",
)
LAST_NAMES = (
    "Lopez", "Smith", "Okafor", "Nguyen", "Garcia", "Kowalski", "Patel", "Rossi", "Khan", "Muller", "Silva",
    "Johnson", "Brown", "Tanaka", "Ahmed", "Novak", "Costa", "Moreau", "Fischer", "Kim", "Rahman", "Dubois",
    "Ortiz", "Jensen", "Haddad", "Walsh", "Ivanova", "Mensah", "Park", "Reyes", "Schmidt", "Bauer",
    "Clarke", "Duarte", "Evans", "Fontaine", "Grant", "Hughes", "Ibrahim", "Jovanovic", "Larsen", "Morales",
    "Nash",
)
# fmt: on

# Department → (short reason, how the customer puts it, how a good fix sounds).
ISSUES: dict[str, tuple[tuple[str, str, str], ...]] = {
    "Billing": (
        (
            "double charge",
            "I was charged twice for my bill this month.",
            "I've reversed the duplicate charge; the credit shows on your next bill.",
        ),
        (
            "late fee",
            "There's a late fee on my bill, but I paid on time.",
            "I've removed the late fee and noted the payment date on your account.",
        ),
        (
            "failed payment",
            "My card payment keeps failing on your website.",
            "I've taken the payment over the phone and reset the saved card.",
        ),
        (
            "missing refund",
            "I was promised a refund last month and it never arrived.",
            "I've issued the refund; it reaches your card in three to five days.",
        ),
        (
            "high bill",
            "My bill is much higher than usual and I don't understand why.",
            "I've gone through the charges with you and applied the loyalty discount that had expired.",
        ),
    ),
    "Tech Support": (
        (
            "no internet",
            "My internet has been down since this morning.",
            "I've reset the line from our side; your connection is back up.",
        ),
        (
            "dropping connection",
            "The connection keeps dropping every evening.",
            "I've moved you to a less busy channel and updated the router firmware.",
        ),
        (
            "router setup",
            "I got the new router but I can't get it to connect.",
            "We've activated the new router together and it's online now.",
        ),
        (
            "email login",
            "I can't log in to my email account anymore.",
            "I've unlocked the mailbox and you're signed in again.",
        ),
        (
            "tv signal",
            "The TV box says there's no signal.",
            "I've re-paired the TV box and the channels are back.",
        ),
    ),
    "Customer Care": (
        (
            "address change",
            "I moved and need to update my address.",
            "I've updated your address and the next bill goes to the new one.",
        ),
        (
            "account locked",
            "I'm locked out of my online account.",
            "I've reset your access; you can sign in with the link I just sent.",
        ),
        (
            "order status",
            "I ordered a new phone a week ago and haven't heard anything.",
            "I've found the order; it ships tomorrow and you'll get the tracking number by text.",
        ),
        (
            "missed appointment",
            "The technician didn't show up yesterday and nobody called.",
            "I've booked a priority slot for tomorrow morning and added a credit for the missed visit.",
        ),
    ),
    "Sales": (
        (
            "plan upgrade",
            "I'd like to upgrade to a faster plan.",
            "I've upgraded you to the faster plan from today, at the price we discussed.",
        ),
        (
            "new line",
            "I want to add a line for my daughter.",
            "I've added the new line; the SIM card arrives in two days.",
        ),
        (
            "package price",
            "What would it cost to add the sports package?",
            "I've added the sports package with the first month free.",
        ),
    ),
    "Retention": (
        (
            "cancellation",
            "I want to cancel, I found a cheaper offer elsewhere.",
            "I've matched that offer for the next twelve months, so you keep your service.",
        ),
        (
            "price increase",
            "My price went up again and I'm thinking of leaving.",
            "I've locked your price for a year and removed the increase.",
        ),
        (
            "contract end",
            "My contract ends next month; what can you offer me?",
            "I've renewed you on the new loyalty plan at a lower monthly price.",
        ),
    ),
}
# Transfer target → reasons given for sending a call there; source → likely targets.
TRANSFER_REASONS: dict[str, tuple[str, ...]] = {
    "Billing": ("billing dispute", "refund over agent limit", "payment arrangement"),
    "Tech Support": ("technical issue", "line test needed", "device fault"),
    "Customer Care": ("account access", "general enquiry"),
    "Sales": ("upgrade request", "new product enquiry"),
    "Retention": ("cancellation request", "price complaint"),
}
TRANSFER_ROUTES: dict[str, dict[str, float]] = {
    "Billing": {"Tech Support": 0.25, "Customer Care": 0.25, "Retention": 0.35, "Sales": 0.15},
    "Tech Support": {"Billing": 0.40, "Customer Care": 0.30, "Sales": 0.15, "Retention": 0.15},
    "Customer Care": {"Billing": 0.35, "Tech Support": 0.40, "Sales": 0.10, "Retention": 0.15},
    "Sales": {"Billing": 0.50, "Tech Support": 0.30, "Customer Care": 0.20},
    "Retention": {"Billing": 0.50, "Sales": 0.30, "Customer Care": 0.20},
}
# Level → (share, reasons, outcomes when it helped, outcomes when it did not).
ESCALATIONS: dict[str, tuple[float, tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "tier2": (
        0.50,
        ("complex technical fault", "repeat outage"),
        ("fixed by tier 2", "engineer visit booked"),
        ("still investigating",),
    ),
    "supervisor": (
        0.35,
        ("refund over limit", "customer asked for a manager"),
        ("approved", "credit issued"),
        ("declined",),
    ),
    "complaint": (
        0.15,
        ("formal complaint about service", "complaint about agent"),
        ("complaint upheld", "apology and credit"),
        ("complaint rejected",),
    ),
}
DIFFICULTY = {"Billing": 0.95, "Tech Support": 0.85, "Customer Care": 1.0, "Sales": 1.0, "Retention": 0.85}
TALK_SECONDS = {"Billing": 330, "Tech Support": 520, "Customer Care": 280, "Sales": 420, "Retention": 460}
CHANNELS = {"phone": 0.80, "chat": 0.10, "email": 0.06, "social": 0.03, "in_person": 0.01}
WEEKDAY_WEIGHT = (1.25, 1.15, 1.1, 1.05, 1.0, 0.45, 0.3)  # Monday first
# Local hour → relative call volume (the lines open 07:00–21:00).
HOUR_WEIGHT = dict(zip(range(7, 21), (2, 6, 10, 11, 10, 7, 8, 9, 9, 8, 6, 4, 3, 2), strict=True))
TIERS = {"standard": 0.80, "gold": 0.15, "platinum": 0.05}
ANONYMOUS = 0.04
ABANDONED = 0.03
# Per-call scale on the agent's transfer propensity and on the escalation base rate, so that about
# 20% of all calls are transferred and 5% escalated (checked by tests over a few thousand calls).
TRANSFER_SCALE = 1.0
ESCALATION_BASE = 0.06
