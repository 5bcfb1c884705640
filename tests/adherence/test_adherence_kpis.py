"""Daily adherence and conformance KPIs: the job writes each scheduled agent-day once, and /kpi shows them."""

from __future__ import annotations

import copy
import json
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, select
from sqlmodel import col

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.adherence_kpis import SOURCE
from bot.domain.org import OrgSpec
from bot.ingest.adherence import import_schedule, import_schedule_days, import_states
from bot.services.adherence_kpis import compute_adherence_kpis, run_adherence_kpis
from bot.store.org import all_teams, apply_org, member_by
from bot.store.tables import Breach, KpiDay, KpiSample, Member, Metric, ScheduleSegment
from tests.conftest import SlashCommand
from tests.support.kpis import add_samples, sample
from tests.support.org import AGENT_1, AGENT_3, ALPHA_LEAD, BRAVO_LEAD, ORG

SAST = ZoneInfo("Africa/Johannesburg")
TUE, WED = date(2026, 11, 17), date(2026, 11, 18)


def _rows(agent: str, *segments: tuple[str, str, str]) -> list[tuple[int, dict[str, str]]]:
    return [(i + 2, {"agent": agent, "start": s, "end": e, "activity": a}) for i, (s, e, a) in enumerate(segments)]


def _states(agent: str, *events: tuple[str, str]) -> list[tuple[int, dict[str, str]]]:
    return [(i + 2, {"agent": agent, "at": at, "state": st}) for i, (at, st) in enumerate(events)]


@pytest.fixture
async def days(org: Deps) -> Deps:
    """Tuesday whole and Wednesday up to 14:30 for two alpha agents and one bravo agent; Ayesha has no schedule.

    Tuesday, Thandi: 08:00-12:00 open, 12:00-12:30 lunch, 12:30-17:00 open; back from lunch 10 min late and
    gone 10 min early -> 520 of 540 min in adherence; worked 07:58-12:00 and 12:40-16:50 = 492 of 510 on-queue.
    Tuesday, Sipho: 08:00-17:00 open; away 10:00-10:45 -> 495 of 540; worked 125 + 375 + 2 = 502 of 540.
    Wednesday, Thandi: 08:00-17:00 open, logged in 08:05 -> 385 of 390 by 14:30. Sipho is off.
    Wednesday, Bob (London, 12:30 there): 09:00-17:00 open, in from 08:50 -> 210 of 210.
    """
    targets = {"schedule_adherence": {"green": 95, "amber": 90}, "conformance": {"green": 90, "amber": 85}}
    spec = copy.deepcopy(ORG)
    spec["teams"][0]["targets"] |= targets
    async with org.sessions() as session:
        await apply_org(session, OrgSpec.model_validate(spec))
        schedules = [
            *_rows(
                "thandi@example.com",
                ("2026-11-17T08:00", "2026-11-17T12:00", "open"),
                ("2026-11-17T12:00", "2026-11-17T12:30", "lunch"),
                ("2026-11-17T12:30", "2026-11-17T17:00", "open"),
                ("2026-11-18T08:00", "2026-11-18T17:00", "open"),
            ),
            *_rows("sipho@example.com", ("2026-11-17T08:00", "2026-11-17T17:00", "open")),
            *_rows("bob@example.com", ("2026-11-18T09:00", "2026-11-18T17:00", "open")),
        ]
        assert (await import_schedule(session, schedules))[1] == []
        states = [
            *_states(
                "thandi@example.com",
                ("2026-11-17T07:58", "available"),
                ("2026-11-17T12:00", "lunch"),
                ("2026-11-17T12:40", "available"),
                ("2026-11-17T16:50", "offline"),
                ("2026-11-18T08:05", "available"),
            ),
            *_states(
                "sipho@example.com",
                ("2026-11-17T07:55", "available"),
                ("2026-11-17T10:00", "away"),
                ("2026-11-17T10:45", "available"),
                ("2026-11-17T17:02", "offline"),
            ),
            *_states("bob@example.com", ("2026-11-18T08:50", "available")),
        ]
        assert (await import_states(session, states))[1] == []
        await session.commit()
    return org


