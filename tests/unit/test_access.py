"""Who may see what: Rhythm's own roles, never Slack's."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from bot.domain.access import (
    Actor,
    Role,
    can_view_member,
    can_view_team,
    check_can_post,
    check_view_member,
    check_view_team,
    default_team,
)
from bot.domain.errors import NotAllowed, UserFacingError

TEAM_1, TEAM_2, TEAM_3 = 1, 2, 3

AGENT = Actor(10, "Thandi Nkosi", Role.AGENT, TEAM_1, frozenset())
LEAD_1 = Actor(20, "Lindiwe Lead", Role.LEAD, TEAM_1, frozenset({TEAM_1}))
LEAD_2 = Actor(30, "Ben Lead", Role.LEAD, TEAM_2, frozenset({TEAM_2}))
MANAGER = Actor(40, "Olivia Ops", Role.MANAGER, None, frozenset({TEAM_1, TEAM_2}))
ADMIN = Actor(50, "Ada Admin", Role.ADMIN, None, frozenset())

ACTORS = {"agent": AGENT, "lead1": LEAD_1, "lead2": LEAD_2, "manager": MANAGER, "admin": ADMIN}

# (member id, member's team): a colleague of the agent on team 1, an agent on team 2, one on team 3, one with no team.
SIPHO = (11, TEAM_1)
BOB = (31, TEAM_2)
ZOE = (61, TEAM_3)
NOBODY = (70, None)

TEAM_MATRIX = [
    ("agent", TEAM_1, True),
    ("agent", TEAM_2, False),
    ("lead1", TEAM_1, True),
    ("lead1", TEAM_2, False),
    ("lead2", TEAM_1, False),
    ("lead2", TEAM_2, True),
    ("manager", TEAM_1, True),
    ("manager", TEAM_2, True),
    ("manager", TEAM_3, False),
    ("admin", TEAM_1, True),
    ("admin", TEAM_3, True),
]

MEMBER_MATRIX = [
    ("agent", (10, TEAM_1), True),  # themself
    ("agent", SIPHO, False),  # a teammate
    ("agent", BOB, False),
    ("lead1", SIPHO, True),
    ("lead1", BOB, False),
    ("lead1", NOBODY, False),  # an agent with no team is in no team the lead leads
    ("lead1", (20, TEAM_1), True),  # themself
    ("lead2", SIPHO, False),
    ("lead2", BOB, True),
    ("manager", SIPHO, True),
    ("manager", BOB, True),
    ("manager", ZOE, False),
    ("manager", NOBODY, False),
    ("manager", (40, None), True),  # themself, though on no team
    ("admin", SIPHO, True),
    ("admin", ZOE, True),
    ("admin", NOBODY, True),
]


@pytest.mark.parametrize(("who", "team_id", "allowed"), TEAM_MATRIX)
def test_can_view_team(who: str, team_id: int, allowed: bool) -> None:
    assert can_view_team(ACTORS[who], team_id) is allowed


@pytest.mark.parametrize(("who", "team_id", "allowed"), TEAM_MATRIX)
def test_check_view_team_agrees_with_can_view_team(who: str, team_id: int, allowed: bool) -> None:
    if allowed:
        assert check_view_team(ACTORS[who], team_id, "Team X") is None
    else:
        with pytest.raises(NotAllowed):
            check_view_team(ACTORS[who], team_id, "Team X")


@pytest.mark.parametrize(("who", "member", "allowed"), MEMBER_MATRIX)
def test_can_view_member(who: str, member: tuple[int, int | None], allowed: bool) -> None:
    assert can_view_member(ACTORS[who], *member) is allowed


@pytest.mark.parametrize(("who", "member", "allowed"), MEMBER_MATRIX)
def test_check_view_member_agrees_with_can_view_member(who: str, member: tuple[int, int | None], allowed: bool) -> None:
    if allowed:
        assert check_view_member(ACTORS[who], *member, "Someone") is None
    else:
        with pytest.raises(NotAllowed):
            check_view_member(ACTORS[who], *member, "Someone")


def test_agent_refused_another_team_gets_a_polite_message() -> None:
    with pytest.raises(NotAllowed) as info:
        check_view_team(AGENT, TEAM_2, "Team Bravo")
    assert info.value.message == "Sorry, you can only see your own team's scorecard, not *Team Bravo*'s."


def test_lead_refused_another_team_gets_a_polite_message() -> None:
    with pytest.raises(NotAllowed) as info:
        check_view_team(LEAD_1, TEAM_2, "Team Bravo")
    assert info.value.message == "Sorry, *Team Bravo* isn't one of the teams you lead."


def test_agent_refused_a_colleague_is_pointed_at_kpi_me() -> None:
    with pytest.raises(NotAllowed) as info:
        check_view_member(AGENT, *SIPHO, "Sipho Dlamini")
    assert info.value.message == "Sorry, agents can see their own figures only — try `/kpi me`."
    assert "Sipho" not in info.value.message  # an agent is not told about a colleague by name


def test_lead_refused_a_member_is_told_who() -> None:
    with pytest.raises(NotAllowed) as info:
        check_view_member(LEAD_1, *BOB, "Bob Brown")
    assert info.value.message == "Sorry, Bob Brown isn't in a team you lead."


@pytest.mark.parametrize(
    "call",
    [
        lambda: check_view_team(AGENT, TEAM_2, "Team Bravo"),
        lambda: check_view_team(MANAGER, TEAM_3, "Team Charlie"),
        lambda: check_view_member(LEAD_2, *NOBODY, "Nobody"),
        lambda: check_can_post(AGENT),
    ],
)
def test_refusals_are_user_facing_and_free_of_internals(call: Callable[[], None]) -> None:
    with pytest.raises(NotAllowed) as info:
        call()
    message = info.value.message
    assert isinstance(info.value, UserFacingError)
    assert message.startswith(("Sorry", "Only"))
    assert "Traceback" not in message
    assert "Error" not in message
    assert "member_id" not in message


@pytest.mark.parametrize("who", ["lead1", "lead2", "manager", "admin"])
def test_leads_managers_and_admins_may_post(who: str) -> None:
    assert check_can_post(ACTORS[who]) is None


def test_agents_may_not_post() -> None:
    with pytest.raises(NotAllowed) as info:
        check_can_post(AGENT)
    assert info.value.message == "Only team leaders and managers can post a scorecard to the channel."


def test_admin_flag_follows_role() -> None:
    assert [a.is_admin for a in ACTORS.values()] == [False, False, False, False, True]


def test_default_team_is_the_actors_own_team() -> None:
    assert default_team(AGENT) == TEAM_1
    assert default_team(LEAD_2) == TEAM_2


def test_default_team_for_a_lead_without_home_team_is_the_one_they_oversee() -> None:
    lead = Actor(21, "Solo Lead", Role.LEAD, None, frozenset({TEAM_3}))
    assert default_team(lead) == TEAM_3


def test_default_team_asks_a_manager_of_several_teams_to_name_one() -> None:
    with pytest.raises(UserFacingError) as info:
        default_team(MANAGER)
    assert "You look after several teams — name one, e.g. `/kpi team KEY`" in info.value.message


def test_default_team_for_an_admin_with_no_team_asks_for_a_name() -> None:
    with pytest.raises(UserFacingError) as info:
        default_team(ADMIN)
    assert info.value.message == "You're not on a team — name one, e.g. `/kpi team KEY`."
