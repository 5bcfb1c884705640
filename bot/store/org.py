"""Org repository: teams, people, oversight, metrics and targets; applying org.yml idempotently."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlmodel import col

from bot.domain.access import Actor, Role
from bot.domain.metrics import DEFAULT_METRICS, Aggregation, MetricDef, Unit
from bot.domain.metrics import Target as TargetBand
from bot.domain.models import MemberInfo, TeamInfo, TeamSchedule
from bot.domain.org import TEAM_FIELDS, Change, OrgSpec, plan, team_fields
from bot.store.tables import Member, Metric, Target, Team, TeamOversight, pk


def team_info(row: Team) -> TeamInfo:
    assert row.id is not None
    return TeamInfo(row.id, row.key, row.name, row.channel_id, row.timezone)


def member_info(row: Member) -> MemberInfo:
    assert row.id is not None
    return MemberInfo(row.id, row.name, row.email, Role(row.role), row.team_id, row.slack_user_id)


def metric_def(row: Metric) -> MetricDef:
    return MetricDef(
        row.key,
        row.label,
        Unit(row.unit),
        row.higher_is_better,
        Aggregation(row.aggregation),
        row.scale,
        row.position,
    )


async def load_actor(session: AsyncSession, *, slack_user_id: str) -> Actor | None:
    """The person behind a Slack user id with the teams they oversee (one query; every request runs it)."""
    query = (
        select(col(Member.id), col(Member.name), col(Member.role), col(Member.team_id), col(TeamOversight.team_id))
        .outerjoin(TeamOversight, col(TeamOversight.member_id) == Member.id)
        .where(col(Member.slack_user_id) == slack_user_id, col(Member.active))
    )
    rows = (await session.execute(query)).all()
    if not rows:
        return None
    member_id, name, role, team_id, _ = rows[0]
    assert member_id is not None  # a primary key
    oversees = frozenset(r[4] for r in rows if r[4] is not None)
    return Actor(member_id, name, Role(role), team_id, oversees)


async def team_by_key(session: AsyncSession, key: str) -> TeamInfo | None:
    row = (await session.execute(select(Team).where(col(Team.key) == key))).scalar_one_or_none()
    return team_info(row) if row else None


async def team_by_id(session: AsyncSession, team_id: int) -> TeamInfo | None:
    row = await session.get(Team, team_id)
    return team_info(row) if row else None


async def team_schedules(session: AsyncSession) -> list[TeamSchedule]:
    rows = (await session.execute(select(Team).order_by(col(Team.key)))).scalars()
    return [
        TeamSchedule(team_info(r), r.working_days, tuple(r.holidays), tuple(r.snapshot_times), r.huddle_time)
        for r in rows
    ]


async def org_version(session: AsyncSession) -> str:
    """Changes whenever a team is added or edited (``rhythm org apply``): the scheduler rebuilds on change."""
    count, latest = (await session.execute(select(func.count(), func.max(col(Team.updated_at))))).one()
    return f"{count}:{latest}"


async def member_by(
    session: AsyncSession, *, slack_user_id: str | None = None, email: str | None = None
) -> MemberInfo | None:
    query = select(Member).where(col(Member.active))
    query = (
        query.where(col(Member.slack_user_id) == slack_user_id)
        if slack_user_id
        else query.where(col(Member.email) == email)
    )
    row = (await session.execute(query)).scalar_one_or_none()
    return member_info(row) if row else None


async def member_by_id(session: AsyncSession, member_id: int) -> MemberInfo | None:
    row = await session.get(Member, member_id)
    return member_info(row) if row else None


async def load_metrics(session: AsyncSession) -> list[MetricDef]:
    rows = (await session.execute(select(Metric))).scalars()
    return [metric_def(r) for r in rows]


async def load_targets(session: AsyncSession, team_id: int) -> dict[str, TargetBand]:
    query = (
        select(col(Metric.key), col(Target.green), col(Target.amber))
        .join(Metric, col(Metric.id) == Target.metric_id)
        .where(col(Target.team_id) == team_id)
    )
    return {key: TargetBand(green, amber) for key, green, amber in (await session.execute(query)).all()}


async def all_actors(session: AsyncSession) -> dict[str, Actor]:
    """Every active member with a Slack id, as ``load_actor`` would give them, by Slack user id (one query)."""
    query = (
        select(
            col(Member.slack_user_id),
            col(Member.id),
            col(Member.name),
            col(Member.role),
            col(Member.team_id),
            col(TeamOversight.team_id),
        )
        .outerjoin(TeamOversight, col(TeamOversight.member_id) == Member.id)
        .where(col(Member.slack_user_id).is_not(None), col(Member.active))
    )
    people: dict[str, tuple[int, str, str, int | None]] = {}
    oversees: dict[str, set[int]] = {}
    for slack_id, member_id, name, role, team_id, overseen in (await session.execute(query)).all():
        if slack_id is None or member_id is None:
            continue
        people[slack_id] = (member_id, name, role, team_id)
        if overseen is not None:
            oversees.setdefault(slack_id, set()).add(overseen)
    return {
        slack_id: Actor(member_id, name, Role(role), team_id, frozenset(oversees.get(slack_id, ())))
        for slack_id, (member_id, name, role, team_id) in people.items()
    }


async def all_teams(session: AsyncSession) -> list[TeamInfo]:
    query = select(col(Team.id), col(Team.key), col(Team.name), col(Team.channel_id), col(Team.timezone))
    rows = (await session.execute(query.order_by(col(Team.key)))).all()
    return [
        TeamInfo(team_id, key, name, channel, tz) for team_id, key, name, channel, tz in rows if team_id is not None
    ]


async def all_targets(session: AsyncSession) -> dict[int, dict[str, TargetBand]]:
    """Every team's target bands, by team id then metric key."""
    query = select(col(Target.team_id), col(Metric.key), col(Target.green), col(Target.amber)).join(
        Metric, col(Metric.id) == Target.metric_id
    )
    out: dict[int, dict[str, TargetBand]] = {}
    for team_id, key, green, amber in (await session.execute(query)).all():
        out.setdefault(team_id, {})[key] = TargetBand(green, amber)
    return out


