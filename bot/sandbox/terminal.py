"""Show a Block Kit message in a terminal roughly as Slack would (bold, code, context in grey)."""

from __future__ import annotations

import re
from typing import Any

from rich.console import Group, RenderableType
from rich.markup import escape
from rich.panel import Panel
from rich.rule import Rule
from rich.text import Text

_BOLD = re.compile(r"(?<![\w*])\*(?!\s)([^*\n]+?)\*(?![\w*])")
_CODE = re.compile(r"`([^`\n]+)`")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")


def mrkdwn_to_markup(text: str) -> str:
    out = escape(text)
    out = _MENTION.sub(lambda m: f"[blue]@{m.group(2) or m.group(1)}[/blue]", out)
    out = _CODE.sub(r"[cyan]\1[/cyan]", out)
    return _BOLD.sub(r"[bold]\1[/bold]", out)


def _block(block: dict[str, Any]) -> RenderableType:
    kind = block.get("type")
    if kind == "header":
        return Text(block["text"]["text"], style="bold")
    if kind == "section":
        return Text.from_markup(mrkdwn_to_markup(block["text"]["text"]))
    if kind == "context":
        joined = "   ".join(mrkdwn_to_markup(e.get("text", "")) for e in block.get("elements", []))
        return Text.from_markup(f"[dim]{joined}[/dim]")
    if kind == "divider":
        return Rule(style="dim")
    return Text(f"[{kind} block]", style="dim")


def render_message(payload: dict[str, Any], *, title: str, visibility: str) -> Panel:
    blocks = payload.get("blocks")
    body: RenderableType = (
        Group(*(_block(b) for b in blocks)) if blocks else Text.from_markup(mrkdwn_to_markup(payload.get("text", "")))
    )
    return Panel(body, title=title, subtitle=visibility, title_align="left", subtitle_align="right", expand=False)
