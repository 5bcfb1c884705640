"""Block Kit output: the scorecard and the kit stay inside Slack's limits by construction."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pytest

from bot.blocks.ids import BlockId
from bot.blocks.kit import (
    MAX_HEADER_TEXT,
    MAX_MESSAGE_BLOCKS,
    MAX_SECTION_TEXT,
    clip,
    context,
    message,
    section,
    sections_from_lines,
)
from bot.blocks.kpi import LEGEND, render_metric_line, render_scorecard, summary_text
from bot.domain.kpi import MetricLine, Scorecard
from bot.domain.metrics import Aggregation, MetricDef, Rag, Target, Unit

CSAT = MetricDef("csat", "CSAT", Unit.PERCENT, True, Aggregation.RATIO, 100.0, 40)
AHT = MetricDef("aht", "Handle time", Unit.SECONDS, False, Aggregation.RATIO, 1.0, 90)
ITEMS = MetricDef("items", "Items handled", Unit.COUNT, True, Aggregation.SUM, 1.0, 95)
SPARK = "·" * 12 + "▁█"

CSAT_LINE = MetricLine(CSAT, 90.0, Target(85, 80), Rag.GREEN, 10.0, SPARK)
AHT_LINE = MetricLine(AHT, 450.0, Target(420, 480), Rag.AMBER, 15.0, SPARK)
ITEMS_LINE = MetricLine(ITEMS, 30.0, None, Rag.NONE, None, "", has_previous=False)


def card(lines: tuple[MetricLine, ...], **fields: Any) -> Scorecard:
    values: dict[str, Any] = {
        "title": "Team Alpha",
        "subtitle": "today · Wed 18 Nov",
        "lines": lines,
        "team_size": 3,
        "data_up_to": datetime(2026, 11, 18, 14, 30),
        "period_key": "today",
    }
    values.update(fields)
    return Scorecard(**values)


def assert_within_slack_limits(payload: dict[str, Any]) -> None:
    assert payload["text"].strip()
    assert len(payload["text"]) <= 3000
    blocks = payload.get("blocks", [])
    assert len(blocks) <= MAX_MESSAGE_BLOCKS
    for block in blocks:
        if block["type"] == "header":
            assert 0 < len(block["text"]["text"]) <= MAX_HEADER_TEXT
        elif block["type"] == "section":
            assert 0 < len(block["text"]["text"]) <= MAX_SECTION_TEXT
        elif block["type"] == "context":
            assert 1 <= len(block["elements"]) <= 10
            assert all(0 < len(e["text"]) <= MAX_SECTION_TEXT for e in block["elements"])


def many_lines(count: int, label_length: int) -> tuple[MetricLine, ...]:
    lines = []
    for i in range(count):
        label = f"Metric {i:03d} " + "with a very long descriptive label " * (label_length // 35 + 1)
        metric = MetricDef(f"m{i:03d}", label[:label_length], Unit.PERCENT, True, Aggregation.RATIO, 100.0, i)
        lines.append(MetricLine(metric, 50.0 + i / 10, Target(80, 70), Rag.RED, -1.5, SPARK))
    return tuple(lines)


def test_render_metric_line_with_target_delta_and_sparkline() -> None:
    assert render_metric_line(CSAT_LINE) == f"🟢 *CSAT*  90.0%  ·  target 85.0%  ·  ▲ +10.0 pts better  ·  `{SPARK}`"


def test_render_metric_line_lower_is_better_up_is_worse() -> None:
    assert render_metric_line(AHT_LINE) == f"🟠 *Handle time*  7m 30s  ·  target 7m 00s  ·  ▲ +15s worse  ·  `{SPARK}`"


def test_render_metric_line_without_previous_says_so() -> None:
    assert render_metric_line(ITEMS_LINE) == "⚪ *Items handled*  30  ·  no previous data"


def test_render_metric_line_withheld_delta_shows_nothing() -> None:
    line = MetricLine(ITEMS, 30.0, None, Rag.NONE, None, "", has_previous=True)  # partial day
    assert render_metric_line(line) == "⚪ *Items handled*  30"


def test_render_metric_line_target_without_value() -> None:
    line = MetricLine(CSAT, None, Target(85, 80), Rag.NONE, None, "", has_previous=False)
    assert render_metric_line(line) == "⚪ *CSAT*  —  ·  target 85.0%"


def test_render_scorecard_layout() -> None:
    payload = render_scorecard(card((CSAT_LINE, AHT_LINE, ITEMS_LINE)))
    blocks = payload["blocks"]
    assert [b["type"] for b in blocks] == ["header", "context", "section", "context"]
    assert blocks[0] == {
        "type": "header",
        "text": {"type": "plain_text", "text": "📊 Team Alpha", "emoji": True},
        "block_id": BlockId.SCORECARD_HEADER,
    }
    assert blocks[1]["block_id"] == BlockId.SCORECARD_META
    assert blocks[1]["elements"][0]["text"] == "today · Wed 18 Nov  ·  3 agents  ·  data up to Wed 18 Nov 14:30"
    assert blocks[2]["text"]["text"].splitlines()[0].startswith("🟢 *CSAT*")
    assert blocks[3]["block_id"] == BlockId.SCORECARD_LEGEND
    assert blocks[3]["elements"][0]["text"] == LEGEND
    assert_within_slack_limits(payload)


def test_summary_text_counts_statuses() -> None:
    text = summary_text(card((CSAT_LINE, AHT_LINE, ITEMS_LINE)))
    assert text == "Team Alpha KPIs, today · Wed 18 Nov: 1 on target, 1 within tolerance, 0 off target"
    assert render_scorecard(card((CSAT_LINE,)))["text"].endswith("1 on target, 0 within tolerance, 0 off target")


def test_no_data_card_says_so() -> None:
    empty_line = MetricLine(CSAT, None, Target(85, 80), Rag.NONE, None, "", has_previous=False)
    payload = render_scorecard(card((empty_line,), data_up_to=None, team_size=None))
    assert payload["text"] == "Team Alpha: no KPI data for today · Wed 18 Nov"
    texts = [b["text"]["text"] for b in payload["blocks"] if b["type"] == "section"]
    assert len(texts) == 1
    assert texts[0].startswith("No KPI data for *today · Wed 18 Nov* yet.")
    assert all(b.get("block_id") != BlockId.SCORECARD_LEGEND for b in payload["blocks"])
    assert payload["blocks"][1]["elements"][0]["text"] == "today · Wed 18 Nov"
    assert_within_slack_limits(payload)


def test_data_up_to_midnight_is_the_end_of_the_previous_day() -> None:
    payload = render_scorecard(card((CSAT_LINE,), data_up_to=datetime(2026, 11, 19, 0, 0)))
    assert payload["blocks"][1]["elements"][0]["text"].endswith("data to end of Wed 18 Nov")


def test_notes_follow_the_legend() -> None:
    payload = render_scorecard(card((CSAT_LINE,), notes=("⚠️ Stale data",)))
    assert payload["blocks"][-1] == {"type": "context", "elements": [{"type": "mrkdwn", "text": "⚠️ Stale data"}]}


def test_scorecard_with_120_long_metrics_stays_inside_limits() -> None:
    lines = many_lines(120, label_length=100)
    payload = render_scorecard(card(lines, title="Team " + "Alpha " * 60))
    assert_within_slack_limits(payload)
    assert payload["blocks"][0]["text"]["text"].endswith("…")
    shown = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert all(f"Metric {i:03d} " in shown for i in range(120))  # packed, nothing lost
    assert payload["text"].endswith("0 on target, 0 within tolerance, 120 off target")


def test_scorecard_with_huge_lines_is_capped_at_fifty_blocks() -> None:
    payload = render_scorecard(card(many_lines(120, label_length=2990)))
    assert_within_slack_limits(payload)
    blocks = payload["blocks"]
    assert len(blocks) == MAX_MESSAGE_BLOCKS
    # header + meta + 120 one-line sections + legend = 123 blocks; 49 are shown.
    assert blocks[-1]["elements"][0]["text"] == "…and 74 more blocks not shown"


def test_clip_marks_cut_text() -> None:
    assert clip("abc", 3) == "abc"
    assert clip("abcd", 3) == "ab…"


def test_sections_from_lines_packs_lines_into_few_sections() -> None:
    assert sections_from_lines(["a", "b", "c"]) == [section("a\nb\nc")]
    assert sections_from_lines([]) == []


def test_sections_from_lines_starts_a_new_section_when_full() -> None:
    blocks = sections_from_lines(["x" * 5, "y" * 3, "z" * 4], limit=10)
    assert [b["text"]["text"] for b in blocks] == ["xxxxx\nyyy", "zzzz"]


@pytest.mark.parametrize("length", [1, 99, 2999, 3000, 3001, 7000])
def test_sections_from_lines_never_exceeds_the_section_limit(length: int) -> None:
    blocks = sections_from_lines(["w" * length] * 5 + ["short"] * 700)
    texts = [b["text"]["text"] for b in blocks]
    assert all(len(t) <= MAX_SECTION_TEXT for t in texts)
    assert texts[-1].endswith("short")
    assert sum(t.count("short") for t in texts) == 700


def test_message_text_is_always_present() -> None:
    assert message("Hello") == {"text": "Hello"}
    assert message("x" * 5000)["text"] == "x" * 2999 + "…"


@pytest.mark.parametrize(("count", "hidden"), [(51, 2), (60, 11), (200, 151)])
def test_message_caps_blocks_at_fifty(count: int, hidden: int) -> None:
    blocks = [section(f"block {i}") for i in range(count)]
    payload = message("fallback", blocks)
    assert len(payload["blocks"]) == MAX_MESSAGE_BLOCKS
    assert payload["blocks"][48] == section("block 48")
    assert payload["blocks"][-1] == context(f"…and {hidden} more blocks not shown")
    assert 49 + hidden == count


def test_message_keeps_exactly_fifty_blocks() -> None:
    blocks = [section(f"block {i}") for i in range(50)]
    assert message("fallback", blocks)["blocks"] == blocks


def test_context_keeps_at_most_ten_non_empty_elements() -> None:
    block = context(*[f"t{i}" for i in range(12)], "")
    assert [e["text"] for e in block["elements"]] == [f"t{i}" for i in range(10)]


def test_escape_keeps_user_text_literal_in_mrkdwn() -> None:
    from bot.blocks.kit import escape

    assert escape("AHT < 420s & CSAT > 85%") == "AHT &lt; 420s &amp; CSAT &gt; 85%"
    assert escape("<!channel> see <https://evil.example|the wiki>") == (
        "&lt;!channel&gt; see &lt;https://evil.example|the wiki&gt;"
    )