async def team_sizes(session: AsyncSession) -> dict[int, int]:
    """Active agents per team (teams without any are absent)."""
    query = (
        select(col(Member.team_id), func.count())
        .where(col(Member.team_id).is_not(None), col(Member.active), col(Member.role) == "agent")
        .group_by(col(Member.team_id))
    )
    return {team_id: int(n) for team_id, n in (await session.execute(query)).all() if team_id is not None}


async def ensure_default_metrics(session: AsyncSession) -> None:
    existing = set((await session.execute(select(col(Metric.key)))).scalars())
    for m in DEFAULT_METRICS:
        if m.key not in existing:
            session.add(_metric_row(m.key, _metric_fields(m)))


def _metric_fields(m: MetricDef) -> dict[str, Any]:
    return {
        "label": m.label,
        "unit": m.unit.value,
        "higher_is_better": m.higher_is_better,
        "aggregation": m.aggregation.value,
        "scale": m.scale,
        "position": m.position,
    }


def _metric_row(key: str, fields: dict[str, Any]) -> Metric:
    return Metric(key=key, **fields)


async def _state(session: AsyncSession) -> dict[str, Any]:
    teams = {t.key: t for t in (await session.execute(select(Team))).scalars()}
    people = {m.email: m for m in (await session.execute(select(Member))).scalars()}
    metrics = {m.key: m for m in (await session.execute(select(Metric))).scalars()}
    team_key = {t.id: k for k, t in teams.items()}
    email = {m.id: e for e, m in people.items()}
    metric_key = {m.id: k for k, m in metrics.items()}
    targets = {
        (team_key[t.team_id], metric_key[t.metric_id]): t for t in (await session.execute(select(Target))).scalars()
    }
    links = {
        (team_key[o.team_id], email[o.member_id]) for o in (await session.execute(select(TeamOversight))).scalars()
    }
    return {"teams": teams, "people": people, "metrics": metrics, "targets": targets, "links": links}


async def plan_org(session: AsyncSession, spec: OrgSpec) -> list[Change]:
    s = await _state(session)
    team_key_by_id = {t.id: k for k, t in s["teams"].items()}
    return plan(
        spec,
        teams={k: {f: getattr(t, f) for f in TEAM_FIELDS} for k, t in s["teams"].items()},
        people={
            e: {
                "name": m.name,
                "slack_user_id": m.slack_user_id,
                "role": m.role,
                "team_key": team_key_by_id.get(m.team_id),
            }
            for e, m in s["people"].items()
        },
        targets={k: (t.green, t.amber) for k, t in s["targets"].items()},
        oversight=s["links"],
        metrics={k: _metric_fields(metric_def(m)) for k, m in s["metrics"].items()},
    )


async def apply_org(session: AsyncSession, spec: OrgSpec) -> list[Change]:
    """Make the database match ``spec``; returns what changed (empty when it already did). Caller commits."""
    await ensure_default_metrics(session)
    await session.flush()
    changes = await plan_org(session, spec)
    if not changes:
        return []
    s = await _state(session)
    for m in spec.metrics:
        row = s["metrics"].get(m.key) or _metric_row(m.key, {})
        for k, v in m.model_dump(exclude={"key"}).items():
            setattr(row, k, v.value if hasattr(v, "value") else v)
        session.add(row)
    teams: dict[str, Team] = s["teams"]
    for t in spec.teams:
        row = teams.get(t.key) or Team(key=t.key, name=t.name, timezone=spec.team_tz(t))
        for k, v in team_fields(spec, t).items():
            setattr(row, k, v)
        session.add(row)
        teams[t.key] = row
    await session.flush()
    metric_ids = {m.key: pk(m) for m in (await session.execute(select(Metric))).scalars()}
    for t in spec.teams:
        for metric_key, tg in t.targets.items():
            if metric_key not in metric_ids:
                raise ValueError(f"team {t.key}: unknown metric {metric_key!r} in targets")
            row = s["targets"].get((t.key, metric_key)) or Target(
                team_id=pk(teams[t.key]), metric_id=metric_ids[metric_key], green=0, amber=0
            )
            row.green, row.amber = tg.green, tg.amber
            session.add(row)
    people: dict[str, Member] = s["people"]
    for p in spec.people:
        row = people.get(p.email) or Member(email=p.email, name=p.name)
        row.name, row.slack_user_id, row.role = p.name, p.slack_user_id, p.role.value
        row.team_id = teams[p.team].id if p.team else None
        row.active = True
        session.add(row)
        people[p.email] = row
    await session.flush()
    desired = spec.oversight()
    managed = {t.key for t in spec.teams}
    for team_key, email in desired - s["links"]:
        session.add(TeamOversight(team_id=pk(teams[team_key]), member_id=pk(people[email])))
    for team_key, email in s["links"] - desired:
        if team_key in managed:
            await session.execute(
                delete(TeamOversight).where(
                    col(TeamOversight.team_id) == teams[team_key].id,
                    col(TeamOversight.member_id) == people[email].id,
                )
            )
    await session.flush()
    return changes
