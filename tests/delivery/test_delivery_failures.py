"""The worker under a misbehaving Slack: rate limits, server errors, timeouts, refusals and an outage."""

from __future__ import annotations

import dataclasses
import itertools
import logging
from typing import Literal

import pytest
from slack_sdk.web.async_client import AsyncWebClient

from bot.clock import FixedClock
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.domain.delivery import report_key
from bot.sandbox.fake_slack import Call, FakeSlack
from tests.delivery.conftest import ADMIN, JITTER
from tests.delivery.helpers import advance, drain, queue, row, rows

TEAM = "CTEAM00001"
PERSONAL = "Thandi Nkosi: CSAT 42%"  # must never reach a log line or the admin report


def posts_to(slack: FakeSlack, channel: str) -> list[Call]:
    return [c for c in slack.calls_to("chat.postMessage") if c.body.get("channel") == channel]


def worker_for(deps: Deps, **settings: object) -> DeliveryWorker:
    changed = dataclasses.replace(deps, settings=deps.settings.model_copy(update=settings))
    client = AsyncWebClient(token="xoxb-test", base_url=deps.settings.slack_api_url, retry_handlers=[])
    return DeliveryWorker(changed, client, rand=lambda: JITTER)


async def test_retry_after_is_honoured(deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock) -> None:
    slack.fail_next("chat.postMessage", status=429, retry_after=30)
    await queue(deps, "snapshot:1", TEAM)
    await worker.run_once()
    waiting = await row(deps, "snapshot:1")
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 0, "ratelimited")
    advance(clock, 29.5)
    assert await worker.run_once() == 0  # not a moment before Retry-After
    advance(clock, 0.5)
    assert await worker.run_once() == 1
    first, second = posts_to(slack, TEAM)
    assert (first.status, second.status) == (429, 200)
    assert second.at - first.at == 30.0
    assert len(slack.posted(TEAM)) == 1


