"""KPI samples in the database: idempotent upsert, per-day sums, no double counting, aware timestamps."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.domain.periods import DateRange
from bot.store import kpis, team_day_reads
from bot.store.org import team_by_key
from bot.store.tables import KpiSample, UTCDateTime
from tests.conftest import PG_URL
from tests.support.kpis import add_samples, sample

DAY = DateRange(date(2026, 11, 18), date(2026, 11, 18))


async def _count(deps: Deps) -> int:
    async with deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(KpiSample))).scalar_one())


async def _team_sums(deps: Deps, key: str = "alpha", days: DateRange = DAY) -> dict[str, tuple[float, float, int]]:
    async with deps.sessions() as session:
        team = await team_by_key(session, key)
        assert team is not None
        rows = await kpis.day_sums(session, days=days, team_id=team.id)
    return {r.metric_key: (r.numerator, r.denominator, r.samples) for r in rows}


async def test_upsert_is_idempotent_and_updates_in_place(org: Deps) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10))
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10))
    assert await _count(org) == 1
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 9, 10))
    assert await _count(org) == 1
    assert (await _team_sums(org))["csat"] == (9, 10, 1)


async def test_another_source_is_another_sample(org: Deps) -> None:
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10), source="zendesk")
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 1, 2), source="survey")
    assert await _count(org) == 2
    assert (await _team_sums(org))["csat"] == (9, 12, 2)


async def test_team_level_sample_is_used_only_where_no_agent_sample_exists(org: Deps) -> None:
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-18", 8, 10),
        sample("csat", "team:alpha", "2026-11-18", 80, 100),  # would double count
        sample("sla", "team:alpha", "2026-11-18", 45, 50),  # the only SLA figure: used
    )
    sums = await _team_sums(org)
    assert sums["csat"] == (8, 10, 1)
    assert sums["sla"] == (45, 50, 1)


async def test_agent_sums_exclude_teammates(org: Deps) -> None:
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-18", 8, 10),
        sample("csat", "sipho@example.com", "2026-11-18", 1, 10),
    )
    async with org.sessions() as session:
        from bot.store.org import member_by

        thandi = await member_by(session, email="thandi@example.com")
        assert thandi is not None
        rows = await kpis.day_sums(session, days=DAY, member_id=thandi.id)
    assert [(r.metric_key, r.numerator, r.denominator) for r in rows] == [("csat", 8, 10)]


async def test_day_is_the_teams_local_date(org: Deps) -> None:
    # 23:30 UTC on the 17th is already the 18th in Durban (UTC+2), still the 17th in London.
    await add_samples(
        org,
        {
            "metric": "items",
            "subject": "thandi@example.com",
            "start": "2026-11-17T23:30:00+00:00",
            "end": "2026-11-18T00:30:00+00:00",
            "numerator": 3,
        },
        {
            "metric": "items",
            "subject": "bob@example.com",
            "start": "2026-11-17T23:30:00+00:00",
            "end": "2026-11-18T00:30:00+00:00",
            "numerator": 5,
        },
    )
    assert (await _team_sums(org, "alpha"))["items"][0] == 3
    assert (await _team_sums(org, "bravo", DateRange(date(2026, 11, 17), date(2026, 11, 17))))["items"][0] == 5


async def test_latest_sample_end_is_aware_utc(org: Deps) -> None:
    await add_samples(
        org,
        {
            "metric": "items",
            "subject": "thandi@example.com",
            "start": "2026-11-18T08:00",
            "end": "2026-11-18T14:30",
            "numerator": 3,
        },
    )
    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        end = await kpis.latest_sample_end(session, days=DAY, team_id=team.id)
    assert end == datetime(2026, 11, 18, 12, 30, tzinfo=UTC)


def test_utc_column_refuses_naive_datetimes() -> None:
    from sqlalchemy.dialects import sqlite

    with pytest.raises(ValueError, match="naive"):
        UTCDateTime().process_bind_param(datetime(2026, 1, 1), sqlite.dialect())


async def test_daily_sums_follow_every_write(org: Deps) -> None:
    """kpi_day is rebuilt for the touched team-days in each write, and equals a fresh aggregate of kpi_sample."""
    from sqlalchemy import text

    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-18", 8, 10))
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-18", 9, 10),  # updates the same sample
        sample("csat", "sipho@example.com", "2026-11-17", 1, 4),
    )
    async with org.sessions() as session:
        daily = (
            await session.execute(text("SELECT day, numerator, denominator, samples FROM kpi_day ORDER BY day"))
        ).all()
        assert [(str(d), n, dn, c) for d, n, dn, c in daily] == [("2026-11-17", 1, 4, 1), ("2026-11-18", 9, 10, 1)]
        conn = await session.connection()
        await kpis.rebuild_all_days(conn)
        rebuilt = (
            await session.execute(text("SELECT day, numerator, denominator, samples FROM kpi_day ORDER BY day"))
        ).all()
    assert [tuple(r) for r in rebuilt] == [tuple(r) for r in daily]


async def _rows(deps: Deps, query: str) -> list[tuple[object, ...]]:
    from sqlalchemy import text

    async with deps.sessions() as session:
        return [tuple(r) for r in (await session.execute(text(query))).all()]


async def test_a_batch_mixing_new_and_stored_figures_updates_and_inserts(
    org: Deps, monkeypatch: pytest.MonkeyPatch
) -> None:
    """On PostgreSQL the batch's straight COPY fails on the stored key, rolls back to its savepoint and the batch
    is merged instead: nothing is lost, nothing doubled, the transaction stays usable."""
    copied_into: list[str] = []
    copy = kpis._copy

    async def spy(cur: Any, table: str, values: Any) -> None:
        copied_into.append(table)
        await copy(cur, table, values)

    monkeypatch.setattr(kpis, "_copy", spy)
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-17", 8, 10))
    await add_samples(
        org,
        sample("csat", "sipho@example.com", "2026-11-17", 1, 4),  # new
        sample("csat", "thandi@example.com", "2026-11-17", 9, 10),  # stored: updated
        sample("qa", "bob@example.com", "2026-11-17", 3, 4),  # new, another team
    )
    assert await _count(org) == 3
    assert (await _team_sums(org, days=DateRange(date(2026, 11, 17), date(2026, 11, 17))))["csat"] == (10, 14, 2)
    await add_samples(org, sample("csat", "ayesha@example.com", "2026-11-17", 2, 2))  # all new again: COPY
    assert await _count(org) == 4
    if PG_URL:
        assert copied_into == ["kpi_sample", "kpi_sample", "kpi_sample_in", "kpi_sample"]


async def test_refreshing_many_teams_spans_equals_a_full_rebuild(org: Deps, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(kpis, "SPANS_PER_STATEMENT", 1)  # one statement pair per team: the chunking is exercised
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-10", 5, 10))  # outside later spans
    await add_samples(
        org,
        sample("csat", "thandi@example.com", "2026-11-16", 8, 10),
        sample("csat", "sipho@example.com", "2026-11-18", 1, 4),
        sample("qa", "bob@example.com", "2026-11-17", 3, 4),
        sample("qa", "team:bravo", "2026-11-18", 7, 8),
    )
    query = (
        "SELECT team_id, day, metric_id, team_level, numerator, denominator, samples FROM kpi_day ORDER BY 1, 2, 3, 4"
    )
    refreshed = await _rows(org, query)
    assert len(refreshed) == 5  # alpha: 10th, 16th, 18th; bravo: 17th (agent), 18th (team level)
    async with org.sessions() as session:
        await kpis.rebuild_all_days(await session.connection())
        await session.commit()
    assert await _rows(org, query) == refreshed


async def test_every_read_of_a_teams_days_agrees(org: Deps) -> None:
    """PostgreSQL reads a team's days through psycopg directly; SQLite through two Core queries (async, or on the
    loop thread): all of them give the same sums and each day's newest end, in UTC."""
    from bot.domain.team_days import TeamDays

    def interval(subject: str, start: str, end: str, n: float, d: float) -> dict[str, Any]:
        return {"metric": "csat", "subject": subject, "start": start, "end": end, "numerator": n, "denominator": d}

    await add_samples(
        org,
        interval("thandi@example.com", "2026-11-18T08:00", "2026-11-18T09:00", 8, 10),
        interval("sipho@example.com", "2026-11-18T09:00", "2026-11-18T11:30", 3, 4),  # the 18th's newest end
        interval("team:alpha", "2026-11-17T08:00", "2026-11-17T10:00", 30, 40),
        sample("qa", "thandi@example.com", "2026-11-16", 9, 10),
    )
    window = DateRange(date(2026, 11, 1), date(2026, 11, 20))
    async with org.sessions() as session:
        team = await team_by_key(session, "alpha")
        assert team is not None
        read = await team_day_reads.team_days(session, days=window, team_id=team.id)
        conn = await session.connection()
        sums, ends = team_day_reads._team_days_queries(window, team.id)
        via_core = TeamDays.of(window, (await conn.execute(sums)).all(), (await conn.execute(ends)).all())
    assert read == via_core
    assert org.hot_reads is not None
    hot = team_day_reads.team_days_pg if org.hot_reads.dialect == "postgresql" else team_day_reads.team_days_sqlite
    assert await org.hot_reads.run(hot, days=window, team_id=team.id) == read
    newest = read.last_end[(date(2026, 11, 18) - window.start).days]
    assert newest == datetime(2026, 11, 18, 9, 30, tzinfo=UTC)  # 11:30 in Johannesburg
    assert all(end is None or end.tzinfo is UTC for end in read.last_end)
    assert read.agent["csat"].samples[17] == 2 and read.team["csat"].samples[16] == 1
