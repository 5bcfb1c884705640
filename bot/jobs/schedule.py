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
    settings = deps.settings
    # Site-wide jobs: (id, function, trigger, enabled). Each claims its own work in the database, so restarts
    # and replicas never send twice:
    # - notice-tick: due reminders and deadline escalations (rows unique per version, member and kind);
    # - huddle-tick: just after each minute turns, due prompts, reminders and closes (bot.services.huddle_tick);
    # - coaching-follow-ups / coaching-retention: follow-up DMs (each session once) and the daily purge; like
    #   every job they also run at start-up, so a missed one goes out late.
    site: list[tuple[str, Callable[..., Awaitable[Any]], BaseTrigger, bool]] = [
        ("adherence-scan", scan_adherence, IntervalTrigger(minutes=1), True),
        ("notice-tick", run_notice_tick, IntervalTrigger(minutes=1), True),
        ("huddle-tick", run_huddle_tick, CronTrigger(minute="*", second=2, timezone="UTC"), True),
        ("adherence-kpis", run_adherence_kpis, IntervalTrigger(minutes=settings.adherence_kpi_minutes), True),
        (
            "presence-pull",
            run_presence_pull,
            IntervalTrigger(seconds=settings.presence_poll_seconds),
            bool(settings.presence_feed_url),
        ),
        ("coaching-follow-ups", run_coaching_follow_ups, IntervalTrigger(minutes=15), True),
        (
            "coaching-retention",
            run_coaching_retention,
            cron_at(RETENTION_TIME, "mon,tue,wed,thu,fri,sat,sun", settings.default_timezone),
            bool(settings.coaching_retention_months),
        ),
        (
            "zendesk-pull",
            run_zendesk_pull,
            IntervalTrigger(minutes=settings.zendesk_pull_minutes),
            bool(settings.zendesk_subdomain),
        ),
        (
            "campaign-report",
            post_campaign_report,
            cron_at(settings.campaign_report_time, "mon,tue,wed,thu,fri", settings.default_timezone),
            bool(settings.managers_channel),
        ),
    ]
    specs += [JobSpec(job_id, func, trigger, {"deps": deps}) for job_id, func, trigger, enabled in site if enabled]
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
