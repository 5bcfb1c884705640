"""Schedules and agent states in the database: re-publish replaces, repeats collapse, the scan gets its day."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.deps import Deps
from bot.ingest.adherence import import_schedule, import_states
from bot.store.adherence import load_agent_days
from bot.store.org import member_by

DAY_START, DAY_END = datetime(2026, 11, 18, 6, 0, tzinfo=UTC), datetime(2026, 11, 18, 20, 0, tzinfo=UTC)


def _seg(line: int, agent: str, start: str, end: str, activity: str) -> tuple[int, dict[str, str]]:
    return line, {"agent": agent, "start": start, "end": end, "activity": activity}


async def _thandi_id(deps: Deps) -> int:
    async with deps.sessions() as session:
        thandi = await member_by(session, email="thandi@example.com")
    assert thandi is not None
    return thandi.id


async def test_schedule_import_replaces_the_window_it_covers(org: Deps) -> None:
    async with org.sessions() as session:
        count, errors = await import_schedule(
            session,
            [
                _seg(2, "thandi@example.com", "2026-11-18T08:00", "2026-11-18T12:00", "open"),  # local time (UTC+2)
                _seg(3, "ZD-1", "2026-11-18T12:00", "2026-11-18T12:30", "lunch"),
                _seg(4, "thandi@example.com", "2026-11-18T12:30", "2026-11-18T17:00", "open"),
            ],
        )
        assert (count, errors) == (3, [])
        await session.commit()
    async with org.sessions() as session:  # the WFM re-publishes the afternoon only
        count, errors = await import_schedule(
            session, [_seg(2, "thandi@example.com", "2026-11-18T12:30", "2026-11-18T16:00", "open")]
        )
        await session.commit()
        days = await load_agent_days(session, start=DAY_START, end=DAY_END)
    day = days[await _thandi_id(org)]
    assert [(s.start.hour, s.end.hour, s.activity) for s in day.segments] == [
        (6, 10, "open"),
        (10, 10, "lunch"),
        (10, 14, "open"),
    ]


async def test_state_events_deduplicate_and_the_scan_knows_the_opening_state(org: Deps) -> None:
    async with org.sessions() as session:
        await import_schedule(session, [_seg(2, "thandi@example.com", "2026-11-18T08:00", "2026-11-18T17:00", "open")])
        events = [
            (2, {"agent": "thandi@example.com", "at": "2026-11-18T05:00:00+00:00", "state": "offline"}),
            (3, {"agent": "thandi@example.com", "at": "2026-11-18T07:58:00+02:00", "state": "available"}),
            (4, {"agent": "thandi@example.com", "at": "2026-11-18T07:58:00+02:00", "state": "available"}),
            (5, {"agent": "UAGENT0001", "at": "2026-11-18T10:15", "state": "break"}),
        ]
        new, errors = await import_states(session, events)
        assert (new, errors) == (3, [])
        assert (await import_states(session, events))[0] == 0  # a feed that resends changes nothing
        await session.commit()
        days = await load_agent_days(session, start=DAY_START, end=DAY_END)
    assert [(e.at.hour, e.at.minute, e.state) for e in days[await _thandi_id(org)].events] == [
        (5, 58, "available"),  # the latest event before the 06:00 window: the state it opens in
        (8, 15, "break"),
    ]


async def test_bad_rows_are_listed_and_nothing_changes(org: Deps) -> None:
    async with org.sessions() as session:
        count, errors = await import_schedule(
            session,
            [
                _seg(2, "nobody@example.com", "2026-11-18T08:00", "2026-11-18T09:00", "open"),
                _seg(3, "thandi@example.com", "2026-11-18T09:00", "2026-11-18T08:00", "open"),
                _seg(4, "thandi@example.com", "tomorrow", "2026-11-18T08:00", "open"),
                _seg(5, "thandi@example.com", "2026-11-18T08:00", "2026-11-18T09:00", "Coffee Break!"),
                _seg(6, "thandi@example.com", "2026-11-18T08:00", "2026-11-18T09:00", "open"),
            ],
        )
        days = await load_agent_days(session, start=DAY_START, end=DAY_END)
    assert count == 0 and days == {}
    assert [str(e) for e in errors] == [
        "line 2: unknown agent 'nobody@example.com' (an email, external id or Slack id)",
        "line 3: end must be after start",
        "line 4: start 'tomorrow' is not an ISO 8601 date-time",
        "line 5: activity 'coffee break!' is not a name like 'open', 'break' or 'lunch'",
    ]
