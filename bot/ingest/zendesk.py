"""Pull Zendesk Support tickets into KPI samples: solved tickets per agent per local day.

Each run recomputes a window. Every ticket changed since ``since`` is exported (see
:mod:`bot.ingest.zendesk_client`); a ticket solved at ``t`` changed at ``t`` or later, so for every agent-day
that *starts* at or after ``since`` (midnight in the agent's team time zone) the export holds every ticket
solved that day, and the day's figures can be written whole. Tickets solved on earlier days also turn up (they
changed since) but are left alone: their day is only partly in view. A scheduled job should therefore pull a
rolling window, e.g. ``since = now - 2 days``, which covers yesterday and today in every time zone.

Per (assignee, local day of the metric set's ``solved_at``), over tickets now ``solved`` or ``closed``:

- ``items``: tickets solved (sum).
- ``resolution``: one-touch rate: tickets with at most one public agent reply / tickets solved.
- ``sla``: first reply within ``sla_target_minutes``: met / tickets that had a first agent reply, with reply
  time in business or calendar minutes (Ticket Metrics ``reply_time_in_minutes``). No reply, no SLA sample.
- ``aht`` is not produced: Ticket Metrics has waiting, on-hold and resolution times but no handle (work) time.

The subject is the assignee's Zendesk user id, matched to ``Member.external_id``; samples are tagged
``source="zendesk"``. Rows go through the KPI importer's validation and upsert; agent-day samples from earlier
runs inside the window that this run did not produce (the ticket was reassigned, reopened, or deleted) are
removed in the same transaction, so the window is replaced, not just added to.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlmodel import col

from bot.config import ConfigError, env_name
from bot.deps import Deps
from bot.ingest.kpis import Subject, import_kpis, load_lookups
from bot.ingest.records import Record, RowError
from bot.ingest.zendesk_client import (
    DEFAULT_MAX_PAGES,
    Hours,
    TicketFacts,
    ZendeskClient,
    zendesk_client_from_settings,
)
from bot.store import audit, kpis
from bot.store.tables import KpiSample, utcnow

__all__ = [
    "METRICS",
    "SOURCE",
    "Mapped",
    "MappingOptions",
    "PullResult",
    "map_solved_tickets",
    "pull_zendesk",
    "zendesk_client_from_settings",
]

log = logging.getLogger(__name__)

SOURCE = "zendesk"
METRICS = ("items", "resolution", "sla")
_SOLVED = frozenset({"solved", "closed"})


@dataclass(frozen=True, slots=True)
class MappingOptions:
    sla_target_minutes: float = 60.0  # first reply at or under this many minutes meets the SLA
    hours: Hours = "business"  # which reply_time_in_minutes figure to compare


@dataclass(slots=True)
class _Tally:
    solved: int = 0
    one_touch: int = 0
    replied: int = 0
    met: int = 0


@dataclass(frozen=True, slots=True)
class Mapped:
    records: list[Record]  # importer records: metric, subject, date, numerator[, denominator], source
    solved: int  # solved tickets counted into the records
    unknown_assignees: frozenset[str]  # assignee ids with tickets solved in the window but no time zone


def map_solved_tickets(
    tickets: Iterable[TicketFacts],
    *,
    zones: Mapping[str, ZoneInfo],
    since: datetime,
    options: MappingOptions = MappingOptions(),
) -> Mapped:
    """KPI records for agent-days that start at or after ``since``. Pure.

    Args:
        zones: assignee id (as a string) -> the agent's team time zone; assignees not in it are reported.
        since: aware start of the export window.
    """
    tallies: dict[tuple[str, date], _Tally] = {}
    unknown: set[str] = set()
    for t in tickets:
        if t.status not in _SOLVED or t.assignee_id is None or t.solved_at is None:
            continue
        subject = str(t.assignee_id)
        tz = zones.get(subject)
        if tz is None:
            if t.solved_at >= since:
                unknown.add(subject)
            continue
        day = t.solved_at.astimezone(tz).date()
        if datetime.combine(day, time(0), tz) < since:
            continue  # the day began before the window: some of its tickets may not be in this export
        tally = tallies.setdefault((subject, day), _Tally())
        tally.solved += 1
        replies = t.replies or 0
        tally.one_touch += int(replies <= 1)
        minutes = t.reply_minutes(options.hours)
        if replies > 0 and minutes is not None:
            tally.replied += 1
            tally.met += int(minutes <= options.sla_target_minutes)
    records: list[Record] = []
    for (subject, day), n in sorted(tallies.items()):
        base = {"subject": subject, "date": day.isoformat(), "source": SOURCE}
        records.append({"metric": "items", **base, "numerator": n.solved})
        records.append({"metric": "resolution", **base, "numerator": n.one_touch, "denominator": n.solved})
        if n.replied:
            records.append({"metric": "sla", **base, "numerator": n.met, "denominator": n.replied})
    return Mapped(records, sum(n.solved for n in tallies.values()), frozenset(unknown))


@dataclass(frozen=True, slots=True)
class PullResult:
    tickets_seen: int  # distinct tickets in the export
    solved: int  # tickets solved on complete agent-days in the window, counted into samples
    records_upserted: int
    records_removed: int  # earlier samples in the window that this run no longer produces
    unknown_assignees: tuple[str, ...]  # Zendesk user ids with no member (or a member with no team)
    pages: int
    complete: bool  # False: the page cap stopped the export and nothing was written
    next_cursor: str | None  # Zendesk's last after_cursor (for a consumer that resumes; the window does not)
    errors: tuple[RowError, ...] = field(default=())  # validation errors; nothing was written


async def pull_zendesk(
    deps: Deps,
    *,
    since: datetime,
    client: ZendeskClient | None = None,
    options: MappingOptions = MappingOptions(),
    max_pages: int = DEFAULT_MAX_PAGES,
    actor: str = "zendesk",
) -> PullResult:
    """Export tickets changed since ``since``, recompute the agent-days in the window, commit once.

    Args:
        since: aware; at least a minute before ``deps.clock.now()`` (Zendesk excludes the latest minute).
        client: defaults to one built from settings (and closed afterwards).
        actor: recorded in the audit log ("cli", "job:zendesk-pull").

    Raises:
        ConfigError: no client given and Zendesk is not configured.
        ZendeskError: the API refused or kept failing; nothing was written.
    """
    if since.tzinfo is None:
        raise ValueError("since must be timezone-aware")
    if since > deps.clock.now() - timedelta(minutes=1):
        raise ValueError("since must be at least a minute in the past")
    if client is None:
        own = zendesk_client_from_settings(deps.settings)
        if own is None:
            raise ConfigError(f"Zendesk is not configured: set {env_name('zendesk_subdomain')}")
        async with own:
            export = await own.export_tickets(since=since, max_pages=max_pages)
    else:
        export = await client.export_tickets(since=since, max_pages=max_pages)

    result = PullResult(len(export.tickets), 0, 0, 0, (), export.pages, export.complete, export.next_cursor)
    if not export.complete:
        log.warning("zendesk pull stopped at %d page(s) before the end; nothing written", export.pages)
        return result

    async with deps.sessions() as session:
        lookups = await load_lookups(session)
        zones = {ref: s.tz for ref, s in lookups.subjects.items() if isinstance(s, Subject)}
        mapped = map_solved_tickets(export.tickets, zones=zones, since=since, options=options)
        records = [r for r in mapped.records if r["metric"] in lookups.metrics]  # org.yml may drop a metric
        started = utcnow()  # the upsert stamps ingested_at with the same clock
        count, errors = await import_kpis(session, list(enumerate(records, start=1)), source=SOURCE)
        unknown = tuple(sorted(mapped.unknown_assignees, key=lambda s: (len(s), s)))
        if errors:
            await session.rollback()
            log.warning("zendesk pull: %d invalid record(s); nothing written", len(errors))
            return replace(result, unknown_assignees=unknown, errors=tuple(errors))
        metric_ids = [lookups.metrics[k][0] for k in METRICS if k in lookups.metrics]
        stale = await session.execute(
            delete(KpiSample)
            .where(
                col(KpiSample.source) == SOURCE,
                col(KpiSample.metric_id).in_(metric_ids),
                col(KpiSample.member_id).is_not(None),
                col(KpiSample.period_start) >= since,
                col(KpiSample.ingested_at) < started,
            )
            .returning(col(KpiSample.team_id), col(KpiSample.day))
        )
        gone = stale.all()
        await kpis.refresh_days(session, {(team_id, day) for team_id, day in gone})  # the daily sums forget them too
        removed = len(gone)
        audit.record(
            session,
            actor=actor,
            action="kpis.pull",
            subject=SOURCE,
            since=since.isoformat(),
            rows=count,
            removed=removed,
            tickets=len(export.tickets),
            unknown_assignees=len(unknown),
        )
        await session.commit()
    if unknown:
        log.warning("zendesk pull: %d assignee id(s) match no member with a team: %s", len(unknown), unknown)
    log.info("zendesk pull: %d ticket(s), %d sample(s) upserted, %d removed", len(export.tickets), count, removed)
    return replace(
        result, solved=mapped.solved, records_upserted=count, records_removed=removed, unknown_assignees=unknown
    )
