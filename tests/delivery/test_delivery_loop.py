"""The background loop: woken by notify (and the outbox_ready signal), paced by its own hints, stopped cleanly."""

from __future__ import annotations

import asyncio
import dataclasses

from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.app import create_web_client
from bot.clock import SystemClock
from bot.delivery.client import create_delivery_client, without_retry_handlers
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from tests.delivery.helpers import queue, row

TEAM = "CTEAM00001"


def client(deps: Deps) -> AsyncWebClient:
    return create_delivery_client(deps.settings, "xoxb-test", timeout=2)


async def test_outbox_ready_signal_wakes_the_loop_before_its_poll(deps: Deps, slack: FakeSlack) -> None:
    worker = DeliveryWorker(deps, client(deps), poll_seconds=30)
    worker.start()
    try:
        await asyncio.sleep(0.05)  # the first tick found nothing; the next poll is 30 s away
        await queue(deps, "snapshot:1", TEAM)
        deps.outbox_ready.send()
        await slack.wait_for("chat.postMessage", within=1.0)
    finally:
        await worker.stop()
    assert (await row(deps, "snapshot:1")).status == "sent"


async def test_the_loop_polls_without_being_told(deps: Deps, slack: FakeSlack) -> None:
    worker = DeliveryWorker(deps, client(deps), poll_seconds=0.05)
    worker.start()
    try:
        await queue(deps, "snapshot:1", TEAM)  # no notify: another replica may have queued it
        await slack.wait_for("chat.postMessage", within=1.0)
    finally:
        await worker.stop()


async def test_the_loop_sends_a_channels_next_message_when_pacing_allows(deps: Deps, slack: FakeSlack) -> None:
    fast = dataclasses.replace(
        deps, clock=SystemClock(), settings=deps.settings.model_copy(update={"channel_rate_per_second": 20.0})
    )
    worker = DeliveryWorker(fast, client(fast), poll_seconds=30)  # only its own hints can wake it in time
    for n in range(3):
        await queue(fast, f"m{n}", TEAM, f"#{n}")
    worker.start()
    try:
        await slack.wait_for("chat.postMessage", count=3, within=1.5)
    finally:
        await worker.stop()
    assert [p.text for p in slack.posted(TEAM)] == ["#0", "#1", "#2"]


async def test_stop_lets_a_send_in_flight_finish_and_settle(deps: Deps, slack: FakeSlack) -> None:
    worker = DeliveryWorker(deps, client(deps), poll_seconds=30)
    slack.slow(0.3, times=1)
    await queue(deps, "snapshot:1", TEAM)
    worker.start()
    await slack.wait_for("chat.postMessage", within=1.0)  # arrived; the answer is 0.3 s away
    await worker.stop()
    assert (await row(deps, "snapshot:1")).status == "sent"
    assert deps.outbox_ready._listeners == []  # stop() disconnected notify


async def test_retry_handlers_are_stripped_from_a_copy_not_from_the_shared_client(deps: Deps) -> None:
    shared = create_web_client(deps, "xoxb-test")  # Bolt's client: it retries 429s by sleeping
    assert any(isinstance(h, AsyncRateLimitErrorRetryHandler) for h in shared.retry_handlers)
    own = without_retry_handlers(shared)
    assert own is not shared and own.retry_handlers == [] and shared.retry_handlers
    assert (own.token, own.base_url, own.timeout) == (shared.token, shared.base_url, shared.timeout)
    plain = client(deps)
    assert without_retry_handlers(plain) is plain


async def test_busy_send_slots_neither_spin_nor_stall_the_loop(deps: Deps, slack: FakeSlack) -> None:
    worker = DeliveryWorker(deps, client(deps), poll_seconds=30, max_in_flight=2)
    ticks = 0
    dispatch = worker._dispatch

    async def counted() -> list[asyncio.Task[None]]:
        nonlocal ticks
        ticks += 1
        return await dispatch()

    worker._dispatch = counted  # type: ignore[method-assign]
    slack.slow(0.1)  # every send takes 0.1 s: two slots, six channels → three rounds
    for n in range(6):
        await queue(deps, f"m{n}", f"CTEAM{n:05d}")
    worker.start()
    try:
        await slack.wait_for("chat.postMessage", count=6, within=1.5)
    finally:
        await worker.stop()
    assert len(slack.posted()) == 6
    assert ticks < 30  # woken by finished sends, not by polling in a loop
