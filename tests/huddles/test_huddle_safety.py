"""What people type never turns into mentions or links; a big team's digest stays inside Slack's limits; one
broken huddle or a failing KPI lookup never costs another team (or this one) its huddle."""

from __future__ import annotations

import dataclasses
import json
import logging
from datetime import UTC, date, datetime
from typing import Any

import pytest

import bot.services.huddle_close as huddle_close
import bot.services.huddle_tick as huddle_tick
import bot.services.huddles as huddle_service
from bot.blocks.kit import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import jobruns
from bot.store.huddle_people import add_checkin
from bot.store.leave import add_leave
from bot.store.org import team_by_key
from bot.store.tables import Member
from tests.huddles.conftest import (
    SAST,
    Answer,
    Send,
    button,
    huddle_rows,
    outbox_row,
    outbox_rows,
    submission,
    texts,
    tick,
)
from tests.support.org import AGENT_1, ALPHA_LEAD

MANAGERS = "C0MANAGERS"


@pytest.fixture
def ops(hud: Deps) -> Deps:
    return dataclasses.replace(hud, settings=hud.settings.model_copy(update={"managers_channel": MANAGERS}))


def _block_texts(payload: dict[str, Any]) -> list[str]:
    out = []
    for block in payload.get("blocks", []):
        if "text" in block:
            out.append(block["text"]["text"])
        out += [e["text"] for e in block.get("elements", []) if isinstance(e.get("text"), str)]
    return out


async def test_typed_text_cannot_ping_or_link(
    ops: Deps, clock: FixedClock, huddle_cmd: Any, interact: Send, fake_slack: FakeSlack
) -> None:
    clock.set(datetime(2026, 11, 18, 8, 0, tzinfo=SAST))
    answer: Answer = await huddle_cmd(ALPHA_LEAD, "focus <!here> AHT < 420s & CSAT up", channel="C0ALPHA01")
    assert answer == "Today's focus for Team Alpha: &lt;!here&gt; AHT &lt; 420s &amp; CSAT up"
    await tick(ops, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    (row,) = await huddle_rows(ops)
    prompt = await outbox_row(ops, row.message_key)
    assert "*Today's focus:* &lt;!here&gt; AHT &lt; 420s &amp; CSAT up" in texts(prompt.payload)

    clock.set(datetime(2026, 11, 18, 9, 5, tzinfo=SAST))
    await interact(button(AGENT_1, row.id or 0, fake_slack))
    (opened,) = await fake_slack.wait_for("views.open")
    view = opened.body["view"] if isinstance(opened.body["view"], dict) else json.loads(opened.body["view"])
    assert "Today's focus: &lt;!here&gt; AHT &lt; 420s &amp; CSAT up" in view["blocks"][0]["text"]["text"]
    blocker = "<!channel> <https://evil.example|reset your password>"
    await interact(submission(AGENT_1, row.id or 0, "3", blocker, "ask <@UADMIN01> & <#C0SECRET>"))
    await tick(ops, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))

    thread = await outbox_row(ops, f"{row.message_key}:digest")
    for_ops = await outbox_row(ops, f"{row.message_key}:digest:ops")
    for payload in (thread.payload, for_ops.payload):
        shown = "\n".join([payload["text"], *_block_texts(payload)])
        assert "<!" not in shown and "<http" not in shown and "<@" not in shown and "<#" not in shown
        assert "• &lt;!channel&gt; &lt;https://evil.example|reset your password&gt; — Thandi Nkosi" in shown
        assert "*Focus:* &lt;!here&gt; AHT &lt; 420s &amp; CSAT up" in shown
    assert "• Thandi Nkosi: ask &lt;@UADMIN01&gt; &amp; &lt;#C0SECRET&gt;" in texts(thread.payload)


async def _alpha(deps: Deps) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, "alpha")
    assert team is not None
    return team.id


