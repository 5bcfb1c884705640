"""POST /api/v1/kpi-samples end to end: bearer keys, all-or-nothing upsert, limits, parity with the CSV path."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlmodel import col

from bot.api.app import create_asgi_app
from bot.clock import FixedClock
from bot.deps import Deps
from bot.ingest.kpis import REQUIRED_COLUMNS, import_kpis
from bot.ingest.records import read_records
from bot.store import apikeys
from bot.store.tables import ApiKey, AuditEvent, KpiSample, Member, Metric, Team

URL = "/api/v1/kpi-samples"
THANDI, SIPHO = "thandi@example.com", "sipho@example.com"
SAST = timedelta(hours=2)  # Africa/Johannesburg, no DST


async def _new_key(deps: Deps, name: str = "wfm") -> str:
    async with deps.sessions() as session:
        key = await apikeys.create_key(session, name, now=deps.clock.now())
        await session.commit()
    return key


@pytest.fixture
async def key(org: Deps) -> str:
    return await _new_key(org)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


async def rows(deps: Deps) -> list[dict[str, Any]]:
    """Every sample, with metric keys and subjects' emails / team keys in place of ids, ordered."""
    async with deps.sessions() as session:
        metrics = dict((await session.execute(select(col(Metric.id), col(Metric.key)))).all())
        members = dict((await session.execute(select(col(Member.id), col(Member.email)))).all())
        teams = dict((await session.execute(select(col(Team.id), col(Team.key)))).all())
        samples = (await session.execute(select(KpiSample).order_by(col(KpiSample.id)))).scalars().all()
    return [
        {
            "metric": metrics[s.metric_id],
            "who": members[s.member_id] if s.member_id else f"team:{teams[s.team_id]}",
            "team": teams[s.team_id],
            "day": s.day,
            "start": s.period_start,
            "end": s.period_end,
            "numerator": s.numerator,
            "denominator": s.denominator,
            "source": s.source,
        }
        for s in samples
    ]


GOOD = [
    {"metric": "csat", "subject": THANDI, "date": "2026-11-17", "numerator": 18, "denominator": 20},
    {"metric": "aht", "subject": "ZD-1", "date": "2026-11-17", "value": 412.5, "source": "zendesk"},
    {"metric": "sla", "subject": "team:alpha", "start": "2026-11-17T09:00", "end": "2026-11-17T09:30"}
    | {"numerator": 41, "denominator": 45},
]


async def test_good_batch_writes_exactly_those_rows(client: httpx.AsyncClient, key: str, org: Deps) -> None:
    resp = await client.post(URL, json={"samples": GOOD}, headers=bearer(key))

    assert resp.status_code == 200, resp.text
    assert resp.json() == {"received": 3, "upserted": 3}
    day_start = datetime(2026, 11, 17, tzinfo=UTC) - SAST
    assert await rows(org) == [
        {"metric": "csat", "who": THANDI, "team": "alpha", "day": date(2026, 11, 17), "start": day_start}
        | {"end": day_start + timedelta(days=1), "numerator": 18.0, "denominator": 20.0, "source": "api"},
        {"metric": "aht", "who": THANDI, "team": "alpha", "day": date(2026, 11, 17), "start": day_start}
        | {"end": day_start + timedelta(days=1), "numerator": 412.5, "denominator": 1.0, "source": "zendesk"},
        {"metric": "sla", "who": "team:alpha", "team": "alpha", "day": date(2026, 11, 17)}
        | {"start": datetime(2026, 11, 17, 7, 0, tzinfo=UTC), "end": datetime(2026, 11, 17, 7, 30, tzinfo=UTC)}
        | {"numerator": 41.0, "denominator": 45.0, "source": "api"},
    ]


