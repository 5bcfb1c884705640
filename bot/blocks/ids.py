"""Every slash command, action, callback and block id, in one place (renderers and register() share them)."""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    KPI = "/kpi"


class BlockId(StrEnum):
    SCORECARD_HEADER = "kpi.header"
    SCORECARD_META = "kpi.meta"
    SCORECARD_LEGEND = "kpi.legend"
