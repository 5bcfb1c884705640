"""`/huddle` command text → a typed intent. Pure; raises UsageError with the help text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.errors import UsageError
from bot.domain.huddle_report import ReportQuery, parse_report_args

HUDDLE_HELP = (
    "*How to use `/huddle`* (team leaders and managers; run it in the team's channel, or name the team)\n"
    "• `/huddle focus [TEAM] TEXT` — set today's focus (shown on the prompt and in the digest); a first word that"
    " is a team key names the team\n"
    "• `/huddle now [TEAM]` — post a huddle prompt now\n"
    "• `/huddle skip [TEAM] [DATE]` — no huddle on that day (default today); `/huddle unskip …` undoes it\n"
    "• `/huddle leave @agent FROM [TO]` — mark leave (dates YYYY-MM-DD): not prompted, not counted absent\n"
    "• `/huddle report [TEAM] [7d|30d|FROM TO]` — attendance per agent, blockers and mood trend\n"
    "Agents check in with the *Check in* button on the prompt, or by replying in its thread."
)
FOCUS_MAX = 300
MAX_LEAVE_DAYS = 366

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_TEAM_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class HuddleAction(StrEnum):
    HELP = "help"
    FOCUS = "focus"
    NOW = "now"
    SKIP = "skip"
    UNSKIP = "unskip"
    LEAVE = "leave"
    REPORT = "report"


@dataclass(frozen=True, slots=True)
class HuddleCommand:
    action: HuddleAction
    team_key: str | None = None
    text: str | None = None  # focus (without the first word when that may be a team key: see whole_text)
    whole_text: str | None = None  # focus: the whole text, used when ``team_key`` turns out not to be a team
    day: date | None = None  # skip/unskip (None: today)
    relative_days: int = 0  # skip tomorrow = 1
    slack_user_id: str | None = None  # leave
    first: date | None = None
    last: date | None = None
    report: ReportQuery | None = None


def _usage(problem: str) -> UsageError:
    return UsageError(f"{problem}\n\n{HUDDLE_HELP}")


def _date(token: str) -> date:
    try:
        return date.fromisoformat(token)
    except ValueError:
        raise _usage(f"`{token}` is not a date; use YYYY-MM-DD.") from None


def _is_day(token: str) -> bool:
    return token.lower() in ("today", "tomorrow") or bool(re.match(r"^\d{4}-\d{2}-\d{2}$", token))


def _team(tokens: list[str]) -> str | None:
    if tokens and not _is_day(tokens[0]):
        key = tokens.pop(0).lower()
        if not _TEAM_KEY.match(key):
            raise _usage(f"`{key}` is not a team key.")
        return key
    return None


def parse_huddle_command(text: str) -> HuddleCommand:
    stripped = text.strip()
    tokens = stripped.split()
    if not tokens or tokens[0].lower() in ("help", "?", "-h", "--help"):
        return HuddleCommand(HuddleAction.HELP)
    head, rest = tokens[0].lower(), tokens[1:]
    if head == "focus":
        return _parse_focus(stripped[len(tokens[0]) :].strip())
    if head == "now":
        team = _team(rest)
        if rest:
            raise _usage(f"I don't understand `{' '.join(rest)}`.")
        return HuddleCommand(HuddleAction.NOW, team_key=team)
    if head in ("skip", "unskip"):
        team = _team(rest)
        if len(rest) > 1:
            raise _usage(f"I don't understand `{' '.join(rest)}`.")
        day, relative = None, 0
        if rest:
            token = rest[0].lower()
            if token == "tomorrow":
                relative = 1
            elif token != "today":
                day = _date(token)
        return HuddleCommand(HuddleAction(head), team_key=team, day=day, relative_days=relative)
    if head == "leave":
        return _parse_leave(rest)
    if head == "report":
        return HuddleCommand(HuddleAction.REPORT, report=parse_report_args(rest, HUDDLE_HELP))
    raise _usage(f"I don't understand `{tokens[0]}`.")


def check_focus(focus: str) -> str:
    if not focus:
        raise _usage("Say what today's focus is, e.g. `/huddle focus First reply under 1 hour`.")
    if len(focus) > FOCUS_MAX:
        raise UsageError(f"Keep the focus under {FOCUS_MAX} characters (it has {len(focus)}).")
    return focus


def _parse_focus(focus: str) -> HuddleCommand:
    """``[TEAM] TEXT``: a first word shaped like a team key (with more text after it) may name the team — the
    service decides, by whether such a team exists."""
    first, _, rest = focus.partition(" ")
    if rest.strip() and _TEAM_KEY.match(first.lower()):
        return HuddleCommand(
            HuddleAction.FOCUS, team_key=first.lower(), text=check_focus(rest.strip()), whole_text=focus
        )
    return HuddleCommand(HuddleAction.FOCUS, text=check_focus(focus))


def _parse_leave(rest: list[str]) -> HuddleCommand:
    if not rest:
        raise _usage("Name the agent and the dates, e.g. `/huddle leave @thandi 2026-12-21 2026-12-24`.")
    mention = _MENTION.match(rest[0])
    if mention is None:
        raise _usage(f"I couldn't tell who `{rest[0]}` is — pick the person from Slack's @-mention list.")
    dates = [_date(t) for t in rest[1:]]
    if not dates or len(dates) > 2:
        raise _usage("Give the first day of leave and, for more than one day, the last (YYYY-MM-DD).")
    first, last = dates[0], dates[-1]
    if last < first:
        raise UsageError(f"The leave ends before it starts ({first} → {last}).")
    if last - first >= timedelta(days=MAX_LEAVE_DAYS):
        raise UsageError(f"Mark at most {MAX_LEAVE_DAYS} days of leave at a time.")
    return HuddleCommand(HuddleAction.LEAVE, slack_user_id=mention.group(1), first=first, last=last)
