"""Fan-out: every team channel gets its snapshot in the same minute, through the outbox, against Slack's limits.

Queues ``--channels`` × ``--per-channel`` messages (200 × 1 by default), all due at the start of the current
minute, then starts a real DeliveryWorker (system clock, background loop) against a FakeSlack on 127.0.0.1 that
enforces chat.postMessage's limits: ``--channel-rate`` messages/s per channel (strict: no burst) and a
workspace-wide cap of ``--slack-rate`` messages/s (a token bucket holding ``--slack-burst`` messages, so that
loopback jitter is not punished as a burst; excess gets 429 + Retry-After). The worker is configured with the same
rates (``--worker-rate`` to differ). Measured: worker start → the last message accepted by the fake.

The rate-limit bound is max(total / workspace rate, per-channel / channel rate): 200 / 50 = 4.0 s by default.
Passes when every message arrived exactly once, in order per channel, every row is ``sent`` with its own ts,
and the total is within 10% of the bound.

    .venv/bin/python bench/fanout.py                     # SQLite (a temporary file), 3 runs
    .venv/bin/python bench/fanout.py --db postgres       # PostgreSQL database rhythm_fanout (created if missing)

Loopback only; bounded by ``--timeout`` per run. PostgreSQL: only the ``rhythm_fanout`` database is touched
(its tables are dropped and recreated each run).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import shlex
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from common import ensure_pg_database  # bench/ is the script directory
from sqlalchemy import select

from bot.config import Settings
from bot.delivery.client import create_delivery_client
from bot.delivery.worker import DeliveryWorker
from bot.deps import build_deps
from bot.sandbox.fake_slack import FakeSlack
from bot.store import outbox
from bot.store.db import create_all, drop_all
from bot.store.tables import Outbox

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/rhythm_fanout"


@dataclass
class Run:
    seconds: float  # worker start → last message accepted by the fake
    settled: float  # worker start → every row recorded as sent
    delivered: int
    duplicates: int
    out_of_order: int
    rows_sent: int
    distinct_ts: int
    rejected: int  # 429s from the fake


async def wait_until(done: Callable[[], Awaitable[bool]], deadline: float, step: float) -> None:
    """Poll ``done`` every ``step`` seconds until it is true or ``deadline`` (time.monotonic) passes."""
    while time.monotonic() < deadline:
        if await done():
            return
        await asyncio.sleep(step)


async def one_run(url: str, a: argparse.Namespace) -> Run:
    channels = [f"CTEAM{n:05d}" for n in range(a.channels)]
    async with FakeSlack() as slack:
        slack.limit(channel_rate=a.channel_rate, workspace_rate=a.slack_rate, workspace_burst=a.slack_burst)
        settings = Settings(
            _env_file=None,
            slack_api_url=slack.api_url,
            database_url=url,
            channel_rate_per_second=a.channel_rate,
            workspace_rate_per_second=a.worker_rate,
        )
        deps = build_deps(settings)
        try:
            await drop_all(deps.engine)
            await create_all(deps.engine)
            now = deps.clock.now()
            minute = now.replace(second=0, microsecond=0)
            async with deps.sessions() as session:
                for n in range(a.per_channel):
                    for channel in channels:
                        key = f"snapshot:{channel}:{minute:%H:%M}:{n}"
                        await outbox.enqueue(
                            session, key=key, channel=channel, payload={"text": key}, not_before=minute, now=now
                        )
                await session.commit()
            total = a.channels * a.per_channel
            worker = DeliveryWorker(deps, create_delivery_client(settings, "xoxb-bench"))
            t0 = time.monotonic()
            worker.start()
            deps.outbox_ready.send()
            deadline = t0 + a.timeout

            async def all_posted() -> bool:
                return len(slack.posted()) >= total

            async def all_settled() -> bool:
                async with deps.sessions() as session:
                    statuses = (await session.execute(select(Outbox.status))).scalars()
                    return not any(s in outbox.UNSETTLED for s in statuses)

            await wait_until(all_posted, deadline, 0.005)
            await wait_until(all_settled, deadline, 0.01)
            settled = time.monotonic() - t0
            await worker.stop()
            posted = slack.posted()
            async with deps.sessions() as session:
                rows = list((await session.execute(select(Outbox))).scalars())
        finally:
            await deps.engine.dispose()
    counts = Counter(p.text for p in posted)
    out_of_order = sum(
        1 for c in channels if [p.text for p in slack.posted(c)] != sorted({p.text for p in slack.posted(c)})
    )
    return Run(
        seconds=(max(p.at for p in posted) - t0) if posted else float("inf"),
        settled=settled,
        delivered=len(counts),
        duplicates=sum(n - 1 for n in counts.values()),
        out_of_order=out_of_order,
        rows_sent=sum(1 for r in rows if r.status == "sent"),
        distinct_ts=len({(r.slack_channel, r.slack_ts) for r in rows if r.slack_ts}),
        rejected=slack.limits.rejected,
    )


async def bench(name: str, url: str, a: argparse.Namespace) -> bool:
    total = a.channels * a.per_channel
    bound = max(total / a.slack_rate, a.per_channel / a.channel_rate)
    print(f"\n{name}: {a.channels} channels × {a.per_channel} = {total} messages; bound {bound:.2f} s")
    ok = True
    runs: list[Run] = []
    for i in range(a.runs):
        r = await one_run(url, a)
        runs.append(r)
        within = abs(r.seconds - bound) <= 0.10 * bound
        correct = r.delivered == total == r.rows_sent == r.distinct_ts and r.duplicates == 0 and r.out_of_order == 0
        ok &= within and correct
        print(
            f"  run {i + 1}: {r.seconds:.3f} s to last delivery ({r.seconds / bound:.1%} of bound, "
            f"{'within' if within else 'NOT within'} 10%); all rows settled at {r.settled:.3f} s; "
            f"delivered {r.delivered}/{total}, duplicates {r.duplicates}, channels out of order {r.out_of_order}, "
            f"rows sent {r.rows_sent}, distinct ts {r.distinct_ts}, 429s {r.rejected}"
        )
    median = statistics.median(r.seconds for r in runs)
    print(f"  median {median:.3f} s = {median / bound:.1%} of the {bound:.2f} s bound → {'PASS' if ok else 'FAIL'}")
    return ok


async def main(a: argparse.Namespace) -> int:
    print(f"command: {shlex.join(['.venv/bin/python', *sys.argv])}")
    print(f"machine: {os.cpu_count()} cores, {platform.platform()}, Python {platform.python_version()}")
    print(
        f"fake Slack: {a.channel_rate:g} msg/s/channel (no burst), workspace cap {a.slack_rate:g} msg/s "
        f"(burst {a.slack_burst:g}); worker: {a.channel_rate:g} msg/s/channel, {a.worker_rate:g} msg/s workspace"
    )
    ok = True
    if a.db == "sqlite":
        with tempfile.TemporaryDirectory(prefix="rhythm-fanout-") as tmp:
            ok = await bench("SQLite", f"sqlite+aiosqlite:///{Path(tmp) / 'fanout.db'}", a)
    else:
        await ensure_pg_database(a.pg_url)
        ok = await bench("PostgreSQL", a.pg_url, a)
    return 0 if ok else 1


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--pg-url", default=PG_URL)
    p.add_argument("--channels", type=int, default=200)
    p.add_argument("--per-channel", type=int, default=1)
    p.add_argument("--channel-rate", type=float, default=1.0, help="Slack's per-channel limit, msg/s")
    p.add_argument("--slack-rate", type=float, default=50.0, help="the fake's workspace-wide cap, msg/s")
    p.add_argument("--slack-burst", type=float, default=None, help="the fake's workspace burst (default rate × 0.2)")
    p.add_argument("--worker-rate", type=float, default=None, help="the worker's workspace rate (default: the cap)")
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--timeout", type=float, default=120.0, help="seconds per run before giving up")
    a = p.parse_args()
    if min(a.channels, a.per_channel, a.runs) < 1 or a.channels > 5000 or a.per_channel > 100:
        p.error("channels 1..5000, per-channel 1..100, runs ≥ 1")
    a.slack_burst = a.slack_burst if a.slack_burst is not None else max(1.0, a.slack_rate * 0.2)
    a.worker_rate = a.worker_rate if a.worker_rate is not None else a.slack_rate
    return a


if __name__ == "__main__":
    sys.exit(asyncio.run(main(parse_args())))
