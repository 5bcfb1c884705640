"""The org as /kpi reads it on every request — teams, metric catalogue, targets, team sizes and who is who —
held for a few seconds, so a busy floor's requests cost one query for the figures and none for the org.
Everyone's roles come in one query per TTL rather than one per caller.

Teams, metrics and targets change only with ``rhythm org apply`` and team sizes and roles with a roster import,
both rare and done from the CLI (another process): a change shows within the cache's TTL (``Deps.org_facts``).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from bot.deps import Deps
from bot.domain.access import Actor
from bot.domain.metrics import MetricDef, Target
from bot.domain.models import TeamInfo
from bot.store import org


@dataclass(frozen=True, slots=True)
class OrgSnapshot:
    teams: dict[int, TeamInfo]
    metrics: tuple[MetricDef, ...]
    targets: dict[int, dict[str, Target]]
    sizes: dict[int, int]
    actors: dict[str, Actor]  # by Slack user id

    def team_by_key(self, key: str) -> TeamInfo | None:
        return next((t for t in self.teams.values() if t.key == key), None)

    def teams_of(self, ids: set[int]) -> list[TeamInfo]:
        return sorted((self.teams[i] for i in ids if i in self.teams), key=lambda t: t.key)


async def org_snapshot(deps: Deps, session: AsyncSession) -> OrgSnapshot:
    async def load() -> OrgSnapshot:
        teams = {t.id: t for t in await org.all_teams(session)}
        metrics = tuple(await org.load_metrics(session))
        targets, sizes = await org.all_targets(session), await org.team_sizes(session)
        return OrgSnapshot(teams, metrics, targets, sizes, await org.all_actors(session))

    snapshot: OrgSnapshot = await deps.org_facts.get_or_compute("org", load)
    return snapshot


async def actor_for(deps: Deps, session: AsyncSession, slack_user_id: str) -> Actor | None:
    """Who is asking: from the snapshot (one query for everyone per TTL), else read now (someone just added)."""
    known = (await org_snapshot(deps, session)).actors.get(slack_user_id)
    return known or await org.load_actor(session, slack_user_id=slack_user_id)
