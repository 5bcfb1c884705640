"""``rhythm demo``: a demo campaign in embedded SQLite, driven through the real app path.

Signed slash commands go into the ASGI app (FastAPI → Bolt → handlers → services → store); the Bolt app's Web
API calls go to a recorder on 127.0.0.1. Each answer is shown as Slack would show it and written as Block Kit
JSON, ready to paste into Slack's Block Kit Builder. After the day's scheduled posts comes "the morning after"
(:mod:`bot.sandbox.demo_morning`): a huddle, a process-change notice and a 1:1.
"""

from __future__ import annotations

import base64
import json
import time
from dataclasses import dataclass
from datetime import datetime, timedelta
from datetime import time as clock_time
from pathlib import Path
from typing import Any

import httpx
from cryptography.fernet import Fernet
from pydantic import SecretStr
from rich.console import Console
from sqlalchemy.engine import make_url

from bot.api.app import create_asgi_app
from bot.clock import FixedClock, SystemClock
from bot.config import Settings
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps, build_deps
from bot.ingest.kpis import import_kpis
from bot.ingest.roster import import_roster
from bot.sandbox import demo_data
from bot.sandbox.demo_morning import play_morning
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.sandbox.terminal import render_message
from bot.services.report import post_campaign_report
from bot.services.snapshots import post_team_snapshot
from bot.store import outbox
from bot.store.migrate import upgrade
from bot.store.org import apply_org, team_schedules

DEMO_SECRET = "demo-signing-secret"
MANAGERS_CHANNEL = "C0MANAGERS"


@dataclass(frozen=True)
class Scene:
    who: str
    user_id: str
    text: str
    note: str


def scenes() -> list[Scene]:
    alpha, bravo = demo_data.TEAMS[0], demo_data.TEAMS[1]
    struggling = demo_data.agent_id(alpha, 3)
    agent = demo_data.agent_id(alpha, 5)
    return [
        Scene(
            "Alpha's team leader",
            demo_data.lead_id(alpha),
            "team",
            "Today so far, the team leader's own team",
        ),
        Scene(
            "Alpha's team leader",
            demo_data.lead_id(alpha),
            "team mtd",
            "Month to date vs the same days last month",
        ),
        Scene(
            "Alpha's team leader",
            demo_data.lead_id(alpha),
            f"<@{struggling}|agent> 30d",
            "One agent, 30 days",
        ),
        Scene("An Alpha agent", agent, "me wtd", "An agent's own figures, week to date"),
        Scene("An Alpha agent", agent, f"team {bravo.key}", "An agent asks for another team: a polite refusal"),
        Scene(
            "The ops manager",
            demo_data.MANAGER_ID,
            f"team {bravo.key} yesterday",
            "The manager looks at Bravo",
        ),
        Scene("The ops manager", demo_data.MANAGER_ID, "compare 7d", "Every team side by side, best first"),
        Scene("Someone not on a roster", "U0STRANGER", "team", "An unknown user gets a hint"),
        Scene(
            "Alpha's team leader",
            demo_data.lead_id(alpha),
            "team 7d post",
            "Posted into the channel for everyone",
        ),
        Scene("Alpha's team leader", demo_data.lead_id(alpha), "help", "Usage help"),
    ]


async def seed(settings: Settings, now: Any) -> tuple[int, int]:
    deps = build_deps(settings, clock=FixedClock(now))
    try:
        await upgrade(deps.engine)
        async with deps.sessions() as session:
            await apply_org(session, demo_data.org_spec())
            result = await import_roster(session, demo_data.roster())
            if result.errors:
                raise RuntimeError(f"demo roster invalid: {result.errors[:3]}")
            count, errors = await import_kpis(session, demo_data.kpi_records(now), source="demo")
            if errors:
                raise RuntimeError(f"demo KPI data invalid: {errors[:3]}")
            await session.commit()
        return len(result.created), count
    finally:
        await deps.close()


