"""The KPI scorecard: text first (searchable in Slack), one line per metric."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from typing import Any

from bot.blocks.ids import BlockId
from bot.blocks.kit import context, escape, header, message, section, sections_from_lines
from bot.domain.kpi import MetricLine, Scorecard
from bot.domain.kpi_compare import Comparison
from bot.domain.metrics import RAG_EMOJI, Rag, format_delta, format_value

LEGEND = "🟢 on target · 🟠 within tolerance · 🔴 off target · ⚪ no target · change vs the previous period"
COMPARISON_LEGEND = (
    "Best first · each team against its own target: 🟢 on target · 🟠 within tolerance · 🔴 off · ⚪ none"
)


def render_metric_line(line: MetricLine) -> str:
    m = line.metric
    parts = [f"{RAG_EMOJI[line.status]} *{m.label}*  {format_value(line.value, m.unit)}"]
    if line.target is not None:
        parts.append(f"target {format_value(line.target.green, m.unit)}")
    if line.value is not None and (line.delta is not None or not line.has_previous):
        parts.append(format_delta(line.delta, m.unit, higher_is_better=m.higher_is_better))
    if line.spark:
        parts.append(f"`{line.spark}`")
    return "  ·  ".join(parts)


def _meta(card: Scorecard) -> str:
    bits = [card.subtitle]
    if card.team_size is not None:
        bits.append(f"{card.team_size} agents")
    if card.data_up_to is not None:
        bits.append(_freshness(card.data_up_to))
    return "  ·  ".join(bits)


def _freshness(up_to: datetime) -> str:
    if up_to.time() == time(0):  # a period that ended at midnight: say which day is complete
        return f"data to end of {up_to - timedelta(days=1):%a %d %b}"
    return f"data up to {up_to:%a %d %b %H:%M}"


def summary_text(card: Scorecard) -> str:
    """The notification / fallback text: the headline counts, so a push notification says something useful."""
    if not card.has_data:
        return f"{card.title}: no KPI data for {card.subtitle}"
    counts = {rag: sum(1 for line in card.lines if line.status is rag) for rag in (Rag.GREEN, Rag.AMBER, Rag.RED)}
    return (
        f"{card.title} KPIs, {card.subtitle}: {counts[Rag.GREEN]} on target, "
        f"{counts[Rag.AMBER]} within tolerance, {counts[Rag.RED]} off target"
    )


def render_scorecard(card: Scorecard) -> dict[str, Any]:
    blocks = [
        header(f"📊 {card.title}", BlockId.SCORECARD_HEADER),
        context(_meta(card), block_id=BlockId.SCORECARD_META),
    ]
    if not card.has_data:
        blocks.append(
            section(
                f"No KPI data for *{card.subtitle}* yet. Figures appear once they are imported "
                "(`rhythm import kpis`) or sent to the ingest API."
            )
        )
    else:
        blocks += sections_from_lines(render_metric_line(line) for line in card.lines)
        blocks.append(context(LEGEND, block_id=BlockId.SCORECARD_LEGEND))
    for note in card.notes:
        blocks.append(context(note))
    return message(summary_text(card), blocks)


def render_text(text: str) -> dict[str, Any]:
    """A plain reply (help, refusals, errors) as a section so mrkdwn renders."""
    return message(text, [section(text)])


def render_comparison(period: str, teams: int, comparisons: Sequence[Comparison]) -> dict[str, Any]:
    """``/kpi compare``: one searchable line per metric, the teams ranked best first with their own RAG."""
    blocks = [
        header("📊 Team comparison", BlockId.COMPARISON_HEADER),
        context(f"{period}  ·  {teams} team{'s' if teams != 1 else ''}"),
    ]
    if not comparisons:
        blocks.append(section(f"No KPI data for *{period}* in your teams yet."))
        return message(f"Team comparison, {period}: no KPI data yet", blocks)
    blocks += sections_from_lines(_comparison_line(c) for c in comparisons)
    blocks.append(context(COMPARISON_LEGEND))
    return message(f"Team comparison, {period}: {teams} teams on {len(comparisons)} metrics", blocks)


def _comparison_line(comparison: Comparison) -> str:
    unit = comparison.metric.unit
    ranked = (
        f"{RAG_EMOJI[f.line.status]} {escape(f.team)} {format_value(f.line.value, unit)}" for f in comparison.figures
    )
    return f"*{comparison.metric.label}*  " + "  ·  ".join(ranked)
