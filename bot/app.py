"""Composition root: builds the Bolt app and the ASGI app from Settings. Nothing is built at import time."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
    AsyncServerErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot import handlers
from bot.deps import Deps, inject_deps
from bot.handlers.tenant import tenant_guard


def create_web_client(deps: Deps, token: str) -> AsyncWebClient:
    client = AsyncWebClient(token=token, base_url=deps.settings.slack_api_url, timeout=10)
    # Bolt copies these into each request's client. Listeners ack before any Web API call, so a 429 sleep
    # never delays an ack.
    client.retry_handlers.extend(
        [AsyncRateLimitErrorRetryHandler(max_retry_count=2), AsyncServerErrorRetryHandler(max_retry_count=2)]
    )
    if not any(isinstance(h, AsyncConnectionErrorRetryHandler) for h in client.retry_handlers):
        client.retry_handlers.append(AsyncConnectionErrorRetryHandler())
    return client


def create_bolt_app(deps: Deps, *, process_before_response: bool = False) -> AsyncApp:
    bot_token, secret = deps.settings.require_slack()
    app = AsyncApp(
        client=create_web_client(deps, bot_token),
        signing_secret=secret or "socket-mode-unsigned",
        request_verification_enabled=secret is not None,  # Socket Mode is authenticated by the app token instead
        process_before_response=process_before_response,
    )
    app.use(tenant_guard(deps.settings.slack_app_id))  # first: nothing runs for another workspace
    app.use(inject_deps(deps))
    handlers.register_all(app)
    return app
