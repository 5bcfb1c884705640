"""/1on1 end to end: the form, field errors, saving (evidence, encrypted notes, the agent's DM, audit), the
agent's Acknowledge, history for the lead and for the agent, what's due, closing an action item."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime

import httpx
import pytest
from sqlalchemy import select, text

from bot.blocks.coaching import read_session_form
from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.deps import Deps, build_deps
from bot.sandbox.fake_slack import FakeSlack
from bot.services.coaching import save_session, session_form
from bot.store.coaching_tables import CoachingActionItem, CoachingSession
from bot.store.leave import add_leave
from bot.store.org import member_by, team_by_key
from bot.store.tables import AuditEvent, Outbox
from tests.coaching.conftest import (
    THANDI,
    Interact,
    button,
    fingerprint,
    session_submit,
    session_values,
    view_of,
)
from tests.conftest import SlashCommand
from tests.support.kpis import add_samples, sample
from tests.support.org import AGENT_1, AGENT_2, ALPHA_LEAD, BRAVO_AGENT

NOTE = "Mentioned a family illness; check in gently."
ACTIONS = "Shadow Sipho on refunds | agent | 2026-11-25\nSend the refund checklist | lead | 2026-11-20\n"


async def thandi_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        member = await member_by(session, slack_user_id=AGENT_1)
    assert member is not None
    return member.id


async def audits(deps: Deps) -> list[AuditEvent]:
    async with deps.sessions() as session:
        return list((await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars())  # type: ignore[arg-type]


async def save(interact: Interact, deps: Deps, **fields: object) -> httpx.Response:
    return await interact(session_submit(ALPHA_LEAD, await thandi_id(deps), **fields))


async def test_lead_opens_the_form_for_their_agent(org: Deps, slash: SlashCommand, fake_slack: FakeSlack) -> None:
    resp = await slash(ALPHA_LEAD, THANDI, command="/1on1")
    assert resp.status_code == 200
    (opened,) = await fake_slack.wait_for("views.open")
    view = view_of(opened.body)
    assert view["callback_id"] == CallbackId.COACHING_FORM
    assert json.loads(view["private_metadata"]) == {"member_id": await thandi_id(org)}
    blocks = {b.get("block_id") for b in view["blocks"]}
    assert {BlockId.COACHING_KIND, BlockId.COACHING_SUMMARY, BlockId.COACHING_NOTES, BlockId.COACHING_ACTIONS} <= blocks
    assert "Thandi Nkosi" in json.dumps(view) and "no sessions logged yet" in json.dumps(view)
    for _ in range(100):  # audited once Slack has the form on screen, just after views.open answers
        if await audits(org):
            break
        await asyncio.sleep(0.01)
    assert [(a.action, a.subject) for a in await audits(org)] == [
        ("coaching.form.open", f"member:{await thandi_id(org)}")
    ]


async def test_field_errors_come_back_in_the_modal_and_nothing_is_saved(org: Deps, interact: Interact) -> None:
    before = await fingerprint(org)
    resp = await save(
        interact,
        org,
        held_on=date(2026, 11, 19),
        summary="  ",
        actions="Do the thing | someday",
        follow_up=date(2026, 11, 1),
    )
    body = resp.json()
    assert body["response_action"] == "errors"
    assert set(body["errors"]) == {
        BlockId.COACHING_DATE,
        BlockId.COACHING_SUMMARY,
        BlockId.COACHING_ACTIONS,
        BlockId.COACHING_FOLLOW_UP,
    }
    assert "Line 1" in body["errors"][BlockId.COACHING_ACTIONS]
    assert await fingerprint(org) == before


async def test_saving_keeps_evidence_encrypts_notes_dms_the_agent_and_audits(org: Deps, interact: Interact) -> None:
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-10", 40, 50),
        sample("csat", "thandi@example.com", "2026-11-17", 8, 10),
    )
    resp = await save(interact, org, notes=NOTE, actions=ACTIONS, follow_up=date(2026, 12, 2))
    body = resp.json()
    assert body["response_action"] == "update" and "Saved the session with *Thandi Nkosi*" in json.dumps(body)
    async with org.sessions() as session:
        (row,) = (await session.execute(select(CoachingSession))).scalars().all()
        items = (await session.execute(select(CoachingActionItem).order_by(CoachingActionItem.id))).scalars().all()  # type: ignore[arg-type]
        raw = (await session.execute(text("SELECT private_notes FROM coaching_session"))).scalar_one()
        (dm,) = (await session.execute(select(Outbox))).scalars().all()
    assert row.kind == "one_on_one" and row.held_on == date(2026, 11, 18) and row.follow_up_on == date(2026, 12, 2)
    # The KPI evidence of the fortnight up to the session: 48/60 = 80%.
    (csat,) = row.evidence["metrics"]
    assert (csat["key"], csat["value"], row.evidence["from"], row.evidence["to"]) == (
        "csat",
        80.0,
        "2026-11-05",
        "2026-11-18",
    )
    # The column holds ciphertext, never the note.
    assert NOTE not in raw and "family" not in raw and raw.startswith("gAAAA")
    assert [(i.text, i.owner, i.due_on) for i in items] == [
        ("Shadow Sipho on refunds", "agent", date(2026, 11, 25)),
        ("Send the refund checklist", "lead", date(2026, 11, 20)),
    ]
    # The agent's DM: the shared parts and an Acknowledge button; never the private notes.
    assert (dm.kind, dm.channel, dm.idempotency_key) == ("dm", AGENT_1, f"coaching:session:{row.id}:dm")
    shown = json.dumps(dm.payload)
    assert "Talked through CSAT dips" in shown and "Shadow Sipho on refunds" in shown
    assert NOTE not in shown and "family" not in shown and ActionId.COACHING_ACK in shown
    (event,) = await audits(org)
    assert (event.actor, event.action, event.subject) == (
        f"slack:{ALPHA_LEAD}",
        "coaching.session.create",
        f"member:{row.member_id}",
    )
    assert event.details == {"session_id": row.id, "kind": "one_on_one", "action_items": 2, "private_notes": True}


async def test_the_agent_acknowledges_once_however_often_they_click(
    org: Deps, interact: Interact, fake_slack: FakeSlack
) -> None:
    await save(interact, org)
    async with org.sessions() as session:
        (row,) = (await session.execute(select(CoachingSession))).scalars().all()
    for _ in range(3):
        await interact(button(AGENT_1, ActionId.COACHING_ACK, str(row.id), fake_slack))
    hooks = await fake_slack.wait_for("webhook:/hook", count=6)
    replaced = [h.body for h in hooks if h.body.get("replace_original") in (True, "true")]
    assert len(replaced) == 3 and all("You acknowledged this" in json.dumps(b) for b in replaced)
    said = sorted(h.body["text"] for h in hooks if h.body.get("replace_original") in (False, "false"))
    assert said[0] == "Thanks — acknowledged." and all(s.startswith("You already acknowledged") for s in said[1:])
    async with org.sessions() as session:
        acked = await session.get(CoachingSession, row.id)
    assert acked is not None and acked.acknowledged_at == datetime(2026, 11, 18, 12, 30, tzinfo=UTC)
    actions = [a.action for a in await audits(org)]
    # Once acknowledged; each repeat click shows the record again: a read, audited as one.
    assert actions.count("coaching.session.ack") == 1 and actions.count("coaching.session.read") == 2


async def test_history_shows_the_lead_everything_and_the_agent_only_the_shared_parts(
    org: Deps, interact: Interact, slash: SlashCommand
) -> None:
    await save(interact, org, notes=NOTE, actions=ACTIONS)
    lead = (await slash(ALPHA_LEAD, f"history {THANDI} 3", command="/1on1")).json()
    assert lead["response_type"] == "ephemeral"
    assert NOTE in json.dumps(lead, ensure_ascii=False) and "Talked through CSAT dips" in json.dumps(lead)
    mine = (await slash(AGENT_1, "history", command="/1on1")).json()
    shown = json.dumps(mine, ensure_ascii=False)
    assert "Talked through CSAT dips" in shown and "Shadow Sipho on refunds" in shown
    assert NOTE not in shown and "Private notes" not in shown
    reads = [(a.actor, a.action, a.details) for a in await audits(org) if a.action == "coaching.history.read"]
    assert reads == [
        (f"slack:{ALPHA_LEAD}", "coaching.history.read", {"sessions": 1, "private_notes": True}),
        (f"slack:{AGENT_1}", "coaching.history.read", {"sessions": 1, "private_notes": False}),
    ]


async def test_due_lists_follow_ups_actions_and_agents_outside_the_cadence(
    org: Deps, interact: Interact, slash: SlashCommand
) -> None:
    # Thandi: a 1:1 20 days ago with a follow-up 3 days ago and an action overdue since the 10th.
    await save(
        interact,
        org,
        held_on=date(2026, 10, 29),
        actions="Shadow Sipho on refunds | 2026-11-10\nRead the new macro | 2026-12-01",
        follow_up=date(2026, 11, 15),
    )
    async with org.sessions() as session:
        ayesha = await member_by(session, email="ayesha@example.com")
        assert ayesha is not None
        await add_leave(session, ayesha.id, date(2026, 11, 16), date(2026, 11, 20))
        await session.commit()
    reply = (await slash(ALPHA_LEAD, "due", command="/1on1")).json()
    shown = json.dumps(reply, ensure_ascii=False)
    assert "Thandi Nkosi — 3 days overdue" in shown
    assert "Shadow Sipho on refunds" in shown and "8 days overdue" in shown and "Read the new macro" not in shown
    assert "Thandi Nkosi — last 20 days ago" in shown and "Sipho Dlamini — never" in shown
    assert "On leave today (not counted): Ayesha Pillay" in shown and "Bob Brown" not in shown  # bravo isn't hers
    # Each agent the report shows something of is audited by name (a subject access export finds it).
    reads = [(a.subject, a.details) for a in await audits(org) if a.action == "coaching.due.read"]
    async with org.sessions() as session:
        sipho = await member_by(session, slack_user_id=AGENT_2)
        alpha = await team_by_key(session, "alpha")
    assert sipho is not None and alpha is not None
    assert (f"team:{alpha.id}", {"agents": 2}) in reads
    assert sorted(r for r in reads if r[0].startswith("member:")) == sorted(
        [(f"member:{await thandi_id(org)}", {"team_id": alpha.id}), (f"member:{sipho.id}", {"team_id": alpha.id})]
    )


async def test_done_closes_an_action_item_once(org: Deps, interact: Interact, slash: SlashCommand) -> None:
    await save(interact, org, actions="Shadow Sipho on refunds")
    async with org.sessions() as session:
        (item,) = (await session.execute(select(CoachingActionItem))).scalars().all()
    first = (await slash(ALPHA_LEAD, f"done {item.id}", command="/1on1")).json()
    again = (await slash(ALPHA_LEAD, f"done #{item.id}", command="/1on1")).json()
    assert first["text"].startswith(f"✅ Closed `#{item.id}` for Thandi Nkosi")
    assert again["text"] == f"#{item.id} was already closed by Lindiwe Lead; nothing changed."
    missing = (await slash(ALPHA_LEAD, "done 999", command="/1on1")).json()
    assert "There is no action item #999" in missing["text"]
    actions = [a.action for a in await audits(org)]
    assert actions.count("coaching.action.done") == 1 and actions.count("coaching.action.read") == 1


async def test_the_form_without_an_agent_asks_who_and_checks_the_pick(
    org: Deps, slash: SlashCommand, interact: Interact, fake_slack: FakeSlack
) -> None:
    await slash(ALPHA_LEAD, "", command="/1on1")
    (opened,) = await fake_slack.wait_for("views.open")
    assert view_of(opened.body)["blocks"][0]["block_id"] == BlockId.COACHING_AGENT
    before = await fingerprint(org)
    resp = await interact(session_submit(ALPHA_LEAD, None, agent=BRAVO_AGENT))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {
            BlockId.COACHING_AGENT: "Sorry, Bob Brown isn't in a team you lead, "
            "so their coaching record isn't yours to see."
        },
    }
    assert await fingerprint(org) == before
    ok = await interact(session_submit(ALPHA_LEAD, None, agent=AGENT_2))
    assert ok.json()["response_action"] == "update" and "Sipho Dlamini" in ok.text


async def test_a_pip_review_needs_an_open_plan(org: Deps, interact: Interact) -> None:
    resp = await save(interact, org, kind="pip_review")
    assert resp.json()["errors"] == {
        BlockId.COACHING_KIND: "Thandi Nkosi has no open improvement plan; open one with `/pip open`."
    }


@pytest.mark.parametrize("bad", ["/1on1 history @nobody", "/1on1 done twelve", "/1on1 frobnicate"])
async def test_bad_command_text_gets_usage_help(org: Deps, slash: SlashCommand, bad: str) -> None:
    reply = (await slash(ALPHA_LEAD, bad.removeprefix("/1on1 "), command="/1on1")).json()
    assert reply["response_type"] == "ephemeral" and "How to use `/1on1`" in reply["text"]


async def test_without_an_encryption_key_private_notes_are_refused_not_stored_plain(org: Deps) -> None:
    deps = build_deps(org.settings.model_copy(update={"encryption_key": None}), clock=org.clock, engine=org.engine)
    view = (await session_form(deps, user_id=ALPHA_LEAD, slack_user_id=AGENT_1)).view
    assert BlockId.COACHING_NOTES not in {b.get("block_id") for b in view["blocks"]}
    assert "Private notes are off" in json.dumps(view)
    form = read_session_form(json.dumps({"member_id": await thandi_id(org)}), session_values(notes=NOTE))
    result = await save_session(deps, user_id=ALPHA_LEAD, form=form)
    assert result.errors is not None and "RHYTHM_ENCRYPTION_KEY" in result.errors[BlockId.COACHING_NOTES]
    result = await save_session(
        deps,
        user_id=ALPHA_LEAD,
        form=read_session_form(json.dumps({"member_id": await thandi_id(org)}), session_values()),
    )
    assert result.view is not None
    async with org.sessions() as session:
        (row,) = (await session.execute(select(CoachingSession))).scalars().all()
    assert row.private_notes is None
