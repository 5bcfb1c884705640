"""Garbage-collector tuning for the server process (bot/runtime.py)."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from bot.runtime import tune_gc


@pytest.fixture
def restore_gc() -> Iterator[None]:
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


@pytest.mark.usefixtures("restore_gc")
def test_tune_gc_freezes_what_exists_and_raises_only_the_young_threshold() -> None:
    _, middle, old = gc.get_threshold()
    survivor = {"built": "at start-up"}
    tune_gc(young_threshold=12_345)
    assert gc.get_threshold() == (12_345, middle, old)
    assert gc.get_freeze_count() > 0
    assert not any(o is survivor for o in gc.get_objects())  # frozen: no longer visited by any collection
    cycle: list[object] = []
    cycle.append(cycle)  # a cycle made after start-up is still collected
    del cycle
    assert gc.collect() >= 1
