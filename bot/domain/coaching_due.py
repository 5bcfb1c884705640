"""What a lead owes their agents: follow-ups that are due, action items past their date, agents not coached
within the team's cadence. Pure; ``today`` is the team's local date."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True, slots=True)
class AgentRecord:
    """An agent and their latest coaching session (any kind), if any."""

    member_id: int
    name: str
    team_id: int
    last_session_id: int | None = None
    last_held_on: date | None = None
    last_follow_up_on: date | None = None
    on_leave: bool = False


@dataclass(frozen=True, slots=True)
class OpenAction:
    item_id: int
    member_id: int
    agent_name: str
    text: str
    owner: str
    due_on: date | None


@dataclass(frozen=True, slots=True)
class Overdue:
    """Something due ``days`` days ago (0: due today)."""

    days: int
    agent: AgentRecord | None = None
    action: OpenAction | None = None


@dataclass(frozen=True, slots=True)
class DueReport:
    follow_ups: tuple[Overdue, ...] = ()
    actions: tuple[Overdue, ...] = ()
    uncoached: tuple[tuple[AgentRecord, int | None], ...] = ()  # (agent, days since their last session or None)
    on_leave: tuple[AgentRecord, ...] = field(default=())

    @property
    def empty(self) -> bool:
        return not (self.follow_ups or self.actions or self.uncoached)


def due_report(
    agents: Iterable[AgentRecord], actions: Iterable[OpenAction], *, today: date, cadence_days: dict[int, int]
) -> DueReport:
    """Follow-ups due (the latest session's follow-up date reached, no session held since), open actions due
    today or earlier, and agents whose last session is older than their team's cadence (or who never had one).
    Agents on leave today are listed apart, never as overdue: nobody holds a 1:1 with someone on leave."""
    follow_ups: list[Overdue] = []
    uncoached: list[tuple[AgentRecord, int | None]] = []
    away: list[AgentRecord] = []
    for agent in agents:
        if agent.on_leave:
            away.append(agent)
            continue
        if agent.last_follow_up_on is not None and agent.last_follow_up_on <= today:
            follow_ups.append(Overdue((today - agent.last_follow_up_on).days, agent=agent))
        since = (today - agent.last_held_on).days if agent.last_held_on else None
        if since is None or since > cadence_days.get(agent.team_id, 14):
            uncoached.append((agent, since))
    late = [Overdue((today - a.due_on).days, action=a) for a in actions if a.due_on is not None and a.due_on <= today]
    follow_ups.sort(key=lambda o: (-o.days, o.agent.name if o.agent else ""))
    late.sort(key=lambda o: (-o.days, o.action.item_id if o.action else 0))
    uncoached.sort(key=lambda pair: (pair[1] is not None, -(pair[1] or 0), pair[0].name))
    return DueReport(tuple(follow_ups), tuple(late), tuple(uncoached), tuple(sorted(away, key=lambda a: a.name)))
