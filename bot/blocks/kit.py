"""One-line Block Kit builders and Slack's limits (reference/slack-platform.md §3)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

MAX_MESSAGE_BLOCKS = 50
MAX_VIEW_BLOCKS = 100
MAX_SECTION_TEXT = 3000
MAX_HEADER_TEXT = 150
MAX_CONTEXT_ELEMENTS = 10

Block = dict[str, Any]


def escape(text: str) -> str:
    """User-typed text made safe for mrkdwn: ``&``, ``<`` and ``>`` escaped as Slack requires, so "AHT < 420s"
    survives and ``<!channel>`` or a disguised ``<https://…|link>`` cannot be smuggled into a bot message."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def header(text: str, block_id: str | None = None) -> Block:
    block: Block = {
        "type": "header",
        "text": {"type": "plain_text", "text": clip(text, MAX_HEADER_TEXT), "emoji": True},
    }
    if block_id:
        block["block_id"] = block_id
    return block


def section(text: str, block_id: str | None = None) -> Block:
    block: Block = {"type": "section", "text": {"type": "mrkdwn", "text": clip(text, MAX_SECTION_TEXT)}}
    if block_id:
        block["block_id"] = block_id
    return block


def context(*texts: str, block_id: str | None = None) -> Block:
    elements = [{"type": "mrkdwn", "text": clip(t, MAX_SECTION_TEXT)} for t in texts[:MAX_CONTEXT_ELEMENTS] if t]
    block: Block = {"type": "context", "elements": elements}
    if block_id:
        block["block_id"] = block_id
    return block


def divider() -> Block:
    return {"type": "divider"}


def sections_from_lines(lines: Iterable[str], limit: int = MAX_SECTION_TEXT) -> list[Block]:
    """Pack lines into as few sections as fit Slack's 3,000-character section limit."""
    blocks: list[Block] = []
    current: list[str] = []
    size = 0
    for line in lines:
        line = clip(line, limit)
        if current and size + len(line) + 1 > limit:
            blocks.append(section("\n".join(current)))
            current, size = [], 0
        current.append(line)
        size += len(line) + 1
    if current:
        blocks.append(section("\n".join(current)))
    return blocks


def message(text: str, blocks: list[Block] | None = None) -> dict[str, Any]:
    """A message payload: ``text`` is the notification and screen-reader fallback, always present."""
    payload: dict[str, Any] = {"text": clip(text, 3000)}
    if blocks:
        if len(blocks) > MAX_MESSAGE_BLOCKS:
            extra = len(blocks) - (MAX_MESSAGE_BLOCKS - 1)
            blocks = [*blocks[: MAX_MESSAGE_BLOCKS - 1], context(f"…and {extra} more blocks not shown")]
        payload["blocks"] = blocks
    return payload
