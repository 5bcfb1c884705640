"""``/notice status N`` and ``/notice list`` answers (ephemeral), pure.

A big audience does not overflow the message: each team lists at most ``PEOPLE_SHOWN`` people (outstanding
first) and the whole answer about ``STATUS_BUDGET`` characters; the rest is counted and points to the export.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.kit import Block, context, header, message, sections_from_lines
from bot.blocks.notices import safe, when
from bot.domain.notices import Tally

LIST_LIMIT = 20
PEOPLE_SHOWN = 40  # people listed per team in /notice status
STATUS_BUDGET = 10_000  # characters of team lines in one /notice status answer


@dataclass(frozen=True, slots=True)
class PersonLine:
    name: str
    acked_at: datetime | None = None
    seen_number: int | None = None  # the version they acknowledged (a later minor fix shares the ack)
    on_leave: bool = False
    reminded_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TeamStatus:
    name: str
    timezone: str
    tally: Tally
    people: tuple[PersonLine, ...]


@dataclass(frozen=True, slots=True)
class StatusView:
    notice_id: int
    number: int
    ack_number: int
    title: str
    deadline: datetime | None
    short_hash: str
    teams: tuple[TeamStatus, ...]


def _local(at: datetime, timezone: str) -> str:
    return f"{at.astimezone(ZoneInfo(timezone)):%a %d %b %H:%M}"


def _person(p: PersonLine, timezone: str) -> str:
    name = safe(p.name, 100)
    if p.acked_at is not None:
        seen = f" (v{p.seen_number})" if p.seen_number is not None else ""
        return f"✅ {name} — {_local(p.acked_at, timezone)}{seen}"
    notes = ["on leave"] if p.on_leave else []
    if p.reminded_at is not None:
        notes.append(f"reminded {_local(p.reminded_at, timezone)}")
    icon = "🌴" if p.on_leave else "⏳"
    return f"{icon} {name}" + (f" — {', '.join(notes)}" if notes else "")


def render_status(v: StatusView) -> dict[str, Any]:
    first_tz = v.teams[0].timezone if v.teams else "UTC"
    facts = [f"notice #{v.notice_id} v{v.number} · `{v.short_hash}`"]
    if v.ack_number != v.number:
        facts.append(f"acknowledgements of v{v.ack_number} count (later versions were minor fixes)")
    if v.deadline is not None:
        facts.append(f"deadline {when(v.deadline, first_tz)}")
    blocks: list[Block] = [header(v.title), context(" · ".join(facts))]
    lines: list[str] = []
    used = 0
    for shown, team in enumerate(v.teams):
        room = STATUS_BUDGET - used - 100  # 100: room for the "…and N more teams" line
        if room < 300:
            more = len(v.teams) - shown
            lines.append(f"…and {more} more team{'s' if more > 1 else ''} (see `/notice export {v.notice_id}`)")
            break
        team_lines = ([""] if lines else []) + _team_lines(team, v.notice_id, room)
        lines += team_lines
        used += sum(len(line) + 1 for line in team_lines)
    blocks += sections_from_lines(lines)
    total = Tally(sum(t.tally.acknowledged for t in v.teams), sum(t.tally.audience for t in v.teams))
    return {**message(f"Notice #{v.notice_id}: {total.label()}", blocks), "response_type": "ephemeral"}


def _team_lines(team: TeamStatus, notice_id: int, room: int) -> list[str]:
    """The team's heading and its people, outstanding first: at most ``PEOPLE_SHOWN`` of them and about
    ``room`` characters, then how many more there are."""
    heading = f"*{safe(team.name, 100)}* — {team.tally.label()}"
    if not team.people:
        return [heading, "_No agents on this team's roster._"]
    acked = sorted((p for p in team.people if p.acked_at is not None), key=lambda p: (p.acked_at, p.name))
    people = [*(p for p in team.people if p.acked_at is None), *acked]
    lines, size = [heading], len(heading) + 1
    for n, person in enumerate(people):
        line = _person(person, team.timezone)
        if n == PEOPLE_SHOWN or size + len(line) + 1 > room:
            lines.append(f"…and {len(people) - n} more (see `/notice export {notice_id}`)")
            break
        lines.append(line)
        size += len(line) + 1
    return lines


@dataclass(frozen=True, slots=True)
class ListRow:
    notice_id: int
    number: int
    title: str
    deadline: datetime | None
    tally: Tally | None  # across the teams the reader leads; None for an agent
    mine: bool | None = None  # an agent's own state: acknowledged or not


def render_list(rows: list[ListRow], timezone: str, *, total: int) -> dict[str, Any]:
    if not rows:
        return {**message("No notices yet. Leads publish one with `/notice new`."), "response_type": "ephemeral"}
    lines = []
    for r in rows[:LIST_LIMIT]:
        due = f" · due {when(r.deadline, timezone)}" if r.deadline else ""
        if r.mine is not None:
            state = "✅ acknowledged" if r.mine else "⏳ *please acknowledge* (the button is in your team channel)"
        else:
            state = r.tally.label() if r.tally else ""
        lines.append(f"*#{r.notice_id}* {safe(r.title, 750)} · v{r.number}{due} · {state}")
    blocks: list[Block] = [header("Notices"), *sections_from_lines(lines)]
    if total > len(lines):
        blocks.append(context(f"The latest {len(lines)} of {total} notices."))
    return {**message(f"{total} notices", blocks), "response_type": "ephemeral"}
