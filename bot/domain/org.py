"""Org as configuration: the org.yml model and the plan that turns the current state into it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from typing import Annotated, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from bot.domain.access import Role
from bot.domain.adherence_policy import parse_policy
from bot.domain.coaching import parse_coaching_settings
from bot.domain.huddle_settings import parse_huddle_settings
from bot.domain.metrics import Aggregation, Unit

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def _known_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None
    return name


TimeZoneName = Annotated[str, AfterValidator(_known_zone)]
# Words /kpi reads as a period or an option can't also be team keys ("/kpi team today" must mean the period).
RESERVED_TEAM_KEYS = frozenset({"today", "yesterday", "wtd", "mtd", "7d", "30d", "post", "team", "me", "help"})


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TargetSpec(_Strict):
    green: float
    amber: float


class MetricSpec(_Strict):
    key: str = Field(pattern=r"^[a-z][a-z0-9_]{0,63}$")
    label: str = Field(min_length=1, max_length=100)
    unit: Unit
    higher_is_better: bool = True
    aggregation: Aggregation
    scale: float = Field(default=1.0, gt=0)
    position: int = 100


class TeamSpec(_Strict):
    key: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,63}$")
    name: str = Field(min_length=1, max_length=200)
    channel: str | None = Field(default=None, pattern=r"^[CG][A-Z0-9]{4,}$")
    timezone: TimeZoneName | None = None
    working_days: tuple[str, ...] = ("mon", "tue", "wed", "thu", "fri")
    holidays: tuple[date, ...] = ()
    snapshot_times: tuple[str, ...] = ()
    huddle_time: str | None = None
    privacy_mode: str = Field(default="names", pattern=r"^(names|counts)$")
    leads: tuple[str, ...] = ()
    targets: dict[str, TargetSpec] = Field(default_factory=dict)
    adherence: dict[str, Any] = Field(default_factory=dict)  # rules, escalate_after_minutes, alert_cap
    huddle: dict[str, Any] = Field(default_factory=dict)  # close, reminder, second shift, anonymous mood
    coaching: dict[str, Any] = Field(default_factory=dict)  # cadence

    @field_validator("adherence")
    @classmethod
    def _adherence(cls, v: dict[str, Any]) -> dict[str, Any]:
        parse_policy(v)  # raises ValueError naming the bad key
        return v

    @field_validator("huddle")
    @classmethod
    def _huddle(cls, v: dict[str, Any], info: ValidationInfo) -> dict[str, Any]:
        parse_huddle_settings(v, info.data.get("huddle_time"))  # raises ValueError naming the bad key
        return v

    @field_validator("coaching")
    @classmethod
    def _coaching(cls, v: dict[str, Any]) -> dict[str, Any]:
        parse_coaching_settings(v)  # raises ValueError naming the bad key
        return v

    @field_validator("key")
    @classmethod
    def _not_reserved(cls, v: str) -> str:
        if v in RESERVED_TEAM_KEYS:
            raise ValueError(f"{v!r} is a /kpi keyword; pick another team key")
        return v

    @field_validator("working_days")
    @classmethod
    def _days(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        bad = [d for d in v if d.lower() not in DAY_NAMES]
        if bad:
            raise ValueError(f"unknown day name(s) {bad}; use {', '.join(DAY_NAMES)}")
        return tuple(d for d in DAY_NAMES if d in {x.lower() for x in v})

    @field_validator("snapshot_times", "huddle_time")
    @classmethod
    def _times(cls, v: Any) -> Any:
        for t in (v,) if isinstance(v, str) else v or ():
            if not _HHMM.match(t):
                raise ValueError(f"{t!r} is not a 24-hour HH:MM time")
        return v

    @field_validator("leads")
    @classmethod
    def _lower(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        return tuple(e.lower() for e in v)


class PersonSpec(_Strict):
    email: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    name: str = Field(min_length=1, max_length=200)
    slack_user_id: str | None = Field(default=None, pattern=r"^[UW][A-Z0-9]+$")
    role: Role = Role.LEAD
    team: str | None = None  # home team, if any
    teams: tuple[str, ...] = ()  # teams this person oversees

    @field_validator("email")
    @classmethod
    def _lower(cls, v: str) -> str:
        return v.lower()


class OrgSpec(_Strict):
    timezone: TimeZoneName = "Africa/Johannesburg"
    metrics: tuple[MetricSpec, ...] = ()
    teams: tuple[TeamSpec, ...] = ()
    people: tuple[PersonSpec, ...] = ()

    @model_validator(mode="after")
    def _references(self) -> OrgSpec:
        keys = [t.key for t in self.teams]
        dupes = {k for k in keys if keys.count(k) > 1}
        if dupes:
            raise ValueError(f"team key(s) defined twice: {sorted(dupes)}")
        emails = [p.email for p in self.people]
        if len(set(emails)) != len(emails):
            raise ValueError("a person is listed twice under people")
        for p in self.people:
            for k in (*p.teams, *([p.team] if p.team else [])):
                if k not in keys:
                    raise ValueError(f"person {p.email} refers to unknown team {k!r}")
        for t in self.teams:
            for e in t.leads:
                if e not in emails:
                    raise ValueError(f"team {t.key}: lead {e} must also be listed under people")
        return self

    def team_tz(self, team: TeamSpec) -> str:
        return team.timezone or self.timezone

    def oversight(self) -> set[tuple[str, str]]:
        """(team key, email) pairs: team leads plus each person's ``teams``."""
        pairs = {(t.key, e) for t in self.teams for e in t.leads}
        pairs |= {(k, p.email) for p in self.people for k in p.teams}
        return pairs


