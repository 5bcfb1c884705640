"""/kpi: who is asking, what they may see, and the scorecard they get."""

from __future__ import annotations

import logging
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.kpi import render_comparison, render_scorecard, render_text
from bot.deps import Deps
from bot.domain.access import (
    UNKNOWN_USER,
    Actor,
    check_can_post,
    check_view_member,
    check_view_team,
    comparable_teams,
    default_team,
)
from bot.domain.commands import KPI_HELP, KpiQuery, KpiSubject, parse_kpi_command
from bot.domain.errors import UserFacingError
from bot.domain.kpi import Scorecard, build_lines, staleness_note, window_for
from bot.domain.kpi_compare import compare_teams
from bot.domain.models import MemberInfo, TeamInfo
from bot.domain.periods import PERIOD_LABELS, DateRange, PeriodKind, period_range, previous_range
from bot.domain.team_days import TeamDays
from bot.services.org_cache import OrgSnapshot, actor_for, org_snapshot
from bot.store import kpis, org, team_day_reads
from bot.store.hot_reads import HOT_READ_ERRORS

log = logging.getLogger(__name__)


async def answer_kpi_command(deps: Deps, *, user_id: str, text: str) -> dict[str, Any]:
    """The reply payload for ``/kpi TEXT`` from ``user_id``: ``text``, ``blocks`` and ``response_type``."""
    query = parse_kpi_command(text)
    if query.subject is KpiSubject.HELP:
        return {**render_text(KPI_HELP), "response_type": "ephemeral"}
    async with deps.sessions() as session:
        actor = await actor_for(deps, session, user_id)
        if actor is None:
            raise UserFacingError(UNKNOWN_USER)
        if query.subject is KpiSubject.COMPARE:
            return {**await _comparison(deps, session, actor, query.period), "response_type": "ephemeral"}
        card = await _scorecard_for(deps, session, actor, query)
    payload = render_scorecard(card)
    return {**payload, "response_type": "in_channel" if query.post else "ephemeral"}


async def _comparison(deps: Deps, session: AsyncSession, actor: Actor, kind: PeriodKind) -> dict[str, Any]:
    """Every team the actor looks after, side by side: each team's own (cached) card for the period."""
    known = await org_snapshot(deps, session)
    teams = known.teams_of(set(comparable_teams(actor, frozenset(known.teams))))
    cards = [await team_scorecard(deps, session, team, kind) for team in teams]
    return render_comparison(PERIOD_LABELS[kind], len(teams), compare_teams(cards))


async def _scorecard_for(deps: Deps, session: AsyncSession, actor: Actor, query: KpiQuery) -> Scorecard:
    if query.subject is KpiSubject.TEAM:
        team = await _resolve_team(deps, session, actor, query.team_key)
        check_view_team(actor, team.id, team.name)
        if query.post:
            check_can_post(actor)
        return await team_scorecard(deps, session, team, query.period)
    if query.subject is KpiSubject.ME:
        member = await org.member_by_id(session, actor.member_id)
        assert member is not None  # the actor was just loaded in this session
    else:
        member = await org.member_by(session, slack_user_id=query.slack_user_id, email=query.email)
        if member is None:
            who = f"<@{query.slack_user_id}>" if query.slack_user_id else query.email
            raise UserFacingError(f"{who} isn't on any Rhythm roster, so I have no figures for them.")
        check_view_member(actor, member.id, member.team_id, member.name)
    return await member_scorecard(deps, session, member, query.period)


async def _resolve_team(deps: Deps, session: AsyncSession, actor: Actor, team_key: str | None) -> TeamInfo:
    known = await org_snapshot(deps, session)
    if team_key is not None:
        team = known.team_by_key(team_key)
        if team is None:
            raise UserFacingError(f"I don't know a team called `{team_key}`." + _team_hint(known, actor))
        return team
    try:
        team_id = default_team(actor)
    except UserFacingError as exc:
        raise UserFacingError(exc.message + _team_hint(known, actor)) from None
    team = known.teams.get(team_id) or await org.team_by_id(session, team_id)  # a team newer than the cache
    assert team is not None  # the actor's team exists: a foreign key
    return team


