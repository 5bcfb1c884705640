"""Seeding KPI samples through the real importer, so tests exercise validation and upsert too."""

from __future__ import annotations

from typing import Any

from bot.deps import Deps
from bot.ingest.kpis import import_kpis


async def add_samples(deps: Deps, *records: dict[str, Any], source: str = "test") -> int:
    async with deps.sessions() as session:
        count, errors = await import_kpis(session, [(i + 2, r) for i, r in enumerate(records)], source=source)
        assert not errors, errors
        await session.commit()
    return count


def sample(metric: str, subject: str, day: str, numerator: float, denominator: float | None = None) -> dict[str, Any]:
    record: dict[str, Any] = {"metric": metric, "subject": subject, "date": day, "numerator": numerator}
    if denominator is not None:
        record["denominator"] = denominator
    return record
