"""Schedule adherence end to end: the per-minute scan with its database reads and writes and its outbox rows, and
state events in through the API, from 500 to 5,000 agents.

Seeds ``--agents`` agents (teams of 25, each with a channel and a lead; an ops manager per 10 teams) with
``--days`` days of schedules and state events: an 8-hour shift starting between 06:00 and 10:00 (open blocks, two
15-minute breaks, a 30-minute lunch), a login a few minutes either side of the start, breaks and lunch taken with
a few minutes' jitter, an early or late logout, and ``--rate`` changes per working hour between available, busy
and after_work; 1 % of agent-days are no-shows and 5 % step away once for 2–40 minutes. The clock stands at 14:30
UTC on the last day; events after that are the ingest stream.

* scan, cold: ``scan_adherence`` at 14:30 with no breach rows at all (a first start): every stretch of the day
  is new, posted or batched into the outbox.
* scan, steady: what the per-minute job does all day. The day is replayed first (untimed: a scan at 18:30 the
  day before, then every half hour from 06:00), so each breach was posted when it happened; then the clock moves
  on a minute per scan and that minute's events arrive before it (stored untimed, as the API would), open
  breaches' messages are updated in place (an outbox row each), a few stretches open or end. Best and median of
  ``--scans``. "full load" is reading every scheduled agent's day from the database without the scan's cache.
* scan, restart: the first scan after a restart (this process's caches empty; the breach rows are there).
* ingest: the hour after 14:30 (every agent's events, in time order, as a feed sends them) posted to
  ``POST /api/v1/agent-states`` in batches of ``--batch`` through the real ASGI app (``httpx.ASGITransport``, in
  process, a real bearer key). Each accepted batch starts a scan beside its response, as in production; the
  figure is events over the time to the last response, and how long the scans that were started took to drain
  is shown beside it. Then the same batches again (every event a repeat).

    .venv/bin/python bench/adherence.py                         # both databases, 500 1000 2000 5000 agents
    .venv/bin/python bench/adherence.py --db sqlite --agents 5000 --profile

SQLite files live in bench/.cache/ (one per size); PostgreSQL gets a database per size, named after ``--pg-url``'s
(``rhythm_bench_adherence_v2_5000x3d_12ph``…) on the loopback server (created when missing; its public schema is
dropped and rebuilt when the data is regenerated). Data is reused while its size and the migration head match.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import io
import json
import os
import platform
import pstats
import random
import shlex
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import psycopg
from common import ensure_pg_database  # bench/ is the script directory
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.api.app import create_asgi_app
from bot.clock import FixedClock
from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.domain.org import OrgSpec
from bot.ingest.adherence import import_states
from bot.services import adherence as adherence_service
from bot.services.adherence import LOOKBACK, ScanResult, scan_adherence
from bot.store import adherence_cache, apikeys
from bot.store.adherence import load_agent_days
from bot.store.db import make_engine
from bot.store.migrate import head_revision, upgrade
from bot.store.org import apply_org

CACHE = Path(__file__).resolve().parent / ".cache"
LAST_DAY = datetime(2026, 3, 4, tzinfo=UTC)  # a Wednesday
DATA_VERSION = 2  # bump when the generator changes: cached databases are named with it
NOW = LAST_DAY + timedelta(hours=14, minutes=30)
STREAM_END = NOW + timedelta(hours=1)
WORKING = ("available", "busy", "after_work")
PLAN = [(0, 105, "open"), (105, 120, "break"), (120, 210, "open"), (210, 240, "lunch"), (240, 360, "open")]
PLAN += [(360, 375, "break"), (375, 480, "open")]
TEAM_SIZE = 25
TARGET = 1.0  # seconds: a full scan of 5,000 agents
console = Console(width=130)


# ---- data ------------------------------------------------------------------------------------------------------


def agent_day(rnd: random.Random, day: datetime, rate: float) -> tuple[list[tuple[datetime, datetime, str]], list]:
    """One agent's schedule and events for a day. 1 % do not turn up; 5 % step away once for 2–40 minutes."""
    start = day + timedelta(minutes=rnd.randrange(6 * 60, 10 * 60, 30))

    def t(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    segments = [(t(a), t(b), activity) for a, b, activity in PLAN]
    if rnd.random() < 0.01:
        return segments, []
    events: list[tuple[datetime, str]] = [(t(rnd.uniform(-8, 6)), "available")]
    if rnd.random() < 0.05:
        away = rnd.uniform(0, 470)
        events += [(t(away), "away"), (t(away + rnd.uniform(2, 40)), "available")]
    for a, b, activity in PLAN:
        if activity == "open":
            m = float(a)
            while (m := m + rnd.expovariate(rate / 60)) < b:
                events.append((t(m), rnd.choice(WORKING)))
        else:
            events.append((t(a + rnd.uniform(-2, 3)), activity))
            events.append((t(b + rnd.uniform(-1, 6)), "available"))
    events.append((t(480 + rnd.uniform(-25, 5)), "offline"))
    return segments, sorted(set(events))


def generate(members: list[int], days: int, rate: float) -> Iterator[tuple[str, int, datetime, Any, str]]:
    """("segment", member, start, end, activity) and ("event", member, at, None, state) rows, day by day."""
    rnd = random.Random(7)
    for back in range(days - 1, -1, -1):
        day = LAST_DAY - timedelta(days=back)
        for member in members:
            segments, events = agent_day(rnd, day, rate)
            for s, e, activity in segments:
                yield "segment", member, s, e, activity
            for at, state in events:
                yield "event", member, at, None, state


def org_spec(teams: int) -> OrgSpec:
    return OrgSpec.model_validate(
        {
            "teams": [
                {"key": f"t{i:03d}", "name": f"Team {i:03d}", "channel": f"C0ADH{i:04d}"}
                | {"leads": [f"lead{i:03d}@bench.example"]}
                for i in range(teams)
            ],
            "people": [
                {"email": f"lead{i:03d}@bench.example", "name": f"Lead {i:03d}", "slack_user_id": f"U0LD{i:04d}"}
                | {"role": "lead", "team": f"t{i:03d}"}
                for i in range(teams)
            ]
            + [
                {"email": f"ops{j:02d}@bench.example", "name": f"Ops {j:02d}", "slack_user_id": f"U0OPS{j:04d}"}
                | {"role": "manager", "teams": [f"t{i:03d}" for i in range(j * 10, min(teams, j * 10 + 10))]}
                for j in range((teams + 9) // 10)
            ],
        }
    )


def db_url(a: argparse.Namespace, is_pg: bool, agents: int) -> str:
    if is_pg:
        name = f"{make_url(a.pg_url).database}_v{DATA_VERSION}_{agents}x{a.days}d_{a.rate:g}ph"
        return make_url(a.pg_url).set(database=name.replace(".", "_")).render_as_string(False)
    return f"sqlite+aiosqlite:///{CACHE / f'adherence_v{DATA_VERSION}_{agents}x{a.days}d_{a.rate:g}ph.db'}"


def remove_sqlite(url: str) -> None:
    CACHE.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{make_url(url).database}{suffix}").unlink(missing_ok=True)


async def _cached(engine: AsyncEngine, agents: int) -> bool:
    q = "SELECT (SELECT count(*) FROM member WHERE role = 'agent'), (SELECT version_num FROM alembic_version)"
    try:
        async with engine.connect() as conn:
            return tuple((await conn.execute(text(q))).one()) == (agents, head_revision())
    except Exception:  # no schema yet
        return False


async def prepare(url: str, agents: int, a: argparse.Namespace) -> None:
    is_pg = url.startswith("postgresql")
    if is_pg:
        await ensure_pg_database(url)
    engine = make_engine(url)
    try:
        if not a.regenerate and await _cached(engine, agents):
            console.print(f"reusing {agents:,} agents × {a.days} days ({make_url(url).database})")
            return
        if is_pg:
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        else:
            await engine.dispose()
            remove_sqlite(url)
        t0 = time.perf_counter()
        await upgrade(engine)
        counts = await _seed(engine, agents, a, is_pg)
        console.print(
            f"generated {agents:,} agents: {counts['segment']:,} segments, {counts['event']:,} events "
            f"in {time.perf_counter() - t0:.1f}s ({make_url(url).database})"
        )
    finally:
        await engine.dispose()


async def _seed(engine: AsyncEngine, agents: int, a: argparse.Namespace, is_pg: bool) -> dict[str, int]:
    deps = build_deps(Settings(_env_file=None, database_url=str(engine.url)), engine=engine)
    async with deps.sessions() as session:
        await apply_org(session, org_spec((agents + TEAM_SIZE - 1) // TEAM_SIZE))
        await session.commit()
    counts = {"segment": 0, "event": 0}
    seg_cols = ["member_id", "start", "end", "activity", "source"]
    ev_cols = ["member_id", "at", "state", "source", "received_at"]
    async with engine.begin() as conn:
        team_ids: dict[str, int] = dict((await conn.execute(text("SELECT key, id FROM team"))).all())
        now = NOW
        people = [
            {"email": f"agent{n:05d}@bench.example", "name": f"Agent {n:05d}", "role": "agent", "active": True}
            | {"slack_user_id": f"U0AG{n:06d}", "external_id": None, "created_at": now, "updated_at": now}
            | {"team_id": team_ids[f"t{n // TEAM_SIZE:03d}"]}
            for n in range(agents)
        ]
        await conn.execute(insert(SQLModel.metadata.tables["member"]), people)
        members = [m for (m,) in await conn.execute(text("SELECT id FROM member WHERE role = 'agent' ORDER BY id"))]
        segs: list[tuple[Any, ...]] = []
        evs: list[tuple[Any, ...]] = []
        for kind, member, t1, t2, what in generate(members, a.days, a.rate):
            if kind == "segment":
                segs.append((member, t1, t2, what, "bench"))
            elif t1 < NOW:  # later events are the ingest stream
                evs.append((member, t1, what, "bench", t1))
        for name, cols, rows in (("schedule_segment", seg_cols, segs), ("agent_state_event", ev_cols, evs)):
            counts["segment" if name == "schedule_segment" else "event"] = len(rows)
            if is_pg:
                raw = (await conn.get_raw_connection()).driver_connection
                assert isinstance(raw, psycopg.AsyncConnection)
                quoted = ", ".join(f'"{c}"' for c in cols)  # "end" is a reserved word
                async with raw.cursor() as cur, cur.copy(f"COPY {name} ({quoted}) FROM STDIN") as copy:
                    for row in rows:
                        await copy.write_row(row)
            else:
                stmt = insert(SQLModel.metadata.tables[name])
                for i in range(0, len(rows), 50_000):
                    await conn.execute(stmt, [dict(zip(cols, r, strict=True)) for r in rows[i : i + 50_000]])
    async with engine.connect() as conn:
        if is_pg:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
        else:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    return counts


def stream(agents: int, a: argparse.Namespace) -> list[dict[str, str]]:
    """The last day's events from 14:30 to 15:30, every agent's, in time order: what the feed sends next."""
    rnd = random.Random(7)
    out: list[tuple[datetime, int, str]] = []
    for back in range(a.days - 1, -1, -1):
        day = LAST_DAY - timedelta(days=back)
        for n in range(agents):
            _, events = agent_day(rnd, day, a.rate)
            if back == 0:
                out += [(at, n, state) for at, state in events if NOW <= at < STREAM_END]
    out.sort()
    return [{"agent": f"agent{n:05d}@bench.example", "at": at.isoformat(), "state": s} for at, n, s in out]


# ---- measurements ----------------------------------------------------------------------------------------------


async def reset(engine: AsyncEngine) -> None:
    """No breaches, no outbox, no streamed events: every size and run starts from the same state."""
    async with engine.begin() as conn:
        for table in ("breach", "outbox"):
            await conn.execute(text(f"DELETE FROM {table}"))
        await conn.execute(text("DELETE FROM agent_state_event WHERE source <> 'bench'"))


async def timed_scan(deps: Deps, clock: FixedClock, at: datetime) -> tuple[float, ScanResult]:
    """Wall seconds of one scan (its CPU seconds in this process go to ``CPU``: steadier on a busy machine)."""
    clock.set(at)
    gc.collect()
    cpu, t0 = time.process_time(), time.perf_counter()
    result = await scan_adherence(deps)
    CPU.append(time.process_time() - cpu)
    return time.perf_counter() - t0, result


CPU: list[float] = []


@dataclass
class ScanRow:
    agents: int
    load: float  # seconds: load_agent_days alone
    cold: float
    cold_result: ScanResult
    steady: list[float]
    steady_cpu: float  # best CPU seconds of this process (engine, Python side of the driver; not the server's)
    steady_result: ScanResult
    arrivals: int  # events stored per minute between steady scans
    restart: float  # seconds: the first scan after a restart (caches empty, breach rows there)


async def arrive(deps: Deps, records: list[dict[str, str]], start: datetime, end: datetime) -> int:
    """Store the stream's events in [start, end) as the API would (untimed: the feed's work, not the scan's)."""
    due = [(i, r) for i, r in enumerate(records) if start <= datetime.fromisoformat(r["at"]) < end]
    async with deps.sessions() as session:
        stored, errors = await import_states(session, due, source="stream")
        assert not errors, errors[:3]
        await session.commit()
    return stored


async def bench_scan(
    deps: Deps, clock: FixedClock, agents: int, records: list[dict[str, str]], a: argparse.Namespace
) -> ScanRow:
    await reset(deps.engine)
    cold, cold_result = await timed_scan(deps, clock, NOW)
    # A running system has posted each breach as it happened, yesterday's and today's: replay the day with a scan
    # every half hour (untimed), so the breaches open now have their own message to update, as they would.
    await reset(deps.engine)
    for at in [NOW - timedelta(hours=20)] + [LAST_DAY + timedelta(minutes=m) for m in range(360, 14 * 60 + 31, 30)]:
        await timed_scan(deps, clock, at)
    steady: list[float] = []
    result = ScanResult()
    CPU.clear()
    arrived = 0
    for i in range(1, a.scans + 1):  # each minute's events arrive before its scan, as the feed sends them
        arrived += await arrive(deps, records, NOW + timedelta(minutes=i - 1), NOW + timedelta(minutes=i))
        seconds, result = await timed_scan(deps, clock, NOW + timedelta(minutes=i))
        steady.append(seconds)
    steady_cpu = min(CPU)
    # A restart: this process's caches are gone (the breach rows are not): one full read and evaluation.
    adherence_cache._caches.pop(deps.engine, None)
    adherence_service._seen.pop(deps.engine, None)
    restart, _ = await timed_scan(deps, clock, NOW + timedelta(minutes=a.scans + 1))
    async with deps.sessions() as session:
        t0 = time.perf_counter()
        days = await load_agent_days(session, start=NOW - LOOKBACK, end=NOW + timedelta(seconds=1))
        load = time.perf_counter() - t0
    assert len(days) == agents, f"expected {agents} scheduled agents, loaded {len(days)}"
    if a.profile and agents == max(a.agents):
        await profiled(f"steady scan, {agents:,} agents", deps, clock, NOW + timedelta(minutes=a.scans + 1))
    return ScanRow(agents, load, cold, cold_result, steady, steady_cpu, result, arrived // a.scans, restart)


async def profiled(label: str, deps: Deps, clock: FixedClock, at: datetime) -> None:
    clock.set(at)
    prof = cProfile.Profile(time.process_time)  # CPU time: a busy machine inflates wall time
    prof.enable()
    await scan_adherence(deps)
    prof.disable()
    out = io.StringIO()
    pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime").print_stats(25)
    console.rule(f"cProfile: {label} (by own CPU time)")
    console.print(out.getvalue(), markup=False, highlight=False)


@dataclass
class IngestRow:
    agents: int
    events: int
    requests: int
    seconds: float
    drain: float  # seconds after the last response until the scans it started were done
    again: float


async def bench_ingest(
    deps: Deps, clock: FixedClock, agents: int, records: list[dict[str, str]], a: argparse.Namespace
) -> IngestRow:
    await reset(deps.engine)
    clock.set(NOW + timedelta(minutes=1))
    await scan_adherence(deps)  # breaches so far exist, as they would
    clock.set(STREAM_END)
    bodies = [json.dumps({"states": records[i : i + a.batch]}).encode() for i in range(0, len(records), a.batch)]
    async with deps.sessions() as session:
        key = await apikeys.create_key(session, f"bench-{time.monotonic_ns()}", now=NOW)
        await session.commit()
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    app = create_asgi_app(deps.settings, deps=deps)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:

        async def post_all() -> tuple[float, set[asyncio.Task[Any]]]:
            before = asyncio.all_tasks()
            t0 = time.perf_counter()
            for body in bodies:
                resp = await client.post("/api/v1/agent-states", content=body, headers=headers, timeout=300)
                assert resp.status_code == 200, resp.text[:300]
            return time.perf_counter() - t0, asyncio.all_tasks() - before

        gc.collect()
        seconds, scans = await post_all()
        t0 = time.perf_counter()
        await asyncio.gather(*scans)
        drain = time.perf_counter() - t0
        again, scans = await post_all()
        await asyncio.gather(*scans)
    return IngestRow(agents, len(records), len(bodies), seconds, drain, again)


# ---- report ----------------------------------------------------------------------------------------------------


def report_scans(name: str, rows: list[ScanRow], a: argparse.Namespace) -> bool:
    table = Table(title=f"{name}: full scan (database reads, engine, breach writes, outbox), best of {a.scans} steady")
    columns = ("agents", "full load s", "cold s", "opened", "restart s", "new events/min", "steady best s", "median s")
    for column in (*columns, "best CPU s", "µs/agent", "evaluated", "updated"):
        table.add_column(column, justify="right")
    for r in rows:
        best = min(r.steady)
        table.add_row(
            f"{r.agents:,}",
            f"{r.load:.3f}",
            f"{r.cold:.3f}",
            f"{r.cold_result.opened:,}",
            f"{r.restart:.3f}",
            f"{r.arrivals:,}",
            f"{best:.3f}",
            f"{statistics.median(r.steady):.3f}",
            f"{r.steady_cpu:.3f}",
            f"{best / r.agents * 1e6:.0f}",
            f"{r.steady_result.agents - getattr(r.steady_result, 'skipped', 0):,}",
            f"{r.steady_result.updated:,}",
        )
    console.print(table)
    if len(rows) > 1:
        lo, hi = rows[0], rows[-1]
        growth = min(hi.steady) / min(lo.steady)
        console.print(
            f"  growth {lo.agents:,} → {hi.agents:,} agents: ×{growth:.1f} time for ×{hi.agents / lo.agents:.0f}"
        )
    biggest = max(rows, key=lambda r: r.agents)
    if biggest.agents < 5000:
        return True
    ok = min(biggest.steady) < TARGET
    verdict = "[green]PASS" if ok else "[red]FAIL"
    console.print(f"  {verdict}[/]  {name}: steady full scan of {biggest.agents:,} agents < {TARGET:.0f} s")
    return ok


def report_ingest(name: str, rows: list[IngestRow], a: argparse.Namespace) -> None:
    table = Table(title=f"{name}: POST /api/v1/agent-states, {a.batch} events per request, one client")
    for column in ("agents", "events", "requests", "events/s", "scans drained s", "again (repeats) events/s"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(
            f"{r.agents:,}",
            f"{r.events:,}",
            f"{r.requests}",
            f"{r.events / r.seconds:,.0f}",
            f"{r.drain:.2f}",
            f"{r.events / r.again:,.0f}",
        )
    console.print(table)


async def bench_db(name: str, is_pg: bool, a: argparse.Namespace) -> bool:
    scans: list[ScanRow] = []
    ingests: list[IngestRow] = []
    for agents in a.agents:
        url = db_url(a, is_pg, agents)
        await prepare(url, agents, a)
        clock = FixedClock(NOW)
        settings = Settings(
            _env_file=None,
            database_url=url,
            slack_bot_token=SecretStr("xoxb-bench"),
            slack_signing_secret=SecretStr("s"),
        )
        deps = build_deps(settings, clock=clock)
        records = stream(agents, a)
        try:
            scans.append(await bench_scan(deps, clock, agents, records, a))
            if not a.no_ingest:
                ingests.append(await bench_ingest(deps, clock, agents, records, a))
        finally:
            await deps.engine.dispose()
    ok = report_scans(name, scans, a)
    if ingests:
        report_ingest(name, ingests, a)
    return ok


async def main(a: argparse.Namespace) -> int:
    console.print(f"command: {shlex.join(['.venv/bin/python', *sys.argv])}", soft_wrap=True)
    console.print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    console.print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    console.print(f"clock: {NOW:%a %d %b %Y %H:%M} UTC; {a.days} day(s) of data, {a.rate:g} state changes per hour")
    chosen = {"SQLite": False, "PostgreSQL": True}
    if a.db != "both":
        chosen = {k: v for k, v in chosen.items() if v == (a.db in ("pg", "postgres"))}
    results = [await bench_db(name, is_pg, a) for name, is_pg in chosen.items()]
    console.print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    return 0 if all(results) else 1


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--db", choices=("sqlite", "pg", "postgres", "both"), default="both")
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/rhythm_bench_adherence")
    p.add_argument("--agents", type=int, nargs="+", default=[500, 1000, 2000, 5000])
    p.add_argument("--days", type=int, default=3, help="days of schedules and events (history before today)")
    p.add_argument("--rate", type=float, default=12.0, help="state changes per working hour")
    p.add_argument("--scans", type=int, default=5, help="steady scans per size (a minute apart)")
    p.add_argument("--batch", type=int, default=500, help="events per API request")
    p.add_argument("--no-ingest", action="store_true", help="scans only")
    p.add_argument("--profile", action="store_true", help="cProfile one steady scan of the largest size")
    p.add_argument("--regenerate", action="store_true", help="rebuild the data even if a cached copy matches")
    a = p.parse_args()
    if min(a.agents) < TEAM_SIZE or max(a.agents) > 50_000 or not 1 <= a.days <= 30 or not 1 <= a.scans <= 50:
        p.error(f"agents {TEAM_SIZE}..50,000; days 1..30; scans 1..50")
    if not 1 <= a.batch <= 10_000:
        p.error("batch 1..10,000 (the API's limit)")
    if "bench" not in (make_url(a.pg_url).database or ""):  # schemas get dropped: never the tests' database
        p.error("--pg-url must name a database whose name contains 'bench'")
    if make_url(a.pg_url).host not in {"127.0.0.1", "localhost", "::1"}:
        p.error("the benchmark only talks to a PostgreSQL server on the loopback interface")
    a.agents = sorted(a.agents)
    return a


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
