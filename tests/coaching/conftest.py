"""Coaching fixtures: settings with a generated encryption key, signed interactions, and a database fingerprint
to prove a refusal changed nothing."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import SQLModel

from bot.blocks.ids import BlockId, CallbackId
from bot.config import Settings
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from tests.conftest import SECRET

# A fixed test key (pytest may import this conftest under two module names; both must agree on the key).
KEY = base64.urlsafe_b64encode(b"rhythm-coaching-test-key-32bytes").decode()
THANDI = "<@UAGENT0001|thandi>"
WATCHED = (
    "coaching_session",
    "coaching_action_item",
    "improvement_plan",
    "improvement_plan_version",
    "audit_event",
    "outbox",
)


@pytest.fixture
def settings(fake_slack: FakeSlack, db_url: str) -> Settings:
    return Settings(
        _env_file=None,
        slack_bot_token="xoxb-test",
        slack_signing_secret=SECRET,
        slack_api_url=fake_slack.api_url,
        database_url=db_url,
        encryption_key=KEY,
    )


Interact = Callable[[dict[str, Any]], Awaitable[httpx.Response]]


def button(user: str, action_id: str, value: str, fake: FakeSlack) -> dict[str, Any]:
    return {
        "type": "block_actions",
        "user": {"id": user},
        "api_app_id": "A0RHYTHM",
        "team": {"id": "T0RHYTHM"},
        "trigger_id": "123.456.abc",
        "response_url": fake.url + "hook",
        "channel": {"id": "D0DM"},
        "container": {"type": "message", "message_ts": "1.2"},
        "actions": [{"action_id": action_id, "block_id": "b", "value": value, "type": "button", "action_ts": "1.3"}],
    }


def submission(user: str, callback_id: str, metadata: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    return {
        "type": "view_submission",
        "user": {"id": user},
        "api_app_id": "A0RHYTHM",
        "team": {"id": "T0RHYTHM"},
        "trigger_id": "1.2.3",
        "view": {
            "id": "V1",
            "type": "modal",
            "callback_id": callback_id,
            "private_metadata": json.dumps(metadata),
            "state": {"values": values},
        },
    }


def text(value: str | None) -> dict[str, Any]:
    return {"value": {"type": "plain_text_input", "value": value}}


def day(value: date | None) -> dict[str, Any]:
    return {"value": {"type": "datepicker", "selected_date": value.isoformat() if value else None}}


def option(value: str | None) -> dict[str, Any]:
    return {"value": {"type": "static_select", "selected_option": {"value": value} if value else None}}


def session_values(
    *,
    kind: str | None = "one_on_one",
    held_on: date | None = date(2026, 11, 18),
    summary: str | None = "Talked through CSAT dips on refund tickets.",
    notes: str | None = None,
    strengths: str | None = "Warm tone",
    improve: str | None = "Refund policy accuracy",
    actions: str | None = None,
    follow_up: date | None = None,
    agent: str | None = None,
) -> dict[str, Any]:
    values = {
        BlockId.COACHING_KIND: option(kind),
        BlockId.COACHING_DATE: day(held_on),
        BlockId.COACHING_SUMMARY: text(summary),
        BlockId.COACHING_NOTES: text(notes),
        BlockId.COACHING_STRENGTHS: text(strengths),
        BlockId.COACHING_IMPROVE: text(improve),
        BlockId.COACHING_ACTIONS: text(actions),
        BlockId.COACHING_FOLLOW_UP: day(follow_up),
    }
    if agent is not None:
        values[BlockId.COACHING_AGENT] = {"value": {"type": "users_select", "selected_user": agent}}
    return values


def session_submit(user: str, member_id: int | None, **fields: Any) -> dict[str, Any]:
    return submission(user, CallbackId.COACHING_FORM, {"member_id": member_id}, session_values(**fields))


def plan_submit(
    user: str,
    member_id: int,
    *,
    plan_id: int | None = None,
    version: int | None = None,
    goals: str | None,
    reviews: str | None,
    end: date | None,
) -> dict[str, Any]:
    values = {BlockId.PIP_GOALS: text(goals), BlockId.PIP_REVIEWS: text(reviews), BlockId.PIP_END: day(end)}
    meta = {"member_id": member_id, "plan_id": plan_id, "version": version}
    return submission(user, CallbackId.PIP_FORM, meta, values)


def view_of(call_body: dict[str, Any]) -> dict[str, Any]:
    view = call_body["view"]
    return view if isinstance(view, dict) else json.loads(view)


async def fingerprint(deps: Deps) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the coaching tables, the audit log and the outbox: equal before and after = unchanged."""
    out = {}
    async with deps.sessions() as session:
        for name in WATCHED:
            table = SQLModel.metadata.tables[name]
            rows = await session.execute(select(table).order_by(*table.primary_key.columns))
            out[name] = [tuple(str(v) for v in row) for row in rows]
    return out
