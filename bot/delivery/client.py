"""The Web API client the delivery worker sends with: no retry handlers of its own.

slack_sdk's 429 and 5xx retry handlers sleep inside the call, which would hide Retry-After from the worker,
hold a send slot while sleeping and retry outside the outbox's attempt count. The worker retries itself, by
rescheduling the row, so its client must not.
"""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.config import Settings

DEFAULT_TIMEOUT = 10  # seconds per Web API call; a slower answer is retried as "timeout"


def create_delivery_client(settings: Settings, token: str, *, timeout: int = DEFAULT_TIMEOUT) -> AsyncWebClient:
    return AsyncWebClient(token=token, base_url=settings.slack_api_url, timeout=timeout, retry_handlers=[])


def without_retry_handlers(client: AsyncWebClient) -> AsyncWebClient:
    """The client itself when it has no retry handlers; otherwise a copy without them.

    A copy, not a change: the client given may be shared with Bolt, whose listeners want their handlers.
    """
    if not client.retry_handlers:
        return client
    return AsyncWebClient(
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        team_id=client.default_params.get("team_id"),
        retry_handlers=[],
    )
