"""End to end through signed Slack requests: publish → post → acknowledge (twice, replayed) → count updated →
material edit → acknowledge again → reminders to the outstanding only → the export, exactly."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import httpx
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.notices import NoticeContent, content_hash
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.services.notice_reminders import run_notice_tick
from bot.store.leave import add_leave
from bot.store.notice_tables import NoticeAck, NoticePost, NoticeVersion
from bot.store.org import member_by
from tests.conftest import SECRET
from tests.notices.helpers import (
    BODY,
    DEADLINE,
    EFFECTIVE,
    TITLE,
    Drain,
    Publish,
    Send,
    answer_text,
    click,
    count_text,
    edit_meta,
    form_values,
    submission,
    view_of,
)
from tests.support.org import AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD, BRAVO_AGENT, MANAGER, STRANGER

NEW_BODY = "From Monday, refunds over *R300* need a team leader's approval in Zendesk before you reply."


async def slash(client: httpx.AsyncClient, fake: FakeSlack, user: str, text: str) -> httpx.Response:
    body = slash_command_body("/notice", text, user_id=user, response_url=fake.url + "hook")
    return await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))


async def test_publish_acknowledge_edit_remind_export(
    org: Deps,
    client: httpx.AsyncClient,
    slack: FakeSlack,
    send: Send,
    publish: Publish,
    drain: Drain,
    clock: FixedClock,
    team_ids: dict[str, int],
) -> None:
    # /notice new opens the modal with the manager's two teams to choose from.
    assert (await slash(client, slack, MANAGER, "new")).status_code == 200
    (opened,) = await slack.wait_for("views.open")
    modal = view_of(opened.body)
    audience = next(b for b in modal["blocks"] if b.get("block_id") == "notice.audience")
    assert {o["text"]["text"] for o in audience["element"]["options"]} == {"Team Alpha", "Team Bravo"}

    # Publish: one post per audience team, through the outbox, each with its own team's count.
    notice_id = await publish()
    await drain()
    (alpha_post,) = slack.posted("C0ALPHA01")
    (bravo_post,) = slack.posted("C0BRAVO01")
    assert alpha_post.body["blocks"][0]["text"]["text"] == f"📣 {TITLE}"
    assert count_text(alpha_post.body) == "*0/3 acknowledged*" and count_text(bravo_post.body) == "*0/1 acknowledged*"
    button = alpha_post.body["blocks"][-2]["elements"][0]
    assert button["value"] == f"{notice_id}:1" and button["action_id"] == "notice.ack"

    # Thandi acknowledges twice and the payload is replayed: one acknowledgement, three answers.
    t1 = clock.now()
    for _ in range(3):
        assert (await send(click(AGENT_1, f"{notice_id}:1", slack))).status_code == 200
    hooks = await slack.wait_for("webhook:/hook", count=3)
    texts = sorted(h.body["text"] for h in hooks)
    assert texts[0].startswith("You already acknowledged this on Wed 18 Nov at 14:30") and texts[1] == texts[0]
    assert texts[2] == f"✅ Thanks, Thandi — your acknowledgement of *{TITLE}* (v1) is recorded (Wed 18 Nov at 14:30)."
    assert all(h.body["response_type"] == "ephemeral" for h in hooks)
    async with org.sessions() as session:
        assert len((await session.execute(select(NoticeAck))).scalars().all()) == 1

    # The channel message is updated in place with the new count.
    await drain()
    alpha_post = slack.posted("C0ALPHA01")[0]
    assert count_text(alpha_post.body) == "*1/3 acknowledged*"
    assert len(alpha_post.edits) == 1

    # A material edit: a new version, earlier acknowledgements stay on record for v1, Thandi is asked again.
    advance_to = clock.now() + timedelta(hours=1)
    clock.set(advance_to)
    await slash(client, slack, MANAGER, f"edit {notice_id}")
    opened = (await slack.wait_for("views.open", count=2))[-1]
    assert view_of(opened.body)["private_metadata"] == edit_meta(notice_id, 1)
    resp = await send(submission(MANAGER, form_values(body=NEW_BODY), edit_meta(notice_id, 1)))
    assert resp.json()["response_action"] == "update"
    await drain()
    alpha_msgs = slack.posted("C0ALPHA01")
    assert len(alpha_msgs) == 2
    old, new = alpha_msgs
    assert "Replaced by version 2" in str(old.body["blocks"]) and "notice.ack" not in str(old.body["blocks"])
    assert count_text(new.body) == "*0/3 acknowledged*" and NEW_BODY in str(new.body["blocks"])
    (reack,) = slack.posted(slack.dm_channel(AGENT_1))
    assert "has changed (v1 → v2)" in str(reack.body["blocks"])
    assert reack.body["blocks"][-1]["elements"][0]["value"] == f"{notice_id}:2"

    # The old button now explains; Sipho acknowledges v2; a lead and a stranger are politely refused.
    slack.calls.clear()
    t2 = clock.now()
    await send(click(AGENT_1, f"{notice_id}:1", slack))
    await send(click(AGENT_2, f"{notice_id}:2", slack))
    await send(click(ALPHA_LEAD, f"{notice_id}:2", slack))
    await send(click(STRANGER, f"{notice_id}:2", slack))
    texts = sorted(h.body["text"] for h in await slack.wait_for("webhook:/hook", count=4))
    assert texts[0].startswith("I don't know you yet")
    assert texts[1].startswith("Thanks — acknowledgements are for the agents")
    assert texts[2].startswith("This version has been replaced by version 2.")
    assert texts[3].startswith("✅ Thanks, Sipho")

    # Reminders: a day before the deadline, to the outstanding only — Thandi and Bob; Ayesha is on leave.
    async with org.sessions() as session:
        ayesha = await member_by(session, email="ayesha@example.com")
        assert ayesha
        await add_leave(session, ayesha.id, datetime(2026, 11, 19).date(), datetime(2026, 11, 20).date())
        await session.commit()
    await drain()
    slack.calls.clear()
    clock.set(DEADLINE - timedelta(hours=24) + timedelta(minutes=1))
    t3 = clock.now()
    result = await run_notice_tick(org)
    assert result.reminded == 2 and result.skipped_on_leave == 1
    assert (await run_notice_tick(org)).reminded == 0  # once only
    await drain()
    reminded = {c.body["channel"] for c in slack.calls_to("chat.postMessage")}
    assert reminded == {slack.dm_channel(AGENT_1), slack.dm_channel(BRAVO_AGENT)}
    assert slack.dm_channel(AGENT_2) not in reminded and slack.dm_channel(AGENT_3) not in reminded

    # The export: CSV uploaded to the manager's DM, row for row.
    slack.calls.clear()
    resp = await slash(client, slack, MANAGER, f"export {notice_id}")
    assert await answer_text(resp, slack) == f"📎 I've sent you the CSV for notice #{notice_id} (5 rows) in a DM."
    (complete,) = slack.calls_to("files.completeUploadExternal")
    assert complete.body["channel_id"] == slack.dm_channel(MANAGER)
    (upload,) = slack._uploads.values()  # the fake keeps the uploaded bytes
    h1 = content_hash(NoticeContent(TITLE, BODY, None, EFFECTIVE))
    h2 = content_hash(NoticeContent(TITLE, NEW_BODY, None, EFFECTIVE))

    def iso(at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    expected = [
        "notice,title,version,content_hash,team,member,email,acknowledged_at,reminded_at,on_leave",
        f"{notice_id},{TITLE},1,{h1},Team Alpha,Thandi Nkosi,thandi@example.com,{iso(t1)},,",
        f"{notice_id},{TITLE},2,{h2},Team Alpha,Ayesha Pillay,ayesha@example.com,outstanding,,yes",
        f"{notice_id},{TITLE},2,{h2},Team Alpha,Sipho Dlamini,sipho@example.com,{iso(t2)},,",
        f"{notice_id},{TITLE},2,{h2},Team Alpha,Thandi Nkosi,thandi@example.com,outstanding,{iso(t3)},",
        f"{notice_id},{TITLE},2,{h2},Team Bravo,Bob Brown,bob@example.com,outstanding,{iso(t3)},",
    ]
    assert upload["bytes"].decode("utf-8").splitlines() == expected
    async with org.sessions() as session:
        versions = (await session.execute(select(NoticeVersion))).scalars().all()
        posts = (await session.execute(select(NoticePost))).scalars().all()
    assert [(v.number, v.material, v.ack_number) for v in sorted(versions, key=lambda v: v.number)] == [
        (1, True, 1),
        (2, True, 2),
    ]
    assert len(posts) == 4  # two teams × two material versions
