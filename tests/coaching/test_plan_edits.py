"""/pip edit under the plan's status rules: a later end date is an extension, past review dates may stay, a form
opened before someone else's change can't overwrite it, a resubmitted form saves once, and the whole of a
maximum-length plan reaches the agent to acknowledge."""

from __future__ import annotations

import asyncio
import html
import json
import re
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.blocks.ids import ActionId, BlockId
from bot.blocks.kit import MAX_MESSAGE_BLOCKS, MAX_SECTION_TEXT
from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.coaching_plans import GOAL_MAX, GOALS_TEXT_MAX, MAX_GOALS
from bot.sandbox.fake_slack import FakeSlack
from bot.store.coaching_tables import ImprovementPlan, ImprovementPlanVersion
from bot.store.org import member_by
from bot.store.tables import AuditEvent, Outbox
from tests.coaching.conftest import Interact, button, plan_submit
from tests.support.org import AGENT_1, ALPHA_LEAD

GOALS = "Raise CSAT | CSAT ≥ 85% over two weeks"
SAST = ZoneInfo("Africa/Johannesburg")


async def thandi_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        member = await member_by(session, slack_user_id=AGENT_1)
    assert member is not None
    return member.id


async def state(deps: Deps) -> tuple[ImprovementPlan, list[ImprovementPlanVersion], list[Outbox], list[str]]:
    async with deps.sessions() as session:
        (plan,) = (await session.execute(select(ImprovementPlan))).scalars().all()
        versions = list(
            (await session.execute(select(ImprovementPlanVersion).order_by(ImprovementPlanVersion.version))).scalars()  # type: ignore[arg-type]
        )
        dms = list((await session.execute(select(Outbox).order_by(Outbox.id))).scalars())  # type: ignore[arg-type]
        actions = [a.action for a in (await session.execute(select(AuditEvent).order_by(AuditEvent.id))).scalars()]  # type: ignore[arg-type]
    return plan, versions, dms, actions


async def open_plan(deps: Deps, interact: Interact, goals: str = GOALS) -> int:
    payload = plan_submit(
        ALPHA_LEAD, await thandi_id(deps), goals=goals, reviews="2026-11-25, 2026-12-02", end=date(2026, 12, 16)
    )
    resp = await interact(payload)
    assert resp.json()["response_action"] == "update", resp.text
    plan, *_ = await state(deps)
    assert plan.id is not None
    return plan.id


async def edit(
    deps: Deps, interact: Interact, plan_id: int, *, end: date, reviews: str, version: int | None = 1
) -> dict[str, object]:
    payload = plan_submit(
        ALPHA_LEAD, await thandi_id(deps), plan_id=plan_id, version=version, goals=GOALS, reviews=reviews, end=end
    )
    return dict((await interact(payload)).json())


async def test_a_later_end_date_in_the_edit_form_is_an_extension(org: Deps, interact: Interact) -> None:
    plan_id = await open_plan(org, interact)
    too_far = await edit(org, interact, plan_id, end=date(2027, 12, 1), reviews="2026-11-25")
    assert too_far == {"response_action": "errors", "errors": {BlockId.PIP_END: "A plan can run for a year at most."}}
    resp = await edit(org, interact, plan_id, end=date(2027, 1, 15), reviews="2026-11-25, 2027-01-10")
    assert resp["response_action"] == "update"
    plan, versions, dms, actions = await state(org)
    assert (plan.status, plan.version, plan.end_on) == ("extended", 2, date(2027, 1, 15))
    assert [(v.change, v.status) for v in versions] == [("open", "open"), ("extend", "extended")]
    assert actions[-1] == "pip.extend" and "plan extended (version 2)" in dms[-1].payload["text"]
    # An earlier end date (still ahead) is an ordinary change: the status stays.
    resp = await edit(org, interact, plan_id, end=date(2027, 1, 5), reviews="2026-11-25", version=2)
    assert resp["response_action"] == "update"
    plan, versions, _, _ = await state(org)
    assert (plan.status, plan.end_on, versions[-1].change) == ("extended", date(2027, 1, 5), "edit")


