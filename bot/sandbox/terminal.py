"""Show a Block Kit message in a terminal roughly as Slack would (bold, code, links, buttons, context in grey),
and a submitted modal as the answers its fields were given."""

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
_ITALIC = re.compile(r"(?<![\w_])_(?!\s)([^_\n]+?)_(?![\w_])")
_MENTION = re.compile(r"<@([A-Z0-9]+)(?:\|([^>]+))?>")
_CHANNEL = re.compile(r"<#([A-Z0-9]+)(?:\|([^>]*))?>")
_DATE = re.compile(r"<!date\^[^|>]*\|([^>]+)>")  # Slack shows the date in the reader's zone; the fallback here
_LINK = re.compile(r"<(https?://[^|>]+)(?:\|([^>]+))?>")
ELIDED = "⋮ {n} more lines (the whole message is in the JSON file)"


def mrkdwn_to_markup(text: str) -> str:
    out = escape(text)
    out = _MENTION.sub(lambda m: f"[blue]@{m.group(2) or m.group(1)}[/blue]", out)
    out = _CHANNEL.sub(lambda m: f"[blue]#{m.group(2) or m.group(1)}[/blue]", out)
    out = _DATE.sub(r"\1", out)
    out = _LINK.sub(lambda m: f"[underline]{m.group(2) or m.group(1)}[/underline]", out)
    out = _CODE.sub(r"[cyan]\1[/cyan]", out)
    out = _BOLD.sub(r"[bold]\1[/bold]", out)
    return _ITALIC.sub(r"[italic]\1[/italic]", out)


def elide(text: str, max_lines: int | None) -> str:
    """At most ``max_lines`` lines of ``text``: its head and its last three lines around a marker."""
    lines = text.split("\n")
    if max_lines is None or len(lines) <= max_lines:
        return text
    tail = min(3, max_lines // 2)
    head = max_lines - tail - 1
    return "\n".join([*lines[:head], ELIDED.format(n=len(lines) - head - tail), *lines[len(lines) - tail :]])


def _block(block: dict[str, Any], max_lines: int | None = None) -> RenderableType:
    kind = block.get("type")
    if kind == "header":
        return Text(block["text"]["text"], style="bold")
    if kind == "section":
        texts = [block["text"]] if "text" in block else []
        texts += block.get("fields", [])
        joined = "\n".join(t.get("text", "") for t in texts)
        return Text.from_markup(mrkdwn_to_markup(elide(joined, max_lines)))
    if kind == "context":
        joined = "   ".join(mrkdwn_to_markup(e.get("text", "")) for e in block.get("elements", []))
        return Text.from_markup(f"[dim]{joined}[/dim]")
    if kind == "divider":
        return Rule(style="dim")
    if kind == "actions":
        labels = [e["text"]["text"] for e in block.get("elements", []) if isinstance(e.get("text"), dict)]
        return Text("  ".join(f"[ {label} ]" for label in labels), style="bold")
    return Text(f"[{kind} block]", style="dim")


def render_message(payload: dict[str, Any], *, title: str, visibility: str, max_lines: int | None = None) -> Panel:
    """``max_lines``: show at most that many lines of each section (a long list keeps its head and tail)."""
    blocks = payload.get("blocks")
    body: RenderableType = (
        Group(*(_block(b, max_lines) for b in blocks))
        if blocks
        else Text.from_markup(mrkdwn_to_markup(payload.get("text", "")))
    )
    return Panel(body, title=title, subtitle=visibility, title_align="left", subtitle_align="right", expand=False)


def _answer(state: dict[str, Any]) -> str:
    """A submitted input's value as the person saw it."""
    option = state.get("selected_option")
    if option:
        return str(option["text"]["text"])
    options = state.get("selected_options")
    if options:
        return ", ".join(str(o["text"]["text"]) for o in options)
    for key in ("value", "selected_date", "selected_time", "selected_user", "selected_conversation"):
        if state.get(key):
            return str(state[key])
    return ""


def render_form(submission: dict[str, Any], *, who: str) -> Panel:
    """A submitted modal: its title, and each answered field's label and value (empty fields left out)."""
    view = submission["view"]
    values = view["state"]["values"]
    lines = []
    for block in view.get("blocks", []):
        if block.get("type") != "input":
            continue
        state: dict[str, Any] = next(iter(values.get(block["block_id"], {}).values()), {})
        shown = _answer(state)
        if shown:
            label = escape(block["label"]["text"])
            lines.append(f"[dim]{label}:[/dim] {mrkdwn_to_markup(shown)}")
    submit = view.get("submit", {}).get("text", "Submit")
    return Panel(
        Text.from_markup("\n".join(lines) or "[dim](nothing filled in)[/dim]"),
        title=view.get("title", {}).get("text", "Modal"),
        subtitle=f"{who} presses {submit}",
        title_align="left",
        subtitle_align="right",
        expand=False,
    )
