"""A short-lived cache of computed scorecards: many leads asking for the same team's card within seconds (a
morning huddle, a busy floor) cost one computation. Access checks still run on every request.

Entries expire after ``ttl`` seconds (monotonic time) and are dropped at once when this process ingests KPI
figures; figures imported by another process (the CLI) show within ``ttl``. The card itself says how fresh
its data is ("data up to 14:30").
"""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

T = TypeVar("T")


class TtlCache(Generic[T]):
    def __init__(self, ttl: float = 30.0, max_entries: int = 2048, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl, self.max_entries, self._clock = ttl, max_entries, clock
        self._entries: OrderedDict[Hashable, tuple[float, T]] = OrderedDict()

    async def get_or_compute(self, key: Hashable, compute: Callable[[], Awaitable[T]]) -> T:
        now = self._clock()
        hit = self._entries.get(key)
        if hit is not None and hit[0] > now:
            self._entries.move_to_end(key)
            return hit[1]
        value = await compute()
        self._entries[key] = (now + self.ttl, value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        self._entries.clear()
