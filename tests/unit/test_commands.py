"""Parsing `/kpi` text into a typed query; bad input gets the usage help."""

from __future__ import annotations

import pytest

from bot.domain.commands import KPI_HELP, KpiQuery, KpiSubject, parse_kpi_command
from bot.domain.errors import UsageError, UserFacingError
from bot.domain.periods import PeriodKind


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", KpiQuery(KpiSubject.TEAM)),
        ("   ", KpiQuery(KpiSubject.TEAM)),
        ("team", KpiQuery(KpiSubject.TEAM)),
        ("team alpha 7d post", KpiQuery(KpiSubject.TEAM, PeriodKind.D7, team_key="alpha", post=True)),
        ("team post 7d alpha", KpiQuery(KpiSubject.TEAM, PeriodKind.D7, team_key="alpha", post=True)),
        ("team yesterday", KpiQuery(KpiSubject.TEAM, PeriodKind.YESTERDAY)),
        ("7d", KpiQuery(KpiSubject.TEAM, PeriodKind.D7)),
        ("mtd alpha", KpiQuery(KpiSubject.TEAM, PeriodKind.MTD, team_key="alpha")),
        ("me", KpiQuery(KpiSubject.ME)),
        ("me wtd", KpiQuery(KpiSubject.ME, PeriodKind.WTD)),
        ("<@U123ABC|thandi> 30d", KpiQuery(KpiSubject.MEMBER, PeriodKind.D30, slack_user_id="U123ABC")),
        ("<@U123ABC>", KpiQuery(KpiSubject.MEMBER, slack_user_id="U123ABC")),
        ("<@W0ENTERPRISE> today", KpiQuery(KpiSubject.MEMBER, slack_user_id="W0ENTERPRISE")),
        ("thandi@example.com", KpiQuery(KpiSubject.MEMBER, email="thandi@example.com")),
        ("Thandi@Example.COM mtd", KpiQuery(KpiSubject.MEMBER, PeriodKind.MTD, email="thandi@example.com")),
        ("compare", KpiQuery(KpiSubject.COMPARE)),
        ("Compare MTD", KpiQuery(KpiSubject.COMPARE, PeriodKind.MTD)),
        ("help", KpiQuery(KpiSubject.HELP)),
        ("?", KpiQuery(KpiSubject.HELP)),
        ("--help", KpiQuery(KpiSubject.HELP)),
    ],
)
def test_parse_kpi_command(text: str, expected: KpiQuery) -> None:
    assert parse_kpi_command(text) == expected


def test_parse_kpi_command_is_case_insensitive() -> None:
    assert parse_kpi_command("TEAM Alpha MTD") == KpiQuery(KpiSubject.TEAM, PeriodKind.MTD, team_key="alpha")
    assert parse_kpi_command("Me 7D") == KpiQuery(KpiSubject.ME, PeriodKind.D7)
    assert parse_kpi_command("HELP") == KpiQuery(KpiSubject.HELP)


def test_parse_kpi_command_ignores_extra_whitespace() -> None:
    assert parse_kpi_command("  team\talpha   wtd \n") == KpiQuery(KpiSubject.TEAM, PeriodKind.WTD, team_key="alpha")


def test_parse_kpi_command_help_ignores_the_rest() -> None:
    assert parse_kpi_command("help me please").subject is KpiSubject.HELP


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("@thandi", "I couldn't tell who `@thandi` is"),  # typed, not picked from the mention list
        ("team alpha beta", "I don't understand `beta`."),
        ("team 7d 30d", "Give one period only."),
        ("me post", "Only team scorecards can be posted"),
        ("<@U123ABC> post", "Only team scorecards can be posted"),
        ("banana", "I don't understand `banana`."),
        ("me alpha", "I don't understand `alpha`."),  # a team name only follows `team`
        ("<@U123ABC> thandi@example.com", "I don't understand `thandi@example.com`."),
        ("team Alpha!", "I don't understand `Alpha!`."),  # the original spelling is echoed back
        ("7d 30d", "Give one period only."),
        ("compare alpha", "I don't understand `alpha`."),  # it compares every team you look after
        ("compare post", "can't be posted to a channel"),
        ("compare 7d mtd", "Give one period only."),
    ],
)
def test_parse_kpi_command_rejects_bad_text_with_help(text: str, problem: str) -> None:
    with pytest.raises(UsageError) as info:
        parse_kpi_command(text)
    assert problem in info.value.message
    assert info.value.message.endswith(KPI_HELP)
    assert str(info.value) == info.value.message


def test_usage_error_is_a_user_facing_error() -> None:
    with pytest.raises(UserFacingError):
        parse_kpi_command("banana")


def test_help_text_lists_every_period() -> None:
    for kind in PeriodKind:
        assert f"`{kind.value}`" in KPI_HELP
