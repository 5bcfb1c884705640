"""What the benchmarks share: each uses a PostgreSQL database of its own on the loopback server."""

from __future__ import annotations

import psycopg
from sqlalchemy.engine import make_url


async def ensure_pg_database(url: str) -> None:
    """Create the URL's database when it does not exist yet (never touches any other database)."""
    u = make_url(url)
    admin = u.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    async with await psycopg.AsyncConnection.connect(admin, autocommit=True) as conn:
        cur = await conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (u.database,))
        if await cur.fetchone() is None:
            await conn.execute(f'CREATE DATABASE "{u.database}"')
