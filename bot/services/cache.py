"""A short-lived cache of computed values (scorecards, org facts): many leads asking for the same team's card
within seconds (a morning huddle, a busy floor) cost one computation. Access checks still run on every request.

Entries expire after ``ttl`` seconds (monotonic time) and are dropped at once when this process ingests KPI
figures; figures imported by another process (the CLI) show within ``ttl``. The card itself says how fresh
its data is ("data up to 14:30"). Concurrent misses on one key share a single computation.
"""

from __future__ import annotations

import asyncio
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    # max_entries: per team its days and a card per period asked; 8,192 holds ~1,000 teams asking every period
    def __init__(self, ttl: float = 30.0, max_entries: int = 8192, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()
        self._inflight: dict[Hashable, asyncio.Future[T]] = {}
        self._generation = 0  # bumped by clear(): a computation begun before it is not stored

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        hit = self._entries.get(key)
        if hit is not None and hit[0] > self._clock():
            self._entries.move_to_end(key)
            return hit[1]
        pending = self._inflight.get(key)
        if pending is not None:  # someone is computing this key right now: wait for their answer
            return await asyncio.shield(pending)
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        generation = self._generation
        try:
            value = await compute()
        except BaseException as exc:
            future.set_exception(exc)
            future.exception()  # retrieved: no "never retrieved" warning when nobody else was waiting
            raise
        else:
            future.set_result(value)
            if generation == self._generation:
                self._store(key, value)
            return value
        finally:
            if self._inflight.get(key) is future:
                del self._inflight[key]

    def _store(self, key: Hashable, value: T) -> None:
        self._entries[key] = (self._clock() + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)

    def clear(self) -> None:
        self._entries.clear()
        self._inflight.clear()
        self._generation += 1
