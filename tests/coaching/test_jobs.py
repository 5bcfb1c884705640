"""Scheduled coaching work on the controlled clock: the follow-up DM with the coaching effect (once, across
runs and replicas; to whoever leads the agent when it is sent), and the daily retention purge."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import delete, func, select, update

from bot.clock import FixedClock
from bot.deps import Deps, build_deps
from bot.jobs.schedule import job_specs
from bot.services.coaching_jobs import run_coaching_follow_ups, run_coaching_retention
from bot.store import outbox
from bot.store.coaching import Submission, claim_submission
from bot.store.coaching_tables import CoachingActionItem, CoachingSession, ImprovementPlan
from bot.store.org import member_by, team_by_key
from bot.store.tables import AuditEvent, JobRun, Member, Outbox, TeamOversight
from tests.support.kpis import add_samples, sample
from tests.support.org import AGENT_1, ALPHA_LEAD, BRAVO_LEAD, MANAGER

SAST = ZoneInfo("Africa/Johannesburg")


async def add_session(
    deps: Deps, held_on: date, follow_up_on: date | None, evidence: dict[str, object], *, by: str = ALPHA_LEAD
) -> int:
    async with deps.sessions() as session:
        thandi = await member_by(session, slack_user_id=AGENT_1)
        lead = await member_by(session, slack_user_id=by)
        alpha = await team_by_key(session, "alpha")
        assert thandi and lead and alpha
        row = CoachingSession(
            member_id=thandi.id,
            team_id=alpha.id,
            lead_id=lead.id,
            kind="coaching",
            held_on=held_on,
            shared_summary="Refund accuracy",
            follow_up_on=follow_up_on,
            evidence=evidence,
        )
        session.add(row)
        await session.flush()
        assert row.id is not None
        session.add(CoachingActionItem(session_id=row.id, member_id=thandi.id, text="Shadow Sipho", owner="agent"))
        await outbox.enqueue(
            session, key=f"coaching:session:{row.id}:dm", channel=AGENT_1, kind="dm", payload={"text": "x"}
        )
        await session.commit()
        return row.id


CSAT_THEN = {
    "from": "2026-10-22",
    "to": "2026-11-04",
    "metrics": [
        {
            "key": "csat",
            "label": "CSAT",
            "unit": "%",
            "higher_is_better": True,
            "value": 80.0,
            "target": 85,
            "status": "red",
        },
        {
            "key": "aht",
            "label": "Handle time",
            "unit": "s",
            "higher_is_better": False,
            "value": 420.0,
            "target": None,
            "status": "none",
        },
    ],
}


async def follow_up_dms(deps: Deps) -> list[Outbox]:
    async with deps.sessions() as session:
        return list(
            (await session.execute(select(Outbox).where(Outbox.idempotency_key.like("coaching:follow-up:%")))).scalars()
        )  # type: ignore[attr-defined]


async def test_follow_up_dms_the_lead_with_the_kpi_change_once(org: Deps, clock: FixedClock) -> None:
    session_id = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), CSAT_THEN)
    await add_samples(org, sample("csat", "thandi@example.com", "2026-11-10", 18, 20))
    clock.set(datetime(2026, 11, 18, 8, 59, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 0  # before the team's follow-up time: not even claimed
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    # Two replicas (or a catch-up racing the schedule) at once: one DM.
    results = await asyncio.gather(run_coaching_follow_ups(org), run_coaching_follow_ups(org))
    assert sorted(results) == [0, 1]
    assert await run_coaching_follow_ups(org) == 0
    (dm,) = await follow_up_dms(org)
    async with org.sessions() as session:
        lead = await member_by(session, slack_user_id=ALPHA_LEAD)
    assert lead is not None
    assert (dm.kind, dm.channel, dm.idempotency_key) == ("dm", ALPHA_LEAD, f"coaching:follow-up:{session_id}:{lead.id}")
    shown = json.dumps(dm.payload, ensure_ascii=False)
    assert "Follow-up due: Thandi Nkosi" in shown and "Today is the follow-up you set at your Coaching" in shown
    assert "*CSAT*: 80.0% → 90.0%  ▲ +10.0 pts better" in shown
    assert "*Handle time*: 7m 00s → —  no data since" in shown and "Shadow Sipho" in shown
    async with org.sessions() as session:
        row = await session.get(CoachingSession, session_id)
        runs = (await session.execute(select(JobRun).where(JobRun.job_key == "coaching-follow-up"))).scalars().all()  # type: ignore[arg-type]
        sent = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action == "coaching.follow_up.sent")))
            .scalars()
            .all()
        )  # type: ignore[arg-type]
    assert row is not None and row.followed_up_at == datetime(2026, 11, 18, 7, 0, tzinfo=UTC)
    assert runs == []  # no day claim: each session is marked once instead
    assert len(sent) == 1 and "Refund" not in json.dumps(sent[0].details)
    assert sent[0].details == {"session_id": session_id, "recipients": [lead.id]}


async def test_a_missed_follow_up_goes_out_on_the_next_working_day(org: Deps, clock: FixedClock) -> None:
    await add_session(org, date(2026, 11, 4), date(2026, 11, 14), CSAT_THEN)  # a Saturday
    clock.set(datetime(2026, 11, 14, 10, 0, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 0  # not a working day for alpha
    clock.set(datetime(2026, 11, 16, 9, 30, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 1
    (dm,) = await follow_up_dms(org)
    shown = json.dumps(dm.payload, ensure_ascii=False)
    assert "The follow-up you set at your Coaching with *Thandi Nkosi* on Wed 04 Nov was due on Sat 14 Nov" in shown
    assert "(was due on 14 Nov)" in dm.payload["text"]


async def test_a_follow_up_that_becomes_due_later_in_the_day_still_goes_out(org: Deps, clock: FixedClock) -> None:
    first = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), CSAT_THEN)
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 1
    # At 11:00 a lead logs a session held last week with its follow-up today: the 11:15 run sends it.
    second = await add_session(org, date(2026, 11, 11), date(2026, 11, 18), CSAT_THEN)
    clock.set(datetime(2026, 11, 18, 11, 15, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 1
    keys = sorted(dm.idempotency_key for dm in await follow_up_dms(org))
    assert [k.split(":")[2] for k in keys] == sorted([str(first), str(second)])


async def test_one_broken_session_does_not_hold_back_the_others(org: Deps, clock: FixedClock) -> None:
    broken = {**CSAT_THEN, "metrics": [{**CSAT_THEN["metrics"][0], "unit": "parsecs"}]}  # type: ignore[index, dict-item]
    bad = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), broken)
    good = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), CSAT_THEN)
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 1
    clock.set(datetime(2026, 11, 18, 9, 15, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 0  # the good one is not sent again; the broken one still fails
    (dm,) = await follow_up_dms(org)
    assert dm.idempotency_key.startswith(f"coaching:follow-up:{good}:")
    async with org.sessions() as session:
        unsent = await session.get(CoachingSession, bad)
    assert unsent is not None and unsent.followed_up_at is None  # rolled back alone: retried on the next run


async def _member_id(deps: Deps, slack_user_id: str) -> int:
    async with deps.sessions() as session:
        member = await member_by(session, slack_user_id=slack_user_id)
    assert member is not None
    return member.id


async def test_the_follow_up_goes_to_whoever_leads_the_agent_when_it_is_due(org: Deps, clock: FixedClock) -> None:
    # Logged by the alpha lead; Thandi has since moved to bravo: bravo's lead gets it, worded for them.
    moved = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), CSAT_THEN)
    bravo = await team_by_key_id(org, "bravo")
    async with org.sessions() as session:
        await session.execute(update(Member).where(Member.slack_user_id == AGENT_1).values(team_id=bravo))  # type: ignore[arg-type]
        await session.commit()
    clock.set(datetime(2026, 11, 18, 12, 0, tzinfo=SAST))  # bravo's 09:00 is 11:00 here
    assert await run_coaching_follow_ups(org) == 1
    (dm,) = await follow_up_dms(org)
    assert (dm.channel, dm.idempotency_key) == (
        BRAVO_LEAD,
        f"coaching:follow-up:{moved}:{await _member_id(org, BRAVO_LEAD)}",
    )
    shown = json.dumps(dm.payload, ensure_ascii=False)
    assert "set at a Coaching with *Thandi Nkosi*" in shown and "because you lead Thandi Nkosi now" in shown


async def test_a_manager_who_no_longer_oversees_the_team_hands_the_follow_up_to_its_lead(
    org: Deps, clock: FixedClock
) -> None:
    session_id = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), CSAT_THEN, by=MANAGER)
    manager, alpha = await _member_id(org, MANAGER), await team_by_key_id(org, "alpha")
    async with org.sessions() as session:
        await session.execute(
            delete(TeamOversight).where(TeamOversight.member_id == manager, TeamOversight.team_id == alpha)  # type: ignore[arg-type]
        )
        await session.commit()
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 1
    (dm,) = await follow_up_dms(org)
    assert dm.channel == ALPHA_LEAD and dm.idempotency_key.startswith(f"coaching:follow-up:{session_id}:")


async def test_with_nobody_leading_the_agent_the_follow_up_is_skipped_and_audited(org: Deps, clock: FixedClock) -> None:
    session_id = await add_session(org, date(2026, 11, 4), date(2026, 11, 18), CSAT_THEN)
    alpha = await team_by_key_id(org, "alpha")
    async with org.sessions() as session:  # the lead left, and nobody oversees alpha any more
        await session.execute(update(Member).where(Member.slack_user_id == ALPHA_LEAD).values(active=False))  # type: ignore[arg-type]
        await session.execute(delete(TeamOversight).where(TeamOversight.team_id == alpha))  # type: ignore[arg-type]
        await session.commit()
    clock.set(datetime(2026, 11, 18, 9, 0, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 0
    assert await follow_up_dms(org) == []
    async with org.sessions() as session:
        row = await session.get(CoachingSession, session_id)
        (event,) = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action == "coaching.follow_up.skipped")))
            .scalars()
            .all()
        )  # type: ignore[arg-type]
    assert row is not None and row.followed_up_at is not None  # decided once: not retried every 15 minutes
    assert event.subject == f"member:{row.member_id}" and event.details["session_id"] == session_id
    clock.set(datetime(2026, 11, 18, 9, 15, tzinfo=SAST))
    assert await run_coaching_follow_ups(org) == 0


async def team_by_key_id(deps: Deps, key: str) -> int:
    async with deps.sessions() as session:
        team = await team_by_key(session, key)
    assert team is not None
    return team.id


async def test_retention_purges_old_records_and_their_messages_once_a_day(org: Deps, clock: FixedClock) -> None:
    old = await add_session(org, date(2024, 11, 17), None, {})  # 24 months + 1 day before 18 Nov 2026
    kept = await add_session(org, date(2024, 11, 18), None, {})
    async with org.sessions() as session:
        thandi = await member_by(session, slack_user_id=AGENT_1)
        assert thandi is not None
        common = {
            "member_id": thandi.id,
            "team_id": thandi.team_id,
            "opened_by": thandi.id,
            "started_on": date(2024, 1, 1),
        }
        session.add(ImprovementPlan(status="closed", end_on=date(2024, 6, 30), **common))
        session.add(ImprovementPlan(status="open", end_on=date(2024, 6, 30), **common))  # active: never purged
        for sid in (old, kept):  # each session's follow-up DM to its lead
            await outbox.enqueue(session, key=f"coaching:follow-up:{sid}:9", channel=ALPHA_LEAD, payload={"text": "f"})
        for view, at in (("VOLD", datetime(2026, 11, 16, tzinfo=UTC)), ("VNEW", datetime(2026, 11, 18, tzinfo=UTC))):
            await claim_submission(session, Submission(view, "d" * 32), at)  # modal submissions seen
        await session.commit()
    clock.set(datetime(2026, 11, 18, 3, 0, tzinfo=SAST))
    assert await run_coaching_retention(org) is None  # before 03:15
    clock.set(datetime(2026, 11, 18, 3, 15, tzinfo=SAST))
    purged = await run_coaching_retention(org)
    assert purged is not None and (purged.sessions, purged.plans, purged.messages) == (1, 1, 2)
    assert await run_coaching_retention(org) is None  # claimed for today
    async with org.sessions() as session:
        sessions = (await session.execute(select(CoachingSession.id))).scalars().all()  # type: ignore[call-overload]
        items = (await session.execute(select(func.count()).select_from(CoachingActionItem))).scalar_one()
        plans = (await session.execute(select(ImprovementPlan.status))).scalars().all()  # type: ignore[call-overload]
        keys = (await session.execute(select(Outbox.idempotency_key))).scalars().all()  # type: ignore[call-overload]
        (event,) = (
            (await session.execute(select(AuditEvent).where(AuditEvent.action == "coaching.retention.purge")))
            .scalars()
            .all()
        )  # type: ignore[arg-type]
    assert sessions == [kept] and items == 1 and plans == ["open"]
    assert sorted(keys) == [f"coaching:follow-up:{kept}:9", f"coaching:session:{kept}:dm"] and old != kept
    async with org.sessions() as session:
        claims = (await session.execute(select(JobRun.subject).where(JobRun.job_key == "coaching-submit"))).scalars()  # type: ignore[call-overload, arg-type]
        assert list(claims) == ["view:VNEW"]  # a day-old submission can't be replayed any more: forgotten
    assert event.details == {"cutoff": "2024-11-18", "months": 24, "sessions": 1, "plans": 1, "messages": 2}


async def test_retention_zero_keeps_everything_and_schedules_no_purge(org: Deps, clock: FixedClock) -> None:
    await add_session(org, date(2020, 1, 1), None, {})
    keep = build_deps(org.settings.model_copy(update={"coaching_retention_months": 0}), clock=clock, engine=org.engine)
    assert await run_coaching_retention(keep) is None
    assert "coaching-retention" not in {s.id for s in job_specs(keep, [])}
    assert {"coaching-retention", "coaching-follow-ups"} <= {s.id for s in job_specs(org, [])}
    async with org.sessions() as session:
        assert (await session.execute(select(func.count()).select_from(CoachingSession))).scalar_one() == 1
