"""The worker sends each kind of message and records where it landed."""

from __future__ import annotations

import base64
import itertools

from bot.clock import FixedClock
from bot.delivery.worker import DeliveryWorker
from bot.deps import Deps
from bot.sandbox.fake_slack import FakeSlack
from tests.delivery.helpers import drain, queue, row

AGENT = "U0AGENT001"


async def test_post_is_sent_once_and_its_ts_stored(deps: Deps, worker: DeliveryWorker, slack: FakeSlack) -> None:
    await queue(deps, "snapshot:1", "CTEAM00001", payload={"text": "Team Alpha", "blocks": [{"type": "divider"}]})
    assert await worker.run_once() == 1
    (posted,) = slack.posted("CTEAM00001")
    assert posted.body == {"text": "Team Alpha", "blocks": [{"type": "divider"}]}
    sent = await row(deps, "snapshot:1")
    assert (sent.status, sent.slack_ts, sent.slack_channel) == ("sent", posted.ts, "CTEAM00001")
    assert sent.sent_at == deps.clock.now() and sent.last_error is None
    assert await worker.run_once() == 0
    assert len(slack.calls_to("chat.postMessage")) == 1


async def test_update_edits_the_stored_ts(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    await queue(deps, "breach:7", "CTEAM00001", "Late login: 4 min")
    await queue(deps, "breach:7:v2", "CTEAM00001", "Resolved", kind="update", update_of="breach:7")
    await drain(worker, deps, clock)
    (message,) = slack.posted("CTEAM00001")
    assert message.text == "Resolved" and len(message.edits) == 1
    (update,) = slack.calls_to("chat.update")
    assert update.body["ts"] == message.ts and update.body["channel"] == "CTEAM00001"
    assert (await row(deps, "breach:7:v2")).slack_ts == message.ts


async def test_update_waits_for_its_original_then_edits_it(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    # The original is stuck behind a rate-limited message in its channel; the update sits in another queue.
    slack.fail_next("chat.postMessage", status=429, retry_after=10)
    await queue(deps, "before", "CTEAM00001", "before")
    await queue(deps, "alert", "CTEAM00001", "v1")
    await queue(deps, "alert:v2", "COTHER0001", "v2", kind="update", update_of="alert")
    await worker.run_once()
    waiting = await row(deps, "alert:v2")
    assert (waiting.status, waiting.attempts, waiting.last_error) == ("pending", 0, "waiting_for_original")
    await drain(worker, deps, clock)
    assert [m.text for m in slack.posted("CTEAM00001")] == ["before", "v2"]


async def test_update_of_a_failed_message_fails_without_a_call(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.fail_next("chat.postMessage", error="channel_not_found")
    await queue(deps, "alert", "CGONE00001", "v1")
    await queue(deps, "alert:v2", "CGONE00001", "v2", kind="update", update_of="alert")
    await drain(worker, deps, clock)
    assert (await row(deps, "alert:v2")).last_error == "original_failed"
    assert slack.calls_to("chat.update") == []


async def test_dm_opens_the_conversation_and_stores_the_d_channel(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    await queue(deps, "coaching:3:summary", AGENT, "Your 1:1 summary", kind="dm")
    await queue(deps, "coaching:3:summary:v2", AGENT, "Acknowledged", kind="update", update_of="coaching:3:summary")
    await drain(worker, deps, clock)
    dm = slack.dm_channel(AGENT)
    (opened,) = slack.calls_to("conversations.open")
    assert opened.body["users"] == AGENT
    (message,) = slack.posted(dm)
    assert message.text == "Acknowledged"  # the update found the DM by its D… channel and ts
    assert (await row(deps, "coaching:3:summary")).slack_channel == dm


async def test_upload_shares_the_file(deps: Deps, worker: DeliveryWorker, slack: FakeSlack) -> None:
    png = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    payload = {"filename": "trend.png", "title": "KPI trends", "content_b64": base64.b64encode(png).decode()}
    await queue(deps, "report:chart", "CMANAGERS1", payload=payload, kind="upload")
    await worker.run_once()
    (shared,) = slack.posted("CMANAGERS1")
    assert shared.kind == "file"
    (uploaded,) = slack.calls_to("upload")
    assert uploaded.body["length"] == len(png)
    sent = await row(deps, "report:chart")
    assert (sent.status, sent.slack_channel, sent.slack_ts) == ("sent", "CMANAGERS1", None)


async def test_upload_without_files_write_falls_back_to_text(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack
) -> None:
    slack.fail_next("files.getUploadURLExternal", error="missing_scope")
    payload = {"filename": "t.png", "content_b64": base64.b64encode(b"png").decode(), "fallback_text": "No chart"}
    await queue(deps, "report:chart", "CMANAGERS1", payload=payload, kind="upload")
    await worker.run_once()
    (posted,) = slack.posted("CMANAGERS1")
    assert posted.kind == "message" and posted.text == "No chart"
    assert (await row(deps, "report:chart")).slack_ts == posted.ts


async def test_each_channel_gets_its_messages_in_order_paced(
    deps: Deps, worker: DeliveryWorker, slack: FakeSlack, clock: FixedClock
) -> None:
    slack.limit(channel_rate=1.0)  # the fake enforces Slack's 1 message/s/channel
    for n in range(4):
        for channel in ("CTEAMA0001", "CTEAMB0001", "CTEAMC0001"):
            await queue(deps, f"{channel}:{n}", channel, f"{channel} #{n}")
    taken = await drain(worker, deps, clock, step=0.25)
    for channel in ("CTEAMA0001", "CTEAMB0001", "CTEAMC0001"):
        posted = slack.posted(channel)
        assert [p.text for p in posted] == [f"{channel} #{n}" for n in range(4)]
        assert all(b.at - a.at >= 1.0 for a, b in itertools.pairwise(posted))
    assert slack.limits.rejected == 0  # paced, never rate-limited
    assert taken <= 3.5  # three gaps of 1 s (plus the 0.25 s tick), not more
