"""Coaching tables (``table=True`` classes of this feature; shared column helpers come from bot.store.tables)."""

from __future__ import annotations
