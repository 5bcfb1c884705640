"""The ASGI app (FastAPI): Slack's HTTP endpoint and the health check."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from slack_bolt.adapter.fastapi.async_handler import AsyncSlackRequestHandler
from slack_bolt.async_app import AsyncApp
from sqlalchemy import text

from bot import __version__
from bot.api.adherence import adherence_router
from bot.api.ingest import ingest_router
from bot.app import create_bolt_app
from bot.background import Background
from bot.config import Settings
from bot.deps import Deps, build_deps

log = logging.getLogger(__name__)


def create_asgi_app(
    settings: Settings, *, deps: Deps | None = None, bolt: AsyncApp | None = None, background: bool = False
) -> FastAPI:
    """Tests and the demo pass their own ``deps``; the lifespan disposes only what this function built.

    ``background=True`` (``rhythm run``) starts the outbox worker and the scheduler in the lifespan.
    """
    owns_deps = deps is None
    deps = deps or build_deps(settings)
    bolt = bolt or create_bolt_app(deps)
    slack_handler = AsyncSlackRequestHandler(bolt)

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        services = Background(deps) if background else None
        if services:
            await services.start()
        try:
            yield
        finally:
            if services:
                await services.stop()
            if owns_deps:
                await deps.close()

    api = FastAPI(title="Rhythm", version=__version__, lifespan=lifespan)
    api.state.deps = deps
    api.state.bolt = bolt
    api.include_router(ingest_router(deps))
    api.include_router(adherence_router(deps))

    @api.post("/slack/events", include_in_schema=False)
    async def slack_events(request: Request) -> Response:
        return await slack_handler.handle(request)

    @api.get("/healthz", tags=["ops"])
    async def healthz() -> JSONResponse:
        """200 when the database answers; 503 otherwise (the container HEALTHCHECK uses this)."""
        try:
            async with deps.engine.connect() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # any DB failure means unhealthy; say which kind, not the DSN
            log.warning("health check failed: %s", type(exc).__name__)
            return JSONResponse({"status": "unhealthy", "database": "unreachable"}, status_code=503)
        return JSONResponse({"status": "ok", "database": "ok", "version": __version__})

    return api
