"""Minor fixes keep acknowledgements and update the post in place; what status, list and the huddle contract
show."""

from __future__ import annotations

from datetime import date, timedelta

import httpx
from sqlalchemy import select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.notices import NoticeDue
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.services.notice_reminders import run_notice_tick
from bot.store.leave import add_leave
from bot.store.notice_tables import NoticeVersion
from bot.store.notices import awaiting_for_team
from bot.store.org import member_by
from tests.conftest import SECRET
from tests.notices.helpers import BODY, DEADLINE, TITLE, Drain, Publish, Send, click, edit_meta, form_values, submission
from tests.support.org import AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD, MANAGER


async def _ask(client: httpx.AsyncClient, fake: FakeSlack, user: str, text: str) -> dict[str, object]:
    body = slash_command_body("/notice", text, user_id=user, response_url=fake.url + "hook")
    resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    answer: dict[str, object] = resp.json()
    return answer


async def _ack(send: Send, fake: FakeSlack, user: str, value: str, n: int) -> None:
    await send(click(user, value, fake))
    await fake.wait_for("webhook:/hook", count=n)


async def test_a_minor_fix_keeps_acknowledgements_and_edits_the_post_in_place(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, drain: Drain
) -> None:
    notice_id = await publish(teams=("alpha",))
    await drain()
    await _ack(send, slack, AGENT_1, f"{notice_id}:1", 1)
    fixed = BODY.replace("before you reply", "before replying")
    resp = await send(submission(MANAGER, form_values(body=fixed, minor=True), edit_meta(notice_id, 1)))
    assert resp.json()["response_action"] == "update"
    await drain()
    (post,) = slack.posted("C0ALPHA01")  # no second post
    assert "Corrected in v2" in str(post.body["blocks"]) and "*1/3 acknowledged*" in str(post.body["blocks"])
    assert post.body["blocks"][-2]["elements"][0]["value"] == f"{notice_id}:1"  # the same acknowledgement
    assert slack.posted(slack.dm_channel(AGENT_1)) == []  # nobody asked again
    await _ack(send, slack, AGENT_2, f"{notice_id}:1", 2)  # a click on the corrected post
    hooks = slack.calls_to("webhook:/hook")
    assert "(v2) is recorded" in hooks[-1].body["text"]
    async with org.sessions() as session:
        v2 = (await session.execute(select(NoticeVersion).where(NoticeVersion.number == 2))).scalar_one()
    assert (v2.material, v2.ack_number) == (False, 1)


async def test_a_new_deadline_alone_is_not_material_and_nothing_changed_is_refused(
    org: Deps, publish: Publish, send: Send
) -> None:
    notice_id = await publish()
    resp = await send(submission(MANAGER, form_values(), edit_meta(notice_id, 1)))
    assert resp.json()["errors"] == {"notice.title": "Nothing changed: edit the text, dates or link first."}
    later = DEADLINE + timedelta(days=1)
    resp = await send(submission(MANAGER, form_values(deadline=later), edit_meta(notice_id, 1)))
    assert resp.json()["response_action"] == "update"
    resp = await send(submission(MANAGER, form_values(body="A stale edit."), edit_meta(notice_id, 1)))
    assert resp.json()["errors"]["notice.title"].startswith("Someone else changed this notice")
    async with org.sessions() as session:
        versions = (await session.execute(select(NoticeVersion).order_by(NoticeVersion.number))).scalars().all()
    assert [(v.number, v.material, v.ack_number, v.deadline) for v in versions] == [
        (1, True, 1, DEADLINE),
        (2, False, 1, later),
    ]


async def test_status_shows_names_times_leave_and_reminders_for_the_callers_teams(
    org: Deps, client: httpx.AsyncClient, publish: Publish, send: Send, slack: FakeSlack, clock: FixedClock
) -> None:
    notice_id = await publish()
    await _ack(send, slack, AGENT_1, f"{notice_id}:1", 1)
    async with org.sessions() as session:
        ayesha = await member_by(session, email="ayesha@example.com")
        assert ayesha
        await add_leave(session, ayesha.id, date(2026, 11, 19), date(2026, 11, 20))
        await session.commit()
    clock.set(DEADLINE - timedelta(hours=2))
    await run_notice_tick(org)
    answer = await _ask(client, slack, ALPHA_LEAD, f"status {notice_id}")
    assert answer["response_type"] == "ephemeral"
    text = str(answer["blocks"])
    assert "*Team Alpha* — 1/3 acknowledged" in text
    assert "✅ Thandi Nkosi — Wed 18 Nov 14:30 (v1)" in text
    assert "⏳ Sipho Dlamini — reminded Fri 20 Nov 15:00" in text
    assert "🌴 Ayesha Pillay — on leave" in text
    assert "Team Bravo" not in text and "Bob" not in text  # not her team
    manager = str((await _ask(client, slack, MANAGER, f"status {notice_id}"))["blocks"])
    assert "*Team Bravo* — 0/1 acknowledged" in manager


async def test_list_for_a_lead_and_for_an_agent(
    org: Deps, client: httpx.AsyncClient, publish: Publish, send: Send, slack: FakeSlack
) -> None:
    first = await publish(teams=("alpha",), title="Refunds")
    second = await publish(teams=("bravo",), title="Escalations")
    await _ack(send, slack, AGENT_1, f"{first}:1", 1)
    lead = str((await _ask(client, slack, ALPHA_LEAD, "list"))["blocks"])
    assert f"*#{first}* Refunds · v1" in lead and "1/3 acknowledged" in lead and "Escalations" not in lead
    manager = str((await _ask(client, slack, MANAGER, "list"))["blocks"])
    assert manager.index(f"*#{second}* Escalations") < manager.index(f"*#{first}* Refunds")  # newest first
    agent = str((await _ask(client, slack, AGENT_1, "list"))["blocks"])
    assert "Refunds" in agent and "✅ acknowledged" in agent and "Escalations" not in agent
    other = str((await _ask(client, slack, AGENT_3, "list"))["blocks"])
    assert "please acknowledge" in other


async def test_awaiting_for_team_lists_what_the_huddle_should_mention(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, team_ids: dict[str, int]
) -> None:
    later = await publish(teams=("alpha",), title="Later", deadline=DEADLINE + timedelta(days=2))
    sooner = await publish(teams=("alpha", "bravo"), title=TITLE)
    done = await publish(teams=("alpha",), title="Done", deadline=None)
    for n, user in enumerate((AGENT_1, AGENT_2, AGENT_3), start=1):
        await _ack(send, slack, user, f"{done}:1", n)
    await _ack(send, slack, AGENT_1, f"{sooner}:1", 4)
    async with org.sessions() as session:
        alpha = await awaiting_for_team(session, team_ids["alpha"], org.clock.now())
        bravo = await awaiting_for_team(session, team_ids["bravo"], org.clock.now())
    assert alpha == [
        NoticeDue(sooner, 1, TITLE, DEADLINE, outstanding=2, audience=3, effective_on=date(2026, 11, 23)),
        NoticeDue(later, 1, "Later", DEADLINE + timedelta(days=2), 3, 3, date(2026, 11, 23)),
    ]
    assert [(d.notice_id, d.outstanding) for d in bravo] == [(sooner, 1)]
