"""A small org for handler and store tests: two teams in two time zones, every role."""

from __future__ import annotations

from typing import Any

from bot.domain.org import OrgSpec

ALPHA_LEAD, BRAVO_LEAD, MANAGER, ADMIN = "UALPHALEAD", "UBRAVOLEAD", "UOPSMANAGER", "UADMIN01"
AGENT_1, AGENT_2, AGENT_3, BRAVO_AGENT = "UAGENT0001", "UAGENT0002", "UAGENT0003", "UBRAVO0001"
STRANGER = "USTRANGER1"

ORG: dict[str, Any] = {
    "timezone": "Africa/Johannesburg",
    "teams": [
        {
            "key": "alpha",
            "name": "Team Alpha",
            "channel": "C0ALPHA01",
            "snapshot_times": ["10:00", "13:00", "16:00"],
            "holidays": ["2026-12-25"],
            "leads": ["lead.alpha@example.com"],
            "targets": {"csat": {"green": 85, "amber": 80}, "aht": {"green": 420, "amber": 480}},
        },
        {
            "key": "bravo",
            "name": "Team Bravo",
            "channel": "C0BRAVO01",
            "timezone": "Europe/London",
            "snapshot_times": ["10:00"],
            "leads": ["lead.bravo@example.com"],
        },
    ],
    "people": [
        {"email": "lead.alpha@example.com", "name": "Lindiwe Lead", "slack_user_id": ALPHA_LEAD, "team": "alpha"},
        {"email": "lead.bravo@example.com", "name": "Ben Lead", "slack_user_id": BRAVO_LEAD, "team": "bravo"},
        {
            "email": "ops@example.com",
            "name": "Olivia Ops",
            "slack_user_id": MANAGER,
            "role": "manager",
            "teams": ["alpha", "bravo"],
        },
        {"email": "admin@example.com", "name": "Ada Admin", "slack_user_id": ADMIN, "role": "admin"},
    ],
}

ROSTER = [
    (
        2,
        {
            "email": "thandi@example.com",
            "name": "Thandi Nkosi",
            "team": "alpha",
            "slack_user_id": AGENT_1,
            "external_id": "ZD-1",
        },
    ),
    (3, {"email": "sipho@example.com", "name": "Sipho Dlamini", "team": "alpha", "slack_user_id": AGENT_2}),
    (4, {"email": "ayesha@example.com", "name": "Ayesha Pillay", "team": "alpha", "slack_user_id": AGENT_3}),
    (5, {"email": "bob@example.com", "name": "Bob Brown", "team": "bravo", "slack_user_id": BRAVO_AGENT}),
]


def org_spec() -> OrgSpec:
    return OrgSpec.model_validate(ORG)
