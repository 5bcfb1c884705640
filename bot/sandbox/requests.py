"""Slack requests exactly as Slack sends them, signed with Slack's real algorithm (v0 HMAC-SHA256)."""

from __future__ import annotations

import json
import time
from typing import Any
from urllib.parse import urlencode

from slack_sdk.signature import SignatureVerifier

FORM = "application/x-www-form-urlencoded"


def signed_headers(secret: str, body: str, content_type: str = FORM, ts: int | None = None) -> dict[str, str]:
    timestamp = str(ts if ts is not None else int(time.time()))
    signature = SignatureVerifier(secret).generate_signature(timestamp=timestamp, body=body) or ""
    return {
        "content-type": content_type,
        "x-slack-request-timestamp": timestamp,
        "x-slack-signature": signature,
    }


def slash_command_body(
    command: str,
    text: str,
    *,
    user_id: str,
    channel_id: str = "C0DEMO",
    response_url: str = "http://127.0.0.1/hook",
    team_id: str = "T0RHYTHM",
    user_name: str = "someone",
) -> str:
    return urlencode(
        {
            "token": "legacy-verification-token-unused",
            "team_id": team_id,
            "team_domain": "rhythm-demo",
            "channel_id": channel_id,
            "channel_name": "team-channel",
            "user_id": user_id,
            "user_name": user_name,
            "command": command,
            "text": text,
            "api_app_id": "A0RHYTHM",
            "is_enterprise_install": "false",
            "response_url": response_url,
            "trigger_id": f"{int(time.time())}.1.abcdef",
        }
    )


def interaction_body(payload: dict[str, Any]) -> str:
    return urlencode({"payload": json.dumps(payload)})
