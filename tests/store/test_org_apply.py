"""org.yml applied to the database: creates, is idempotent, reports exactly what changed."""

from __future__ import annotations

import copy

from bot.deps import Deps
from bot.domain.access import Role
from bot.domain.org import OrgSpec
from bot.store.org import apply_org, load_actor, load_targets, team_by_key
from tests.support.org import ALPHA_LEAD, MANAGER, ORG, org_spec


async def _apply(deps: Deps, spec: OrgSpec) -> list[str]:
    async with deps.sessions() as session:
        changes = await apply_org(session, spec)
        await session.commit()
    return [str(c) for c in changes]


async def test_apply_creates_then_is_idempotent(deps: Deps) -> None:
    first = await _apply(deps, org_spec())
    assert "+ team alpha: Team Alpha" in first
    assert "+ target alpha/csat: green 85.0, amber 80.0" in first
    assert "+ lead alpha/lead.alpha@example.com" in first
    assert await _apply(deps, org_spec()) == []


async def test_apply_reports_and_makes_each_change(deps: Deps) -> None:
    await _apply(deps, org_spec())
    changed = copy.deepcopy(ORG)
    changed["teams"][0]["channel"] = "C0NEWCHAN1"
    changed["teams"][0]["targets"]["csat"] = {"green": 88, "amber": 82}
    changed["teams"][1]["leads"] = []
    assert await _apply(deps, OrgSpec.model_validate(changed)) == [
        "~ team alpha: channel_id: 'C0ALPHA01' → 'C0NEWCHAN1'",
        "~ target alpha/csat: 85.0/80.0 → 88.0/82.0",
        "- lead bravo/lead.bravo@example.com",
    ]
    async with deps.sessions() as session:
        alpha = await team_by_key(session, "alpha")
        assert alpha is not None and alpha.channel_id == "C0NEWCHAN1"
        assert (await load_targets(session, alpha.id))["csat"].green == 88


async def test_roles_and_oversight(deps: Deps) -> None:
    await _apply(deps, org_spec())
    async with deps.sessions() as session:
        lead = await load_actor(session, slack_user_id=ALPHA_LEAD)
        manager = await load_actor(session, slack_user_id=MANAGER)
        alpha = await team_by_key(session, "alpha")
        bravo = await team_by_key(session, "bravo")
    assert lead is not None and lead.role is Role.LEAD and alpha is not None and bravo is not None
    assert lead.oversees == {alpha.id} and lead.team_id == alpha.id
    assert manager is not None and manager.role is Role.MANAGER and manager.oversees == {alpha.id, bravo.id}
