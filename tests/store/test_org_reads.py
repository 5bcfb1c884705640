"""The whole-org reads /kpi caches agree with the single-row reads they replace."""

from __future__ import annotations

from bot.deps import Deps
from bot.store import org as org_store
from bot.store.tables import Member
from tests.support.org import ADMIN, AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD, BRAVO_AGENT, BRAVO_LEAD, MANAGER, STRANGER


async def test_all_actors_match_load_actor_for_everyone(deps: Deps, org: None) -> None:
    async with deps.sessions() as session:
        everyone = await org_store.all_actors(session)
        for user in (ADMIN, AGENT_1, AGENT_2, AGENT_3, ALPHA_LEAD, BRAVO_AGENT, BRAVO_LEAD, MANAGER):
            assert everyone[user] == await org_store.load_actor(session, slack_user_id=user)
        assert len(everyone[MANAGER].oversees) == 2
        assert STRANGER not in everyone


async def test_inactive_members_are_nobody(deps: Deps, org: None) -> None:
    async with deps.sessions() as session:
        member = await org_store.member_by(session, slack_user_id=AGENT_1)
        assert member is not None
        row = await session.get(Member, member.id)
        assert row is not None
        row.active = False
        await session.commit()
        assert AGENT_1 not in await org_store.all_actors(session)
        assert await org_store.load_actor(session, slack_user_id=AGENT_1) is None
