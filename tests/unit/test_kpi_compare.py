"""/kpi compare in the pure core: ranking per metric and who may compare which teams."""

from __future__ import annotations

import pytest

from bot.domain.access import Actor, Role, comparable_teams
from bot.domain.errors import NotAllowed, UserFacingError
from bot.domain.kpi import MetricLine, Scorecard
from bot.domain.kpi_compare import compare_teams
from bot.domain.metrics import Aggregation, MetricDef, Rag, Unit

CSAT = MetricDef("csat", "CSAT", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 40)
AHT = MetricDef("aht", "Handle time", Unit.SECONDS, False, Aggregation.RATIO, 1.0, 50)
QA = MetricDef("qa", "QA score", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 10)


def _card(team: str, **values: float | None) -> Scorecard:
    metrics = {"csat": CSAT, "aht": AHT, "qa": QA}
    lines = tuple(MetricLine(metrics[k], v, None, Rag.NONE, None, "") for k, v in values.items())
    return Scorecard(team, "today", lines, None, None, "today")


def test_each_metric_ranks_teams_in_its_better_direction_with_no_figure_last() -> None:
    cards = [
        _card("Charlie", csat=None, aht=300.0),
        _card("Alpha", csat=80.0, aht=420.0, qa=None),
        _card("Bravo", csat=90.0),
    ]
    got = {c.metric.key: [f.team for f in c.figures] for c in compare_teams(cards)}
    assert got == {"csat": ["Bravo", "Alpha", "Charlie"], "aht": ["Charlie", "Alpha"]}  # qa: nobody has a figure
    assert [c.metric.key for c in compare_teams(cards)] == ["csat", "aht"]  # catalogue order


def test_ties_are_broken_by_team_name() -> None:
    got = compare_teams([_card("Zulu", csat=85.0), _card("Echo", csat=85.0)])
    assert [f.team for f in got[0].figures] == ["Echo", "Zulu"]


def _actor(role: Role, oversees: set[int], team_id: int | None = None) -> Actor:
    return Actor(1, "Someone", role, team_id, frozenset(oversees))


def test_who_compares_which_teams() -> None:
    every = frozenset({1, 2, 3})
    assert comparable_teams(_actor(Role.ADMIN, set()), every) == every
    assert comparable_teams(_actor(Role.MANAGER, {1, 3, 9}), every) == {1, 3}  # 9: a team since removed
    assert comparable_teams(_actor(Role.LEAD, {2}, team_id=2), every) == {2}
    with pytest.raises(NotAllowed, match="team leaders and managers"):
        comparable_teams(_actor(Role.AGENT, set(), team_id=1), every)
    with pytest.raises(UserFacingError, match="don't look after any team"):
        comparable_teams(_actor(Role.LEAD, set()), every)
