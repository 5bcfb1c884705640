"""The stage the demo's later scenes play on: a controlled clock, the real app behind signed requests, the
local fake Slack, the outbox's delivery worker, and the terminal (numbered steps, messages, Block Kit JSON).

People act through Slack's own payloads: slash commands, button clicks (:func:`bot.sandbox.forms.press`) and
modal submissions (:func:`bot.sandbox.forms.fill`) of the views the bot really opened.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console, RenderableType
from rich.text import Text
from sqlalchemy import func, select
from sqlmodel import col

from bot.clock import FixedClock
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.handlers.common import WORKING
from bot.sandbox import demo_data
from bot.sandbox.fake_slack import FakeSlack, Posted
from bot.sandbox.forms import Answer, fill, press
from bot.sandbox.requests import interaction_body, signed_headers, slash_command_body
from bot.sandbox.terminal import mrkdwn_to_markup, render_form, render_message
from bot.store import outbox
from bot.store.tables import Outbox

WAIT = 5.0  # seconds to wait for a listener that runs after its ack (views.open, respond)
TICK = timedelta(seconds=0.25)  # how far the clock moves between delivery worker ticks


@dataclass
class Stage:
    deps: Deps
    clock: FixedClock
    slack: FakeSlack
    http: httpx.AsyncClient
    worker: DeliveryWorker
    out: Path
    console: Console
    secret: str
    number: int  # the next step's number
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- time and delivery ----------------------------------------------------------------------------------

    def at(self, day: date, hhmm: str, seconds: int = 5) -> datetime:
        """Set the clock to ``hh:mm`` (plus a few seconds) on ``day``, demo time zone."""
        moment = datetime.combine(day, clock_time.fromisoformat(hhmm), demo_data.TZ) + timedelta(seconds=seconds)
        self.clock.set(moment)
        return moment

    async def deliver(self, rounds: int = 400) -> None:
        """Tick the delivery worker, moving the clock on, until the outbox has nothing left to send."""
        for _ in range(rounds):
            await self.worker.run_once()
            async with self.deps.sessions() as session:
                query = select(func.count()).select_from(Outbox).where(col(Outbox.status).in_(outbox.UNSETTLED))
                if not (await session.execute(query)).scalar_one():
                    return
            self.clock.set(self.clock.now() + TICK)
        raise RuntimeError("the outbox did not drain")

    # -- people acting through Slack ------------------------------------------------------------------------

    async def _post(self, body: str) -> httpx.Response:
        resp = await self.http.post("/slack/events", content=body, headers=signed_headers(self.secret, body))
        if resp.status_code != 200:
            raise RuntimeError(f"the app answered {resp.status_code}: {resp.text[:200]}")
        return resp

    def _hook(self) -> str:
        return f"hook/m{next(self._seq)}"

    async def _reply(self, hook: str) -> dict[str, Any]:
        """What the app posted to a request's response_url (each request has its own)."""
        calls = await self.slack.wait_for(f"webhook:/{hook}", within=WAIT)
        return calls[-1].body

    async def command(self, user: str, command: str, text: str, channel: str = "C0DEMO") -> dict[str, Any]:
        """``user`` types ``command text``; the answer they see (in the ack, or posted to the response_url)."""
        hook = self._hook()
        body = slash_command_body(command, text, user_id=user, channel_id=channel, response_url=self.slack.url + hook)
        resp = await self._post(body)
        answer: dict[str, Any] = (
            resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {}
        )
        if not answer or answer.get("text") == WORKING:
            answer = await self._reply(hook)
        return answer

    async def _opened(self, before: int, hook: str) -> dict[str, Any]:
        """The view the bot opened with views.open (or the refusal it answered instead, as an error)."""

        def answered() -> bool:
            return len(self.slack.calls_to("views.open")) > before or bool(self.slack.calls_to(f"webhook:/{hook}"))

        await _until(self.slack, answered)
        refusals = self.slack.calls_to(f"webhook:/{hook}")
        if refusals:
            raise RuntimeError(f"no form opened: {refusals[-1].body.get('text')}")
        view = self.slack.calls_to("views.open")[-1].body["view"]
        return dict(json.loads(view)) if isinstance(view, str) else dict(view)

    async def open_form(self, user: str, command: str, text: str, channel: str = "C0DEMO") -> dict[str, Any]:
        """``user`` runs a command that opens a modal; the modal the bot opened."""
        hook, before = self._hook(), len(self.slack.calls_to("views.open"))
        body = slash_command_body(command, text, user_id=user, channel_id=channel, response_url=self.slack.url + hook)
        await self._post(body)
        return await self._opened(before, hook)

    async def click(self, user: str, msg: Posted, action_id: str) -> str:
        """``user`` presses the button ``action_id`` on a delivered message; the click's response_url hook."""
        hook = self._hook()
        payload = press(
            msg.body, action_id, user=user, channel=msg.channel, ts=msg.ts, response_url=self.slack.url + hook
        )
        await self._post(interaction_body(payload))
        return hook

    async def click_for_form(self, user: str, msg: Posted, action_id: str) -> dict[str, Any]:
        before = len(self.slack.calls_to("views.open"))
        return await self._opened(before, await self.click(user, msg, action_id))

    async def click_for_answer(self, user: str, msg: Posted, action_id: str) -> dict[str, Any]:
        return await self._reply(await self.click(user, msg, action_id))

    async def submit(self, user: str, view: Mapping[str, Any], answers: Mapping[str, Answer]) -> dict[str, Any]:
        """``user`` fills in ``view`` and submits it; the submission (the modal's answer must not be errors)."""
        payload = fill(view, answers, user=user)
        resp = await self._post(interaction_body(payload))
        if resp.content and resp.json().get("response_action") == "errors":
            raise RuntimeError(f"the form was refused: {resp.json()['errors']}")
        return payload

    # -- what Slack shows -----------------------------------------------------------------------------------

    def find(self, channel: str, test: Callable[[Posted], bool]) -> Posted:
        """The latest delivered message in ``channel`` that passes ``test``."""
        found = [p for p in self.slack.posted(channel) if test(p)]
        if not found:
            raise RuntimeError(f"nothing like that was delivered to {channel}")
        return found[-1]

    def step(self, who: str, does: str = "", note: str = "") -> int:
        """Print the next numbered heading ("12. Who does  — note") and return its number."""
        number, self.number = self.number, self.number + 1
        tail = f"  [dim]— {note}[/dim]" if note else ""
        self.console.print(f"[bold cyan]{number}. {who}[/bold cyan]{' ' + does if does else ''}{tail}")
        return number

    def show(
        self, number: int, slug: str, payload: Mapping[str, Any], visibility: str, max_lines: int | None = None
    ) -> None:
        """Render a message as Slack shows it and write its Block Kit JSON as ``NN-slug.json``."""
        self.console.print(render_message(dict(payload), title="Rhythm", visibility=visibility, max_lines=max_lines))
        self.write(number, slug, payload)

    def show_form(self, submission: dict[str, Any], who: str) -> None:
        self.print(render_form(submission, who=who))

    def write(self, number: int, slug: str, payload: Mapping[str, Any]) -> None:
        """Block Kit JSON for the Block Kit Builder: a message's blocks, or a modal with its title and buttons."""
        keys = ("type", "title", "submit", "close", "blocks") if payload.get("type") == "modal" else ("blocks",)
        shown = {k: payload[k] for k in keys if k in payload}
        (self.out / f"{number:02d}-{slug}.json").write_text(
            json.dumps(shown, indent=2, ensure_ascii=False), encoding="utf-8"
        )

    def print(self, *things: RenderableType | str) -> None:
        self.console.print(*things)

    def note(self, mrkdwn: str) -> None:
        """A grey line of commentary (Slack mrkdwn allowed)."""
        self.console.print(Text.from_markup(f"[dim]{mrkdwn_to_markup(mrkdwn)}[/dim]"))


async def _until(slack: FakeSlack, ready: Callable[[], bool]) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + WAIT
    while not ready():
        if loop.time() > deadline:
            raise RuntimeError(f"timed out; calls so far: {[c.method for c in slack.calls[-5:]]}")
        await asyncio.sleep(0.01)
