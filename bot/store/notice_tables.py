"""Notice tables (``table=True`` classes of this feature; shared column helpers come from bot.store.tables).

A notice has numbered versions. A *material* version asks the audience to acknowledge it; a non-material one
(a typo fix) carries the acknowledgements of the material version before it, whose number it keeps in
``ack_number``. Acknowledgements, reminders and channel posts therefore point at material versions (the
"acknowledgement baseline"), while ``NoticeAck.seen_number`` keeps the exact version the agent was shown.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Column, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from bot.store.tables import _ts, utcnow


class Notice(SQLModel, table=True):
    __tablename__ = "notice"

    id: int | None = Field(default=None, primary_key=True)
    current_number: int = 1  # the version shown now
    created_by: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _ts(nullable=False, default=utcnow)
    updated_at: datetime = _ts(nullable=False, default=utcnow, index=True)


class NoticeAudience(SQLModel, table=True):
    """A team whose active agents must acknowledge the notice."""

    __tablename__ = "notice_audience"

    notice_id: int = Field(foreign_key="notice.id", primary_key=True)
    team_id: int = Field(foreign_key="team.id", primary_key=True, index=True)


class NoticeVersion(SQLModel, table=True):
    __tablename__ = "notice_version"
    __table_args__ = (UniqueConstraint("notice_id", "number", name="uq_notice_version_number"),)

    id: int | None = Field(default=None, primary_key=True)
    notice_id: int = Field(foreign_key="notice.id", index=True)
    number: int
    title: str = Field(max_length=150)
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, max_length=500)
    effective_on: date
    deadline: datetime | None = _ts(nullable=True)
    content_hash: str = Field(max_length=64)  # SHA-256 of title, body, link and effective date
    material: bool = True
    ack_number: int  # the material version whose acknowledgements count for this one (itself when material)
    author_id: int | None = Field(default=None, foreign_key="member.id")
    created_at: datetime = _ts(nullable=False, default=utcnow)


class NoticePost(SQLModel, table=True):
    """The notice's message in one audience team's channel, for one material version; updated in place."""

    __tablename__ = "notice_post"
    __table_args__ = (UniqueConstraint("version_id", "team_id", name="uq_notice_post_version_team"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="notice_version.id", index=True)
    team_id: int = Field(foreign_key="team.id")
    channel: str = Field(max_length=32)
    message_key: str = Field(max_length=200)  # the outbox key of the posted message
    update_seq: int = 0  # the latest update queued for it is "<message_key>:u<update_seq>"
    created_at: datetime = _ts(nullable=False, default=utcnow)


class NoticeAck(SQLModel, table=True):
    """One member's acknowledgement of a material version: at most one, however often they click."""

    __tablename__ = "notice_ack"
    __table_args__ = (UniqueConstraint("version_id", "member_id", name="uq_notice_ack_version_member"),)

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="notice_version.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    team_id: int = Field(foreign_key="team.id")  # the member's team when they acknowledged (the export's "team")
    seen_number: int  # the version number on screen when they acknowledged (a later typo fix shares the ack)
    acked_at: datetime = _ts(nullable=False)


class NoticeReminder(SQLModel, table=True):
    """A reminder of one kind sent to one member for one material version: sent once, across replicas."""

    __tablename__ = "notice_reminder"
    __table_args__ = (
        UniqueConstraint("version_id", "member_id", "kind", name="uq_notice_reminder_version_member_kind"),
    )

    id: int | None = Field(default=None, primary_key=True)
    version_id: int = Field(foreign_key="notice_version.id", index=True)
    member_id: int = Field(foreign_key="member.id", index=True)
    team_id: int = Field(foreign_key="team.id")  # the member's team when reminded
    kind: str = Field(max_length=32)  # before-24h@<deadline>, before-2h@<deadline>, shift, manual:<minute>, reack
    sent_at: datetime = _ts(nullable=False)
