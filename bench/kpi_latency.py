"""Latency of ``/kpi team`` at scale, against the Bolt + FastAPI framework floor.

Seeds a database with ``teams × agents × days × 8`` agent-level KPI samples (200 × 25 × 90 × 8 = 3.6M rows by
default; the eight ratio metrics of DEFAULT_METRICS), then fires ``--requests`` signed ``/kpi team <period>``
slash commands (team leads of random teams; periods today, 7d, 30d, mtd) with ``--concurrency`` requests in
flight (closed loop) through the real ASGI app, in process via ``httpx.ASGITransport``. The Web API points at a
FakeSlack on 127.0.0.1. Latency is send → HTTP response, which is the ack carrying the whole scorecard. The same
load then goes through a bare Bolt app whose ``/kpi`` only acks (same adapter, secret and client): the floor.
Both run with the garbage-collector tuning ``rhythm run`` applies once the app is built (bot/runtime.py). The
verdict is on the first Rhythm pass, which starts with every team's figures uncached (as after a restart or an
import); a second pass over the caches it left is shown beside it, not judged. Each app runs ``--runs`` times
(Rhythm's caches cleared before each) and the runs are pooled: one run's p99 moves by ±30 ms on a 2-core machine.

    .venv/bin/python bench/kpi_latency.py --db both                           # full size, both databases
    .venv/bin/python bench/kpi_latency.py --teams 5 --days 10 --requests 100 \
        --pg-url postgresql+psycopg://postgres@127.0.0.1:5432/rhythm_bench_smoke  # smoke, keeps the big cache

SQLite lives in bench/.cache/, a file per size. PostgreSQL gets its own database (``rhythm_bench``, created when
missing; its public schema is dropped and rebuilt on (re)generation; the tests' ``test`` database is never
touched). Data is reused when the row count, team count and migration head match; ``--regenerate`` forces a
rebuild. The clock is fixed at 14:30 on the last seeded day. Closed-loop load in one process: keep the machine
otherwise idle (the load average is printed) or the numbers measure the neighbours.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import logging
import os
import platform
import random
import shlex
import statistics
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import psycopg
from common import ensure_pg_database  # bench/ is the script directory
from fastapi import FastAPI, Request, Response
from pydantic import SecretStr
from rich.console import Console
from rich.table import Table
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncAck, AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from sqlalchemy import insert, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlmodel import SQLModel

from bot.api.app import create_asgi_app
from bot.blocks.ids import BlockId
from bot.clock import FixedClock
from bot.config import Settings
from bot.deps import build_deps
from bot.domain.metrics import DEFAULT_METRICS, Aggregation
from bot.domain.org import OrgSpec
from bot.handlers.common import WORKING
from bot.runtime import tune_gc
from bot.sandbox.demo_data import TARGETS
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.store import kpis
from bot.store.db import make_engine, make_session_factory
from bot.store.migrate import head_revision, upgrade
from bot.store.org import apply_org
from bot.store.tables import KpiSample

TZ = ZoneInfo("Africa/Johannesburg")
END_DAY = date(2026, 1, 28)  # fixed, so a cached database stays valid; a Wednesday late in the month (mtd ≈ 4 weeks)
NOW = datetime.combine(END_DAY, dtime(14, 30), TZ)
METRICS = [m.key for m in DEFAULT_METRICS if m.aggregation is Aggregation.RATIO][:8]
# metric: (denominator per agent-day, typical rate); numerator = denominator × rate, jittered by agent skill.
SHAPES = {"qa": (2, 0.9), "accuracy": (10, 0.95), "sla": (40, 0.86), "csat": (9, 0.86), "resolution": (40, 0.76)}
SHAPES |= {"compliance": (8, 0.985), "adherence": (480, 0.93), "productivity": (7, 6.5)}
PERIODS = ("today", "7d", "30d", "mtd")
SECRET = "bench-signing-secret"
KPI_TABLE = SQLModel.metadata.tables[KpiSample.__tablename__]
COLS = [c.name for c in KPI_TABLE.columns if c.name != "id"]  # samples() yields rows in this order
CACHE = Path(__file__).resolve().parent / ".cache"  # SQLite files, one per size (*.db is git-ignored)
REQUEST_TIMEOUT = 30.0
FLOOR, RHYTHM, WARM = "floor (ack only)", "Rhythm /kpi team", "Rhythm again (warm caches)"
console = Console(width=140)


def org_spec(teams: int) -> OrgSpec:
    """Team tNNN (channel C0BENCHNNN, the demo's target bands) led by lead NNN (U0LEADNNN), who is on it."""
    targets = {k: v for k, v in TARGETS.items() if k in METRICS}
    return OrgSpec.model_validate(
        {
            "teams": [
                {"key": f"t{i:03d}", "name": f"Team {i:03d}", "channel": f"C0BENCH{i:03d}", "targets": targets}
                | {"leads": [f"lead{i:03d}@bench.example"]}
                for i in range(teams)
            ],
            "people": [
                {"email": f"lead{i:03d}@bench.example", "name": f"Lead {i:03d}", "slack_user_id": f"U0LEAD{i:03d}"}
                | {"role": "lead", "team": f"t{i:03d}"}
                for i in range(teams)
            ],
        }
    )


def samples(agents: list[tuple[int, int]], metric_ids: dict[str, int], days: int) -> Iterator[tuple[Any, ...]]:
    """Rows in COLS order, day by day (as daily imports arrive); the last day is partial, up to NOW."""
    rng = random.Random(7)
    skill = {member: rng.gauss(0, 0.03) for member, _ in agents}
    now_utc = NOW.astimezone(UTC)
    for back in range(days - 1, -1, -1):
        day = END_DAY - timedelta(days=back)
        start = datetime.combine(day, dtime(0), TZ).astimezone(UTC)
        end = min(datetime.combine(day + timedelta(days=1), dtime(0), TZ).astimezone(UTC), now_utc)
        share = 1.0 if back else 0.72  # 08:00-14:30 of a 9-hour shift
        for member, team in agents:
            subject = f"m:{member}"
            for key in METRICS:
                base, rate = SHAPES[key]
                den = max(1, round(base * share * (0.8 + 0.4 * rng.random())))
                r = rate * (1 + skill[member] + 0.06 * (rng.random() - 0.5))
                num = round(den * (min(r, 1.0) if rate <= 1 else r), 2)
                yield (metric_ids[key], subject, member, team, day, start, end, num, float(den), "import", now_utc)


async def cached(engine: AsyncEngine, expected: tuple[int, int]) -> bool:
    """The data is this size and the schema is at the newest migration (else: regenerate)."""
    q = "SELECT (SELECT count(*) FROM kpi_sample), (SELECT count(*) FROM team),"
    q += " (SELECT version_num FROM alembic_version)"
    try:
        async with engine.connect() as conn:
            return tuple((await conn.execute(text(q))).one()) == (*expected, head_revision())
    except Exception:  # no schema yet
        return False


def reset_sqlite(url: str) -> None:
    CACHE.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(f"{make_url(url).database}{suffix}").unlink(missing_ok=True)


async def prepare(url: str, a: argparse.Namespace) -> list[str]:
    """Seed the database unless it already holds this size; returns the leads' Slack user ids."""
    is_pg = url.startswith("postgresql")
    expected = (a.teams * a.agents * a.days * len(METRICS), a.teams)
    if is_pg:
        await ensure_pg_database(url)
    engine = make_engine(url)
    try:
        await upgrade(engine)  # a cache from an older schema gains new tables (0006 backfills kpi_day)
        if a.regenerate or not await cached(engine, expected):
            if is_pg:
                console.print(f"[yellow]WARNING: dropping and recreating schema public in {make_url(url).database}")
                async with engine.begin() as conn:
                    await conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
            else:
                await engine.dispose()
                reset_sqlite(url)
            t0 = time.perf_counter()
            await upgrade(engine)
            await generate(engine, a, is_pg)
            console.print(f"generated {expected[0]:,} KPI samples in {time.perf_counter() - t0:.1f}s ({url})")
        else:
            console.print(f"reusing {expected[0]:,} cached KPI samples ({url}; --regenerate to rebuild)")
    finally:
        await engine.dispose()
    gc.collect()
    return [f"U0LEAD{i:03d}" for i in range(a.teams)]


async def generate(engine: AsyncEngine, a: argparse.Namespace, is_pg: bool) -> None:
    async with make_session_factory(engine)() as session:
        await apply_org(session, org_spec(a.teams))
        await session.commit()
    async with engine.begin() as conn:
        team_ids: dict[str, int] = dict((await conn.execute(text("SELECT key, id FROM team"))).all())
        metric_ids: dict[str, int] = dict((await conn.execute(text("SELECT key, id FROM metric"))).all())
        now = NOW.astimezone(UTC)
        people = [
            {"email": f"agent{t:03d}.{n:02d}@bench.example", "name": f"Agent {t:03d}-{n:02d}", "role": "agent"}
            | {"slack_user_id": f"U0AG{t:03d}{n:02d}", "team_id": team_ids[f"t{t:03d}"], "active": True}
            | {"external_id": None, "created_at": now, "updated_at": now}
            for t in range(a.teams)
            for n in range(a.agents)
        ]
        await conn.execute(insert(SQLModel.metadata.tables["member"]), people)
        query = text("SELECT id, team_id FROM member WHERE role = 'agent' ORDER BY id")
        agents: list[tuple[int, int]] = [(m, t) for m, t in await conn.execute(query)]
        rows = samples(agents, metric_ids, a.days)
        if is_pg:  # COPY straight into the table, inside this transaction
            pg = (await conn.get_raw_connection()).driver_connection
            assert isinstance(pg, psycopg.AsyncConnection)
            async with pg.cursor() as cur, cur.copy(f"COPY kpi_sample ({', '.join(COLS)}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        else:
            await conn.exec_driver_sql("PRAGMA cache_size=-1000000")  # 1 GB, this loading connection only
            stmt = insert(KPI_TABLE)
            while chunk := [dict(zip(COLS, r, strict=True)) for _, r in zip(range(100_000), rows, strict=False)]:
                await conn.execute(stmt, chunk)
        await kpis.rebuild_all_days(conn)  # the bulk load bypassed upsert_samples, which keeps kpi_day
    async with engine.connect() as conn:  # what autovacuum / a checkpoint would do soon after a big import
        if is_pg:
            await (await conn.execution_options(isolation_level="AUTOCOMMIT")).execute(text("VACUUM ANALYZE"))
        else:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def floor_app(settings: Settings) -> FastAPI:
    """Bolt + FastAPI with the same adapter as bot/api/app.py, and a /kpi that only acks."""
    token, _ = settings.require_slack()
    bolt = AsyncApp(client=AsyncWebClient(token=token, base_url=settings.slack_api_url), signing_secret=SECRET)

    @bolt.command("/kpi")
    async def _kpi(ack: AsyncAck) -> None:
        await ack()

    handler = AsyncSlackRequestHandler(bolt)
    api = FastAPI()

    @api.post("/slack/events")
    async def events(request: Request) -> Response:
        return await handler.handle(request)

    return api


@dataclass
class Run:
    latencies: list[float]  # seconds
    wall: float
    failures: int  # not a 200 carrying a scorecard, including…
    late: int  # …acks that said "Working on it" (the 2 s ack budget ran out; the card followed via response_url)


async def fire(app: FastAPI, leads: list[str], n: int, c: int, seed: int, slack: FakeSlack, card: bool) -> Run:
    rng = random.Random(seed)
    jobs = iter([(rng.choice(leads), rng.choice(PERIODS)) for _ in range(n)])
    latencies: list[float] = []
    failures = late = 0
    hook, answered_late = slack.url + "hook", len(slack.calls_to("webhook:/hook"))

    async def worker(http: httpx.AsyncClient) -> None:
        nonlocal failures, late
        for user, period in jobs:  # one shared iterator: a closed loop with c requests in flight
            body = slash_command_body("/kpi", f"team {period}", user_id=user, response_url=hook)
            headers = signed_headers(SECRET, body)
            t0 = time.perf_counter()
            try:
                resp = await asyncio.wait_for(
                    http.post("/slack/events", content=body, headers=headers), REQUEST_TIMEOUT
                )
                verdict = _verdict(resp, card)
            except (TimeoutError, httpx.HTTPError):
                verdict = "failed"
            latencies.append(time.perf_counter() - t0)
            failures, late = failures + (verdict != "ok"), late + (verdict == "late")

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as http:
        t0 = time.perf_counter()
        await asyncio.gather(*(worker(http) for _ in range(min(c, n))))
        wall = time.perf_counter() - t0
        try:  # let late answers finish before the next run (or teardown): they would compete for the CPU
            await slack.wait_for("webhook:/hook", answered_late + late, within=2 * REQUEST_TIMEOUT)
        except AssertionError:
            console.print(f"[red]some of {late} late answers did not arrive within {2 * REQUEST_TIMEOUT:.0f}s")
        return Run(latencies, wall, failures, late)


def _verdict(resp: httpx.Response, card: bool) -> str:
    """ok, late (acked "Working on it": the card follows via response_url) or failed."""
    if resp.status_code != 200 or not card:
        return "ok" if resp.status_code == 200 else "failed"
    try:
        payload = resp.json()
    except ValueError:
        return "failed"
    if any(b.get("block_id") == BlockId.SCORECARD_HEADER for b in payload.get("blocks", [])):
        return "ok"
    return "late" if payload.get("text") == WORKING else "failed"


def cancel_leftovers(before: set[asyncio.Task[Any]]) -> int:
    """Listener tasks still running after the drain (answers stuck behind the pool): cancel them at teardown."""
    left = [t for t in asyncio.all_tasks() - before if not t.done()]
    left = [t for t in left if "aiohttp" not in getattr(getattr(t.get_coro(), "cr_code", None), "co_filename", "")]
    for task in left:
        task.cancel()
    return len(left)


class ErrorTally(logging.Handler):
    """Counts what the app logs at WARNING and above (one line per kind in the report, not 2000 tracebacks)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.counts: collections.Counter[str] = collections.Counter()

    def emit(self, record: logging.LogRecord) -> None:
        exc = record.exc_info[1] if record.exc_info else None
        self.counts[f"{record.name}: {type(exc).__name__ if exc else record.getMessage()[:100]}"] += 1


TALLY = ErrorTally()


async def bench_db(name: str, url: str, a: argparse.Namespace) -> bool:
    leads = await prepare(url, a)
    async with FakeSlack() as slack:
        settings = Settings(
            database_url=url,
            slack_api_url=slack.api_url,
            slack_bot_token=SecretStr("xoxb-bench"),
            slack_signing_secret=SecretStr(SECRET),
        )
        deps = build_deps(settings, clock=FixedClock(NOW))
        rhythm = create_asgi_app(settings, deps=deps)
        apps = {FLOOR: floor_app(settings), RHYTHM: rhythm, WARM: rhythm}
        tune_gc()  # as `rhythm run` does once the app is built (bot/runtime.py)
        runs: dict[str, list[Run]] = {label: [] for label in apps}
        before = asyncio.all_tasks()
        try:
            for _ in range(a.runs):
                for label, app in apps.items():
                    card = label != FLOOR
                    if label == RHYTHM:  # each run starts as after a restart: nothing cached
                        deps.scorecards.clear()
                        deps.org_facts.clear()
                    if label != WARM:  # the second Rhythm pass repeats the first, on the caches it left (TTL 30 s)
                        await fire(app, leads, a.warmup, a.concurrency, 1, slack, card)
                    runs[label].append(await fire(app, leads, a.requests, a.concurrency, 2, slack, card))
        finally:
            if leftovers := cancel_leftovers(before):
                console.print(f"[red]cancelled {leftovers} listener tasks still running after the drain")
            await asyncio.sleep(0.1)
            await deps.close()
    return report(name, {label: pooled(rs) for label, rs in runs.items()}, runs, a)


def pooled(runs: list[Run]) -> Run:
    """Several runs as one sample: every request's latency, the walls and failures added."""
    return Run(
        [x for r in runs for x in r.latencies],
        sum(r.wall for r in runs),
        *map(sum, zip(*((r.failures, r.late) for r in runs), strict=True)),
    )


def report(name: str, runs: dict[str, Run], each: dict[str, list[Run]], a: argparse.Namespace) -> bool:
    title = f"{name}: {a.requests} × /kpi team, concurrency {a.concurrency}, {a.runs} run(s) pooled"
    table = Table(title=title)
    for column in ("app", "ok", "late ack", "failed", "p50 ms", "p90 ms", "p99 ms", "max ms", "mean ms", "req/s"):
        table.add_column(column, justify="left" if column == "app" else "right")
    p99: dict[str, float] = {}
    for label, r in runs.items():
        ms = [x * 1000 for x in r.latencies]
        q = statistics.quantiles(ms, n=100, method="inclusive")
        p99[label] = q[98]
        stats = (q[49], q[89], q[98], max(ms), statistics.fmean(ms))
        bad = [f"[red]{x}" if x else "0" for x in (r.late, r.failures - r.late)]
        table.add_row(label, str(len(ms) - r.failures), *bad, *(f"{v:.1f}" for v in stats), f"{len(ms) / r.wall:.0f}")
    console.print(table)
    if a.runs > 1:
        for label, rs in each.items():
            per_run = [statistics.quantiles([x * 1000 for x in r.latencies], n=100, method="inclusive")[98] for r in rs]
            console.print(f"  p99 of each run, {label}: {', '.join(f'{v:.0f}' for v in per_run)} ms")
    console.print(
        f"  load average after the runs: {os.getloadavg()[0]:.2f} (other processes competing for the CPU skew this)"
    )
    rhythm, floor = p99[RHYTHM], p99[FLOOR]
    measured = [runs[FLOOR], runs[RHYTHM]]  # the warm pass is shown, not judged
    failures, late = sum(r.failures for r in measured), sum(r.late for r in measured)
    checks = {
        "p99 < 150 ms": rhythm < 150,
        f"p99 < 3× floor p99 (ratio {rhythm / floor:.1f}×)": rhythm < 3 * floor,
        f"every ack is 200 with the scorecard ({late} late acks, {failures - late} other failures)": failures == 0,
    }
    for what, ok in checks.items():
        console.print(f"  {'[green]PASS' if ok else '[red]FAIL'}[/]  {name}: {what}")
    for what, count in TALLY.counts.most_common():
        console.print(f"  logged ×{count}: {what}")
    TALLY.counts.clear()
    return all(checks.values())


async def main(a: argparse.Namespace) -> int:
    logging.basicConfig(level=logging.WARNING, handlers=[TALLY], force=True)
    cmd = shlex.join([".venv/bin/python", *sys.argv])
    console.print(f"command: {cmd}", soft_wrap=True)
    console.print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    console.print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    console.print(f"clock: {NOW:%a %d %b %Y %H:%M} {TZ}; per-request timeout {REQUEST_TIMEOUT:.0f}s")
    CACHE.mkdir(exist_ok=True)  # a fresh clone has none yet
    sqlite = CACHE / f"kpi_{a.teams}x{a.agents}x{a.days}.db"
    targets = {"SQLite": f"sqlite+aiosqlite:///{sqlite}", "PostgreSQL": a.pg_url}
    chosen = targets if a.db == "both" else {k: v for k, v in targets.items() if k.lower().startswith(a.db[:3])}
    results = [await bench_db(name, url, a) for name, url in chosen.items()]
    return 0 if all(results) else 1


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/rhythm_bench")
    for flag, default in (("teams", 200), ("agents", 25), ("days", 90), ("requests", 2000), ("concurrency", 50)):
        p.add_argument(f"--{flag}", type=int, default=default)
    p.add_argument("--warmup", type=int, default=50)
    p.add_argument("--runs", type=int, default=3, help="measured runs per app, pooled (Rhythm's caches cleared each)")
    p.add_argument("--regenerate", action="store_true", help="rebuild the data even if a cached copy matches")
    a = p.parse_args()
    if (
        min(a.teams, a.agents, a.days, a.concurrency, a.warmup, a.runs) < 1
        or a.requests < 2
        or a.teams > 999
        or a.agents > 99
    ):
        p.error("sizes must be positive (requests ≥ 2, teams ≤ 999, agents ≤ 99)")
    if "bench" not in (make_url(a.pg_url).database or ""):  # its public schema gets dropped: never the tests' db
        p.error("--pg-url must name a database whose name contains 'bench'")
    return a


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
