"""/pip end to end: opening a plan (modal, field errors), the agent acknowledging each version, changes that
need a fresh acknowledgement, status transitions, reviews logged as sessions, and the audit trail."""

from __future__ import annotations

import json
from datetime import date

from sqlalchemy import select

from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store.coaching_tables import CoachingSession, ImprovementPlan, ImprovementPlanVersion
from bot.store.org import member_by
from bot.store.tables import AuditEvent, Outbox
from tests.coaching.conftest import THANDI, Interact, button, fingerprint, plan_submit, session_submit, view_of
from tests.conftest import SlashCommand
from tests.support.org import AGENT_1, ALPHA_LEAD, MANAGER

GOALS = "Raise CSAT | CSAT ≥ 85% over two weeks\nCut handle time | AHT ≤ 7 min"
REVIEWS = "2026-11-25, 2026-12-02"


async def thandi_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        member = await member_by(session, slack_user_id=AGENT_1)
    assert member is not None
    return member.id


async def plan_state(deps: Deps) -> tuple[ImprovementPlan, list[ImprovementPlanVersion], list[Outbox], list[str]]:
    async with deps.sessions() as session:
        (plan,) = (await session.execute(select(ImprovementPlan))).scalars().all()
        versions = list(
            (await session.execute(select(ImprovementPlanVersion).order_by(ImprovementPlanVersion.version))).scalars()  # type: ignore[arg-type]
        )
        dms = list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())  # type: ignore[arg-type]
        actions = [a.action for a in (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()]  # type: ignore[arg-type]
    return plan, versions, dms, actions


async def open_plan(deps: Deps, interact: Interact) -> int:
    resp = await interact(
        plan_submit(ALPHA_LEAD, await thandi_id(deps), goals=GOALS, reviews=REVIEWS, end=date(2026, 12, 16))
    )
    assert resp.json()["response_action"] == "update", resp.text
    plan, *_ = await plan_state(deps)
    assert plan.id is not None
    return plan.id


async def test_open_shows_the_form_and_bad_terms_come_back_as_field_errors(
    org: Deps, slash: SlashCommand, interact: Interact, fake_slack: FakeSlack
) -> None:
    await slash(ALPHA_LEAD, f"open {THANDI}", command="/pip")
    (opened,) = await fake_slack.wait_for("views.open")
    view = view_of(opened.body)
    assert view["callback_id"] == CallbackId.PIP_FORM
    meta = {"member_id": await thandi_id(org), "plan_id": None, "version": None}
    assert json.loads(view["private_metadata"]) == meta
    before = await fingerprint(org)
    resp = await interact(
        plan_submit(
            ALPHA_LEAD, await thandi_id(org), goals="Be better", reviews="2027-05-01, soon", end=date(2026, 11, 10)
        )
    )
    errors = resp.json()["errors"]
    assert set(errors) == {BlockId.PIP_GOALS, BlockId.PIP_REVIEWS, BlockId.PIP_END}
    assert (
        "measurable target" in errors[BlockId.PIP_GOALS]
        and "`soon` is not a YYYY-MM-DD date" in errors[BlockId.PIP_REVIEWS]
    )
    assert await fingerprint(org) == before


async def test_every_change_is_a_version_the_agent_acknowledges_again(
    org: Deps, slash: SlashCommand, interact: Interact, fake_slack: FakeSlack
) -> None:
    plan_id = await open_plan(org, interact)
    plan, versions, dms, actions = await plan_state(org)
    assert (plan.status, plan.version, plan.end_on, plan.reviews) == (
        "open",
        1,
        date(2026, 12, 16),
        ["2026-11-25", "2026-12-02"],
    )
    assert plan.goals == [
        {"goal": "Raise CSAT", "target": "CSAT ≥ 85% over two weeks"},
        {"goal": "Cut handle time", "target": "AHT ≤ 7 min"},
    ]
    assert [(d.channel, d.idempotency_key) for d in dms] == [(AGENT_1, f"coaching:plan:{plan_id}:v1")]
    assert f'"{plan_id}:1"' in json.dumps(dms[0].payload) and "CSAT ≥ 85%" in json.dumps(
        dms[0].payload, ensure_ascii=False
    )
    assert actions == ["pip.open"]

    await interact(button(AGENT_1, ActionId.PIP_ACK, f"{plan_id}:1", fake_slack))
    await fake_slack.wait_for("webhook:/hook", count=2)
    # The lead changes the goals: version 2, sent again; the old version's button no longer counts.
    await slash(ALPHA_LEAD, f"edit {THANDI}", command="/pip")
    (opened,) = await fake_slack.wait_for("views.open")
    assert "Raise CSAT | CSAT ≥ 85% over two weeks" in json.dumps(view_of(opened.body), ensure_ascii=False)
    resp = await interact(
        plan_submit(
            ALPHA_LEAD,
            await thandi_id(org),
            plan_id=plan_id,
            goals=GOALS + "\nQA | QA ≥ 90%",
            reviews=REVIEWS,
            end=date(2026, 12, 16),
        )
    )
    assert resp.json()["response_action"] == "update"
    await interact(button(AGENT_1, ActionId.PIP_ACK, f"{plan_id}:1", fake_slack))
    hooks = await fake_slack.wait_for("webhook:/hook", count=3)
    assert "This plan has changed since (now version 2)" in hooks[-1].body["text"]
    await interact(button(AGENT_1, ActionId.PIP_ACK, f"{plan_id}:2", fake_slack))
    await fake_slack.wait_for("webhook:/hook", count=5)
    plan, versions, dms, actions = await plan_state(org)
    assert [(v.version, v.change, v.acknowledged_at is not None) for v in versions] == [
        (1, "open", True),
        (2, "edit", True),
    ]
    assert [d.idempotency_key for d in dms] == [f"coaching:plan:{plan_id}:v1", f"coaching:plan:{plan_id}:v2"]
    # (the form's read is audited once Slack shows it, so it may land just after the edit)
    assert sorted(actions) == sorted(["pip.open", "pip.ack", "pip.form.open", "pip.edit", "pip.ack"])


async def test_status_moves_open_extended_passed_and_then_stops(
    org: Deps, slash: SlashCommand, interact: Interact
) -> None:
    plan_id = await open_plan(org, interact)
    early = (await slash(ALPHA_LEAD, f"extend {THANDI} 2026-12-01", command="/pip")).json()
    assert "must end after the current end date (16 Dec 2026)" in early["text"]
    extended = (await slash(MANAGER, f"extend {THANDI} 2027-01-15", command="/pip")).json()
    assert extended["text"].startswith(
        f"✅ Thandi Nkosi's improvement plan `#{plan_id}` extended to 15 Jan 2027 (version 2)"
    )
    passed = (await slash(ALPHA_LEAD, f"pass {THANDI}", command="/pip")).json()
    assert "marked passed (version 3)" in passed["text"]
    closed = (await slash(ALPHA_LEAD, f"close {THANDI}", command="/pip")).json()
    assert closed["text"] == "This plan is already passed; it can't be changed. Open a new plan if needed."
    plan, versions, dms, actions = await plan_state(org)
    assert (plan.status, plan.version, plan.end_on, plan.finished_at is not None) == (
        "passed",
        3,
        date(2027, 1, 15),
        True,
    )
    assert [v.change for v in versions] == ["open", "extend", "pass"] and len(dms) == 3
    assert actions == ["pip.open", "pip.extend", "pip.pass"]
    shown = json.dumps((await slash(AGENT_1, "", command="/pip")).json(), ensure_ascii=False)
    assert "Improvement plan: Thandi Nkosi (passed)" in shown and "v3 · Plan passed by Lindiwe Lead" in shown


async def test_reviews_are_sessions_linked_to_the_plan(org: Deps, interact: Interact, slash: SlashCommand) -> None:
    plan_id = await open_plan(org, interact)
    resp = await interact(session_submit(ALPHA_LEAD, await thandi_id(org), kind="pip_review"))
    assert resp.json()["response_action"] == "update"
    async with org.sessions() as session:
        (review,) = (await session.execute(select(CoachingSession))).scalars().all()
    assert (review.kind, review.plan_id) == ("pip_review", plan_id)
    shown = json.dumps((await slash(ALPHA_LEAD, THANDI, command="/pip")).json(), ensure_ascii=False)
    assert "1 review session logged" in shown and "⏳ not acknowledged" in shown


async def test_a_second_open_plan_is_refused(
    org: Deps, interact: Interact, slash: SlashCommand, fake_slack: FakeSlack
) -> None:
    await open_plan(org, interact)
    await slash(ALPHA_LEAD, f"open {THANDI}", command="/pip")
    (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert "already has an open plan" in hook.body["text"] and fake_slack.calls_to("views.open") == []
