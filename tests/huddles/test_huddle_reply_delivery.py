"""The outbox's ``reply`` kind (the digest goes in the prompt's thread): it waits for its parent's ts, is posted
with ``thread_ts``, and gives up without a call when the parent failed; and ``cancel_pending``, which withdraws a
reminder nobody needs any more."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import outbox
from tests.huddles.conftest import SAST, deliver, outbox_row


async def _queue(deps: Deps, key: str, channel: str, text: str, **kw: str) -> None:
    async with deps.sessions() as session:
        await outbox.enqueue(session, key=key, channel=channel, payload={"text": text}, now=deps.clock.now(), **kw)
        await session.commit()


async def test_a_reply_waits_for_its_parent_then_lands_in_its_thread(
    deps: Deps, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    fake_slack.fail_next("chat.postMessage", status=429, retry_after=3)  # the parent is held up by a 429
    await _queue(deps, "parent", "C0ALPHA01", "prompt")
    await _queue(deps, "parent:digest", "C0ALPHA01", "digest", kind="reply", update_of="parent")
    await deliver(deps, fake_slack, clock)
    parent, reply = fake_slack.posted("C0ALPHA01")
    assert (parent.text, reply.text, reply.body["thread_ts"]) == ("prompt", "digest", parent.ts)
    row = await outbox_row(deps, "parent:digest")
    assert (row.status, row.attempts, row.slack_channel) == ("sent", 0, "C0ALPHA01")


async def test_a_reply_to_a_failed_parent_gives_up_without_a_call(
    deps: Deps, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    fake_slack.fail_next("chat.postMessage", error="channel_not_found")
    await _queue(deps, "parent", "C0GONE001", "prompt")
    await _queue(deps, "parent:digest", "C0GONE001", "digest", kind="reply", update_of="parent")
    await deliver(deps, fake_slack, clock)
    assert len(fake_slack.calls_to("chat.postMessage")) == 1
    row = await outbox_row(deps, "parent:digest")
    assert (row.status, row.last_error, row.attempts) == ("failed", "original_failed", 0)


async def test_a_reply_needs_its_parent(deps: Deps) -> None:
    async with deps.sessions() as session:
        with pytest.raises(ValueError, match="a reply needs update_of"):
            await outbox.enqueue(session, key="x", channel="C0ALPHA01", payload={"text": "x"}, kind="reply")


async def test_cancel_pending_withdraws_only_a_message_still_waiting(
    deps: Deps, fake_slack: FakeSlack, clock: FixedClock
) -> None:
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    await _queue(deps, "sent-one", "C0ALPHA01", "already out")
    await deliver(deps, fake_slack, clock)
    await _queue(deps, "waiting", "C0ALPHA01", "never sent")
    async with deps.sessions() as session:
        assert await outbox.cancel_pending(session, "waiting") is True
        assert await outbox.cancel_pending(session, "waiting") is False  # once
        assert await outbox.cancel_pending(session, "sent-one") is False  # too late: left as it is
        assert await outbox.cancel_pending(session, "no-such-key") is False
        await session.commit()
    await deliver(deps, fake_slack, clock)
    assert [p.text for p in fake_slack.posted("C0ALPHA01")] == ["already out"]
    assert [(await outbox_row(deps, k)).status for k in ("sent-one", "waiting")] == ["sent", "cancelled"]
