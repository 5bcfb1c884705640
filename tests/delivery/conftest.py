"""Delivery fixtures: settings with an admin channel and a roomy workspace cap, the fake Slack on the test's
clock, and a worker whose backoff jitter is a constant (so retry times are exact)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bot.clock import FixedClock
from bot.config import Settings
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import SECRET

ADMIN = "CADMIN0001"
JITTER = 0.5  # every backoff delay is half its ceiling: 0.5 s, 1 s, 2 s, …


@pytest.fixture
def settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
        admin_channel=ADMIN,
        channel_rate_per_second=1.0,
        workspace_rate_per_second=100.0,  # bursts of 10 per tick: a test's few channels go in one tick
        delivery_max_attempts=12,
    )


@pytest.fixture
def slack(fake_slack: FakeSlack, clock: FixedClock) -> FakeSlack:
    """The fake Slack, telling time by the test's clock (so its rate limits and call times are exact)."""
    fake_slack.now = lambda: clock.now().timestamp()
    return fake_slack


@pytest.fixture
async def worker(deps: Deps, slack: FakeSlack) -> AsyncIterator[DeliveryWorker]:
    w = DeliveryWorker(deps, create_delivery_client(deps.settings, "xoxb-test", timeout=2), rand=lambda: JITTER)
    yield w
    await w.stop()
