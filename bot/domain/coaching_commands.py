"""Parsing of ``/1on1`` and ``/pip`` text into typed intents. Pure; raises UsageError with help text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from bot.domain.coaching import parse_date
from bot.domain.errors import UsageError

ONE_ON_ONE_HELP = (
    "*How to use `/1on1`*\n"
    "• `/1on1 @agent` — log a 1:1 or coaching session (or `/1on1` and pick the agent)\n"
    "• `/1on1 history @agent [N]` — their last N sessions (default 5); agents: `/1on1 history` for your own\n"
    "• `/1on1 due` — follow-ups and action items due, and agents not coached within the team's cadence\n"
    "• `/1on1 done ITEM` — close an action item (its number, e.g. `/1on1 done 12`)"
)
PIP_HELP = (
    "*How to use `/pip`* (improvement plans; team leaders and managers)\n"
    "• `/pip open @agent` — open a plan: goals with measurable targets, review dates, end date\n"
    "• `/pip @agent` — the agent's plan, its versions and acknowledgements (agents: `/pip` for your own)\n"
    "• `/pip edit @agent` — change goals or dates (the agent re-acknowledges)\n"
    "• `/pip extend @agent YYYY-MM-DD` · `/pip pass @agent` · `/pip close @agent`\n"
    "• reviews are logged with `/1on1 @agent`, kind *PIP review*"
)
HISTORY_DEFAULT = 5
HISTORY_MAX = 10
_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_ITEM = re.compile(r"^#?(\d{1,9})$")


class Intent(StrEnum):
    HELP = "help"
    LOG = "log"  # open the session form (agent optional)
    HISTORY = "history"
    DUE = "due"
    DONE = "done"
    PIP_SHOW = "show"
    PIP_OPEN = "open"
    PIP_EDIT = "edit"
    PIP_EXTEND = "extend"
    PIP_PASS = "pass"
    PIP_CLOSE = "close"


@dataclass(frozen=True, slots=True)
class CoachingQuery:
    intent: Intent
    slack_user_id: str | None = None  # the agent, when named
    count: int = HISTORY_DEFAULT
    item_id: int | None = None
    end_on: date | None = None


def _mention(token: str, help_text: str) -> str:
    if m := _MENTION.match(token):
        return m.group(1)
    raise UsageError(f"I couldn't tell who `{token}` is — pick the person from Slack's @-mention list.\n\n{help_text}")


def parse_one_on_one(text: str) -> CoachingQuery:
    tokens = text.split()
    if not tokens:
        return CoachingQuery(Intent.LOG)
    head = tokens[0].lower()
    if head in {"help", "?", "-h", "--help"}:
        return CoachingQuery(Intent.HELP)
    if head == "history":
        rest = tokens[1:]
        user = None
        if rest and rest[0].lower() != "me" and not rest[0].isdigit():
            user = _mention(rest[0], ONE_ON_ONE_HELP)
            rest = rest[1:]
        elif rest and rest[0].lower() == "me":
            rest = rest[1:]
        count = HISTORY_DEFAULT
        if rest:
            if len(rest) > 1 or not rest[0].isdigit() or not 1 <= int(rest[0]) <= HISTORY_MAX:
                raise UsageError(f"Give how many sessions as a number from 1 to {HISTORY_MAX}.\n\n{ONE_ON_ONE_HELP}")
            count = int(rest[0])
        return CoachingQuery(Intent.HISTORY, slack_user_id=user, count=count)
    if head == "due":
        if len(tokens) > 1:
            raise UsageError(f"`/1on1 due` takes nothing after it.\n\n{ONE_ON_ONE_HELP}")
        return CoachingQuery(Intent.DUE)
    if head == "done":
        m = _ITEM.match(tokens[1]) if len(tokens) == 2 else None
        if m is None:
            raise UsageError(f"Say which action item, by its number: `/1on1 done 12`.\n\n{ONE_ON_ONE_HELP}")
        return CoachingQuery(Intent.DONE, item_id=int(m.group(1)))
    if len(tokens) == 1:
        return CoachingQuery(Intent.LOG, slack_user_id=_mention(tokens[0], ONE_ON_ONE_HELP))
    raise UsageError(f"I don't understand `{text.strip()}`.\n\n{ONE_ON_ONE_HELP}")


_PIP_VERBS = {
    "open": Intent.PIP_OPEN,
    "new": Intent.PIP_OPEN,
    "edit": Intent.PIP_EDIT,
    "extend": Intent.PIP_EXTEND,
    "pass": Intent.PIP_PASS,
    "passed": Intent.PIP_PASS,
    "close": Intent.PIP_CLOSE,
    "show": Intent.PIP_SHOW,
    "status": Intent.PIP_SHOW,
}


def parse_pip(text: str) -> CoachingQuery:
    tokens = text.split()
    if not tokens or tokens[0].lower() == "me":
        if len(tokens) > 1:
            raise UsageError(f"I don't understand `{text.strip()}`.\n\n{PIP_HELP}")
        return CoachingQuery(Intent.PIP_SHOW)
    head = tokens[0].lower()
    if head in {"help", "?", "-h", "--help"}:
        return CoachingQuery(Intent.HELP)
    if head.startswith("<@"):
        tokens = ["show", *tokens]
        head = "show"
    intent = _PIP_VERBS.get(head)
    if intent is None:
        raise UsageError(f"I don't understand `{tokens[0]}`.\n\n{PIP_HELP}")
    if len(tokens) < 2:
        raise UsageError(f"Name the agent: `/pip {head} @agent`.\n\n{PIP_HELP}")
    user = _mention(tokens[1], PIP_HELP)
    end_on = None
    if intent is Intent.PIP_EXTEND:
        end_on = parse_date(tokens[2]) if len(tokens) == 3 else None
        if end_on is None:
            raise UsageError(f"Give the new end date: `/pip extend @agent YYYY-MM-DD`.\n\n{PIP_HELP}")
    elif len(tokens) > 2:
        raise UsageError(f"I don't understand `{' '.join(tokens[2:])}`.\n\n{PIP_HELP}")
    return CoachingQuery(intent, slack_user_id=user, end_on=end_on)
