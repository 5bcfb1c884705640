"""Check-ins at the edges of a huddle: nothing is saved once the close has counted, a thread reply is judged
by when it was written (Slack may deliver it late), and a check-in withdraws the reminder still waiting."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

import bot.services.huddle_checkin as huddle_checkin
from bot.blocks.ids import BlockId
from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.services.huddle_tick import run_huddle_tick
from tests.huddles.conftest import (
    SAST,
    Send,
    checkin_rows,
    deliver,
    huddle_rows,
    outbox_row,
    outbox_rows,
    reply_event,
    submission,
    texts,
    tick,
)
from tests.support.org import AGENT_1, AGENT_2, AGENT_3


def _ts(moment: datetime) -> str:
    return f"{moment.timestamp():.6f}"


def close_while_checking_in(hud: Deps, clock: FixedClock, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on the close tick runs after a check-in has found the huddle open, before it writes (the race)."""
    real = huddle_checkin._load

    async def load_then_close(*args: Any) -> Any:
        target = await real(*args)
        clock.set(datetime(2026, 11, 18, 9, 30, 1, tzinfo=SAST))
        await run_huddle_tick(hud)
        return target

    monkeypatch.setattr(huddle_checkin, "_load", load_then_close)


async def test_a_check_in_racing_the_close_is_refused_not_lost(
    hud: Deps, huddle_id: int, interact: Send, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    close_while_checking_in(hud, clock, monkeypatch)
    clock.set(datetime(2026, 11, 18, 9, 29, 59, tzinfo=SAST))
    resp = await interact(submission(AGENT_1, huddle_id, "4", "Zendesk is slow"))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {BlockId.HUDDLE_MOOD: "Check-ins for this huddle closed at 09:30."},
    }
    assert await checkin_rows(hud) == []  # the digest said 0 present, and the data agrees
    (row,) = await huddle_rows(hud)
    assert row.status == "closed" and row.tally["present"] == []


async def test_an_edit_racing_the_close_leaves_the_counted_answers(
    hud: Deps, huddle_id: int, interact: Send, clock: FixedClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await interact(submission(AGENT_1, huddle_id, "4", "Zendesk is slow"))
    close_while_checking_in(hud, clock, monkeypatch)
    clock.set(datetime(2026, 11, 18, 9, 29, 59, tzinfo=SAST))
    resp = await interact(submission(AGENT_1, huddle_id, "1", "Everything is on fire"))
    assert resp.json()["errors"] == {BlockId.HUDDLE_MOOD: "Check-ins for this huddle closed at 09:30."}
    (row,) = await checkin_rows(hud)
    assert (row.mood, row.blockers) == (4, "Zendesk is slow")
    digest = next(r for r in await outbox_rows(hud) if r.kind == "reply")
    assert "• Zendesk is slow — Thandi Nkosi" in texts(digest.payload)


async def test_a_reply_delivered_late_is_judged_by_when_it_was_written(
    hud: Deps, prompt_ts: str, post_event: Send, clock: FixedClock
) -> None:
    written = datetime(2026, 11, 18, 9, 14, tzinfo=SAST)  # before the late mark (09:15)
    clock.set(datetime(2026, 11, 18, 9, 16, 30, tzinfo=SAST))  # Slack's retry arrives after it
    await post_event(reply_event(AGENT_1, "C0ALPHA01", prompt_ts, ts=_ts(written)))
    (row,) = await checkin_rows(hud)
    assert (row.late, row.created_at) == (False, written)


async def test_a_reply_written_before_the_close_counts_until_the_close_has_tallied(
    hud: Deps, prompt_ts: str, post_event: Send, clock: FixedClock
) -> None:
    (huddle,) = await huddle_rows(hud)
    # Thandi replied at 09:29:50; Slack delivers it at 09:30:40, before the close tick has run: it counts.
    clock.set(datetime(2026, 11, 18, 9, 30, 40, tzinfo=SAST))
    await post_event(
        reply_event(AGENT_1, "C0ALPHA01", prompt_ts, ts=_ts(datetime(2026, 11, 18, 9, 29, 50, tzinfo=SAST)))
    )
    # Sipho replied at 09:29:55, but Slack's retry comes after the close tick: the digest has gone, so not.
    await tick(hud, clock, datetime(2026, 11, 18, 9, 31, 2, tzinfo=SAST))
    clock.set(datetime(2026, 11, 18, 9, 31, 10, tzinfo=SAST))
    await post_event(
        reply_event(AGENT_2, "C0ALPHA01", prompt_ts, ts=_ts(datetime(2026, 11, 18, 9, 29, 55, tzinfo=SAST)))
    )
    (row,) = await checkin_rows(hud)
    assert (row.via, row.late) == ("thread", True)
    digest = texts((await outbox_row(hud, f"{huddle.message_key}:digest")).payload)
    assert "*Present (1):* Thandi Nkosi _(late)_\n*Absent (2):* Ayesha Pillay, Sipho Dlamini" in digest


async def test_a_reply_delivered_very_late_is_judged_on_arrival(
    hud: Deps, prompt_ts: str, post_event: Send, clock: FixedClock
) -> None:
    # Written at 09:10, delivered at 09:45 (the close tick has not run: the app was down): too old to trust.
    clock.set(datetime(2026, 11, 18, 9, 45, tzinfo=SAST))
    await post_event(reply_event(AGENT_1, "C0ALPHA01", prompt_ts, ts=_ts(datetime(2026, 11, 18, 9, 10, tzinfo=SAST))))
    assert await checkin_rows(hud) == []


async def test_checking_in_withdraws_the_reminder_still_waiting(
    hud: Deps, huddle_id: int, interact: Send, post_event: Send, clock: FixedClock, fake_slack: FakeSlack
) -> None:
    await deliver(hud, fake_slack, clock)  # the prompt is out
    (prompt,) = fake_slack.posted("C0ALPHA01")
    assert (await tick(hud, clock, datetime(2026, 11, 18, 9, 20, 2, tzinfo=SAST))).reminders == 3
    (huddle,) = await huddle_rows(hud)
    # Before the worker sends the DMs, Thandi checks in with the modal and Sipho replies in the thread.
    clock.set(datetime(2026, 11, 18, 9, 20, 30, tzinfo=SAST))
    await interact(submission(AGENT_1, huddle_id, "4"))
    await post_event(reply_event(AGENT_2, "C0ALPHA01", prompt.ts, ts=_ts(clock.now())))
    statuses = {r.channel: r.status for r in await outbox_rows(hud) if r.kind == "dm"}
    assert statuses == {AGENT_1: "cancelled", AGENT_2: "cancelled", AGENT_3: "pending"}
    await deliver(hud, fake_slack, clock)
    assert [p.text for p in fake_slack.posted(FakeSlack.dm_channel(AGENT_3))] == [
        "⏰ The Team Alpha huddle closes at 09:30 and you haven't checked in yet."
    ]
    assert fake_slack.posted(FakeSlack.dm_channel(AGENT_1)) == []
    assert fake_slack.posted(FakeSlack.dm_channel(AGENT_2)) == []
    assert {r.channel: r.status for r in await outbox_rows(hud) if r.kind == "dm"}[AGENT_3] == "sent"
    assert huddle.reminded_at is not None
