"""The demo's "morning after": the next working day's huddle, a process-change notice and a 1:1, played through
the real app path — the huddle tick on the controlled clock, signed commands, clicks and modal submissions
into the ASGI app (of the modals the bot opened on the fake Slack), and the outbox worker delivering the rest.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from pathlib import Path

import httpx
from fastapi import FastAPI
from rich.console import Console
from rich.rule import Rule

from bot.blocks.ids import ActionId, BlockId
from bot.clock import FixedClock
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox import demo_data
from bot.sandbox.demo_stage import Stage
from bot.sandbox.fake_slack import FakeSlack, Posted
from bot.sandbox.forms import Answer
from bot.services.huddle_tick import run_huddle_tick

ALPHA = demo_data.TEAMS[0]
LEAD = demo_data.lead_id(ALPHA)
STRUGGLING = 3  # the agent whose figures lag (demo_data.kpi_records); skips the huddle, then has a 1:1
# (agent number, minute past 08:00, mood, blockers, note): the first is shown filling in the modal
CHECKINS = (
    (5, 21, "5", None, "Happy to buddy anyone on refunds today"),
    (0, 23, "4", None, None),
    (1, 26, "3", "Our refund macro still says the old R1000 limit", None),
    (7, 32, "4", None, "Sorry — VPN trouble"),  # after 08:30: late
)
ACKS = (0, 1, 5)  # the Alpha agents who acknowledge the notice
FOCUS = "Refunds: check the R500 approval limit before you reply"
PRIVATE_NOTE = "Would like to move to the email team next year; raise it at the Q1 review."


async def play_morning(
    deps: Deps,
    clock: FixedClock,
    slack: FakeSlack,
    asgi: FastAPI,
    *,
    out: Path,
    console: Console,
    first: int,
    secret: str,
) -> None:
    """Steps ``first``, ``first + 1``, … on the working day after the clock's day."""
    day = demo_data.next_working_day(clock.now().astimezone(demo_data.TZ).date())
    clock.set(datetime.combine(day, time(8, 15, 5), demo_data.TZ))
    worker = DeliveryWorker(deps, create_delivery_client(deps.settings, "xoxb-demo"), rand=lambda: 0.5)
    transport = httpx.ASGITransport(app=asgi)
    async with httpx.AsyncClient(transport=transport, base_url="http://rhythm") as http:
        stage = Stage(deps, clock, slack, http, worker, out, console, secret, first)
        console.print(Rule(f"The morning after: {day:%A %d %B}"))
        console.print()
        await _huddle(stage, day)
        await _notice(stage, day)
        await _one_on_one(stage, day)


def _is_prompt(msg: Posted) -> bool:
    return "huddle" in msg.text and "thread_ts" not in msg.body


async def _huddle(stage: Stage, day: date) -> None:
    prompt = await _prompt_and_focus(stage, day)
    await _check_ins(stage, day, prompt)
    await _remind_and_close(stage, day, prompt)


async def _prompt_and_focus(stage: Stage, day: date) -> Posted:
    stage.at(day, "08:15")
    tick = await run_huddle_tick(stage.deps)
    await stage.deliver()
    n = stage.step("08:15 Rhythm posts the huddle prompts", note=f"the huddle tick, {len(tick.posted)} team channels")
    prompt = stage.find(ALPHA.channel, _is_prompt)
    stage.show(n, "huddle-prompt", prompt.body, f"posted in {ALPHA.channel} via the outbox")
    stage.print()

    stage.at(day, "08:18")
    n = stage.step("Alpha's team leader", f"types [bold]/huddle focus {FOCUS}[/bold]")
    answer = await stage.command(LEAD, "/huddle", f"focus {FOCUS}", channel=ALPHA.channel)
    await stage.deliver()
    prompt = stage.find(ALPHA.channel, _is_prompt)
    stage.show(n, "huddle-focus", answer, "only visible to you")
    stage.write(n, "huddle-prompt-edited", prompt.body)
    stage.note(
        f"The prompt was edited in place ({len(prompt.edits)} chat.update): {prompt.body['blocks'][1]['text']['text']}"
    )
    stage.print()
    return prompt


async def _check_ins(stage: Stage, day: date, prompt: Posted) -> None:
    n = stage.step("Alpha agents press Check in", note="the bot opens its modal; each agent fills it in and submits")
    for i, (agent, minute, mood, blockers, note) in enumerate(CHECKINS):
        stage.at(day, f"08:{minute:02d}")
        user = demo_data.agent_id(ALPHA, agent)
        view = await stage.click_for_form(user, prompt, ActionId.HUDDLE_CHECKIN)
        answers: dict[str, Answer] = {
            BlockId.HUDDLE_MOOD: mood,
            BlockId.HUDDLE_BLOCKERS: blockers,
            BlockId.HUDDLE_NOTE: note,
        }
        sent = await stage.submit(user, view, answers)
        if i == 0:
            stage.write(n, "huddle-checkin-modal", view)
            stage.show_form(sent, demo_data.agent_name(ALPHA, agent))
    late = sum(1 for c in CHECKINS if c[1] > 30)
    stage.note(f"…and {len(CHECKINS) - 1} more the same way ({late} after 08:30, so marked late).")
    stage.print()


