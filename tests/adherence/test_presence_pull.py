"""The presence feed pull connector against a local JSON feed on 127.0.0.1: pages, the cursor across polls, a
failing or slow feed, bad records, and the breach it leads to."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from pydantic import SecretStr
from sqlalchemy import select
from sqlmodel import col

from bot.clock import FixedClock
from bot.config import ConfigError, load_settings
from bot.deps import Deps
from bot.ingest.adherence import import_schedule
from bot.ingest.presence import presence_feed_from_settings
from bot.jobs.schedule import job_specs
from bot.services.presence import JOB, run_presence_pull
from bot.store import feed_cursor
from bot.store.tables import AgentStateEvent, Breach, JobRun, Outbox

SAST = ZoneInfo("Africa/Johannesburg")
TOKEN = "feed-secret-token"


@dataclass
class FakeFeed:
    """Pages by cursor (None: the first page, asked with ``since``); records every request's query and auth."""

    pages: dict[str | None, dict[str, Any]] = field(default_factory=dict)
    status: int = 200
    fail_at: str | None = None  # answer 500 to this cursor only
    delay: float = 0.0
    requests: list[dict[str, str]] = field(default_factory=list)
    auth: list[str] = field(default_factory=list)
    server: TestServer | None = None

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.requests.append(dict(request.query))
        self.auth.append(request.headers.get("Authorization", ""))
        if self.delay:
            await asyncio.sleep(self.delay)
        cursor = request.query.get("cursor")
        if self.status != 200 or (cursor is not None and cursor == self.fail_at):
            return web.Response(status=self.status if self.status != 200 else 500, text="upstream trouble")
        return web.json_response(self.pages.get(cursor, {"events": [], "has_more": False}))

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url("/v1/presence"))


def page(cursor: str | None, *events: tuple[str, str, str], more: bool = False) -> dict[str, Any]:
    body: dict[str, Any] = {"events": [{"agent": a, "at": at, "state": s} for a, at, s in events], "has_more": more}
    return body | ({"next_cursor": cursor} if cursor else {})


@pytest.fixture
async def feed() -> AsyncIterator[FakeFeed]:
    fake = FakeFeed()
    app = web.Application()
    app.router.add_get("/v1/presence", fake.handle)
    fake.server = TestServer(app, host="127.0.0.1")
    await fake.server.start_server()
    yield fake
    await fake.server.close()


@pytest.fixture
async def polled(org: Deps, feed: FakeFeed, clock: FixedClock) -> Deps:
    """The org with the feed configured, Thandi scheduled 08:00-17:00 open, and the clock at 10:12."""
    clock.set(datetime(2026, 11, 18, 10, 12, tzinfo=SAST))
    settings = org.settings.model_copy(update={"presence_feed_url": feed.url, "presence_feed_token": SecretStr(TOKEN)})
    deps = dataclasses.replace(org, settings=settings)
    async with deps.sessions() as session:
        row = {"agent": "thandi@example.com", "start": "2026-11-18T08:00", "end": "2026-11-18T17:00"}
        assert (await import_schedule(session, [(2, row | {"activity": "open"})]))[1] == []
        await session.commit()
    return deps


async def _events(deps: Deps) -> list[tuple[str, str]]:
    async with deps.sessions() as session:
        rows = await session.execute(
            select(col(AgentStateEvent.at), col(AgentStateEvent.state), col(AgentStateEvent.source)).order_by(
                col(AgentStateEvent.at)
            )
        )
        return [
            (f"{at.astimezone(SAST):%H:%M}", state) for at, state, source in rows.all() if source == "presence-feed"
        ]


async def _bookmark(deps: Deps) -> tuple[str | None, str]:
    async with deps.sessions() as session:
        row = (await session.execute(select(JobRun).where(col(JobRun.job_key) == JOB))).scalar_one()
    return row.detail, row.status


