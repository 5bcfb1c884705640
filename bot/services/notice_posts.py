"""A notice's messages in its audience teams' channels: posted once per material version, then kept current in
place (count, minor fixes, "replaced by") through coalesced outbox updates."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.blocks.notices import NoticeView, render_notice_post
from bot.domain.notices import VersionInfo, coalesce_window, short_hash
from bot.store import notice_acks, notices, outbox
from bot.store.notice_tables import NoticePost
from bot.store.tables import Team, pk

# An update waits a moment before it goes (``coalesce_window``: 3 s, longer for a notice posted in many
# channels), and every change meanwhile replaces it: a burst of clicks makes one chat.update per channel
# (Tier 3: ~50 a minute per workspace) instead of one per click.


def post_key(version: VersionInfo, team_id: int) -> str:
    return f"notice:{version.notice_id}:v{version.number}:team:{team_id}"


def notice_view(current: VersionInfo, timezone: str) -> NoticeView:
    return NoticeView(
        notice_id=current.notice_id,
        number=current.number,
        ack_number=current.ack_number,
        title=current.title,
        body=current.body,
        link=current.link,
        effective_on=current.effective_on,
        deadline=current.deadline,
        short_hash=short_hash(current.content_hash),
        timezone=timezone,
        minor_fix=current.number != current.ack_number,
    )


async def queue_posts(session: AsyncSession, version: VersionInfo, teams: Iterable[Team], now: datetime) -> list[str]:
    """Post the (material) version to each team's channel; returns the names of teams without a channel.

    Caller commits. The outbox key is deterministic per (notice, version, team): running this again for the
    same version queues nothing new. (A second *submit* of the new-notice form is a second notice; a repeated
    edit submit is refused as stale before it gets here.)
    """
    missing = []
    for team in teams:
        if not team.channel_id:
            missing.append(team.name)
            continue
        key = post_key(version, pk(team))
        session.add(NoticePost(version_id=version.id, team_id=pk(team), channel=team.channel_id, message_key=key))
        tally = await notice_acks.team_tally(session, version_id=version.id, team_id=pk(team))
        payload = render_notice_post(notice_view(version, team.timezone), tally)
        await outbox.enqueue(session, key=key, channel=team.channel_id, payload=payload, now=now)
    await session.flush()
    return missing


async def refresh_post(session: AsyncSession, post: NoticePost, now: datetime) -> None:
    """Queue an update showing the post's current state. Lock the post first (``lock_post``) when racing
    acknowledgements may refresh it too; caller commits."""
    version_row = await notices.version_by_id(session, post.version_id)
    assert version_row is not None
    current = await notices.current_version(session, version_row.notice_id)
    assert current is not None
    team = await session.get(Team, post.team_id)
    timezone = team.timezone if team else "UTC"
    tally = await notice_acks.team_tally(session, version_id=post.version_id, team_id=post.team_id)
    if current.ack_number != version_row.number:  # a material change replaced this version
        payload = render_notice_post(notice_view(version_row, timezone), tally, superseded_by=current.number)
    else:
        payload = render_notice_post(notice_view(current, timezone), tally)
    await queue_coalesced_update(session, post, payload, now)


async def queue_coalesced_update(
    session: AsyncSession, post: NoticePost, payload: dict[str, object], now: datetime
) -> None:
    """Replace the post's waiting update, or queue the next one a coalescing window from now. Caller commits."""
    if post.update_seq and await outbox.replace_pending(
        session, key=f"{post.message_key}:u{post.update_seq}", payload=payload
    ):
        return
    post.update_seq += 1
    session.add(post)
    await outbox.enqueue(
        session,
        key=f"{post.message_key}:u{post.update_seq}",
        channel=post.channel,
        kind="update",
        update_of=post.message_key,
        payload=payload,
        not_before=now + coalesce_window(len(await notice_acks.posts_for(session, post.version_id))),
        now=now,
    )
