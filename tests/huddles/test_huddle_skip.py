"""`/huddle skip` and `unskip` on the day itself: the answer says what really happens, and it happens — a
prompt already posted is called off (no reminders, no digest), and unskipping brings back what the skip stopped
while there is still time."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import jobruns
from tests.huddles.conftest import (
    SAST,
    Answer,
    Send,
    button,
    deliver,
    huddle_rows,
    outbox_rows,
    texts,
    tick,
)
from tests.support.org import AGENT_1, ALPHA_LEAD

Cmd = Callable[..., Awaitable[Answer]]


def at(hour: int, minute: int, second: int = 0) -> datetime:
    return datetime(2026, 11, 18, hour, minute, second, tzinfo=SAST)


async def test_unskip_after_the_slot_was_skipped_posts_the_prompt_now(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd
) -> None:
    clock.set(at(8, 0))
    assert await huddle_cmd(ALPHA_LEAD, "skip") == "No Team Alpha huddle on Wed 18 Nov: no prompt, no reminders."
    await tick(hud, clock, at(9, 0, 2))  # the slot is recorded as skipped
    assert await huddle_rows(hud) == []
    clock.set(at(9, 3))
    assert await huddle_cmd(ALPHA_LEAD, "unskip") == (
        "The Team Alpha huddle is back on for Wed 18 Nov. Posted its prompt in <#C0ALPHA01>; check-ins close at 09:30."
    )
    (row,) = await huddle_rows(hud)
    assert (row.seq, row.status, row.posted_at) == (1, "open", at(9, 3))
    for minute in (4, 5):
        assert (await tick(hud, clock, at(9, minute, 2))).posted == []
    assert [r.kind for r in await outbox_rows(hud)] == ["post"]
    async with hud.sessions() as session:
        (run,) = await jobruns.runs(session, job_key="huddle-prompt")
    assert run.status == "done"


async def test_unskip_says_when_the_prompt_will_post_or_that_it_is_too_late(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd
) -> None:
    clock.set(at(7, 0))
    await huddle_cmd(ALPHA_LEAD, "skip")
    clock.set(at(8, 0))
    assert await huddle_cmd(ALPHA_LEAD, "unskip") == (
        "The Team Alpha huddle is back on for Wed 18 Nov. The prompt posts at 09:00."
    )
    await huddle_cmd(ALPHA_LEAD, "skip")
    await tick(hud, clock, at(9, 0, 2))
    clock.set(at(10, 0))
    assert await huddle_cmd(ALPHA_LEAD, "unskip") == (
        "The Team Alpha huddle is back on for Wed 18 Nov. Today's huddle time has passed, so there is no prompt today."
    )
    await tick(hud, clock, at(10, 1))
    assert await huddle_rows(hud) == []


async def test_unskip_of_a_day_never_skipped_says_the_prompt_is_open(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd
) -> None:
    await tick(hud, clock, at(9, 0, 2))
    clock.set(at(9, 10))
    assert await huddle_cmd(ALPHA_LEAD, "unskip") == (
        "The Team Alpha huddle is back on for Wed 18 Nov. Its prompt is open: check-ins close at 09:30."
    )
    assert len(await huddle_rows(hud)) == 1


async def test_skipping_after_the_prompt_calls_it_off(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd, interact: Send, fake_slack: FakeSlack
) -> None:
    await tick(hud, clock, at(9, 0, 2))
    await deliver(hud, fake_slack, clock)
    assert (await tick(hud, clock, at(9, 20, 2))).reminders == 3  # queued, not yet sent
    clock.set(at(9, 20, 30))
    assert await huddle_cmd(ALPHA_LEAD, "skip", channel="C0ALPHA01") == (
        "No Team Alpha huddle on Wed 18 Nov: no prompt, no reminders."
        " The prompt already posted is called off: no check-ins, reminders or digest."
    )
    (row,) = await huddle_rows(hud)
    assert row.status == "cancelled"
    assert {r.status for r in await outbox_rows(hud) if r.kind == "dm"} == {"cancelled"}
    result = await tick(hud, clock, at(9, 30, 2))
    assert (result.reminders, result.closed) == (0, [])
    await deliver(hud, fake_slack, clock)
    (prompt,) = fake_slack.posted("C0ALPHA01")  # no digest in the thread
    assert "Called off by a team lead" in texts(prompt.edits[-1])
    assert all(b["type"] != "actions" for b in prompt.edits[-1]["blocks"])
    assert fake_slack.calls_to("conversations.open") == [] and len(fake_slack.calls_to("chat.postMessage")) == 1
    await interact(button(AGENT_1, row.id or 0, fake_slack))
    (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert hook.body["text"] == "This huddle was called off: no check-ins needed."
    report = await huddle_cmd(ALPHA_LEAD, "report 7d")
    assert "0 huddles" in texts(report.payload)  # a called-off huddle is not in the figures


async def test_unskip_reopens_a_called_off_prompt_while_its_window_lasts(
    hud: Deps, clock: FixedClock, huddle_cmd: Cmd, fake_slack: FakeSlack
) -> None:
    await tick(hud, clock, at(9, 0, 2))
    clock.set(at(9, 5))
    await huddle_cmd(ALPHA_LEAD, "skip")
    clock.set(at(9, 8))
    assert await huddle_cmd(ALPHA_LEAD, "unskip") == (
        "The Team Alpha huddle is back on for Wed 18 Nov. The prompt posted earlier is open again for check-ins."
    )
    await deliver(hud, fake_slack, clock)
    (prompt,) = fake_slack.posted("C0ALPHA01")
    assert any(b["type"] == "actions" for b in prompt.edits[-1]["blocks"])  # the Check in button is back
    assert (await tick(hud, clock, at(9, 20, 2))).reminders == 3
    assert len((await tick(hud, clock, at(9, 30, 2))).closed) == 1
    assert [r.kind for r in await outbox_rows(hud)].count("reply") == 1  # the digest
