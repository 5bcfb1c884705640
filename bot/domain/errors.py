"""Errors whose message is safe and useful to show a Slack user as is."""

from __future__ import annotations


class UserFacingError(Exception):
    """Something the user can fix or should know; ``message`` is shown to them verbatim (mrkdwn)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(UserFacingError):
    """The command text could not be understood; the message includes the usage help."""


class NotAllowed(UserFacingError):
    """The caller's Rhythm role does not allow this."""
