"""The end-of-day campaign report for the ops manager channel: text first, the trend chart second."""

from __future__ import annotations

import asyncio
import base64
import logging
from datetime import date, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.report import render_campaign_report
from bot.deps import Deps
from bot.domain.kpi import SPARK_DAYS, DaySums, build_lines, index_days, staleness_note, value_of
from bot.domain.metrics import MetricDef
from bot.domain.models import TeamSchedule
from bot.domain.periods import DateRange
from bot.domain.report import CampaignReport, TeamDay, movers
from bot.domain.schedule import SlotDecision, decide, latest_slot, parse_calendar, parse_hhmm, slot_name
from bot.services.charts import Panel, render_trend_png
from bot.store import jobruns, kpis, org, outbox

log = logging.getLogger(__name__)
CHART_METRICS = ("sla", "csat", "qa", "adherence")  # the key KPIs drawn, when they have data


def previous_working_day(schedule: TeamSchedule, day: date) -> date:
    cal = parse_calendar(schedule.team.timezone, schedule.working_days, schedule.holidays)
    prev = day - timedelta(days=1)
    for _ in range(14):
        if cal.is_working_day(prev):
            return prev
        prev -= timedelta(days=1)
    return day - timedelta(days=1)


async def build_report(deps: Deps, session: AsyncSession, day: date) -> tuple[CampaignReport, list[Panel], list[date]]:
    schedules = await org.team_schedules(session)
    metrics = await org.load_metrics(session)
    window = DateRange(day - timedelta(days=SPARK_DAYS - 1), day)
    sums = await kpis.day_sums_by_team(session, days=window)
    now = deps.clock.now()
    stale_after = timedelta(minutes=deps.settings.stale_after_minutes)
    teams: list[TeamDay] = []
    for s in schedules:
        rows = sums.get(s.team.id, [])
        previous = previous_working_day(s, day)
        lines = build_lines(
            metrics,
            rows,
            await org.load_targets(session, s.team.id),
            DateRange(day, day),
            DateRange(previous, previous),
            partial_day=True,  # figures may still be arriving: a day's count is not compared with a whole day
        )
        up_to = await kpis.latest_sample_end(session, days=DateRange(day, day), team_id=s.team.id)
        teams.append(TeamDay(s.team.name, lines, staleness_note(up_to, now, stale_after)))
    worst, best = movers(teams)
    days = [window.start + timedelta(days=i) for i in range(window.days)]
    panels = _panels(metrics, {s.team.name: sums.get(s.team.id, []) for s in schedules}, teams, days)
    return CampaignReport(day, tuple(teams), worst, best), panels, days


def _panels(
    metrics: list[MetricDef], rows_by_team: dict[str, list[DaySums]], teams: list[TeamDay], days: list[date]
) -> list[Panel]:
    by_key = {m.key: m for m in metrics}
    panels = []
    for key in CHART_METRICS:
        metric = by_key.get(key)
        if metric is None:
            continue
        series = {}
        for name, rows in rows_by_team.items():
            index = index_days(rows)
            values = [value_of(index[(key, d)], metric) if (key, d) in index else None for d in days]
            if any(v is not None for v in values):
                series[name] = values
        if not series:
            continue
        targets = {line.target.green for t in teams for line in t.lines if line.metric.key == key and line.target}
        unit = f" ({metric.unit.value})" if metric.unit.value in {"%", "s", "/h"} else ""
        panels.append(Panel(f"{metric.label}{unit}", series, targets.pop() if len(targets) == 1 else None))
    return panels


async def queue_campaign_report(deps: Deps, session: AsyncSession, *, day: date, channel: str, key: str) -> None:
    """Queue the report text, then the chart (the outbox keeps per-channel order). Caller commits."""
    report, panels, days = await build_report(deps, session, day)
    now = deps.clock.now()
    await outbox.enqueue(session, key=f"{key}:text", channel=channel, payload=render_campaign_report(report), now=now)
    if not report.has_data or not panels:
        return
    png = await asyncio.to_thread(render_trend_png, days, panels)
    await outbox.enqueue(
        session,
        key=f"{key}:chart",
        channel=channel,
        now=now,
        kind="upload",
        payload={
            "filename": f"campaign-{day.isoformat()}.png",
            "title": f"KPI trends, last {len(days)} days to {day:%d %b}",
            "content_b64": base64.b64encode(png).decode("ascii"),
            "fallback_text": "Trend chart not attached: the app lacks the files:write scope.",
        },
    )


JOB = "campaign-report"


async def post_campaign_report(deps: Deps) -> SlotDecision:
    """Claim today's report slot (site time zone, Mon–Fri) and queue the report, exactly once."""
    channel = deps.settings.managers_channel
    if channel is None:
        return SlotDecision.NOT_DUE
    cal = parse_calendar(deps.settings.default_timezone, "mon,tue,wed,thu,fri", ())
    now = deps.clock.now()
    slot = latest_slot(now, parse_hhmm(deps.settings.campaign_report_time), cal)
    decision = decide(slot, now, timedelta(seconds=deps.settings.misfire_grace_seconds))
    if decision is SlotDecision.NOT_DUE or slot is None:
        return decision
    name = slot_name(slot)
    async with deps.sessions() as session:
        status = "missed" if decision is SlotDecision.MISSED else "claimed"
        claimed = await jobruns.claim(
            session, job_key=JOB, subject="site", slot=name, scheduled_for=slot, status=status
        )
        if claimed and decision is SlotDecision.RUN:
            await queue_campaign_report(deps, session, day=slot.date(), channel=channel, key=f"{JOB}:{name}")
            await jobruns.finish(session, job_key=JOB, subject="site", slot=name, status="done")
        elif claimed:
            log.warning("campaign report for %s missed by %s; not posted late", name, now - slot)
        await session.commit()
    if claimed and decision is SlotDecision.RUN:
        deps.outbox_ready.send()
    return decision if claimed else SlotDecision.NOT_DUE
