"""The schedule table, built from team settings in the database, and the APScheduler that runs it.

Jobs only say *when*; every run claims its slot in the database (``bot.store.jobruns``), so restarts,
misfire catch-up and a second replica never post twice. Cron fields use day names, never numbers
(APScheduler counts Monday as 0, cron as 1).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger

from bot.deps import Deps
from bot.domain.models import TeamSchedule
from bot.domain.schedule import parse_hhmm
from bot.services.adherence import scan_adherence
from bot.services.adherence_kpis import run_adherence_kpis
from bot.services.coaching_jobs import RETENTION_TIME, run_coaching_follow_ups, run_coaching_retention
from bot.services.huddle_tick import run_huddle_tick
from bot.services.notice_reminders import run_notice_tick
from bot.services.presence import run_presence_pull
from bot.services.pull import run_zendesk_pull
from bot.services.report import post_campaign_report
from bot.services.snapshots import post_team_snapshot
from bot.store import org

log = logging.getLogger(__name__)
RELOAD_SECONDS = 60


@dataclass(frozen=True)
class JobSpec:
    id: str
    func: Callable[..., Awaitable[Any]]
    trigger: BaseTrigger
    kwargs: dict[str, Any]


def cron_at(hhmm: str, days: str, timezone: str) -> CronTrigger:
    at = parse_hhmm(hhmm)
    return CronTrigger(day_of_week=days, hour=at.hour, minute=at.minute, timezone=timezone)


def job_specs(deps: Deps, teams: list[TeamSchedule]) -> list[JobSpec]:
    specs = [
        JobSpec(
            id=f"kpi-snapshot:{s.team.key}:{at}",
            func=post_team_snapshot,
            trigger=cron_at(at, s.working_days, s.team.timezone),
            kwargs={"deps": deps, "schedule": s, "at": at},
        )
        for s in teams
        if s.working_days and s.team.channel_id
        for at in s.snapshot_times
    ]
    specs.append(
        JobSpec(id="adherence-scan", func=scan_adherence, trigger=IntervalTrigger(minutes=1), kwargs={"deps": deps})
    )
    # Notices: reminders that are due and deadline escalations, once each (rows unique per version, member and
    # kind; escalation slots in job_run), so any number of ticks or replicas send each one once.
    specs.append(
        JobSpec(id="notice-tick", func=run_notice_tick, trigger=IntervalTrigger(minutes=1), kwargs={"deps": deps})
    )
    # Huddles: one tick a minute (just after the minute turns) posts due prompts, reminds and closes; each step
    # is claimed in the database and every huddle's times are its own (see bot.services.huddle_tick).
    specs.append(
        JobSpec(
            id="huddle-tick",
            func=run_huddle_tick,
            trigger=CronTrigger(minute="*", second=2, timezone="UTC"),
            kwargs={"deps": deps},
        )
    )
    specs.append(
        JobSpec(
            id="adherence-kpis",
            func=run_adherence_kpis,
            trigger=IntervalTrigger(minutes=deps.settings.adherence_kpi_minutes),
            kwargs={"deps": deps},
        )
    )
    if deps.settings.presence_feed_url:
        specs.append(
            JobSpec(
                id="presence-pull",
                func=run_presence_pull,
                trigger=IntervalTrigger(seconds=deps.settings.presence_poll_seconds),
                kwargs={"deps": deps},
            )
        )
    # Coaching: follow-up DMs to leads (each session once, at or after its team's follow-up time) and the
    # daily retention purge (claimed once a day); both also run at start-up, so a missed one goes out late.
    specs.append(
        JobSpec(
            id="coaching-follow-ups",
            func=run_coaching_follow_ups,
            trigger=IntervalTrigger(minutes=15),
            kwargs={"deps": deps},
        )
    )
    if deps.settings.coaching_retention_months:
        specs.append(
            JobSpec(
                id="coaching-retention",
                func=run_coaching_retention,
                trigger=cron_at(RETENTION_TIME, "mon,tue,wed,thu,fri,sat,sun", deps.settings.default_timezone),
                kwargs={"deps": deps},
            )
        )
    if deps.settings.zendesk_subdomain:
        specs.append(
            JobSpec(
                id="zendesk-pull",
                func=run_zendesk_pull,
                trigger=IntervalTrigger(minutes=deps.settings.zendesk_pull_minutes),
                kwargs={"deps": deps},
            )
        )
    if deps.settings.managers_channel:
        specs.append(
            JobSpec(
                id="campaign-report",
                func=post_campaign_report,
                trigger=cron_at(
                    deps.settings.campaign_report_time, "mon,tue,wed,thu,fri", deps.settings.default_timezone
                ),
                kwargs={"deps": deps},
            )
        )
    return specs


class Scheduler:
    """APScheduler 3 in the app's event loop, with jobs rebuilt whenever the org changes."""

    def __init__(self, deps: Deps) -> None:
        self.deps = deps
        self.aps = AsyncIOScheduler(timezone="UTC")
        self._version: str | None = None
        self._specs: list[JobSpec] = []

    async def start(self) -> None:
        await self.reload()
        await self.catch_up()
        self.aps.add_job(
            self.reload,
            IntervalTrigger(seconds=RELOAD_SECONDS),
            id="reload-schedule",
            replace_existing=True,
            coalesce=True,
            max_instances=1,
        )
        self.aps.start()

    async def stop(self) -> None:
        if self.aps.running:
            self.aps.shutdown(wait=False)

    async def reload(self) -> bool:
        """Rebuild the job table if the org changed since the last build; True when rebuilt."""
        async with self.deps.sessions() as session:
            version = await org.org_version(session)
            if version == self._version:
                return False
            teams = await org.team_schedules(session)
        self._specs = job_specs(self.deps, teams)
        wanted = {spec.id for spec in self._specs}
        for job in self.aps.get_jobs():
            if job.id != "reload-schedule" and job.id not in wanted:
                job.remove()
        for spec in self._specs:
            self.aps.add_job(
                spec.func,
                spec.trigger,
                id=spec.id,
                kwargs=spec.kwargs,
                replace_existing=True,
                coalesce=True,
                max_instances=1,
                misfire_grace_time=self.deps.settings.misfire_grace_seconds,
            )
        self._version = version
        log.info("schedule rebuilt: %d jobs", len(self._specs))
        return True

    async def catch_up(self) -> None:
        """After a (re)start, run each job once: a slot missed inside the grace window is posted now, an
        older one is recorded as missed, a slot already claimed is left alone."""
        for spec in self._specs:
            try:
                await spec.func(**spec.kwargs)
            except Exception:
                log.exception("catch-up of %s failed", spec.id)
