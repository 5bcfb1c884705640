"""The scorecard cache: one computation per key within the TTL, recomputed after it or after clear()."""

from __future__ import annotations

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
