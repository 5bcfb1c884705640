"""The outbox store: idempotent enqueue, claiming the head of each channel, pacing, leases, settling."""

from __future__ import annotations

from datetime import timedelta

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.delivery import Message
from bot.store import outbox
from tests.delivery.helpers import advance, queue, row

LEASE = timedelta(seconds=120)
SECOND = timedelta(seconds=1)


async def claim(deps: Deps, limit: int = 10) -> list[Message]:
    async with deps.sessions() as session:
        taken = await outbox.claim_due(session, now=deps.clock.now(), limit=limit, lease=LEASE, channel_interval=SECOND)
        await session.commit()
    return taken


async def settle_sent(deps: Deps, message: Message) -> None:
    async with deps.sessions() as session:
        await outbox.mark_sent(session, message.id, at=deps.clock.now(), slack_ts="1.000001", slack_channel="C1")
        await session.commit()


async def test_enqueue_is_idempotent_on_the_key(deps: Deps) -> None:
    assert await queue(deps, "snapshot:1:10:00", "C1", "first")
    assert not await queue(deps, "snapshot:1:10:00", "C1", "second")
    stored = await row(deps, "snapshot:1:10:00")
    assert stored.payload == {"text": "first"} and stored.status == "pending" and stored.attempts == 0


async def test_claim_takes_one_head_per_channel_oldest_first(deps: Deps) -> None:
    for key, channel in [("a1", "CA"), ("b1", "CB"), ("a2", "CA"), ("b2", "CB"), ("c1", "CC")]:
        await queue(deps, key, channel)
    taken = await claim(deps)
    assert [m.key for m in taken] == ["a1", "b1", "c1"]
    assert (await row(deps, "a1")).status == "sending"
    assert await claim(deps) == []  # a1, b1, c1 are in flight: their channels wait


async def test_claim_respects_the_limit(deps: Deps) -> None:
    for n in range(5):
        await queue(deps, f"m{n}", f"C{n}")
    assert len(await claim(deps, limit=2)) == 2
    assert len(await claim(deps, limit=10)) == 3


async def test_next_in_channel_waits_for_the_pacing_interval(deps: Deps, clock: FixedClock) -> None:
    await queue(deps, "a1", "CA")
    await queue(deps, "a2", "CA")
    (first,) = await claim(deps)
    await settle_sent(deps, first)
    assert await claim(deps) == []  # sent just now: one message per second per channel
    advance(clock, 1.01)
    assert [m.key for m in await claim(deps)] == ["a2"]


async def test_a_retrying_head_holds_its_channel(deps: Deps, clock: FixedClock) -> None:
    await queue(deps, "a1", "CA")
    await queue(deps, "a2", "CA")
    (first,) = await claim(deps)
    async with deps.sessions() as session:
        at = clock.now() + timedelta(seconds=30)
        await outbox.retry_later(session, first.id, at=at, error="ratelimited", counts=False)
        await session.commit()
    advance(clock, 10)
    assert await claim(deps) == []  # a2 must not overtake a1
    advance(clock, 20)
    (again,) = await claim(deps)
    assert again.key == "a1" and again.attempts == 0  # a 429 is not a failed attempt


async def test_a_failed_head_releases_its_channel(deps: Deps) -> None:
    await queue(deps, "a1", "CA")
    await queue(deps, "a2", "CA")
    (first,) = await claim(deps)
    async with deps.sessions() as session:
        await outbox.mark_failed(session, first.id, error="channel_not_found", counts=True)
        await session.commit()
    assert [m.key for m in await claim(deps)] == ["a2"]
    failed = await row(deps, "a1")
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "channel_not_found")


async def test_a_row_queued_for_later_does_not_hold_its_channel(deps: Deps, clock: FixedClock) -> None:
    await queue(deps, "later", "CA", not_before=clock.now() + timedelta(minutes=5))
    await queue(deps, "now", "CA")
    assert [m.key for m in await claim(deps)] == ["now"]


async def test_an_expired_lease_is_taken_again(deps: Deps, clock: FixedClock) -> None:
    await queue(deps, "a1", "CA")
    assert len(await claim(deps)) == 1
    advance(clock, 119)
    assert await claim(deps) == []
    advance(clock, 2)  # the worker that took it must have died
    assert [m.key for m in await claim(deps)] == ["a1"]


async def test_update_is_claimed_with_its_originals_state(deps: Deps, clock: FixedClock) -> None:
    await queue(deps, "alert", "CA")
    (original,) = await claim(deps)
    await settle_sent(deps, original)
    advance(clock, 2)
    await queue(deps, "alert:resolved", "CA", kind="update", update_of="alert")
    (update,) = await claim(deps)
    assert update.update_of == "alert" and update.original is not None
    assert (update.original.status, update.original.slack_ts, update.original.slack_channel) == (
        "sent",
        "1.000001",
        "C1",
    )


async def test_retry_counts_failed_attempts_and_stores_the_code_only(deps: Deps, clock: FixedClock) -> None:
    await queue(deps, "a1", "CA", "Thandi's scorecard")
    (first,) = await claim(deps)
    async with deps.sessions() as session:
        await outbox.retry_later(session, first.id, at=clock.now(), error="http_503", counts=True)
        await session.commit()
    stored = await row(deps, "a1")
    assert (stored.status, stored.attempts, stored.last_error) == ("pending", 1, "http_503")
