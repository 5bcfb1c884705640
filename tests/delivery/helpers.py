"""Helpers for the delivery tests: move the clock, queue a message, read a row, tick until drained."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from sqlmodel import col

from bot.clock import FixedClock
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.store import outbox
from bot.store.tables import Outbox


def advance(clock: FixedClock, seconds: float) -> None:
    clock.set(clock.now() + timedelta(seconds=seconds))


async def queue(deps: Deps, key: str, channel: str, text: str = "", **kw: Any) -> bool:
    """Enqueue one message stamped with the test's clock; ``text`` defaults to the key."""
    payload = kw.pop("payload", None) or {"text": text or key}
    async with deps.sessions() as session:
        added = await outbox.enqueue(session, key=key, channel=channel, payload=payload, now=deps.clock.now(), **kw)
        await session.commit()
    return added


async def row(deps: Deps, key: str) -> Outbox:
    async with deps.sessions() as session:
        found = await outbox.get(session, key)
    assert found is not None, key
    return found


async def drain(
    worker: DeliveryWorker, deps: Deps, clock: FixedClock, *, step: float = 1.0, limit: float = 600.0
) -> float:
    """Tick and move the clock by ``step`` until nothing is unsettled; returns the simulated seconds taken."""
    elapsed = 0.0
    while elapsed <= limit:
        await worker.run_once()
        if not await unsettled(deps):
            return elapsed
        advance(clock, step)
        elapsed += step
    raise AssertionError(f"outbox not drained within {limit} simulated seconds")


async def unsettled(deps: Deps) -> int:
    async with deps.sessions() as session:
        result = await session.execute(
            select(func.count()).select_from(Outbox).where(col(Outbox.status).in_(outbox.UNSETTLED))
        )
        return int(result.scalar_one())


async def rows(deps: Deps) -> list[Outbox]:
    async with deps.sessions() as session:
        return list((await session.execute(select(Outbox).order_by(col(Outbox.id)))).scalars())
