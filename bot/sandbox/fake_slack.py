"""A fake Slack Web API on 127.0.0.1 that records every call (method, body, token) and answers ``ok``."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

AUTH_TEST_OK = {
    "ok": True,
    "url": "https://rhythm-demo.slack.com/",
    "team": "Rhythm Demo",
    "user": "rhythm",
    "team_id": "T0RHYTHM",
    "user_id": "U0RHYTHMBOT",
    "bot_id": "B0RHYTHM",
}


@dataclass
class Call:
    method: str  # "chat.postMessage", or "webhook:/path" for response_url posts
    body: dict[str, Any]
    token: str | None


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)
    _server: TestServer | None = None

    async def _handle(self, request: web.Request) -> web.Response:
        raw = await request.text()
        body = json.loads(raw or "{}") if request.content_type == "application/json" else dict(parse_qsl(raw))
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or None
        if request.path.startswith("/api/"):
            method = request.path.removeprefix("/api/")
            self.calls.append(Call(method, body, token))
            default = AUTH_TEST_OK if method == "auth.test" else {"ok": True}
            return web.json_response(self.replies.get(method, default))
        self.calls.append(Call(f"webhook:{request.path}", body, token))
        return web.Response(text="ok")

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._server = TestServer(app, host="127.0.0.1")
        await self._server.start_server()

    async def close(self) -> None:
        if self._server is not None:
            await self._server.close()

    async def __aenter__(self) -> FakeSlack:
        await self.start()
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.close()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>/``"""
        assert self._server is not None, "start() first"
        return str(self._server.make_url("/"))

    @property
    def api_url(self) -> str:
        return self.url + "api/"

    def calls_to(self, method: str) -> list[Call]:
        return [c for c in self.calls if c.method == method]

    async def wait_for(self, method: str, count: int = 1, within: float = 2.0) -> list[Call]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + within
        while len(self.calls_to(method)) < count:
            if loop.time() > deadline:
                raise AssertionError(f"expected {count} {method}; got {[c.method for c in self.calls]}")
            await asyncio.sleep(0.01)
        return self.calls_to(method)
