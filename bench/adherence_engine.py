"""Time of the pure adherence engine: ``evaluate`` for every agent of a site, as the per-minute scan calls it.

Each synthetic agent has a realistic non-voice day: an 8-hour shift starting between 06:00 and 10:00 (open
blocks, two 15-minute breaks, a 30-minute lunch), a login a few minutes either side of the start, breaks and
lunch taken with a few minutes' jitter, an early or late logout, and ``--rate`` state changes per working hour
between available, busy and after_work (chat agents: 5–20 an hour), in time order as the store returns them
(``--messy``: shuffled, 5 % sent twice). Only ``evaluate`` is timed; building the inputs (the store's job) is
timed separately for reference.

    .venv/bin/python bench/adherence_engine.py                 # 500 and 5,000 agents at 5 and 20 events/hour
    .venv/bin/python bench/adherence_engine.py --agents 5000 --rate 20 --repeat 5
"""

from __future__ import annotations

import argparse
import gc
import platform
import random
import statistics
import time
from datetime import UTC, datetime, timedelta

from bot.domain.adherence import Segment, StateEvent, evaluate

DAY = datetime(2026, 3, 2, tzinfo=UTC)
WORKING = ("available", "busy", "after_work")


def agent_day(
    rnd: random.Random, rate: float, messy: bool
) -> tuple[list[tuple[datetime, datetime, str]], list[tuple[datetime, str]]]:
    start = DAY + timedelta(minutes=rnd.randrange(6 * 60, 10 * 60, 30))

    def t(minutes: float) -> datetime:
        return start + timedelta(minutes=minutes)

    plan = [(0, 105, "open"), (105, 120, "break"), (120, 210, "open"), (210, 240, "lunch"), (240, 360, "open")]
    plan += [(360, 375, "break"), (375, 480, "open")]
    segments = [(t(a), t(b), activity) for a, b, activity in plan]
    events: list[tuple[datetime, str]] = [(t(rnd.uniform(-8, 6)), "available")]
    for a, b, activity in plan:
        if activity == "open":
            m = float(a)
            while True:
                m += rnd.expovariate(rate / 60)
                if m >= b:
                    break
                events.append((t(m), rnd.choice(WORKING)))
        else:
            events.append((t(a + rnd.uniform(-2, 3)), activity))
            events.append((t(b + rnd.uniform(-1, 6)), "available"))
    events.append((t(480 + rnd.uniform(-25, 5)), "offline"))
    events.sort()  # as the store hands them over: by time, duplicates collapsed by its unique key
    if messy:  # straight from a feed that resends and reorders
        events += rnd.sample(events, len(events) // 20)
        rnd.shuffle(events)
    return segments, events


def build(agents: int, rate: float, seed: int, messy: bool) -> list[tuple[list[Segment], list[StateEvent]]]:
    rnd = random.Random(seed)
    out = []
    for _ in range(agents):
        segs, evs = agent_day(rnd, rate, messy)
        out.append(([Segment(s, e, a) for s, e, a in segs], [StateEvent(at, st) for at, st in evs]))
    return out


def scan(days: list[tuple[list[Segment], list[StateEvent]]], now: datetime) -> tuple[float, float, int]:
    """One scan of every agent: (CPU seconds, wall seconds, breaches found). CPU time is the steadier figure on a
    shared machine; wall time is what the scan job waits."""
    gc.collect()
    cpu, wall = time.process_time(), time.perf_counter()
    breaches = 0
    for i, (segs, evs) in enumerate(days):
        result = evaluate(i, segs, evs, window_start=DAY, window_end=DAY + timedelta(days=1), now=now)
        breaches += len(result.breaches)
    return time.process_time() - cpu, time.perf_counter() - wall, breaches


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, nargs="*", default=[500, 5000])
    parser.add_argument("--rate", type=float, nargs="*", default=[5.0, 20.0], help="state changes per working hour")
    parser.add_argument("--repeat", type=int, default=3, help="best of N scans")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--messy", action="store_true", help="events shuffled, 5 %% sent twice (the sorting path)")
    args = parser.parse_args()
    order = "shuffled, 5 % resent" if args.messy else "in time order, as the store returns them"
    print(f"python {platform.python_version()} on {platform.machine()}; best of {args.repeat}; events {order}")
    header = f"{'agents':>7} {'ev/h':>5} {'events/agent':>12} {'build s':>8} {'now':>6} {'cpu s':>7} {'wall s':>7}"
    print(header + f" {'µs/agent':>9} {'breaches':>8}")
    for agents in args.agents:
        for rate in args.rate:
            started = time.perf_counter()
            days = build(agents, rate, args.seed, args.messy)
            built = time.perf_counter() - started
            per_agent = statistics.mean(len(evs) for _, evs in days)
            for label, now in (
                ("14:30", DAY + timedelta(hours=14, minutes=30)),
                ("23:59", DAY + timedelta(hours=23, minutes=59)),
            ):
                cpu, wall, breaches = min(scan(days, now) for _ in range(args.repeat))
                print(
                    f"{agents:>7} {rate:>5.0f} {per_agent:>12.0f} {built:>8.2f} {label:>6} {cpu:>7.3f} {wall:>7.3f}"
                    f" {cpu / agents * 1e6:>9.0f} {breaches:>8}"
                )


if __name__ == "__main__":
    main()
