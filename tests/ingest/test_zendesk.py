"""Zendesk pull connector: the documented incremental export (recorded pages), retries, the mapping to KPI
records, and the pull end to end into the test database."""

from __future__ import annotations

import base64
import copy
import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import func, select, update
from sqlmodel import col

from bot.config import ConfigError, Settings
from bot.deps import Deps
from bot.ingest.zendesk import MappingOptions, map_solved_tickets, pull_zendesk
from bot.ingest.zendesk_client import (
    EXPORT_PATH,
    TicketFacts,
    ZendeskClient,
    ZendeskError,
    parse_tickets,
    zendesk_client_from_settings,
)
from bot.store.tables import KpiSample, Member, Metric

FIXTURES = Path(__file__).parent / "fixtures"
PAGE1: dict[str, Any] = json.loads((FIXTURES / "incremental_tickets_page1.json").read_text())
PAGE2: dict[str, Any] = json.loads((FIXTURES / "incremental_tickets_page2.json").read_text())

THANDI, SIPHO, AYESHA, BOB, GHOST = "412000000101", "412000000102", "412000000103", "412000000201", "412000000999"
JHB, LONDON = ZoneInfo("Africa/Johannesburg"), ZoneInfo("Europe/London")
SINCE = datetime(2026, 11, 16, 22, 0, tzinfo=UTC)  # midnight on the 17th in Johannesburg
D17, D18 = date(2026, 11, 17), date(2026, 11, 18)

# Worked by hand from the two fixture pages (target 60 business minutes):
#   thandi 17th: #50011 (1 reply, 12 min) + #50012 (3 replies, 95 min; pending on page 1, solved on page 2)
#   thandi 18th: #50021 (solved 22:30 UTC on the 17th = 00:30 in Johannesburg; 1 reply, 45 min)
#   sipho 17th:  #50013 (2 replies, 30 min)      sipho 18th: #50023 (closed; 1 reply, 75 business / 20 calendar)
#   bob 17th (London): #50014 (no reply)
#   ignored: #50015 (open), #50016 (solved on the 16th, before the window); #50022's assignee is no one we know.
EXPECTED = {
    ("thandi@example.com", "items", D17): (2, 0),
    ("thandi@example.com", "resolution", D17): (1, 2),
    ("thandi@example.com", "sla", D17): (1, 2),
    ("thandi@example.com", "items", D18): (1, 0),
    ("thandi@example.com", "resolution", D18): (1, 1),
    ("thandi@example.com", "sla", D18): (1, 1),
    ("sipho@example.com", "items", D17): (1, 0),
    ("sipho@example.com", "resolution", D17): (0, 1),
    ("sipho@example.com", "sla", D17): (1, 1),
    ("sipho@example.com", "items", D18): (1, 0),
    ("sipho@example.com", "resolution", D18): (1, 1),
    ("sipho@example.com", "sla", D18): (0, 1),
    ("bob@example.com", "items", D17): (1, 0),
    ("bob@example.com", "resolution", D17): (1, 1),
}


