"""The modal is always answered inside Slack's 3 seconds: a slow save turns it into "Saving…" and then into the
outcome (views.update); an unexpected failure is a message on the form, never silence."""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

import bot.handlers.notices as handler
from bot.api.app import create_asgi_app
from bot.deps import Deps
from bot.handlers.notices import SAVE_FAILED
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import interaction_body, signed_headers
from bot.services.notices import submit_form
from bot.store.notice_tables import Notice
from tests.conftest import SECRET
from tests.notices.helpers import form_values, submission, view_of
from tests.support.org import MANAGER


@pytest.fixture
async def hurried(org: Deps) -> AsyncIterator[httpx.AsyncClient]:
    """The app with an ack budget of 50 ms, so a save of a few hundred milliseconds is "slow"."""
    quick = dataclasses.replace(org, settings=org.settings.model_copy(update={"ack_budget_seconds": 0.05}))
    transport = httpx.ASGITransport(app=create_asgi_app(quick.settings, deps=quick))
    async with httpx.AsyncClient(transport=transport, base_url="http://rhythm") as client:
        yield client


async def _submit(client: httpx.AsyncClient, team_ids: dict[str, int]) -> dict[str, Any]:
    body = interaction_body(submission(MANAGER, form_values(teams=[team_ids["alpha"]])))
    resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    assert resp.status_code == 200
    answer: dict[str, Any] = resp.json()
    return answer


async def _notices(deps: Deps) -> int:
    async with deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(Notice))).scalar_one())


def _slow(monkeypatch: pytest.MonkeyPatch, *, fail: bool = False) -> None:
    async def slow_save(*args: Any, **kwargs: Any) -> Any:
        await asyncio.sleep(0.3)
        if fail:
            raise RuntimeError("database on fire")
        return await submit_form(*args, **kwargs)

    monkeypatch.setattr(handler, "submit_form", slow_save)


async def test_a_slow_save_shows_saving_then_the_outcome(
    org: Deps,
    hurried: httpx.AsyncClient,
    slack: FakeSlack,
    team_ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _slow(monkeypatch)
    answer = await _submit(hurried, team_ids)
    assert answer["response_action"] == "update" and answer["view"]["title"]["text"] == "Saving notice"
    (updated,) = await slack.wait_for("views.update")
    assert updated.body["view_id"] == "V1"
    final = view_of(updated.body)
    assert final["title"]["text"] == "Notice saved" and "Published notice" in str(final["blocks"])
    assert await _notices(org) == 1


async def test_a_failing_save_is_answered_on_the_form(
    org: Deps, send: Any, slack: FakeSlack, team_ids: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr(handler, "submit_form", broken)
    resp = await send(submission(MANAGER, form_values(teams=[team_ids["alpha"]])))
    assert resp.json() == {"response_action": "errors", "errors": {"notice.title": SAVE_FAILED}}
    assert "database on fire" not in resp.text


async def test_a_slow_save_that_fails_says_so_in_the_modal(
    org: Deps,
    hurried: httpx.AsyncClient,
    slack: FakeSlack,
    team_ids: dict[str, int],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _slow(monkeypatch, fail=True)
    answer = await _submit(hurried, team_ids)
    assert answer["view"]["title"]["text"] == "Saving notice"
    (updated,) = await slack.wait_for("views.update")
    final = view_of(updated.body)
    assert final["title"]["text"] == "Notice not saved" and SAVE_FAILED in str(final["blocks"])
    assert await _notices(org) == 0
