"""Persistence: SQLModel tables, async engine and sessions, repositories returning domain objects."""
