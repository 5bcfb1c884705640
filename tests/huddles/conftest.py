"""Huddle fixtures: the test org with huddle times (Alpha 09:00 Durban, Bravo 10:00 London), signed Slack
payloads (button, modal submission, thread reply event), the per-minute tick on the test clock, and a delivery
worker that really sends the outbox to the fake Slack."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.api.app import create_asgi_app
from bot.app import create_bolt_app
from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.clock import FixedClock
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.domain.org import OrgSpec
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.services.huddle_tick import TickResult, run_huddle_tick
from bot.store import outbox
from bot.store.huddle_tables import CheckIn, Huddle
from bot.store.org import apply_org
from bot.store.tables import Outbox
from tests.conftest import SECRET
from tests.support.org import ORG

SAST, LONDON = ZoneInfo("Africa/Johannesburg"), ZoneInfo("Europe/London")
ALPHA_HUDDLE = {"close_after_minutes": 30, "remind_before_close_minutes": 10, "late_after_minutes": 15}


def huddle_org(alpha: dict[str, Any] | None = None, **alpha_fields: Any) -> OrgSpec:
    spec = copy.deepcopy(ORG)
    spec["teams"][0].update({"huddle_time": "09:00", "huddle": alpha if alpha is not None else ALPHA_HUDDLE})
    spec["teams"][0].update(alpha_fields)
    spec["teams"][1].update({"huddle_time": "10:00", "huddle": {"close_after_minutes": 20}})
    return OrgSpec.model_validate(spec)


@pytest.fixture
async def hud(org: Deps) -> Deps:
    """The test org with huddles configured."""
    async with org.sessions() as session:
        await apply_org(session, huddle_org())
        await session.commit()
    return org


async def reconfigure(deps: Deps, spec: OrgSpec) -> None:
    async with deps.sessions() as session:
        await apply_org(session, spec)
        await session.commit()


async def tick(deps: Deps, clock: FixedClock, at: datetime) -> TickResult:
    clock.set(at)
    return await run_huddle_tick(deps)


async def huddle_rows(deps: Deps) -> list[Huddle]:
    async with deps.sessions() as session:
        return list((await session.execute(select(Huddle).order_by(col(Huddle.id)))).scalars())


async def checkin_rows(deps: Deps) -> list[CheckIn]:
    async with deps.sessions() as session:
        return list((await session.execute(select(CheckIn).order_by(col(CheckIn.id)))).scalars())


async def outbox_rows(deps: Deps) -> list[Outbox]:
    async with deps.sessions() as session:
        return list((await session.execute(select(Outbox).order_by(col(Outbox.id)))).scalars())


async def outbox_row(deps: Deps, key: str) -> Outbox:
    async with deps.sessions() as session:
        row = await outbox.get(session, key)
    assert row is not None, key
    return row


def texts(payload: dict[str, Any]) -> str:
    """Every text of a message's blocks, one per line (what a reader sees)."""
    out = []
    for block in payload.get("blocks", []):
        if "text" in block:
            out.append(block["text"]["text"])
        for element in block.get("elements", []):
            text = element.get("text")
            out.append(text["text"] if isinstance(text, dict) else str(text))
    return "\n".join(out)


async def deliver(deps: Deps, fake: FakeSlack, clock: FixedClock, rounds: int = 20) -> None:
    """Send everything queued through the real delivery worker, moving the clock a second a round (pacing).

    The worker is built here, on the clock as the test has set it: its token bucket starts at that moment.
    """
    fake.now = lambda: clock.now().timestamp()
    worker = DeliveryWorker(deps, create_delivery_client(deps.settings, "xoxb-test", timeout=2), rand=lambda: 0.5)
    for _ in range(rounds):
        await worker.run_once()
        async with deps.sessions() as session:
            query = select(Outbox).where(col(Outbox.status).in_(outbox.UNSETTLED))
            pending = list((await session.execute(query)).scalars())
        if not pending:
            return
        clock.set(clock.now() + timedelta(seconds=1))
    left = [(r.idempotency_key, r.status, r.last_error, r.next_attempt_at) for r in pending]
    raise AssertionError(f"outbox not drained at {clock.now()}: {left}")


Send = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


class Answer(str):
    """The text of a command's ephemeral answer, with the whole payload beside it."""

    payload: dict[str, Any]


