"""Who may do what with a notice, from Rhythm's own roles.

* Publish: leads and managers (to the teams they look after) and admins (to any team).
* Status, remind, export: leads and managers of an audience team (they see and act on their own teams only),
  and admins (every audience team).
* Edit: admins, and leads or managers who look after *every* audience team (an edit changes what each team
  must acknowledge).
* Acknowledge: active agents of an audience team. Leads are not asked to: they follow progress instead.
"""

from __future__ import annotations

from collections.abc import Collection

from bot.domain.access import Actor, Role
from bot.domain.errors import NotAllowed

AGENTS_CANNOT = "Only team leaders and managers can {what} notices."
NOT_YOUR_TEAMS = "Notice #{id} isn't addressed to any team you lead."


def _leads(actor: Actor) -> bool:
    return actor.role in (Role.LEAD, Role.MANAGER)


def publishable_teams(actor: Actor, all_team_ids: Collection[int]) -> list[int]:
    """The teams the actor may address a new notice to."""
    if actor.is_admin:
        return sorted(all_team_ids)
    if _leads(actor):
        return sorted(t for t in all_team_ids if t in actor.oversees)
    return []


def check_can_publish(actor: Actor) -> None:
    if not (actor.is_admin or _leads(actor)):
        raise NotAllowed(AGENTS_CANNOT.format(what="publish"))


def managed_teams(actor: Actor, notice_id: int, audience: Collection[int], *, what: str) -> list[int]:
    """The audience teams the actor may see and act on; raises a polite refusal when there are none."""
    if actor.is_admin:
        return sorted(audience)
    if not _leads(actor):
        raise NotAllowed(AGENTS_CANNOT.format(what=what))
    mine = sorted(t for t in audience if t in actor.oversees)
    if not mine:
        raise NotAllowed(NOT_YOUR_TEAMS.format(id=notice_id))
    return mine


def check_can_edit(actor: Actor, notice_id: int, audience: Collection[int]) -> None:
    mine = managed_teams(actor, notice_id, audience, what="edit")
    if not actor.is_admin and len(mine) < len(set(audience)):
        raise NotAllowed(
            f"Notice #{notice_id} also goes to teams you don't lead, so only an admin (or a manager of all "
            "of them) can edit it."
        )


def must_acknowledge(actor: Actor, audience: Collection[int]) -> bool:
    return actor.role is Role.AGENT and actor.team_id is not None and actor.team_id in audience
