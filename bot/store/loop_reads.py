"""Short, bounded SQLite reads run on the event loop's own thread instead of aiosqlite's worker thread.

aiosqlite runs each statement on a worker thread, and Python's sqlite3 releases the GIL around every row it
steps. While the event loop is busy (many ``/kpi`` in flight) each of those reacquisitions waits up to the
interpreter's switch interval (5 ms) behind the loop, so a team's 480-row read that takes 0.5 ms on its own took
hundreds of milliseconds under load, and every request for that team waited with it (bench/kpi_latency.py: ack
p99 0.7-1.2 s on SQLite). In WAL mode a reader never waits for a writer, so a bounded index range read done
synchronously costs the loop less than handing it to a thread.

Only reads whose size is bounded by design belong here (one team, a window of days). PostgreSQL, an in-memory
database and everything else use the async engine.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

P = ParamSpec("P")
T = TypeVar("T")

BUSY_TIMEOUT_MS = 200  # a WAL reader is blocked only by crash recovery; the loop must not wait long even then


def _reader_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cur.execute("PRAGMA query_only=ON")
    cur.close()


class LoopReader:
    """A synchronous read-only engine on the same SQLite file as the async engine."""

    def __init__(self, url: URL) -> None:
        self.engine: Engine = create_engine(url.set(drivername="sqlite+pysqlite"), hide_parameters=True)
        event.listen(self.engine, "connect", _reader_pragmas)

    def run(self, read: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``read(connection, ...)`` on a pooled connection; the read transaction ends when it returns."""
        with self.engine.connect() as conn:
            return read(conn, *args, **kwargs)

    def dispose(self) -> None:
        self.engine.dispose()


def loop_reader_for(engine: AsyncEngine) -> LoopReader | None:
    """A reader for a SQLite file behind ``engine``; None for PostgreSQL or an in-memory database."""
    url = engine.url
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return LoopReader(url)