async def test_slack_channel_limit_stricter_than_ours_is_waited_out(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.limit(channel_rate=0.5)  # Slack allows one message per 2 s here; we pace at 1/s
    for n in range(3):
        await queue(deps, f"m{n}", TEAM, f"#{n}")
    await drain(worker, deps, clock, step=0.5)
    assert [p.text for p in slack.posted(TEAM)] == ["#0", "#1", "#2"]
    calls = posts_to(slack, TEAM)
    for refused, retried in itertools.pairwise(calls):
        if refused.status == 429:
            assert retried.at - refused.at >= 1.0  # Retry-After: 1
    assert slack.limits.rejected >= 1


async def test_workspace_cap_delivers_everything_once(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.limit(channel_rate=1.0, workspace_rate=4.0, workspace_burst=4)  # we would send 10 at once
    channels = [f"CTEAM{n:05d}" for n in range(12)]
    for channel in channels:
        await queue(deps, f"{channel}:snapshot", channel, channel)
    await drain(worker, deps, clock, step=0.5)
    assert sorted(p.text for p in slack.posted()) == channels
    assert slack.limits.rejected > 0


async def test_server_errors_are_retried_with_backoff(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.fail_next("chat.postMessage", status=500, times=2)
    await queue(deps, "snapshot:1", TEAM)
    await drain(worker, deps, clock, step=0.25)
    calls = posts_to(slack, TEAM)
    assert [c.status for c in calls] == [500, 500, 200]
    # Full jitter at 0.5 of the ceiling: 0.5 s after the first failure, 1 s after the second.
    assert [b.at - a.at for a, b in itertools.pairwise(calls)] == [0.5, 1.0]
    sent = await row(deps, "snapshot:1")
    assert (sent.status, sent.attempts) == ("sent", 2)


async def test_timeout_is_retried_and_delivered_once(deps: Deps, slack: FakeSlack, clock: FixedClock) -> None:
    client = AsyncWebClient(token="xoxb-test", base_url=deps.settings.slack_api_url, timeout=0.2, retry_handlers=[])
    worker = DeliveryWorker(deps, client, rand=lambda: JITTER)
    slack.slow(1.0, times=1)
    await queue(deps, "snapshot:1", TEAM)
    await worker.run_once()
    retrying = await row(deps, "snapshot:1")
    assert (retrying.status, retrying.attempts, retrying.last_error) == ("pending", 1, "timeout")
    advance(clock, 0.5)
    await worker.run_once()
    assert len(slack.posted(TEAM)) == 1
    assert (await row(deps, "snapshot:1")).status == "sent"


async def test_permanent_error_fails_reports_once_and_logs_no_content(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    caplog.set_level(logging.DEBUG, logger="bot")  # (slack_sdk and aiosqlite at DEBUG print whole requests)
    slack.fail_next("chat.postMessage", error="channel_not_found")
    await queue(deps, "snapshot:3:10:00", "CGONE00001", PERSONAL)
    await queue(deps, "snapshot:3:13:00", "CGONE00001", PERSONAL + " again")
    await worker.run_once()
    failed = await row(deps, "snapshot:3:10:00")
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 1, "channel_not_found")
    warning = next(r for r in caplog.records if r.levelno == logging.WARNING)
    assert warning.getMessage() == f"outbox {failed.id} to CGONE00001 failed permanently: channel_not_found"

    await drain(worker, deps, clock)
    (report,) = slack.posted(ADMIN)
    assert "channel_not_found" in report.text and "<#CGONE00001>" in report.text and f"id {failed.id}" in report.text
    assert (await row(deps, report_key("snapshot:3:10:00"))).status == "sent"
    # The next message in that channel still went (the fake's failure was scripted once), and was not reported.
    assert [p.text for p in slack.posted("CGONE00001")] == [PERSONAL + " again"]
    assert len(slack.posted(ADMIN)) == 1
    assert not any("Thandi" in r.getMessage() for r in caplog.records)
    assert "Thandi" not in report.text


async def test_a_failed_admin_report_is_not_reported(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.fail_next("chat.postMessage", error="not_in_channel", times=2)
    await queue(deps, "snapshot:1", TEAM)
    await drain(worker, deps, clock)
    assert [(r.idempotency_key, r.status) for r in await rows(deps)] == [
        ("snapshot:1", "failed"),
        (report_key("snapshot:1"), "failed"),
    ]


async def test_no_report_without_an_admin_channel(deps: Deps, slack: FakeSlack, clock: FixedClock) -> None:
    worker = worker_for(deps, admin_channel=None)
    slack.fail_next("chat.postMessage", error="is_archived")
    await queue(deps, "snapshot:1", TEAM)
    await drain(worker, deps, clock)
    assert [r.idempotency_key for r in await rows(deps)] == ["snapshot:1"]


async def test_max_attempts_then_failed_and_reported(deps: Deps, slack: FakeSlack, clock: FixedClock) -> None:
    worker = worker_for(deps, delivery_max_attempts=3)
    slack.fail_next("chat.postMessage", status=503, error="service_unavailable", times=3)
    await queue(deps, "snapshot:1", TEAM, PERSONAL)
    await drain(worker, deps, clock, step=0.5)
    failed = await row(deps, "snapshot:1")
    assert (failed.status, failed.attempts, failed.last_error) == ("failed", 3, "service_unavailable")
    assert len(posts_to(slack, TEAM)) == 3
    assert (await row(deps, report_key("snapshot:1"))).status == "sent"
    assert "after 3 failed attempts" in slack.posted(ADMIN)[0].text


@pytest.mark.parametrize("mode", ["503", "disconnect"])
async def test_a_minute_long_outage_delays_but_loses_nothing(
    deps: Deps,
    worker: DeliveryWorker,
    slack: FakeSlack,
    clock: FixedClock,
    mode: Literal["503", "disconnect"],
) -> None:
    channels = ["CTEAMA0001", "CTEAMB0001", "CTEAMC0001"]
    for n in range(4):
        for channel in channels:
            await queue(deps, f"{channel}:{n}", channel, f"{channel} #{n}")
    slack.down(mode)
    for _ in range(30):  # 60 simulated seconds, a tick every 2 s
        await worker.run_once()
        advance(clock, 2)
    assert slack.posted() == [] and slack.calls_to("chat.postMessage")
    slack.up()
    await drain(worker, deps, clock)
    for channel in channels:
        assert [p.text for p in slack.posted(channel)] == [f"{channel} #{n}" for n in range(4)]
    assert len(slack.posted()) == 12
    assert all(r.status == "sent" and r.attempts < deps.settings.delivery_max_attempts for r in await rows(deps))
