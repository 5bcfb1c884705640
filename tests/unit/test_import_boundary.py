"""The core (bot/domain, bot/blocks) stays pure: no Slack, database, HTTP, scheduler or event-loop imports."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = [ROOT / "bot" / "domain", ROOT / "bot" / "blocks"]
FORBIDDEN = frozenset(
    {
        "slack_bolt",
        "slack_sdk",
        "sqlmodel",
        "sqlalchemy",
        "httpx",
        "apscheduler",
        "asyncio",
        "aiohttp",
        "fastapi",
        "starlette",
    }
)
CORE_FILES = sorted(p for d in CORE for p in d.rglob("*.py"))


def imported_modules(source: str) -> set[str]:
    tree = ast.parse(source)
    names = {alias.name for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names}
    names |= {node.module for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module}
    return names


def test_core_files_are_found() -> None:
    names = {p.relative_to(ROOT).as_posix() for p in CORE_FILES}
    assert {"bot/domain/kpi.py", "bot/domain/metrics.py", "bot/blocks/kit.py", "bot/blocks/kpi.py"} <= names


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_has_no_io_imports(path: Path) -> None:
    bad = {m for m in imported_modules(path.read_text(encoding="utf-8")) if m.split(".")[0] in FORBIDDEN}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", CORE_FILES, ids=lambda p: p.relative_to(ROOT).as_posix())
def test_core_imports_only_core_modules_from_bot(path: Path) -> None:
    own = {m for m in imported_modules(path.read_text(encoding="utf-8")) if m.split(".")[0] == "bot"}
    outside = {m for m in own if not m.startswith(("bot.domain", "bot.blocks"))}
    assert not outside, f"{path.relative_to(ROOT)} reaches outside the core: {sorted(outside)}"


@pytest.mark.parametrize(
    ("source", "found"),
    [
        ("import asyncio", {"asyncio"}),
        ("from slack_sdk.web import WebClient", {"slack_sdk.web"}),
        ("import sqlalchemy.orm as orm, json", {"sqlalchemy.orm", "json"}),
        ("def f():\n    import httpx\n", {"httpx"}),  # imports inside functions count too
        ("from . import kit", set()),
    ],
)
def test_imported_modules_sees_every_import_form(source: str, found: set[str]) -> None:
    assert imported_modules(source) == found
