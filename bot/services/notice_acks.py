"""An agent acknowledges a notice: recorded once, confirmed to them, and the channel's count kept current."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from bot.blocks.notices import safe
from bot.deps import Deps
from bot.domain.access import Role
from bot.domain.errors import UserFacingError
from bot.domain.notice_access import must_acknowledge
from bot.services.notice_posts import refresh_post
from bot.services.notices import load_actor
from bot.store import notice_acks, notices
from bot.store.tables import Team

NOT_FOR_LEADS = (
    "Thanks — acknowledgements are for the agents of the teams it is addressed to. "
    "Follow them with `/notice status {id}`."
)
NOT_YOUR_TEAM = "This notice isn't addressed to your team, so there's nothing for you to acknowledge."
REPLACED = (
    "This version has been replaced by version {number}. Please read the new one in your team channel and "
    "acknowledge it there."
)


def parse_ack_value(value: str) -> tuple[int, int]:
    """The button's value, "<notice id>:<material version number>"."""
    notice, _, number = value.partition(":")
    try:
        return int(notice), int(number)
    except ValueError:
        raise UserFacingError("That button is not one of mine any more.") from None


async def acknowledge(deps: Deps, *, user_id: str, value: str) -> str:
    """Record the click once; returns the ephemeral answer for the clicker (never raises for a refusal).

    The notice row is share-locked first (PostgreSQL), so a material edit racing the click either lands
    before it (the click is answered "replaced") or waits for it (and then asks this agent again). After the
    insert the current number is checked once more (SQLite: the insert holds the write lock from there on).
    """
    notice_id, number = parse_ack_value(value)
    now = deps.clock.now()
    async with deps.sessions() as session:
        actor = await load_actor(session, user_id)
        shown = await notices.current_number(session, notice_id, lock=True)
        current = await notices.version(session, notice_id, shown) if shown is not None else None
        if current is None:
            return "That notice no longer exists."
        audience = await notices.audience_team_ids(session, notice_id)
        if not must_acknowledge(actor, audience):
            if actor.is_admin or (actor.role in (Role.LEAD, Role.MANAGER) and actor.oversees & set(audience)):
                return NOT_FOR_LEADS.format(id=notice_id)
            return NOT_YOUR_TEAM
        if number != current.ack_number:
            return REPLACED.format(number=current.number)
        base = await notices.version(session, notice_id, current.ack_number)
        assert base is not None and actor.team_id is not None
        team = await session.get(Team, actor.team_id)
        tz = ZoneInfo(team.timezone if team else deps.settings.default_timezone)
        fresh = await notice_acks.record_ack(
            session,
            version_id=base.id,
            member_id=actor.member_id,
            team_id=actor.team_id,
            seen_number=current.number,
            now=now,
        )
        if fresh and (latest := await notices.current_number(session, notice_id)) != current.number:
            replacing = await notices.version(session, notice_id, latest) if latest is not None else None
            if replacing is None or replacing.ack_number != base.number:  # a material edit got in first
                await session.rollback()
                return REPLACED.format(number=replacing.number if replacing else latest)
        if not fresh:
            await session.rollback()
            earlier = await notice_acks.ack_of(session, version_id=base.id, member_id=actor.member_id)
            at = earlier.acked_at if earlier else now
            return f"You already acknowledged this on {at.astimezone(tz):%a %d %b at %H:%M} — nothing more to do. 👍"
        post = await notice_acks.lock_post(session, version_id=base.id, team_id=actor.team_id)
        if post is not None:
            await refresh_post(session, post, now)
        await session.commit()
    deps.outbox_ready.send()
    first = actor.name.split()[0] if actor.name.strip() else actor.name
    return (
        f"✅ Thanks, {safe(first, 100)} — your acknowledgement of *{safe(current.title, 750)}* (v{current.number}) "
        f"is recorded ({now.astimezone(tz):%a %d %b at %H:%M})."
    )
