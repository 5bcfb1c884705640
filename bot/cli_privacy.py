"""``rhythm export agent EMAIL`` (subject access request), ``rhythm erase agent EMAIL`` (right to erasure) and
``rhythm crypto new-key | rotate`` (the key that encrypts private coaching notes).

The export holds personal and sensitive data (private coaching notes included, unless withheld): it is written
to a file with owner-only permissions, and its path and section counts are printed, never its content.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Annotated, Literal, TypeVar

import typer
from rich.console import Console

from bot.cli_db import with_db_from_env
from bot.crypto import generate_key
from bot.deps import Deps
from bot.domain.errors import UserFacingError

console = Console()
err = Console(stderr=True)
T = TypeVar("T")
NO_ENCRYPTION_KEY = (
    "RHYTHM_ENCRYPTION_KEY is not set: 1:1 private notes are off (the form leaves them out) and notes already "
    "stored can't be opened. Set a Fernet key to use them (see README: Configuration)."
)


def _run(work: Callable[[Deps], Awaitable[T]]) -> T:
    try:
        return with_db_from_env(work)
    except UserFacingError as exc:
        err.print(f"[red]{exc.message}[/red] Nothing was exported or changed.", highlight=False)
        raise typer.Exit(1) from None


def export_agent(
    email: Annotated[str, typer.Argument(help="The person's email on the roster.")],
    format: Annotated[Literal["json", "csv"], typer.Option("--format", help="json or csv (one long table).")] = "json",
    out: Annotated[Path | None, typer.Option("--out", help="File to write (default: export-member-ID.FORMAT).")] = None,
    by: Annotated[
        str | None,
        typer.Option("--by", help="Email of the person asking (an admin or the agent's lead/manager); audited."),
    ] = None,
    redact_private_notes: Annotated[
        bool, typer.Option("--redact-private-notes", help="Withhold the leaders' private 1:1 notes from the file.")
    ] = False,
) -> None:
    """Everything Rhythm holds about one person, for a subject access request (audited)."""
    from bot.services.coaching_privacy import export_member, to_csv, to_json

    async def work(deps: Deps) -> tuple[int, dict[str, int], int, str]:
        result = await export_member(deps, email=email, requested_by=by, redact_notes=redact_private_notes)
        text = to_json(result) if format == "json" else to_csv(result)
        return result.member_id, result.counts, result.private_notes, text

    member_id, counts, notes, text = _run(work)
    path = out or Path(f"export-member-{member_id}.{format}")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)  # personal data: owner-only
    with os.fdopen(fd, "w", encoding="utf-8", newline="") as f:
        f.write(text)
    console.print(f"[green]Wrote {path}[/green] (member {member_id}):", highlight=False)
    for name, count in counts.items():
        if count:
            console.print(f"  {name}: {count}", highlight=False)
    if notes:
        console.print(
            f"[yellow]The file holds {notes} session(s) of private notes written by leaders "
            "(coaching_session.private_notes): review them before release, or re-run with "
            "--redact-private-notes.[/yellow]",
            highlight=False,
        )


def erase_agent(
    email: Annotated[str, typer.Argument(help="The person's email on the roster.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask for confirmation.")] = False,
) -> None:
    """Erase everything held about one person; the member row is kept as an anonymised tombstone."""
    from bot.services.coaching_privacy import erase_member, preview_erasure

    async def preview(deps: Deps) -> tuple[int, dict[str, int]]:
        return await preview_erasure(deps, email=email)

    if not yes:
        member_id, counts = _run(preview)
        console.print(f"This permanently erases member {member_id}'s data:", highlight=False)
        for name, count in counts.items():
            if count:
                console.print(f"  {name}: {count} row(s)", highlight=False)
        console.print("  member: name, email and Slack id replaced; deactivated")
        if not typer.confirm("Erase?", default=False):
            err.print("Nothing was erased.")
            raise typer.Exit(1)

    async def work(deps: Deps) -> tuple[int, dict[str, int]]:
        return await erase_member(deps, email=email)

    member_id, counts = _run(work)
    total = sum(v for k, v in counts.items() if k != "member")
    console.print(f"[green]Erased member {member_id}:[/green] {total} row(s) deleted, member row anonymised.")


crypto_app = typer.Typer(help="The key that encrypts 1:1 private notes (RHYTHM_ENCRYPTION_KEY).", no_args_is_help=True)


@crypto_app.command("new-key")
def new_key() -> None:
    """Print a new Fernet key: put it in front of RHYTHM_ENCRYPTION_KEY (comma-separated), then `rotate`."""
    print(generate_key())


@crypto_app.command("rotate")
def rotate(
    batch_size: Annotated[int, typer.Option(min=1, max=10000, help="Notes re-encrypted per transaction.")] = 500,
) -> None:
    """Re-encrypt every private note with the newest key (the first of RHYTHM_ENCRYPTION_KEY); audited.

    Afterwards the old key can be removed: notes still sealed with a key that is no longer configured are
    counted as unreadable and left as they are.
    """
    from bot.services.coaching_privacy import rotate_notes

    async def work(deps: Deps) -> tuple[int, int, int]:
        result = await rotate_notes(deps, batch_size=batch_size)
        return result.resealed, result.current, result.unreadable

    resealed, current, unreadable = _run(work)
    console.print(
        f"[green]Re-encrypted {resealed} private note(s)[/green] with the newest key; {current} already were."
    )
    if unreadable:
        err.print(
            f"[yellow]{unreadable} note(s) can't be opened with any configured key and were left as they are.[/yellow]"
        )
