"""The huddle digest (a reply in the prompt's thread, and a copy for the ops manager) and `/huddle report`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from bot.blocks.kit import (
    MAX_SECTION_TEXT,
    Block,
    clip,
    context,
    escape,
    header,
    message,
    section,
    sections_from_lines,
)
from bot.domain.huddle import ANONYMOUS_MIN, MOOD_EMOJI, MOODS, MoodStats, mood_hidden
from bot.domain.huddle_report import Report

# A digest stays readable and inside Slack's limits (50 blocks, 3,000 characters a section) whatever the team's
# size: each part has a share of a ~12,000-character budget and ends "…and N more" when it runs out.
BLOCKERS_SHOWN = 25
ATTENDANCE_BUDGET = 5_000  # present, absent, on leave and not scheduled, shared fairly
BLOCKERS_BUDGET = 3_000
NOTES_BUDGET = 2_500
ITEM_MAX = 300  # one blocker or note, after escaping
NAME_MAX = 80
FOCUS_MAX = 600
_TAIL = 60  # room kept for "…and N more (see `/huddle report`)"


@dataclass(frozen=True, slots=True)
class Attendee:
    name: str
    late: bool = False
    mood: int | None = None  # None: a thread reply, or the team's mood is anonymous


@dataclass(frozen=True, slots=True)
class DigestView:
    team_name: str
    day: str  # "Wed 18 Nov"
    label: str  # "" | "second shift" | "ad hoc"
    closed_at: str  # local "09:30"
    late_after: str  # local "09:15"
    focus: str | None
    present: tuple[Attendee, ...]
    absent: tuple[str, ...]
    on_leave: tuple[str, ...]
    expected: int
    attended: int  # of the expected, how many checked in
    blockers: tuple[tuple[str, str], ...]  # (who, what)
    notes: tuple[tuple[str, str], ...]  # (who, note); the team thread only
    mood: MoodStats
    anonymous: bool
    not_scheduled: tuple[str, ...] = ()  # on the roster, not on shift (only when the team has schedules)


def _attendee(a: Attendee, anonymous: bool) -> str:
    name = _name(a.name)
    if a.mood is not None and not anonymous:
        name += f" {MOOD_EMOJI[a.mood]}"
    return name + (" _(late)_" if a.late else "")


def _name(name: str) -> str:
    return clip(escape(name), NAME_MAX)


def _names_line(label: str, names: Sequence[str], budget: int) -> str:
    """``*Label (n):* a, b, c`` within ``budget`` characters, ending "…and N more" when they do not all fit."""
    head = f"*{label} ({len(names)}):* "
    full = head + (", ".join(names) if names else "—")
    if len(full) <= budget:
        return full
    shown: list[str] = []
    size = len(head)
    for name in names:
        if size + len(name) + 2 > budget - _TAIL:
            break
        shown.append(name)
        size += len(name) + 2
    return head + ", ".join([*shown, f"…and {len(names) - len(shown)} more (see `/huddle report`)"])


def _split(text: str, limit: int = MAX_SECTION_TEXT) -> list[str]:
    """A long comma-separated line cut at commas into pieces no longer than ``limit``."""
    pieces = []
    while len(text) > limit:
        cut = text.rfind(", ", 0, limit - 1)
        cut = cut + 1 if cut > 0 else limit
        pieces.append(text[:cut])
        text = text[cut:].lstrip()
    return [*pieces, text]


def _shares(needs: Sequence[int], budget: int) -> list[int]:
    """Split ``budget`` fairly: small parts get all they need, the rest share what is left equally."""
    shares = [0] * len(needs)
    left = budget
    for k, i in enumerate(sorted(range(len(needs)), key=lambda j: needs[j])):
        shares[i] = min(needs[i], left // (len(needs) - k))
        left -= shares[i]
    return shares


def _attendance(v: DigestView) -> list[str]:
    parts = [
        ("Present", [_attendee(a, v.anonymous) for a in v.present]),
        ("Absent", [_name(n) for n in v.absent]),
        ("On leave", [_name(n) for n in v.on_leave]),
    ]
    if v.not_scheduled:
        parts.append(("Not scheduled", [_name(n) for n in v.not_scheduled]))
    needs = [len(_names_line(label, names, 10**9)) for label, names in parts]
    lines = []
    for (label, names), share in zip(parts, _shares(needs, ATTENDANCE_BUDGET), strict=True):
        lines += _split(_names_line(label, names, share))
    return lines


def _listing(title: str, items: Sequence[str], budget: int, most: int | None = None) -> list[str]:
    """``title`` then one bullet per item while they fit in ``budget`` (and ``most``), then "…and N more"."""
    lines, size = [title], len(title)
    for item in items[:most]:
        if size + len(item) + 1 > budget - _TAIL:
            break
        lines.append(item)
        size += len(item) + 1
    if len(lines) - 1 < len(items):
        lines.append(f"…and {len(items) - (len(lines) - 1)} more")
    return lines


def mood_line(stats: MoodStats, *, anonymous: bool) -> str:
    if stats.count == 0:
        return "*Mood:* no answers"
    if mood_hidden(stats, anonymous=anonymous):
        return f"*Mood:* hidden — fewer than {ANONYMOUS_MIN} answers (this team's mood is anonymous)"
    dist = " · ".join(f"{MOOD_EMOJI[m]} {stats.distribution[m]}" for m in MOODS)
    answers = "answer" if stats.count == 1 else "answers"
    return f"*Mood:* {stats.average or 0:.1f} average from {stats.count} {answers}  ({dist})"


def render_digest(v: DigestView, *, for_managers: bool = False) -> dict[str, Any]:
    """The digest; ``for_managers`` leaves out the agents' notes (they are for the team's lead). What agents
    typed (and names from the roster) is escaped, so a blocker of ``<!channel>`` pings nobody."""
    suffix = f" ({v.label})" if v.label else ""
    blocks: list[Block] = [header(f"📋 Huddle digest — {v.team_name}{suffix}, {v.day}")]
    blocks.append(section(f"*Focus:* {clip(escape(v.focus), FOCUS_MAX)}" if v.focus else "*Focus:* none set"))
    blocks += sections_from_lines(_attendance(v))
    if v.blockers:
        items = [f"• {clip(escape(what), ITEM_MAX)} — {_name(who)}" for who, what in v.blockers]
        blocks += sections_from_lines(
            _listing(f"*Blockers ({len(v.blockers)}):*", items, BLOCKERS_BUDGET, BLOCKERS_SHOWN)
        )
    else:
        blocks.append(section("*Blockers:* none raised ✅"))
    blocks.append(section(mood_line(v.mood, anonymous=v.anonymous)))
    if v.notes and not for_managers:
        items = [f"• {_name(who)}: {clip(escape(note), ITEM_MAX)}" for who, note in v.notes]
        blocks += sections_from_lines(_listing("*Notes:*", items, NOTES_BUDGET))
    if v.expected:
        checked = f"{v.attended} of {v.expected} expected checked in ({v.attended / v.expected:.0%})"
    else:
        checked = "no one was expected (no schedules for this shift), so only check-ins count"
    blocks.append(context(f"Closed at {v.closed_at} · {checked} · late = after {v.late_after}"))
    text = (
        f"Huddle digest {escape(v.team_name)} {v.day}: {len(v.present)} present, {len(v.absent)} absent, "
        f"{len(v.on_leave)} on leave, {len(v.blockers)} blocker{'s' if len(v.blockers) != 1 else ''}"
    )
    return message(text, blocks)


def render_report(team_name: str, span: str, report: Report, names: dict[int, str]) -> dict[str, Any]:
    blocks: list[Block] = [header(f"📈 Huddle report — {team_name}"), context(f"{span} · {report.huddles} huddles")]
    team_name = escape(team_name)
    if report.huddles == 0:
        blocks.append(section("No closed huddles in this range."))
        return message(f"Huddle report {team_name}: no huddles", blocks)
    team_rate = f"{report.team_rate:.0%}" if report.team_rate is not None else "—"
    lines = [f"*Attendance:* {team_rate} of expected check-ins · *Blockers raised:* {report.blockers}"]
    if report.mood_answers == 0:
        lines.append("*Mood:* no answers")
    elif report.mood_average is None:
        lines.append(f"*Mood:* hidden — fewer than {ANONYMOUS_MIN} answers (this team's mood is anonymous)")
    else:
        change = ""
        if report.mood_change is not None:
            change = f" · {report.mood_change:+.1f} second half vs first"
        gaps = f" (days with fewer than {ANONYMOUS_MIN} answers left blank)" if report.anonymous else ""
        lines.append(f"*Mood:* {report.mood_average:.1f} average · by day `{report.spark}`{gaps}{change}")
    blocks.append(section("\n".join(lines)))
    rows = ["*Per agent* (attended / expected · late · blockers)"]
    for a in report.agents:
        rate = f"{a.rate:.0%}" if a.rate is not None else "—"
        rows.append(
            f"{_name(names.get(a.member_id, '?'))}  {rate}  ({a.attended}/{a.expected} · {a.late} late · {a.blockers})"
        )
    blocks += sections_from_lines(rows)
    return message(f"Huddle report {team_name}, {span}: attendance {team_rate}, {report.blockers} blockers", blocks)