def _reset_sqlite(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite" and parsed.database:
        for suffix in ("", "-wal", "-shm"):
            Path(parsed.database + suffix).unlink(missing_ok=True)


async def run_demo(settings: Settings, *, out: Path, console: Console) -> None:
    _reset_sqlite(settings.database_url)
    now = demo_data.demo_now(SystemClock().now())
    started = time.perf_counter()
    agents, samples = await seed(settings, now)
    console.print(
        f"[bold]Rhythm demo[/bold] · {len(demo_data.TEAMS)} teams, {agents} agents, {samples:,} KPI samples "
        f"in {settings.database_url} ({time.perf_counter() - started:.1f}s)\n"
        f"Clock set to {now:%A %d %B %Y %H:%M} Africa/Johannesburg.\n"
    )
    out.mkdir(parents=True, exist_ok=True)  # noqa: ASYNC240 - once, before any request
    async with FakeSlack() as slack:
        demo_settings = settings.model_copy(
            update={
                "slack_api_url": slack.api_url,
                "slack_bot_token": SecretStr("xoxb-demo"),
                "slack_signing_secret": SecretStr(DEMO_SECRET),
                "managers_channel": MANAGERS_CHANNEL,
                # private 1:1 notes are encrypted at rest: a throwaway key for this run's throwaway database
                "encryption_key": SecretStr(Fernet.generate_key().decode()),
            }
        )
        clock = FixedClock(now)
        deps = build_deps(demo_settings, clock=clock)
        asgi = create_asgi_app(demo_settings, deps=deps)
        try:
            async with httpx.AsyncClient(transport=httpx.ASGITransport(app=asgi), base_url="http://rhythm") as http:
                for i, scene in enumerate(scenes(), start=1):
                    await _play(i, scene, http, slack, out, console)
            step = await _scheduled(deps, clock, slack, out, console)
            await play_morning(deps, clock, slack, asgi, out=out, console=console, first=step, secret=DEMO_SECRET)
        finally:
            await deps.close()
        methods = sorted({c.method for c in slack.calls if not c.method.startswith("webhook:")})
        console.print(f"Web API calls the bot made to the local recorder: {', '.join(methods) or 'none'}")
    console.print(f"Block Kit JSON for each message is in [bold]{out}/[/bold] (paste into Slack's Block Kit Builder).")


async def _scheduled(deps: Deps, clock: FixedClock, slack: FakeSlack, out: Path, console: Console) -> int:
    """What Rhythm posts on its own: the 16:00 snapshot and the 17:30 campaign report, queued in the outbox
    and sent by the delivery worker (paced per channel) to the local recorder. Returns the next step's number."""
    worker = DeliveryWorker(deps, create_delivery_client(deps.settings, "xoxb-demo"))
    day = clock.now().astimezone(demo_data.TZ).date()
    async with deps.sessions() as session:
        alpha = next(s for s in await team_schedules(session) if s.team.key == demo_data.TEAMS[0].key)
    for at in ("16:00", "17:30"):
        clock.set(datetime.combine(day, clock_time.fromisoformat(at), demo_data.TZ) + timedelta(seconds=5))
        if at == "16:00":
            await post_team_snapshot(deps, alpha, at)
        else:
            await post_campaign_report(deps)
        for _ in range(5):  # the chart follows the report text in one channel: 1 message/s per channel
            await worker.run_once()
            clock.set(clock.now() + timedelta(seconds=2))
    n = len(scenes())
    for msg in slack.posted():
        n += 1
        where = "the managers' channel" if msg.channel == MANAGERS_CHANNEL else f"the team channel {msg.channel}"
        if msg.kind == "file":
            console.print(f"[bold cyan]{n}. Rhythm uploads the trend chart[/bold cyan] to {where}\n")
            continue
        console.print(f"[bold cyan]{n}. Rhythm posts on schedule[/bold cyan] in {where}")
        console.print(render_message(msg.body, title="Rhythm", visibility="posted by the bot via the outbox"))
        console.print()
        (out / f"{n:02d}-scheduled-{msg.channel}.json").write_text(
            json.dumps({"blocks": msg.body.get("blocks", [])}, indent=2, ensure_ascii=False), encoding="utf-8"
        )
    async with deps.sessions() as session:
        chart = await outbox.get(session, f"campaign-report:{day.isoformat()}T17:30:chart")
    if chart is not None and chart.status == "sent":
        (out / "campaign-chart.png").write_bytes(base64.b64decode(chart.payload["content_b64"]))
        console.print(f"The trend chart is in [bold]{out}/campaign-chart.png[/bold].\n")
    return n + 1


async def _play(i: int, scene: Scene, http: httpx.AsyncClient, slack: FakeSlack, out: Path, console: Console) -> None:
    body = slash_command_body("/kpi", scene.text, user_id=scene.user_id, response_url=slack.url + f"hook/{i}")
    t0 = time.perf_counter()
    resp = await http.post("/slack/events", content=body, headers=signed_headers(DEMO_SECRET, body))
    elapsed_ms = (time.perf_counter() - t0) * 1000
    payload: dict[str, Any] = (
        resp.json() if resp.headers.get("content-type", "").startswith("application/json") else {"text": resp.text}
    )
    hooks = slack.calls_to(f"webhook:/hook/{i}")
    if hooks:  # answered after the ack via response_url
        payload = hooks[-1].body
    visible = (
        "visible to everyone in the channel" if payload.get("response_type") == "in_channel" else "only visible to you"
    )
    console.print(
        f"[bold cyan]{i}. {scene.who}[/bold cyan] types [bold]/kpi {scene.text}[/bold]  [dim]— {scene.note}[/dim]"
    )
    console.print(render_message(payload, title="Rhythm", visibility=f"{visible} · acked in {elapsed_ms:.0f} ms"))
    console.print()
    slug = "-".join(scene.text.replace("<@", "").replace(">", "").replace("|", "-").split()) or "team"
    (out / f"{i:02d}-kpi-{slug}.json").write_text(
        json.dumps({"blocks": payload.get("blocks", [])}, indent=2, ensure_ascii=False), encoding="utf-8"
    )
