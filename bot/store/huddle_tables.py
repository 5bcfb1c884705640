"""Huddle tables (``table=True`` classes of this feature; shared column helpers come from bot.store.tables)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.tables import _ts, utcnow


class HuddleDay(SQLModel, table=True):
    """What a lead decided about a team's day before or during its huddles: the focus, or no huddle at all."""

    __tablename__ = "huddle_day"

    team_id: int = Field(foreign_key="team.id", primary_key=True)
    day: date = Field(primary_key=True)  # the team's local date
    focus: str | None = Field(default=None, max_length=300)
    focus_by: int | None = Field(default=None, foreign_key="member.id")
    skipped: bool = False
    skipped_by: int | None = Field(default=None, foreign_key="member.id")
    updated_at: datetime = _ts(nullable=False, default=utcnow, onupdate=utcnow)


class Huddle(SQLModel, table=True):
    """One posted huddle prompt and its check-in window. ``seq`` 1 is the main huddle, 2 the second shift's,
    3+ ad-hoc ones: (team, day, seq) is unique, so a slot is prompted once whatever runs it."""

    __tablename__ = "huddle"
    __table_args__ = (
        UniqueConstraint("team_id", "day", "seq", name="uq_huddle_team_day_seq"),
        Index("ix_huddle_status_closes", "status", "closes_at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    team_id: int = Field(foreign_key="team.id")
    day: date  # the team's local date
    seq: int
    status: str = Field(default="open", max_length=16)  # open | closed | cancelled (skipped after posting)
    message_key: str = Field(max_length=200)  # the outbox key of the prompt (its ts is found through it)
    prompt: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # what it shows
    shown: str | None = Field(default=None, max_length=64)  # signature of the prompt as last queued
    prompt_updates: int = 0  # updates of the prompt queued so far: the latest is the outbox key message_key:u:<n>
    posted_at: datetime = _ts(nullable=False)
    late_at: datetime = _ts(nullable=False)  # a check-in after this is marked late
    closes_at: datetime = _ts(nullable=False)
    remind_at: datetime | None = _ts(nullable=True)
    reminded_at: datetime | None = _ts(nullable=True)
    closed_at: datetime | None = _ts(nullable=True)
    tally: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))  # at close
    started_by: int | None = Field(default=None, foreign_key="member.id")  # ad-hoc: who ran /huddle now


class CheckIn(SQLModel, table=True):
    """An agent's check-in to one huddle: the modal's answers, or a reply in the prompt's thread. One per agent
    per huddle; the modal may edit it until the huddle closes."""

    __tablename__ = "huddle_checkin"
    __table_args__ = (UniqueConstraint("huddle_id", "member_id", name="uq_huddle_checkin"),)

    id: int | None = Field(default=None, primary_key=True)
    huddle_id: int = Field(foreign_key="huddle.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    mood: int | None = None  # 1..5; None for a thread reply
    blockers: str | None = Field(default=None, max_length=500)
    note: str | None = Field(default=None, max_length=500)
    via: str = Field(max_length=8)  # modal | thread
    late: bool = False
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow)
