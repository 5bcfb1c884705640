"""One message to Slack: the Web API calls for each outbox kind, and every failure turned into a SendError.

Kinds: ``post`` (chat.postMessage), ``update`` (chat.update of a sent message), ``reply`` (chat.postMessage in
the thread of a sent message), ``dm`` (conversations.open, then chat.postMessage to the D… channel) and
``upload`` (files_upload_v2; a text fallback when the app lacks ``files:write``). Nothing here retries or
sleeps: the worker decides what a failure means.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from typing import Any

import aiohttp
from slack_sdk.errors import SlackApiError, SlackRequestError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

from bot.domain.delivery import EditTarget, Message, SendError, parse_retry_after

UPLOAD_FALLBACK = "A file could not be attached: the app lacks the files:write scope."
_RESERVED = ("channel", "ts")  # set by the worker, never taken from a payload


class SendFailed(Exception):
    """Slack did not take the message; ``error`` says why in a code (safe to store and log)."""

    def __init__(self, error: SendError) -> None:
        super().__init__(error.code)
        self.error = error


@dataclass(frozen=True, slots=True)
class Landed:
    channel: str  # where it is: the channel id, or the DM's D… id
    ts: str | None  # the message ts for a later chat.update; None for a file upload


def error_from_slack(exc: SlackApiError) -> SendError:
    response = exc.response
    status = getattr(response, "status_code", None)
    data = response.data if isinstance(response.data, dict) else {}
    code = str(data.get("error") or (f"http_{status}" if status else "unknown"))
    headers = getattr(response, "headers", None) or {}
    retry_after = next((str(v) for k, v in headers.items() if k.lower() == "retry-after"), None)
    return SendError(code=code, status=status, retry_after=parse_retry_after(retry_after))


class SlackSender:
    def __init__(self, client: AsyncWebClient) -> None:
        self._client = client
        self._dm_channels: dict[str, str] = {}  # user id → D… channel (conversations.open is idempotent)

    async def send(self, message: Message, target: EditTarget | None = None) -> Landed:
        """Send ``message``; ``target`` is the message an update edits or a reply answers. Raises SendFailed."""
        payload = {k: v for k, v in message.payload.items() if k not in _RESERVED}
        try:
            if message.kind == "update":
                if target is None:
                    raise ValueError("an update needs its target")
                return await self._update(target, payload)
            if message.kind == "reply":
                if target is None:
                    raise ValueError("a reply needs its parent")
                return await self._post(target.channel, {**payload, "thread_ts": target.ts})
            if message.kind == "dm":
                return await self._post(await self._dm_channel(message.channel), payload)
            if message.kind == "upload":
                return await self._upload(message.channel, payload)
            return await self._post(message.channel, payload)
        except SlackApiError as exc:
            raise SendFailed(error_from_slack(exc)) from None
        except TimeoutError:  # before ClientError: aiohttp's ServerTimeoutError is both
            raise SendFailed(SendError("timeout")) from None
        except aiohttp.ClientError:
            raise SendFailed(SendError("connection_error")) from None
        except SlackRequestError:  # files_upload_v2: the upload URL did not take the bytes
            raise SendFailed(SendError("upload_failed")) from None

    async def _post(self, channel: str, payload: dict[str, Any]) -> Landed:
        response = await self._client.chat_postMessage(channel=channel, **payload)
        return _landed(response, channel)

    async def _update(self, target: EditTarget, payload: dict[str, Any]) -> Landed:
        response = await self._client.chat_update(channel=target.channel, ts=target.ts, **payload)
        return _landed(response, target.channel, default_ts=target.ts)

    async def _dm_channel(self, user: str) -> str:
        if user.startswith("D"):
            return user
        if user not in self._dm_channels:
            response = await self._client.conversations_open(users=user)
            channel = response.get("channel") or {}
            if not isinstance(channel, dict) or not channel.get("id"):
                raise SendFailed(SendError("no_dm_channel"))
            self._dm_channels[user] = str(channel["id"])
        return self._dm_channels[user]

    async def _upload(self, channel: str, payload: dict[str, Any]) -> Landed:
        try:
            content = base64.b64decode(payload.get("content_b64", ""), validate=True)
        except (binascii.Error, ValueError):
            raise SendFailed(SendError("invalid_arguments")) from None
        try:
            await self._client.files_upload_v2(
                channel=channel,
                content=content,
                filename=payload.get("filename") or "file",
                title=payload.get("title"),
                initial_comment=payload.get("initial_comment"),
            )
        except SlackApiError as exc:
            if error_from_slack(exc).code != "missing_scope":
                raise
            return await self._post(channel, {"text": payload.get("fallback_text") or UPLOAD_FALLBACK})
        return Landed(channel=channel, ts=None)  # Slack shares files asynchronously: there is no message ts


def _landed(response: AsyncSlackResponse, channel: str, *, default_ts: str | None = None) -> Landed:
    ts = response.get("ts") or default_ts
    return Landed(channel=str(response.get("channel") or channel), ts=str(ts) if ts else None)
