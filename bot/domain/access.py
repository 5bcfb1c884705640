"""Who may see what, from Rhythm's own roles (a Slack workspace admin is not a team leader)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from bot.domain.errors import NotAllowed, UserFacingError


class Role(StrEnum):
    AGENT = "agent"
    LEAD = "lead"
    MANAGER = "manager"
    ADMIN = "admin"


UNKNOWN_USER = (
    "I don't know you yet :wave: — Rhythm only shows figures to people on a team roster. "
    "Ask your team leader to add you (they can run `rhythm import roster`)."
)


@dataclass(frozen=True, slots=True)
class Actor:
    """The person behind a request, as Rhythm knows them."""

    member_id: int
    name: str
    role: Role
    team_id: int | None  # the team an agent belongs to
    oversees: frozenset[int]  # teams a lead or manager is responsible for

    @property
    def is_admin(self) -> bool:
        return self.role is Role.ADMIN


def can_view_team(actor: Actor, team_id: int) -> bool:
    return actor.is_admin or team_id in actor.oversees or actor.team_id == team_id


def can_view_member(actor: Actor, member_id: int, member_team_id: int | None) -> bool:
    if actor.member_id == member_id or actor.is_admin:
        return True
    if actor.role in (Role.LEAD, Role.MANAGER):
        return member_team_id is not None and member_team_id in actor.oversees
    return False


def check_view_team(actor: Actor, team_id: int, team_name: str) -> None:
    if not can_view_team(actor, team_id):
        if actor.role is Role.AGENT:
            raise NotAllowed(f"Sorry, you can only see your own team's scorecard, not *{team_name}*'s.")
        raise NotAllowed(f"Sorry, *{team_name}* isn't one of the teams you lead.")


def check_view_member(actor: Actor, member_id: int, member_team_id: int | None, member_name: str) -> None:
    if not can_view_member(actor, member_id, member_team_id):
        if actor.role is Role.AGENT:
            raise NotAllowed("Sorry, agents can see their own figures only — try `/kpi me`.")
        raise NotAllowed(f"Sorry, {member_name} isn't in a team you lead.")


def check_can_post(actor: Actor) -> None:
    if actor.role is Role.AGENT:
        raise NotAllowed("Only team leaders and managers can post a scorecard to the channel.")


def comparable_teams(actor: Actor, every_team: frozenset[int]) -> frozenset[int]:
    """The teams ``/kpi compare`` sets side by side for ``actor``: an admin's are all of them, a lead's or
    manager's those they look after."""
    if actor.role is Role.AGENT:
        raise NotAllowed("Comparing teams is for team leaders and managers — try `/kpi team` for your own.")
    teams = every_team if actor.is_admin else actor.oversees & every_team
    if not teams:
        raise UserFacingError("You don't look after any team yet, so there is nothing to compare.")
    return teams


def default_team(actor: Actor) -> int:
    """The team ``/kpi team`` means when no team is named: the actor's home team, else the one team they
    look after; otherwise they must name one (the caller appends their team keys)."""
    if actor.team_id is not None:
        return actor.team_id
    if len(actor.oversees) == 1:
        return next(iter(actor.oversees))
    if actor.oversees:
        raise UserFacingError("You look after several teams — name one, e.g. `/kpi team KEY`.")
    raise UserFacingError("You're not on a team — name one, e.g. `/kpi team KEY`.")
