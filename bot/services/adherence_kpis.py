"""Daily adherence and conformance KPIs: every few minutes, recompute today so far for every agent with a
schedule (and yesterday once an hour), and write them as KPI samples so ``/kpi`` shows them with targets and RAG
like any metric.

Yesterday is recomputed too, so a late state event, a re-published schedule or a breach excused the next
morning still lands in yesterday's figure. See :mod:`bot.domain.adherence_kpis` for the figures and why they
have their own metric keys.
"""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select

from bot.deps import Deps
from bot.domain.adherence import adherence
from bot.domain.adherence_kpis import METRIC_KEYS, SOURCE, daily_figures, day_window, recent_days
from bot.domain.adherence_policy import team_policy
from bot.domain.adherence_rules import Rules
from bot.store import jobruns, org
from bot.store.adherence import load_agent_days
from bot.store.adherence_kpis import ensure_metrics, figured_elsewhere, replace_computed_samples
from bot.store.tables import Team

log = logging.getLogger(__name__)
JOB = "adherence-kpis"


@dataclass(frozen=True, slots=True)
class KpiRun:
    agent_days: int  # agent-days with at least one figure
    samples: int


async def run_adherence_kpis(deps: Deps) -> KpiRun | None:
    """The scheduled job: once per interval slot across replicas (a slot another run took is skipped)."""
    now = deps.clock.now()
    minutes = deps.settings.adherence_kpi_minutes
    slot = now.replace(second=0, microsecond=0) - timedelta(minutes=(now.hour * 60 + now.minute) % minutes)
    async with deps.sessions() as session:
        claimed = await jobruns.claim(
            session, job_key=JOB, subject="site", slot=slot.strftime("%Y-%m-%dT%H:%M"), scheduled_for=slot
        )
        await session.commit()
    if not claimed:
        return None
    # Today every run; yesterday in the first run of each hour (late events, excuses given the next morning).
    result = await compute_adherence_kpis(deps, days_back=1 if slot.minute < minutes else 0)
    log.info("adherence KPIs: %d agent-days, %d samples", result.agent_days, result.samples)
    return result


async def compute_adherence_kpis(
    deps: Deps, *, days_back: int = 1, only: Mapping[int, Iterable[date]] | None = None
) -> KpiRun:
    """Recompute every team's last ``days_back`` local days and today up to now, or just the (team, local day)s
    in ``only`` (a schedule re-published for older days, ``rhythm adherence recompute``); days not yet begun are
    skipped. Idempotent."""
    now = deps.clock.now()
    rows: list[dict[str, Any]] = []
    agent_days = 0
    async with deps.sessions() as session:
        teams = list((await session.execute(select(Team))).scalars())
        metric_ids = await ensure_metrics(session, METRIC_KEYS)
        rules = {t.id: _rules(t) for t in teams}
        days: dict[int, list[date]] = {}
        work: dict[tuple[str, date], list[int]] = defaultdict(list)  # (zone, local day) -> its teams
        for team in teams:
            assert team.id is not None
            tz = ZoneInfo(team.timezone)
            wanted = recent_days(now, tz, days_back) if only is None else sorted(set(only.get(team.id, ())))
            begun = [d for d in wanted if day_window(d, tz)[0] < now]
            if begun:
                days[team.id] = begun
            for day in begun:
                work[(team.timezone, day)].append(team.id)
        for (zone, day), team_ids in sorted(work.items(), key=lambda item: (item[0][1], item[0][0])):
            start, end = day_window(day, ZoneInfo(zone))
            horizon = min(end, now)
            loaded = await load_agent_days(session, start=start, end=horizon, team_ids=team_ids)
            for n, agent in enumerate(loaded.values(), 1):
                if n % 500 == 0:
                    await asyncio.sleep(0)  # a site's day is seconds of work: let requests through
                result = adherence(
                    agent.segments,
                    agent.events,
                    rules[agent.team_id],
                    window_start=start,
                    window_end=end,
                    now=horizon,
                    excused=agent.excused,
                    history_from=start,
                )
                figures = daily_figures(result)
                agent_days += bool(figures)
                rows += [
                    {
                        "metric_id": metric_ids[f.metric],
                        "subject": f"m:{agent.member_id}",
                        "member_id": agent.member_id,
                        "team_id": agent.team_id,
                        "day": day,
                        "period_start": start,
                        "period_end": horizon,
                        "numerator": f.numerator,
                        "denominator": f.denominator,
                        "source": SOURCE,
                    }
                    for f in figures
                ]
        if only is not None:  # older days: an agent who has moved team keeps those days' figures where they were
            moved = await figured_elsewhere(session, source=SOURCE, rows=rows)
            rows = [r for r in rows if (r["member_id"], r["day"]) not in moved]
        await replace_computed_samples(
            session,
            source=SOURCE,
            metric_ids=list(metric_ids.values()),
            days=days,
            rows=rows,
            keep_history=only is not None,
        )
        await session.commit()
    deps.scorecards.clear()  # new figures: the next /kpi recomputes
    return KpiRun(agent_days, len(rows))


async def recompute_republished(deps: Deps, touched: Mapping[int, Iterable[date]]) -> KpiRun | None:
    """After a schedule re-published through the API: rebuild the touched days before today (in each team's time
    zone; the job redoes yesterday only once an hour, so a re-publish late in the evening would be missed);
    None when there are none."""
    now = deps.clock.now()
    async with deps.sessions() as session:
        zones = {t.id: t.tz for t in await org.all_teams(session)}
    older = {
        team_id: [d for d in days if d < now.astimezone(zones[team_id]).date()]
        for team_id, days in touched.items()
        if team_id in zones
    }
    older = {team_id: days for team_id, days in older.items() if days}
    return await compute_adherence_kpis(deps, only=older) if older else None


def _rules(team: Team) -> Rules:
    try:
        return team_policy(team.adherence).rules
    except ValueError as exc:
        log.error("team %s has invalid adherence settings (%s); using defaults", team.id, exc)
        return team_policy(None).rules