async def _samples(deps: Deps) -> dict[tuple[str, str, date], tuple[float, float, datetime]]:
    async with deps.sessions() as session:
        rows = await session.execute(
            select(col(Member.email), col(Metric.key), col(KpiSample.day))
            .add_columns(col(KpiSample.numerator), col(KpiSample.denominator), col(KpiSample.period_end))
            .join(Member, col(Member.id) == KpiSample.member_id)
            .join(Metric, col(Metric.id) == KpiSample.metric_id)
            .where(col(KpiSample.source) == SOURCE)
        )
        found = [(e.split("@")[0], k, d, n, den, end) for e, k, d, n, den, end in rows.all()]
    out = {(who, key, day): (n, den, end) for who, key, day, n, den, end in found}
    assert len(out) == len(found), "one sample per agent, metric and day"
    return out


def _line(payload: dict[str, Any], label: str) -> str:
    text = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    return next(line for line in text.splitlines() if f"*{label}*" in line)


async def test_job_writes_each_scheduled_agent_day_once_and_kpi_team_shows_it(
    days: Deps, clock: FixedClock, slash: SlashCommand
) -> None:
    result = await run_adherence_kpis(days)  # 14:30: today so far (yesterday is redone once an hour)
    assert result is not None and (result.agent_days, result.samples) == (2, 4)
    assert await run_adherence_kpis(days) is None  # this slot is taken (another replica, or a catch-up run)
    got = await _samples(days)
    assert {k: v[:2] for k, v in got.items()} == {
        ("thandi", "schedule_adherence", WED): (385, 390),
        ("thandi", "conformance", WED): (385, 390),
        ("bob", "schedule_adherence", WED): (210, 210),
        ("bob", "conformance", WED): (220, 210),  # logged in 10 min early: conformance may pass 100 %
    }
    assert got["thandi", "schedule_adherence", WED][2] == clock.now()  # today: "up to" when it was computed

    clock.set(datetime(2026, 11, 18, 15, 0, tzinfo=SAST))  # the hour's first slot: yesterday too
    result = await run_adherence_kpis(days)
    assert result is not None and (result.agent_days, result.samples) == (4, 8)
    got = await _samples(days)
    assert {k: v[:2] for k, v in got.items()} == {
        ("thandi", "schedule_adherence", TUE): (520, 540),
        ("thandi", "conformance", TUE): (492, 510),
        ("sipho", "schedule_adherence", TUE): (495, 540),
        ("sipho", "conformance", TUE): (502, 540),
        ("thandi", "schedule_adherence", WED): (415, 420),
        ("thandi", "conformance", WED): (415, 420),
        ("bob", "schedule_adherence", WED): (240, 240),
        ("bob", "conformance", WED): (250, 240),
    }
    assert got["thandi", "schedule_adherence", TUE][2] == datetime(2026, 11, 17, 22, 0, tzinfo=UTC)  # SAST midnight

    clock.set(datetime(2026, 11, 18, 15, 15, tzinfo=SAST))  # the next slot: today grows, still one row per day
    assert await run_adherence_kpis(days) is not None
    got = await _samples(days)
    assert got["thandi", "schedule_adherence", WED][:2] == (430, 435) and len(got) == 8

    payload = (await slash(ALPHA_LEAD, "team yesterday")).json()
    # Team: (520 + 495) / (540 + 540) = 94.0 % (amber against 95/90); (492 + 502) / (510 + 540) = 94.7 % (green).
    assert _line(payload, "Schedule adherence").startswith("🟠 *Schedule adherence*  94.0%  ·  target 95.0%")
    assert _line(payload, "Conformance").startswith("🟢 *Conformance*  94.7%  ·  target 90.0%")
    assert "3 agents" in json.dumps(payload)  # the team's size; Ayesha (no schedule) simply has no figure
    today = (await slash(ALPHA_LEAD, "team")).json()
    assert "98.9%" in _line(today, "Schedule adherence")  # 430 / 435
    assert "data up to Wed 18 Nov 15:15" in json.dumps(today)


