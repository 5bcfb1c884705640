"""Notice messages: the channel post (updated in place with its live count), the reminder, re-acknowledge and
escalation DMs, and the publisher's confirmation. Pure renderers of frozen view models.

Everything people typed (title, body, names, link) is escaped for mrkdwn (``safe``): a title cannot ping
``<!channel>`` and a body cannot hide a link. The body keeps Slack's *bold*, _italic_ and lists. Header
blocks are plain text, which Slack shows as typed, so the title goes into them unescaped."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from bot.blocks.ids import ActionId, BlockId
from bot.blocks.kit import MAX_SECTION_TEXT, Block, context, escape, header, message, section
from bot.domain.notices import Tally

NAMES_SHOWN = 40  # names listed in one DM before "and N more"


def safe(text: str, limit: int = MAX_SECTION_TEXT) -> str:
    """User text escaped for mrkdwn, clipped so the *escaped* text fits ``limit`` (an entity is never cut)."""
    out = escape(text)
    if len(out) <= limit:
        return out
    kept: list[str] = []
    size = 0
    for char in text:
        piece = escape(char)
        if size + len(piece) > limit - 1:
            break
        kept.append(piece)
        size += len(piece)
    return "".join(kept) + "…"


@dataclass(frozen=True, slots=True)
class NoticeView:
    """A version as one audience sees it."""

    notice_id: int
    number: int  # the version shown
    ack_number: int  # the material version an acknowledgement is recorded against
    title: str
    body: str
    link: str | None
    effective_on: date
    deadline: datetime | None
    short_hash: str
    timezone: str  # the team's, for the fallback text of dates
    minor_fix: bool = False  # the version shown corrects the one acknowledged (no new acknowledgement)


def when(at: datetime, timezone: str) -> str:
    """A moment Slack shows in each reader's own time zone; the fallback is in the team's."""
    local = at.astimezone(ZoneInfo(timezone))
    fallback = f"{local:%a %d %b %H:%M} {local.tzname() or ''}".strip()
    return f"<!date^{int(at.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def _facts(v: NoticeView) -> str:
    parts = [f"Effective *{v.effective_on:%a %d %b %Y}*"]
    if v.deadline is not None:
        parts.append(f"acknowledge by *{when(v.deadline, v.timezone)}*")
    parts.append(f"notice #{v.notice_id} v{v.number} · `{v.short_hash}`")
    return " · ".join(parts)


def _content(v: NoticeView) -> list[Block]:
    blocks: list[Block] = [header(f"📣 {v.title}"), section(safe(v.body))]
    facts = [_facts(v)]
    if v.link:  # the form refuses links with <, >, | or spaces; & is escaped as Slack wants it in a URL
        facts.append(f"<{escape(v.link)}|More detail>")
    blocks.append(context(*facts))
    return blocks


def _ack_button(v: NoticeView) -> Block:
    return {
        "type": "actions",
        "block_id": f"{BlockId.NOTICE_ACTIONS}.{v.notice_id}",
        "elements": [
            {
                "type": "button",
                "text": {"type": "plain_text", "text": "Acknowledge"},
                "action_id": ActionId.NOTICE_ACK,
                "value": f"{v.notice_id}:{v.ack_number}",
                "style": "primary",
            }
        ],
    }


def render_notice_post(v: NoticeView, tally: Tally, *, superseded_by: int | None = None) -> dict[str, Any]:
    """The notice in a team channel. Superseded by a material change: the button goes, a pointer stays."""
    blocks = _content(v)
    if superseded_by is not None:
        blocks.append(context(f"⚠️ Replaced by version {superseded_by} (posted below): acknowledge that one instead."))
        return message(f"Notice replaced by version {superseded_by}: {safe(v.title)}", blocks)
    if v.minor_fix:
        blocks.append(context(f"✏️ Corrected in v{v.number} (a minor fix): acknowledgements already given still count."))
    blocks.append(_ack_button(v))
    blocks.append(context(f"*{tally.label()}*", block_id=f"{BlockId.NOTICE_COUNT}.{v.notice_id}"))
    return message(f"Process change: {safe(v.title)} — please read and acknowledge ({tally.label()})", blocks)


def render_reminder_dm(v: NoticeView, *, manual: bool = False) -> dict[str, Any]:
    due = f" by {when(v.deadline, v.timezone)}" if v.deadline is not None else ""
    lead = "Your team leader asked me to remind you" if manual else "Reminder"
    intro = section(f"⏰ {lead}: please read and acknowledge this process change{due}.")
    return message(f"Reminder: please acknowledge “{safe(v.title)}”{due}", [intro, *_content(v), _ack_button(v)])


def render_reack_dm(v: NoticeView, previous: int) -> dict[str, Any]:
    intro = section(
        f"🔄 A notice you acknowledged has changed (v{previous} → v{v.number}). "
        "Please read it again and acknowledge the new version."
    )
    return message(f"Changed: please acknowledge “{safe(v.title)}” again", [intro, *_content(v), _ack_button(v)])


@dataclass(frozen=True, slots=True)
class EscalationView:
    notice_id: int
    number: int
    title: str
    team_name: str
    deadline: datetime
    timezone: str
    outstanding: tuple[str, ...]  # names, "(on leave)" marked
    audience: int


def render_escalation_dm(e: EscalationView) -> dict[str, Any]:
    shown = list(e.outstanding[:NAMES_SHOWN])
    more = len(e.outstanding) - len(shown)
    names = "\n".join(f"• {safe(n, 200)}" for n in shown) + (f"\n…and {more} more" if more > 0 else "")
    text = (
        f"⏰ The deadline for *{safe(e.title, 750)}* (notice #{e.notice_id} v{e.number}) passed at "
        f"{when(e.deadline, e.timezone)}. {len(e.outstanding)} of {e.audience} in *{safe(e.team_name, 500)}* "
        "have not acknowledged it:"
    )
    blocks = [
        section(text),
        section(names),
        context(f"Nudge them with `/notice remind {e.notice_id}`; see everyone with `/notice status {e.notice_id}`."),
    ]
    summary = f"{safe(e.title)} ({len(e.outstanding)} in {safe(e.team_name)})"
    return message(f"Not acknowledged by the deadline: {summary}", blocks)


def render_published_view(notice_id: int, number: int, teams: Sequence[str], missing: Sequence[str]) -> dict[str, Any]:
    """What the modal turns into after a successful submit."""
    verb = "Published" if number == 1 else f"Saved version {number} of"
    lines = [f"✅ {verb} notice *#{notice_id}*."]
    if teams:
        lines.append(f"It is on its way to: {safe(', '.join(teams))}.")
    if missing:
        lines.append(f"⚠️ Not posted to {safe(', '.join(missing))}: no team channel is set (see org.yml).")
    lines.append(f"Follow progress with `/notice status {notice_id}`.")
    return _info_view("Notice saved", "\n".join(lines))


def _info_view(title: str, text: str) -> dict[str, Any]:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": title},
        "close": {"type": "plain_text", "text": "Done"},
        "blocks": [section(text)],
    }


def render_saving_view() -> dict[str, Any]:
    """What the modal shows while a slow save finishes (then it is updated with the outcome)."""
    return _info_view("Saving notice", "⏳ Saving your notice… You may close this: it is saved all the same.")


def render_not_saved_view(problems: Sequence[str]) -> dict[str, Any]:
    """A save that failed after the modal had already turned into "Saving…" (no fields left to mark)."""
    lines = ["⚠️ Your notice was *not* saved:", *(f"• {p}" for p in problems)]
    lines.append("Run `/notice new` (or `/notice edit N`) again.")
    return _info_view("Notice not saved", "\n".join(lines))
