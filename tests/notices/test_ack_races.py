"""Acknowledge under pressure: clicks from outside the audience, identical clicks at once, a click while the
count's update is on its way to Slack, and a click racing a material edit."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from sqlalchemy import select
from sqlmodel import col

import bot.store.notices as store_notices
from bot.clock import FixedClock
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.services.notice_acks import NOT_YOUR_TEAM
from bot.store.notice_acks import record_ack
from bot.store.notice_tables import NoticeAck
from bot.store.org import member_by
from bot.store.tables import Outbox
from tests.conftest import PG_URL
from tests.notices.helpers import Drain, Publish, Send, advance, click, count_text, edit_meta, form_values, submission
from tests.support.org import AGENT_1, AGENT_2, BRAVO_AGENT, MANAGER

NEW_BODY = "Refunds over R300 need approval."


async def _acks(deps: Deps) -> list[tuple[int, int]]:
    """(version id, member id) of every acknowledgement."""
    async with deps.sessions() as session:
        rows = (await session.execute(select(NoticeAck).order_by(NoticeAck.id))).scalars().all()
    return [(a.version_id, a.member_id) for a in rows]


async def test_an_agent_outside_the_audience_is_refused_and_nothing_is_recorded(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack
) -> None:
    notice_id = await publish(teams=("alpha",))
    await send(click(BRAVO_AGENT, f"{notice_id}:1", slack, channel="C0ALPHA01"))
    (hook,) = await slack.wait_for("webhook:/hook")
    assert hook.body["text"] == NOT_YOUR_TEAM and hook.body["response_type"] == "ephemeral"
    assert await _acks(org) == []


async def test_identical_clicks_at_once_record_one_acknowledgement_and_thank_once(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, drain: Drain
) -> None:
    notice_id = await publish(teams=("alpha",))
    await drain()
    responses = await asyncio.gather(*(send(click(AGENT_1, f"{notice_id}:1", slack)) for _ in range(5)))
    assert all(r.status_code == 200 for r in responses)
    texts = [h.body["text"] for h in await slack.wait_for("webhook:/hook", count=5)]
    assert sum(t.startswith("✅ Thanks, Thandi") for t in texts) == 1
    assert sum(t.startswith("You already acknowledged this") for t in texts) == 4
    assert len(await _acks(org)) == 1
    await drain()
    assert count_text(slack.posted("C0ALPHA01")[0].body) == "*1/3 acknowledged*"


async def test_a_click_while_the_previous_update_is_being_sent_still_ends_on_the_final_count(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, drain: Drain, worker: DeliveryWorker, clock: FixedClock
) -> None:
    notice_id = await publish(teams=("alpha",))
    await drain()
    await send(click(AGENT_1, f"{notice_id}:1", slack))
    await slack.wait_for("webhook:/hook", within=10)
    advance(clock, 3)
    slack.slow(0.5, times=1)
    sending = asyncio.create_task(worker.run_once())
    await slack.wait_for("chat.update", within=10)  # the 1/3 update is in flight: its outbox row is taken
    await send(click(AGENT_2, f"{notice_id}:1", slack))
    await slack.wait_for("webhook:/hook", count=2, within=10)
    await sending
    await drain()
    (post,) = slack.posted("C0ALPHA01")
    assert [count_text(e) for e in post.edits] == ["*1/3 acknowledged*", "*2/3 acknowledged*"]
    assert count_text(post.body) == "*2/3 acknowledged*"


async def test_a_click_read_before_a_material_edit_is_not_recorded_against_the_replaced_version(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The click read "v1 is current", then the edit to v2 committed before the click's insert: the check after
    the insert catches it, so the agent is told to acknowledge v2 and nothing is left on v1 unasked."""
    notice_id = await publish(teams=("alpha",))
    resp = await send(submission(MANAGER, form_values(body=NEW_BODY), edit_meta(notice_id, 1)))
    assert resp.json()["response_action"] == "update"
    real = store_notices.current_number
    stale = {"left": 1}

    async def read_before_the_edit(session: Any, nid: int, *, lock: bool = False) -> int | None:
        if stale["left"]:
            stale["left"] -= 1
            return 1
        return await real(session, nid, lock=lock)

    monkeypatch.setattr(store_notices, "current_number", read_before_the_edit)
    await send(click(AGENT_2, f"{notice_id}:1", slack))
    (hook,) = await slack.wait_for("webhook:/hook")
    assert hook.body["text"].startswith("This version has been replaced by version 2.")
    assert await _acks(org) == []


@pytest.mark.skipif(not PG_URL, reason="row locks: PostgreSQL (SQLite serialises writers)")
async def test_an_edit_waits_for_an_acknowledgement_being_recorded_and_then_asks_again(
    org: Deps, publish: Publish, send: Send, team_ids: dict[str, int]
) -> None:
    notice_id = await publish(teams=("alpha",))
    async with org.sessions() as session:  # a click, part way: notice share-locked, acknowledgement inserted
        assert await store_notices.current_number(session, notice_id, lock=True) == 1
        v1 = await store_notices.version(session, notice_id, 1)
        thandi = await member_by(session, slack_user_id=AGENT_1)
        assert v1 and thandi
        await record_ack(
            session, version_id=v1.id, member_id=thandi.id, team_id=team_ids["alpha"], seen_number=1, now=v1.created_at
        )
        edit = asyncio.create_task(send(submission(MANAGER, form_values(body=NEW_BODY), edit_meta(notice_id, 1))))
        await asyncio.sleep(0.3)
        assert not edit.done()  # the edit's UPDATE of the notice waits for the click to commit
        await session.commit()
    assert (await edit).json()["response_action"] == "update"
    async with org.sessions() as session:
        reack = (await session.execute(select(Outbox).where(col(Outbox.idempotency_key).contains(":reack:")))).scalars()
        assert [r.channel for r in reack] == [AGENT_1]  # the edit saw the acknowledgement and asked again
