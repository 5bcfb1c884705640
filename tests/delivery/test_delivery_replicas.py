"""Several replicas on one PostgreSQL: every row is sent once, each channel in order (FOR UPDATE SKIP LOCKED)."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from bot.clock import FixedClock
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import outbox
from bot.store.db import make_engine, make_session_factory
from tests.conftest import PG_URL
from tests.delivery.conftest import JITTER
from tests.delivery.helpers import advance, queue, unsettled

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not PG_URL, reason="replicas need PostgreSQL: set RHYTHM_TEST_DATABASE_URL"),
]
CHANNELS = [f"CTEAM{n:05d}" for n in range(30)]


@pytest.fixture
async def replicas(deps: Deps) -> AsyncIterator[list[Deps]]:
    """Four replicas: the test's own deps plus three more, each with its own engine (connection pool)."""
    engines = [make_engine(PG_URL) for _ in range(3)]
    yield [deps] + [dataclasses.replace(deps, engine=e, sessions=make_session_factory(e)) for e in engines]
    for engine in engines:
        await engine.dispose()


async def test_concurrent_claims_are_disjoint(replicas: list[Deps]) -> None:
    deps = replicas[0]
    for n in range(3):
        for channel in CHANNELS:
            await queue(deps, f"{channel}:{n}", channel)

    async def claim(d: Deps) -> list[str]:
        async with d.sessions() as session:
            taken = await outbox.claim_due(
                session, now=d.clock.now(), limit=12, lease=timedelta(minutes=2), channel_interval=timedelta(0)
            )
            await asyncio.sleep(0.05)  # hold the row locks while the others claim
            await session.commit()
        return [m.key for m in taken]

    results = await asyncio.gather(*(claim(d) for d in replicas))
    keys = [k for r in results for k in r]
    assert len(keys) == len(set(keys)) == len(CHANNELS)  # one head per channel, each taken once
    assert all(k.endswith(":0") for k in keys)
    assert sum(1 for r in results if r) >= 2  # the claims really overlapped


async def test_two_workers_never_send_a_row_twice(
    replicas: list[Deps], fake_slack: FakeSlack, clock: FixedClock
) -> None:
    fake_slack.now = lambda: clock.now().timestamp()
    one, two = replicas[:2]
    workers = [
        DeliveryWorker(d, create_delivery_client(d.settings, token, timeout=2), rand=lambda: JITTER)
        for d, token in ((one, "xoxb-one"), (two, "xoxb-two"))
    ]
    fake_slack.fail_next("chat.postMessage", status=500, times=5)  # retries must not duplicate either
    for n in range(3):
        for channel in CHANNELS:
            await queue(one, f"{channel}:{n}", channel, f"{channel} #{n}")
    for _ in range(40):
        await asyncio.gather(*(w.run_once() for w in workers))
        if not await unsettled(one):
            break
        advance(clock, 0.5)
    assert not await unsettled(one)
    texts = Counter(p.text for p in fake_slack.posted())
    assert len(texts) == 3 * len(CHANNELS) and set(texts.values()) == {1}
    for channel in CHANNELS:
        assert [p.text for p in fake_slack.posted(channel)] == [f"{channel} #{n}" for n in range(3)]
    senders = Counter(c.token for c in fake_slack.calls_to("chat.postMessage") if c.status == 200)
    assert senders["xoxb-one"] > 0 and senders["xoxb-two"] > 0
