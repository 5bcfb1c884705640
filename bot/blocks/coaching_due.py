"""What a lead owes: the `/1on1 due` report and the follow-up DM with the coaching effect. Names and action
texts are escaped for mrkdwn."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

from bot.blocks.coaching import ActionView, action_line, kind_label
from bot.blocks.coaching_kit import packed
from bot.blocks.kit import Block, clip, context, escape, header, message, section, sections_from_lines
from bot.domain.coaching_due import DueReport
from bot.domain.coaching_effect import EffectLine


def render_due(report: DueReport, today: date, *, cadence: str) -> dict[str, Any]:
    title = f"Coaching due · {today:%a %d %b}"
    if report.empty:
        return message(title, [header(title), section("🎉 Nothing due: every follow-up, action and 1:1 is on time.")])
    lines: list[str] = []
    if report.follow_ups:
        lines.append("*Follow-ups*")
        for o in report.follow_ups:
            assert o.agent is not None
            when = "today" if o.days == 0 else f"{o.days} day{'s' * (o.days != 1)} overdue"
            lines.append(f"• {escape(o.agent.name)} — {when}")
    if report.actions:
        lines.append("*Action items*")
        for o in report.actions:
            assert o.action is not None
            when = "due today" if o.days == 0 else f"{o.days} day{'s' * (o.days != 1)} overdue"
            what = escape(clip(o.action.text, 200))
            lines.append(f"• `#{o.action.item_id}` {escape(o.action.agent_name)}: {what} ({o.action.owner}, {when})")
    if report.uncoached:
        lines.append(f"*No 1:1 within the cadence* ({cadence})")
        for agent, since in report.uncoached:
            lines.append(f"• {escape(agent.name)} — " + ("never" if since is None else f"last {since} days ago"))
    blocks = [header(title), *sections_from_lines(lines)]
    if report.on_leave:
        blocks.append(context("On leave today (not counted): " + ", ".join(escape(a.name) for a in report.on_leave)))
    counts = f"{len(report.follow_ups)} follow-ups, {len(report.actions)} actions, {len(report.uncoached)} agents"
    return message(f"{title}: {counts}", blocks)


def render_follow_up(
    agent_name: str,
    kind: str,
    held_on: date,
    effect: Sequence[EffectLine],
    open_actions: Sequence[ActionView],
    *,
    due_on: date,
    today: date,
    author: bool = True,
) -> dict[str, Any]:
    """The lead's follow-up DM. ``author`` False: the session was logged by someone who no longer leads the
    agent, so it goes to their current lead(s), worded as such; a DM sent after its date says when it was due."""
    name = escape(agent_name)
    title = f"Follow-up due: {agent_name}"
    whose = "you set at your" if author else "set at a"
    what = f"the follow-up {whose} {kind_label(kind)} with *{name}* on {held_on:%a %d %b}"
    text = f"Today is {what}." if due_on >= today else f"T{what[1:]} was due on {due_on:%a %d %b}."
    blocks: list[Block] = [header(title), section(text)]
    if not author:
        blocks.append(context(f"It comes to you because you lead {name} now."))
    if effect:
        lines = [f"• *{e.label}*: {e.before} → {e.after}  {e.change}" for e in effect]
        blocks.append(section("*KPIs since the session* (14 days before it → since)\n" + "\n".join(lines)))
    else:
        blocks.append(context("No KPI figures were on record at the session to compare with."))
    if open_actions:
        blocks += packed(["*Still open*", *(action_line(a) for a in open_actions)])
    blocks.append(context(f"Log the follow-up with `/1on1` · their record: `/1on1 history` for {name}"))
    late = "" if due_on >= today else f" (was due on {due_on:%d %b})"
    return message(f"{title}{late} — KPI change since {held_on:%d %b}", blocks)