async def test_agents_see_their_own_and_leads_see_each_agent(days: Deps, slash: SlashCommand) -> None:
    await compute_adherence_kpis(days)
    mine = (await slash(AGENT_1, "me yesterday")).json()
    assert mine["blocks"][0]["text"]["text"] == "📊 Thandi Nkosi (Team Alpha)"
    assert "96.3%" in _line(mine, "Schedule adherence") and "96.5%" in _line(mine, "Conformance")
    sipho = (await slash(ALPHA_LEAD, "<@UAGENT0002> yesterday")).json()
    assert "91.7%" in _line(sipho, "Schedule adherence") and "93.0%" in _line(sipho, "Conformance")
    ayesha = (await slash(AGENT_3, "me yesterday")).json()
    assert "No KPI data" in json.dumps(ayesha, ensure_ascii=False)
    bravo = (await slash(BRAVO_LEAD, "team")).json()
    assert "100.0%" in _line(bravo, "Schedule adherence")
    refused = (await slash(AGENT_1, "<@UAGENT0002> yesterday")).json()
    assert "agents can see their own figures only" in refused["text"]


async def test_imported_wfm_adherence_and_computed_adherence_are_never_added_together(
    days: Deps, slash: SlashCommand
) -> None:
    # The WFM's own figure for Tuesday: 450/480 and 400/480 -> 850/960 = 88.5 %.
    await add_samples(
        days,
        sample("adherence", "thandi@example.com", "2026-11-17", 450, 480),
        sample("adherence", "sipho@example.com", "2026-11-17", 400, 480),
    )
    await compute_adherence_kpis(days)
    await compute_adherence_kpis(days)  # and again: a recomputation replaces, never adds
    payload = (await slash(ALPHA_LEAD, "team yesterday")).json()
    assert "88.5%" in _line(payload, "Adherence")  # the import alone (mixed in, it would read 91.4 %)
    assert "94.0%" in _line(payload, "Schedule adherence")  # Rhythm's alone
    async with days.sessions() as session:
        sums = {
            key: (n, d)
            for key, n, d in (
                await session.execute(
                    select(col(Metric.key), col(KpiDay.numerator), col(KpiDay.denominator))
                    .join(Metric, col(Metric.id) == KpiDay.metric_id)
                    .where(col(KpiDay.day) == TUE, col(KpiDay.team_level).is_(False))
                )
            ).all()
        }
    assert sums["adherence"] == (850, 960) and sums["schedule_adherence"] == (1015, 1080)


async def test_excused_time_leaves_both_sides_and_a_withdrawn_schedule_loses_its_figure(days: Deps) -> None:
    async with days.sessions() as session:
        sipho = await member_by(session, email="sipho@example.com")
        thandi = await member_by(session, email="thandi@example.com")
        assert sipho and sipho.team_id and thandi
        session.add(
            Breach(
                member_id=sipho.id,
                team_id=sipho.team_id,
                kind="out_of_adherence",
                status="excused",
                started_at=datetime(2026, 11, 17, 10, 0, tzinfo=SAST),
                ended_at=datetime(2026, 11, 17, 10, 45, tzinfo=SAST),
            )
        )
        await session.commit()
    await compute_adherence_kpis(days)
    got = await _samples(days)
    # The 45 excused minutes leave numerator and denominator: 495/495; conformance 502 of 540 - 45 on-queue.
    assert got["sipho", "schedule_adherence", TUE][:2] == (495, 495)
    assert got["sipho", "conformance", TUE][:2] == (502, 495)

    async with days.sessions() as session:  # the WFM withdraws Thandi's Wednesday
        await session.execute(
            delete(ScheduleSegment).where(
                col(ScheduleSegment.member_id) == thandi.id,
                col(ScheduleSegment.start) >= datetime(2026, 11, 18, tzinfo=SAST),
            )
        )
        await session.commit()
    await compute_adherence_kpis(days)
    got = await _samples(days)
    assert ("thandi", "schedule_adherence", WED) not in got and ("thandi", "schedule_adherence", TUE) in got
    async with days.sessions() as session:
        wed = (
            await session.execute(
                select(col(KpiDay.numerator), col(KpiDay.denominator))
                .join(Metric, col(Metric.id) == KpiDay.metric_id)
                .where(col(KpiDay.day) == WED, col(KpiDay.team_id) == thandi.team_id)
                .where(col(Metric.key) == "schedule_adherence")
            )
        ).all()
    assert wed == []  # the team's daily sums lost it too


