"""Plain domain records the store hands to services (never ORM rows)."""

from __future__ import annotations

from dataclasses import dataclass
from zoneinfo import ZoneInfo

from bot.domain.access import Role


@dataclass(frozen=True, slots=True)
class TeamInfo:
    id: int
    key: str
    name: str
    channel_id: str | None
    timezone: str

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


@dataclass(frozen=True, slots=True)
class MemberInfo:
    id: int
    name: str
    email: str
    role: Role
    team_id: int | None
    slack_user_id: str | None


@dataclass(frozen=True, slots=True)
class TeamSchedule:
    """A team with what its scheduled posts need: calendar and local posting times ("HH:MM")."""

    team: TeamInfo
    working_days: str  # "mon,tue,wed,thu,fri"
    holidays: tuple[str, ...]  # ISO dates
    snapshot_times: tuple[str, ...]
    huddle_time: str | None
