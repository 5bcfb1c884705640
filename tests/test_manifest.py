"""The Slack app manifests stay valid and in step with the code: commands, scopes and request URLs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import jsonschema
import pytest
import yaml
from referencing import Registry, Resource
from referencing.exceptions import NoSuchResource
from slack_bolt.async_app import AsyncApp
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.response import BoltResponse

from bot.api.app import create_asgi_app
from bot.app import create_bolt_app
from bot.blocks.ids import Command
from bot.config import Settings
from bot.deps import build_deps
from bot.sandbox.requests import FORM, slash_command_body

ROOT = Path(__file__).resolve().parents[1]
SCHEMA_DIR = ROOT.parent / "shared/reference/slack-manifest-schema"
MANIFESTS = {"http": ROOT / "manifests/slack-app.yml", "socket": ROOT / "manifests/slack-app.socket.yml"}
# chat:write posts; im:write opens DMs (escalations, lead copies); files:write uploads the report chart;
# channels:history and groups:history deliver message events, so a reply in a huddle prompt's thread (public or
# private team channel) counts as a check-in.
APPROVED_BOT_SCOPES = {"commands", "chat:write", "im:write", "files:write", "channels:history", "groups:history"}


def load(kind: str) -> dict[str, Any]:
    manifest: dict[str, Any] = yaml.safe_load(MANIFESTS[kind].read_text(encoding="utf-8"))
    return manifest


def commands_of(manifest: dict[str, Any]) -> list[str]:
    return [c["command"] for c in manifest["features"]["slash_commands"]]


def request_urls(manifest: dict[str, Any]) -> list[str]:
    settings = manifest.get("settings", {})
    urls = [c.get("url") for c in manifest["features"]["slash_commands"]]
    urls += [settings.get("interactivity", {}).get(k) for k in ("request_url", "message_menu_options_url")]
    urls.append(settings.get("event_subscriptions", {}).get("request_url"))
    return [u for u in urls if u is not None]


def schema_validator() -> jsonschema.Draft7Validator:
    if not (SCHEMA_DIR / "manifest.schema.json").is_file():
        pytest.skip(f"../shared/reference/slack-manifest-schema not present: no {SCHEMA_DIR / 'manifest.schema.json'}")

    def retrieve(uri: str) -> Resource:
        # The top-level schema $refs each version by its GitHub URL (.../schemas/manifest.schema.N.0.0.json);
        # serve the vendored copy of that file instead, so nothing goes to the network.
        *_, folder, name = urlparse(uri).path.split("/")
        local = SCHEMA_DIR / "schemas" / name
        if folder != "schemas" or not local.is_file():
            raise NoSuchResource(ref=uri)
        return Resource.from_contents(json.loads(local.read_text(encoding="utf-8")))

    top = json.loads((SCHEMA_DIR / "manifest.schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft7Validator.check_schema(top)
    return jsonschema.Draft7Validator(top, registry=Registry(retrieve=retrieve))


@pytest.mark.parametrize("kind", MANIFESTS)
def test_manifest_matches_slack_schema(kind: str) -> None:
    validator = schema_validator()
    errors = [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(load(kind))]
    assert errors == []


def test_schema_check_is_not_vacuous() -> None:
    validator = schema_validator()
    broken = load("http")
    broken["features"]["slash_commands"][0]["command"] = "kpi"  # no leading slash
    assert not validator.is_valid(broken)


@pytest.fixture
async def wiring(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """The command names the real Bolt app registers, the app itself, and the ASGI routes."""
    # Bolt keeps a command's name only inside a matcher closure, so record it where it is registered, through
    # Bolt's public AsyncApp.command; test_registered_commands_reach_a_listener then checks the real listeners.
    names: list[str] = []
    original = AsyncApp.command

    def spy(self: AsyncApp, command: Any, *args: Any, **kwargs: Any) -> Any:
        names.append(str(command))
        return original(self, command, *args, **kwargs)

    monkeypatch.setattr(AsyncApp, "command", spy)
    settings = Settings(
        _env_file=None, slack_bot_token="xoxb-test", slack_signing_secret="s", database_url="sqlite+aiosqlite://"
    )
    deps = build_deps(settings)
    try:
        bolt = create_bolt_app(deps)
        routes = {getattr(r, "path", None) for r in create_asgi_app(settings, deps=deps, bolt=bolt).routes}
    finally:
        await deps.engine.dispose()
    return {"commands": names, "bolt": bolt, "routes": routes}


async def matches_a_listener(app: AsyncApp, command: str) -> bool:
    body = slash_command_body(command, "", user_id="U0TEST")
    req = AsyncBoltRequest(body=body, headers={"content-type": FORM})
    return any([await lis.async_matches(req=req, resp=BoltResponse(status=404)) for lis in app._async_listeners])


@pytest.mark.parametrize("kind", MANIFESTS)
def test_manifest_commands_are_exactly_the_registered_ones(kind: str, wiring: dict[str, Any]) -> None:
    declared = commands_of(load(kind))
    assert len(declared) == len(set(declared)), "a command is listed twice"
    assert set(declared) == {c.value for c in Command}
    assert sorted(wiring["commands"]) == sorted(declared)


async def test_registered_commands_reach_a_listener(wiring: dict[str, Any]) -> None:
    for command in wiring["commands"]:
        assert await matches_a_listener(wiring["bolt"], command), command
    assert not await matches_a_listener(wiring["bolt"], "/not-a-rhythm-command")


@pytest.mark.parametrize("kind", MANIFESTS)
def test_scopes_are_the_approved_minimum(kind: str) -> None:
    manifest = load(kind)
    scopes = set(manifest["oauth_config"]["scopes"]["bot"])
    assert scopes == APPROVED_BOT_SCOPES
    if "users:read.email" in scopes:  # Slack refuses users:read.email without users:read
        assert "users:read" in scopes
    assert all(2 <= len(c) <= 32 and c.startswith("/") for c in commands_of(manifest))


def test_http_and_socket_manifests_agree() -> None:
    http, socket = load("http"), load("socket")
    assert sorted(commands_of(http)) == sorted(commands_of(socket))
    assert http["oauth_config"] == socket["oauth_config"]
    assert http["settings"]["socket_mode_enabled"] is False and socket["settings"]["socket_mode_enabled"] is True
    assert request_urls(socket) == []  # Socket Mode: Slack delivers over the app's own connection


def test_http_manifest_points_at_the_slack_route(wiring: dict[str, Any]) -> None:
    urls = request_urls(load("http"))
    assert urls, "the HTTP manifest has no request URLs"
    assert "/slack/events" in wiring["routes"]
    for url in urls:
        assert url.startswith("https://") and url.endswith("/slack/events"), url
        assert urlparse(url).path in wiring["routes"], url
