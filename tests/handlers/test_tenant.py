"""Rhythm serves the workspace its bot token belongs to: correctly signed requests from another workspace or
enterprise (or, when RHYTHM_SLACK_APP_ID is set, for another app) are refused and touch nothing. The refusal is a
200 (an error status makes Slack retry events): a slash command's says why, the rest are empty."""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from bot.api.app import create_asgi_app
from bot.deps import Deps
from bot.handlers.tenant import REFUSED
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import interaction_body, signed_headers, slash_command_body
from bot.store.tables import AuditEvent, KpiSample
from tests.conftest import SECRET
from tests.support.org import ALPHA_LEAD

OURS, THEIRS = "T0RHYTHM", "T0ELSEWHERE"


async def _counts(deps: Deps) -> tuple[int, int]:
    async with deps.sessions() as session:
        samples = (await session.execute(select(func.count()).select_from(KpiSample))).scalar_one()
        audits = (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
    return samples, audits


def _slash(team_id: str, text: str = "team post", **fields: str) -> tuple[str, str]:
    body = slash_command_body("/kpi", text, user_id=ALPHA_LEAD, team_id=team_id)
    for key, value in fields.items():
        body = body.replace(f"{key}=A0RHYTHM", f"{key}={value}")
    return body, "application/x-www-form-urlencoded"


def _click(team_id: str, enterprise_id: str | None = None) -> tuple[str, str]:
    payload: dict[str, Any] = {
        "type": "block_actions",
        "team": {"id": team_id, "domain": "elsewhere"},
        "user": {"id": ALPHA_LEAD, "team_id": team_id},
        "api_app_id": "A0RHYTHM",
        "trigger_id": "1.2.3",
        "actions": [{"action_id": "breach_ack", "block_id": "b", "value": "1", "type": "button"}],
        "container": {"type": "message", "message_ts": "1.1", "channel_id": "C0ALPHA"},
        "channel": {"id": "C0ALPHA"},
    }
    if enterprise_id:
        payload["enterprise"] = {"id": enterprise_id}
    return interaction_body(payload), "application/x-www-form-urlencoded"


def _event(team_id: str) -> tuple[str, str]:
    event = {"type": "message", "channel": "C0ALPHA", "user": ALPHA_LEAD, "text": "hi", "ts": "1.2"}
    body = {"team_id": team_id, "api_app_id": "A0RHYTHM", "type": "event_callback", "event": event}
    body |= {"event_id": f"Ev{time.monotonic_ns()}", "event_time": int(time.time())}
    return json.dumps(body), "application/json"


async def _post(client: httpx.AsyncClient, request: tuple[str, str]) -> httpx.Response:
    body, content_type = request
    return await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body, content_type))


@pytest.mark.parametrize(
    ("request_from", "answer"),
    [
        (_slash(THEIRS), REFUSED),
        (_click(THEIRS), ""),
        (_event(THEIRS), ""),
        (_click(OURS, enterprise_id="E0ELSEWHERE"), ""),
    ],
    ids=["slash-command", "button-click", "event", "another-enterprise"],
)
async def test_a_request_from_another_workspace_is_refused_and_changes_nothing(
    org: Deps,
    client: httpx.AsyncClient,
    fake_slack: FakeSlack,
    caplog: pytest.LogCaptureFixture,
    request_from: tuple[str, str],
    answer: str,
) -> None:
    before = await _counts(org)
    resp = await _post(client, request_from)
    assert (resp.status_code, resp.text) == (200, answer)
    assert "refused a request from outside this workspace" in caplog.text
    assert [c.method for c in fake_slack.calls if c.method != "auth.test"] == []  # auth.test: who the token is
    assert await _counts(org) == before


async def test_our_own_workspace_is_served(org: Deps, client: httpx.AsyncClient) -> None:
    resp = await _post(client, _slash(OURS, "help"))
    assert resp.status_code == 200 and "/kpi team" in resp.json()["text"]


async def test_with_an_app_id_configured_requests_for_another_app_are_refused(org: Deps, fake_slack: FakeSlack) -> None:
    pinned = dataclasses.replace(org, settings=org.settings.model_copy(update={"slack_app_id": "A0RHYTHM"}))
    transport = httpx.ASGITransport(app=create_asgi_app(pinned.settings, deps=pinned))
    async with httpx.AsyncClient(transport=transport, base_url="http://rhythm") as client:
        assert (await _post(client, _slash(OURS, "help"))).status_code == 200
        other_app = await _post(client, _slash(OURS, "help", api_app_id="A0OTHERAPP"))
    assert (other_app.status_code, other_app.text) == (200, REFUSED)
