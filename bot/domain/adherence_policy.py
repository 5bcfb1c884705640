"""A team's adherence settings from org.yml: the rule overrides plus how loudly to alert."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from bot.domain.adherence_rules import Rules

POLICY_KEYS = {"rules", "escalate_after_minutes", "alert_cap"}


@dataclass(frozen=True, slots=True)
class AdherencePolicy:
    rules: Rules
    escalate_after_minutes: int | None = 15  # DM the ops manager when a breach is still open this long
    alert_cap: int = 5  # new breaches per team per scan posted one by one; the rest go into one batch message


def parse_policy(config: Mapping[str, Any] | None) -> AdherencePolicy:
    """``{"rules": {...}, "escalate_after_minutes": 15, "alert_cap": 5}``; ValueError names a bad key."""
    config = config or {}
    unknown = sorted(set(config) - POLICY_KEYS)
    if unknown:
        raise ValueError(f"adherence: unknown key {unknown[0]!r} (known: {', '.join(sorted(POLICY_KEYS))})")
    escalate = config.get("escalate_after_minutes", 15)
    if escalate is not None and (not isinstance(escalate, int) or escalate < 1):
        raise ValueError("adherence.escalate_after_minutes: a whole number of minutes, or null to never escalate")
    cap = config.get("alert_cap", 5)
    if not isinstance(cap, int) or cap < 1:
        raise ValueError("adherence.alert_cap: a whole number, at least 1")
    return AdherencePolicy(Rules.from_config(config.get("rules")), escalate, cap)


def team_policy(config: Mapping[str, Any] | None) -> AdherencePolicy:
    """``parse_policy``, remembered per distinct config: the scan needs every team's policy every minute, and
    building a team's rules costs more than evaluating an agent's day."""
    return _parsed(json.dumps(config or {}, sort_keys=True, default=str))


@lru_cache(maxsize=256)
def _parsed(key: str) -> AdherencePolicy:
    return parse_policy(json.loads(key))
