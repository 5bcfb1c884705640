"""``rhythm export notices [--since DATE] [--out PATH]``: the compliance record of notice acknowledgements.

CSV columns: notice, title, version, content_hash, team, member, email, acknowledged_at (UTC, or
``outstanding``), reminded_at, on_leave. Without ``--out`` the CSV goes to stdout (and nothing else does).
``--since`` is a date in the site's time zone (``RHYTHM_DEFAULT_TIMEZONE``) and keeps every notice with anything
on record from its midnight on: published, changed, acknowledged or reminded.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

import typer
from rich.console import Console

from bot.cli_db import with_db_from_env
from bot.deps import Deps
from bot.domain.notice_export import csv_text
from bot.services.notice_reports import export_rows
from bot.store import audit

err = Console(stderr=True)


def _since(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d").date()
    except ValueError:
        err.print(f"[red]--since must be a date like 2026-11-01, not {value!r}.[/red]", highlight=False)
        raise typer.Exit(2) from None


def local_midnight(day: date, timezone: str) -> datetime:
    """The start of ``day`` in the site's time zone, as aware UTC."""
    return datetime.combine(day, time(0), ZoneInfo(timezone)).astimezone(UTC)


def export_notices(
    since: Annotated[
        str | None,
        typer.Option(
            help="Only notices published, changed, acknowledged or reminded on or after this date "
            "(YYYY-MM-DD, in the site's time zone, RHYTHM_DEFAULT_TIMEZONE)."
        ),
    ] = None,
    out: Annotated[Path | None, typer.Option(help="Write the CSV to this file instead of stdout.")] = None,
) -> None:
    """Who acknowledged which notice version (content hash) and when; who is still outstanding."""
    day = _since(since)

    async def work(deps: Deps) -> tuple[str, int]:
        start = local_midnight(day, deps.settings.default_timezone) if day else None
        async with deps.sessions() as session:
            rows = await export_rows(session, now=deps.clock.now(), since=start)
            audit.record(session, actor="cli", action="notice.export", subject="notices", since=since, rows=len(rows))
            await session.commit()
        return csv_text(rows), len(rows)

    text, count = with_db_from_env(work)
    if out is None:
        typer.echo(text, nl=False)
        return
    out.write_text(text, encoding="utf-8")
    err.print(f"Wrote {count} rows to {out}.", highlight=False)