async def test_same_batch_twice_leaves_the_same_rows(client: httpx.AsyncClient, key: str, org: Deps) -> None:
    assert (await client.post(URL, json={"samples": GOOD}, headers=bearer(key))).status_code == 200
    first = await rows(org)
    resp = await client.post(URL, json={"samples": GOOD}, headers=bearer(key))
    assert resp.status_code == 200 and resp.json() == {"received": 3, "upserted": 3}
    assert await rows(org) == first

    corrected = [GOOD[0] | {"numerator": 19}]
    assert (await client.post(URL, json={"samples": corrected}, headers=bearer(key))).status_code == 200
    after = await rows(org)
    assert len(after) == 3 and after[0]["numerator"] == 19.0  # updated in place, not added


async def test_one_bad_item_rejects_the_batch_and_lists_every_bad_item(
    client: httpx.AsyncClient, key: str, org: Deps
) -> None:
    batch = [
        GOOD[0],
        GOOD[0] | {"metric": "csatt"},
        GOOD[1],
        GOOD[0] | {"date": "2026-11-18", "denominator": 0},
        GOOD[0] | {"date": "17/11/2026"},
        {"metric": "csat", "subject": "nobody@example.com", "date": "2026-11-17", "value": 90},
        GOOD[0] | {"numerator": 17},  # same key as item 0
        GOOD[2] | {"end": "2026-11-17T08:00"},
    ]
    resp = await client.post(URL, json={"samples": batch}, headers=bearer(key))

    assert resp.status_code == 422
    detail = resp.json()["detail"]
    assert [d["index"] for d in detail] == [1, 3, 4, 5, 6, 7]
    errors = {d["index"]: d["error"] for d in detail}
    assert errors[1].startswith("unknown metric 'csatt'")
    assert errors[3] == "csat is a rate: denominator must be a positive number"
    assert errors[4] == "date '17/11/2026' is not YYYY-MM-DD"
    assert errors[5].startswith("unknown subject 'nobody@example.com'")
    assert errors[6].startswith("repeats item 0 ")
    assert errors[7] == "end must be after start"
    assert await rows(org) == []


async def test_items_of_the_wrong_type_are_reported_per_item(client: httpx.AsyncClient, key: str, org: Deps) -> None:
    batch = [GOOD[0], GOOD[0] | {"numerator": "lots"}, GOOD[0] | {"denominator": True}, {"subject": THANDI}, "x"]
    resp = await client.post(URL, json={"samples": batch}, headers=bearer(key))

    assert resp.status_code == 422
    assert resp.json()["detail"] == [
        {"index": 1, "error": "numerator: Input should be a valid number, unable to parse string as a number"},
        {"index": 2, "error": "denominator: must be a number, not true or false"},
        {"index": 3, "error": "metric: Field required"},
        {"index": 4, "error": "item: Input should be a valid dictionary or object to extract fields from"},
    ]
    for body in ({"items": []}, "not json"):
        resp = await client.post(URL, content=json.dumps(body) if isinstance(body, dict) else body, headers=bearer(key))
        assert resp.status_code == 422 and resp.json()["detail"][0]["index"] is None, resp.text
    assert await rows(org) == []


async def test_numbers_as_strings_and_numeric_ids_are_accepted_as_in_a_file(
    client: httpx.AsyncClient, key: str, org: Deps
) -> None:
    async with org.sessions() as session:
        (member,) = (await session.execute(select(Member).where(col(Member.email) == SIPHO))).scalars()
        member.external_id = "1001"
        await session.commit()
    item = {"metric": "csat", "subject": 1001, "date": "2026-11-17", "numerator": "9", "denominator": " 10 "}

    resp = await client.post(URL, json={"samples": [item]}, headers=bearer(key))

    assert resp.status_code == 200, resp.text
    ((sample),) = await rows(org)
    assert (sample["who"], sample["numerator"], sample["denominator"]) == (SIPHO, 9.0, 10.0)