async def test_pages_follow_the_cursor_and_the_next_poll_carries_on_from_it(
    polled: Deps, feed: FakeFeed, clock: FixedClock
) -> None:
    feed.pages = {
        None: page("c1", ("thandi@example.com", "2026-11-18T10:00", "away"), more=True),
        "c1": page(  # older than page 1, and one of them twice: the feed's order is not ours to trust
            "c2",
            ("thandi@example.com", "2026-11-18T07:58", "available"),
            ("UAGENT0001", "2026-11-18T07:58", "available"),
            ("sipho@example.com", "2026-11-18T08:01", "available"),
        ),
    }
    result = await run_presence_pull(polled)
    assert result is not None and result.failed is None
    assert (result.pages, result.received, result.stored, result.cursor) == (2, 4, 3, "c2")
    first_since = clock.now() - timedelta(hours=16, minutes=5)
    assert feed.requests == [{"since": first_since.isoformat()}, {"cursor": "c1"}]
    assert set(feed.auth) == {f"Bearer {TOKEN}"}
    assert await _events(polled) == [("07:58", "available"), ("08:01", "available"), ("10:00", "away")]
    assert await _bookmark(polled) == ("c2", "idle")
    async with polled.sessions() as session:  # the poll scanned: Thandi has been away 12 minutes
        (breach,) = (await session.execute(select(Breach))).scalars().all()
        (post,) = (await session.execute(select(Outbox))).scalars().all()
    assert (breach.kind, breach.status) == ("out_of_adherence", "open") and post.channel == "C0ALPHA01"

    feed.pages["c2"] = page("c3", ("thandi@example.com", "2026-11-18T10:14", "available"))
    clock.set(datetime(2026, 11, 18, 10, 15, tzinfo=SAST))
    result = await run_presence_pull(polled)
    assert result is not None and (result.stored, result.cursor) == (1, "c3")
    assert feed.requests[2:] == [{"cursor": "c2"}]
    async with polled.sessions() as session:
        (breach,) = (await session.execute(select(Breach))).scalars().all()
    assert breach.status == "resolved"


