"""What leads read about notices: ``/notice list``, ``/notice status N`` and the compliance CSV."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.blocks.kpi import render_text
from bot.blocks.notice_status import ListRow, PersonLine, StatusView, TeamStatus, render_list, render_status
from bot.deps import Deps
from bot.domain.access import Role
from bot.domain.errors import UserFacingError
from bot.domain.notice_access import managed_teams
from bot.domain.notice_commands import NOTICE_HELP, NoticeAction, NoticeIntent
from bot.domain.notice_export import ExportRow, csv_text
from bot.domain.notices import AudienceMember, Tally, VersionInfo, short_hash
from bot.services.notices import load_actor
from bot.store import audit, notice_acks, notice_history, notice_reminders, notices
from bot.store.leave import on_leave
from bot.store.tables import Member, Team, pk

LIST_LIMIT = 20


async def answer_notice_command(deps: Deps, *, user_id: str, intent: NoticeIntent) -> dict[str, Any]:
    """The ephemeral answer to ``/notice list | status N | help``."""
    if intent.action is NoticeAction.LIST:
        return await _list(deps, user_id)
    if intent.action is NoticeAction.STATUS and intent.notice_id is not None:
        return await _status(deps, user_id, intent.notice_id)
    return {**render_text(NOTICE_HELP), "response_type": "ephemeral"}


async def _teams(session: AsyncSession, ids: Iterable[int]) -> dict[int, Team]:
    rows = await session.execute(select(Team).where(col(Team.id).in_(list(ids))).order_by(col(Team.name)))
    return {pk(t): t for t in rows.scalars()}


async def _list(deps: Deps, user_id: str) -> dict[str, Any]:
    async with deps.sessions() as session:
        actor = await load_actor(session, user_id)
        if actor.role is Role.AGENT:
            mine = [actor.team_id] if actor.team_id is not None else []
            versions = await notices.current_versions(session, team_ids=mine)
        elif actor.is_admin:
            versions = await notices.current_versions(session)
        else:
            versions = await notices.current_versions(session, team_ids=actor.oversees)
        total = len(versions)
        bases = await notices.baseline_ids(session, versions[:LIST_LIMIT])
        rows = []
        for v in versions[:LIST_LIMIT]:
            if actor.role is Role.AGENT:
                ack = await notice_acks.ack_of(session, version_id=bases[v.notice_id], member_id=actor.member_id)
                rows.append(ListRow(v.notice_id, v.number, v.title, v.deadline, None, mine=ack is not None))
                continue
            audience = await notices.audience_team_ids(session, v.notice_id)
            visible = audience if actor.is_admin else [t for t in audience if t in actor.oversees]
            tally = Tally(0, 0)
            for team_id in visible:
                t = await notice_acks.team_tally(session, version_id=bases[v.notice_id], team_id=team_id)
                tally = Tally(tally.acknowledged + t.acknowledged, tally.audience + t.audience)
            rows.append(ListRow(v.notice_id, v.number, v.title, v.deadline, tally))
        home = await session.get(Team, actor.team_id) if actor.team_id else None
    return render_list(rows, home.timezone if home else deps.settings.default_timezone, total=total)


async def _status(deps: Deps, user_id: str, notice_id: int) -> dict[str, Any]:
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await load_actor(session, user_id)
        current = await notices.current_version(session, notice_id)
        if current is None:
            return {
                **render_text(f"There's no notice #{notice_id} (see `/notice list`)."),
                "response_type": "ephemeral",
            }
        team_ids = managed_teams(actor, notice_id, await notices.audience_team_ids(session, notice_id), what="see")
        base = await notices.version(session, notice_id, current.ack_number)
        assert base is not None
        teams = await _teams(session, team_ids)
        members = await notice_acks.audience_members(session, teams)
        acks = await notice_acks.acks_for(session, base.id)
        reminded = await notice_reminders.last_reminded(session, [base.id])
        away = await _away(session, teams, [m for m in members if m.id not in acks], now)
        statuses = []
        for team_id, team in teams.items():
            people = tuple(
                PersonLine(
                    m.name,
                    acks[m.id].acked_at if m.id in acks else None,
                    acks[m.id].seen_number if m.id in acks else None,
                    on_leave=m.id in away,
                    reminded_at=reminded.get((base.id, m.id)),
                )
                for m in members
                if m.team_id == team_id
            )
            tally = Tally(sum(1 for p in people if p.acked_at is not None), len(people))
            statuses.append(TeamStatus(team.name, team.timezone, tally, people))
    view = StatusView(
        notice_id,
        current.number,
        current.ack_number,
        current.title,
        current.deadline,
        short_hash(current.content_hash),
        tuple(statuses),
    )
    return render_status(view)


async def _away(session: AsyncSession, teams: dict[int, Team], people: list[AudienceMember], now: datetime) -> set[int]:
    """Who of ``people`` is on leave today (each team's local date)."""
    away: set[int] = set()
    for team_id, team in teams.items():
        day = now.astimezone(ZoneInfo(team.timezone)).date()
        away |= await on_leave(session, [m.id for m in people if m.team_id == team_id], day)
    return away


@dataclass(frozen=True, slots=True)
class ExportFile:
    filename: str
    content: str
    rows: int


async def export_rows(
    session: AsyncSession,
    *,
    now: datetime,
    notice_ids: Iterable[int] | None = None,
    since: datetime | None = None,
    team_ids: set[int] | None = None,
) -> list[ExportRow]:
    """Rows of the compliance export (see bot.domain.notice_export), limited to ``team_ids`` when given.

    ``since``: only notices with anything on record (published, changed, acknowledged, reminded) from then on.
    """
    if notice_ids is None and since is not None:
        notice_ids = await notice_history.touched_since(session, since)
    if notice_ids is not None:
        versions = [v for n in notice_ids if (v := await notices.current_version(session, n)) is not None]
    else:
        versions = sorted(await notices.current_versions(session), key=lambda v: v.notice_id)
    rows: list[ExportRow] = []
    for current in versions:
        rows += await _notice_rows(session, current, now, team_ids)
    return rows


async def _notice_rows(
    session: AsyncSession, current: VersionInfo, now: datetime, team_ids: set[int] | None
) -> list[ExportRow]:
    history = {v.number: v for v in await notices.all_versions(session, current.notice_id)}
    material = [v for v in history.values() if v.material and v.number <= current.ack_number]
    audience_teams = await notices.audience_team_ids(session, current.notice_id)
    wanted = [t for t in audience_teams if team_ids is None or t in team_ids]
    teams = await _teams(session, wanted)
    audience = await notice_acks.audience_members(session, teams)
    reminded = await notice_reminders.last_reminded(session, [v.id for v in material])
    all_teams = await _teams(session, [i for i in (await session.execute(select(col(Team.id)))).scalars() if i])
    rows: list[ExportRow] = []
    for base in material:
        acks = await notice_acks.acks_for(session, base.id)
        people = {m.id: m for m in await _members(session, acks)}
        if base.number == current.ack_number:
            people.update({m.id: m for m in audience})
        away = await _away(session, teams, [m for m in people.values() if m.id not in acks], now)
        for m in people.values():
            ack = acks.get(m.id)
            team_id = ack.team_id if ack else m.team_id  # their team when they acknowledged
            if team_ids is not None and team_id not in team_ids:
                continue
            shown = history.get(ack.seen_number, base) if ack else current
            team = all_teams.get(team_id)
            rows.append(
                ExportRow(
                    notice_id=current.notice_id,
                    title=shown.title,
                    version=shown.number,
                    content_hash=shown.content_hash,
                    team=team.name if team else "",
                    member=m.name,
                    email=m.email,
                    acknowledged_at=ack.acked_at if ack else None,
                    reminded_at=reminded.get((base.id, m.id)),
                    on_leave=ack is None and m.id in away,
                )
            )
    return sorted(rows, key=lambda r: (r.notice_id, r.version, r.team, r.member, r.email))


async def _members(session: AsyncSession, ids: Iterable[int]) -> list[AudienceMember]:
    """Everyone with these ids, whatever their role or state now (an acknowledgement outlives a move)."""
    wanted = list(ids)
    if not wanted:
        return []
    rows = await session.execute(select(Member).where(col(Member.id).in_(wanted)))
    return [AudienceMember(pk(m), m.name, m.email, m.slack_user_id, m.team_id or 0) for m in rows.scalars()]


async def export_for(deps: Deps, *, user_id: str, notice_id: int) -> ExportFile:
    """``/notice export N``: the CSV of the caller's teams (admins: every audience team); audited."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await load_actor(session, user_id)
        if await notices.current_version(session, notice_id) is None:
            raise UserFacingError(f"There's no notice #{notice_id} (see `/notice list`).")
        audience = await notices.audience_team_ids(session, notice_id)
        team_ids = managed_teams(actor, notice_id, audience, what="export")
        rows = await export_rows(
            session, now=now, notice_ids=[notice_id], team_ids=None if actor.is_admin else set(team_ids)
        )
        audit.record(
            session, actor=f"slack:{user_id}", action="notice.export", subject=f"notice:{notice_id}", rows=len(rows)
        )
        await session.commit()
    return ExportFile(f"notice-{notice_id}-acknowledgements-{now:%Y%m%d-%H%M}.csv", csv_text(rows), len(rows))
