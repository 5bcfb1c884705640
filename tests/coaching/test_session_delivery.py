"""Getting a session form open and a session delivered, as Slack behaves: a form opened within the trigger's
3 seconds (or a "Loading…" modal filled in later), an expired trigger, a resubmitted modal (one session, one DM),
every word of a maximum-length session in the agent's DM, and user text that can't ping or disguise links."""

from __future__ import annotations

import asyncio
import html
import json
import re
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.blocks.kit import MAX_HEADER_TEXT, MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.deps import Deps
from bot.domain import coaching as rules
from bot.handlers import coaching as handler
from bot.sandbox.fake_slack import FakeSlack
from bot.store.coaching_tables import CoachingSession
from bot.store.org import member_by
from bot.store.tables import AuditEvent, Outbox
from tests.coaching.conftest import THANDI, Interact, fingerprint, session_submit, view_of
from tests.conftest import SlashCommand
from tests.support.org import AGENT_1, ALPHA_LEAD, BRAVO_LEAD


async def thandi_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        member = await member_by(session, slack_user_id=AGENT_1)
    assert member is not None
    return member.id


async def audit_actions(deps: Deps) -> list[str]:
    async with deps.sessions() as session:
        return [a.action for a in (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()]  # type: ignore[arg-type]


async def dms(deps: Deps) -> list[Outbox]:
    async with deps.sessions() as session:
        return list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())  # type: ignore[arg-type]


async def test_a_slow_form_opens_as_loading_at_once_and_is_filled_in(
    org: Deps, slash: SlashCommand, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler, "FORM_BUDGET_SECONDS", 0)  # as if the database were slow
    fake_slack.replies["views.open"] = {"ok": True, "view": {"id": "VLOADING1"}}
    await slash(ALPHA_LEAD, THANDI, command="/1on1")
    (opened,) = await fake_slack.wait_for("views.open")
    (updated,) = await fake_slack.wait_for("views.update")
    assert view_of(opened.body)["title"]["text"] == "Loading…"
    assert updated.body["view_id"] == "VLOADING1" and "Thandi Nkosi" in json.dumps(view_of(updated.body))
    for _ in range(100):  # the read is audited once the form is on screen
        if await audit_actions(org):
            break
        await asyncio.sleep(0.01)
    assert await audit_actions(org) == ["coaching.form.open"]


