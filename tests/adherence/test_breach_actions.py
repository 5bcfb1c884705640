"""Leads act on a breach from Slack; agents get a polite refusal; replays change nothing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import interaction_body, signed_headers
from bot.store.org import member_by, team_by_key
from bot.store.tables import AuditEvent, Breach, Outbox
from tests.conftest import SECRET
from tests.support.org import AGENT_2, ALPHA_LEAD, BRAVO_LEAD, MANAGER


@pytest.fixture
async def breach(org: Deps) -> Breach:
    async with org.sessions() as session:
        thandi = await member_by(session, email="thandi@example.com")
        alpha = await team_by_key(session, "alpha")
        assert thandi and alpha
        row = Breach(
            member_id=thandi.id,
            team_id=alpha.id,
            kind="long_break",
            message_key="breach:1",
            started_at=datetime(2026, 11, 18, 10, 30, tzinfo=UTC),
            scheduled_activity="open",
            actual_state="lunch",
        )
        session.add(row)
        await session.commit()
    return row


def _button(user: str, action: str, breach_id: int, fake: FakeSlack) -> dict[str, Any]:
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
                "action_id": action,
                "block_id": f"breach.actions.{breach_id}",
                "value": str(breach_id),
                "type": "button",
                "action_ts": "1.3",
            }
        ],
    }


async def _send(client: httpx.AsyncClient, payload: dict[str, Any]) -> httpx.Response:
    body = interaction_body(payload)
    return await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))


async def _state(deps: Deps, breach_id: int) -> tuple[str, int, int]:
    async with deps.sessions() as session:
        row = await session.get(Breach, breach_id)
        audits = (
            await session.execute(
                select(func.count()).select_from(AuditEvent).where(AuditEvent.action.like("breach.%"))
            )
        ).scalar_one()  # type: ignore[attr-defined]
        updates = (await session.execute(select(func.count()).select_from(Outbox))).scalar_one()
    assert row is not None
    return row.status, audits, updates


async def test_lead_acknowledges_once_however_often_they_click(
    breach: Breach, org: Deps, client: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    for _ in range(3):
        assert (
            await _send(client, _button(ALPHA_LEAD, ActionId.BREACH_ACK, breach.id or 0, fake_slack))
        ).status_code == 200
    hooks = await fake_slack.wait_for("webhook:/hook", count=3)
    texts = sorted(h.body["text"] for h in hooks)  # the clicks race each other; exactly one wins
    assert (
        texts
        == ["Acknowledged: Thandi Nkosi, Break overrun."] + ["Already acknowledged or closed; nothing changed."] * 2
    )
    assert await _state(org, breach.id or 0) == ("acknowledged", 1, 1)
    async with org.sessions() as session:
        (update,) = (await session.execute(select(Outbox))).scalars().all()
    assert update.kind == "update" and update.update_of == "breach:1"
    assert "Acknowledged by Lindiwe Lead" in str(update.payload["blocks"])


@pytest.mark.parametrize("user", [AGENT_2, BRAVO_LEAD], ids=["agent", "other-teams-lead"])
async def test_others_get_a_polite_refusal_and_nothing_changes(
    breach: Breach, org: Deps, client: httpx.AsyncClient, fake_slack: FakeSlack, user: str
) -> None:
    await _send(client, _button(user, ActionId.BREACH_ACK, breach.id or 0, fake_slack))
    (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert hook.body["text"] == "Only the team's leaders and managers can act on adherence alerts."
    assert await _state(org, breach.id or 0) == ("open", 0, 0)


async def test_excuse_opens_a_modal_and_a_reason_is_required(
    breach: Breach, org: Deps, client: httpx.AsyncClient, fake_slack: FakeSlack
) -> None:
    await _send(client, _button(MANAGER, ActionId.BREACH_EXCUSE, breach.id or 0, fake_slack))
    (opened,) = await fake_slack.wait_for("views.open")
    view = (
        opened.body["view"] if isinstance(opened.body["view"], dict) else __import__("json").loads(opened.body["view"])
    )
    assert view["callback_id"] == CallbackId.BREACH_EXCUSE_FORM and view["private_metadata"] == str(breach.id)

    def submission(reason: str | None, note: str | None) -> dict[str, Any]:
        values: dict[str, Any] = {
            BlockId.EXCUSE_REASON: {
                "value": {"type": "static_select", "selected_option": {"value": reason} if reason else None}
            },
            BlockId.EXCUSE_NOTE: {"value": {"type": "plain_text_input", "value": note}},
        }
        return {
            "type": "view_submission",
            "user": {"id": MANAGER},
            "api_app_id": "A0RHYTHM",
            "team": {"id": "T0RHYTHM"},
            "trigger_id": "1.2.3",
            "view": {
                "id": "V1",
                "type": "modal",
                "callback_id": CallbackId.BREACH_EXCUSE_FORM,
                "private_metadata": str(breach.id),
                "state": {"values": values},
            },
        }

    resp = await _send(client, submission("other", None))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {BlockId.EXCUSE_NOTE: "Say what happened when the reason is Other."},
    }
    assert (await _state(org, breach.id or 0))[0] == "open"
    resp = await _send(client, submission("system_outage", "Zendesk was down 10:25–10:50"))
    assert resp.status_code == 200 and resp.text in ("", "null")
    async with org.sessions() as session:
        row = await session.get(Breach, breach.id)
    assert row is not None and (row.status, row.reason_code, row.note) == (
        "excused",
        "system_outage",
        "Zendesk was down 10:25–10:50",
    )
