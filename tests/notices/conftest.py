"""Notice fixtures: signed interactions through the ASGI app, a delivery worker on the test's clock, the
test org's team ids and a publisher that submits the modal."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import select

from bot.clock import FixedClock
from bot.config import Settings
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store.notice_tables import Notice
from bot.store.org import team_by_key
from tests.conftest import SECRET
from tests.notices.helpers import Drain, Publish, Send, advance, form_values, submission, unsettled
from tests.support.org import MANAGER


@pytest.fixture
def settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
        workspace_rate_per_second=100.0,  # bursts of 10 per tick: a test's few channels go in one tick
    )


@pytest.fixture
def slack(fake_slack: FakeSlack, clock: FixedClock) -> FakeSlack:
    """The fake Slack, telling time by the test's clock."""
    fake_slack.now = lambda: clock.now().timestamp()
    return fake_slack


@pytest.fixture
async def worker(deps: Deps, slack: FakeSlack) -> AsyncIterator[DeliveryWorker]:
    w = DeliveryWorker(deps, create_delivery_client(deps.settings, "xoxb-test", timeout=2), rand=lambda: 0.5)
    yield w
    await w.stop()


@pytest.fixture
def drain(worker: DeliveryWorker, deps: Deps, clock: FixedClock) -> Drain:
    """Tick the worker, moving the clock a second at a time, until the outbox is empty; returns seconds taken.

    The clock is put back afterwards, so a test's "now" moves only when it says so.
    """

    async def run() -> float:
        start = clock.now()
        elapsed = 0.0
        while elapsed <= 120:
            await worker.run_once()
            if not await unsettled(deps):
                clock.set(start)
                return elapsed
            advance(clock, 1)
            elapsed += 1
        raise AssertionError("outbox not drained")

    return run


@pytest.fixture
def send(interact: Send) -> Send:
    """The root ``interact`` fixture under this folder's name: post a signed interaction payload."""
    return interact


@pytest.fixture
async def team_ids(org: Deps) -> dict[str, int]:
    async with org.sessions() as session:
        alpha, bravo = await team_by_key(session, "alpha"), await team_by_key(session, "bravo")
    assert alpha and bravo
    return {"alpha": alpha.id, "bravo": bravo.id}


@pytest.fixture
def publish(send: Send, team_ids: dict[str, int], org: Deps) -> Publish:
    """Submit the new-notice modal as ``user`` (default: the ops manager) and return the new notice's id."""

    async def run(user: str = MANAGER, teams: tuple[str, ...] = ("alpha", "bravo"), **values: Any) -> int:
        resp = await send(submission(user, form_values(teams=[team_ids[t] for t in teams], **values)))
        assert resp.status_code == 200, resp.text
        assert resp.json()["response_action"] == "update", resp.json()
        async with org.sessions() as session:
            return max(n.id or 0 for n in (await session.execute(select(Notice))).scalars())

    return run
