"""Notices and their versions: what huddles list as awaiting, publishing, editing and looking versions up.

``awaiting_for_team`` is the contract other features (the huddle prompt) rely on; keep its signature.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.domain.notice_schedule import ESCALATION_GRACE, NO_DEADLINE_HORIZON, follow_up_ends
from bot.domain.notices import NoticeContent, NoticeDue, VersionInfo, content_hash
from bot.store.notice_tables import Notice, NoticeAck, NoticeAudience, NoticeVersion
from bot.store.tables import Member, pk


def version_info(row: NoticeVersion) -> VersionInfo:
    return VersionInfo(
        id=pk(row),
        notice_id=row.notice_id,
        number=row.number,
        title=row.title,
        body=row.body,
        link=row.link,
        effective_on=row.effective_on,
        deadline=row.deadline,
        content_hash=row.content_hash,
        material=row.material,
        ack_number=row.ack_number,
        author_id=row.author_id,
        created_at=row.created_at,
    )


def agents_of(team_ids: Iterable[int]) -> list[ColumnElement[bool]]:
    """Conditions for "an active agent of one of these teams": the people who must acknowledge."""
    return [col(Member.team_id).in_(list(team_ids)), col(Member.active).is_(True), col(Member.role) == "agent"]


async def awaiting_for_team(session: AsyncSession, team_id: int, now: datetime) -> list[NoticeDue]:
    """Notices addressed to the team whose current version some of its active agents have not acknowledged,
    soonest deadline first, notices without a deadline last.

    Listed while they are followed up: until the deadline plus the escalation grace (without a deadline, the
    no-deadline horizon plus the grace, from the acknowledged version's publication); then they drop off.
    """
    versions = await current_versions(session, team_ids=[team_id], followed_at=now)
    published = await baseline_published(session, versions)
    versions = [v for v in versions if now <= follow_up_ends(v.deadline, published[v.notice_id])]
    if not versions:
        return []
    bases = await baseline_ids(session, versions)
    audience = int(
        (await session.execute(select(func.count()).select_from(Member).where(*agents_of([team_id])))).scalar_one()
    )
    acked: dict[int, int] = {
        version_id: int(n)
        for version_id, n in (
            await session.execute(
                select(col(NoticeAck.version_id), func.count())
                .join(Member, col(Member.id) == col(NoticeAck.member_id))
                .where(col(NoticeAck.version_id).in_(list(bases.values())), *agents_of([team_id]))
                .group_by(col(NoticeAck.version_id))
            )
        ).all()
    }
    due = [
        NoticeDue(
            notice_id=v.notice_id,
            version=v.number,
            title=v.title,
            deadline=v.deadline,
            outstanding=max(audience - acked.get(bases[v.notice_id], 0), 0),
            audience=audience,
            effective_on=v.effective_on,
        )
        for v in versions
    ]
    far = datetime.max.replace(tzinfo=now.tzinfo)
    return sorted((d for d in due if d.outstanding > 0), key=lambda d: (d.deadline or far, d.notice_id))


async def baseline_published(session: AsyncSession, versions: Iterable[VersionInfo]) -> dict[int, datetime]:
    """notice id → when the material version whose acknowledgements count for the given version was made."""
    wanted = {v.notice_id: v for v in versions}
    out = {n: v.created_at for n, v in wanted.items() if v.ack_number == v.number}
    others = [n for n in wanted if n not in out]
    if others:
        rows = await session.execute(
            select(col(NoticeVersion.notice_id), col(NoticeVersion.number), col(NoticeVersion.created_at)).where(
                col(NoticeVersion.notice_id).in_(others)
            )
        )
        out |= {n: at for n, number, at in rows.all() if wanted[n].ack_number == number}
    return out


async def baseline_ids(session: AsyncSession, versions: Iterable[VersionInfo]) -> dict[int, int]:
    """notice id → id of the material version whose acknowledgements count for the given (current) version."""
    wanted = {v.notice_id: v.ack_number for v in versions}
    if not wanted:
        return {}
    rows = await session.execute(
        select(col(NoticeVersion.notice_id), col(NoticeVersion.number), col(NoticeVersion.id)).where(
            col(NoticeVersion.notice_id).in_(list(wanted)), col(NoticeVersion.material)
        )
    )
    return {notice_id: vid for notice_id, number, vid in rows.all() if wanted[notice_id] == number and vid}


async def create_notice(
    session: AsyncSession,
    *,
    author_id: int,
    team_ids: Iterable[int],
    content: NoticeContent,
    deadline: datetime | None,
    now: datetime,
) -> VersionInfo:
    """A new notice and its first (material) version. Caller commits."""
    notice = Notice(current_number=1, created_by=author_id, created_at=now, updated_at=now)
    session.add(notice)
    await session.flush()
    for team_id in sorted(set(team_ids)):
        session.add(NoticeAudience(notice_id=pk(notice), team_id=team_id))
    row = _version_row(pk(notice), 1, content, deadline, material=True, ack_number=1, author_id=author_id, now=now)
    session.add(row)
    await session.flush()
    return version_info(row)


async def add_version(
    session: AsyncSession,
    *,
    notice_id: int,
    expected_number: int,
    content: NoticeContent,
    deadline: datetime | None,
    material: bool,
    author_id: int,
    now: datetime,
) -> VersionInfo | None:
    """Make version ``expected_number + 1`` the current one; None if someone else edited it first.

    A conditional UPDATE on the notice's current number, so two editors racing make one new version, not two.
    Caller commits.
    """
    won = await session.execute(
        update(Notice)
        .where(col(Notice.id) == notice_id, col(Notice.current_number) == expected_number)
        .values(current_number=expected_number + 1, updated_at=now)
        .returning(col(Notice.id))
    )
    if won.first() is None:
        return None
    previous = await version(session, notice_id, expected_number)
    assert previous is not None
    number = expected_number + 1
    ack_number = number if material else previous.ack_number
    row = _version_row(notice_id, number, content, deadline, material, ack_number, author_id, now)
    session.add(row)
    await session.flush()
    return version_info(row)


def _version_row(
    notice_id: int,
    number: int,
    content: NoticeContent,
    deadline: datetime | None,
    material: bool,
    ack_number: int,
    author_id: int,
    now: datetime,
) -> NoticeVersion:
    return NoticeVersion(
        notice_id=notice_id,
        number=number,
        title=content.title,
        body=content.body,
        link=content.link,
        effective_on=content.effective_on,
        deadline=deadline,
        content_hash=content_hash(content),
        material=material,
        ack_number=ack_number,
        author_id=author_id,
        created_at=now,
    )


async def version(session: AsyncSession, notice_id: int, number: int) -> VersionInfo | None:
    row = (
        await session.execute(
            select(NoticeVersion).where(col(NoticeVersion.notice_id) == notice_id, col(NoticeVersion.number) == number)
        )
    ).scalar_one_or_none()
    return version_info(row) if row else None


async def version_by_id(session: AsyncSession, version_id: int) -> VersionInfo | None:
    row = await session.get(NoticeVersion, version_id)
    return version_info(row) if row else None


async def current_number(session: AsyncSession, notice_id: int, *, lock: bool = False) -> int | None:
    """The notice's current version number, read afresh. ``lock``: share-lock the notice row until the caller
    commits (FOR SHARE on PostgreSQL; SQLite serialises writers anyway), so an edit waits for an
    acknowledgement being recorded (and then sees it) instead of replacing the version underneath it."""
    query = select(col(Notice.current_number)).where(col(Notice.id) == notice_id)
    if lock:
        query = query.with_for_update(read=True)
    return (await session.execute(query)).scalar_one_or_none()


async def current_version(session: AsyncSession, notice_id: int) -> VersionInfo | None:
    notice = await session.get(Notice, notice_id)
    return await version(session, notice_id, notice.current_number) if notice else None


async def all_versions(session: AsyncSession, notice_id: int) -> list[VersionInfo]:
    rows = await session.execute(
        select(NoticeVersion).where(col(NoticeVersion.notice_id) == notice_id).order_by(col(NoticeVersion.number))
    )
    return [version_info(r) for r in rows.scalars()]


async def audience_team_ids(session: AsyncSession, notice_id: int) -> list[int]:
    rows = await session.execute(
        select(col(NoticeAudience.team_id))
        .where(col(NoticeAudience.notice_id) == notice_id)
        .order_by(col(NoticeAudience.team_id))
    )
    return list(rows.scalars())


async def current_versions(
    session: AsyncSession,
    *,
    team_ids: Iterable[int] | None = None,
    changed_since: datetime | None = None,
    followed_at: datetime | None = None,
    limit: int | None = None,
) -> list[VersionInfo]:
    """The current version of each notice (newest notice first), optionally only those addressed to one of
    ``team_ids``, changed since ``changed_since``, or possibly still followed up at ``followed_at``.

    ``followed_at`` is a coarse SQL filter (a superset: the deadline, or without one the last change, recent
    enough); callers make the exact check with ``follow_up_ends`` and the baseline's publication time."""
    query = select(NoticeVersion).join(
        Notice, and_(col(Notice.id) == col(NoticeVersion.notice_id), col(Notice.current_number) == NoticeVersion.number)
    )
    if team_ids is not None:
        addressed = select(col(NoticeAudience.notice_id)).where(col(NoticeAudience.team_id).in_(list(team_ids)))
        query = query.where(col(Notice.id).in_(addressed))
    if changed_since is not None:
        query = query.where(col(Notice.updated_at) >= changed_since)
    if followed_at is not None:
        query = query.where(
            or_(
                col(NoticeVersion.deadline) >= followed_at - ESCALATION_GRACE,
                and_(
                    col(NoticeVersion.deadline).is_(None),
                    col(Notice.updated_at) >= followed_at - NO_DEADLINE_HORIZON - ESCALATION_GRACE,
                ),
            )
        )
    query = query.order_by(col(Notice.id).desc())
    if limit is not None:
        query = query.limit(limit)
    return [version_info(r) for r in (await session.execute(query)).scalars()]
