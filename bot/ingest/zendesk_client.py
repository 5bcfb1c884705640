"""Zendesk Support over HTTP: the cursor-based incremental ticket export with the ``metric_sets`` side-load.

Documented behaviour this client relies on:

- Incremental Ticket Export, Cursor Based — ``GET /api/v2/incremental/tickets/cursor``; ``start_time`` (Unix
  seconds, at least a minute in the past) on the first request, ``cursor`` (the previous ``after_cursor``) after
  that; ``end_of_stream`` is true once everything up to now has been returned; ``per_page`` up to 1,000;
  ``include`` side-loads; ``exclude_deleted=true`` drops deleted tickets; at most 10 requests a minute.
  https://developer.zendesk.com/api-reference/ticketing/ticket-management/incremental_exports/
- Side-loading: "the response will include a top-level array of associated data under the appropriate resource
  key", so ``include=metric_sets`` (the export page's own ``include`` example) gives a ``metric_sets`` array of
  Ticket Metrics objects, joined here on ``ticket_id``.
  https://developer.zendesk.com/documentation/ticketing/using-the-zendesk-api/side_loading/
  Neither page shows an export response with the side-load, and public clients also read it embedded in each
  ticket as ``metric_set``; both shapes are accepted.
- Ticket Metrics fields used: ``solved_at``, ``replies`` (public agent replies), ``reply_time_in_minutes``
  (``business`` / ``calendar``). https://developer.zendesk.com/api-reference/ticketing/tickets/ticket_metrics/
- Rate limits: a 429 carries ``Retry-After`` in seconds. https://developer.zendesk.com/api-reference/introduction/rate-limits/
- Authentication: basic auth as ``{email}/token:{api_token}`` (the code samples on the pages above).

Tickets are reduced to :class:`TicketFacts` the moment a page arrives: subjects, descriptions, comments and
requester data are never kept, so they cannot reach a log or the database.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from bot.config import ConfigError, Settings, env_name

log = logging.getLogger(__name__)

EXPORT_PATH = "/api/v2/incremental/tickets/cursor"
DEFAULT_MAX_PAGES = 50  # x 1,000 tickets; at 10 requests a minute that is about five minutes of export
_TIMEOUT = httpx.Timeout(60.0, connect=10.0)  # a page of 1,000 tickets with side-loads can take a while

Sleep = Callable[[float], Awaitable[None]]
Hours = Literal["business", "calendar"]


class ZendeskError(Exception):
    """Zendesk refused or kept failing a request. The message has the path and status, never a payload."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@dataclass(frozen=True, slots=True)
class TicketFacts:
    """The few fields of a ticket and its metric set that KPIs need (ids, times, counts; no content)."""

    ticket_id: int
    status: str  # new | open | pending | hold | solved | closed
    assignee_id: int | None
    generated_timestamp: int | None  # Unix seconds of the ticket's latest change of any kind
    solved_at: datetime | None  # aware UTC; the latest solve
    replies: int | None  # public replies by agents
    reply_minutes_business: int | None  # minutes to the first agent reply, inside business hours
    reply_minutes_calendar: int | None  # the same, in calendar time

    def reply_minutes(self, hours: Hours) -> int | None:
        return self.reply_minutes_business if hours == "business" else self.reply_minutes_calendar


@dataclass(frozen=True, slots=True)
class TicketExport:
    tickets: tuple[TicketFacts, ...]  # one per ticket id, at its latest state in the stream
    pages: int
    complete: bool  # end_of_stream was reached (False: stopped at the page cap)
    next_cursor: str | None  # the last after_cursor: where a later export would carry on


