"""Pull connector for a presence feed: where a WFM or helpdesk cannot push ``POST /api/v1/agent-states``, Rhythm
polls it. Any source that can hand over pages of state changes fits :class:`PresenceSource`; the generic JSON
feed below covers most (a small adapter in front of a vendor API, or the vendor's own export endpoint).

The generic JSON feed (``RHYTHM_PRESENCE_FEED_URL``, bearer ``RHYTHM_PRESENCE_FEED_TOKEN``):

- ``GET {url}?since=<ISO 8601 UTC>`` for the first page (events at or after that moment), then
  ``GET {url}?cursor=<next_cursor>`` for every page after, on this poll and the next ones;
- answers ``200`` with ``{"events": [{"agent": …, "at": …, "state": …}, …], "next_cursor": "…",
  "has_more": false}``. ``agent``/``at``/``state`` are what the ingest API takes. ``next_cursor`` (at most 200
  characters) is opaque; a feed that has none is polled by time instead, each poll from the last good one.

Records are handed on as they came: validation, agent lookup and storage are the ingest API's
(:func:`bot.ingest.adherence.import_states_skipping`), so a pulled event means what a pushed one does.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import httpx

from bot.config import Settings
from bot.ingest.records import Record

MAX_CURSOR = 200  # stored in job_run.detail
DEFAULT_TIMEOUT = 10.0  # seconds per request; a feed slower than that is retried at the next poll


class PresenceFeedError(Exception):
    """The feed failed or answered nonsense. The message has the status or error kind, never a payload."""


@dataclass(frozen=True, slots=True)
class PresencePage:
    records: list[Record]  # {"agent", "at", "state"} as the feed sent them, not yet validated
    cursor: str | None  # where the next fetch carries on; None: the feed has no cursor
    more: bool  # another page is ready now (fetch again with ``cursor``)


class PresenceSource(Protocol):
    async def fetch(self, *, cursor: str | None, since: datetime) -> PresencePage:
        """The page after ``cursor``; without one, the first page of state changes at or after ``since``."""
        ...


class JsonPresenceFeed:
    """The generic JSON feed over one ``httpx.AsyncClient`` (auth header set on the client)."""

    def __init__(self, http: httpx.AsyncClient, url: str) -> None:
        self._http = http
        self._url = url

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> JsonPresenceFeed:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def fetch(self, *, cursor: str | None, since: datetime) -> PresencePage:
        params = {"cursor": cursor} if cursor is not None else {"since": since.astimezone(UTC).isoformat()}
        try:
            resp = await self._http.get(self._url, params=params)
        except httpx.TimeoutException:
            raise PresenceFeedError("timed out") from None
        except httpx.HTTPError as exc:
            raise PresenceFeedError(f"request failed ({type(exc).__name__})") from None
        if resp.status_code != 200:
            raise PresenceFeedError(f"HTTP {resp.status_code}")
        try:
            body = resp.json()
        except ValueError:
            raise PresenceFeedError("the answer is not JSON") from None
        return parse_page(body)


def parse_page(body: Any) -> PresencePage:
    """A page from the feed's JSON; a malformed envelope fails the poll, a malformed event is a bad record."""
    if not isinstance(body, dict) or not isinstance(body.get("events"), list):
        raise PresenceFeedError('the answer is not {"events": [...]}')
    cursor, more = body.get("next_cursor"), body.get("has_more", False)
    if cursor is not None and not (isinstance(cursor, str) and 0 < len(cursor) <= MAX_CURSOR):
        raise PresenceFeedError(f"next_cursor must be a string of 1..{MAX_CURSOR} characters")
    if not isinstance(more, bool):
        raise PresenceFeedError("has_more must be true or false")
    records: list[Record] = [
        e if isinstance(e, dict) else {"__error__": "each event must be a JSON object"} for e in body["events"]
    ]
    return PresencePage(records, cursor, more)


def presence_feed_from_settings(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None, timeout: float = DEFAULT_TIMEOUT
) -> JsonPresenceFeed | None:
    """The configured feed, or None when ``RHYTHM_PRESENCE_FEED_URL`` is unset (the connector is off)."""
    if not settings.presence_feed_url:
        return None
    headers = {"Accept": "application/json"}
    if settings.presence_feed_token is not None:
        headers["Authorization"] = f"Bearer {settings.presence_feed_token.get_secret_value()}"
    http = httpx.AsyncClient(headers=headers, timeout=httpx.Timeout(timeout), transport=transport)
    return JsonPresenceFeed(http, settings.presence_feed_url)
