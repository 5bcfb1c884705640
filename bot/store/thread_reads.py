"""PostgreSQL's bounded hot reads on a few threads, each with its own long-lived psycopg connection.

A cold ``/kpi team`` reads one team's days (a few hundred rows). Through the async engine that is a pool
checkout, a ping, BEGIN, the query and ROLLBACK, each a turn of an event loop that is busy with every other
request in flight: under a burst of cold teams the reads queued behind each other and the ack p99 was ~250 ms
where the reads themselves take ~1.3 ms (bench/kpi_latency.py). Here a read is one hop to a thread whose
connection is already open, in autocommit (no BEGIN/ROLLBACK), with the statement prepared after a few uses.
psycopg waits for the server with the GIL released and decodes the rows in one go, so the thread does not fight
the loop row by row the way sqlite3 does (which is why SQLite's reads run on the loop thread instead:
bot/store/loop_reads.py).

The connections are read-only and time-limited; one the server closed (a restart) is replaced and the read tried
once more on the new one; any other failure, and the caller falls back to the async engine.
"""

from __future__ import annotations

import asyncio
import functools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Concatenate, ParamSpec, TypeVar

import psycopg
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

P = ParamSpec("P")
T = TypeVar("T")
Connection = psycopg.Connection[Any]

THREADS = 6  # reads in flight at once; each holds one PostgreSQL connection
APPLICATION_NAME = "rhythm-reads"
OPTIONS = "-c default_transaction_read_only=on -c statement_timeout=10000"  # 10 s: the ack falls back long before


class ThreadReader:
    def __init__(self, url: URL, *, threads: int = THREADS) -> None:
        self._conninfo = url.set(drivername="postgresql").render_as_string(hide_password=False)
        self._pool = ThreadPoolExecutor(threads, thread_name_prefix="rhythm-read")
        self._local = threading.local()
        self._lock = threading.Lock()
        self._opened: list[Connection] = []

    async def run(self, read: Callable[Concatenate[Connection, P], T], *args: P.args, **kwargs: P.kwargs) -> T:
        """``read(connection, ...)`` on one of the threads."""
        call = functools.partial(self._call, read, *args, **kwargs)
        return await asyncio.get_running_loop().run_in_executor(self._pool, call)

    def _call(self, read: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        conn = self._connection()
        try:
            return read(conn, *args, **kwargs)
        except psycopg.OperationalError:
            if not conn.broken:
                raise
            return read(self._connection(), *args, **kwargs)  # the server closed it (a restart): once more, anew

    def _connection(self) -> Connection:
        conn: Connection | None = getattr(self._local, "conn", None)
        if conn is not None and not (conn.closed or conn.broken):
            return conn
        fresh = psycopg.connect(
            self._conninfo, autocommit=True, connect_timeout=5, application_name=APPLICATION_NAME, options=OPTIONS
        )
        self._local.conn = fresh
        with self._lock:
            if conn is not None:  # the one it replaces
                conn.close()
                self._opened.remove(conn)
            self._opened.append(fresh)
        return fresh

    def dispose(self) -> None:
        """Wait for reads in flight, then close every connection the threads opened."""
        self._pool.shutdown(wait=True)
        with self._lock:
            for conn in self._opened:
                conn.close()
            self._opened.clear()


def thread_reader_for(engine: AsyncEngine) -> ThreadReader | None:
    """A reader for a PostgreSQL engine; None for SQLite."""
    return ThreadReader(engine.url) if engine.url.get_backend_name() == "postgresql" else None
