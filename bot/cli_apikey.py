"""``rhythm apikey create | revoke | list``: bearer keys for the ingest API (``POST /api/v1/kpi-samples``).

``create`` prints the key on stdout and nothing else there (``KEY=$(rhythm apikey create wfm)`` works); the
warning goes to stderr. Only the key's SHA-256 is stored, so a lost key is revoked and replaced, never shown.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from bot.cli_db import with_db_from_env
from bot.deps import Deps
from bot.store import apikeys, audit

apikey_app = typer.Typer(help="Bearer keys for the ingest API (shown once, stored hashed).", no_args_is_help=True)
console = Console()
err = Console(stderr=True)


def _when(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC") if at else "—"


@apikey_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Who uses it, e.g. wfm or zendesk; appears in the audit log.")],
) -> None:
    """Create a key and print it once."""

    async def work(deps: Deps) -> str | None:
        async with deps.sessions() as session:
            try:
                key = await apikeys.create_key(session, name, now=deps.clock.now())
            except apikeys.ApiKeyError as exc:
                err.print(f"[red]{exc}[/red]", highlight=False)
                return None
            audit.record(session, actor="cli", action="apikey.create", subject=name)
            await session.commit()
            return key

    key = with_db_from_env(work)
    if key is None:
        raise typer.Exit(1)
    err.print(
        f"[yellow]API key {name!r} created. Store it now: it is shown only this once and cannot be recovered.[/yellow]"
        "\nSend it as 'Authorization: Bearer <key>'.",
        highlight=False,
    )
    typer.echo(key)


@apikey_app.command("revoke")
def revoke(name: Annotated[str, typer.Argument(help="The key's name (see rhythm apikey list).")]) -> None:
    """Revoke a key: requests with it get 401 from now on."""

    async def work(deps: Deps) -> tuple[apikeys.ApiKeyInfo, bool] | None:
        async with deps.sessions() as session:
            revoked = await apikeys.revoke_key(session, name, now=deps.clock.now())
            if revoked is not None and revoked[1]:
                audit.record(session, actor="cli", action="apikey.revoke", subject=name)
            await session.commit()
            return revoked

    revoked = with_db_from_env(work)
    if revoked is None:
        err.print(f"[red]No API key named {name!r}[/red] (see rhythm apikey list).", highlight=False)
        raise typer.Exit(1)
    info, newly = revoked
    if newly:
        console.print(f"[green]Revoked API key {name!r}.[/green]", highlight=False)
    else:
        console.print(f"API key {name!r} was already revoked ({_when(info.revoked_at)}).", highlight=False)


@apikey_app.command("list")
def list_keys() -> None:
    """Names, created, last used (to the minute) and status; never the keys."""

    async def work(deps: Deps) -> list[apikeys.ApiKeyInfo]:
        async with deps.sessions() as session:
            return await apikeys.list_keys(session)

    keys = with_db_from_env(work)
    if not keys:
        console.print("No API keys yet. Create one with: rhythm apikey create NAME")
        return
    table = Table("name", "created", "last used", "status")
    for k in keys:
        status = f"revoked {_when(k.revoked_at)}" if k.revoked_at else "active"
        table.add_row(k.name, _when(k.created_at), _when(k.last_used_at), status)
    console.print(table)
