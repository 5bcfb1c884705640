"""Who may publish, edit, see, remind and export; bad commands and bad forms change nothing."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select

from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.store.notice_tables import Notice, NoticeVersion
from bot.store.tables import Outbox
from tests.conftest import SECRET
from tests.notices.helpers import DEADLINE, Publish, Send, answer_text, edit_meta, form_values, submission
from tests.support.org import ADMIN, AGENT_1, ALPHA_LEAD, BRAVO_AGENT, BRAVO_LEAD, MANAGER, STRANGER


async def _notice(client: httpx.AsyncClient, fake: FakeSlack, user: str, text: str) -> str:
    """The answer the user sees: the ack's text, or what went to the response_url."""
    body = slash_command_body("/notice", text, user_id=user, response_url=fake.url + "hook")
    resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    assert resp.status_code == 200
    if resp.text:
        return await answer_text(resp, fake)
    (hook,) = await fake.wait_for("webhook:/hook")
    return str(hook.body["text"])


async def _rows(deps: Deps) -> tuple[int, int, int]:
    async with deps.sessions() as session:
        counts = [
            (await session.execute(select(func.count()).select_from(t))).scalar_one()
            for t in (Notice, NoticeVersion, Outbox)
        ]
    return counts[0], counts[1], counts[2]


@pytest.mark.parametrize(
    ("user", "expected"),
    [
        (AGENT_1, "Only team leaders and managers can publish notices."),
        (STRANGER, "I don't know you yet"),
    ],
    ids=["agent", "stranger"],
)
async def test_only_leads_managers_and_admins_open_the_form(
    org: Deps, client: httpx.AsyncClient, slack: FakeSlack, user: str, expected: str
) -> None:
    assert (await _notice(client, slack, user, "new")).startswith(expected)
    assert slack.calls_to("views.open") == []


@pytest.mark.parametrize(("user", "teams"), [(ALPHA_LEAD, {"Team Alpha"}), (ADMIN, {"Team Alpha", "Team Bravo"})])
async def test_the_form_offers_the_teams_one_may_address(
    org: Deps, client: httpx.AsyncClient, slack: FakeSlack, user: str, teams: set[str]
) -> None:
    body = slash_command_body("/notice", "new", user_id=user, response_url=slack.url + "hook")
    await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    (opened,) = await slack.wait_for("views.open")
    view = opened.body["view"]
    block = next(b for b in view["blocks"] if b.get("block_id") == "notice.audience")
    assert {o["text"]["text"] for o in block["element"]["options"]} == teams


async def test_a_forged_submission_from_an_agent_saves_nothing(org: Deps, send: Send, team_ids: dict[str, int]) -> None:
    resp = await send(submission(AGENT_1, form_values(teams=[team_ids["alpha"]])))
    assert resp.json()["response_action"] == "errors"
    assert set(resp.json()["errors"]) == {"notice.audience"}  # an agent leads no team
    assert await _rows(org) == (0, 0, 0)


async def test_a_lead_cannot_address_another_team(org: Deps, send: Send, team_ids: dict[str, int]) -> None:
    resp = await send(submission(ALPHA_LEAD, form_values(teams=[team_ids["alpha"], team_ids["bravo"]])))
    assert resp.json() == {
        "response_action": "errors",
        "errors": {"notice.audience": "You can only send notices to the teams you lead."},
    }
    assert await _rows(org) == (0, 0, 0)


async def test_bad_fields_come_back_as_field_errors(org: Deps, send: Send, team_ids: dict[str, int]) -> None:
    values = form_values(
        title="  ",
        body="",
        effective=None,
        deadline=org.clock.now() - timedelta(hours=1),
        teams=[],
        link="not a link",
    )
    resp = await send(submission(MANAGER, values))
    assert resp.json()["response_action"] == "errors"
    assert resp.json()["errors"] == {
        "notice.title": "Give the notice a title.",
        "notice.body": "Say what changes.",
        "notice.effective": "Pick the date the change takes effect.",
        "notice.deadline": "The deadline has to be in the future.",
        "notice.link": "Paste a web address starting with https:// (up to 500 characters).",
        "notice.audience": "Choose at least one team.",
    }
    assert await _rows(org) == (0, 0, 0)


async def test_admin_publishes_to_any_team(org: Deps, publish: Publish, team_ids: dict[str, int]) -> None:
    await publish(ADMIN, teams=("bravo",))
    assert (await _rows(org))[:2] == (1, 1)


@pytest.mark.parametrize(
    ("user", "text", "expected"),
    [
        (AGENT_1, "status {id}", "Only team leaders and managers can see notices."),
        (AGENT_1, "remind {id}", "Only team leaders and managers can remind notices."),
        (AGENT_1, "export {id}", "Only team leaders and managers can export notices."),
        (AGENT_1, "edit {id}", "Only team leaders and managers can edit notices."),
        (BRAVO_LEAD, "status {id}", "Notice #{id} isn't addressed to any team you lead."),
        (BRAVO_LEAD, "export {id}", "Notice #{id} isn't addressed to any team you lead."),
        (ALPHA_LEAD, "status 999", "There's no notice #999 (see `/notice list`)."),
        (ALPHA_LEAD, "frobnicate", "I don't know `/notice frobnicate`."),
        (ALPHA_LEAD, "status", "Say which notice, e.g. `/notice status 3`"),
        (ALPHA_LEAD, "list everything", "`/notice list` takes nothing after it."),
    ],
)
async def test_refusals_and_usage(
    org: Deps, client: httpx.AsyncClient, slack: FakeSlack, publish: Publish, user: str, text: str, expected: str
) -> None:
    notice_id = await publish(ALPHA_LEAD, teams=("alpha",))
    before = await _rows(org)
    answer = await _notice(client, slack, user, text.format(id=notice_id))
    assert answer.startswith(expected.format(id=notice_id)), answer
    assert await _rows(org) == before
    assert slack.calls_to("views.open") == [] and slack.calls_to("files.completeUploadExternal") == []


async def test_editing_needs_every_audience_team(
    org: Deps, client: httpx.AsyncClient, slack: FakeSlack, send: Send, publish: Publish
) -> None:
    notice_id = await publish(MANAGER, teams=("alpha", "bravo"))
    answer = await _notice(client, slack, ALPHA_LEAD, f"edit {notice_id}")
    assert answer.startswith(f"Notice #{notice_id} also goes to teams you don't lead")
    resp = await send(submission(ALPHA_LEAD, form_values(body="changed"), edit_meta(notice_id, 1)))
    assert resp.json()["errors"]["notice.title"].startswith(f"Notice #{notice_id} also goes to teams")
    assert (await _rows(org))[1] == 1


async def test_help_lists_the_subcommands(org: Deps, client: httpx.AsyncClient, slack: FakeSlack) -> None:
    answer = await _notice(client, slack, BRAVO_AGENT, "")
    assert "`/notice status N`" in answer and "`/notice export N`" in answer


async def test_a_past_deadline_may_stay_when_editing(org: Deps, send: Send, publish: Publish) -> None:
    notice_id = await publish()
    org.clock.set(DEADLINE + timedelta(days=1))  # type: ignore[attr-defined]
    resp = await send(submission(MANAGER, form_values(body="A typo fixed.", minor=True), edit_meta(notice_id, 1)))
    assert resp.json()["response_action"] == "update"
    resp = await send(
        submission(MANAGER, form_values(body="Again.", deadline=DEADLINE - timedelta(days=3)), edit_meta(notice_id, 2))
    )
    assert resp.json()["errors"] == {"notice.deadline": "The deadline has to be in the future."}
