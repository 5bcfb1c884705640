"""Process-wide tuning for a long-running server, applied once when it starts serving.

Python's cyclic garbage collector stops the whole process while it runs. A server holds a few hundred thousand
long-lived objects (modules, the SQLAlchemy and Bolt machinery, the org snapshot), and with 50 requests in flight
each request's short-lived objects survive the young collections and push the oldest generation to be scanned
again and again: bench/kpi_latency.py saw full collections of 110-215 ms every second or so, every in-flight
request stalled behind each one, and the ack p99 was three times the median on warm caches.

Freezing what exists at start-up moves it out of every later collection, and a larger young-generation threshold
lets a request's objects die before a collection sees them (the same remedy Instagram described for Django).
Reference cycles are still collected; only their scheduling changes.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger(__name__)

YOUNG_THRESHOLD = 20_000  # allocations between young collections (CPython's default is 700)


def tune_gc(young_threshold: int = YOUNG_THRESHOLD) -> None:
    """Collect once, freeze the survivors (start-up objects) and raise the young-generation threshold."""
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(young_threshold, middle, old)
    log.debug("gc tuned: %d objects frozen, thresholds %s", gc.get_freeze_count(), gc.get_threshold())
