"""Improvement plans: the plan form, the agent's DM (Acknowledge each version), and the plan's status.

Goals, targets and names are escaped for mrkdwn; the terms the agent acknowledges are never clipped, only split
across sections."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from bot.blocks.coaching_kit import button, date_input, modal, packed, read_date, read_metadata, read_text, text_input
from bot.blocks.ids import ActionId, BlockId, CallbackId
from bot.blocks.kit import MAX_MESSAGE_BLOCKS, Block, clip, context, escape, header, message, section
from bot.domain.coaching_plans import GOALS_TEXT_MAX, MAX_GOALS

FIELD_BLOCKS = {"goals": BlockId.PIP_GOALS, "reviews": BlockId.PIP_REVIEWS, "end": BlockId.PIP_END}
CHANGE_LABELS = {
    "open": "Plan opened",
    "edit": "Plan changed",
    "extend": "Plan extended",
    "pass": "Plan passed",
    "close": "Plan closed",
}


@dataclass(frozen=True, slots=True)
class VersionView:
    version: int
    change: str
    status: str
    changed_at: datetime  # local
    changed_by: str
    acknowledged_at: datetime | None  # local


@dataclass(frozen=True, slots=True)
class PlanView:
    plan_id: int
    agent_name: str
    status: str
    version: int
    goals: tuple[tuple[str, str], ...]  # (goal, measurable target)
    reviews: tuple[date, ...]
    started_on: date
    end_on: date
    versions: tuple[VersionView, ...] = ()


def render_plan_modal(member_id: int, agent_name: str, today: date, plan: PlanView | None = None) -> dict[str, Any]:
    """Open a plan, or (``plan`` given) change its terms: the agent is then asked to acknowledge again."""
    goals = "\n".join(f"{g} | {t}" for g, t in plan.goals) if plan else None
    reviews = ", ".join(d.isoformat() for d in plan.reviews) if plan else None
    name = escape(clip(agent_name, 200))
    intro = (
        f"Changing *{name}*'s plan (version {plan.version}). They will be asked to acknowledge it again. "
        "A later end date extends the plan."
        if plan
        else f"Improvement plan for *{name}*. They will be sent it to acknowledge."
    )
    blocks: list[Block] = [
        section(intro),
        text_input(
            BlockId.PIP_GOALS,
            "Goals and measurable targets",
            multiline=True,
            max_length=GOALS_TEXT_MAX,
            initial=goals,
            placeholder="Raise CSAT | CSAT ≥ 85% over 2 weeks",
            hint=f"One per line: goal | measurable target (up to {MAX_GOALS}).",
        ),
        text_input(
            BlockId.PIP_REVIEWS,
            "Review dates",
            initial=reviews,
            max_length=200,
            placeholder="2026-11-25, 2026-12-02",
            hint="YYYY-MM-DD, separated by commas (past reviews may stay). Log each with /1on1, kind PIP review.",
        ),
        date_input(BlockId.PIP_END, "Plan ends", initial=plan.end_on if plan else None),
    ]
    title = "Change plan" if plan else "Improvement plan"
    metadata = {
        "member_id": member_id,
        "plan_id": plan.plan_id if plan else None,
        "version": plan.version if plan else None,
    }
    return modal(CallbackId.PIP_FORM, title, blocks, submit="Save", metadata=metadata)


@dataclass(frozen=True, slots=True)
class RawPlanForm:
    member_id: int | None
    plan_id: int | None
    version: int | None  # the version the edit form showed: a change made meanwhile is not overwritten
    goals: str | None
    reviews: str | None
    end_on: date | None


def read_plan_form(private_metadata: str | None, values: Mapping[str, Any]) -> RawPlanForm:
    meta = read_metadata(private_metadata)
    member_id, plan_id, version = meta.get("member_id"), meta.get("plan_id"), meta.get("version")
    return RawPlanForm(
        member_id=member_id if isinstance(member_id, int) else None,
        plan_id=plan_id if isinstance(plan_id, int) else None,
        version=version if isinstance(version, int) else None,
        goals=read_text(values, BlockId.PIP_GOALS),
        reviews=read_text(values, BlockId.PIP_REVIEWS),
        end_on=read_date(values, BlockId.PIP_END),
    )


def field_errors(errors: Mapping[str, str]) -> dict[str, str]:
    return {FIELD_BLOCKS.get(k, BlockId.PIP_GOALS): v for k, v in errors.items()}


def _terms(v: PlanView) -> list[Block]:
    goals = [f"• *{escape(g)}* — target: {escape(t)}" for g, t in v.goals]
    reviews = ", ".join(f"{d:%a %d %b}" for d in v.reviews) or "—"
    return [
        *packed(["*Goals*", *goals]),
        section(f"*Reviews:* {reviews}\n*Runs:* {v.started_on:%d %b %Y} – {v.end_on:%d %b %Y} · *Status:* {v.status}"),
    ]


def render_plan_dm(v: PlanView, change: str, acknowledged_at: datetime | None = None) -> dict[str, Any]:
    """The agent's copy of one version, with Acknowledge until they have acknowledged that version."""
    label = CHANGE_LABELS.get(change, "Plan updated")
    title = f"Your improvement plan: {label.lower()} (version {v.version})"
    blocks: list[Block] = [header(title), *_terms(v)]
    if acknowledged_at is not None:
        blocks.append(context(f"✅ You acknowledged version {v.version} on {acknowledged_at:%a %d %b %H:%M}"))
    else:
        blocks.append(
            {
                "type": "actions",
                "block_id": f"{BlockId.PIP_DM_ACTIONS}.{v.plan_id}.{v.version}",
                "elements": [button("Acknowledge", ActionId.PIP_ACK, f"{v.plan_id}:{v.version}", style="primary")],
            }
        )
        blocks.append(
            context("Acknowledging confirms you have received and read the plan; talk to your leader about it.")
        )
    assert len(blocks) <= MAX_MESSAGE_BLOCKS, "the form's length limits keep a plan within one message"
    return message(f"{title}: please read and acknowledge", blocks)


def _version_line(x: VersionView) -> str:
    ack = f"✅ acknowledged {x.acknowledged_at:%d %b %H:%M}" if x.acknowledged_at else "⏳ not acknowledged"
    return (
        f"v{x.version} · {CHANGE_LABELS.get(x.change, x.change)} by {escape(x.changed_by)} "
        f"{x.changed_at:%d %b %H:%M} · {ack}"
    )


def render_plan_status(v: PlanView | None, agent_name: str, reviews_logged: int = 0) -> dict[str, Any]:
    if v is None:
        text = f"{agent_name} has no improvement plan."
        return message(text, [section(escape(text))])
    title = f"Improvement plan: {v.agent_name} ({v.status})"
    blocks: list[Block] = [header(title), *_terms(v)]
    if v.versions:
        blocks.append(section("*Versions*\n" + "\n".join(_version_line(x) for x in v.versions[-10:])))
    blocks.append(context(f"{reviews_logged} review session{'s' * (reviews_logged != 1)} logged"))
    return message(title, blocks)


def render_plan_saved(agent_name: str, plan_id: int, version: int, dm_sent: bool) -> dict[str, Any]:
    name = escape(agent_name)
    lines = [f"✅ Saved {name}'s improvement plan (`#{plan_id}`, version {version})."]
    lines.append(
        f"{name} has been sent it to acknowledge." if dm_sent else f"{name} has no Slack account on the roster."
    )
    return modal(CallbackId.PIP_FORM, "Plan saved", [section("\n".join(lines))], submit=None, metadata={})
