"""/kpi end to end: a signed request into the ASGI app, the ack out, Web API calls recorded by the fake Slack."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import httpx
import pytest

from bot.api.app import create_asgi_app
from bot.deps import Deps
from bot.handlers.common import FAILED, WORKING
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from tests.conftest import SECRET, SlashCommand
from tests.support.kpis import add_samples, sample
from tests.support.org import (
    AGENT_1,
    AGENT_2,
    ALPHA_LEAD,
    BRAVO_AGENT,
    BRAVO_LEAD,
    MANAGER,
    STRANGER,
)

TODAY, YESTERDAY = "2026-11-18", "2026-11-17"


def all_text(payload: dict[str, Any]) -> str:
    """Every piece of text a user would see in the message."""
    return json.dumps(payload, ensure_ascii=False)


@pytest.fixture
async def seeded(org: Deps) -> Deps:
    await add_samples(
        org,
        # CSAT today: 18/20 and 2/4 -> 20/24 = 83.3% (a mean of percentages would say 70%).
        sample("csat", "thandi@example.com", TODAY, 18, 20),
        sample("csat", "sipho@example.com", TODAY, 2, 4),
        # Yesterday: 40/50 = 80.0%, so today is +3.3 pts.
        sample("csat", "thandi@example.com", YESTERDAY, 40, 50),
        # Handle time today: 9000 s over 20 items = 7m 30s; target 7m, amber 8m: amber.
        sample("aht", "thandi@example.com", TODAY, 9000, 20),
        sample("items", "thandi@example.com", TODAY, 20),
        sample("items", "thandi@example.com", YESTERDAY, 45),
        sample("csat", "bob@example.com", TODAY, 1, 1),
    )
    return org


async def test_team_scorecard_for_lead_is_ratio_of_sums_with_rag_and_delta(seeded: Deps, slash: SlashCommand) -> None:
    resp = await slash(ALPHA_LEAD, "team")
    assert resp.status_code == 200
    payload = resp.json()
    assert payload["response_type"] == "ephemeral"
    blocks = payload["blocks"]
    assert blocks[0]["type"] == "header" and blocks[0]["text"]["text"] == "📊 Team Alpha"
    meta = blocks[1]["elements"][0]["text"]
    assert "today · Wed 18 Nov" in meta and "3 agents" in meta
    assert "data up to Thu 19 Nov" not in meta
    lines = blocks[2]["text"]["text"].splitlines()
    csat = next(line for line in lines if "*CSAT*" in line)
    assert csat.startswith("🟠") and "83.3%" in csat and "target 85.0%" in csat and "▲ +3.3 pts better" in csat
    aht = next(line for line in lines if "*Handle time*" in line)
    assert aht.startswith("🟠") and "7m 30s" in aht and "no previous data" in aht
    items = next(line for line in lines if "*Items handled*" in line)
    # Today is still in progress: a count is not compared with yesterday's whole day.
    assert items.startswith("⚪") and " 20 " in items and "▼" not in items and "previous" not in items
    assert "Alpha" in payload["text"] and "off target" in payload["text"]


async def test_scorecard_answers_in_the_ack_without_other_web_api_calls(
    seeded: Deps, slash: SlashCommand, fake_slack: FakeSlack
) -> None:
    resp = await slash(ALPHA_LEAD, "team 7d")
    assert resp.status_code == 200 and resp.json()["blocks"]
    assert {c.method for c in fake_slack.calls} <= {"auth.test"}


async def test_lead_sees_one_agent(seeded: Deps, slash: SlashCommand) -> None:
    resp = await slash(ALPHA_LEAD, f"<@{AGENT_1}|thandi> today")
    payload = resp.json()
    assert payload["blocks"][0]["text"]["text"] == "📊 Thandi Nkosi (Team Alpha)"
    assert "90.0%" in all_text(payload)  # 18/20, this agent only


async def test_agent_sees_own_figures_with_me(seeded: Deps, slash: SlashCommand) -> None:
    payload = (await slash(AGENT_2, "me")).json()
    assert payload["blocks"][0]["text"]["text"] == "📊 Sipho Dlamini (Team Alpha)"
    assert "50.0%" in all_text(payload)


async def test_agent_may_see_own_team(seeded: Deps, slash: SlashCommand) -> None:
    payload = (await slash(AGENT_1, "team")).json()
    assert payload["blocks"][0]["text"]["text"] == "📊 Team Alpha"


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        (AGENT_1, "team bravo", "you can only see your own team's scorecard"),
        (AGENT_1, f"<@{AGENT_2}>", "agents can see their own figures only"),
        (BRAVO_LEAD, "team alpha", "isn't one of the teams you lead"),
        (BRAVO_LEAD, f"<@{AGENT_1}>", "isn't in a team you lead"),
        (AGENT_1, "team post", "Only team leaders and managers can post"),
        (STRANGER, "team", "I don't know you yet"),
        (ALPHA_LEAD, "team zulu", "I don't know a team called `zulu`"),
        (ALPHA_LEAD, "team alpha 3d", "I don't understand `3d`"),
        (ALPHA_LEAD, "<@UNOBODY01>", "isn't on any Rhythm roster"),
        (MANAGER, "team", "name one"),
        (ALPHA_LEAD, "@thandi", "pick the person from Slack's @-mention list"),
    ],
)
async def test_refusals_and_bad_input_get_a_clear_ephemeral_message(
    seeded: Deps, slash: SlashCommand, user: str, text: str, expected: str
) -> None:
    resp = await slash(user, text)
    assert resp.status_code == 200
    payload = resp.json()
    assert payload["response_type"] == "ephemeral"
    assert expected in payload["text"]
    assert "Traceback" not in payload["text"]


async def test_manager_with_several_teams_is_told_their_team_keys(seeded: Deps, slash: SlashCommand) -> None:
    text = (await slash(MANAGER, "team")).json()["text"]
    assert "`alpha`" in text and "`bravo`" in text


async def test_manager_names_a_team_in_another_timezone(seeded: Deps, slash: SlashCommand) -> None:
    payload = (await slash(MANAGER, "team bravo")).json()
    assert payload["blocks"][0]["text"]["text"] == "📊 Team Bravo"
    assert "today · Wed 18 Nov" in payload["blocks"][1]["elements"][0]["text"]  # 12:30 in London


async def test_no_data_is_said_plainly(org: Deps, slash: SlashCommand) -> None:
    payload = (await slash(ALPHA_LEAD, "team yesterday")).json()
    assert "No KPI data for *yesterday · Tue 17 Nov* yet" in all_text(payload)
    assert "no KPI data" in payload["text"]


async def test_post_puts_the_scorecard_in_the_channel(seeded: Deps, slash: SlashCommand) -> None:
    payload = (await slash(ALPHA_LEAD, "team 7d post")).json()
    assert payload["response_type"] == "in_channel"
    assert payload["blocks"][0]["text"]["text"] == "📊 Team Alpha"


async def test_help(org: Deps, slash: SlashCommand) -> None:
    payload = (await slash(STRANGER, "help")).json()
    assert "/kpi team [TEAM] [PERIOD]" in payload["text"] and payload["response_type"] == "ephemeral"


async def test_slow_answer_is_acked_at_once_then_sent_to_response_url(seeded: Deps, fake_slack: FakeSlack) -> None:
    # A budget of a microsecond makes every answer "slow": ack now, answer through response_url.
    slow = dataclasses.replace(seeded, settings=seeded.settings.model_copy(update={"ack_budget_seconds": 1e-6}))
    transport = httpx.ASGITransport(app=create_asgi_app(slow.settings, deps=slow))
    async with httpx.AsyncClient(transport=transport, base_url="http://rhythm") as client:
        body = slash_command_body("/kpi", "team", user_id=ALPHA_LEAD, response_url=fake_slack.url + "hook")
        resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
        assert resp.status_code == 200 and resp.json()["text"] == WORKING
        (hook,) = await fake_slack.wait_for("webhook:/hook")
    assert hook.body["replace_original"] is True
    assert hook.body["blocks"][0]["text"]["text"] == "📊 Team Alpha"


async def test_unexpected_failure_gives_a_generic_message_not_a_trace(
    seeded: Deps, slash: SlashCommand, monkeypatch: pytest.MonkeyPatch
) -> None:
    async def broken(*_: object, **__: object) -> None:
        raise RuntimeError("database on fire")

    monkeypatch.setattr("bot.services.kpi.team_scorecard", broken)
    payload = (await slash(ALPHA_LEAD, "team")).json()
    assert payload["text"] == FAILED
    assert "fire" not in json.dumps(payload)


async def test_bravo_agent_cannot_see_alpha_agent(seeded: Deps, slash: SlashCommand) -> None:
    payload = (await slash(BRAVO_AGENT, f"<@{AGENT_1}>")).json()
    assert "Thandi" not in json.dumps(payload)


def _section_lines(payload: dict[str, Any]) -> list[str]:
    return "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section").splitlines()


async def test_manager_compares_the_teams_they_look_after_best_first(seeded: Deps, slash: SlashCommand) -> None:
    payload = (await slash(MANAGER, "compare")).json()
    assert payload["response_type"] == "ephemeral"
    assert payload["blocks"][0]["text"]["text"] == "📊 Team comparison"
    assert payload["blocks"][1]["elements"][0]["text"] == "today  ·  2 teams"
    lines = _section_lines(payload)
    # CSAT: Bravo 1/1 beats Alpha 20/24 (each against its own target: Bravo has none); handle time: lower is
    # better, and only Alpha has a figure; items: a count.
    assert "*CSAT*  ⚪ Team Bravo 100.0%  ·  🟠 Team Alpha 83.3%" in lines
    assert "*Handle time*  🟠 Team Alpha 7m 30s" in lines
    assert "*Items handled*  ⚪ Team Alpha 20" in lines
    assert "2 teams" in payload["text"]


async def test_compare_shows_a_lead_their_own_teams_only_and_refuses_agents(seeded: Deps, slash: SlashCommand) -> None:
    lead = _section_lines((await slash(ALPHA_LEAD, "compare 7d")).json())
    assert lead and all("Team Bravo" not in line for line in lead)
    assert "*CSAT*  🟠 Team Alpha 81.1%" in lead  # 7 days: (20 + 40) / (24 + 50), a ratio of sums
    refused = (await slash(AGENT_1, "compare")).json()
    assert "Comparing teams is for team leaders and managers" in refused["text"]
    assert refused["response_type"] == "ephemeral"
    posted = (await slash(MANAGER, "compare post")).json()
    assert "can't be posted to a channel" in posted["text"]
