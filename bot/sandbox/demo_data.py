"""A believable demo campaign: a Durban site serving a UK client, 3 teams of about 20 agents, 30 days of KPIs.

Deterministic for a given seed and "now", so the demo reads the same on every machine.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from bot.domain.org import OrgSpec

TZ = ZoneInfo("Africa/Johannesburg")
FIRST = [
    "Thandi",
    "Sipho",
    "Ayesha",
    "Kyle",
    "Lerato",
    "Pieter",
    "Nomsa",
    "Ravi",
    "Zanele",
    "Jason",
    "Precious",
    "Mandla",
    "Fatima",
    "Bongani",
    "Chantelle",
    "Themba",
    "Priya",
    "Lwazi",
    "Megan",
    "Sizwe",
    "Naledi",
    "Ethan",
    "Kagiso",
    "Shireen",
    "Musa",
    "Lindiwe",
    "Dylan",
    "Anele",
    "Yusuf",
    "Palesa",
]
LAST = [
    "Nkosi",
    "Naidoo",
    "Dlamini",
    "van Wyk",
    "Pillay",
    "Mokoena",
    "Botha",
    "Khumalo",
    "Govender",
    "Ndlovu",
    "Smith",
    "Mthembu",
    "Moodley",
    "Zulu",
    "Pretorius",
    "Cele",
    "Reddy",
    "Ngcobo",
    "Jacobs",
    "Mahlangu",
]


@dataclass(frozen=True)
class TeamPlan:
    key: str
    name: str
    channel: str
    agents: int
    items_per_day: float
    sla_bias: float  # how this team's queue is doing against SLA


TEAMS = (
    TeamPlan("alpha", "Team Alpha — Chat", "C0ALPHA01", 20, 52, 0.02),
    TeamPlan("bravo", "Team Bravo — Email", "C0BRAVO01", 21, 40, -0.06),
    TeamPlan("charlie", "Team Charlie — Tickets", "C0CHARLIE1", 19, 31, 0.0),
)
TARGETS = {
    "qa": {"green": 90, "amber": 85},
    "accuracy": {"green": 95, "amber": 92},
    "sla": {"green": 85, "amber": 80},
    "csat": {"green": 85, "amber": 80},
    "resolution": {"green": 75, "amber": 70},
    "compliance": {"green": 98, "amber": 95},
    "adherence": {"green": 92, "amber": 88},
    "productivity": {"green": 6.5, "amber": 6.0},
    "aht": {"green": 420, "amber": 480},
}


# Check-ins close 30 minutes after the 08:15 prompt (08:45), a reminder goes 10 minutes before (08:35), and a
# check-in after 08:30 counts as late.
HUDDLE = {"close_after_minutes": 30, "remind_before_close_minutes": 10, "late_after_minutes": 15}


def lead_id(team: TeamPlan) -> str:
    return f"U0LEAD{team.key.upper()[:4]}"


def agent_id(team: TeamPlan, n: int) -> str:
    return f"U0{team.key.upper()[:3]}{n:03d}"


MANAGER_ID = "U0OPSMGR01"


def org_spec() -> OrgSpec:
    teams = [
        {
            "key": t.key,
            "name": t.name,
            "channel": t.channel,
            "timezone": "Africa/Johannesburg",
            "snapshot_times": ["10:00", "13:00", "16:00"],
            "huddle_time": "08:15",
            "huddle": HUDDLE,
            "leads": [f"lead.{t.key}@rhythm.example"],
            "targets": TARGETS,
        }
        for t in TEAMS
    ]
    people: list[dict[str, Any]] = [
        {
            "email": f"lead.{t.key}@rhythm.example",
            "name": f"{FIRST[i * 7 % 30]} {LAST[i * 3 + 5]} (lead)",
            "slack_user_id": lead_id(t),
            "role": "lead",
            "team": t.key,
        }
        for i, t in enumerate(TEAMS)
    ]
    people.append(
        {
            "email": "ops.manager@rhythm.example",
            "name": "Nokuthula Mbeki",
            "slack_user_id": MANAGER_ID,
            "role": "manager",
            "teams": [t.key for t in TEAMS],
        }
    )
    return OrgSpec.model_validate({"timezone": "Africa/Johannesburg", "teams": teams, "people": people})


def roster() -> list[tuple[int, dict[str, Any]]]:
    rows = []
    line = 1
    for ti, t in enumerate(TEAMS):
        for n in range(t.agents):
            line += 1
            first, last = FIRST[(n + ti * 11) % 30], LAST[(n * 7 + ti) % 20]
            rows.append(
                (
                    line,
                    {
                        "email": f"{first}.{last}.{t.key}{n}@rhythm.example".lower().replace(" ", ""),
                        "name": f"{first} {last}",
                        "team": t.key,
                        "role": "agent",
                        "slack_user_id": agent_id(t, n),
                        "external_id": f"ZD-{t.key[:1].upper()}{n:04d}",
                    },
                )
            )
    return rows


def demo_now(real_now: datetime) -> datetime:
    """The latest weekday at 14:30 Durban time, so the demo always shows a working day in progress."""
    local = real_now.astimezone(TZ)
    day = local.date() if local.time() >= time(14, 30) else local.date() - timedelta(days=1)
    while day.weekday() >= 5:
        day -= timedelta(days=1)
    return datetime.combine(day, time(14, 30), TZ)


def next_working_day(day: date) -> date:
    """The weekday after ``day`` (the demo teams work Monday to Friday, no holidays)."""
    day += timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


def agent_name(team: TeamPlan, n: int) -> str:
    """The roster name of ``agent_id(team, n)``."""
    wanted = agent_id(team, n)
    return next(str(r["name"]) for _, r in roster() if r["slack_user_id"] == wanted)


def _binomial(rng: random.Random, n: int, p: float) -> int:
    p = min(max(p, 0.0), 1.0)
    return sum(1 for _ in range(n) if rng.random() < p)


def kpi_records(now: datetime, *, days: int = 60, seed: int = 7) -> list[tuple[int, dict[str, Any]]]:
    """Agent-level samples per working day as import records; today's day is partial (up to ``now``)."""
    rng = random.Random(seed)
    local_now = now.astimezone(TZ)
    out: list[tuple[int, dict[str, Any]]] = []
    for t in TEAMS:
        for n, (_, agent) in enumerate(r for r in roster() if r[1]["team"] == t.key):
            skill = rng.gauss(0, 1)
            if n == 3:
                skill = -2.2  # a struggling agent a lead should notice
            if n == 5:
                skill = 1.8
            for back in range(days - 1, -1, -1):
                day = local_now.date() - timedelta(days=back)
                if day.weekday() >= 5:
                    continue
                fraction = 1.0 if back else min(max((local_now.hour + local_now.minute / 60 - 8) / 9, 0.1), 1.0)
                trend = (days - back) / days * 0.01  # a gentle improvement over the month
                out += _agent_day(
                    rng, t, agent["email"], day, fraction, skill, trend, end=local_now if not back else None
                )
    return [(i + 2, r) for i, (_, r) in enumerate(out)]


