"""SQLModel tables (``table=True`` classes live only here). Timestamps are timezone-aware UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any, Protocol

from sqlalchemy import JSON, Column, DateTime, Dialect, Index, UniqueConstraint
from sqlalchemy.types import TypeDecorator
from sqlmodel import Field, SQLModel


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware datetimes in, aware UTC datetimes out, on SQLite (which has no time zones) as on PostgreSQL."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


ONLY_ON = "only_on"  # Index.info key: the dialect an index exists on (bot/store/migrate.py include_object)
KPI_DAY_READ = ("metric_id", "team_level", "numerator", "denominator", "samples", "ratio_sum", "last_end")


class _HasId(Protocol):
    id: int | None


def pk(row: _HasId) -> int:
    """A row's primary key, which exists once the row has been flushed."""
    if row.id is None:
        raise ValueError(f"{type(row).__name__} has no id yet (flush the session first)")
    return row.id


def _ts(**kw: Any) -> Any:
    return Field(sa_column=Column(UTCDateTime(), **kw))


class Team(SQLModel, table=True):
    __tablename__ = "team"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    name: str = Field(max_length=200)
    channel_id: str | None = Field(default=None, max_length=32)
    timezone: str = Field(max_length=64)
    working_days: str = Field(default="mon,tue,wed,thu,fri", max_length=64)
    holidays: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    snapshot_times: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    huddle_time: str | None = Field(default=None, max_length=5)
    privacy_mode: str = Field(default="names", max_length=16)
    # Adherence rule overrides and escalation, as written in org.yml (validated by bot.domain.adherence).
    adherence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    # Huddle settings (close, reminder, second shift, anonymous mood) and coaching settings (cadence), as written
    # in org.yml and validated there.
    huddle: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    coaching: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow, onupdate=utcnow)


class Member(SQLModel, table=True):
    __tablename__ = "member"

    id: int | None = Field(default=None, primary_key=True)
    email: str = Field(max_length=254, unique=True, index=True)
    name: str = Field(max_length=200)
    slack_user_id: str | None = Field(default=None, max_length=32, unique=True, index=True)
    external_id: str | None = Field(default=None, max_length=128, unique=True, index=True)
    team_id: int | None = Field(default=None, foreign_key="team.id", index=True)
    role: str = Field(default="agent", max_length=16)
    active: bool = Field(default=True)
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow, onupdate=utcnow)


class TeamOversight(SQLModel, table=True):
    """A lead or manager responsible for a team (a manager oversees several)."""

    __tablename__ = "team_oversight"

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    member_id: int = Field(foreign_key="member.id", primary_key=True, index=True)


class Metric(SQLModel, table=True):
    __tablename__ = "metric"

    id: int | None = Field(default=None, primary_key=True)
    key: str = Field(max_length=64, unique=True, index=True)
    label: str = Field(max_length=100)
    unit: str = Field(max_length=16)
    higher_is_better: bool = True
    aggregation: str = Field(max_length=16)
    scale: float = 1.0
    position: int = 100


class Target(SQLModel, table=True):
    __tablename__ = "target"
    __table_args__ = (UniqueConstraint("team_id", "metric_id", name="uq_target_team_metric"),)

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id", index=True)
    metric_id: int = Field(foreign_key="metric.id")
    green: float
    amber: float


class KpiSample(SQLModel, table=True):
    """One measured figure for an agent or a whole team over a period.

    ``subject`` ("m:<member id>" or "t:<team id>") is the non-null half of the upsert key, since NULLs never
    collide in a unique constraint. ``day`` is the team's local date of ``period_start``; ``team_id`` is the
    subject's team at ingest time, so a team scorecard is one indexed range scan.
    """

    __tablename__ = "kpi_sample"
    __table_args__ = (
        UniqueConstraint("metric_id", "subject", "period_start", "period_end", "source", name="uq_kpi_sample"),
        Index("ix_kpi_sample_team_day", "team_id", "day", "metric_id"),
        Index("ix_kpi_sample_member_day", "member_id", "day"),
    )

    id: int | None = Field(default=None, primary_key=True)
    metric_id: int = Field(foreign_key="metric.id")
    subject: str = Field(max_length=32)
    member_id: int | None = Field(default=None, foreign_key="member.id")
    team_id: int = Field(foreign_key="team.id")
    day: date
    period_start: datetime = _ts(nullable=False)
    period_end: datetime = _ts(nullable=False)
    numerator: float
    denominator: float
    source: str = Field(default="import", max_length=64)
    ingested_at: datetime = _ts(nullable=False, default=utcnow)


