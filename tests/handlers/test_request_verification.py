"""Every Slack request is signature-checked: forged or stale requests get 401 and touch nothing."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.store.tables import AuditEvent, KpiSample
from tests.conftest import SECRET, SlashCommand
from tests.support.org import ALPHA_LEAD


async def _counts(deps: Deps) -> tuple[int, int]:
    async with deps.sessions() as session:
        samples = (await session.execute(select(func.count()).select_from(KpiSample))).scalar_one()
        audits = (await session.execute(select(func.count()).select_from(AuditEvent))).scalar_one()
    return samples, audits


@pytest.mark.parametrize(
    ("secret", "age"),
    # Slack's window is 5 minutes either way; ``ts`` is whole seconds, so a timestamp 301 s ahead can be under 300 s
    # ahead by the time it is checked: 310 s keeps the future case clear of that edge.
    [("not-the-secret", 0), (SECRET, 301), (SECRET, -310)],
    ids=["wrong-secret", "stale-301s", "future-310s"],
)
async def test_bad_signature_or_timestamp_is_rejected_and_changes_nothing(
    org: Deps, slash: SlashCommand, fake_slack: FakeSlack, secret: str, age: int
) -> None:
    before = await _counts(org)
    resp = await slash(ALPHA_LEAD, "team", secret=secret, ts=int(time.time()) - age)
    assert resp.status_code == 401
    assert fake_slack.calls == []
    assert await _counts(org) == before


async def test_tampered_body_is_rejected(org: Deps, client: httpx.AsyncClient, fake_slack: FakeSlack) -> None:
    body = slash_command_body("/kpi", "team", user_id=ALPHA_LEAD)
    headers = signed_headers(SECRET, body)
    resp = await client.post("/slack/events", content=body.replace("team", "team+post"), headers=headers)
    assert resp.status_code == 401 and fake_slack.calls == []


async def test_missing_signature_headers_are_rejected(org: Deps, client: httpx.AsyncClient) -> None:
    body = slash_command_body("/kpi", "team", user_id=ALPHA_LEAD)
    resp = await client.post(
        "/slack/events", content=body, headers={"content-type": "application/x-www-form-urlencoded"}
    )
    assert resp.status_code == 401


async def test_valid_signature_within_five_minutes_is_accepted(org: Deps, slash: SlashCommand) -> None:
    resp = await slash(ALPHA_LEAD, "help", ts=int(time.time()) - 290)
    assert resp.status_code == 200
