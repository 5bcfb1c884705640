"""The scheduled Zendesk pull: once per interval slot across replicas, over the last two days."""

from __future__ import annotations

import dataclasses
from datetime import UTC, date, datetime

from bot.clock import FixedClock
from bot.deps import Deps
from bot.services.pull import day_start_anywhere, run_zendesk_pull
from tests.ingest.test_zendesk import both_pages, linked  # noqa: F401  (fixture)


async def test_one_pull_per_interval_slot(linked: Deps, clock: FixedClock) -> None:  # noqa: F811
    deps = dataclasses.replace(linked, settings=linked.settings.model_copy(update={"zendesk_pull_minutes": 30}))
    clock.set(datetime(2026, 11, 18, 12, 31, tzinfo=UTC))
    fake = both_pages()
    first = await run_zendesk_pull(deps, client=fake.client())
    assert first is not None and first.complete and first.records_upserted > 0
    assert dict(fake.requests[0].url.params)["start_time"] == str(
        int(datetime(2026, 11, 16, 12, 31, tzinfo=UTC).timestamp())
    )
    clock.set(datetime(2026, 11, 18, 12, 59, tzinfo=UTC))  # same 12:30 slot: another replica, or a catch-up run
    assert await run_zendesk_pull(deps, client=both_pages().client()) is None
    clock.set(datetime(2026, 11, 18, 13, 0, tzinfo=UTC))
    assert await run_zendesk_pull(deps, client=both_pages().client()) is not None


def test_a_since_date_starts_where_the_day_starts_first() -> None:
    assert day_start_anywhere(date(2026, 11, 18)) == datetime(2026, 11, 17, 10, 0, tzinfo=UTC)
