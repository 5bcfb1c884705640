"""What people type (titles, bodies, names, links) reaches Slack as text: it cannot ping ``@channel``, hide a
link or break out of the "More detail" link; titles fit the post's header."""

from __future__ import annotations

import json
from datetime import timedelta

import httpx
from sqlalchemy import update

from bot.blocks.kit import MAX_HEADER_TEXT
from bot.deps import Deps
from bot.domain.notices import TITLE_MAX
from bot.sandbox.fake_slack import FakeSlack
from bot.sandbox.requests import signed_headers, slash_command_body
from bot.services.notice_reminders import run_notice_tick
from bot.store.tables import Member, Team
from tests.conftest import SECRET
from tests.notices.helpers import DEADLINE, Drain, Publish, Send, click, form_values, submission
from tests.support.org import AGENT_1, AGENT_2, ALPHA_LEAD, MANAGER

TITLE = "<!channel> Refunds & returns"
BODY = "Hi <!everyone>, read <https://evil.example|the wiki> & *reply* within 2 h > 1 h."
LINK = "https://wiki.example.com/refunds?team=alpha&v=2"


def _mrkdwn(payload: object) -> object:
    """The payload without its plain_text objects (header, button labels), which Slack shows as typed."""
    if isinstance(payload, dict):
        return {
            k: _mrkdwn(v) for k, v in payload.items() if not (isinstance(v, dict) and v.get("type") == "plain_text")
        }
    if isinstance(payload, list):
        return [_mrkdwn(v) for v in payload]
    return payload


def _no_markup_from_users(payload: object) -> None:
    text = json.dumps(_mrkdwn(payload), ensure_ascii=False)
    for markup in ("<!channel>", "<!everyone>", "<!here>", "<https://evil.example"):
        assert markup not in text, (markup, text)


async def _ask(client: httpx.AsyncClient, fake: FakeSlack, user: str, text: str) -> dict[str, object]:
    body = slash_command_body("/notice", text, user_id=user, response_url=fake.url + "hook")
    resp = await client.post("/slack/events", content=body, headers=signed_headers(SECRET, body))
    answer: dict[str, object] = resp.json()
    return answer


async def test_a_link_that_could_break_out_is_refused(org: Deps, send: Send, team_ids: dict[str, int]) -> None:
    for bad in ("https://a.b/x>|<!everyone", "https://a.b/x|y", "https://a.b/ x", "https://a.b/<x"):
        values = form_values(teams=[team_ids["alpha"]], link=bad)
        resp = await send(submission(MANAGER, values))
        assert resp.json()["errors"] == {
            "notice.link": "A web address can't contain spaces or the characters < > |. Paste the address on its own."
        }, bad


async def test_typed_text_is_escaped_everywhere_it_is_shown(
    org: Deps,
    client: httpx.AsyncClient,
    publish: Publish,
    send: Send,
    slack: FakeSlack,
    drain: Drain,
    team_ids: dict[str, int],
) -> None:
    async with org.sessions() as session:
        await session.execute(update(Member).where(Member.slack_user_id == AGENT_1).values(name="<!here> Thandi"))
        await session.execute(update(Team).where(Team.key == "alpha").values(name="Alpha <!channel>"))
        await session.commit()
    notice_id = await publish(teams=("alpha",), title=TITLE, body=BODY, link=LINK)
    await drain()

    # The channel post: the notification text and the blocks carry the text, not markup.
    (post,) = slack.posted("C0ALPHA01")
    _no_markup_from_users(post.body)
    assert post.body["text"].startswith("Process change: &lt;!channel&gt; Refunds &amp; returns — please read")
    assert post.body["blocks"][0]["text"] == {"type": "plain_text", "text": f"📣 {TITLE}", "emoji": True}
    assert post.body["blocks"][1]["text"]["text"] == (
        "Hi &lt;!everyone&gt;, read &lt;https://evil.example|the wiki&gt; &amp; *reply* within 2 h &gt; 1 h."
    )
    assert post.body["blocks"][2]["elements"][1]["text"] == (
        "<https://wiki.example.com/refunds?team=alpha&amp;v=2|More detail>"
    )

    # The agent's confirmation, the lead's status and list, the reminder and the escalation.
    await send(click(AGENT_1, f"{notice_id}:1", slack))
    (hook,) = await slack.wait_for("webhook:/hook")
    assert hook.body["text"].startswith("✅ Thanks, &lt;!here&gt; — your acknowledgement of *&lt;!channel&gt; Refunds")
    status = await _ask(client, slack, ALPHA_LEAD, f"status {notice_id}")
    _no_markup_from_users(status)
    assert "✅ &lt;!here&gt; Thandi — " in str(status["blocks"]) and "*Alpha &lt;!channel&gt;* — 1/3" in str(
        status["blocks"]
    )
    listing = await _ask(client, slack, ALPHA_LEAD, "list")
    _no_markup_from_users(listing)
    assert f"*#{notice_id}* &lt;!channel&gt; Refunds &amp; returns · v1" in str(listing["blocks"])

    async with org.sessions() as session:
        await session.execute(update(Member).where(Member.slack_user_id == AGENT_2).values(name="Sipho <!here>"))
        await session.commit()
    org.clock.set(DEADLINE - timedelta(hours=2))  # type: ignore[attr-defined]
    assert (await run_notice_tick(org)).reminded == 2
    org.clock.set(DEADLINE + timedelta(minutes=1))  # type: ignore[attr-defined]
    assert (await run_notice_tick(org)).escalated == 1
    await drain()
    reminder = slack.posted(slack.dm_channel(AGENT_2))[0]
    escalation = slack.posted(slack.dm_channel(ALPHA_LEAD))[0]
    for payload in (reminder.body, escalation.body):
        _no_markup_from_users(payload)
    assert "• Sipho &lt;!here&gt;" in str(escalation.body["blocks"])
    assert "in *Alpha &lt;!channel&gt;* have not" in str(escalation.body["blocks"])


async def test_the_longest_title_fits_the_header_unclipped(
    org: Deps, send: Send, publish: Publish, slack: FakeSlack, drain: Drain, team_ids: dict[str, int]
) -> None:
    too_long = "T" * (TITLE_MAX + 1)
    resp = await send(submission(MANAGER, form_values(teams=[team_ids["alpha"]], title=too_long)))
    assert resp.json()["errors"] == {"notice.title": f"Keep the title to {TITLE_MAX} characters or fewer."}
    await publish(teams=("alpha",), title="T" * TITLE_MAX)
    await drain()
    (post,) = slack.posted("C0ALPHA01")
    header = post.body["blocks"][0]["text"]["text"]
    assert header == "📣 " + "T" * TITLE_MAX and len(header) <= MAX_HEADER_TEXT
