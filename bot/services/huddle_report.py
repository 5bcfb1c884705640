"""`/huddle report`: a team's closed huddles over a range of local dates, from the tallies stored at close."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.huddle_digest import render_report
from bot.deps import Deps
from bot.domain.huddle import Tally
from bot.domain.huddle_report import HuddleRecord, ReportQuery, build_report
from bot.services.huddles import team_settings
from bot.store import huddles
from bot.store.huddle_people import report_facts, roster
from bot.store.tables import Member, Team


async def huddle_report(deps: Deps, team: Team, query: ReportQuery) -> dict[str, Any]:
    """Attendance from the tallies stored at close; moods and blockers from the check-ins, which are frozen at
    the close (no check-in is written after it), so the report agrees with the digests. An anonymous team's
    mood figures from fewer than three answers stay hidden."""
    assert team.id is not None
    today = deps.clock.now().astimezone(ZoneInfo(team.timezone)).date()
    days = query.range(today)
    async with deps.sessions() as session:
        rows = await huddles.closed_between(session, team.id, days.start, days.end)
        facts = await report_facts(session, [r.id for r in rows if r.id is not None])
        agents = await roster(session, team.id)
        names = {a.id: a.name for a in agents}
        records = [HuddleRecord(row.day, Tally.from_json(row.tally), *facts.get(row.id or 0, ({}, {}))) for row in rows]
        report = build_report(records, names, days, anonymous=team_settings(team).anonymous_mood)
        for line in report.agents:  # someone who has left the team since
            if line.member_id not in names:
                member = await session.get(Member, line.member_id)
                names[line.member_id] = member.name if member else "?"
    span = days.describe() if query.days is None else f"last {days.days} days ({days.describe()})"
    return render_report(team.name, span, report, names)
