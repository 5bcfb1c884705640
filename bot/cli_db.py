"""What every ``rhythm`` command that touches the database shares: settings (a bad one is a clear exit 2) and a
migrated database for the length of one piece of work."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import typer
from rich.console import Console

from bot.config import ConfigError, Settings, load_settings
from bot.deps import Deps, build_deps
from bot.store.migrate import upgrade

T = TypeVar("T")
err = Console(stderr=True)


def cli_settings(**overrides: Any) -> Settings:
    try:
        return load_settings(**{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None


def with_db(settings: Settings, work: Callable[[Deps], Awaitable[T]]) -> T:
    """Run ``work`` against a migrated database, disposing the engine afterwards."""

    async def _run() -> T:
        deps = build_deps(settings)
        try:
            await upgrade(deps.engine)
            return await work(deps)
        finally:
            await deps.close()

    return asyncio.run(_run())


def with_db_from_env(work: Callable[[Deps], Awaitable[T]]) -> T:
    """``with_db`` on the settings from the environment."""
    return with_db(cli_settings(), work)