class AuditEvent(SQLModel, table=True):
    """Who did what to which subject, when. Append-only; details carry no personal data beyond ids."""

    __tablename__ = "audit_event"

    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(nullable=False, default=utcnow, index=True)
    actor: str = Field(max_length=128)  # "slack:U123", "cli", "api:<key name>"
    action: str = Field(max_length=64, index=True)
    subject: str = Field(max_length=128)
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class Outbox(SQLModel, table=True):
    """Every proactive Slack message is a row first, then sent by the delivery worker.

    ``idempotency_key`` makes enqueueing the same message twice (a retried job, a second replica) a no-op.
    ``channel`` is a channel id, or a user id for a DM (opened at send time). An update carries
    ``update_of``: the key of the message whose ``slack_ts`` it edits.
    """

    __tablename__ = "outbox"
    __table_args__ = (
        Index("ix_outbox_due", "status", "next_attempt_at"),
        Index("ix_outbox_channel_status", "channel", "status", "id"),  # the claim's per-channel order checks
    )

    id: int | None = Field(default=None, primary_key=True)
    idempotency_key: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=16)  # post | update | reply | dm | upload
    channel: str = Field(max_length=32, index=True)
    payload: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    update_of: str | None = Field(default=None, max_length=200)
    status: str = Field(default="pending", max_length=16)  # pending | sending (leased) | sent | failed | cancelled
    attempts: int = 0
    next_attempt_at: datetime = _ts(nullable=False, default=utcnow)
    created_at: datetime = _ts(nullable=False, default=utcnow)
    sent_at: datetime | None = _ts(nullable=True)
    slack_ts: str | None = Field(default=None, max_length=32)
    slack_channel: str | None = Field(default=None, max_length=32)  # where it landed (a DM's D… id)
    last_error: str | None = Field(default=None, max_length=200)


class JobRun(SQLModel, table=True):
    """A scheduled slot claimed once: (job, subject, local slot) is unique across restarts and replicas."""

    __tablename__ = "job_run"
    __table_args__ = (UniqueConstraint("job_key", "subject", "slot", name="uq_job_run_slot"),)

    id: int | None = Field(default=None, primary_key=True)
    job_key: str = Field(max_length=64)
    subject: str = Field(max_length=64)  # "team:3", "site"
    slot: str = Field(max_length=32)  # local date and time, "2026-11-20T10:00"
    scheduled_for: datetime = _ts(nullable=False)
    claimed_at: datetime = _ts(nullable=False, default=utcnow)
    status: str = Field(default="claimed", max_length=16)  # claimed | done | missed | failed
    detail: str | None = Field(default=None, max_length=200)


class ApiKey(SQLModel, table=True):
    """A bearer key for the ingest API; only its SHA-256 is stored, the key is shown once at creation."""

    __tablename__ = "api_key"

    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(max_length=64, unique=True)
    key_hash: str = Field(max_length=64, unique=True)
    created_at: datetime = _ts(nullable=False, default=utcnow)
    revoked_at: datetime | None = _ts(nullable=True)
    last_used_at: datetime | None = _ts(nullable=True)


class ScheduleSegment(SQLModel, table=True):
    """A piece of an agent's published schedule (WFM): what they should be doing between start and end."""

    __tablename__ = "schedule_segment"
    # AUTOINCREMENT: SQLite must not reuse a deleted id, or the scan's segment cache misses a re-publish (0009).
    __table_args__ = (Index("ix_schedule_segment_member_start", "member_id", "start"), {"sqlite_autoincrement": True})

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    start: datetime = _ts(nullable=False)
    end: datetime = _ts(nullable=False)
    activity: str = Field(max_length=32)  # open | break | lunch | meeting | training | coaching | offline | …
    source: str = Field(default="import", max_length=64)