async def test_a_team_with_no_schedules_gets_no_figures(org: Deps) -> None:
    result = await compute_adherence_kpis(org)
    assert (result.agent_days, result.samples) == (0, 0)
    assert await _samples(org) == {}


async def test_recomputing_chosen_days_touches_only_those(days: Deps, clock: FixedClock) -> None:
    """A schedule re-published for older days (or ``rhythm adherence recompute``): just those (team, day)s are
    rebuilt; a day not yet begun is skipped; other teams' and other days' figures stay as they were."""
    async with days.sessions() as session:
        teams = {t.key: t.id for t in await all_teams(session)}
    await compute_adherence_kpis(days, days_back=1)  # Tuesday and Wednesday (to 14:30) for everyone
    before = await _samples(days)
    async with days.sessions() as session:  # the Tuesday figures are lost
        await session.execute(delete(KpiSample).where(col(KpiSample.day) == TUE, col(KpiSample.source) == SOURCE))
        await session.commit()
    clock.set(datetime(2026, 11, 18, 15, 0, tzinfo=SAST))  # Wednesday, had it been recomputed, would have grown
    result = await compute_adherence_kpis(days, only={teams["alpha"]: [TUE, date(2026, 11, 19)]})
    assert (result.agent_days, result.samples) == (2, 4)  # Thandi and Sipho on Tuesday; Thursday has not begun
    assert await _samples(days) == before


async def test_a_republish_touches_the_days_of_the_segments_it_replaces_too(org: Deps) -> None:
    """Monday's night shift runs into Tuesday; a re-publish from Tuesday 01:00 replaces it, so Monday's figures
    change as well as Tuesday's."""
    mon = date(2026, 11, 16)
    async with org.sessions() as session:
        night = _rows("thandi@example.com", ("2026-11-16T22:00", "2026-11-17T02:00", "open"))
        assert (await import_schedule(session, night))[1] == []
        early = _rows("thandi@example.com", ("2026-11-17T01:00", "2026-11-17T09:00", "open"))
        count, errors, touched = await import_schedule_days(session, early)
        await session.commit()
        alpha = {t.key: t.id for t in await all_teams(session)}["alpha"]
    assert (count, errors) == (1, [])
    assert touched == {alpha: {mon, TUE}}


async def test_recomputing_older_days_keeps_the_figures_of_agents_who_left_or_moved(days: Deps) -> None:
    """Rhythm keeps no membership history: Sipho has left and Thandi moved to bravo since Tuesday, so rebuilding
    Tuesday (for alpha, then bravo) must neither delete Sipho's figures nor move Thandi's to bravo."""
    from sqlalchemy import update

    async with days.sessions() as session:
        teams = {t.key: t.id for t in await all_teams(session)}
    await compute_adherence_kpis(days, days_back=1)
    before = await _samples(days)
    assert ("sipho", "schedule_adherence", TUE) in before
    async with days.sessions() as session:
        await session.execute(update(Member).where(col(Member.email) == "sipho@example.com").values(active=False))
        thandi = update(Member).where(col(Member.email) == "thandi@example.com").values(team_id=teams["bravo"])
        await session.execute(thandi)
        await session.commit()
    await compute_adherence_kpis(days, only={teams["alpha"]: [TUE], teams["bravo"]: [TUE]})
    assert await _samples(days) == before
    async with days.sessions() as session:
        query = select(col(KpiSample.team_id)).join(Member, col(Member.id) == KpiSample.member_id)
        query = query.where(col(Member.email) == "thandi@example.com", col(KpiSample.day) == TUE)
        assert set((await session.execute(query)).scalars()) == {teams["alpha"]}