async def test_api_and_json_lines_import_accept_the_same_start_end_rows(
    client: httpx.AsyncClient, key: str, org: Deps, tmp_path: Path
) -> None:
    items = [
        {"metric": "sla", "subject": THANDI, "start": "2026-11-17T09:00", "end": "2026-11-17T09:30"}
        | {"numerator": 20, "denominator": 25},
        {"metric": "sla", "subject": THANDI, "start": "2026-11-17T07:30:00+00:00", "end": "2026-11-17T08:00Z"}
        | {"numerator": 21, "denominator": 25},
        {"metric": "aht", "subject": "bob@example.com", "start": "2026-11-17T09:00", "end": "2026-11-17T10:00"}
        | {"value": 380},
    ]
    resp = await client.post(URL, json={"samples": items}, headers=bearer(key))
    assert resp.status_code == 200, resp.text
    via_api = await rows(org)

    lines = tmp_path / "kpis.jsonl"
    lines.write_text("".join(json.dumps(i) + "\n" for i in items))
    async with org.sessions() as session:
        count, errors = await import_kpis(session, read_records(lines, REQUIRED_COLUMNS), source="file")
        await session.commit()
    assert (count, errors) == (3, [])
    via_file = (await rows(org))[3:]

    assert [r | {"source": "-"} for r in via_api] == [r | {"source": "-"} for r in via_file]
    assert via_api[0]["start"] == datetime(2026, 11, 17, 7, 0, tzinfo=UTC)  # naive = the team's local time
    assert via_api[1]["start"] == datetime(2026, 11, 17, 7, 30, tzinfo=UTC)
    assert via_api[2]["start"] == datetime(2026, 11, 17, 9, 0, tzinfo=UTC)  # Bravo is in Europe/London


@pytest.mark.parametrize(
    ("headers", "challenge"),
    [
        ({}, "Bearer"),
        ({"Authorization": "Basic d2ZtOnNlY3JldA=="}, "Bearer"),
        ({"Authorization": "Bearer rhy_not-a-real-key"}, 'Bearer error="invalid_token"'),
        ({"Authorization": "Bearer some-other-token"}, 'Bearer error="invalid_token"'),
    ],
)
async def test_missing_or_unknown_key_is_401(
    client: httpx.AsyncClient, key: str, org: Deps, headers: dict[str, str], challenge: str
) -> None:
    resp = await client.post(URL, json={"samples": GOOD}, headers=headers)
    assert resp.status_code == 401
    assert resp.headers["www-authenticate"] == challenge
    assert await rows(org) == []


async def test_the_key_is_checked_before_the_body_is_parsed(client: httpx.AsyncClient, org: Deps) -> None:
    resp = await client.post(URL, content=b"{not json", headers={"content-type": "application/json"})
    assert resp.status_code == 401


async def test_revoked_key_is_401(client: httpx.AsyncClient, key: str, org: Deps) -> None:
    assert (await client.post(URL, json={"samples": []}, headers=bearer(key))).status_code == 200
    async with org.sessions() as session:
        assert await apikeys.revoke_key(session, "wfm", now=org.clock.now()) is not None
        await session.commit()
    resp = await client.post(URL, json={"samples": GOOD}, headers=bearer(key))
    assert resp.status_code == 401 and resp.headers["www-authenticate"].startswith("Bearer")
    assert await rows(org) == []


@pytest.fixture
async def small_limits(org: Deps) -> AsyncIterator[httpx.AsyncClient]:
    """The app with a 2 KiB body limit and at most 3 samples per request."""
    settings = org.settings.model_copy(update={"api_max_body_bytes": 2048, "api_max_batch": 3})
    app = create_asgi_app(settings, deps=dataclasses.replace(org, settings=settings))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://rhythm") as c:
        yield c