async def test_past_review_dates_may_stay_but_new_ones_must_be_ahead(
    org: Deps, interact: Interact, clock: FixedClock
) -> None:
    plan_id = await open_plan(org, interact)
    clock.set(datetime(2026, 11, 30, 10, 0, tzinfo=SAST))  # the 25 Nov review is behind us
    resp = await edit(org, interact, plan_id, end=date(2026, 12, 16), reviews="2026-11-25, 2026-12-02, 2026-12-09")
    assert resp["response_action"] == "update"
    late = await edit(org, interact, plan_id, end=date(2026, 12, 16), reviews="2026-11-25, 2026-11-27", version=2)
    assert late["response_action"] == "errors" and "27 Nov 2026" in json.dumps(late)
    plan, *_ = await state(org)
    assert plan.reviews == ["2026-11-25", "2026-12-02", "2026-12-09"] and plan.version == 2


async def test_an_edit_form_opened_before_another_change_cannot_overwrite_it(org: Deps, interact: Interact) -> None:
    plan_id = await open_plan(org, interact)
    assert (await edit(org, interact, plan_id, end=date(2026, 12, 16), reviews="2026-12-02"))["response_action"] == (
        "update"
    )
    stale = await edit(org, interact, plan_id, end=date(2026, 12, 16), reviews="2026-12-09", version=1)
    assert stale["response_action"] == "errors" and "changed this plan since you opened the form" in json.dumps(stale)
    plan, versions, _, _ = await state(org)
    assert plan.reviews == ["2026-12-02"] and len(versions) == 2


async def test_a_resubmitted_plan_form_saves_one_version_and_one_dm(org: Deps, interact: Interact) -> None:
    plan_id = await open_plan(org, interact)
    payload = plan_submit(
        ALPHA_LEAD,
        await thandi_id(org),
        plan_id=plan_id,
        version=1,
        goals=GOALS,
        reviews="2026-12-09",
        end=date(2026, 12, 16),
    )
    answers = await asyncio.gather(*(interact(payload) for _ in range(3)))
    assert len({a.text for a in answers}) == 1 and answers[0].json()["response_action"] == "update"
    plan, versions, dms, actions = await state(org)
    assert plan.version == 2 and len(versions) == 2 and len(dms) == 2 and actions.count("pip.edit") == 1


async def test_repeat_plan_acknowledgements_are_audited_as_reads(
    org: Deps, interact: Interact, fake_slack: FakeSlack
) -> None:
    plan_id = await open_plan(org, interact)
    for n in (2, 4):
        await interact(button(AGENT_1, ActionId.PIP_ACK, f"{plan_id}:1", fake_slack))
        await fake_slack.wait_for("webhook:/hook", count=n)
    *_, actions = await state(org)
    assert actions == ["pip.open", "pip.ack", "pip.read"]


async def test_every_word_of_a_maximum_length_plan_reaches_the_agent(org: Deps, interact: Interact) -> None:
    width = (GOALS_TEXT_MAX // MAX_GOALS - 4) // 2  # each line `goal | target`, the whole within the input's limit
    assert width <= GOAL_MAX
    goals = [(("G&<" * width)[: width - 1] + f"{n}", ("T>&" * width)[: width - 1] + f"{n}") for n in range(MAX_GOALS)]
    text = "\n".join(f"{g} | {t}" for g, t in goals)
    assert GOALS_TEXT_MAX - 20 < len(text) <= GOALS_TEXT_MAX
    await open_plan(org, interact, goals=text)
    *_, dms, _ = await state(org)
    (dm,) = dms
    blocks = dm.payload["blocks"]
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    sections = [b["text"]["text"] for b in blocks if b["type"] == "section"]
    assert all(len(t) <= MAX_SECTION_TEXT for t in sections) and len(sections) > 2  # split, not clipped
    shown = re.sub(r"\s+", "", html.unescape("\n".join(sections)))
    for goal, target in goals:
        assert goal in shown and target in shown