class Sleeps:
    """An injected sleep that records the seconds asked for and returns at once."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.seconds.append(seconds)


Reply = httpx.Response | dict[str, Any] | Callable[[httpx.Request], httpx.Response]


class FakeZendesk:
    """Serves the queued replies in order (the last one repeats) and records every request."""

    def __init__(self, *replies: Reply) -> None:
        self.replies = list(replies)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        reply = self.replies.pop(0) if len(self.replies) > 1 else self.replies[0]
        if callable(reply):
            return reply(request)
        return reply if isinstance(reply, httpx.Response) else httpx.Response(200, json=reply)

    @property
    def params(self) -> list[dict[str, str]]:
        return [dict(r.url.params) for r in self.requests]

    def client(self, sleeps: Sleeps | None = None, **options: Any) -> ZendeskClient:
        http = httpx.AsyncClient(base_url="https://acme.zendesk.com", transport=httpx.MockTransport(self))
        return ZendeskClient(http, sleep=sleeps or Sleeps(), **options)


def both_pages() -> FakeZendesk:
    return FakeZendesk(PAGE1, PAGE2)


# ---- the client: pagination, retries, auth ----


async def test_export_follows_the_cursor_to_end_of_stream() -> None:
    fake = both_pages()
    async with fake.client() as client:
        export = await client.export_tickets(since=SINCE)

    assert [r.url.path for r in fake.requests] == [EXPORT_PATH, EXPORT_PATH]
    options = {"include": "metric_sets", "exclude_deleted": "true", "per_page": "1000"}
    assert fake.params == [
        {"start_time": str(int(SINCE.timestamp())), **options},
        {"cursor": PAGE1["after_cursor"], **options},
    ]
    assert (export.pages, export.complete, export.next_cursor) == (2, True, PAGE2["after_cursor"])
    ids = [t.ticket_id for t in export.tickets]
    assert len(ids) == len(set(ids)) == 9
    assert ids[-1] == 50012  # seen pending on page 1, then solved on page 2: the later copy wins
    assert export.tickets[-1].status == "solved"


async def test_a_429_waits_for_retry_after_then_carries_on() -> None:
    fake = FakeZendesk(httpx.Response(429, headers={"Retry-After": "7"}, text="Too Many Requests"), PAGE2)
    sleeps = Sleeps()
    async with fake.client(sleeps) as client:
        export = await client.export_tickets(since=SINCE)

    assert sleeps.seconds == [7.0]
    assert len(fake.requests) == 2 and fake.params[0] == fake.params[1]  # the same page asked for again
    assert export.complete and len(export.tickets) == 4


async def test_server_errors_are_retried_with_a_short_backoff() -> None:
    fake = FakeZendesk(httpx.Response(502), httpx.Response(503), PAGE2)
    sleeps = Sleeps()
    async with fake.client(sleeps) as client:
        export = await client.export_tickets(since=SINCE)
    assert sleeps.seconds == [1.0, 2.0]
    assert export.complete


async def test_network_errors_are_retried() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    fake = FakeZendesk(refuse, PAGE2)
    sleeps = Sleeps()
    async with fake.client(sleeps) as client:
        export = await client.export_tickets(since=SINCE)
    assert sleeps.seconds == [1.0] and export.complete


async def test_retries_are_bounded() -> None:
    fake = FakeZendesk(httpx.Response(500))
    sleeps = Sleeps()
    async with fake.client(sleeps, max_retries=2) as client:
        with pytest.raises(ZendeskError, match="HTTP 500 after 3 attempts"):
            await client.export_tickets(since=SINCE)
    assert len(fake.requests) == 3 and sleeps.seconds == [1.0, 2.0]


async def test_a_retry_after_longer_than_the_limit_fails_instead_of_stalling() -> None:
    fake = FakeZendesk(httpx.Response(429, headers={"Retry-After": "3600"}))
    sleeps = Sleeps()
    async with fake.client(sleeps) as client:
        with pytest.raises(ZendeskError, match="rate limited for 3600s"):
            await client.export_tickets(since=SINCE)
    assert sleeps.seconds == [] and len(fake.requests) == 1


async def test_a_refused_login_is_not_retried_and_names_the_settings() -> None:
    fake = FakeZendesk(httpx.Response(401, json={"error": "Couldn't authenticate you"}))
    sleeps = Sleeps()
    async with fake.client(sleeps) as client:
        with pytest.raises(ZendeskError, match="RHYTHM_ZENDESK_API_TOKEN") as caught:
            await client.export_tickets(since=SINCE)
    assert caught.value.status == 401
    assert len(fake.requests) == 1 and sleeps.seconds == []


async def test_the_page_cap_stops_a_long_export() -> None:
    fake = FakeZendesk(PAGE1)  # never reaches end_of_stream
    async with fake.client() as client:
        export = await client.export_tickets(since=SINCE, max_pages=3)
    assert len(fake.requests) == 3
    assert (export.pages, export.complete, export.next_cursor) == (3, False, PAGE1["after_cursor"])


async def test_client_from_settings_authenticates_with_email_slash_token() -> None:
    settings = Settings(
        _env_file=None, zendesk_subdomain="acme", zendesk_email="ops@acme.example", zendesk_api_token="s3cr3t"
    )
    fake = FakeZendesk(PAGE2)
    client = zendesk_client_from_settings(settings, transport=httpx.MockTransport(fake))
    assert client is not None
    async with client:
        await client.export_tickets(since=SINCE)

    (request,) = fake.requests
    assert (request.url.scheme, request.url.host, request.url.path) == ("https", "acme.zendesk.com", EXPORT_PATH)
    expected = base64.b64encode(b"ops@acme.example/token:s3cr3t").decode()
    assert request.headers["Authorization"] == f"Basic {expected}"


def test_client_from_settings_is_off_without_a_subdomain_and_strict_with_one() -> None:
    assert zendesk_client_from_settings(Settings(_env_file=None)) is None
    half = Settings(_env_file=None, zendesk_subdomain="acme", zendesk_email="ops@acme.example")
    with pytest.raises(ConfigError, match="RHYTHM_ZENDESK_SUBDOMAIN is set but RHYTHM_ZENDESK_API_TOKEN is missing"):
        zendesk_client_from_settings(half)


# ---- parsing and mapping (pure) ----


def exported() -> list[TicketFacts]:
    latest = {t.ticket_id: t for t in parse_tickets(PAGE1) + parse_tickets(PAGE2)}
    return list(latest.values())


def test_metric_sets_are_joined_to_their_tickets() -> None:
    (t,) = [t for t in parse_tickets(PAGE2) if t.ticket_id == 50023]
    assert t == TicketFacts(
        ticket_id=50023,
        status="closed",
        assignee_id=int(SIPHO),
        generated_timestamp=int(datetime(2026, 11, 18, 9, 0, tzinfo=UTC).timestamp()),
        solved_at=datetime(2026, 11, 18, 9, 0, tzinfo=UTC),
        replies=1,
        reply_minutes_business=75,
        reply_minutes_calendar=20,
    )


def test_a_metric_set_embedded_in_the_ticket_is_read_too() -> None:
    page = copy.deepcopy(PAGE2)
    by_ticket = {m["ticket_id"]: m for m in page.pop("metric_sets")}
    for ticket in page["tickets"]:
        ticket["metric_set"] = by_ticket[ticket["id"]]
    assert parse_tickets(page) == parse_tickets(PAGE2)


def _table(records: list[dict[str, Any]]) -> dict[tuple[str, str, str], tuple[float, float | None]]:
    return {(r["subject"], r["metric"], r["date"]): (r["numerator"], r.get("denominator")) for r in records}


def test_mapping_counts_each_agent_day_exactly() -> None:
    mapped = map_solved_tickets(exported(), zones={THANDI: JHB, SIPHO: JHB, BOB: LONDON}, since=SINCE)

    assert _table(mapped.records) == {
        (THANDI, "items", "2026-11-17"): (2, None),
        (THANDI, "resolution", "2026-11-17"): (1, 2),
        (THANDI, "sla", "2026-11-17"): (1, 2),
        (THANDI, "items", "2026-11-18"): (1, None),
        (THANDI, "resolution", "2026-11-18"): (1, 1),
        (THANDI, "sla", "2026-11-18"): (1, 1),
        (SIPHO, "items", "2026-11-17"): (1, None),
        (SIPHO, "resolution", "2026-11-17"): (0, 1),
        (SIPHO, "sla", "2026-11-17"): (1, 1),
        (SIPHO, "items", "2026-11-18"): (1, None),
        (SIPHO, "resolution", "2026-11-18"): (1, 1),
        (SIPHO, "sla", "2026-11-18"): (0, 1),
        (BOB, "items", "2026-11-17"): (1, None),
        (BOB, "resolution", "2026-11-17"): (1, 1),  # no reply at all: one-touch, but no SLA sample
    }
    assert {r["source"] for r in mapped.records} == {"zendesk"}
    assert mapped.solved == 6
    assert mapped.unknown_assignees == {GHOST}


def test_mapping_can_use_calendar_minutes_and_another_target() -> None:
    zones = {THANDI: JHB, SIPHO: JHB, BOB: LONDON}
    calendar = _table(
        map_solved_tickets(exported(), zones=zones, since=SINCE, options=MappingOptions(60, "calendar")).records
    )
    assert calendar[(SIPHO, "sla", "2026-11-18")] == (1, 1)  # 20 calendar minutes, 75 business
    strict = _table(map_solved_tickets(exported(), zones=zones, since=SINCE, options=MappingOptions(10)).records)
    assert strict[(THANDI, "sla", "2026-11-17")] == (0, 2)


def test_days_that_began_before_the_window_are_left_alone() -> None:
    # Six hours later, the 17th in Johannesburg (and London) began before the window: only the 18th is whole.
    later = datetime(2026, 11, 17, 4, 0, tzinfo=UTC)
    mapped = map_solved_tickets(exported(), zones={THANDI: JHB, SIPHO: JHB, BOB: LONDON}, since=later)
    assert {(r["subject"], r["date"]) for r in mapped.records} == {(THANDI, "2026-11-18"), (SIPHO, "2026-11-18")}


# ---- the pull, end to end ----


async def _link_agents(deps: Deps, **external_ids: str) -> None:
    async with deps.sessions() as session:
        for email, external_id in external_ids.items():
            await session.execute(update(Member).where(col(Member.email) == email).values(external_id=external_id))
        await session.commit()


@pytest.fixture
async def linked(org: Deps) -> Deps:
    """The test org with Zendesk user ids on three agents (thandi's CSV id "ZD-1" is replaced)."""
    await _link_agents(org, **{"thandi@example.com": THANDI, "sipho@example.com": SIPHO, "bob@example.com": BOB})
    return org


async def _samples(deps: Deps) -> dict[tuple[str, str, date], tuple[float, float]]:
    async with deps.sessions() as session:
        rows = await session.execute(
            select(Member.email, Metric.key, KpiSample.day, KpiSample.numerator, KpiSample.denominator)
            .join(Member, col(Member.id) == KpiSample.member_id)
            .join(Metric, col(Metric.id) == KpiSample.metric_id)
            .where(col(KpiSample.source) == "zendesk")
        )
        return {(email, key, day): (n, d) for email, key, day, n, d in rows}


async def _count(deps: Deps) -> int:
    async with deps.sessions() as session:
        return int((await session.execute(select(func.count()).select_from(KpiSample))).scalar_one())


async def test_pull_writes_exact_samples_and_reports_counts(linked: Deps) -> None:
    fake = both_pages()
    result = await pull_zendesk(linked, since=SINCE, client=fake.client())

    assert await _samples(linked) == EXPECTED
    assert (result.tickets_seen, result.solved, result.records_upserted, result.records_removed) == (9, 6, 14, 0)
    assert (result.pages, result.complete, result.next_cursor) == (2, True, PAGE2["after_cursor"])
    assert result.unknown_assignees == (GHOST,) and result.errors == ()


async def test_pulling_twice_changes_nothing(linked: Deps) -> None:
    await pull_zendesk(linked, since=SINCE, client=both_pages().client())
    again = await pull_zendesk(linked, since=SINCE, client=both_pages().client())

    assert await _samples(linked) == EXPECTED
    assert await _count(linked) == 14
    assert (again.records_upserted, again.records_removed) == (14, 0)


async def test_a_reassigned_ticket_moves_its_agent_day(linked: Deps) -> None:
    await _link_agents(linked, **{"ayesha@example.com": AYESHA})
    await pull_zendesk(linked, since=SINCE, client=both_pages().client())
    moved = copy.deepcopy(PAGE1)
    (ticket,) = [t for t in moved["tickets"] if t["id"] == 50013]
    ticket["assignee_id"] = int(AYESHA)  # sipho's only ticket on the 17th

    result = await pull_zendesk(linked, since=SINCE, client=FakeZendesk(moved, PAGE2).client())

    samples = await _samples(linked)
    assert not [k for k in samples if k[0] == "sipho@example.com" and k[2] == D17]
    assert samples[("ayesha@example.com", "items", D17)] == (1, 0)
    assert samples[("ayesha@example.com", "sla", D17)] == (1, 1)
    assert result.records_removed == 3


async def test_an_assignee_who_is_not_an_agent_with_a_team_is_counted_not_fatal(linked: Deps) -> None:
    await _link_agents(linked, **{"admin@example.com": GHOST})  # known person, but no team to score against
    result = await pull_zendesk(linked, since=SINCE, client=both_pages().client())
    assert result.unknown_assignees == (GHOST,)
    assert result.records_upserted == 14 and result.errors == ()


async def test_an_export_cut_short_by_the_page_cap_writes_nothing(linked: Deps) -> None:
    result = await pull_zendesk(linked, since=SINCE, client=both_pages().client(), max_pages=1)
    assert (result.complete, result.pages, result.records_upserted) == (False, 1, 0)
    assert result.next_cursor == PAGE1["after_cursor"]
    assert await _count(linked) == 0


async def test_the_pull_logs_ids_and_counts_never_ticket_content(
    linked: Deps, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    fake = FakeZendesk(httpx.Response(429, headers={"Retry-After": "1"}), PAGE1, PAGE2)
    await pull_zendesk(linked, since=SINCE, client=fake.client())

    assert "zendesk pull" in caplog.text and GHOST in caplog.text
    for ticket in PAGE1["tickets"] + PAGE2["tickets"]:
        for secret in (ticket["subject"], ticket["description"], str(ticket["requester_id"]), ticket["recipient"]):
            assert secret not in caplog.text


async def test_the_pull_needs_a_window_zendesk_accepts(linked: Deps) -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        await pull_zendesk(linked, since=datetime(2026, 11, 17), client=both_pages().client())
    with pytest.raises(ValueError, match="a minute in the past"):
        await pull_zendesk(linked, since=linked.clock.now(), client=both_pages().client())


async def test_the_pull_without_a_client_needs_zendesk_settings(linked: Deps) -> None:
    with pytest.raises(ConfigError, match="RHYTHM_ZENDESK_SUBDOMAIN"):
        await pull_zendesk(linked, since=SINCE)