async def test_a_slow_refusal_replaces_the_loading_modal_and_changes_nothing(
    org: Deps, slash: SlashCommand, fake_slack: FakeSlack, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(handler, "FORM_BUDGET_SECONDS", 0)
    fake_slack.replies["views.open"] = {"ok": True, "view": {"id": "VLOADING2"}}
    before = await fingerprint(org)
    await slash(BRAVO_LEAD, THANDI, command="/1on1")
    (updated,) = await fake_slack.wait_for("views.update")
    assert "isn't in a team you lead" in json.dumps(view_of(updated.body)) and "submit" not in view_of(updated.body)
    assert await fingerprint(org) == before


async def test_an_expired_trigger_gets_a_clear_message_and_no_audit(
    org: Deps, slash: SlashCommand, fake_slack: FakeSlack
) -> None:
    fake_slack.fail_next("views.open", error="expired_trigger_id")
    before = await fingerprint(org)
    await slash(ALPHA_LEAD, THANDI, command="/1on1")
    (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert hook.body["text"] == handler.EXPIRED
    assert await fingerprint(org) == before  # the form never showed: nothing was read, nothing audited


async def test_a_resubmitted_session_saves_once_and_dms_once(org: Deps, interact: Interact) -> None:
    payload = session_submit(ALPHA_LEAD, await thandi_id(org), actions="Read the macro")
    first = (await interact(payload)).json()
    # Slack timed out on a slow save and the lead pressed Save again; then a third press while it is all racing.
    again, *racing = await asyncio.gather(*(interact(payload) for _ in range(3)))
    assert first["response_action"] == "update" and "Saved the session" in json.dumps(first)
    assert all(r.json() == first for r in (again, *racing))  # the same saved screen, same session number
    async with org.sessions() as session:
        count = (await session.execute(select(func.count()).select_from(CoachingSession))).scalar_one()
    assert count == 1 and len(await dms(org)) == 1
    assert (await audit_actions(org)).count("coaching.session.create") == 1
    # A changed form from the same modal is a new submission (the lead corrected something): saved.
    changed = session_submit(ALPHA_LEAD, await thandi_id(org), summary="A different summary.")
    assert (await interact(changed)).json()["response_action"] == "update" and len(await dms(org)) == 2


def _texts(payload: dict[str, Any]) -> list[str]:
    out = []
    for block in payload["blocks"]:
        if block["type"] in ("section", "header"):
            out.append(block["text"]["text"])
        elif block["type"] == "context":
            out += [e["text"] for e in block["elements"]]
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _check_limits(payload: dict[str, Any]) -> None:
    assert len(payload["blocks"]) <= MAX_MESSAGE_BLOCKS and len(payload["text"]) <= 3000
    for block in payload["blocks"]:
        if block["type"] == "section":
            assert len(block["text"]["text"]) <= MAX_SECTION_TEXT
        if block["type"] == "header":
            assert len(block["text"]["text"]) <= MAX_HEADER_TEXT


NASTY = "Q&A <ok> & <@U1> "  # every character that grows when escaped, and spaces to cut at


def _long(n: int, seed: str = NASTY) -> str:
    return (seed * (n // len(seed) + 1))[:n].strip() + "."


async def test_every_word_of_a_maximum_length_session_reaches_the_agent(org: Deps, interact: Interact) -> None:
    summary, strengths, improve = _long(rules.SUMMARY_MAX - 1), _long(rules.STRENGTHS_MAX - 1), _long(999, "x&y ")
    actions = [_long(rules.ACTION_TEXT_MAX - 12, f"do{n}<&> ") for n in range(rules.MAX_ACTIONS)]
    actions_text = "\n".join(f"{a} | agent" for a in actions)
    assert len(actions_text) <= rules.ACTIONS_MAX
    resp = await interact(
        session_submit(
            ALPHA_LEAD,
            await thandi_id(org),
            summary=summary,
            strengths=strengths,
            improve=improve,
            actions=actions_text,
            notes=_long(rules.NOTES_MAX - 1),
        )
    )
    assert resp.json()["response_action"] == "update", resp.text
    (dm,) = await dms(org)
    _check_limits(dm.payload)
    shown = _squash(html.unescape("\n".join(_texts(dm.payload))))
    for text in (summary, strengths, improve, *actions):
        assert _squash(text) in shown, text[:40]
    assert "<@U1>" not in "".join(_texts(dm.payload))  # escaped: it can't ping anyone


async def test_user_text_is_escaped_so_it_cannot_ping_or_disguise_a_link(org: Deps, interact: Interact) -> None:
    summary = "Great week <!channel> — see <https://evil.example|the policy> & AHT < 420s"
    await interact(session_submit(ALPHA_LEAD, await thandi_id(org), summary=summary, actions="Read <b> & co"))
    (dm,) = await dms(org)
    shown = json.dumps(dm.payload, ensure_ascii=False)
    assert "<!channel>" not in shown and "<https://evil" not in shown
    assert "&lt;!channel&gt;" in shown and "&amp; AHT &lt; 420s" in shown and "Read &lt;b&gt; &amp; co" in shown


async def test_a_long_history_shows_whole_sessions_and_says_what_did_not_fit(
    org: Deps, interact: Interact, slash: SlashCommand
) -> None:
    big = {"summary": _long(rules.SUMMARY_MAX - 1), "improve": _long(999), "notes": _long(rules.NOTES_MAX - 1)}
    for n in range(6):
        resp = await interact(session_submit(ALPHA_LEAD, await thandi_id(org), strengths=f"Session {n}", **big))
        assert resp.json()["response_action"] == "update"
    reply = (await slash(ALPHA_LEAD, f"history {THANDI} 10", command="/1on1")).json()
    _check_limits(reply)
    shown = html.unescape("\n".join(_texts(reply)))
    whole = [n for n in range(6) if f"Session {n}" in shown]
    assert whole == list(range(5, 5 - len(whole), -1))[::-1] and len(whole) < 6  # the newest, whole
    assert f"{6 - len(whole)} older session(s) didn't fit" in shown
    assert shown.count(_long(rules.SUMMARY_MAX - 1)[-60:]) == len(whole)  # each shown session's summary in full
