"""Tenant check: Rhythm serves the one workspace its bot token belongs to.

A valid signature proves a request came from Slack for this app, not that it came from this workspace: an app
installed in a second workspace, or an org-wide install, sends that workspace's users here too. Bolt's
single-team authorization looks the token up (``auth.test``) but does not compare the request's workspace with
it, so this middleware does, before any listener runs: a request from another workspace or enterprise (or, when
``RHYTHM_SLACK_APP_ID`` is set, for another app) is refused and touches nothing.

The refusal is a 200, not a 403: Slack retries an event answered with an error three times, Socket Mode does not
acknowledge a non-200 answer at all (so the event comes again), and a slash command shows a 200's text to the
person who typed it but only a generic failure for an error.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.request.async_request import AsyncBoltRequest
from slack_bolt.request.payload_utils import is_slash_command
from slack_bolt.response import BoltResponse

log = logging.getLogger(__name__)

REFUSED = "This Rhythm app serves another Slack workspace."


def tenant_guard(app_id: str | None) -> Callable[..., Awaitable[BoltResponse | None]]:
    """Bolt global middleware refusing requests from outside the token's workspace (and app, if given)."""

    async def _guard(
        req: AsyncBoltRequest, context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        ours = context.authorize_result
        checks = [
            ("team", context.team_id, ours.team_id if ours else None),
            ("enterprise", context.enterprise_id, ours.enterprise_id if ours else None),
        ]
        if app_id is not None:
            checks.append(("app", req.body.get("api_app_id") if isinstance(req.body, dict) else None, app_id))
        foreign = {name: got for name, got, want in checks if got is not None and got != want}
        if foreign:
            log.warning("refused a request from outside this workspace: %s", foreign)
            return BoltResponse(status=200, body=REFUSED if is_slash_command(req.body) else "")
        return await next()

    return _guard
