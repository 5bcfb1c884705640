"""When a notice's reminders and escalation are due, pure: explicit ``now``, aware UTC datetimes.

Reminders go by DM to agents who have not acknowledged the current material version:

* 24 h and 2 h before the acknowledgement deadline (only those moments that come after publication: a notice
  published 10 h before its deadline gets the 2 h reminder only);
* when the agent has a published schedule, also at the start of their next shift after publication (up to
  ``SHIFT_GRACE`` late, e.g. after a restart), if that is before the deadline.

Several kinds due at once (after downtime, or a shift starting at the 2 h mark) make one message. Nothing is
sent once the deadline has passed: then the outstanding names go to the team's lead, once.

The before-deadline kinds carry the deadline they count down to (``before-24h@2026-11-20T15:00Z``): a deadline
moved later by a non-material edit gets its own reminders, while one already sent is never sent twice.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

BEFORE_DEADLINE = (("before-24h", timedelta(hours=24)), ("before-2h", timedelta(hours=2)))
SHIFT = "shift"
SHIFT_GRACE = timedelta(hours=12)  # a shift-start reminder is still worth sending this late
SHIFT_LOOKBACK = timedelta(hours=16)  # schedule read before a start to tell a shift's start from a break's end
ESCALATION_GRACE = timedelta(days=2)  # a deadline passed longer ago than this is not escalated any more
NO_DEADLINE_HORIZON = timedelta(days=14)  # without a deadline, shift-start reminders stop after this
OFF_SHIFT = frozenset({"offline", "off", "leave", "holiday"})  # schedule activities that are not work


@dataclass(frozen=True, slots=True)
class ShiftPiece:
    start: datetime
    end: datetime
    activity: str


def shift_starts(pieces: Iterable[ShiftPiece]) -> list[datetime]:
    """Where each shift starts: runs of touching or overlapping working segments merge into one shift."""
    working = sorted((p for p in pieces if p.activity.lower() not in OFF_SHIFT), key=lambda p: p.start)
    starts: list[datetime] = []
    end: datetime | None = None
    for piece in working:
        if end is None or piece.start > end:
            starts.append(piece.start)
            end = piece.end
        else:
            end = max(end, piece.end)
    return starts


def latest_shift_start(pieces: Iterable[ShiftPiece], *, after: datetime, upto: datetime) -> datetime | None:
    """The latest shift start in (``after``, ``upto``], or None."""
    inside = [s for s in shift_starts(pieces) if after < s <= upto]
    return inside[-1] if inside else None


def deadline_kind(kind: str, deadline: datetime) -> str:
    """A before-deadline reminder's kind for this deadline (at most 32 characters, the column's width)."""
    return f"{kind}@{deadline.astimezone(UTC):%Y-%m-%dT%H:%MZ}"


def due_reminders(
    *,
    published_at: datetime,
    deadline: datetime | None,
    now: datetime,
    shift_start: datetime | None,
    sent: Iterable[str] = (),
) -> list[str]:
    """Kinds of reminder due at ``now`` and not yet ``sent``, earliest first (one message covers them all).

    ``shift_start`` is the latest start of one of the member's shifts since publication (None: no schedule).
    """
    if deadline is not None and now >= deadline:
        return []
    done = set(sent)
    due: list[tuple[datetime, str]] = []
    if deadline is not None:
        for base, lead in BEFORE_DEADLINE:
            at, kind = deadline - lead, deadline_kind(base, deadline)
            if published_at < at <= now and kind not in done:
                due.append((at, kind))
    if (
        shift_start is not None
        and SHIFT not in done
        and published_at < shift_start <= now
        and now - shift_start <= SHIFT_GRACE
        and (deadline is None or shift_start < deadline)
    ):
        due.append((shift_start, SHIFT))
    return [kind for _, kind in sorted(due)]


def escalation_due(deadline: datetime | None, now: datetime, published_at: datetime) -> bool:
    """The deadline has passed (recently enough that telling the lead still helps), and it was ahead when the
    version was published: a version born overdue is never escalated (the edit form refuses to make one)."""
    return deadline is not None and published_at < deadline <= now <= deadline + ESCALATION_GRACE


def follow_up_ends(deadline: datetime | None, published_at: datetime) -> datetime:
    """When reminders and escalation are over for good: the deadline (or, without one, the no-deadline
    horizon) plus the escalation grace. After it the notice is no longer listed as awaiting nor ticked."""
    return (deadline if deadline is not None else published_at + NO_DEADLINE_HORIZON) + ESCALATION_GRACE


def reminders_possible(deadline: datetime | None, published_at: datetime, now: datetime) -> bool:
    """Reminders can still be due: the deadline is ahead; without one, for ``NO_DEADLINE_HORIZON``."""
    if deadline is None:
        return now - published_at <= NO_DEADLINE_HORIZON
    return now < deadline


def manual_kind(now: datetime) -> str:
    """A manual nudge's kind: one per minute, so a repeated or replayed ``/notice remind`` DMs nobody twice."""
    return f"manual:{now:%Y-%m-%dT%H:%M}"


def is_automatic(kind: str) -> bool:
    return kind == SHIFT or kind.partition("@")[0] in dict(BEFORE_DEADLINE)
