"""``/notice`` command text → a typed intent. Pure; raises UsageError with the help text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import UsageError

NOTICE_HELP = (
    "*How to use `/notice`*\n"
    "• `/notice new` — publish a process change to your teams (leads and managers)\n"
    "• `/notice edit N` — change notice N; a material change asks everyone to acknowledge again\n"
    "• `/notice list` — recent notices and how many have acknowledged\n"
    "• `/notice status N` — who has and hasn't acknowledged, by team, with times\n"
    "• `/notice remind N` — nudge everyone who hasn't acknowledged yet\n"
    "• `/notice export N` — the acknowledgement record as a CSV file, sent to you by DM"
)
_NUMBER = re.compile(r"^#?(\d{1,9})$")


class NoticeAction(StrEnum):
    NEW = "new"
    EDIT = "edit"
    LIST = "list"
    STATUS = "status"
    REMIND = "remind"
    EXPORT = "export"
    HELP = "help"


_NEEDS_NUMBER = {NoticeAction.EDIT, NoticeAction.STATUS, NoticeAction.REMIND, NoticeAction.EXPORT}


@dataclass(frozen=True, slots=True)
class NoticeIntent:
    action: NoticeAction
    notice_id: int | None = None


def parse_notice_command(text: str) -> NoticeIntent:
    tokens = text.split()
    if not tokens or tokens[0].lower() in {"help", "?", "-h", "--help"}:
        return NoticeIntent(NoticeAction.HELP)
    head, rest = tokens[0].lower(), tokens[1:]
    try:
        action = NoticeAction(head)
    except ValueError:
        raise UsageError(f"I don't know `/notice {tokens[0]}`.\n\n{NOTICE_HELP}") from None
    if action not in _NEEDS_NUMBER:
        if rest:
            raise UsageError(f"`/notice {head}` takes nothing after it.\n\n{NOTICE_HELP}")
        return NoticeIntent(action)
    if len(rest) != 1 or not (match := _NUMBER.match(rest[0])):
        raise UsageError(f"Say which notice, e.g. `/notice {head} 3` (see `/notice list`).\n\n{NOTICE_HELP}")
    return NoticeIntent(action, int(match.group(1)))