@dataclass(frozen=True, slots=True)
class Change:
    action: str  # "create" | "update" | "remove"
    kind: str  # "team" | "person" | "target" | "metric" | "lead"
    key: str
    detail: str = ""

    def __str__(self) -> str:
        sign = {"create": "+", "update": "~", "remove": "-"}[self.action]
        return f"{sign} {self.kind} {self.key}" + (f": {self.detail}" if self.detail else "")


def diff_fields(current: dict[str, Any], desired: dict[str, Any]) -> str:
    """'field: old → new' for every field that differs, or '' when identical."""
    parts = [f"{k}: {current.get(k)!r} → {v!r}" for k, v in desired.items() if current.get(k) != v]
    return ", ".join(parts)


def plan(
    spec: OrgSpec,
    *,
    teams: dict[str, dict[str, Any]],
    people: dict[str, dict[str, Any]],
    targets: dict[tuple[str, str], tuple[float, float]],
    oversight: set[tuple[str, str]],
    metrics: dict[str, dict[str, Any]],
) -> list[Change]:
    """Changes that make the current state (plain dicts keyed by team key / email / metric key) match ``spec``."""
    changes: list[Change] = []
    for m in spec.metrics:
        want = m.model_dump(exclude={"key"})
        if m.key not in metrics:
            changes.append(Change("create", "metric", m.key))
        elif d := diff_fields(metrics[m.key], want):
            changes.append(Change("update", "metric", m.key, d))
    for t in spec.teams:
        want = team_fields(spec, t)
        if t.key not in teams:
            changes.append(Change("create", "team", t.key, t.name))
        elif d := diff_fields(teams[t.key], want):
            changes.append(Change("update", "team", t.key, d))
        for metric_key, tg in sorted(t.targets.items()):
            cur = targets.get((t.key, metric_key))
            if cur is None:
                changes.append(
                    Change("create", "target", f"{t.key}/{metric_key}", f"green {tg.green}, amber {tg.amber}")
                )
            elif cur != (tg.green, tg.amber):
                changes.append(
                    Change(
                        "update",
                        "target",
                        f"{t.key}/{metric_key}",
                        f"{cur[0]}/{cur[1]} → {tg.green}/{tg.amber}",
                    )
                )
    for p in spec.people:
        want = person_fields(p)
        if p.email not in people:
            changes.append(Change("create", "person", p.email, f"{p.name} ({p.role})"))
        elif d := diff_fields(people[p.email], want):
            changes.append(Change("update", "person", p.email, d))
    desired = spec.oversight()
    managed_teams = {t.key for t in spec.teams}
    for team_key, email in sorted(desired - oversight):
        changes.append(Change("create", "lead", f"{team_key}/{email}"))
    for team_key, email in sorted(oversight - desired):
        if team_key in managed_teams:
            changes.append(Change("remove", "lead", f"{team_key}/{email}"))
    return changes


TEAM_FIELDS = (
    "name",
    "channel_id",
    "timezone",
    "working_days",
    "holidays",
    "snapshot_times",
    "huddle_time",
    "privacy_mode",
    "adherence",
    "huddle",
    "coaching",
)


def team_fields(spec: OrgSpec, t: TeamSpec) -> dict[str, Any]:
    return {
        "name": t.name,
        "channel_id": t.channel,
        "timezone": spec.team_tz(t),
        "working_days": ",".join(t.working_days),
        "holidays": [d.isoformat() for d in t.holidays],
        "snapshot_times": list(t.snapshot_times),
        "huddle_time": t.huddle_time,
        "privacy_mode": t.privacy_mode,
        "adherence": t.adherence,
        "huddle": t.huddle,
        "coaching": t.coaching,
    }


def person_fields(p: PersonSpec) -> dict[str, Any]:
    return {"name": p.name, "slack_user_id": p.slack_user_id, "role": p.role.value, "team_key": p.team}
