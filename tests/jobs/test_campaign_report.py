"""The end-of-day campaign report: every team on every KPI with RAG, movers, and a trend chart after the text."""

from __future__ import annotations

import base64
import dataclasses
from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.schedule import SlotDecision
from bot.services.report import post_campaign_report
from bot.store.tables import Outbox
from tests.support.kpis import add_samples, sample

SAST = ZoneInfo("Africa/Johannesburg")
REPORT_TIME = datetime(2026, 11, 18, 17, 30, 20, tzinfo=SAST)


def with_managers_channel(deps: Deps) -> Deps:
    return dataclasses.replace(deps, settings=deps.settings.model_copy(update={"managers_channel": "C0MANAGERS"}))


async def _outbox(deps: Deps) -> list[Outbox]:
    async with deps.sessions() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())  # type: ignore[arg-type]


async def test_report_text_first_then_chart_once(org: Deps, clock: FixedClock) -> None:
    deps = with_managers_channel(org)
    await add_samples(
        deps,
        sample("csat", "thandi@example.com", "2026-11-17", 90, 100),  # 90% yesterday
        sample("csat", "thandi@example.com", "2026-11-18", 70, 100),  # 70% today: red and the worst mover
        sample("csat", "bob@example.com", "2026-11-17", 80, 100),
        sample("csat", "bob@example.com", "2026-11-18", 88, 100),  # Bravo improves by 8 pts
        sample("sla", "thandi@example.com", "2026-11-18", 45, 50),
    )
    clock.set(REPORT_TIME)
    assert await post_campaign_report(deps) is SlotDecision.RUN
    assert await post_campaign_report(deps) is SlotDecision.NOT_DUE
    text, chart = await _outbox(deps)
    assert (text.channel, text.kind, chart.channel, chart.kind) == ("C0MANAGERS", "post", "C0MANAGERS", "upload")
    blocks = str(text.payload["blocks"])
    assert "📈 Campaign report — Wed 18 Nov 2026" in blocks
    assert "*CSAT*  🔴 Team Alpha 70.0%  ·  ⚪ Team Bravo 88.0%" in blocks
    assert "*Worst movers*\\n• *Team Alpha* — CSAT 70.0% (▼ −20.0 pts worse)" in blocks
    assert "*Best improvers*\\n• *Team Bravo* — CSAT 88.0% (▲ +8.0 pts better)" in blocks
    png = base64.b64decode(chart.payload["content_b64"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    assert chart.payload["filename"] == "campaign-2026-11-18.png"


async def test_no_data_today_is_said_plainly_and_no_chart(org: Deps, clock: FixedClock) -> None:
    deps = with_managers_channel(org)
    clock.set(REPORT_TIME)
    await post_campaign_report(deps)
    (only,) = await _outbox(deps)
    assert only.payload["text"] == "No KPI data today (Wed 18 Nov) for any of the 2 teams."


async def test_no_managers_channel_means_no_report(org: Deps, clock: FixedClock) -> None:
    clock.set(REPORT_TIME)
    assert await post_campaign_report(org) is SlotDecision.NOT_DUE
    assert await _outbox(org) == []


async def test_report_is_not_posted_hours_late(org: Deps, clock: FixedClock) -> None:
    deps = with_managers_channel(org)
    clock.set(datetime(2026, 11, 18, 21, 0, tzinfo=SAST))
    assert await post_campaign_report(deps) is SlotDecision.MISSED
    assert await _outbox(deps) == []
