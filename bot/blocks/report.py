"""The campaign report message: text first (searchable), one line per KPI with every team's RAG."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.blocks.kit import context, divider, header, message, section, sections_from_lines
from bot.domain.kpi import MetricLine
from bot.domain.metrics import RAG_EMOJI, MetricDef, Rag, format_delta, format_value
from bot.domain.report import CampaignReport, Mover, TeamDay

TEAMS_PER_LINE = 12  # beyond this a KPI line lists the red and amber teams first, then "and N more"
_RAG_ORDER = {Rag.RED: 0, Rag.AMBER: 1, Rag.GREEN: 2, Rag.NONE: 3}


def _metric_rows(teams: Sequence[TeamDay]) -> list[tuple[MetricDef, list[tuple[str, MetricLine]]]]:
    by_key: dict[str, tuple[MetricDef, list[tuple[str, MetricLine]]]] = {}
    for team in teams:
        for line in team.lines:
            by_key.setdefault(line.metric.key, (line.metric, []))[1].append((team.team_name, line))
    return sorted(by_key.values(), key=lambda item: (item[0].position, item[0].key))


def render_metric_row(metric: MetricDef, entries: list[tuple[str, MetricLine]]) -> str:
    ordered = sorted(entries, key=lambda e: (_RAG_ORDER[e[1].status], e[0]))
    shown = ordered[:TEAMS_PER_LINE]
    parts = [f"{RAG_EMOJI[line.status]} {name} {format_value(line.value, metric.unit)}" for name, line in shown]
    rest = ordered[TEAMS_PER_LINE:]
    if rest:
        greens = sum(1 for _, line in rest if line.status is Rag.GREEN)
        parts.append(f"and {len(rest)} more ({greens} 🟢)")
    return f"*{metric.label}*  " + "  ·  ".join(parts)


def render_mover(m: Mover) -> str:
    delta = format_delta(m.delta, m.metric.unit, higher_is_better=m.metric.higher_is_better)
    return f"• *{m.team_name}* — {m.metric.label} {format_value(m.value, m.metric.unit)} ({delta})"


def render_campaign_report(report: CampaignReport) -> dict[str, Any]:
    title = f"📈 Campaign report — {report.day:%a %d %b %Y}"
    with_data = [t for t in report.teams if t.has_data]
    if not with_data:
        text = f"No KPI data today ({report.day:%a %d %b}) for any of the {len(report.teams)} teams."
        return message(text, [header(title), section(text)])
    blocks = [
        header(title),
        context(f"{len(with_data)} of {len(report.teams)} teams with data · vs the previous working day"),
    ]
    blocks += sections_from_lines(render_metric_row(m, entries) for m, entries in _metric_rows(with_data))
    if report.worst or report.best:
        blocks.append(divider())
    if report.worst:
        blocks.append(section("*Worst movers*\n" + "\n".join(render_mover(m) for m in report.worst)))
    if report.best:
        blocks.append(section("*Best improvers*\n" + "\n".join(render_mover(m) for m in report.best)))
    silent = [t.team_name for t in report.teams if not t.has_data]
    notes = [f"No data today: {', '.join(silent)}"] if silent else []
    notes += [f"{t.team_name}: {t.stale_note}" for t in report.teams if t.stale_note]
    if notes:
        blocks += sections_from_lines(notes)
    summary = f"Campaign report {report.day:%d %b}: {len(with_data)} teams"
    if report.worst:
        summary += f"; worst mover {report.worst[0].team_name} {report.worst[0].metric.label}"
    return message(summary, blocks)
