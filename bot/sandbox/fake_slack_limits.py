"""Misbehaviour for the fake Slack: rate limits like chat.postMessage's, scripted failures, outages.

Time comes from the caller (seconds, any origin: ``time.monotonic`` or a test's fixed clock), so a test decides
exactly when a 429 happens and when it ends.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field


class Bucket:
    """A token bucket: ``rate`` per second on average, at most ``capacity`` at once. Starts full."""

    def __init__(self, rate: float, capacity: float) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate, self.capacity = rate, capacity
        self._tokens = capacity
        self._at: float | None = None

    def wait(self, now: float) -> float:
        """Seconds until one token is available (0 when one is)."""
        if self._at is not None:
            self._tokens = min(self.capacity, self._tokens + max(0.0, now - self._at) * self.rate)
        self._at = now
        return 0.0 if self._tokens >= 1 - 1e-9 else (1 - self._tokens) / self.rate

    def take(self) -> None:
        self._tokens -= 1


@dataclass
class RateLimits:
    """chat.postMessage's limits: about ``channel_rate`` per second per channel, and a workspace-wide cap.

    Bursts: ``channel_burst`` and ``workspace_burst`` messages may go at once (Slack tolerates short bursts
    "with no guarantee"; a small allowance keeps network jitter from being punished as a burst).
    """

    channel_rate: float | None = None
    workspace_rate: float | None = None
    channel_burst: float = 1.0
    workspace_burst: float = 1.0
    _channels: dict[str, Bucket] = field(default_factory=dict)
    _workspace: Bucket | None = None
    rejected: int = 0

    def admit(self, channel: str, now: float) -> int | None:
        """None when the message may go (and is counted); otherwise Retry-After in whole seconds (>= 1)."""
        buckets: list[Bucket] = []
        if self.channel_rate is not None:
            buckets.append(self._channels.setdefault(channel, Bucket(self.channel_rate, self.channel_burst)))
        if self.workspace_rate is not None:
            if self._workspace is None:
                self._workspace = Bucket(self.workspace_rate, self.workspace_burst)
            buckets.append(self._workspace)
        wait = max((b.wait(now) for b in buckets), default=0.0)
        if wait > 0:
            self.rejected += 1
            return max(1, math.ceil(wait))  # Slack sends whole seconds
        for b in buckets:
            b.take()
        return None


@dataclass(frozen=True)
class Failure:
    """One scripted bad answer. ``status`` 5xx without ``error`` answers plain text, as a proxy would."""

    status: int = 200
    error: str | None = None
    retry_after: int | None = None


@dataclass
class Script:
    """Failures queued per Web API method, consumed one per call."""

    queued: dict[str, deque[Failure]] = field(default_factory=dict)

    def add(self, method: str, failure: Failure, times: int) -> None:
        self.queued.setdefault(method, deque()).extend([failure] * times)

    def next(self, method: str) -> Failure | None:
        queue = self.queued.get(method)
        return queue.popleft() if queue else None


def failure_for(status: int | None, error: str | None, retry_after: int | None) -> Failure:
    """Fill in what Slack would: a 429 says ``ratelimited`` with Retry-After; an error alone comes with 200."""
    if status == 429:
        return Failure(429, error or "ratelimited", retry_after if retry_after is not None else 1)
    if status is None:
        return Failure(200, error or "internal_error")
    return Failure(status, error)
