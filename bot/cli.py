"""The ``rhythm`` command line: run, demo, migrate, org apply, import."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
import yaml
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli_adherence import adherence_app
from bot.cli_apikey import apikey_app
from bot.cli_db import cli_settings, with_db
from bot.cli_notices import export_notices
from bot.cli_privacy import NO_ENCRYPTION_KEY, crypto_app, erase_agent, export_agent
from bot.config import ConfigError
from bot.deps import Deps
from bot.domain.org import OrgSpec
from bot.ingest import adherence as adherence_import
from bot.ingest import kpis as kpi_import
from bot.ingest import roster as roster_import
from bot.ingest.records import ImportFileError, RowError, read_records
from bot.runtime import tune_gc
from bot.services.adherence_kpis import compute_adherence_kpis
from bot.store import audit
from bot.store import org as org_store

app = typer.Typer(help="Rhythm: a contact-centre team leader's operating rhythm, in Slack.", no_args_is_help=True)
org_app = typer.Typer(help="Teams, leads and targets as configuration.", no_args_is_help=True)
import_app = typer.Typer(help="Import rosters and KPI figures from files.", no_args_is_help=True)
app.add_typer(org_app, name="org")
app.add_typer(import_app, name="import")
pull_app = typer.Typer(help="Pull KPI figures from helpdesk sources.", no_args_is_help=True)
app.add_typer(pull_app, name="pull")
app.add_typer(apikey_app, name="apikey")
app.add_typer(adherence_app, name="adherence")
export_app = typer.Typer(help="Export data held by Rhythm (subject access, compliance).", no_args_is_help=True)
app.add_typer(export_app, name="export")
export_app.command("notices")(export_notices)
erase_app = typer.Typer(help="Erase data held by Rhythm (right to erasure).", no_args_is_help=True)
app.add_typer(erase_app, name="erase")
export_app.command("agent")(export_agent)
erase_app.command("agent")(erase_agent)
app.add_typer(crypto_app, name="crypto")

console = Console()
err = Console(stderr=True)
MAX_ERRORS_SHOWN = 200


def _print_errors(errors: list[RowError], path: Path) -> None:
    err.print(f"[red]{path}: {len(errors)} bad row(s); nothing was imported.[/red]")
    for e in errors[:MAX_ERRORS_SHOWN]:
        err.print(f"  {path.name}:{e}", markup=False, highlight=False)
    if len(errors) > MAX_ERRORS_SHOWN:
        err.print(f"  …and {len(errors) - MAX_ERRORS_SHOWN} more")


@app.command()
def migrate(
    database_url: Annotated[str | None, typer.Option(help="Overrides RHYTHM_DATABASE_URL.")] = None,
) -> None:
    """Create or upgrade the database schema (Alembic)."""
    settings = cli_settings(database_url=database_url)

    async def work(deps: Deps) -> None:
        return None

    with_db(settings, work)
    console.print("[green]Database is up to date.[/green]")


@org_app.command("apply")
def org_apply(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="org.yml")],
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Show the plan without changing anything.")] = False,
) -> None:
    """Create or update teams, leads, managers and targets from an org.yml; idempotent."""
    try:
        spec = OrgSpec.model_validate(yaml.safe_load(file.read_text(encoding="utf-8")) or {})
    except (yaml.YAMLError, ValidationError) as exc:
        err.print(f"[red]{file} is not a valid org file:[/red]\n{exc}")
        raise typer.Exit(1) from None

    async def work(deps: Deps) -> list[Any]:
        async with deps.sessions() as session:
            if dry_run:
                return await org_store.plan_org(session, spec)
            try:
                changes = await org_store.apply_org(session, spec)
            except ValueError as exc:
                await session.rollback()
                err.print(f"[red]{exc}[/red]; nothing was changed.")
                raise typer.Exit(1) from None
            if changes:
                audit.record(session, actor="cli", action="org.apply", subject=str(file.name), changes=len(changes))
            await session.commit()
            return changes

    changes = with_db(cli_settings(), work)
    if not changes:
        console.print("No changes: the database already matches " + file.name)
        return
    for change in changes:
        console.print(str(change), markup=False, highlight=False)
    verb = "Would apply" if dry_run else "Applied"
    console.print(f"[green]{verb} {len(changes)} change(s).[/green]")


@import_app.command("roster")
def import_roster(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON lines")],
) -> None:
    """Create or update people from a roster (email, name, team[, role, slack_user_id, external_id])."""
    records = _read(file, roster_import.REQUIRED_COLUMNS)

    async def work(deps: Deps) -> roster_import.RosterResult:
        async with deps.sessions() as session:
            result = await roster_import.import_roster(session, records)
            if result.errors:
                await session.rollback()
                return result
            audit.record(
                session,
                actor="cli",
                action="roster.import",
                subject=file.name,
                created=len(result.created),
                updated=len(result.updated),
            )
            await session.commit()
            return result

    result = with_db(cli_settings(), work)
    if result.errors:
        _print_errors(result.errors, file)
        raise typer.Exit(1)
    console.print(
        f"[green]Roster imported:[/green] {len(result.created)} created, {len(result.updated)} updated, "
        f"{result.unchanged} unchanged."
    )


Importer = Callable[[AsyncSession, list[tuple[int, dict[str, Any]]]], Awaitable[tuple[int, list[RowError]]]]


def _run_import(file: Path, records: list[tuple[int, dict[str, Any]]], importer: Importer, action: str) -> int:
    """Validate and write in one transaction; any bad row: list them all, change nothing, exit 1."""

    async def work(deps: Deps) -> tuple[int, list[RowError]]:
        async with deps.sessions() as session:
            count, errors = await importer(session, records)
            if errors:
                await session.rollback()
                return 0, errors
            audit.record(session, actor="cli", action=action, subject=file.name, rows=count)
            await session.commit()
            return count, []

    count, errors = with_db(cli_settings(), work)
    if errors:
        _print_errors(errors, file)
        raise typer.Exit(1)
    return count


@import_app.command("kpis")
def import_kpis(
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON lines (.jsonl)")],
    source: Annotated[str, typer.Option(help="Source name for rows without one (part of the upsert key).")] = "import",
) -> None:
    """Upsert KPI samples; a file with any bad row changes nothing."""
    records = _read(file, kpi_import.REQUIRED_COLUMNS)

    async def importer(session: AsyncSession, rows: list[tuple[int, dict[str, Any]]]) -> tuple[int, list[RowError]]:
        with Progress(
            TextColumn("[bold]Importing"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeRemainingColumn(),
            console=console,
            transient=True,
            disable=len(rows) < 5000,
        ) as progress:
            task = progress.add_task("kpis", total=len(rows))
            return await kpi_import.import_kpis(
                session, rows, source=source, on_progress=lambda n: progress.advance(task, n)
            )

    count = _run_import(file, records, importer, "kpis.import")
    console.print(f"[green]Imported {count} KPI sample(s)[/green] from {file.name}.")


@import_app.command("schedule")
def import_schedule(
    file: Annotated[
        Path, typer.Argument(exists=True, dir_okay=False, help="CSV or JSON lines: agent,start,end,activity")
    ],
) -> None:
    """Replace agents' schedule segments over the window the file covers (a WFM re-publish), then recompute the
    adherence KPIs of the days it covers that have begun."""
    records = _read(file, adherence_import.SCHEDULE_COLUMNS)
    touched: dict[int, set[date]] = {}

    async def importer(session: AsyncSession, rows: list[tuple[int, dict[str, Any]]]) -> tuple[int, list[RowError]]:
        count, errors, days = await adherence_import.import_schedule_days(session, rows)
        touched.update(days)
        return count, errors

    count = _run_import(file, records, importer, "schedule.import")
    console.print(f"[green]Imported {count} schedule segment(s)[/green] from {file.name}.")
    try:
        result = with_db(cli_settings(), lambda deps: compute_adherence_kpis(deps, only=touched))
    except Exception as exc:  # the schedule is in: say how to finish the job rather than show a traceback
        days = sorted({d for team_days in touched.values() for d in team_days})
        err.print(
            f"[red]The schedule is imported, but recomputing its days' adherence KPIs failed ({exc}).[/red]\n"
            f"Run: rhythm adherence recompute --from {days[0]} --to {days[-1]}",
            highlight=False,
        )
        raise typer.Exit(1) from None
    if result.agent_days:
        console.print(f"Adherence KPIs recomputed: {result.agent_days} agent-day(s), {result.samples} figure(s).")


@pull_app.command("zendesk")
def pull_zendesk_command(
    days: Annotated[int, typer.Option(min=1, max=31, help="Rebuild this many days back (team-local days).")] = 2,
) -> None:
    """Pull solved-ticket KPIs from Zendesk Support now (the scheduler also does this every 30 min)."""
    from datetime import timedelta

    from bot.ingest.zendesk import pull_zendesk
    from bot.services.pull import zendesk_options

    async def work(deps: Deps) -> Any:
        since = deps.clock.now() - timedelta(days=days)
        return await pull_zendesk(deps, since=since, options=zendesk_options(deps), actor="cli")

    settings = cli_settings()
    if not settings.zendesk_subdomain:
        err.print("[red]Configuration error:[/red] RHYTHM_ZENDESK_SUBDOMAIN is not set.")
        raise typer.Exit(2)
    result = with_db(settings, work)
    console.print(
        f"Zendesk: {result.tickets_seen} tickets ({result.solved} solved) over {result.pages} page(s); "
        f"{result.records_upserted} KPI sample(s) written."
    )
    if result.unknown_assignees:
        console.print(f"[yellow]Assignees not on any roster (skipped):[/yellow] {', '.join(result.unknown_assignees)}")
    for problem in result.errors:
        err.print(f"[red]{problem}[/red]")
    if not result.complete:
        err.print("[red]The export did not finish (page cap reached); nothing was written.[/red]")
        raise typer.Exit(1)


def _read(file: Path, required: set[str]) -> list[tuple[int, dict[str, Any]]]:
    try:
        return read_records(file, required)
    except ImportFileError as exc:
        err.print(f"[red]{file}: {exc}; nothing was imported.[/red]")
        raise typer.Exit(1) from None


@app.command()
def run() -> None:
    """Serve Slack (HTTP at /slack/events, or Socket Mode when SLACK_APP_TOKEN is set) and /healthz."""
    from bot.server import serve

    settings = cli_settings()
    try:
        settings.require_slack()
    except ConfigError as exc:
        err.print(f"[red]Configuration error:[/red] {exc}")
        raise typer.Exit(2) from None
    if settings.encryption_key is None:
        err.print(f"[yellow]{NO_ENCRYPTION_KEY}[/yellow]", highlight=False)
    logging.basicConfig(level=settings.log_level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    asyncio.run(serve(settings))


@app.command()
def demo(
    database_url: Annotated[
        str, typer.Option(help="Where the demo database goes (recreated each run).")
    ] = "sqlite+aiosqlite:///./rhythm-demo.db",
    out: Annotated[Path, typer.Option(help="Folder for each message's Block Kit JSON.")] = Path("demo-output"),
) -> None:
    """A demo campaign on embedded SQLite, driven through the real app path, with no Slack account."""
    from bot.sandbox.demo import run_demo

    settings = cli_settings(database_url=database_url)
    asyncio.run(run_demo(settings, out=out, console=console))


def main() -> None:
    # Imports made, nothing read yet: keep the collector off the modules, and off the hundreds of thousands of
    # live objects a large import holds (bot/runtime.py). `rhythm run` tunes again once its app is built.
    tune_gc()
    app()
