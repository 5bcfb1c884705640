"""``rhythm adherence recompute``: rebuild the daily adherence and conformance KPIs of past days.

The scheduled job recomputes today and yesterday. A schedule re-published for older days, state events sent late
or a breach excused a week on change older figures too: ``rhythm import schedule`` and the schedule API
recompute the days they touched by themselves, and this command does any range by hand.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import Annotated

import typer
from rich.console import Console

from bot.cli_db import with_db_from_env
from bot.deps import Deps
from bot.services.adherence_kpis import KpiRun, compute_adherence_kpis
from bot.store import audit, org

adherence_app = typer.Typer(help="Schedule adherence: recompute its daily KPIs.", no_args_is_help=True)
console = Console()
err = Console(stderr=True)
MAX_DAYS = 92


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option) from None


@adherence_app.command("recompute")
def recompute(
    first: Annotated[str, typer.Option("--from", help="First local day, YYYY-MM-DD.")],
    last: Annotated[str | None, typer.Option("--to", help="Last local day (default: --from).")] = None,
    team: Annotated[str | None, typer.Option(help="Only this team (its key); default: every team.")] = None,
) -> None:
    """Recompute the adherence KPIs of every agent with a schedule on the days given (idempotent)."""
    start = _day(first, "--from")
    end = _day(last, "--to") if last else start
    if end < start:
        raise typer.BadParameter("--to is before --from", param_hint="--to")
    if (end - start).days + 1 > MAX_DAYS:
        raise typer.BadParameter(f"at most {MAX_DAYS} days at a time", param_hint="--to")
    days = [start + timedelta(days=i) for i in range((end - start).days + 1)]

    async def work(deps: Deps) -> KpiRun | None:
        async with deps.sessions() as session:
            teams = {t.key: t.id for t in await org.all_teams(session)}
        if team is not None and team not in teams:
            err.print(f"[red]No team with the key {team!r}.[/red] Teams: {', '.join(sorted(teams)) or 'none'}")
            return None
        chosen = [teams[team]] if team is not None else list(teams.values())
        result = await compute_adherence_kpis(deps, only=dict.fromkeys(chosen, days))
        async with deps.sessions() as session:
            audit.record(session, actor="cli", action="adherence.recompute", subject=f"{start}..{end}", team=team)
            await session.commit()
        return result

    result = with_db_from_env(work)
    if result is None:
        raise typer.Exit(1)
    console.print(
        f"[green]Adherence KPIs recomputed[/green] for {start:%a %d %b %Y}"
        + (f" to {end:%a %d %b %Y}" if end != start else "")
        + f": {result.agent_days} agent-day(s) with a schedule, {result.samples} figure(s)."
    )
