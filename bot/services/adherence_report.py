"""/adherence: who is out of adherence right now, and each agent's adherence % for the day."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any

from sqlalchemy import select
from sqlmodel import col

from bot.blocks.adherence import KIND_LABELS
from bot.blocks.kit import context, header, message, section, sections_from_lines
from bot.deps import Deps
from bot.domain.access import UNKNOWN_USER, Role
from bot.domain.adherence import adherence
from bot.domain.adherence_policy import parse_policy
from bot.domain.errors import NotAllowed, UsageError, UserFacingError
from bot.store import org
from bot.store.adherence import load_agent_days
from bot.store.tables import Breach, Member, Team

ADHERENCE_HELP = (
    "*How to use `/adherence`*\n"
    "• `/adherence [TEAM] [today|yesterday]` — who is out of adherence now, and each agent's adherence % "
    "for the day (team leaders and managers)."
)


def parse_adherence_command(text: str) -> tuple[str | None, str]:
    team_key: str | None = None
    day = "today"
    for raw in text.split():
        tok = raw.lower()
        if tok in ("help", "?"):
            raise UsageError(ADHERENCE_HELP)
        if tok in ("today", "yesterday"):
            day = tok
        elif team_key is None:
            team_key = tok
        else:
            raise UsageError(f"I don't understand `{raw}`.\n\n{ADHERENCE_HELP}")
    return team_key, day


async def answer_adherence_command(deps: Deps, *, user_id: str, text: str) -> dict[str, Any]:
    team_key, day_name = parse_adherence_command(text)
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await org.load_actor(session, slack_user_id=user_id)
        if actor is None:
            raise UserFacingError(UNKNOWN_USER)
        if actor.role is Role.AGENT:
            raise NotAllowed("`/adherence` is for team leaders and managers; your own figures are in `/kpi me`.")
        if team_key:
            info = await org.team_by_key(session, team_key)
            if info is None:
                raise UserFacingError(f"I don't know a team called `{team_key}`.")
        else:
            ids = sorted(actor.oversees) or ([actor.team_id] if actor.team_id else [])
            if len(ids) != 1:
                raise UserFacingError("Name a team, e.g. `/adherence alpha`.")
            info = await org.team_by_id(session, ids[0])
            assert info is not None
        if not (actor.is_admin or info.id in actor.oversees):
            raise NotAllowed(f"Sorry, *{info.name}* isn't one of the teams you lead.")
        team = await session.get(Team, info.id)
        assert team is not None
        local_day = now.astimezone(info.tz).date() - timedelta(days=1 if day_name == "yesterday" else 0)
        start = datetime.combine(local_day, time(0), info.tz)
        end = min(now, start + timedelta(days=1))
        days = await load_agent_days(session, start=start, end=end, team_ids=[info.id])
        names = dict((await session.execute(select(col(Member.id), col(Member.name)))).all())
        open_now = list(
            (
                await session.execute(
                    select(Breach)
                    .where(col(Breach.team_id) == info.id, col(Breach.ended_at).is_(None))
                    .order_by(col(Breach.started_at))
                )
            ).scalars()
        )
    rules = parse_policy(team.adherence).rules
    rows = []
    for agent in days.values():
        result = adherence(
            agent.segments,
            agent.events,
            rules,
            window_start=start,
            window_end=end,
            now=end,
            excused=agent.excused,
            history_from=start,
        )
        rows.append((result.adherence_pct, names.get(agent.member_id, "?"), result))
    blocks = [
        header(f"⏱ Adherence — {info.name}, {day_name}"),
        context(f"{local_day:%a %d %b} · {len(rows)} agents scheduled"),
    ]
    if day_name == "today":
        now_lines = [
            f"🔴 *{names.get(b.member_id, '?')}* — {KIND_LABELS.get(b.kind, b.kind)}, "
            f"{int((now - b.started_at).total_seconds() // 60)} min (since {b.started_at.astimezone(info.tz):%H:%M})"
            for b in open_now
        ]
        blocks.append(section("*Out of adherence now*\n" + ("\n".join(now_lines) if now_lines else "Nobody. ✅")))
    if not rows:
        blocks.append(section("No schedules for this day yet (`rhythm import schedule` or the schedule API)."))
        return {**message(f"Adherence {info.name}: no schedules", blocks), "response_type": "ephemeral"}
    rows.sort(key=lambda r: (r[0] is None, r[0] if r[0] is not None else 0.0, r[1]))
    lines = []
    for pct, name, res in rows:
        shown = "—" if pct is None else f"{pct:.1f}%"
        lines.append(
            f"*{name}*  {shown}  ({res.in_seconds / 60:.0f} of {res.counted_seconds / 60:.0f} min in adherence"
            + (f", {res.excused_seconds / 60:.0f} min excused" if res.excused_seconds else "")
            + ")"
        )
    blocks += sections_from_lines(["*Per agent*", *lines])
    total_in = sum(r[2].in_seconds for r in rows)
    counted = sum(r[2].counted_seconds for r in rows)
    team_pct = f"{total_in / counted * 100:.1f}%" if counted else "—"
    blocks.append(
        context(
            f"Team adherence {team_pct} (minutes in adherence ÷ scheduled minutes; neutral and excused time left out)"
        )
    )
    return {**message(f"Adherence {info.name} {day_name}: {team_pct}", blocks), "response_type": "ephemeral"}
