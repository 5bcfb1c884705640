"""Serving: uvicorn for HTTP, plus the Socket Mode client in the same loop when an app token is set."""

from __future__ import annotations

import asyncio
import logging

import uvicorn
from slack_bolt.adapter.socket_mode.async_handler import AsyncSocketModeHandler

from bot.api.app import create_asgi_app
from bot.config import Settings
from bot.deps import build_deps
from bot.runtime import tune_gc
from bot.store.migrate import upgrade

log = logging.getLogger(__name__)


async def serve(settings: Settings) -> None:
    deps = build_deps(settings)
    await upgrade(deps.engine)
    asgi = create_asgi_app(settings, deps=deps, background=True)
    server = uvicorn.Server(
        uvicorn.Config(asgi, host=settings.host, port=settings.port, log_level=settings.log_level.lower())
    )
    tune_gc()  # everything built so far lives as long as the process: keep it out of every collection
    try:
        if settings.socket_mode:
            assert settings.slack_app_token is not None
            handler = AsyncSocketModeHandler(asgi.state.bolt, settings.slack_app_token.get_secret_value())
            log.info("Socket Mode on; HTTP serves /healthz on port %s", settings.port)
            await asyncio.gather(server.serve(), handler.start_async())  # type: ignore[no-untyped-call]
        else:
            log.info("HTTP mode: Slack requests at /slack/events on port %s", settings.port)
            await server.serve()
    finally:
        await deps.close()
