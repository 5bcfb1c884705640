"""A burst of acknowledgements makes a few chat.update calls, not one per click, and the message ends on the
final count; the outbox's replace-while-pending extension that does it."""

from __future__ import annotations

import asyncio

from sqlalchemy import select

from bot.clock import FixedClock
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import outbox
from bot.store.tables import Member, Outbox
from tests.notices.helpers import Drain, Publish, Send, advance, click, count_text

BURST = 25


async def _more_agents(deps: Deps, team_id: int, n: int) -> list[str]:
    users = [f"U0BURST{i:03d}" for i in range(n)]
    async with deps.sessions() as session:
        for i, user in enumerate(users):
            session.add(
                Member(email=f"burst{i}@example.com", name=f"Agent {i:02d}", slack_user_id=user, team_id=team_id)
            )
        await session.commit()
    return users


async def test_a_burst_of_clicks_makes_few_updates_ending_on_the_finalcount_text(
    org: Deps,
    slack: FakeSlack,
    send: Send,
    publish: Publish,
    drain: Drain,
    worker: DeliveryWorker,
    clock: FixedClock,
    team_ids: dict[str, int],
) -> None:
    users = await _more_agents(org, team_ids["alpha"], BURST)
    notice_id = await publish(teams=("alpha",))
    await drain()
    (post,) = slack.posted("C0ALPHA01")
    assert count_text(post.body) == f"*0/{BURST + 3} acknowledged*"

    # Ten clicks at once, then the worker runs while they settle; fifteen more arrive after that update left.
    first, second = users[:10], users[10:]
    await asyncio.gather(*(send(click(u, f"{notice_id}:1", slack)) for u in first))
    await slack.wait_for("webhook:/hook", count=len(first))
    await worker.run_once()
    assert slack.calls_to("chat.update") == []  # the update waits a moment for more changes
    advance(clock, 3)
    await worker.run_once()
    assert len(slack.calls_to("chat.update")) == 1
    assert count_text(post.body) == "*10/28 acknowledged*"

    await asyncio.gather(*(send(click(u, f"{notice_id}:1", slack)) for u in second))
    await slack.wait_for("webhook:/hook", count=BURST)
    await drain()
    updates = slack.calls_to("chat.update")
    assert len(updates) == 2, [count_text(u.body) for u in updates]
    assert count_text(post.body) == f"*{BURST}/{BURST + 3} acknowledged*"
    async with org.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.kind == "update"))).scalars().all()
    assert sorted(r.idempotency_key for r in rows) == [
        f"notice:{notice_id}:v1:team:{team_ids['alpha']}:u1",
        f"notice:{notice_id}:v1:team:{team_ids['alpha']}:u2",
    ]


async def test_replace_pending_changes_only_a_waiting_row(org: Deps) -> None:
    now = org.clock.now()
    async with org.sessions() as session:
        await outbox.enqueue(session, key="k:wait", channel="C1", payload={"text": "old"}, now=now)
        await outbox.enqueue(session, key="k:gone", channel="C2", payload={"text": "old"}, now=now)
        await session.commit()
    async with org.sessions() as session:
        row = await outbox.get(session, "k:gone")
        assert row is not None
        await outbox.mark_sent(session, row.id or 0, at=now, slack_ts="1.1", slack_channel="C2")
        await session.commit()
    async with org.sessions() as session:
        assert await outbox.replace_pending(session, key="k:wait", payload={"text": "new"}) is True
        assert await outbox.replace_pending(session, key="k:gone", payload={"text": "new"}) is False
        assert await outbox.replace_pending(session, key="k:none", payload={"text": "new"}) is False
        await session.commit()
    async with org.sessions() as session:
        waiting, gone = await outbox.get(session, "k:wait"), await outbox.get(session, "k:gone")
    assert waiting and waiting.payload == {"text": "new"} and waiting.status == "pending"
    assert gone and gone.payload == {"text": "old"} and gone.status == "sent"


async def test_replace_pending_leaves_a_row_being_sent(org: Deps) -> None:
    from datetime import timedelta

    now = org.clock.now()
    async with org.sessions() as session:
        await outbox.enqueue(session, key="k:taken", channel="C1", payload={"text": "old"}, now=now)
        await session.commit()
    async with org.sessions() as session:
        (claimed,) = await outbox.claim_due(
            session, now=now, limit=5, lease=timedelta(seconds=60), channel_interval=timedelta(seconds=1)
        )
        await session.commit()
    assert claimed.payload == {"text": "old"}
    async with org.sessions() as session:
        assert await outbox.replace_pending(session, key="k:taken", payload={"text": "new"}) is False
        await session.commit()
        row = await outbox.get(session, "k:taken")
    assert row and row.payload == {"text": "old"} and row.status == "sending"