def _team_hint(known: OrgSnapshot, actor: Actor) -> str:
    teams = known.teams_of(set(actor.oversees) | ({actor.team_id} if actor.team_id else set()))
    return (" Your teams: " + ", ".join(f"`{t.key}`" for t in teams) + ".") if teams else ""


def _subtitle(kind: PeriodKind, days: str) -> str:
    return f"{PERIOD_LABELS[kind]} · {days}"


async def team_scorecard(
    deps: Deps, session: AsyncSession, team: TeamInfo, kind: PeriodKind, *, today: date | None = None
) -> Scorecard:
    """The team's card for ``kind`` as of ``today`` (default: the team's local date now)."""
    today = today or deps.clock.now().astimezone(team.tz).date()
    key = ("team", team.id, kind, today)
    card: Scorecard = await deps.scorecards.get_or_compute(
        key, lambda: _team_scorecard(deps, session, team, kind, today)
    )
    return card


async def _team_scorecard(
    deps: Deps, session: AsyncSession, team: TeamInfo, kind: PeriodKind, today: date
) -> Scorecard:
    current = period_range(kind, today)
    previous = previous_range(kind, current)
    known = await org_snapshot(deps, session)
    days = await _team_days(deps, session, team.id, today)
    targets = known.targets.get(team.id, {})
    lines, up_to = days.lines(known.metrics, targets, current, previous, partial_day=kind is PeriodKind.TODAY)
    stale = staleness_note(up_to, deps.clock.now(), timedelta(minutes=deps.settings.stale_after_minutes))
    return Scorecard(
        title=team.name,
        subtitle=_subtitle(kind, current.describe()),
        lines=lines,
        team_size=known.sizes.get(team.id, 0),
        data_up_to=up_to.astimezone(team.tz) if up_to else None,
        period_key=kind.value,
        notes=(stale,) if stale and kind is PeriodKind.TODAY else (),
    )


def _every_window(today: date) -> DateRange:
    """The days any period's scorecard needs today: one read serves every period a team is asked for."""
    windows = [window_for(c, previous_range(k, c)) for k in PeriodKind for c in [period_range(k, today)]]
    return DateRange(min(w.start for w in windows), max(w.end for w in windows))


async def _team_days(deps: Deps, session: AsyncSession, team_id: int, today: date) -> TeamDays:
    async def load() -> TeamDays:
        days = _every_window(today)
        if (reader := deps.hot_reads) is not None:  # a bounded read, on the loop's thread
            read = team_day_reads.team_days_pg if reader.dialect == "postgresql" else team_day_reads.team_days_sqlite
            try:
                return await reader.run(read, days=days, team_id=team_id)
            except HOT_READ_ERRORS as exc:  # a locked SQLite, PostgreSQL away: the async engine's slower road
                log.warning("hot read failed (%s); reading through the async engine", type(exc).__name__)
        return await team_day_reads.team_days(session, days=days, team_id=team_id)

    days: TeamDays = await deps.scorecards.get_or_compute(("team-days", team_id, today), load)
    return days


async def member_scorecard(deps: Deps, session: AsyncSession, member: MemberInfo, kind: PeriodKind) -> Scorecard:
    team = await org.team_by_id(session, member.team_id) if member.team_id else None
    tz = team.tz if team else ZoneInfo(deps.settings.default_timezone)
    today = deps.clock.now().astimezone(tz).date()
    current = period_range(kind, today)
    previous = previous_range(kind, current)
    rows = await kpis.day_sums(session, days=window_for(current, previous), member_id=member.id)
    targets = await org.load_targets(session, team.id) if team else {}
    lines = build_lines(
        await org.load_metrics(session),
        rows,
        targets,
        current,
        previous,
        partial_day=kind is PeriodKind.TODAY,
    )
    up_to = await kpis.latest_sample_end(session, days=current, member_id=member.id)
    return Scorecard(
        title=member.name + (f" ({team.name})" if team else ""),
        subtitle=_subtitle(kind, current.describe()),
        lines=lines,
        team_size=None,
        data_up_to=up_to.astimezone(tz) if up_to else None,
        period_key=kind.value,
    )
