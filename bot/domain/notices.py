"""Process-change notices, pure: what a version's content hash is, whether an edit is material, and the plain
records the store hands to services and other features.

Who must acknowledge: the active *agents* of the audience teams. Their leads and managers publish, follow
progress (``/notice status``) and receive the escalation; they are not asked to acknowledge themselves.
Agents on leave stay outstanding (status and export mark them) but get no reminders.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import date, datetime, timedelta

TITLE_MAX = 148  # Slack header blocks allow 150 characters, and the post's header is "📣 " + title
BODY_MAX = 3000  # a section's text allows 3,000
LINK_MAX = 500
SHORT_HASH = 12  # characters of the content hash shown in Slack (the export has all 64)


@dataclass(frozen=True, slots=True)
class NoticeDue:
    """A notice a team still has to acknowledge (the huddle prompt lists these).

    ``version`` is the version on show now; ``outstanding`` counts the team's active agents who have not
    acknowledged it (or the material version it corrects), ``audience`` all of the team's active agents.
    """

    notice_id: int
    version: int
    title: str
    deadline: datetime | None  # aware UTC
    outstanding: int
    audience: int = 0
    effective_on: date | None = None


@dataclass(frozen=True, slots=True)
class NoticeContent:
    """What a version says: the part that is hashed, so a change of any of it is a change of content."""

    title: str
    body: str
    link: str | None
    effective_on: date


def normalise_text(text: str) -> str:
    """Line endings and trailing spaces never make a new version."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(line.rstrip() for line in lines).strip()


def content_hash(content: NoticeContent) -> str:
    """SHA-256 (hex, 64 characters) of the version's title, body, link and effective date."""
    canonical = json.dumps(
        {
            "title": normalise_text(content.title),
            "body": normalise_text(content.body),
            "link": (content.link or "").strip(),
            "effective_on": content.effective_on.isoformat(),
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def short_hash(full: str) -> str:
    return full[:SHORT_HASH]


@dataclass(frozen=True, slots=True)
class EditOutcome:
    changed: bool  # anything at all changed (content, effective date or deadline)
    material: bool  # the audience must acknowledge again


def judge_edit(
    *,
    old_hash: str,
    new_hash: str,
    old_deadline: datetime | None,
    new_deadline: datetime | None,
    minor: bool,
) -> EditOutcome:
    """Whether an edit makes a new version, and whether that version needs a fresh acknowledgement.

    A content change is material unless the editor marks it a minor correction (a typo fix). A new deadline
    alone changes nothing anyone has to read again, so it is never material.
    """
    content_changed = old_hash != new_hash
    changed = content_changed or old_deadline != new_deadline
    return EditOutcome(changed=changed, material=content_changed and not minor)


MINOR_ONLY_TEXT = (
    "A minor correction may change only the title or the text. A new effective date or link changes what "
    "everyone agreed to: untick “Minor correction” so they acknowledge it again."
)


def minor_problem(old: NoticeContent, new: NoticeContent) -> str | None:
    """Why an edit cannot be a minor correction (None when it can): only the title and body may change."""
    if old.effective_on != new.effective_on or (old.link or "").strip() != (new.link or "").strip():
        return MINOR_ONLY_TEXT
    return None


def coalesce_window(posts: int) -> timedelta:
    """How long a post's count update waits for more clicks: 3 s for a notice in one or two channels, longer
    (up to 10 s) when it is posted in many, so their updates together stay inside chat.update's ~50 a minute."""
    return timedelta(seconds=min(10.0, max(3.0, 1.5 * posts)))


@dataclass(frozen=True, slots=True)
class Tally:
    acknowledged: int
    audience: int

    @property
    def outstanding(self) -> int:
        return max(self.audience - self.acknowledged, 0)

    def label(self) -> str:
        return f"{self.acknowledged}/{self.audience} acknowledged"


@dataclass(frozen=True, slots=True)
class VersionInfo:
    """One version of a notice, as stored."""

    id: int
    notice_id: int
    number: int
    title: str
    body: str
    link: str | None
    effective_on: date
    deadline: datetime | None  # aware UTC
    content_hash: str
    material: bool
    ack_number: int  # the material version whose acknowledgements count for this one
    author_id: int | None
    created_at: datetime

    @property
    def content(self) -> NoticeContent:
        return NoticeContent(self.title, self.body, self.link, self.effective_on)


@dataclass(frozen=True, slots=True)
class AudienceMember:
    id: int
    name: str
    email: str
    slack_user_id: str | None
    team_id: int
