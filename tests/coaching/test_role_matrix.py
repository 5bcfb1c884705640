"""Who may do what with coaching data, over every command, action, view and the export.

Thandi (an alpha agent): allowed are alpha's leads (Lindiwe, and Colin, a co-lead), the manager over both teams
and admins; Thandi herself reads her own shared record and acknowledges her own sessions and plans. Refused:
bravo's lead, another agent, a stranger. A lead's record (Lindiwe's) is for her manager and admins only, never
a fellow lead; a manager's record is for admins only. Every allowed call must succeed (the expected answer, or
a form opened), and every refusal must leave the coaching tables, the audit log and the outbox as they were.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from bot.blocks.coaching import read_session_form
from bot.blocks.coaching_pip import read_plan_form
from bot.blocks.ids import ActionId
from bot.deps import Deps
from bot.domain.errors import UserFacingError
from bot.sandbox.fake_slack import FakeSlack
from bot.services.coaching import save_session
from bot.services.coaching_jobs import run_coaching_follow_ups
from bot.services.coaching_privacy import export_member
from bot.services.pip import save_plan
from bot.store.coaching_tables import CoachingActionItem, CoachingSession, ImprovementPlan
from bot.store.org import member_by, team_by_key
from bot.store.tables import Member, Outbox, TeamOversight
from tests.coaching.conftest import THANDI, Interact, button, fingerprint, plan_submit, session_submit, session_values
from tests.conftest import SlashCommand
from tests.support.org import ADMIN, AGENT_1, AGENT_2, ALPHA_LEAD, BRAVO_LEAD, MANAGER, STRANGER

CO_LEAD = "UCOLEAD001"
SIPHO = "<@UAGENT0002|sipho>"
EMAILS = {
    ALPHA_LEAD: "lead.alpha@example.com",
    CO_LEAD: "colead.alpha@example.com",
    BRAVO_LEAD: "lead.bravo@example.com",
    MANAGER: "ops@example.com",
    ADMIN: "admin@example.com",
    AGENT_1: "thandi@example.com",  # the agent herself
    AGENT_2: "sipho@example.com",  # another agent on her team
    STRANGER: "stranger@example.com",  # on no roster
}
ACTORS = tuple(EMAILS)
LEADERS = {ALPHA_LEAD, CO_LEAD, MANAGER, ADMIN}
EVERYONE = set(ACTORS) - {STRANGER}
REFUSALS = (
    "isn't in a team you lead",
    "coaching records are private",
    "Only team leaders and managers",
    "I don't know you yet",
    "Only the agent this",
    "can't log or change it yourself",
    "is not an active person on the roster",
    "is a team leader",
    "doesn't lead a team you manage",
    "only an admin can see",
)


@dataclass
class World:
    deps: Deps
    slash: SlashCommand
    interact: Interact
    fake: FakeSlack
    thandi: int
    session_id: int
    item_id: int
    plan_id: int
    ids: dict[str, int] = field(default_factory=dict)  # Slack id → member id
    days: itertools.count[int] = field(default_factory=itertools.count)


@pytest.fixture
async def world(org: Deps, slash: SlashCommand, interact: Interact, fake_slack: FakeSlack) -> World:
    async with org.sessions() as session:
        alpha = await team_by_key(session, "alpha")
        assert alpha is not None
        colin = Member(email=EMAILS[CO_LEAD], name="Colin Colead", slack_user_id=CO_LEAD, team_id=alpha.id, role="lead")
        session.add(colin)
        await session.flush()
        assert colin.id is not None
        session.add(TeamOversight(team_id=alpha.id, member_id=colin.id))
        await session.commit()
        ids = {u: m.id for u in ACTORS if (m := await member_by(session, slack_user_id=u)) is not None}
    thandi = ids[AGENT_1]
    meta = json.dumps({"member_id": thandi})
    saved = await save_session(
        org, user_id=ALPHA_LEAD, form=read_session_form(meta, session_values(actions="Read the macro"))
    )
    assert saved.view is not None
    assert (await save_plan(org, user_id=ALPHA_LEAD, form=_plan_form(thandi))).view is not None
    async with org.sessions() as session:
        (row,) = (await session.execute(select(CoachingSession))).scalars().all()
        (item,) = (await session.execute(select(CoachingActionItem))).scalars().all()
        (plan,) = (await session.execute(select(ImprovementPlan))).scalars().all()
    assert row.id and item.id and plan.id
    return World(org, slash, interact, fake_slack, thandi, row.id, item.id, plan.id, ids)


def _plan_form(member_id: int) -> object:
    values = plan_submit(ALPHA_LEAD, member_id, goals="CSAT | ≥ 85%", reviews="2026-11-25", end=date(2026, 12, 16))
    return read_plan_form(json.dumps({"member_id": member_id, "plan_id": None}), values["view"]["state"]["values"])


async def _outcome(w: World, send: Callable[[], Awaitable[str]]) -> str:
    """What the user is told, or "opened" when a modal opened (listeners may finish after the ack)."""
    hooks, opens = len(w.fake.calls_to("webhook:/hook")), len(w.fake.calls_to("views.open"))
    said = await send()
    for _ in range(200):
        if said or len(w.fake.calls_to("views.open")) > opens or len(w.fake.calls_to("webhook:/hook")) > hooks:
            break
        await asyncio.sleep(0.01)
    if len(w.fake.calls_to("views.open")) > opens:
        return "opened"
    new = w.fake.calls_to("webhook:/hook")[hooks:]
    return said + " ".join(str(h.body.get("text", "")) for h in new)


Run = Callable[[World, str], Awaitable[str]]


def _slash(command: str, text: str, before: Callable[[World], Awaitable[None]] | None = None) -> Run:
    async def run(w: World, user: str) -> str:
        if before is not None:
            await before(w)

        async def send() -> str:
            extend = date(2027, 1, 10) + timedelta(days=next(w.days))  # each extension a later date
            resp = await w.slash(user, text.format(item=w.item_id, extend=extend), command=command)
            return str(resp.json().get("text", "")) if resp.content else ""

        return await _outcome(w, send)

    return run


async def _fresh_item(w: World) -> None:
    """Before an allowed user closes the item: a new one when a previous allowed user closed it already."""
    async with w.deps.sessions() as session:
        item = await session.get(CoachingActionItem, w.item_id)
        assert item is not None
        if item.done_at is None:
            return
        fresh = CoachingActionItem(session_id=item.session_id, member_id=item.member_id, text="Again", owner="agent")
        session.add(fresh)
        await session.commit()
        assert fresh.id is not None
        w.item_id = fresh.id


async def _active_plan(w: World) -> None:
    """Before an allowed user passes or closes the plan: a new plan when a previous allowed user finished it."""
    async with w.deps.sessions() as session:
        plan = await session.get(ImprovementPlan, w.plan_id)
    if plan is not None and plan.status in ("open", "extended"):
        return
    assert (await save_plan(w.deps, user_id=ALPHA_LEAD, form=_plan_form(w.thandi))).view is not None  # type: ignore[arg-type]
    async with w.deps.sessions() as session:
        newest = (await session.execute(select(ImprovementPlan).order_by(ImprovementPlan.id.desc()))).scalars().first()  # type: ignore[union-attr]
    assert newest is not None and newest.id is not None
    w.plan_id = newest.id


def _submit(member: Callable[[World], int | None], **fields: object) -> Run:
    async def run(w: World, user: str) -> str:
        return (await w.interact(session_submit(user, member(w), **fields))).text

    return run


async def _plan_submit(w: World, user: str) -> str:
    payload = plan_submit(
        user, w.thandi, plan_id=w.plan_id, goals="CSAT | ≥ 90%", reviews="2026-11-25", end=date(2026, 12, 20)
    )
    return (await w.interact(payload)).text


def _button(action: str, value: Callable[[World], str]) -> Run:
    async def run(w: World, user: str) -> str:
        async def send() -> str:
            # The agent's own click answers twice (the DM replaced, then a note); a refusal answers once.
            expected = len(w.fake.calls_to("webhook:/hook")) + (2 if user == AGENT_1 else 1)
            await w.interact(button(user, action, value(w), w.fake))
            await w.fake.wait_for("webhook:/hook", count=expected)
            return ""

        return await _outcome(w, send)

    return run


def _export(email: str) -> Run:
    async def run(w: World, user: str) -> str:
        try:
            result = await export_member(w.deps, email=email, requested_by=EMAILS[user])
        except UserFacingError as exc:
            return exc.message
        return f"exported {sum(result.counts.values())} rows"

    return run


def _pip_me(user: str) -> str:
    return "Improvement plan: Thandi Nkosi" if user == AGENT_1 else "has no improvement plan"


# operation → (run, who is allowed, what an allowed user must be told: text, or "opened" for a modal)
OPERATIONS: dict[str, tuple[Run, set[str], str | Callable[[str], str]]] = {
    "/1on1 @agent": (_slash("/1on1", THANDI), LEADERS, "opened"),
    "/1on1 history @agent": (_slash("/1on1", f"history {THANDI}"), LEADERS | {AGENT_1}, "Coaching history: Thandi"),
    "/1on1 due": (_slash("/1on1", "due"), LEADERS | {BRAVO_LEAD}, "Coaching due"),  # bravo's: bravo only (below)
    "/1on1 done ITEM": (_slash("/1on1", "done {item}", _fresh_item), LEADERS, "✅ Closed `#"),
    "/pip open @fresh agent": (_slash("/pip", f"open {SIPHO}"), LEADERS, "opened"),
    "/pip edit @agent": (_slash("/pip", f"edit {THANDI}"), LEADERS, "opened"),
    "/pip @agent": (_slash("/pip", THANDI), LEADERS | {AGENT_1}, "Improvement plan: Thandi Nkosi"),
    "/pip me": (_slash("/pip", "me"), EVERYONE, _pip_me),
    "/pip extend @agent": (_slash("/pip", f"extend {THANDI} {{extend}}"), LEADERS, "improvement plan"),
    "/pip pass @agent": (_slash("/pip", f"pass {THANDI}", _active_plan), LEADERS, "marked passed"),
    "/pip close @agent": (_slash("/pip", f"close {THANDI}", _active_plan), LEADERS, "closed (version"),
    "session modal submit": (_submit(lambda w: w.thandi), LEADERS, "Saved the session with *Thandi Nkosi*"),
    "session modal submit, agent picked": (_submit(lambda w: None, agent=AGENT_1), LEADERS, "Saved the session"),
    "plan modal submit": (_plan_submit, LEADERS, "Saved Thandi Nkosi's improvement plan"),
    "session Acknowledge": (_button(ActionId.COACHING_ACK, lambda w: str(w.session_id)), {AGENT_1}, "acknowledged"),
    "plan Acknowledge": (_button(ActionId.PIP_ACK, lambda w: f"{w.plan_id}:1"), {AGENT_1}, "acknowledged"),
    "export (CLI --by)": (_export("thandi@example.com"), LEADERS, "exported"),
}


async def _check(w: World, operation: str, run: Run, allowed: set[str], expect: str | Callable[[str], str]) -> None:
    for user in sorted(ACTORS, key=lambda u: u in allowed):  # refusals first, on the untouched database
        before = await fingerprint(w.deps)
        said = await run(w, user)
        refused = any(r in said for r in REFUSALS)
        if user in allowed:
            wanted = expect(user) if callable(expect) else expect
            assert not refused and wanted in said, f"{operation}: {user} should succeed ({wanted!r}); got {said!r}"
        else:
            assert refused, f"{operation}: {user} should be refused; was told {said!r}"
            assert await fingerprint(w.deps) == before, f"{operation}: {user}'s refusal changed the database"


@pytest.mark.parametrize("operation", OPERATIONS)
async def test_role_matrix(world: World, operation: str) -> None:
    run, allowed, expect = OPERATIONS[operation]
    await _check(world, operation, run, allowed, expect)
    if operation == "/1on1 due":
        said = await run(world, BRAVO_LEAD)
        assert "Bob Brown" in said or "Team Bravo" in said
        assert "Thandi" not in said and "Sipho" not in said


def _about(subject: str, email: str) -> dict[str, tuple[Run, str]]:
    """The operations on one person's record, and what an allowed user is told."""
    mention = f"<@{subject}|x>"
    return {
        "/1on1 @person": (_slash("/1on1", mention), "opened"),
        "/1on1 history @person": (_slash("/1on1", f"history {mention}"), "Coaching history"),
        "/pip open @person": (_slash("/pip", f"open {mention}"), "opened"),
        "session modal submit": (_submit(lambda w: w.ids[subject]), "Saved the session"),
        "export (CLI --by)": (_export(email), "exported"),
    }


