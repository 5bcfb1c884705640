"""A fake Slack Web API on 127.0.0.1 that records every call (method, body, token) and answers like Slack.

Out of the box it answers ``ok`` to everything, and delivers what the bot posts: chat.postMessage returns a
unique ``ts`` and ``channel``, chat.update edits that message, conversations.open gives a ``D…`` channel and
files_upload_v2's three steps work. Tests can make it misbehave: rate limits (:meth:`FakeSlack.limit`),
scripted failures (:meth:`FakeSlack.fail_next`), slow answers (:meth:`FakeSlack.slow`) and outages
(:meth:`FakeSlack.down`). Its time source (``now``, seconds) is injectable so rate limits are deterministic.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from aiohttp import web
from aiohttp.test_utils import TestServer

from bot.sandbox.fake_slack_limits import Failure, RateLimits, Script, failure_for

AUTH_TEST_OK = {
    "ok": True,
    "url": "https://rhythm-demo.slack.com/",
    "team": "Rhythm Demo",
    "user": "rhythm",
    "team_id": "T0RHYTHM",
    "user_id": "U0RHYTHMBOT",
    "bot_id": "B0RHYTHM",
}
Outage = Literal["503", "disconnect"]


@dataclass
class Call:
    method: str  # "chat.postMessage", "upload", or "webhook:/path" for response_url posts
    body: dict[str, Any]
    token: str | None
    at: float = 0.0  # the fake's time (``FakeSlack.now``) when the call arrived
    status: int = 200  # the HTTP status it was answered with (0: the connection was dropped)


@dataclass
class Posted:
    """A message (or shared file) as it stands in a channel: delivered once, possibly edited since."""

    channel: str
    ts: str
    body: dict[str, Any]
    at: float
    kind: str = "message"  # message | file
    edits: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return str(self.body.get("text", ""))


@dataclass
class FakeSlack:
    calls: list[Call] = field(default_factory=list)
    replies: dict[str, dict[str, Any]] = field(default_factory=dict)  # canned answers; win over behaviour
    now: Callable[[], float] = time.monotonic
    limits: RateLimits = field(default_factory=RateLimits)
    script: Script = field(default_factory=Script)
    _server: TestServer | None = None
    _outage: Outage | None = None
    _slow: tuple[float, int | None] | None = None  # (seconds, how many more calls; None: all)
    _posted: list[Posted] = field(default_factory=list)
    _uploads: dict[str, dict[str, Any]] = field(default_factory=dict)
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # -- misbehaviour ---------------------------------------------------------------------------------------

    def limit(
        self,
        *,
        channel_rate: float | None = 1.0,
        workspace_rate: float | None = None,
        channel_burst: float = 1.0,
        workspace_burst: float | None = None,
    ) -> None:
        """Enforce chat.postMessage rate limits (messages per second); excess gets 429 + Retry-After."""
        self.limits = RateLimits(
            channel_rate=channel_rate,
            workspace_rate=workspace_rate,
            channel_burst=channel_burst,
            workspace_burst=workspace_burst if workspace_burst is not None else 1.0,
        )

    def fail_next(
        self,
        method: str,
        *,
        status: int | None = None,
        error: str | None = None,
        times: int = 1,
        retry_after: int | None = None,
    ) -> None:
        """Answer the next ``times`` calls to ``method`` with an error instead of doing what they ask.

        ``error="channel_not_found"`` answers 200 ``{"ok": false, …}``; ``status=500`` answers a plain-text 500;
        ``status=429`` answers ``ratelimited`` with ``Retry-After`` (``retry_after`` seconds, default 1).
        """
        self.script.add(method, failure_for(status, error, retry_after), times)

    def slow(self, seconds: float, *, times: int | None = None) -> None:
        """Delay answers by ``seconds`` (the next ``times`` API calls, or all until ``slow(0)``).

        A caller that gives up first has delivered nothing: the fake acts only after the delay.
        """
        self._slow = (seconds, times) if seconds > 0 else None

    def down(self, mode: Outage = "503") -> None:
        """Start an outage: every API call gets 503 ``service_unavailable``, or has its connection dropped."""
        self._outage = mode

    def up(self) -> None:
        self._outage = None

    # -- what was delivered ---------------------------------------------------------------------------------

    def posted(self, channel: str | None = None) -> list[Posted]:
        """Delivered messages and files, in the order Slack accepted them (one channel, or all)."""
        return [p for p in self._posted if channel is None or p.channel == channel]

    @staticmethod
    def dm_channel(user: str) -> str:
        """The ``D…`` channel conversations.open gives for a user."""
        return "D" + user[1:]

    # -- the server -----------------------------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        token = request.headers.get("Authorization", "").removeprefix("Bearer ") or None
        if request.path.startswith("/upload/"):
            return await self._upload(request, token)
        raw = await request.text()
        body = json.loads(raw or "{}") if request.content_type == "application/json" else dict(parse_qsl(raw))
        body = {**request.query, **body}  # slack_sdk sends some methods' arguments in the query string
        if not request.path.startswith("/api/"):
            self.calls.append(Call(f"webhook:{request.path}", body, token, self.now()))
            return web.Response(text="ok")
        call = Call(request.path.removeprefix("/api/"), body, token, self.now())
        self.calls.append(call)
        if self._outage == "disconnect":
            call.status = 0
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=503)
        if self._outage == "503":
            return self._answer(call, {"ok": False, "error": "service_unavailable"}, 503)
        if self._slow is not None:
            seconds, left = self._slow
            self._slow = None if left == 1 else (seconds, None if left is None else left - 1)
            await asyncio.sleep(seconds)  # cancelled if the client gives up: nothing below happens
        failure = self.script.next(call.method)
        if failure is not None:
            return self._fail(call, failure)
        if call.method in self.replies:
            return self._answer(call, self.replies[call.method])
        return self._api(call)

    def _answer(self, call: Call, data: dict[str, Any], status: int = 200, **headers: str) -> web.Response:
        call.status = status
        return web.json_response(data, status=status, headers=headers or None)

    def _fail(self, call: Call, failure: Failure) -> web.Response:
        if failure.error is None:
            call.status = failure.status
            return web.Response(status=failure.status, text="Internal Server Error")
        headers = {"Retry-After": str(failure.retry_after)} if failure.retry_after is not None else {}
        return self._answer(call, {"ok": False, "error": failure.error}, failure.status, **headers)

    def _api(self, call: Call) -> web.Response:
        body, method = call.body, call.method
        if method == "auth.test":
            return self._answer(call, AUTH_TEST_OK)
        if method == "chat.postMessage":
            channel = str(body.get("channel", ""))
            channel = self.dm_channel(channel) if channel.startswith("U") else channel
            wait = self.limits.admit(channel, call.at)
            if wait is not None:
                return self._answer(call, {"ok": False, "error": "ratelimited"}, 429, **{"Retry-After": str(wait)})
            msg = self._deliver(channel, body, call.at)
            return self._answer(call, {"ok": True, "channel": channel, "ts": msg.ts, "message": body})
        if method == "chat.update":
            for msg in self._posted:
                if msg.channel == body.get("channel") and msg.ts == body.get("ts"):
                    msg.edits.append(body)
                    msg.body = {k: v for k, v in body.items() if k not in ("channel", "ts")}
                    return self._answer(call, {"ok": True, "channel": msg.channel, "ts": msg.ts})
            return self._answer(call, {"ok": False, "error": "message_not_found"})
        if method == "conversations.open":
            user = str(body.get("users", "")).split(",")[0]
            return self._answer(call, {"ok": True, "channel": {"id": self.dm_channel(user)}})
        if method == "files.getUploadURLExternal":
            file_id = f"F{next(self._seq):08d}"
            self._uploads[file_id] = {"filename": body.get("filename"), "length": int(body.get("length", 0))}
            url = f"{self.url}upload/{file_id}"
            return self._answer(call, {"ok": True, "upload_url": url, "file_id": file_id})
        if method == "files.completeUploadExternal":
            files = json.loads(body.get("files", "[]"))
            if not files or any("bytes" not in self._uploads.get(f.get("id"), {}) for f in files):
                return self._answer(call, {"ok": False, "error": "invalid_arguments"})
            channel = str(body.get("channel_id", ""))
            if channel:
                self._deliver(channel, body, call.at, kind="file")
            return self._answer(call, {"ok": True, "files": [{"id": f["id"], "title": f.get("title")} for f in files]})
        return self._answer(call, {"ok": True})

    def _deliver(self, channel: str, body: dict[str, Any], at: float, kind: str = "message") -> Posted:
        seq = next(self._seq)
        msg = Posted(channel, f"1763400000.{seq:06d}", {k: v for k, v in body.items() if k != "channel"}, at, kind)
        self._posted.append(msg)
        return msg

    async def _upload(self, request: web.Request, token: str | None) -> web.Response:
        data = await request.read()
        file_id = request.path.removeprefix("/upload/")
        self.calls.append(Call("upload", {"file_id": file_id, "length": len(data)}, token, self.now()))
        if file_id not in self._uploads:
            return web.Response(status=404, text="not found")
        self._uploads[file_id]["bytes"] = data
        return web.Response(text=f"OK - {len(data)}")

    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
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
