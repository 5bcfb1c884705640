"""Helpers for the notice tests: the test notice's content, Slack payloads as Slack sends them, answers."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import select
from sqlmodel import col

from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.clock import FixedClock
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import outbox
from bot.store.tables import Outbox

# Friday 20 Nov 2026, 17:00 in Durban (15:00 UTC): two days and a half after the test clock's "now".
DEADLINE = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
EFFECTIVE = date(2026, 11, 23)
TITLE = "New refund approval limits"
BODY = "From Monday, refunds over *R500* need a team leader's approval in Zendesk before you reply."

Drain = Callable[[], Awaitable[float]]
Send = Callable[[dict[str, Any]], Awaitable[httpx.Response]]
Publish = Callable[..., Awaitable[int]]


def advance(clock: FixedClock, seconds: float) -> None:
    clock.set(clock.now() + timedelta(seconds=seconds))


async def unsettled(deps: Deps) -> int:
    async with deps.sessions() as session:
        rows = await session.execute(select(Outbox).where(col(Outbox.status).in_(outbox.UNSETTLED)))
        return len(rows.scalars().all())


def click(user: str, value: str, fake: FakeSlack, *, channel: str = "C0ALPHA01") -> dict[str, Any]:
    """A click on the Acknowledge button whose value is ``value`` ("<notice id>:<version>")."""
    notice_id = value.split(":")[0]
    return {
        "type": "block_actions",
        "user": {"id": user},
        "api_app_id": "A0RHYTHM",
        "team": {"id": "T0RHYTHM"},
        "trigger_id": "123.456.abc",
        "response_url": fake.url + "hook",
        "channel": {"id": channel},
        "container": {"type": "message", "message_ts": "1.2"},
        "actions": [
            {
                "action_id": ActionId.NOTICE_ACK,
                "block_id": f"{BlockId.NOTICE_ACTIONS}.{notice_id}",
                "value": value,
                "type": "button",
                "action_ts": "1.3",
            }
        ],
    }


def form_values(
    *,
    title: str = TITLE,
    body: str = BODY,
    effective: date | None = EFFECTIVE,
    deadline: datetime | None = DEADLINE,
    teams: list[int] | None = None,
    link: str | None = None,
    minor: bool = False,
) -> dict[str, Any]:
    """The modal's state values; ``teams`` for a new notice, otherwise the edit form (with its checkbox)."""
    values: dict[str, Any] = {
        BlockId.NOTICE_TITLE: {"value": {"type": "plain_text_input", "value": title}},
        BlockId.NOTICE_BODY: {"value": {"type": "plain_text_input", "value": body}},
        BlockId.NOTICE_EFFECTIVE: {
            "value": {"type": "datepicker", "selected_date": effective.isoformat() if effective else None}
        },
        BlockId.NOTICE_DEADLINE: {
            "value": {
                "type": "datetimepicker",
                "selected_date_time": int(deadline.timestamp()) if deadline else None,
            }
        },
        BlockId.NOTICE_LINK: {"value": {"type": "url_text_input", "value": link}},
    }
    if teams is not None:
        values[BlockId.NOTICE_AUDIENCE] = {
            "value": {"type": "multi_static_select", "selected_options": [{"value": str(t)} for t in teams]}
        }
    else:
        chosen = [{"value": "minor"}] if minor else []
        values[BlockId.NOTICE_MINOR] = {"value": {"type": "checkboxes", "selected_options": chosen}}
    return values


def submission(user: str, values: dict[str, Any], meta: str = "") -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user},
        "api_app_id": "A0RHYTHM",
        "team": {"id": "T0RHYTHM"},
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": CallbackId.NOTICE_FORM,
            "private_metadata": meta,
            "state": {"values": values},
        },
    }


def edit_meta(notice_id: int, number: int, deadline: datetime | None = DEADLINE) -> str:
    """The private metadata the edit modal carries."""
    return json.dumps(
        {"notice": notice_id, "number": number, "deadline": int(deadline.timestamp()) if deadline else None}
    )


def view_of(call_body: dict[str, Any]) -> dict[str, Any]:
    view = call_body["view"]
    return view if isinstance(view, dict) else dict(json.loads(view))


async def answer_text(resp: httpx.Response, fake: FakeSlack) -> str:
    """A command's answer: in the ack when it was quick, else posted to the response_url."""
    text = str(resp.json()["text"])
    if text.startswith("Working on it"):
        text = str((await fake.wait_for("webhook:/hook"))[-1].body["text"])
    return text


def count_text(posted_body: dict[str, Any]) -> str:
    """The live count on a notice post: the last block's context."""
    blocks = posted_body["blocks"]
    return str(blocks[-1]["elements"][0]["text"])