async def test_a_failing_feed_is_logged_and_retried_from_the_same_cursor(
    polled: Deps, feed: FakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    feed.pages = {None: page("c1", ("thandi@example.com", "2026-11-18T07:58", "available"), more=True)}
    feed.pages["c1"] = page("c2", ("thandi@example.com", "2026-11-18T09:00", "busy"))
    feed.fail_at = "c1"
    with caplog.at_level(logging.WARNING, logger="bot.services.presence"):
        result = await run_presence_pull(polled)
    assert result is not None and result.failed == "HTTP 500" and (result.pages, result.stored) == (1, 1)
    assert "presence feed: HTTP 500; the next poll retries from the same place" in caplog.text
    assert await _bookmark(polled) == ("c1", "failed")  # page one is stored, and its cursor with it

    feed.fail_at = None
    result = await run_presence_pull(polled)
    assert result is not None and result.failed is None and (result.stored, result.cursor) == (1, "c2")
    assert feed.requests[-1] == {"cursor": "c1"}
    assert await _events(polled) == [("07:58", "available"), ("09:00", "busy")]
    assert await _bookmark(polled) == ("c2", "idle")


async def test_a_slow_feed_times_out_and_keeps_the_cursor(polled: Deps, feed: FakeFeed) -> None:
    feed.pages = {None: page("c1", ("thandi@example.com", "2026-11-18T07:58", "available"))}
    assert (await run_presence_pull(polled)) is not None
    feed.delay = 1.0
    source = presence_feed_from_settings(polled.settings, timeout=0.1)
    assert source is not None
    async with source:
        result = await run_presence_pull(polled, source=source)
    assert result is not None and result.failed == "timed out" and result.cursor == "c1"
    assert await _bookmark(polled) == ("c1", "failed")
    feed.delay = 0.0
    result = await run_presence_pull(polled)  # the lease was released: the next poll goes ahead at once
    assert result is not None and result.failed is None and feed.requests[-1] == {"cursor": "c1"}


async def test_bad_records_are_skipped_and_reported_without_personal_data(
    polled: Deps, feed: FakeFeed, caplog: pytest.LogCaptureFixture
) -> None:
    feed.pages = {None: page("c1", ("thandi@example.com", "2026-11-18T07:58", "available"))}
    feed.pages[None]["events"] += [
        {"agent": "nobody@example.com", "at": "2026-11-18T08:00", "state": "available"},
        {"agent": "thandi@example.com", "at": "yesterday-ish", "state": "available"},
        {"agent": "thandi@example.com", "at": "2026-11-18T08:30", "state": "On Break!"},
        "not an object",
    ]
    with caplog.at_level(logging.WARNING, logger="bot.services.presence"):
        result = await run_presence_pull(polled)
    assert result is not None and result.failed is None and (result.received, result.stored) == (5, 1)
    assert [(e.line, e.message.split(" ")[0]) for e in result.errors] == [
        (2, "unknown"),
        (3, "at"),
        (4, "state"),
        (5, "each"),
    ]
    assert result.cursor == "c1" and await _bookmark(polled) == ("c1", "idle")  # the feed moves past them
    assert "skipped 4 bad record(s): #2: unknown agent …" in caplog.text
    assert "nobody@example.com" not in caplog.text and "yesterday-ish" not in caplog.text
    assert await _events(polled) == [("07:58", "available")]


async def test_a_feed_without_cursors_is_polled_by_time_from_the_last_good_poll(
    polled: Deps, feed: FakeFeed, clock: FixedClock
) -> None:
    feed.pages = {None: page(None, ("thandi@example.com", "2026-11-18T07:58", "available"))}
    started = clock.now()
    assert (await run_presence_pull(polled)) is not None
    clock.set(started + timedelta(seconds=30))
    result = await run_presence_pull(polled)
    assert result is not None and (result.received, result.stored, result.cursor) == (1, 0, None)  # a repeat
    assert feed.requests[-1] == {"since": (started - timedelta(minutes=5)).isoformat()}


async def test_a_malformed_answer_fails_the_poll(polled: Deps, feed: FakeFeed) -> None:
    feed.pages = {None: {"data": []}}
    result = await run_presence_pull(polled)
    assert result is not None and result.failed == 'the answer is not {"events": [...]}'
    assert await _bookmark(polled) == (None, "failed")


async def test_one_replica_polls_at_a_time(polled: Deps, clock: FixedClock) -> None:
    now, lease = clock.now(), timedelta(minutes=2)
    async with polled.sessions() as session:
        first = await feed_cursor.take(session, job_key=JOB, now=now, lease=lease, first_since=now)
        await session.commit()
    assert first is not None and first.cursor is None
    assert await run_presence_pull(polled) is None  # the other replica holds the lease
    async with polled.sessions() as session:  # …until it expires (that replica died mid-poll)
        later = now + lease + timedelta(seconds=1)
        assert await feed_cursor.take(session, job_key=JOB, now=later, lease=lease, first_since=now) is not None


async def test_the_connector_is_off_without_a_url(org: Deps, polled: Deps) -> None:
    assert await run_presence_pull(org) is None
    assert "presence-pull" not in {s.id for s in job_specs(org, [])}
    (spec,) = [s for s in job_specs(polled, []) if s.id == "presence-pull"]
    assert spec.trigger.interval == timedelta(seconds=30)  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("setting", "value"), [("presence_feed_url", "ftp://wfm.example/states"), ("presence_poll_seconds", 1)]
)
def test_bad_feed_settings_are_refused(setting: str, value: object) -> None:
    with pytest.raises(ConfigError, match=f"RHYTHM_{setting.upper()}"):
        load_settings(_env_file=None, **{setting: value})
