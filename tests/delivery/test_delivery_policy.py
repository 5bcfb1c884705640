"""Delivery policy, pure: classification, backoff, what happens after an error, updates, pacing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.domain.delivery import (
    MAX_KEY_LENGTH,
    EditTarget,
    GiveUp,
    Original,
    Retry,
    SendError,
    TokenBucket,
    Verdict,
    backoff_seconds,
    classify,
    parse_retry_after,
    plan_after_error,
    plan_update,
    report_key,
    should_report,
)

T0 = datetime(2026, 11, 18, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("code", "status", "verdict"),
    [
        ("ratelimited", 429, Verdict.RATE_LIMITED),
        ("http_429", 429, Verdict.RATE_LIMITED),
        ("rate_limited", 200, Verdict.RATE_LIMITED),
        ("http_500", 500, Verdict.TRANSIENT),
        ("service_unavailable", 503, Verdict.TRANSIENT),
        ("internal_error", 200, Verdict.TRANSIENT),
        ("timeout", None, Verdict.TRANSIENT),
        ("connection_error", None, Verdict.TRANSIENT),
        ("http_408", 408, Verdict.TRANSIENT),
        ("channel_not_found", 200, Verdict.PERMANENT),
        ("not_in_channel", 200, Verdict.PERMANENT),
        ("is_archived", 200, Verdict.PERMANENT),
        ("invalid_blocks", 200, Verdict.PERMANENT),
        ("token_revoked", 200, Verdict.PERMANENT),
        ("some_new_error", 200, Verdict.PERMANENT),  # Slack refused deliberately: do not block the channel
        ("http_404", 404, Verdict.PERMANENT),
    ],
)
def test_classify(code: str, status: int | None, verdict: Verdict) -> None:
    assert classify(code, status) is verdict


@pytest.mark.parametrize(("value", "seconds"), [("30", 30.0), (" 2 ", 2.0), ("0", 0.0), (None, None), ("soon", None)])
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    assert parse_retry_after(value) == seconds


def test_backoff_doubles_up_to_the_cap_with_full_jitter_and_a_floor() -> None:
    assert [backoff_seconds(n, 0.999999) for n in (1, 2, 3, 4)] == pytest.approx([1, 2, 4, 8], rel=1e-5)
    assert backoff_seconds(20, 0.5) == 150.0  # half of the 300 s cap
    assert backoff_seconds(5, 0.5) == 8.0
    assert backoff_seconds(5, 0.0) == 0.5  # never an immediate retry


def test_rate_limit_waits_exactly_retry_after_and_is_not_a_failed_attempt() -> None:
    plan = plan_after_error(
        SendError("ratelimited", 429, retry_after=30), failures_so_far=11, max_attempts=12, now=T0, rand=0.9
    )
    assert plan == Retry(at=T0 + timedelta(seconds=30), code="ratelimited", counts=False)


def test_rate_limit_without_header_waits_a_second() -> None:
    plan = plan_after_error(SendError("ratelimited", 429), failures_so_far=0, max_attempts=12, now=T0, rand=0.0)
    assert isinstance(plan, Retry) and plan.at == T0 + timedelta(seconds=1)


def test_transient_error_backs_off_then_gives_up_at_the_attempt_limit() -> None:
    error = SendError("http_500", 500)
    first = plan_after_error(error, failures_so_far=0, max_attempts=3, now=T0, rand=0.5)
    third = plan_after_error(error, failures_so_far=2, max_attempts=3, now=T0, rand=0.5)
    assert first == Retry(at=T0 + timedelta(seconds=0.5), code="http_500", counts=True)
    assert third == GiveUp("http_500")


def test_permanent_error_gives_up_at_once() -> None:
    plan = plan_after_error(SendError("channel_not_found", 200), failures_so_far=0, max_attempts=12, now=T0, rand=0)
    assert plan == GiveUp("channel_not_found")


def test_update_goes_to_the_originals_channel_and_ts() -> None:
    assert plan_update(Original("sent", "1.000100", "D123"), now=T0) == EditTarget("D123", "1.000100")


@pytest.mark.parametrize("status", ["pending", "sending"])
def test_update_waits_while_its_original_is_unsent(status: str) -> None:
    plan = plan_update(Original(status, None, None), now=T0)
    assert isinstance(plan, Retry) and not plan.counts and plan.at > T0 and plan.code == "waiting_for_original"


@pytest.mark.parametrize(
    ("original", "code"),
    [
        (None, "original_not_found"),
        (Original("failed", None, None), "original_failed"),
        (Original("sent", None, "C1"), "original_has_no_ts"),
    ],
)
def test_update_gives_up_when_there_is_nothing_to_edit(original: Original | None, code: str) -> None:
    assert plan_update(original, now=T0) == GiveUp(code, attempted=False)


def test_token_bucket_allows_a_burst_then_the_rate() -> None:
    bucket = TokenBucket(rate=10, capacity=3, now=T0)
    assert bucket.available(T0) == 3
    bucket.take(3, T0)
    assert bucket.available(T0) == 0
    assert bucket.next_token_at(T0) == T0 + timedelta(seconds=0.1)
    assert bucket.available(T0 + timedelta(seconds=0.25)) == 2
    assert bucket.available(T0 + timedelta(seconds=60)) == 3  # never more than the capacity


def test_report_key_is_derived_and_fits_the_column() -> None:
    assert report_key("snapshot:3:2026-11-18T10:00") == "delivery-failed:snapshot:3:2026-11-18T10:00"
    long = report_key("x" * 200)
    assert len(long) <= MAX_KEY_LENGTH and long == report_key("x" * 200) and long != report_key("y" * 200)


def test_failures_are_reported_except_the_reports_themselves() -> None:
    assert should_report(key="snapshot:1", channel="C1", admin_channel="CADMIN")
    assert not should_report(key="snapshot:1", channel="C1", admin_channel=None)
    assert not should_report(key="anything", channel="CADMIN", admin_channel="CADMIN")
    assert not should_report(key=report_key("snapshot:1"), channel="C1", admin_channel="CADMIN")