@pytest.fixture
def huddle_cmd(client: httpx.AsyncClient, fake_slack: FakeSlack) -> Callable[..., Awaitable[Answer]]:
    """Run `/huddle TEXT` as ``user`` in ``channel``; the answer (it comes in the ack)."""

    async def send(user: str, text: str, channel: str = "C0DEMO") -> Answer:
        hook = fake_slack.url + "hook"
        body = slash_command_body("/huddle", text, user_id=user, channel_id=channel, response_url=hook)
        resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
        assert resp.status_code == 200
        payload = resp.json()
        assert payload["response_type"] == "ephemeral"
        answer = Answer(payload["text"])
        answer.payload = payload
        return answer

    return send


@pytest.fixture
async def sync_client(deps: Deps) -> AsyncIterator[httpx.AsyncClient]:
    """The ASGI app with Bolt answering only after the listener has run (events are acked before their
    listener otherwise, so a test could not tell "ignored" from "not yet handled")."""
    asgi = create_asgi_app(deps.settings, deps=deps, bolt=create_bolt_app(deps, process_before_response=True))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://rhythm") as c:
        yield c


@pytest.fixture
def post_event(sync_client: httpx.AsyncClient) -> Send:
    async def send(event: dict[str, Any]) -> httpx.Response:
        body = json.dumps(
            {
                "token": "unused",
                "team_id": "T0RHYTHM",
                "api_app_id": "A0RHYTHM",
                "type": "event_callback",
                "event_id": f"Ev{time.monotonic_ns()}",
                "event_time": int(time.time()),
                "event": event,
            }
        )
        return await sync_client.post(
            "/slack/events", content=body, headers=signed_headers(SECRET, body, "application/json")
        )

    return send


@pytest.fixture
async def huddle_id(hud: Deps, clock: FixedClock) -> int:
    await tick(hud, clock, datetime(2026, 11, 18, 9, 0, 2, tzinfo=SAST))
    (row,) = await huddle_rows(hud)
    assert row.id is not None
    clock.set(datetime(2026, 11, 18, 9, 5, tzinfo=SAST))
    return row.id


@pytest.fixture
async def prompt_ts(hud: Deps, huddle_id: int, clock: FixedClock, fake_slack: FakeSlack) -> str:
    """The prompt, actually delivered: its Slack ts is what thread replies point at."""
    await deliver(hud, fake_slack, clock)
    (posted,) = fake_slack.posted("C0ALPHA01")
    clock.set(datetime(2026, 11, 18, 9, 6, tzinfo=SAST))
    return posted.ts


def button(user: str, huddle_id: int, fake: FakeSlack) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "api_app_id": "A0RHYTHM",
        "team": {"id": "T0RHYTHM"},
        "trigger_id": "123.456.abc",
        "response_url": fake.url + "hook",
        "channel": {"id": "C0ALPHA01"},
        "container": {"type": "message", "message_ts": "1.2"},
        "actions": [
            {
                "action_id": ActionId.HUDDLE_CHECKIN,
                "block_id": f"{BlockId.HUDDLE_ACTIONS}.{huddle_id}",
                "value": str(huddle_id),
                "type": "button",
                "action_ts": "1.3",
            }
        ],
    }


def submission(
    user: str, huddle_id: int, mood: str | None, blockers: str | None = None, note: str | None = None
) -> dict[str, Any]:
    values: dict[str, Any] = {
        BlockId.HUDDLE_MOOD: {"value": {"type": "static_select", "selected_option": {"value": mood} if mood else None}},
        BlockId.HUDDLE_BLOCKERS: {"value": {"type": "plain_text_input", "value": blockers}},
        BlockId.HUDDLE_NOTE: {"value": {"type": "plain_text_input", "value": note}},
    }
    return {
        "type": "view_submission",
        "user": {"id": user},
        "api_app_id": "A0RHYTHM",
        "team": {"id": "T0RHYTHM"},
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": CallbackId.HUDDLE_CHECKIN_FORM,
            "private_metadata": str(huddle_id),
            "state": {"values": values},
        },
    }


def reply_event(user: str, channel: str, thread_ts: str, ts: str = "1763400100.000001", **extra: Any) -> dict[str, Any]:
    return {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": "morning, all good",
        "ts": ts,
        "thread_ts": thread_ts,
        "channel_type": "channel",
        **extra,
    }


async def eventually(check: Callable[[], Awaitable[bool]], within: float = 2.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + within
    while not await check():
        if loop.time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.02)