async def test_a_200_agent_digest_stays_inside_slacks_limits(ops: Deps, clock: FixedClock) -> None:
    alpha = await _alpha(ops)
    async with ops.sessions() as session:
        people = [
            Member(email=f"a{i}@example.com", name=f"Agent {i:03d} Van der Merwe-Smith", team_id=alpha)
            for i in range(200)
        ]
        session.add_all(people)
        await session.flush()
        for member in people[180:]:
            await add_leave(session, member.id or 0, date(2026, 11, 18), date(2026, 11, 18), created_by=None)
        await session.commit()
    await tick(ops, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    (row,) = await huddle_rows(ops)
    async with ops.sessions() as session:
        for member in people[:150]:  # 150 present, 30 absent (plus the 3 test agents), 20 on leave
            await add_checkin(
                session,
                huddle_id=row.id or 0,
                member_id=member.id or 0,
                via="modal",
                late=False,
                now=clock.now(),
                mood=4,
                blockers="The refunds queue is stuck & <slow> " + "x" * 460,
                note="A long note " + "y" * 488,
            )
        await session.commit()
    assert (await tick(ops, clock, datetime(2026, 11, 18, 9, 30, 2, tzinfo=SAST))).closed == [row.id]

    for key in (f"{row.message_key}:digest", f"{row.message_key}:digest:ops"):
        payload = (await outbox_row(ops, key)).payload
        blocks = payload["blocks"]
        shown = _block_texts(payload)
        assert len(blocks) <= MAX_MESSAGE_BLOCKS
        assert all(len(t) <= MAX_SECTION_TEXT for t in shown)
        assert sum(len(t) for t in shown) <= 12_000
        everything = "\n".join(shown)
        assert "*Present (150):* Agent 000 Van der Merwe-Smith 🙂, " in everything
        assert "more (see `/huddle report`)" in everything
        assert "*Absent (33):* Agent 150 Van der Merwe-Smith, " in everything
        assert "*On leave (20):* Agent 180" in everything
        assert "*Blockers (150):*\n• The refunds queue is stuck &amp; &lt;slow&gt; xxx" in everything
        blockers = everything.split("*Blockers (150):*\n")[1].split("\n*Mood:*")[0].split("\n")
        assert blockers[-1] == f"…and {150 - (len(blockers) - 1)} more" and len(blockers) > 5  # within their budget
    notes = texts((await outbox_row(ops, f"{row.message_key}:digest")).payload).split("*Notes:*\n")[1].split("\n")
    assert notes[0].startswith("• Agent 000 Van der Merwe-Smith: A long note yyy") and len(notes[0]) <= 400
    assert f"…and {150 - (len(notes) - 2)} more" in notes[-2]  # the last line is the closing context


async def test_one_broken_huddle_does_not_hold_up_another_teams_close(
    hud: Deps, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # Alpha: 09:00–09:30 Durban (07:00–07:30 UTC). Bravo: 10:00–10:20 London (10:00–10:20 UTC).
    real = huddle_close._digest_view

    async def broken(session: Any, team: Any, row: Any, *args: Any) -> Any:
        if team.key == "alpha":
            raise RuntimeError("bad data")
        return await real(session, team, row, *args)

    async def no_reminders(*_: Any) -> int:
        raise RuntimeError("reminders are down")

    monkeypatch.setattr(huddle_close, "_digest_view", broken)
    monkeypatch.setattr(huddle_close, "_remind", no_reminders)
    await tick(hud, clock, datetime(2026, 11, 18, 7, 0, 2, tzinfo=UTC))
    with caplog.at_level(logging.ERROR):
        await tick(hud, clock, datetime(2026, 11, 18, 10, 0, 2, tzinfo=UTC))  # Alpha's close fails
        await tick(hud, clock, datetime(2026, 11, 18, 10, 10, 2, tzinfo=UTC))  # Bravo's reminder fails
        monkeypatch.setattr(huddle_tick, "send_reminders", no_reminders)  # the whole step fails
        result = await tick(hud, clock, datetime(2026, 11, 18, 10, 21, 2, tzinfo=UTC))  # Alpha fails again
    alpha_row, bravo_row = await huddle_rows(hud)
    assert result.closed == [bravo_row.id]
    assert f"huddle {alpha_row.id}: close failed" in caplog.text
    assert f"huddle {bravo_row.id}: reminders failed" in caplog.text
    assert "huddle reminders failed" in caplog.text
    statuses = {h.id: h.status for h in await huddle_rows(hud)}
    assert statuses == {alpha_row.id: "open", bravo_row.id: "closed"}
    assert [r.idempotency_key for r in await outbox_rows(hud) if r.kind == "reply"] == [
        f"{bravo_row.message_key}:digest"
    ]
    monkeypatch.setattr(huddle_close, "_digest_view", real)  # fixed: the next tick closes Alpha's too
    assert (await tick(hud, clock, datetime(2026, 11, 18, 10, 22, 2, tzinfo=UTC))).closed == [alpha_row.id]


async def test_a_failing_kpi_lookup_still_posts_the_prompt(
    hud: Deps, clock: FixedClock, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("metric catalogue is corrupt")

    monkeypatch.setattr(huddle_service, "team_scorecard", broken)
    with caplog.at_level(logging.ERROR):
        result = await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    assert len(result.posted) == 1
    assert "KPI figures unavailable" in caplog.text
    (prompt,) = await outbox_rows(hud)
    shown = texts(prompt.payload)
    assert "*KPIs Tue 17 Nov:* figures unavailable" in shown
    assert "⏱ *Open adherence alerts:* 0" in shown and "Check in" in shown
    async with hud.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="huddle-prompt")
    assert run.status == "done"
