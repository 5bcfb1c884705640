"""Delivery policy, pure: which Slack failures are worth retrying, when to retry, and how fast to send.

The outbox worker (bot/delivery) asks these questions; nothing here does I/O or knows about asyncio, so every
rule is tested with plain values and an explicit ``now``. Times are aware UTC datetimes; durations are seconds.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

# Slack answers these deliberately (HTTP 200, "ok": false): sending the same request again cannot succeed.
# Unknown "ok": false codes are treated the same way (see classify): retrying a request Slack rejected would
# hold the channel's queue behind it for the whole backoff ladder.
PERMANENT_ERRORS = frozenset(
    {
        "channel_not_found",
        "not_in_channel",
        "is_archived",
        "invalid_blocks",
        "invalid_blocks_format",
        "token_revoked",
        "invalid_auth",
        "not_authed",
        "account_inactive",
        "missing_scope",
        "no_permission",
        "restricted_action",
        "msg_too_long",
        "no_text",
        "invalid_arguments",
        "user_not_found",
        "user_disabled",
        "cannot_dm_bot",
        "message_not_found",
        "cant_update_message",
        "edit_window_closed",
    }
)
# Slack's own "try again" answers, and the codes the worker gives to failures that carry no Slack answer.
TRANSIENT_ERRORS = frozenset(
    {
        "internal_error",
        "fatal_error",
        "service_unavailable",
        "request_timeout",
        "timeout",  # no answer within the client's timeout; Slack may or may not have posted it
        "connection_error",  # refused, reset or dropped before an answer
        "upload_failed",  # the file bytes were not accepted by the upload URL
        "unexpected",  # a bug or an unforeseen exception: retried, then failed and reported
    }
)
RATE_LIMITED_ERRORS = frozenset({"ratelimited", "rate_limited"})
# HTTP statuses worth another try besides 5xx: request timeout, too early, too many requests.
_RETRY_STATUSES = frozenset({408, 425, 429})

DEFAULT_RETRY_AFTER = 1.0  # seconds, when a 429 comes without a usable Retry-After header
MIN_RETRY_DELAY = 0.5  # seconds; full jitter can draw ~0, which would waste an attempt during an outage
BACKOFF_BASE = 1.0  # seconds: the ceiling of the first retry's delay
BACKOFF_CAP = 300.0  # seconds: the ceiling never grows beyond five minutes
WAIT_FOR_ORIGINAL = 2.0  # seconds an update waits before looking again for its original's ts
REPORT_PREFIX = "delivery-failed:"
MAX_KEY_LENGTH = 200  # Outbox.idempotency_key


class Verdict(StrEnum):
    RATE_LIMITED = "rate_limited"  # retry exactly when Slack says; not a failed attempt
    TRANSIENT = "transient"  # retry with exponential backoff, up to the attempt limit
    PERMANENT = "permanent"  # mark failed and report; never retry


@dataclass(frozen=True, slots=True)
class SendError:
    """Why one send did not go through. ``code`` is all that is stored or logged: never message content."""

    code: str  # Slack's error ("channel_not_found"), "http_<status>", "timeout", "connection_error", …
    status: int | None = None  # HTTP status, when there was an answer
    retry_after: float | None = None  # seconds, from the Retry-After header of a 429


@dataclass(frozen=True, slots=True)
class Retry:
    at: datetime
    code: str  # why: stored as the row's last_error
    counts: bool  # True when this was a failed attempt (counts towards the limit); False for 429s and waits


@dataclass(frozen=True, slots=True)
class GiveUp:
    code: str
    attempted: bool = True  # False when nothing was sent (an update whose original failed)


Plan = Retry | GiveUp


def classify(code: str, status: int | None) -> Verdict:
    if status == 429 or code in RATE_LIMITED_ERRORS:
        return Verdict.RATE_LIMITED
    if code in PERMANENT_ERRORS:
        return Verdict.PERMANENT
    if code in TRANSIENT_ERRORS or (status is not None and (status >= 500 or status in _RETRY_STATUSES)):
        return Verdict.TRANSIENT
    return Verdict.PERMANENT  # any other 4xx, or an "ok": false code we do not know


def parse_retry_after(value: str | None) -> float | None:
    """Seconds from a Retry-After header (Slack sends whole seconds); None when absent or not a number."""
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if math.isfinite(seconds) and seconds >= 0 else None


def backoff_seconds(failures: int, rand: float, *, base: float = BACKOFF_BASE, cap: float = BACKOFF_CAP) -> float:
    """Delay before the next try after ``failures`` failed attempts (1, 2, …): full jitter, floored.

    ``rand`` is a uniform draw in [0, 1) supplied by the caller (tests pass a constant). The ceiling doubles
    from ``base`` up to ``cap``; the delay is a uniform share of it, so replicas retrying after the same outage
    spread out instead of arriving together.
    """
    ceiling = min(cap, base * 2.0 ** max(failures - 1, 0))
    return max(MIN_RETRY_DELAY, rand * ceiling)


def plan_after_error(error: SendError, *, failures_so_far: int, max_attempts: int, now: datetime, rand: float) -> Plan:
    """What to do with a message whose send just failed. ``failures_so_far`` excludes this failure."""
    verdict = classify(error.code, error.status)
    if verdict is Verdict.PERMANENT:
        return GiveUp(error.code)
    if verdict is Verdict.RATE_LIMITED:
        wait = error.retry_after if error.retry_after is not None else DEFAULT_RETRY_AFTER
        return Retry(at=now + timedelta(seconds=wait), code=error.code, counts=False)
    failures = failures_so_far + 1
    if failures >= max_attempts:
        return GiveUp(error.code)
    return Retry(at=now + timedelta(seconds=backoff_seconds(failures, rand)), code=error.code, counts=True)


@dataclass(frozen=True, slots=True)
class Original:
    """The message an update edits, as stored: its state and, once sent, where it landed."""

    status: str  # pending | sending | sent | failed
    slack_ts: str | None
    slack_channel: str | None


@dataclass(frozen=True, slots=True)
class Message:
    """A claimed outbox row: what the worker needs to send it, and nothing it may not log."""

    id: int
    key: str
    kind: str  # post | update | reply | dm | upload
    channel: str  # channel id, or a user id for a DM
    payload: dict[str, Any]
    attempts: int  # failed attempts so far (429s and waits do not count)
    update_of: str | None = None
    original: Original | None = None  # for an update: the message it edits, read when it was claimed


@dataclass(frozen=True, slots=True)
class EditTarget:
    channel: str
    ts: str


def plan_update(original: Original | None, *, now: datetime) -> EditTarget | Retry | GiveUp:
    """Where an update goes: the original's channel and ts, or wait until it has them, or give up."""
    if original is None:
        return GiveUp("original_not_found", attempted=False)
    if original.status == "failed":
        return GiveUp("original_failed", attempted=False)
    if original.status != "sent":
        return Retry(at=now + timedelta(seconds=WAIT_FOR_ORIGINAL), code="waiting_for_original", counts=False)
    if original.slack_ts is None or original.slack_channel is None:
        return GiveUp("original_has_no_ts", attempted=False)  # e.g. a file upload: Slack gives no message ts to edit
    return EditTarget(channel=original.slack_channel, ts=original.slack_ts)


