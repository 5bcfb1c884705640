"""schedule_segment ids are never reused on SQLite (AUTOINCREMENT)

The adherence scan's segment cache notices a re-published schedule by the count and the highest id of the
segments in its window. SQLite hands a deleted highest rowid to the next insert, so a re-publish replacing the
day's last segments kept both numbers and went unseen: alerts stayed open on the old schedule. PostgreSQL
sequences never reuse ids; there this migration does nothing.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-06 05:40:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0009"
down_revision: str | None = "0008"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("schedule_segment", recreate="always", table_kwargs={"sqlite_autoincrement": True}):
        pass


def downgrade() -> None:
    if op.get_bind().dialect.name != "sqlite":
        return
    with op.batch_alter_table("schedule_segment", recreate="always", table_kwargs={"sqlite_autoincrement": False}):
        pass
