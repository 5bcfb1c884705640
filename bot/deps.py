"""What listeners, jobs, the API and the CLI need, built once in the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from slack_bolt.context.async_context import AsyncBoltContext
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock
from bot.config import Settings
from bot.services.cache import TtlCache
from bot.store.db import make_engine, make_session_factory
from bot.store.hot_reads import LoopReader, loop_reader_for


class Signal:
    """A synchronous notification hook: services say "something is queued", the delivery worker listens."""

    def __init__(self) -> None:
        self._listeners: list[Callable[[], None]] = []

    def connect(self, listener: Callable[[], None]) -> None:
        self._listeners.append(listener)

    def disconnect(self, listener: Callable[[], None]) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def send(self) -> None:
        for listener in list(self._listeners):
            listener()


@dataclass(frozen=True)
class Deps:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    outbox_ready: Signal = field(default_factory=Signal)
    # One adherence scan at a time in this process (the per-minute job and scans triggered by ingest).
    scan_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    scorecards: TtlCache[Any] = field(default_factory=TtlCache)
    # Teams, metric catalogue, targets and team sizes, which change only with `rhythm org apply` or a roster import.
    org_facts: TtlCache[Any] = field(default_factory=TtlCache)
    # Bounded hot reads (a team's KPI days) on the loop's own thread, off the async engine (bot/store/hot_reads.py).
    hot_reads: LoopReader[Any] | None = None

    async def close(self) -> None:
        """Release the database connections (the engine and the hot reader's)."""
        if self.hot_reads is not None:
            self.hot_reads.dispose()
        await self.engine.dispose()


def build_deps(settings: Settings, *, clock: Clock | None = None, engine: AsyncEngine | None = None) -> Deps:
    engine = engine or make_engine(settings.database_url)
    return Deps(
        settings=settings,
        engine=engine,
        sessions=make_session_factory(engine),
        clock=clock or SystemClock(),
        hot_reads=loop_reader_for(engine) if settings.hot_reads else None,
    )


def inject_deps(deps: Deps) -> Callable[..., Awaitable[None]]:
    """Bolt global middleware: listeners declare ``deps: Deps`` and receive it by name."""

    async def _inject(context: AsyncBoltContext, next: Callable[[], Awaitable[None]]) -> None:
        context["deps"] = deps
        await next()

    return _inject
