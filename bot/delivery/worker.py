"""The delivery worker: takes due outbox rows, sends them to Slack paced, and settles each row.

One tick (:meth:`DeliveryWorker.run_once`) decides everything from ``deps.clock``: it claims the head of each
channel's queue that is due and allowed by per-channel pacing (in the database), up to the workspace token
bucket's allowance, and sends those concurrently. Nothing in a tick sleeps, so a test can move a FixedClock
and tick again. The background loop (:meth:`start`) only chooses when to tick: when the next token, retry or
channel slot comes, when :meth:`notify` says something was queued, and at least every ``poll_seconds``.

Delivery is at least once: a send that times out may have been posted by Slack, and a worker that dies
mid-send leaves its row ``sending`` until the lease runs out, when another worker takes it again.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import math
import random
from collections.abc import Callable
from datetime import datetime, timedelta

from slack_sdk.web.async_client import AsyncWebClient

from bot.delivery.client import without_retry_handlers
from bot.delivery.report import log_outcome, queue_failure_report
from bot.delivery.sender import Landed, SendFailed, SlackSender
from bot.deps import Deps
from bot.domain.delivery import (
    EditTarget,
    GiveUp,
    Message,
    Retry,
    SendError,
    TokenBucket,
    channel_interval,
    plan_after_error,
    plan_update,
)
from bot.store import outbox

log = logging.getLogger(__name__)

POLL_SECONDS = 0.5  # the loop looks for due rows at least this often (other replicas, not_before rows)
LEASE = timedelta(seconds=120)  # a claimed row is another worker's again after this (longer than any send)
BURST_SECONDS = 0.1  # the workspace bucket holds this many seconds' worth of sends (at least one)
MAX_IN_FLIGHT = 64  # concurrent sends
DRAIN_SECONDS = 15.0  # stop() waits this long for sends in flight, then cancels them

Outcome = Landed | Retry | GiveUp


class DeliveryWorker:
    """Sends the outbox. Build once in the composition root; ``start()`` in the lifespan, ``await stop()``.

    ``client`` should come from :func:`bot.delivery.client.create_delivery_client`; a client with retry
    handlers is copied without them. ``rand`` draws the backoff jitter (tests pass a constant).
    """

    def __init__(
        self,
        deps: Deps,
        client: AsyncWebClient,
        *,
        rand: Callable[[], float] = random.random,
        poll_seconds: float = POLL_SECONDS,
        lease: timedelta = LEASE,
        burst_seconds: float = BURST_SECONDS,
        max_in_flight: int = MAX_IN_FLIGHT,
    ) -> None:
        settings = deps.settings
        self._deps = deps
        self._sender = SlackSender(without_retry_handlers(client))
        self._rand = rand
        self._poll = poll_seconds
        self._lease = lease
        self._interval = channel_interval(settings.channel_rate_per_second)
        rate = settings.workspace_rate_per_second
        self._bucket = TokenBucket(rate, max(1.0, rate * burst_seconds), deps.clock.now())
        self._max_in_flight = max_in_flight
        self._in_flight: set[asyncio.Task[None]] = set()
        self._hints: list[datetime] = []  # min-heap: moments when something may become sendable
        self._wake = asyncio.Event()
        self._notified = False
        self._saturated = False  # a tick found every send slot busy
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    # -- lifecycle ------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Run the loop in a background task (call inside the running event loop, e.g. the app lifespan)."""
        if self._task is not None:
            return
        self._stopping = False
        self._deps.outbox_ready.connect(self.notify)
        self._task = asyncio.create_task(self._run(), name="rhythm-delivery")

    async def stop(self, *, drain_seconds: float = DRAIN_SECONDS) -> None:
        """Stop claiming; let sends in flight finish (up to ``drain_seconds``) so their rows are settled."""
        if self._task is None:
            return
        self._deps.outbox_ready.disconnect(self.notify)
        self._stopping = True
        self._wake.set()
        await self._task
        self._task = None
        if self._in_flight:
            _, pending = await asyncio.wait(set(self._in_flight), timeout=drain_seconds)
            for task in pending:
                task.cancel()
            if pending:
                await asyncio.gather(*pending, return_exceptions=True)
                log.warning(
                    "delivery stopped with %d sends unfinished; they are retried after their lease", len(pending)
                )

    def notify(self) -> None:
        """Something was queued: tick now instead of at the next poll. Synchronous; safe to call any time."""
        self._notified = True
        self._wake.set()

    # -- one tick -------------------------------------------------------------------------------------------

    async def run_once(self) -> int:
        """Claim what is due now (as pacing allows), send it concurrently, wait; returns how many were handled."""
        tasks = await self._dispatch()
        if tasks:
            await asyncio.gather(*tasks)
        return len(tasks)

    async def _dispatch(self) -> list[asyncio.Task[None]]:
        now = self._deps.clock.now()
        while self._hints and self._hints[0] <= now:
            heapq.heappop(self._hints)
        tokens = self._bucket.available(now)
        if tokens <= 0:
            self._hint(self._bucket.next_token_at(now))
            return []
        room = min(tokens, self._max_in_flight - len(self._in_flight))
        if room <= 0:
            self._saturated = True  # the next send to finish ticks again (a hint now would spin)
            return []
        async with self._deps.sessions() as session:
            messages = await outbox.claim_due(
                session, now=now, limit=room, lease=self._lease, channel_interval=self._interval
            )
            await session.commit()
        if not messages:
            return []
        self._bucket.take(len(messages), now)
        if len(messages) == room:  # the allowance ran out: more may be due as soon as a token is back
            self._hint(self._bucket.next_token_at(now))
        tasks = []
        for message in messages:
            task = asyncio.create_task(self._deliver(message), name=f"rhythm-delivery-{message.id}")
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
            tasks.append(task)
        return tasks

    async def _deliver(self, message: Message) -> None:
        try:
            outcome = await self._attempt(message)
        except Exception:  # a bug must not take the worker down; the row is retried, then failed and reported
            log.exception("outbox %s: unexpected error while sending", message.id)
            outcome = self._plan(message, SendError("unexpected"))
        try:
            await self._settle(message, outcome)
        except Exception:
            log.exception("outbox %s: outcome not recorded; the row is taken again after its lease", message.id)
        if self._saturated:
            self._saturated = False
            self.notify()

    async def _attempt(self, message: Message) -> Outcome:
        target: EditTarget | None = None
        if message.kind in ("update", "reply"):  # both need the original's ts: wait for it, or give up with it
            where = plan_update(message.original, now=self._deps.clock.now())
            if not isinstance(where, EditTarget):
                return where
            target = where
        try:
            return await self._sender.send(message, target)
        except SendFailed as failed:
            return self._plan(message, failed.error)

    def _plan(self, message: Message, error: SendError) -> Retry | GiveUp:
        return plan_after_error(
            error,
            failures_so_far=message.attempts,
            max_attempts=self._deps.settings.delivery_max_attempts,
            now=self._deps.clock.now(),
            rand=self._rand(),
        )

    async def _settle(self, message: Message, outcome: Outcome) -> None:
        now = self._deps.clock.now()
        reported = False
        async with self._deps.sessions() as session:
            if isinstance(outcome, Landed):
                await outbox.mark_sent(session, message.id, at=now, slack_ts=outcome.ts, slack_channel=outcome.channel)
            elif isinstance(outcome, Retry):
                await outbox.retry_later(session, message.id, at=outcome.at, error=outcome.code, counts=outcome.counts)
            else:
                await outbox.mark_failed(session, message.id, error=outcome.code, counts=outcome.attempted)
                reported = await queue_failure_report(session, self._deps.settings, message, outcome, now)
            await session.commit()
        log_outcome(message, outcome, now)
        # The channel's next row may go one interval after this one; a retried row goes at its time.
        self._hint(outcome.at if isinstance(outcome, Retry) else now + self._interval)
        if reported:
            self.notify()

    # -- the loop -------------------------------------------------------------------------------------------

    def _hint(self, at: datetime) -> None:
        heapq.heappush(self._hints, at)
        self._wake.set()  # the loop recomputes how long to sleep (it ticks only if that is now)

    async def _run(self) -> None:
        while not self._stopping:
            try:
                await self._dispatch()
            except Exception:  # the database may be briefly unavailable: try again at the next poll
                log.exception("delivery: could not claim due messages")
            await self._idle()

    async def _idle(self) -> None:
        """Sleep until the poll interval ends, the earliest hint comes, notify() or stop()."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self._poll
        while not self._stopping:
            until_hint = (self._hints[0] - self._deps.clock.now()).total_seconds() if self._hints else math.inf
            delay = min(deadline - loop.time(), until_hint)
            if delay <= 0:
                await asyncio.sleep(0)  # always yield: a tick that awaits nothing must not starve Bolt's acks
                return
            self._wake.clear()
            if self._notified:
                self._notified = False
                return
            try:
                async with asyncio.timeout(delay):
                    await self._wake.wait()
            except TimeoutError:
                return
            if self._notified:
                self._notified = False
                return
