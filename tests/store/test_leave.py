"""Leave is by the team's local date, inclusive at both ends."""

from __future__ import annotations

from datetime import date

import pytest

from bot.deps import Deps
from bot.store.leave import add_leave, leave_between, on_leave
from bot.store.org import member_by
from tests.support.org import AGENT_1, AGENT_2, AGENT_3


async def test_leave_covers_its_first_and_last_day_only(deps: Deps, org: None) -> None:
    async with deps.sessions() as session:
        ids = [m.id for m in [await member_by(session, slack_user_id=u) for u in (AGENT_1, AGENT_2, AGENT_3)] if m]
        await add_leave(session, ids[0], date(2026, 11, 18), date(2026, 11, 20), reason="annual")
        await add_leave(session, ids[1], date(2026, 11, 21), date(2026, 11, 21))
        await session.commit()
        assert await on_leave(session, ids, date(2026, 11, 17)) == set()
        assert await on_leave(session, ids, date(2026, 11, 18)) == {ids[0]}
        assert await on_leave(session, ids, date(2026, 11, 20)) == {ids[0]}
        assert await on_leave(session, ids, date(2026, 11, 21)) == {ids[1]}
        assert await on_leave(session, [], date(2026, 11, 21)) == set()
        spans = await leave_between(session, ids, date(2026, 11, 19), date(2026, 11, 30))
        assert [(s.member_id, s.first_day, s.last_day) for s in spans] == [
            (ids[0], date(2026, 11, 18), date(2026, 11, 20)),
            (ids[1], date(2026, 11, 21), date(2026, 11, 21)),
        ]


async def test_leave_that_ends_before_it_starts_is_refused(deps: Deps, org: None) -> None:
    async with deps.sessions() as session:
        with pytest.raises(ValueError, match="ends before it starts"):
            await add_leave(session, 1, date(2026, 11, 20), date(2026, 11, 18))