def channel_interval(rate_per_second: float) -> timedelta:
    """Minimum spacing between two messages to one channel (Slack: about one per second)."""
    return timedelta(seconds=1.0 / rate_per_second)


class TokenBucket:
    """Workspace-wide pacing: ``rate`` sends per second on average, at most ``capacity`` at once.

    The worker asks how many sends it may start now, starts that many, and sleeps until the next token.
    Starts full, so the first burst goes at once; refills continuously.
    """

    def __init__(self, rate: float, capacity: float, now: datetime) -> None:
        if rate <= 0 or capacity < 1:
            raise ValueError("rate must be > 0 and capacity >= 1")
        self.rate = rate
        self.capacity = capacity
        self._tokens = capacity
        self._at = now

    def _refill(self, now: datetime) -> None:
        elapsed = (now - self._at).total_seconds()
        if elapsed > 0:
            self._tokens = min(self.capacity, self._tokens + elapsed * self.rate)
            self._at = now

    def available(self, now: datetime) -> int:
        self._refill(now)
        return math.floor(self._tokens + 1e-9)

    def take(self, n: int, now: datetime) -> None:
        self._refill(now)
        self._tokens -= n

    def next_token_at(self, now: datetime) -> datetime:
        """When at least one whole token will be available (``now`` if one already is)."""
        self._refill(now)
        missing = 1.0 - self._tokens
        return now if missing <= 1e-9 else now + timedelta(seconds=missing / self.rate)


def report_key(failed_key: str) -> str:
    """Idempotency key of the admin report about a failed message: one report per failed message."""
    key = REPORT_PREFIX + failed_key
    if len(key) <= MAX_KEY_LENGTH:
        return key
    return REPORT_PREFIX + hashlib.sha256(failed_key.encode("utf-8")).hexdigest()


def should_report(*, key: str, channel: str, admin_channel: str | None) -> bool:
    """Report a permanent failure to the admin channel, unless that is where the failed message was going."""
    return admin_channel is not None and channel != admin_channel and not key.startswith(REPORT_PREFIX)
