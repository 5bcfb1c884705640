"""`rhythm run`'s lifespan: the scheduler catches up a due slot and the worker delivers it to Slack."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.api.app import create_asgi_app
from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from tests.support.kpis import add_samples, sample


async def test_lifespan_posts_a_due_snapshot_through_the_outbox(
    org: Deps, clock: FixedClock, fake_slack: FakeSlack
) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 17, 20))
    clock.set(datetime(2026, 11, 18, 10, 3, tzinfo=ZoneInfo("Africa/Johannesburg")))  # started 3 min late
    asgi = create_asgi_app(org.settings, deps=org, background=True)
    async with asgi.router.lifespan_context(asgi):
        (posted,) = await fake_slack.wait_for("chat.postMessage", within=5)
    assert posted.body["channel"] == "C0ALPHA01"
    assert "📊 Team Alpha" in str(posted.body["blocks"])
    assert posted.token == "xoxb-test"
