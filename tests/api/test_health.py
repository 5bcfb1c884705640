"""GET /healthz: 200 when the database answers, 503 (without leaking the DSN) when it does not."""

from __future__ import annotations

import dataclasses

import httpx
import pytest

from bot.api.app import create_asgi_app
from bot.app import create_bolt_app
from bot.config import ConfigError, Settings
from bot.deps import Deps, build_deps
from bot.store.db import make_engine


async def test_healthz_ok(client: httpx.AsyncClient) -> None:
    resp = await client.get("/healthz")
    assert resp.status_code == 200
    assert resp.json()["status"] == "ok" and resp.json()["database"] == "ok"


async def test_healthz_503_when_database_is_unreachable(deps: Deps) -> None:
    dead = make_engine("postgresql+psycopg://rhythm:s3cret@127.0.0.1:1/nowhere")
    broken = dataclasses.replace(deps, engine=dead)
    transport = httpx.ASGITransport(app=create_asgi_app(deps.settings, deps=broken))
    async with httpx.AsyncClient(transport=transport, base_url="http://rhythm") as client:
        resp = await client.get("/healthz")
    await dead.dispose()
    assert resp.status_code == 503
    assert resp.json() == {"status": "unhealthy", "database": "unreachable"}
    assert "s3cret" not in resp.text


async def test_openapi_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    assert "/healthz" in (await client.get("/openapi.json")).json()["paths"]


def test_socket_mode_needs_no_signing_secret_but_http_does() -> None:
    socket = Settings(_env_file=None, slack_bot_token="xoxb-1", slack_app_token="xapp-1", database_url="sqlite://")
    assert socket.require_slack() == ("xoxb-1", None)
    assert create_bolt_app(build_deps(socket)) is not None
    http = Settings(_env_file=None, slack_bot_token="xoxb-1", database_url="sqlite://")
    with pytest.raises(ConfigError, match="SLACK_SIGNING_SECRET"):
        create_bolt_app(build_deps(http))
