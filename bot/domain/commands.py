"""Parsing of slash-command text into typed intents. Pure; raises UsageError with help text."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import UsageError
from bot.domain.periods import PeriodKind

KPI_HELP = (
    "*How to use `/kpi`*\n"
    "• `/kpi team [TEAM] [PERIOD]` — your team's scorecard (leads and managers may name a team)\n"
    "• `/kpi @agent [PERIOD]` — one agent's scorecard (team leaders and managers)\n"
    "• `/kpi me [PERIOD]` — your own figures\n"
    "• `/kpi compare [PERIOD]` — every team you look after side by side, best first per metric (leads and managers)\n"
    "• add `post` to a team scorecard to share it in the channel\n"
    "PERIOD is one of `today` (default), `yesterday`, `wtd`, `mtd`, `7d`, `30d`."
)

_MENTION = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_EMAIL = re.compile(r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$")
_TEAM_KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class KpiSubject(StrEnum):
    TEAM = "team"
    COMPARE = "compare"
    MEMBER = "member"
    ME = "me"
    HELP = "help"


@dataclass(frozen=True, slots=True)
class KpiQuery:
    subject: KpiSubject
    period: PeriodKind = PeriodKind.TODAY
    team_key: str | None = None
    slack_user_id: str | None = None
    email: str | None = None
    post: bool = False


def _usage(problem: str) -> UsageError:
    return UsageError(f"{problem}\n\n{KPI_HELP}")


def parse_kpi_command(text: str) -> KpiQuery:
    tokens = text.split()
    if not tokens:
        return KpiQuery(KpiSubject.TEAM)
    head = tokens[0].lower()
    if head in {"help", "?", "-h", "--help"}:
        return KpiQuery(KpiSubject.HELP)

    rest: list[str]
    subject: KpiSubject
    slack_user_id = email = None
    if head == "team":
        subject, rest = KpiSubject.TEAM, tokens[1:]
    elif head == "compare":
        subject, rest = KpiSubject.COMPARE, tokens[1:]
    elif head == "me":
        subject, rest = KpiSubject.ME, tokens[1:]
    elif m := _MENTION.match(tokens[0]):
        subject, rest, slack_user_id = KpiSubject.MEMBER, tokens[1:], m.group(1)
    elif _EMAIL.match(tokens[0]):
        subject, rest, email = KpiSubject.MEMBER, tokens[1:], tokens[0].lower()
    elif head.startswith("@"):
        raise _usage(f"I couldn't tell who `{tokens[0]}` is — pick the person from Slack's @-mention list.")
    elif head in set(PeriodKind):
        subject, rest = KpiSubject.TEAM, tokens  # "/kpi 7d" means my team over 7 days
    else:
        raise _usage(f"I don't understand `{tokens[0]}`.")

    period: PeriodKind | None = None
    team_key: str | None = None
    post = False
    for raw in rest:
        tok = raw.lower()
        if tok in set(PeriodKind):
            if period is not None:
                raise _usage("Give one period only.")
            period = PeriodKind(tok)
        elif tok == "post":
            post = True
        elif subject is KpiSubject.TEAM and team_key is None and _TEAM_KEY.match(tok):
            team_key = tok
        else:
            raise _usage(f"I don't understand `{raw}`.")
    if post and subject is KpiSubject.COMPARE:
        raise _usage("A comparison of teams stays with you: it can't be posted to a channel.")
    if post and subject is not KpiSubject.TEAM:
        raise _usage("Only team scorecards can be posted to the channel; personal figures stay private.")
    return KpiQuery(
        subject=subject,
        period=period or PeriodKind.TODAY,
        team_key=team_key,
        slack_user_id=slack_user_id,
        email=email,
        post=post,
    )
