"""Edits that would mislead: a material change after the deadline, a "minor" fix that changes the date or link,
and a deadline moved later (which gets its own reminders)."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from bot.clock import FixedClock
from bot.deps import Deps
from bot.domain.notices import MINOR_ONLY_TEXT, NoticeContent
from bot.sandbox.fake_slack import FakeSlack
from bot.services.notice_reminders import run_notice_tick
from bot.services.notices import PAST_DEADLINE
from bot.store import notices
from bot.store.notice_tables import NoticeReminder, NoticeVersion
from bot.store.tables import Outbox
from tests.notices.helpers import (
    BODY,
    DEADLINE,
    EFFECTIVE,
    TITLE,
    Publish,
    Send,
    click,
    edit_meta,
    form_values,
    submission,
)
from tests.support.org import AGENT_1, MANAGER


async def _versions(deps: Deps) -> list[tuple[int, bool]]:
    async with deps.sessions() as session:
        rows = (await session.execute(select(NoticeVersion).order_by(NoticeVersion.number))).scalars().all()
    return [(v.number, v.material) for v in rows]


async def _dm_keys(deps: Deps) -> list[str]:
    async with deps.sessions() as session:
        rows = (await session.execute(select(Outbox).where(Outbox.kind == "dm").order_by(Outbox.id))).scalars()
        return [r.idempotency_key for r in rows]


async def test_a_material_edit_after_the_deadline_needs_a_new_deadline(
    org: Deps, publish: Publish, send: Send, slack: FakeSlack, clock: FixedClock
) -> None:
    notice_id = await publish()
    await send(click(AGENT_1, f"{notice_id}:1", slack))
    await slack.wait_for("webhook:/hook")
    clock.set(DEADLINE + timedelta(hours=1))
    changed = form_values(body="Refunds over R300 now.")  # the past deadline left as it was
    resp = await send(submission(MANAGER, changed, edit_meta(notice_id, 1)))
    assert resp.json() == {"response_action": "errors", "errors": {"notice.deadline": PAST_DEADLINE}}
    assert await _versions(org) == [(1, True)]
    assert not [k for k in await _dm_keys(org) if ":reack:" in k]  # nobody asked again for a version born overdue

    later = DEADLINE + timedelta(days=3)
    resp = await send(
        submission(MANAGER, form_values(body="Refunds over R300 now.", deadline=later), edit_meta(notice_id, 1))
    )
    assert resp.json()["response_action"] == "update"
    assert await _versions(org) == [(1, True), (2, True)]
    assert (await run_notice_tick(org)).escalated == 0  # the new version's deadline is ahead


async def test_a_version_born_overdue_is_never_escalated(org: Deps, publish: Publish, clock: FixedClock) -> None:
    """The backstop below the form: whatever made it, a version published after its deadline escalates nothing."""
    notice_id = await publish()
    clock.set(DEADLINE + timedelta(hours=1))
    async with org.sessions() as session:
        made = await notices.add_version(
            session,
            notice_id=notice_id,
            expected_number=1,
            content=NoticeContent(TITLE, "Changed.", None, EFFECTIVE),
            deadline=DEADLINE,
            material=True,
            author_id=1,
            now=clock.now(),
        )
        await session.commit()
    assert made is not None
    clock.set(DEADLINE + timedelta(hours=2))
    result = await run_notice_tick(org)
    assert (result.escalated, result.reminded) == (0, 0)


async def test_a_minor_fix_may_change_only_the_title_and_text(org: Deps, publish: Publish, send: Send) -> None:
    notice_id = await publish()
    for changes in ({"effective": date(2026, 11, 24)}, {"link": "https://wiki.example.com/refunds"}):
        values = form_values(body=BODY + " Typo fixed.", minor=True, **changes)  # type: ignore[arg-type]
        resp = await send(submission(MANAGER, values, edit_meta(notice_id, 1)))
        assert resp.json() == {"response_action": "errors", "errors": {"notice.minor": MINOR_ONLY_TEXT}}, changes
    assert await _versions(org) == [(1, True)]
    values = form_values(title=TITLE + " (corrected)", body=BODY + " Typo fixed.", minor=True)
    assert (await send(submission(MANAGER, values, edit_meta(notice_id, 1)))).json()["response_action"] == "update"
    assert await _versions(org) == [(1, True), (2, False)]


async def test_a_deadline_moved_later_gets_its_own_reminders(
    org: Deps, publish: Publish, send: Send, clock: FixedClock
) -> None:
    notice_id = await publish(teams=("alpha",))
    clock.set(DEADLINE - timedelta(hours=24))
    assert (await run_notice_tick(org)).reminded == 3
    later = DEADLINE + timedelta(days=2)
    resp = await send(submission(MANAGER, form_values(deadline=later), edit_meta(notice_id, 1)))  # not material
    assert resp.json()["response_action"] == "update"
    clock.set(DEADLINE - timedelta(hours=2))  # the old deadline's 2 h mark: nothing (it is not the deadline now)
    assert (await run_notice_tick(org)).reminded == 0
    clock.set(DEADLINE + timedelta(minutes=1))  # nor is the old deadline escalated
    assert (await run_notice_tick(org)).escalated == 0
    clock.set(later - timedelta(hours=24))
    assert (await run_notice_tick(org)).reminded == 3
    assert (await run_notice_tick(org)).reminded == 0
    clock.set(later - timedelta(hours=2))
    assert (await run_notice_tick(org)).reminded == 3
    async with org.sessions() as session:
        kinds = (
            await session.execute(
                select(NoticeReminder.kind, func.count()).group_by(NoticeReminder.kind).order_by(NoticeReminder.kind)
            )
        ).all()
    assert [tuple(k) for k in kinds] == [
        ("before-24h@2026-11-20T15:00Z", 3),
        ("before-24h@2026-11-22T15:00Z", 3),
        ("before-2h@2026-11-22T15:00Z", 3),
    ]
    assert len(await _dm_keys(org)) == 9


async def test_a_deadline_extended_after_it_passed_is_escalated_again_at_the_new_one(
    org: Deps, publish: Publish, send: Send, clock: FixedClock
) -> None:
    notice_id = await publish(teams=("alpha",))
    clock.set(DEADLINE + timedelta(minutes=1))
    assert (await run_notice_tick(org)).escalated == 1
    later = DEADLINE + timedelta(days=1)
    resp = await send(submission(MANAGER, form_values(deadline=later), edit_meta(notice_id, 1)))
    assert resp.json()["response_action"] == "update"
    clock.set(later + timedelta(minutes=1))
    assert (await run_notice_tick(org)).escalated == 1
    assert len([k for k in await _dm_keys(org) if ":escalate:" in k]) == 2
