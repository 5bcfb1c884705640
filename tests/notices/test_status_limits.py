"""``/notice status N`` for a big audience: capped per team and in total, saying how many more and where to
find them, instead of being cut off silently at Slack's 50 blocks."""

from __future__ import annotations

import json

import httpx

from bot.blocks.kit import MAX_MESSAGE_BLOCKS
from bot.blocks.notice_status import PersonLine, StatusView, TeamStatus, render_status
from bot.deps import Deps
from bot.domain.notices import Tally
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.store.tables import Member
from tests.conftest import SECRET
from tests.notices.helpers import DEADLINE, Publish
from tests.support.org import ALPHA_LEAD

BIG = 150


async def test_a_big_team_lists_forty_then_points_to_the_export(
    org: Deps, client: httpx.AsyncClient, publish: Publish, slack: FakeSlack, team_ids: dict[str, int]
) -> None:
    async with org.sessions() as session:
        for i in range(BIG):
            session.add(Member(email=f"big{i}@example.com", name=f"Agent {i:03d}", team_id=team_ids["alpha"]))
        await session.commit()
    notice_id = await publish(ALPHA_LEAD, teams=("alpha",))
    body = slash_command_body("/notice", f"status {notice_id}", user_id=ALPHA_LEAD, response_url=slack.url + "hook")
    resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    answer = resp.json()
    if answer["text"].startswith("Working on it"):  # a slow machine: the answer went to the response_url
        answer = (await slack.wait_for("webhook:/hook"))[-1].body
    text = "\n".join(b["text"]["text"] for b in answer["blocks"] if b["type"] == "section")
    assert f"*Team Alpha* — 0/{BIG + 3} acknowledged" in text
    assert text.count("⏳ ") == 40
    assert f"…and {BIG + 3 - 40} more (see `/notice export {notice_id}`)" in text
    assert len(answer["blocks"]) <= MAX_MESSAGE_BLOCKS


def test_many_teams_stay_within_the_budget_and_say_how_many_teams_are_left_out() -> None:
    people = tuple(PersonLine(f"Person {i:02d} with a rather long name for padding") for i in range(60))
    teams = tuple(TeamStatus(f"Team {t:02d}", "Africa/Johannesburg", Tally(0, 60), people) for t in range(60))
    answer = render_status(StatusView(9, 1, 1, "Refunds", DEADLINE, "abc", teams))
    sections = [b["text"]["text"] for b in answer["blocks"] if b["type"] == "section"]
    assert len(answer["blocks"]) <= MAX_MESSAGE_BLOCKS and len(json.dumps(answer)) < 14_000
    assert sum(len(s) for s in sections) <= 10_000
    last = sections[-1].splitlines()[-1]
    assert last.startswith("…and ") and last.endswith("more teams (see `/notice export 9`)")
    assert "*Team 00* — 0/60 acknowledged" in sections[0] and "…and 20 more (see `/notice export 9`)" in sections[0]
