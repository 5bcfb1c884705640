"""Coaching tables (``table=True`` classes of this feature; shared column helpers come from bot.store.tables).

Personal and sensitive: every read and write goes with an audit event (bot.store.audit), private notes are
ciphertext (``SealedText``), and the rows are exported, erased and purged by bot.store.privacy.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint, text
from sqlmodel import Field, SQLModel

from bot.crypto import Sealed
from bot.store.crypto import SealedText
from bot.store.tables import _ts, utcnow

_ACTIVE_PLAN = text("status IN ('open', 'extended')")


class CoachingSession(SQLModel, table=True):
    """One 1:1, coaching conversation, PIP review, recognition or return-to-work talk with an agent."""

    __tablename__ = "coaching_session"
    __table_args__ = (
        Index("ix_coaching_session_member_held", "member_id", "held_on"),
        Index("ix_coaching_session_team_follow_up", "team_id", "follow_up_on"),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id")  # the agent
    team_id: int = Field(foreign_key="team.id")  # the agent's team when it was held
    lead_id: int = Field(foreign_key="member.id")  # who held and logged it
    plan_id: int | None = Field(default=None, foreign_key="improvement_plan.id")  # a PIP review's plan
    kind: str = Field(max_length=24)  # one_on_one | coaching | pip_review | recognition | return_to_work
    held_on: date
    shared_summary: str = Field(sa_column=Column(Text, nullable=False))  # the agent sees this
    private_notes: Sealed | None = Field(default=None, sa_column=Column(SealedText(), nullable=True))
    strengths: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    improve: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    follow_up_on: date | None = None
    followed_up_at: datetime | None = _ts(nullable=True)  # the follow-up DM to the lead was queued
    evidence: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    acknowledged_at: datetime | None = _ts(nullable=True)  # the agent's confirmation, recorded once
    created_at: datetime = _ts(nullable=False, default=utcnow)


class CoachingActionItem(SQLModel, table=True):
    __tablename__ = "coaching_action_item"
    __table_args__ = (Index("ix_coaching_action_item_member_open", "member_id", "done_at"),)

    id: int | None = Field(default=None, primary_key=True)
    session_id: int = Field(foreign_key="coaching_session.id", index=True)
    member_id: int = Field(foreign_key="member.id")  # the agent the session was with
    text: str = Field(max_length=300)
    owner: str = Field(max_length=8)  # agent | lead
    owner_id: int | None = Field(default=None, foreign_key="member.id")
    due_on: date | None = None
    done_at: datetime | None = _ts(nullable=True)
    done_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _ts(nullable=False, default=utcnow)


class ImprovementPlan(SQLModel, table=True):
    """A performance improvement plan; its current terms here, every version in ``improvement_plan_version``.

    At most one active (open or extended) plan per agent: a partial unique index, so two leads opening one at
    the same moment cannot both succeed.
    """

    __tablename__ = "improvement_plan"
    __table_args__ = (
        Index(
            "uq_improvement_plan_active",
            "member_id",
            unique=True,
            sqlite_where=_ACTIVE_PLAN,
            postgresql_where=_ACTIVE_PLAN,
        ),
    )

    id: int | None = Field(default=None, primary_key=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    team_id: int = Field(foreign_key="team.id")
    opened_by: int = Field(foreign_key="member.id")
    status: str = Field(default="open", max_length=16)  # open | extended | passed | closed
    version: int = 1
    goals: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reviews: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))  # ISO dates
    started_on: date
    end_on: date
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow, onupdate=utcnow)
    finished_at: datetime | None = _ts(nullable=True)


class ImprovementPlanVersion(SQLModel, table=True):
    """Each state of a plan the agent was asked to acknowledge: opening it and every change since."""

    __tablename__ = "improvement_plan_version"
    __table_args__ = (UniqueConstraint("plan_id", "version", name="uq_improvement_plan_version"),)

    id: int | None = Field(default=None, primary_key=True)
    plan_id: int = Field(foreign_key="improvement_plan.id")
    version: int
    change: str = Field(max_length=16)  # open | edit | extend | pass | close
    status: str = Field(max_length=16)
    goals: list[dict[str, str]] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    reviews: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    end_on: date
    changed_by: int = Field(foreign_key="member.id")
    changed_at: datetime = _ts(nullable=False, default=utcnow)
    acknowledged_at: datetime | None = _ts(nullable=True)