async def _remind_and_close(stage: Stage, day: date, prompt: Posted) -> None:
    stage.at(day, "08:35")
    tick = await run_huddle_tick(stage.deps)
    await stage.deliver()
    struggling = demo_data.agent_id(ALPHA, STRUGGLING)
    name = demo_data.agent_name(ALPHA, STRUGGLING)
    n = stage.step("08:35 Rhythm reminds who hasn't checked in", note=f"{tick.reminders} DMs in all; {name}'s")
    reminder = stage.find(stage.slack.dm_channel(struggling), lambda m: "huddle" in m.text)
    stage.show(n, "huddle-reminder", reminder.body, f"a DM to {name} via the outbox")
    stage.print()

    stage.at(day, "08:45")
    await run_huddle_tick(stage.deps)
    await stage.deliver()
    n = stage.step("08:45 Check-ins close", note="the digest goes in the prompt's thread, a copy to the ops manager")
    digest = stage.find(ALPHA.channel, lambda m: m.body.get("thread_ts") == prompt.ts)
    stage.show(n, "huddle-digest", digest.body, f"a reply in the prompt's thread in {ALPHA.channel}")
    managers = stage.find(_managers(stage), lambda m: ALPHA.name in m.text or ALPHA.name in str(m.body.get("blocks")))
    stage.write(n, "huddle-digest-managers", managers.body)
    closed = stage.find(ALPHA.channel, _is_prompt)
    stage.note(
        f"The managers' copy (without the agents' notes) went to {managers.channel}; "
        f"the prompt now reads: {closed.text}"
    )
    stage.print()


def _managers(stage: Stage) -> str:
    channel = stage.deps.settings.managers_channel
    assert channel is not None
    return channel


async def _notice(stage: Stage, day: date) -> None:
    stage.at(day, "09:00")
    n = stage.step("The ops manager", "types [bold]/notice new[/bold]", "fills in the modal the bot opens, publishes")
    view = await stage.open_form(demo_data.MANAGER_ID, "/notice", "new")
    deadline = datetime.combine(day + timedelta(days=2), time(17, 0), demo_data.TZ)
    answers: dict[str, Answer] = {
        BlockId.NOTICE_TITLE: "Refunds over R500 need a team leader's approval",
        BlockId.NOTICE_BODY: "From today, a refund over *R500* needs your team leader's approval in Zendesk "
        "before you reply to the customer. Use the new `refund-approval` macro.",
        BlockId.NOTICE_EFFECTIVE: day,
        BlockId.NOTICE_DEADLINE: deadline,
        BlockId.NOTICE_AUDIENCE: [t.name for t in demo_data.TEAMS],
        BlockId.NOTICE_LINK: "https://wiki.rhythm.example/refunds",
    }
    stage.write(n, "notice-modal", view)
    stage.show_form(await stage.submit(demo_data.MANAGER_ID, view, answers), "The ops manager")
    await stage.deliver()
    post = stage.find(ALPHA.channel, lambda m: m.text.startswith("Process change"))
    stage.note(f"Posted in {len(demo_data.TEAMS)} team channels with an Acknowledge button; Alpha's:")
    stage.show(n, "notice-post", post.body, "posted by the bot via the outbox")
    stage.print()

    n = stage.step("Three Alpha agents press Acknowledge", note="each gets a private thank-you; the count updates once")
    stage.at(day, "09:10")
    for agent in ACKS:
        answer = await stage.click_for_answer(demo_data.agent_id(ALPHA, agent), post, ActionId.NOTICE_ACK)
    stage.note(f"{demo_data.agent_name(ALPHA, ACKS[-1])} sees: {answer.get('text')}")
    await stage.deliver()
    post = stage.find(ALPHA.channel, lambda m: m.ts == post.ts)
    stage.show(n, "notice-post-acknowledged", post.body, f"edited in place: {len(post.edits)} chat.update for 3 clicks")
    stage.print()

    notice_id = int(post.body["blocks"][-1]["block_id"].rsplit(".", 1)[1])
    n = stage.step("The ops manager", f"types [bold]/notice status {notice_id}[/bold]")
    answer = await stage.command(demo_data.MANAGER_ID, "/notice", f"status {notice_id}")
    stage.show(n, "notice-status", answer, "only visible to you", max_lines=7)
    stage.print()


async def _one_on_one(stage: Stage, day: date) -> None:
    stage.at(day, "10:30")
    agent = demo_data.agent_id(ALPHA, STRUGGLING)
    name = demo_data.agent_name(ALPHA, STRUGGLING)
    mention = f"<@{agent}|{name.split()[0].lower()}>"
    n = stage.step("Alpha's team leader", f"types [bold]/1on1 @{name}[/bold]", "logs a 1:1 in the modal the bot opens")
    view = await stage.open_form(LEAD, "/1on1", mention)
    answers: dict[str, Answer] = {
        BlockId.COACHING_SUMMARY: "We looked at your CSAT and handle time on refund chats. You know the product "
        "well; the refund steps are slowing you down.",
        BlockId.COACHING_NOTES: PRIVATE_NOTE,
        BlockId.COACHING_STRENGTHS: "Product knowledge, calm tone",
        BlockId.COACHING_IMPROVE: "Refund process accuracy and speed",
        BlockId.COACHING_ACTIONS: f"Shadow {demo_data.agent_name(ALPHA, 5)} on refund chats for an hour | agent | "
        f"{day + timedelta(days=2)}\nReview five refund chats together | lead | {day + timedelta(days=3)}",
        BlockId.COACHING_FOLLOW_UP: day + timedelta(days=14),
    }
    stage.write(n, "coaching-modal", view)
    stage.show_form(await stage.submit(LEAD, view, answers), "Alpha's team leader")
    await stage.deliver()
    dm = stage.find(stage.slack.dm_channel(agent), lambda m: m.text.startswith("Your"))
    stage.note(f"{name} gets a DM with the shared parts (the private notes stay with the leads, encrypted at rest):")
    stage.show(n, "coaching-dm", dm.body, f"a DM to {name} via the outbox")
    stage.print()
