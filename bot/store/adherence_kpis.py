"""Computed adherence KPIs in the KPI tables: the catalogue rows they need, and replacing one source's window."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import date
from typing import Any

from sqlalchemy import and_, delete, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import SQLModel, col

from bot.domain.metrics import DEFAULT_METRICS
from bot.store import kpis
from bot.store.tables import KpiSample, Member, Metric


async def ensure_metrics(session: AsyncSession, keys: Sequence[str]) -> dict[str, int]:
    """Ids of catalogue metrics ``keys``, creating any row that is missing (a database set up before they were
    in the catalogue, and no ``rhythm org apply`` since). Insert-if-absent, so two replicas cannot collide."""
    conn = await session.connection()
    table = SQLModel.metadata.tables[Metric.__tablename__]
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    rows: list[dict[str, Any]] = [
        {"key": m.key, "label": m.label, "unit": m.unit.value, "higher_is_better": m.higher_is_better}
        | {"aggregation": m.aggregation.value, "scale": m.scale, "position": m.position}
        for m in DEFAULT_METRICS
        if m.key in keys
    ]
    await conn.execute(insert(table).on_conflict_do_nothing(index_elements=["key"]), rows)
    found = await session.execute(select(col(Metric.key), col(Metric.id)).where(col(Metric.key).in_(keys)))
    return {k: i for k, i in found.all() if i is not None}


async def replace_computed_samples(
    session: AsyncSession,
    *,
    source: str,
    metric_ids: Sequence[int],
    days: Mapping[int, Sequence[date]],
    rows: Sequence[dict[str, Any]],
    keep_history: bool = False,
) -> int:
    """Make ``source``'s samples of ``metric_ids`` on each team's ``days`` exactly ``rows``. Caller commits.

    Today's figures are keyed by a period that ends at the time they were computed, so each run's rows differ
    from the last run's; and an agent whose schedule was withdrawn, or who changed teams, must lose their old
    figure. So the window is cleared first, then upserted (which rebuilds the daily sums it touches), and the
    daily sums of (team, day)s that only lost rows are rebuilt too — all in the caller's transaction.

    ``keep_history`` (older days): only the figures of agents now active in the figure's team are cleared, so an
    agent who has since left, or moved team, keeps the figures they earned there (Rhythm keeps no membership
    history to recompute them with).
    """
    by_days: dict[tuple[date, ...], list[int]] = defaultdict(list)
    for team_id, team_days in days.items():
        by_days[tuple(sorted(team_days))].append(team_id)
    cleared: set[tuple[int, date]] = set()
    if by_days and metric_ids:
        table = SQLModel.metadata.tables[KpiSample.__tablename__]  # Core: no ORM session to synchronise
        where = or_(*(and_(table.c.team_id.in_(t), table.c.day.in_(d)) for d, t in by_days.items()))
        if keep_history:
            members = SQLModel.metadata.tables[Member.__tablename__]
            now_there = select(members.c.id).where(members.c.active, members.c.team_id == table.c.team_id)
            where = and_(where, table.c.member_id.in_(now_there.correlate(table)))
        stmt = (
            delete(table)
            .where(table.c.source == source, table.c.metric_id.in_(metric_ids), where)
            .returning(table.c.team_id, table.c.day)
        )
        cleared = {(t, d) for t, d in (await session.execute(stmt)).all()}
    await kpis.upsert_samples(session, rows)
    await kpis.refresh_days(session, cleared - {(r["team_id"], r["day"]) for r in rows})
    return len(rows)


async def figured_elsewhere(
    session: AsyncSession, *, source: str, rows: Sequence[dict[str, Any]]
) -> set[tuple[int, date]]:
    """The (member, day)s among ``rows`` that already have a ``source`` figure under another team: an agent who has
    moved since, whose older days stay where they were earned."""
    if not rows:
        return set()
    team_of = {(r["member_id"], r["day"]): r["team_id"] for r in rows}
    query = select(col(KpiSample.member_id), col(KpiSample.day), col(KpiSample.team_id)).where(
        col(KpiSample.source) == source,
        col(KpiSample.member_id).in_({m for m, _ in team_of}),
        col(KpiSample.day).in_({d for _, d in team_of}),
    )
    found = (await session.execute(query)).all()
    return {(m, d) for m, d, t in found if m is not None and (m, d) in team_of and team_of[(m, d)] != t}
