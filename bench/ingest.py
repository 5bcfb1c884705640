"""KPI ingest throughput: the HTTP API and the CSV import, against a raw bulk insert of the same rows (the floor).

Builds an org of ``--teams × --agents`` agents, generates ``--samples`` agent-day samples of the eight ratio
metrics, then loads them into an emptied ``kpi_sample`` table (same schema: constraints, indexes, foreign keys)
three ways, ``--repeat`` times each, interleaved (best and median reported):

* API: ``POST /api/v1/kpi-samples`` in batches of ``--batch`` through the real ASGI app (``httpx.ASGITransport``,
  in process, a real bearer key). Request bodies are encoded before the clock starts: client work is not ours.
* CSV: what ``rhythm import kpis`` does — ``read_records`` + ``import_kpis`` + audit + commit. Writing the file is
  not timed.
* floor: the rows ``validate`` produced, already in driver form, inserted raw: COPY (psycopg) on PostgreSQL,
  ``executemany`` of a plain INSERT on SQLite. No validation, no upsert: the fastest the table takes rows.

Also timed: the API sending the same batches again (every row exists: all updates, the idempotent path).
The process runs with the garbage-collector tuning ``rhythm run`` and ``rhythm import`` apply (bot/runtime.py).

    .venv/bin/python bench/ingest.py                         # both databases, 100,000 samples
    .venv/bin/python bench/ingest.py --db postgres --profile # plus a cProfile of one API and one CSV run

SQLite lives in bench/.cache/ingest_bench.db; PostgreSQL in its own database ``rhythm_bench_ingest`` on the
loopback server (created when missing; its public schema is dropped and rebuilt every run). The ``test`` database
is never touched.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import csv
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
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
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
from bot.config import Settings
from bot.deps import Deps, build_deps
from bot.domain.metrics import DEFAULT_METRICS, Aggregation
from bot.domain.org import OrgSpec
from bot.ingest.kpis import REQUIRED_COLUMNS, import_kpis, load_lookups, validate
from bot.ingest.records import Record, read_records
from bot.runtime import tune_gc
from bot.store import apikeys, audit
from bot.store.db import make_engine
from bot.store.migrate import upgrade
from bot.store.org import apply_org
from bot.store.tables import KpiSample, utcnow

CACHE = Path(__file__).resolve().parent / ".cache"
SQLITE_PATH = CACHE / "ingest_bench.db"
KPI_TABLE = SQLModel.metadata.tables[KpiSample.__tablename__]
COLS = [c.name for c in KPI_TABLE.columns if c.name != "id"]
METRICS = [m.key for m in DEFAULT_METRICS if m.aggregation is Aggregation.RATIO][:8]
FIRST_DAY = date(2026, 1, 5)
LOOPBACK = {"127.0.0.1", "localhost", "::1"}
TARGET = 0.5  # API ≥ 50% of the floor on PostgreSQL
LABELS = ("floor", "API", "CSV", "API again (all updates)")
console = Console(width=120)


def org_spec(teams: int) -> OrgSpec:
    return OrgSpec.model_validate({"teams": [{"key": f"t{i:03d}", "name": f"Team {i:03d}"} for i in range(teams)]})


def agent_emails(teams: int, agents: int) -> list[str]:
    return [f"agent{t:03d}.{n:02d}@bench.example" for t in range(teams) for n in range(agents)]


def generate(emails: list[str], n: int) -> list[Record]:
    """``n`` agent-day samples, day by day, each agent × each metric, as a file or a WFM export would carry them."""
    rng = random.Random(7)
    out: list[Record] = []
    day = FIRST_DAY
    while len(out) < n:
        for email in emails:
            for metric in METRICS:
                den = rng.randint(5, 60)
                out.append(
                    {"metric": metric, "subject": email, "date": day.isoformat()}
                    | {"numerator": round(den * rng.uniform(0.6, 1.0), 2), "denominator": float(den)}
                )
        day += timedelta(days=1)
    return out[:n]


def reset_sqlite() -> None:
    CACHE.mkdir(exist_ok=True)
    for suffix in ("", "-wal", "-shm"):
        Path(str(SQLITE_PATH) + suffix).unlink(missing_ok=True)


async def prepare(url: str, a: argparse.Namespace) -> None:
    """A fresh schema with the org: teams through apply_org, agents by one bulk INSERT."""
    if url.startswith("postgresql"):
        await ensure_pg_database(url)
    else:
        reset_sqlite()
    engine = make_engine(url)
    try:
        if url.startswith("postgresql"):
            async with engine.begin() as conn:
                await conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        await upgrade(engine)
        deps = build_deps(Settings(_env_file=None, database_url=url), engine=engine)
        async with deps.sessions() as session:
            await apply_org(session, org_spec(a.teams))
            await session.commit()
        async with engine.begin() as conn:
            team_ids: dict[str, int] = dict((await conn.execute(text("SELECT key, id FROM team"))).all())
            now = utcnow()
            people = [
                {"email": e, "name": e.split("@")[0], "role": "agent", "slack_user_id": None, "external_id": None}
                | {"team_id": team_ids[f"t{e[5:8]}"], "active": True, "created_at": now, "updated_at": now}
                for e in agent_emails(a.teams, a.agents)
            ]
            await conn.execute(insert(SQLModel.metadata.tables["member"]), people)
    finally:
        await engine.dispose()


async def empty_table(engine: AsyncEngine) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execute(text("TRUNCATE kpi_sample"))
        else:
            await conn.execute(text("DELETE FROM kpi_sample"))
    if engine.dialect.name == "sqlite":
        async with engine.connect() as conn:
            await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


async def count_rows(engine: AsyncEngine) -> int:
    async with engine.connect() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM kpi_sample"))).scalar_one())


def driver_rows(rows: list[dict[str, Any]], engine: AsyncEngine) -> list[tuple[Any, ...]]:
    """The validated rows as the driver receives them (SQLite: through the columns' bind processors)."""
    now = utcnow()
    full = [r | {"ingested_at": now} for r in rows]
    if engine.dialect.name == "postgresql":
        return [tuple(r[c] for c in COLS) for r in full]  # psycopg adapts aware datetimes and dates itself
    procs = [KPI_TABLE.c[c].type.bind_processor(engine.dialect) for c in COLS]
    return [tuple(p(r[c]) if p else r[c] for p, c in zip(procs, COLS, strict=True)) for r in full]


async def floor(engine: AsyncEngine, rows: list[tuple[Any, ...]]) -> None:
    async with engine.begin() as conn:
        if conn.dialect.name == "postgresql":
            pg = (await conn.get_raw_connection()).driver_connection
            assert isinstance(pg, psycopg.AsyncConnection)
            async with pg.cursor() as cur, cur.copy(f"COPY kpi_sample ({', '.join(COLS)}) FROM STDIN") as copy:
                for row in rows:
                    await copy.write_row(row)
        else:
            sql = f"INSERT INTO kpi_sample ({', '.join(COLS)}) VALUES ({', '.join('?' * len(COLS))})"
            await conn.exec_driver_sql(sql, rows)


# ---- the paths under test ----


async def csv_import(deps: Deps, path: Path) -> None:
    records = read_records(path, REQUIRED_COLUMNS)
    async with deps.sessions() as session:
        count, errors = await import_kpis(session, records, source="import")
        assert not errors, errors[:3]
        audit.record(session, actor="cli", action="kpis.import", subject=path.name, rows=count)
        await session.commit()


async def api_post(client: httpx.AsyncClient, bodies: list[bytes], key: str) -> None:
    headers = {"Authorization": f"Bearer {key}", "content-type": "application/json"}
    for body in bodies:
        resp = await client.post("/api/v1/kpi-samples", content=body, headers=headers, timeout=120)
        assert resp.status_code == 200, resp.text[:500]


async def timed(engine: AsyncEngine, n: int, work: Callable[[], Awaitable[None]], *, empty: bool = True) -> float:
    if empty:
        await empty_table(engine)
    gc.collect()
    t0 = time.perf_counter()
    await work()
    seconds = time.perf_counter() - t0
    got = await count_rows(engine)
    assert got == n, f"expected {n} rows, found {got}"
    return seconds


async def profiled(label: str, work: Callable[[], Awaitable[None]]) -> None:
    prof = cProfile.Profile()
    prof.enable()
    await work()
    prof.disable()
    out = io.StringIO()
    stats = pstats.Stats(prof, stream=out).strip_dirs().sort_stats("tottime")
    stats.print_stats(22)
    console.rule(f"cProfile: {label} (by own time; the event loop thread only)")
    console.print(out.getvalue(), markup=False, highlight=False)


@dataclass
class Workload:
    """The same samples in each path's form: driver rows (floor), a CSV file, and encoded API request bodies."""

    deps: Deps
    key: str
    raw: list[tuple[Any, ...]]
    csv_path: Path
    bodies: list[bytes]


async def workload(name: str, url: str, a: argparse.Namespace) -> Workload:
    settings = Settings(
        _env_file=None, database_url=url, slack_bot_token=SecretStr("xoxb-bench"), slack_signing_secret=SecretStr("s")
    )
    deps = build_deps(settings, engine=make_engine(url))
    async with deps.sessions() as session:
        key = await apikeys.create_key(session, "bench", now=deps.clock.now())
        lookups = await load_lookups(session)
        await session.commit()
    records = generate(agent_emails(a.teams, a.agents), a.samples)
    rows, errors = validate(list(enumerate(records)), lookups, "import")
    assert not errors, errors[:3]
    path = CACHE / f"ingest_bench_{name.lower()}.csv"
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.DictWriter(f, fieldnames=["metric", "subject", "date", "numerator", "denominator"])
        writer.writeheader()
        writer.writerows(records)
    bodies = [json.dumps({"samples": records[i : i + a.batch]}).encode() for i in range(0, len(records), a.batch)]
    return Workload(deps, key, driver_rows(rows, deps.engine), path, bodies)


async def bench_db(name: str, url: str, a: argparse.Namespace) -> dict[str, list[float]]:
    """Seconds per run, per path."""
    t0 = time.perf_counter()
    await prepare(url, a)
    w = await workload(name, url, a)
    engine, n = w.deps.engine, a.samples
    mb = sum(map(len, w.bodies)) / len(w.bodies) / 1e6
    console.print(
        f"{name}: {a.teams}×{a.agents} agents, {n:,} samples ready in {time.perf_counter() - t0:.1f}s; "
        f"{len(w.bodies)} request(s) of ≤{a.batch:,} samples ({mb:.2f} MB each)"
    )
    results: dict[str, list[float]] = {label: [] for label in LABELS}
    app = create_asgi_app(w.deps.settings, deps=w.deps)
    tune_gc()  # as `rhythm run` and `rhythm import` do (bot/runtime.py); every path, the floor included, runs so
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench") as client:

            def api() -> Awaitable[None]:
                return api_post(client, w.bodies, w.key)

            def csv_path() -> Awaitable[None]:
                return csv_import(w.deps, w.csv_path)

            for _ in range(a.repeat):
                results["floor"].append(await timed(engine, n, lambda: floor(engine, w.raw)))
                results["CSV"].append(await timed(engine, n, csv_path))
                results["API"].append(await timed(engine, n, api))
                results["API again (all updates)"].append(await timed(engine, n, api, empty=False))
            if a.profile:
                for label, work in (("API", api), ("CSV", csv_path)):
                    await empty_table(engine)
                    await profiled(f"{name} {label}", work)
    finally:
        await engine.dispose()
    return {label: secs for label, secs in results.items() if secs}


def report(name: str, seconds: dict[str, list[float]], a: argparse.Namespace) -> bool:
    """Best of the runs leads (interference from other processes only ever adds time); the median is beside it."""
    n: int = a.samples
    best = {label: n / min(secs) for label, secs in seconds.items()}
    median = {label: n / statistics.median(secs) for label, secs in seconds.items()}
    table = Table(title=f"{name}: {a.samples:,} samples, {a.repeat} run(s) each")
    for column in ("path", "samples/s (best)", "% of floor", "samples/s (median)", "% of floor (median)"):
        table.add_column(column, justify="left" if column == "path" else "right")
    for label in (k for k in LABELS if k in seconds):
        table.add_row(
            label,
            f"{best[label]:,.0f}",
            f"{100 * best[label] / best['floor']:.0f}%",
            f"{median[label]:,.0f}",
            f"{100 * median[label] / median['floor']:.0f}%",
        )
    console.print(table)
    if name != "PostgreSQL":
        return True
    ratio = best["API"] / best["floor"]
    ok = ratio >= TARGET
    console.print(f"  {'[green]PASS' if ok else '[red]FAIL'}[/]  PostgreSQL: API ≥ 50% of floor ({100 * ratio:.0f}%)")
    return ok


async def main(a: argparse.Namespace) -> int:
    console.print(f"command: {shlex.join(['.venv/bin/python', *sys.argv])}")
    console.print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    targets = {"SQLite": f"sqlite+aiosqlite:///{SQLITE_PATH}", "PostgreSQL": a.pg_url}
    chosen = targets if a.db == "both" else {k: v for k, v in targets.items() if k.lower().startswith(a.db[:3])}
    ok = True
    for name, url in chosen.items():
        ok &= report(name, await bench_db(name, url, a), a)
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--db", choices=("sqlite", "postgres", "both"), default="both")
    p.add_argument("--pg-url", default="postgresql+psycopg://postgres@127.0.0.1:5432/rhythm_bench_ingest")
    p.add_argument("--samples", type=int, default=100_000)
    p.add_argument("--teams", type=int, default=50)
    p.add_argument("--agents", type=int, default=25)
    p.add_argument("--batch", type=int, default=10_000, help="samples per API request (the API allows ≤ 10,000)")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--profile", action="store_true", help="cProfile one API run and one CSV run")
    a = p.parse_args()
    if not (1 <= a.samples <= 1_000_000 and 1 <= a.teams <= 999 and 1 <= a.agents <= 99 and 1 <= a.repeat <= 10):
        p.error("samples 1..1,000,000; teams 1..999; agents 1..99; repeat 1..10")
    if not 1 <= a.batch <= 10_000:
        p.error("batch 1..10,000")
    if make_url(a.pg_url).host not in LOOPBACK:
        p.error("the benchmark only talks to a PostgreSQL server on the loopback interface")
    if make_url(a.pg_url).database in {"test", "postgres"}:
        p.error("use a dedicated database (its schema is dropped every run)")
    return a


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