class ZendeskClient:
    """The incremental ticket export, with 429/5xx retries. Wraps one ``httpx.AsyncClient`` (base URL, auth)."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        sleep: Sleep = asyncio.sleep,
        max_retries: int = 4,
        max_retry_after: float = 300.0,
        per_page: int = 1000,
    ) -> None:
        """Args:
        http: client with ``base_url=https://{subdomain}.zendesk.com`` and auth already set.
        sleep: awaited between retries (tests pass a recorder).
        max_retries: further attempts per request after a 429, a 5xx or a network error.
        max_retry_after: seconds; a longer ``Retry-After`` fails the run rather than stall a job for it.
        per_page: tickets per page, 1..1000.
        """
        if not 1 <= per_page <= 1000:
            raise ValueError("per_page must be 1..1000 (Zendesk's maximum)")
        self._http = http
        self._sleep = sleep
        self._max_retries = max_retries
        self._max_retry_after = max_retry_after
        self._per_page = per_page

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> ZendeskClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    async def export_tickets(
        self, *, since: datetime | None = None, cursor: str | None = None, max_pages: int = DEFAULT_MAX_PAGES
    ) -> TicketExport:
        """Every ticket changed since ``since`` (or after ``cursor``), following pages to ``end_of_stream``.

        Stops after ``max_pages`` pages with ``complete=False``. A ticket changed during the export can appear
        twice; the later copy wins.
        """
        if cursor is not None and since is None:
            position = {"cursor": cursor}
        elif since is not None and cursor is None:
            if since.tzinfo is None:
                raise ValueError("since must be timezone-aware")
            position = {"start_time": str(int(since.timestamp()))}  # only on the first request
        else:
            raise ValueError("give exactly one of since or cursor")
        # The cursor carries the position only, so the options go on every request (as in the documented
        # exclude_deleted example).
        options = {"include": "metric_sets", "exclude_deleted": "true", "per_page": str(self._per_page)}
        by_id: dict[int, TicketFacts] = {}
        pages, complete = 0, False
        while pages < max_pages:
            body = await self._get_json(EXPORT_PATH, {**position, **options})
            pages += 1
            for ticket in parse_tickets(body):
                by_id.pop(ticket.ticket_id, None)  # re-insert so the order follows the latest copy
                by_id[ticket.ticket_id] = ticket
            after = body.get("after_cursor")
            if isinstance(after, str) and after:
                cursor, position = after, {"cursor": after}
            if body.get("end_of_stream") is True or not (isinstance(after, str) and after):
                complete = True
                break
        log.info("zendesk export: %d page(s), %d ticket(s), complete=%s", pages, len(by_id), complete)
        return TicketExport(tuple(by_id.values()), pages, complete, cursor)

    async def _get_json(self, path: str, params: Mapping[str, str]) -> dict[str, Any]:
        attempt = 0
        while True:
            try:
                resp = await self._http.get(path, params=params)
            except httpx.TransportError as exc:  # connect errors and timeouts: worth another go
                problem, delay = type(exc).__name__, self._backoff(attempt)
            else:
                status = resp.status_code
                if status < 400:
                    return _json_object(resp, path)
                if status != 429 and status < 500:
                    raise ZendeskError(f"GET {path}: HTTP {status}{_hint(status)}", status=status)
                problem = f"HTTP {status}"
                delay = _retry_after(resp) or (60.0 if status == 429 else self._backoff(attempt))
                if delay > self._max_retry_after:
                    raise ZendeskError(f"GET {path}: rate limited for {delay:.0f}s; try later", status=status)
            if attempt >= self._max_retries:
                raise ZendeskError(f"GET {path}: {problem} after {attempt + 1} attempts")
            attempt += 1
            log.warning("zendesk %s: %s; retry %d/%d in %.1fs", path, problem, attempt, self._max_retries, delay)
            await self._sleep(delay)

    @staticmethod
    def _backoff(attempt: int) -> float:
        return float(min(2**attempt, 30))  # 1, 2, 4, 8 … seconds


def _retry_after(resp: httpx.Response) -> float | None:
    """Seconds to wait from ``Retry-After``; None when absent, zero, or an HTTP date (Zendesk sends seconds).

    Without it a 429 waits a minute (the incremental export allows 10 requests a minute) and a 5xx backs off.
    """
    raw = resp.headers.get("Retry-After", "").strip()
    try:
        seconds = float(raw)
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def _hint(status: int) -> str:
    if status in (401, 403):
        return f" (check {env_name('zendesk_email')} and {env_name('zendesk_api_token')}; exports need an admin)"
    return ""


def _json_object(resp: httpx.Response, path: str) -> dict[str, Any]:
    try:
        body = resp.json()
    except ValueError:
        raise ZendeskError(f"GET {path}: the response is not JSON", status=resp.status_code) from None
    if not isinstance(body, dict):
        raise ZendeskError(f"GET {path}: expected a JSON object", status=resp.status_code)
    return body


def parse_tickets(page: Mapping[str, Any]) -> list[TicketFacts]:
    """One export page (documented JSON) to facts, joining side-loaded metric sets by ticket id."""
    side = {m.get("ticket_id"): m for m in _objects(page.get("metric_sets"))}
    facts = []
    for raw in _objects(page.get("tickets")):
        ticket_id = _int(raw.get("id"))
        if ticket_id is None:
            raise ZendeskError("a ticket in the export has no id")
        embedded = raw.get("metric_set")
        metrics = embedded if isinstance(embedded, dict) else side.get(ticket_id, {})
        reply = metrics.get("reply_time_in_minutes")
        reply = reply if isinstance(reply, dict) else {}
        facts.append(
            TicketFacts(
                ticket_id=ticket_id,
                status=str(raw.get("status") or ""),
                assignee_id=_int(raw.get("assignee_id")),
                generated_timestamp=_int(raw.get("generated_timestamp")),
                solved_at=_utc(metrics.get("solved_at")),
                replies=_int(metrics.get("replies")),
                reply_minutes_business=_int(reply.get("business")),
                reply_minutes_calendar=_int(reply.get("calendar")),
            )
        )
    return facts


def _objects(value: object) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _utc(value: object) -> datetime | None:
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)  # "2011-05-09T10:38:52Z"
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None


def zendesk_client_from_settings(
    settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None, sleep: Sleep = asyncio.sleep
) -> ZendeskClient | None:
    """A client for the configured account; None when ``RHYTHM_ZENDESK_SUBDOMAIN`` is unset.

    Raises ConfigError when the subdomain is set but the email or API token is missing. The caller closes the
    client (``await client.aclose()`` or ``async with``).
    """
    if not settings.zendesk_subdomain:
        return None
    missing = [
        env_name(name)
        for name, value in (
            ("zendesk_email", settings.zendesk_email),
            ("zendesk_api_token", settings.zendesk_api_token),
        )
        if not value
    ]
    if missing:
        verb = "is" if len(missing) == 1 else "are"
        raise ConfigError(f"{env_name('zendesk_subdomain')} is set but {' and '.join(missing)} {verb} missing")
    assert settings.zendesk_email is not None and settings.zendesk_api_token is not None
    http = httpx.AsyncClient(
        base_url=f"https://{settings.zendesk_subdomain}.zendesk.com",
        auth=httpx.BasicAuth(f"{settings.zendesk_email}/token", settings.zendesk_api_token.get_secret_value()),
        timeout=_TIMEOUT,
        headers={"Accept": "application/json", "User-Agent": "rhythm-bot"},
        transport=transport,
    )
    return ZendeskClient(http, sleep=sleep)