async def test_oversized_body_is_413_and_writes_nothing(small_limits: httpx.AsyncClient, key: str, org: Deps) -> None:
    body = json.dumps({"samples": [GOOD[0] | {"source": "x" * 3000}]}).encode()
    resp = await small_limits.post(URL, content=body, headers=bearer(key) | {"content-type": "application/json"})
    assert resp.status_code == 413

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: the cap applies while streaming
        for i in range(0, len(body), 512):
            yield body[i : i + 512]

    resp = await small_limits.post(URL, content=chunks(), headers=bearer(key) | {"content-type": "application/json"})
    assert resp.status_code == 413
    assert await rows(org) == []


async def test_batch_over_the_limit_is_422(small_limits: httpx.AsyncClient, key: str, org: Deps) -> None:
    batch = [GOOD[0] | {"date": f"2026-11-{d:02d}"} for d in range(10, 14)]
    resp = await small_limits.post(URL, json={"samples": batch}, headers=bearer(key))
    assert resp.status_code == 422
    assert resp.json()["detail"] == [{"index": None, "error": "at most 3 samples per request; got 4"}]
    assert (await small_limits.post(URL, json={"samples": batch[:3]}, headers=bearer(key))).status_code == 200


async def test_the_key_is_stored_only_as_its_sha256(key: str, org: Deps) -> None:
    assert key.startswith("rhy_") and len(key) >= 40
    async with org.sessions() as session:
        (row,) = (await session.execute(select(ApiKey))).scalars()
    assert row.key_hash == hashlib.sha256(key.encode()).hexdigest()
    assert key not in json.dumps(row.model_dump(), default=str)


async def test_ingest_is_audited_with_the_key_name_and_count_only(
    client: httpx.AsyncClient, key: str, org: Deps
) -> None:
    await client.post(URL, json={"samples": GOOD}, headers=bearer(key))
    await client.post(URL, json={"samples": [GOOD[0] | {"metric": "nope"}]}, headers=bearer(key))  # 422: no audit
    async with org.sessions() as session:
        events = (
            (await session.execute(select(AuditEvent).where(col(AuditEvent.action) == "kpis.ingest"))).scalars().all()
        )
    assert [(e.actor, e.details) for e in events] == [("api:wfm", {"rows": 3})]


async def test_last_used_is_recorded_at_most_once_a_minute(client: httpx.AsyncClient, key: str, org: Deps) -> None:
    assert isinstance(org.clock, FixedClock)
    start = org.clock.now()

    async def last_used() -> datetime | None:
        async with org.sessions() as session:
            return (await apikeys.list_keys(session))[0].last_used_at

    assert await last_used() is None
    await client.post(URL, json={"samples": []}, headers=bearer(key))
    assert await last_used() == start
    org.clock.set(start + timedelta(seconds=30))
    await client.post(URL, json={"samples": []}, headers=bearer(key))
    assert await last_used() == start
    org.clock.set(start + timedelta(seconds=61))
    await client.post(URL, json={"samples": []}, headers=bearer(key))
    assert await last_used() == start + timedelta(seconds=61)


async def test_openapi_documents_the_route_and_the_bearer_scheme(client: httpx.AsyncClient) -> None:
    spec = (await client.get("/openapi.json")).json()
    op = spec["paths"][URL]["post"]
    assert op["security"] == [{"ApiKey": []}]
    assert spec["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "rhy_…",
        "description": "A key from `rhythm apikey create NAME`, sent as `Authorization: Bearer rhy_…`.",
    }
    body = op["requestBody"]["content"]["application/json"]
    assert body["schema"] == {"$ref": "#/components/schemas/SampleBatch"} and body["examples"]
    assert {"401", "413", "422"} <= set(op["responses"])
    assert op["responses"]["422"]["content"]["application/json"]["schema"]["$ref"].endswith("/IngestErrors")
    sample = spec["components"]["schemas"]["Sample"]["properties"]
    assert {"metric", "subject", "date", "start", "end", "value", "numerator", "denominator", "source"} == set(sample)
    assert (await client.get("/docs")).status_code == 200