# A lead's record: their manager and admins only (never a fellow lead); a manager's record: admins only.
SUBJECTS = {ALPHA_LEAD: {MANAGER, ADMIN}, MANAGER: {ADMIN}}


@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize("operation", _about(ALPHA_LEAD, ""))
async def test_role_matrix_for_leaders_records(world: World, subject: str, operation: str) -> None:
    run, expect = _about(subject, EMAILS[subject])[operation]
    allowed = SUBJECTS[subject] | ({subject} if "history" in operation else set())  # their own shared view
    await _check(world, f"{operation} ({subject})", run, allowed, expect)


async def test_the_agent_never_sees_private_notes_in_any_view(world: World) -> None:
    """Every payload that reaches the agent (or leaves in a DM): her history, her plan, the session and plan DMs,
    the re-rendered DMs and notes her Acknowledge clicks get back, and the lead's follow-up DM."""
    secret = "Private: discussed a disciplinary warning."
    saved = await world.interact(session_submit(ALPHA_LEAD, world.thandi, notes=secret, follow_up=date(2026, 11, 20)))
    assert saved.json()["response_action"] == "update"
    async with world.deps.sessions() as session:
        newest = (await session.execute(select(CoachingSession).order_by(CoachingSession.id.desc()))).scalars().first()  # type: ignore[union-attr]
    assert newest is not None and newest.private_notes is not None
    shown: list[str] = []
    for command, text in (("/1on1", f"history {THANDI}"), ("/1on1", "history"), ("/1on1", "history me 10")):
        shown.append((await world.slash(AGENT_1, text, command=command)).text)
    for text in ("", "me", THANDI):
        shown.append((await world.slash(AGENT_1, text, command="/pip")).text)
    hooks = len(world.fake.calls_to("webhook:/hook"))
    for action, value in ((ActionId.COACHING_ACK, str(newest.id)), (ActionId.PIP_ACK, f"{world.plan_id}:1")):
        for _ in range(2):  # the acknowledgement, then a repeat (the DM re-rendered again)
            hooks += 2
            await world.interact(button(AGENT_1, action, value, world.fake))
            await world.fake.wait_for("webhook:/hook", count=hooks)
    shown += [json.dumps(h.body, ensure_ascii=False) for h in world.fake.calls_to("webhook:/hook")]
    world.deps.clock.set(datetime(2026, 11, 20, 9, 30, tzinfo=ZoneInfo("Africa/Johannesburg")))  # type: ignore[attr-defined]
    assert await run_coaching_follow_ups(world.deps) == 1
    async with world.deps.sessions() as session:
        outbox = list((await session.execute(select(Outbox))).scalars())
    kinds = {o.idempotency_key.split(":")[1] for o in outbox}
    assert kinds == {"session", "plan", "follow-up"}, kinds  # session DMs, plan DM, the lead's follow-up DM
    shown += [json.dumps(o.payload, ensure_ascii=False) for o in outbox]
    assert len(shown) >= 12
    for text in shown:
        assert secret not in text and "disciplinary" not in text
    lead = await world.slash(MANAGER, f"history {THANDI}", command="/1on1")
    assert "disciplinary warning" in lead.text  # it is there, for her leaders
