"""Which notices have any record on or after a moment: what ``rhythm export notices --since`` includes."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CompoundSelect, select, union
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.store.notice_tables import Notice, NoticeAck, NoticeReminder, NoticeVersion


async def touched_since(session: AsyncSession, since: datetime) -> list[int]:
    """Ids of the notices published, changed, acknowledged or reminded about at or after ``since``, ascending.

    An acknowledgement given today of a notice published last month counts: a compliance export "since the
    1st" must not miss it.
    """
    by_version = select(col(NoticeVersion.notice_id))
    query: CompoundSelect[int] = union(
        select(col(Notice.id)).where(col(Notice.updated_at) >= since),
        select(col(NoticeVersion.notice_id)).where(col(NoticeVersion.created_at) >= since),
        by_version.join(NoticeAck, col(NoticeAck.version_id) == col(NoticeVersion.id)).where(
            col(NoticeAck.acked_at) >= since
        ),
        by_version.join(NoticeReminder, col(NoticeReminder.version_id) == col(NoticeVersion.id)).where(
            col(NoticeReminder.sent_at) >= since
        ),
    )
    return sorted(int(n) for n in (await session.execute(query)).scalars())