def _agent_day(
    rng: random.Random,
    t: TeamPlan,
    email: str,
    day: date,
    fraction: float,
    skill: float,
    trend: float,
    end: datetime | None,
) -> list[tuple[int, dict[str, Any]]]:
    hours = round(rng.uniform(6.6, 7.4) * fraction, 2)
    items = max(1, round(rng.gauss(t.items_per_day * (1 + 0.06 * skill), 4) * fraction))
    evals = rng.choice((0, 1, 1, 2)) if fraction == 1.0 else rng.choice((0, 1))
    ratings = max(1, round(items * 0.22))
    base = {"subject": email}
    period: dict[str, Any]
    if end is None:
        period = {"date": day.isoformat()}
    else:
        period = {"start": datetime.combine(day, time(8), TZ).isoformat(), "end": end.isoformat()}

    def rec(metric: str, numerator: float, denominator: float | None = None) -> tuple[int, dict[str, Any]]:
        r = {**base, **period, "metric": metric, "numerator": numerator}
        if denominator is not None:
            r["denominator"] = denominator
        return 0, r

    recs = [
        rec("items", items),
        rec("productivity", items, hours),
        rec("aht", round(items * rng.gauss(400 - 25 * skill, 20)), items),
        rec("sla", _binomial(rng, items, 0.86 + t.sla_bias + 0.03 * skill + trend), items),
        rec("csat", _binomial(rng, ratings, 0.86 + 0.04 * skill + trend), ratings),
        rec("resolution", _binomial(rng, items, 0.76 + 0.04 * skill), items),
        rec("accuracy", _binomial(rng, 10, 0.95 + 0.02 * skill), 10),
        rec("compliance", _binomial(rng, 8, 0.985 + 0.01 * skill), 8),
        rec(
            "adherence",
            round(480 * fraction * min(0.99, rng.gauss(0.93 + 0.02 * skill, 0.02))),
            round(480 * fraction),
        ),
    ]
    if evals:
        scores = sum(min(1.0, max(0.4, rng.gauss(0.9 + 0.035 * skill, 0.04))) for _ in range(evals))
        recs.append(rec("qa", round(scores, 4), evals))
    return recs
