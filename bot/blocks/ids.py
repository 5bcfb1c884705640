"""Every slash command, action, callback and block id, in one place (renderers and register() share them)."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    KPI = "/kpi"
    ADHERENCE = "/adherence"


class ActionId(StrEnum):
    BREACH_ACK = "breach.ack"
    BREACH_EXCUSE = "breach.excuse"
    BREACH_COACH = "breach.coach"


class CallbackId(StrEnum):
    BREACH_EXCUSE_FORM = "breach.excuse_form"


class BlockId(StrEnum):
    SCORECARD_HEADER = "kpi.header"
    SCORECARD_META = "kpi.meta"
    SCORECARD_LEGEND = "kpi.legend"
    BREACH = "breach"  # + ".<id>"
    BREACH_ACTIONS = "breach.actions"  # + ".<id>"
    EXCUSE_REASON = "excuse.reason"
    EXCUSE_NOTE = "excuse.note"
