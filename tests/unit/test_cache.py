"""The scorecard cache: one computation per key within the TTL, recomputed after it or after clear()."""

from __future__ import annotations

import asyncio

from bot.services.cache import TtlCache


async def test_computes_once_per_key_within_ttl_and_again_after() -> None:
    now = [100.0]
    cache: TtlCache[int] = TtlCache(ttl=30, clock=lambda: now[0])
    calls: list[str] = []

    async def compute(tag: str) -> int:
        calls.append(tag)
        return len(calls)

    assert await cache.get_or_compute("a", lambda: compute("a")) == 1
    assert await cache.get_or_compute("a", lambda: compute("a")) == 1
    assert await cache.get_or_compute("b", lambda: compute("b")) == 2
    now[0] += 31
    assert await cache.get_or_compute("a", lambda: compute("a")) == 3
    cache.clear()
    assert await cache.get_or_compute("b", lambda: compute("b")) == 4
    assert calls == ["a", "b", "a", "b"]


async def test_oldest_entries_are_dropped_beyond_the_limit() -> None:
    cache: TtlCache[str] = TtlCache(ttl=30, max_entries=2)

    async def value(v: str) -> str:
        return v

    for key in ("a", "b", "c"):
        await cache.get_or_compute(key, lambda k=key: value(k))  # type: ignore[misc]
    assert await cache.get_or_compute("a", lambda: value("fresh")) == "fresh"


async def test_concurrent_misses_share_one_computation() -> None:
    cache: TtlCache[int] = TtlCache(ttl=30)
    release = asyncio.Event()
    calls = 0

    async def slow() -> int:
        nonlocal calls
        calls += 1
        await release.wait()
        return 42

    waiters = [asyncio.create_task(cache.get_or_compute("k", slow)) for _ in range(10)]
    await asyncio.sleep(0)
    release.set()
    assert await asyncio.gather(*waiters) == [42] * 10
    assert calls == 1


async def test_a_failed_computation_reaches_every_waiter_and_is_not_cached() -> None:
    cache: TtlCache[int] = TtlCache(ttl=30)
    release = asyncio.Event()

    async def broken() -> int:
        await release.wait()
        raise RuntimeError("database down")

    waiters = [asyncio.create_task(cache.get_or_compute("k", broken)) for _ in range(3)]
    await asyncio.sleep(0)
    release.set()
    results = await asyncio.gather(*waiters, return_exceptions=True)
    assert all(isinstance(r, RuntimeError) for r in results)

    async def fine() -> int:
        return 7

    assert await cache.get_or_compute("k", fine) == 7


async def test_a_value_computed_across_a_clear_is_returned_but_not_kept() -> None:
    cache: TtlCache[int] = TtlCache(ttl=30)
    release = asyncio.Event()

    async def old() -> int:
        await release.wait()
        return 1

    task = asyncio.create_task(cache.get_or_compute("k", old))
    await asyncio.sleep(0)
    cache.clear()  # new figures arrived while the old card was being computed
    release.set()
    assert await task == 1

    async def new() -> int:
        return 2

    assert await cache.get_or_compute("k", new) == 2
