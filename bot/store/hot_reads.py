"""Bounded hot reads — a team's KPI days, the one read a cold ``/kpi team`` makes — run synchronously on the
event loop's own thread, on a read-only connection of their own.

Under a burst of requests the event loop is busy, and both usual ways of reading wait for it
(bench/kpi_latency.py, 50 requests in flight, 150-odd cold teams):

- a read on another thread (aiosqlite's worker, or reader threads with their own psycopg connections) needs the
  GIL back after each wait, and gets it only when the loop thread lets go, up to the interpreter's switch
  interval (5 ms) each time: a read of 0.5-1.5 ms took 8-50 ms, and sqlite3 lets go around every row;
- an asyncio driver needs a turn of the loop for each wait, and a turn runs every request's ready step: raw
  async psycopg connections did worse than the threads (ack p99 116-300 ms against 114-129 ms).

Done on the loop thread, a read costs its own time and nothing more (the bench's cold-pass ack p99 fell to
77-105 ms on both databases, 2.3-2.6x the framework floor). Only reads whose size is bounded by design belong
here: one team, a window of days, an index range (``kpi_day`` is clustered for it: migration 0010). The loop is
stalled for as long as the read takes, so:

- SQLite: a WAL reader never waits for a writer; ``busy_timeout`` bounds crash recovery at 200 ms.
- PostgreSQL: ``statement_timeout`` and ``lock_timeout`` bound the server's part, ``tcp_user_timeout`` and
  1-second keepalives a dead network or host (~2 s); connecting happens off the loop, and after a failed
  connect reads go to the fallback for 10 s rather than queue behind another attempt. Meant for a server within
  a millisecond or so (the same host or network); ``RHYTHM_HOT_READS=false`` sends every read through the async
  engine instead.

A failed read raises (``HOT_READ_ERRORS``) and the caller falls back to the async engine; a connection the
database closed (a PostgreSQL restart) is replaced and the read tried once more. The connections cannot write.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import time
from collections.abc import Callable, Iterator
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

P = ParamSpec("P")
T = TypeVar("T")
C = TypeVar("C")


class HotReadUnavailable(Exception):
    """The reader is closed, or could not connect a moment ago: read through the async engine instead."""


HOT_READ_ERRORS = (sqlite3.Error, psycopg.Error, HotReadUnavailable)
RETRY_CONNECT_AFTER = 10.0  # seconds after a failed connect during which reads go straight to the fallback
SQLITE_BUSY_TIMEOUT_MS = 200
APPLICATION_NAME = "rhythm-reads"
PG_OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=250 -c lock_timeout=100"


class LoopReader(Generic[C]):
    """One read-only connection, used synchronously on the event loop's thread (see the module docstring)."""

    dialect: str

    def __init__(self) -> None:
        self._conn: C | None = None
        self._opening = asyncio.Lock()
        self._closed = False
        self._down_until = 0.0  # monotonic time: no new connection attempt before it

    async def run(self, read: Callable[Concatenate[C, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``read(connection, ...)`` in one read transaction."""
        conn = await self._connection()
        try:
            with self._transaction(conn):
                return read(conn, *args, **kwargs)
        except HOT_READ_ERRORS:
            if not self._lost(conn):
                raise
            self._forget(conn)
        conn = await self._connection()  # the database closed it (a restart): once more, on a new one
        with self._transaction(conn):
            return read(conn, *args, **kwargs)

    async def _connection(self) -> C:
        if self._conn is None:
            async with self._opening:
                if self._closed:
                    raise HotReadUnavailable("the reader is closed")
                if self._conn is None:
                    if time.monotonic() < self._down_until:  # requests queued behind a failed connect: don't wait
                        raise HotReadUnavailable("the database could not be reached a moment ago")
                    try:
                        conn = await self._open()
                    except HOT_READ_ERRORS:
                        self._down_until = time.monotonic() + RETRY_CONNECT_AFTER
                        raise
                    if self._closed:  # disposed while connecting
                        self._close(conn)
                        raise HotReadUnavailable("the reader is closed")
                    self._conn = conn
        return self._conn

    def _forget(self, conn: C) -> None:
        if self._conn is conn:
            self._conn = None
        with contextlib.suppress(*HOT_READ_ERRORS):
            self._close(conn)

    def dispose(self) -> None:
        self._closed = True
        if self._conn is not None:
            self._forget(self._conn)

    async def _open(self) -> C:
        raise NotImplementedError

    def _transaction(self, conn: C) -> contextlib.AbstractContextManager[None]:
        return contextlib.nullcontext()

    def _lost(self, conn: C) -> bool:
        return False

    def _close(self, conn: C) -> None:
        raise NotImplementedError


class SqliteLoopReader(LoopReader[sqlite3.Connection]):
    dialect = "sqlite"

    def __init__(self, path: str, *, uri: bool = False) -> None:
        super().__init__()
        self.path, self.uri = path, uri

    async def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, uri=self.uri, isolation_level=None)  # a local file: opening is cheap
        conn.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        conn.execute("PRAGMA query_only=ON")
        return conn

    @contextlib.contextmanager
    def _transaction(self, conn: sqlite3.Connection) -> Iterator[None]:
        """Several statements of one read see one snapshot."""
        if conn.in_transaction:  # left open by a read whose ROLLBACK failed: start clean
            conn.execute("ROLLBACK")
        conn.execute("BEGIN")
        try:
            yield
        finally:
            conn.execute("ROLLBACK")

    def _close(self, conn: sqlite3.Connection) -> None:
        conn.close()


class PgLoopReader(LoopReader[psycopg.Connection[Any]]):
    dialect = "postgresql"

    def __init__(self, url: URL) -> None:
        super().__init__()
        given = url.query.get("options")  # e.g. a search_path: kept, with the reader's own settings after it
        self._options = " ".join([*([given] if isinstance(given, str) else given or ()), PG_OPTIONS])
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)

    async def _open(self) -> psycopg.Connection[Any]:
        return await asyncio.to_thread(self._connect)  # a network round trip or three: never on the loop

    def _connect(self) -> psycopg.Connection[Any]:
        return psycopg.connect(
            self._conninfo,
            autocommit=True,  # one statement per read: no BEGIN and ROLLBACK round trips
            connect_timeout=5,
            application_name=APPLICATION_NAME,
            options=self._options,
            # A server that stops answering mid-read (statement_timeout cannot fire) must not hold the loop:
            # probes after 1 s of silence, and 1 s without an acknowledgement drops the connection.
            tcp_user_timeout=1000,
            keepalives=1,
            keepalives_idle=1,
            keepalives_interval=1,
            keepalives_count=2,
        )

    def _lost(self, conn: psycopg.Connection[Any]) -> bool:
        return conn.closed or conn.broken

    def _close(self, conn: psycopg.Connection[Any]) -> None:
        conn.close()


def loop_reader_for(engine: AsyncEngine) -> LoopReader[Any] | None:
    """A reader for a SQLite file or a PostgreSQL database behind ``engine``; None for an in-memory SQLite."""
    url = engine.url
    if url.get_backend_name() == "postgresql":
        return PgLoopReader(url)
    if url.get_backend_name() == "sqlite" and url.database not in (None, "", ":memory:"):
        return SqliteLoopReader(url.database, uri=url.query.get("uri") == "true")
    return None