class AgentStateEvent(SQLModel, table=True):
    """An agent's presence changing (from the WFM or helpdesk feed). Duplicates collapse on the unique key."""

    __tablename__ = "agent_state_event"
    __table_args__ = (
        UniqueConstraint("member_id", "at", "state", name="uq_agent_state_event"),
        Index("ix_agent_state_event_member_at", "member_id", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    at: datetime = _ts(nullable=False)
    state: str = Field(max_length=32)  # available | busy | after_work | break | lunch | meeting | offline | …
    source: str = Field(default="api", max_length=64)
    received_at: datetime = _ts(nullable=False, default=utcnow)


class Breach(SQLModel, table=True):
    """An out-of-adherence stretch that passed its threshold; one Slack message, updated in place.

    Unique on (member, kind, started_at): every per-minute scan upserts the same row for the same stretch.
    """

    __tablename__ = "breach"
    __table_args__ = (
        UniqueConstraint("member_id", "kind", "started_at", name="uq_breach_stretch"),
        Index("ix_breach_team_status", "team_id", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    team_id: int = Field(foreign_key="team.id")
    kind: str = Field(max_length=32)  # late_login | early_logout | out_of_adherence | long_break | unscheduled_offline
    started_at: datetime = _ts(nullable=False)
    ended_at: datetime | None = _ts(nullable=True)
    scheduled_activity: str | None = Field(default=None, max_length=32)
    actual_state: str | None = Field(default=None, max_length=32)
    status: str = Field(default="open", max_length=16)  # open | resolved | acknowledged | excused
    reason_code: str | None = Field(default=None, max_length=32)
    note: str | None = Field(default=None, max_length=500)
    acted_by: int | None = Field(default=None, foreign_key="member.id")
    acted_at: datetime | None = _ts(nullable=True)
    message_key: str | None = Field(default=None, max_length=200)  # the outbox key of its Slack message
    shown: str | None = Field(default=None, max_length=64)  # what that message shows now (minutes, status…)
    escalated_at: datetime | None = _ts(nullable=True)
    updated_at: datetime = _ts(nullable=False, default=utcnow, onupdate=utcnow)


class KpiDay(SQLModel, table=True):
    """Per team, metric and local day: the sums a team scorecard needs, kept beside ``kpi_sample``.

    Rebuilt for the (team, day)s an import touches, in the import's transaction, so a 30-day team scorecard reads
    a few hundred rows instead of every agent's samples. Agent- and team-level samples are kept apart
    (``team_level``) because a scorecard uses team-level figures only where no agent figure exists.

    Stored for that read, a team's range of days (migration 0010): imports arrive a day at a time, so a team's
    rows would otherwise sit on a page per day. On SQLite the table is its primary key's B-tree (WITHOUT ROWID);
    on PostgreSQL a covering index serves the read from the index alone.
    """

    __tablename__ = "kpi_day"
    __table_args__ = (
        Index(
            "ix_kpi_day_team_days",
            "team_id",
            "day",
            postgresql_include=list(KPI_DAY_READ),
            info={ONLY_ON: "postgresql"},
        ).ddl_if(dialect="postgresql"),
        {"sqlite_with_rowid": False},
    )

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    day: date = Field(primary_key=True)
    metric_id: int = Field(foreign_key="metric.id", primary_key=True)
    team_level: bool = Field(primary_key=True)
    numerator: float
    denominator: float
    samples: int
    ratio_sum: float
    last_end: datetime = _ts(nullable=False)


class Leave(SQLModel, table=True):
    """An agent away from ``first_day`` to ``last_day`` (inclusive, the team's local dates): neither prompted,
    reminded nor counted absent by huddles and notices."""

    __tablename__ = "leave"
    __table_args__ = (Index("ix_leave_member_days", "member_id", "first_day", "last_day"),)

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")
    first_day: date
    last_day: date
    reason: str | None = Field(default=None, max_length=200)
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _ts(nullable=False, default=utcnow)
