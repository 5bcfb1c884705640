"""/adherence: who is out now and each agent's adherence for the day, for leads and managers only."""

from __future__ import annotations

import json
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.clock import FixedClock
from bot.deps import Deps
from bot.ingest.adherence import import_schedule, import_states
from bot.services.adherence import scan_adherence
from tests.conftest import SlashCommand
from tests.support.org import AGENT_1, ALPHA_LEAD, BRAVO_LEAD, MANAGER

SAST = ZoneInfo("Africa/Johannesburg")


async def _day(deps: Deps) -> None:
    async with deps.sessions() as session:
        await import_schedule(
            session,
            [
                (
                    2,
                    {
                        "agent": "thandi@example.com",
                        "start": "2026-11-18T08:00",
                        "end": "2026-11-18T17:00",
                        "activity": "open",
                    },
                ),
                (
                    3,
                    {
                        "agent": "sipho@example.com",
                        "start": "2026-11-18T08:00",
                        "end": "2026-11-18T17:00",
                        "activity": "open",
                    },
                ),
            ],
        )
        await import_states(
            session,
            [
                (2, {"agent": "thandi@example.com", "at": "2026-11-18T07:59", "state": "available"}),
                (3, {"agent": "thandi@example.com", "at": "2026-11-18T10:00", "state": "away"}),  # out since 10:00
                (4, {"agent": "sipho@example.com", "at": "2026-11-18T07:55", "state": "available"}),
            ],
        )
        await session.commit()


async def test_lead_sees_who_is_out_now_and_the_days_adherence(
    org: Deps, clock: FixedClock, slash: SlashCommand
) -> None:
    await _day(org)
    clock.set(datetime(2026, 11, 18, 10, 20, tzinfo=SAST))
    await scan_adherence(org)
    payload = (await slash(ALPHA_LEAD, "", command="/adherence")).json()
    text = json.dumps(payload, ensure_ascii=False)
    assert payload["response_type"] == "ephemeral"
    assert "⏱ Adherence — Team Alpha, today" in text
    assert "🔴 *Thandi Nkosi* — Out of adherence, 20 min (since 10:00)" in text
    # Thandi: in 08:00–10:00 (120 min), out 10:00–10:20 (20 min) -> 120/140 = 85.7%; Sipho 140/140.
    assert "*Thandi Nkosi*  85.7%  (120 of 140 min in adherence)" in text
    assert "*Sipho Dlamini*  100.0%" in text
    assert "Team adherence 92.9%" in text  # 260 / 280, a ratio of sums


async def test_manager_names_a_team(org: Deps, clock: FixedClock, slash: SlashCommand) -> None:
    await _day(org)
    clock.set(datetime(2026, 11, 18, 10, 20, tzinfo=SAST))
    assert "Team Alpha" in (await slash(MANAGER, "alpha", command="/adherence")).json()["text"]
    assert "Name a team" in (await slash(MANAGER, "", command="/adherence")).json()["text"]


async def test_agents_and_other_leads_are_refused(org: Deps, slash: SlashCommand) -> None:
    assert "for team leaders and managers" in (await slash(AGENT_1, "", command="/adherence")).json()["text"]
    assert "isn't one of the teams you lead" in (await slash(BRAVO_LEAD, "alpha", command="/adherence")).json()["text"]
