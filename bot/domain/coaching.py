"""1:1 coaching records: kinds, the session form's rules, action items, team coaching settings, retention.

Pure: takes plain values and an explicit ``today`` (the team's local date); returns drafts or field errors.
Field errors are keyed by field name (``kind``, ``date``, ``summary``…); the modal maps them to block ids.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum
from typing import Any


class SessionKind(StrEnum):
    ONE_ON_ONE = "one_on_one"
    COACHING = "coaching"
    PIP_REVIEW = "pip_review"
    RECOGNITION = "recognition"
    RETURN_TO_WORK = "return_to_work"


KIND_LABELS = {
    SessionKind.ONE_ON_ONE: "1:1",
    SessionKind.COACHING: "Coaching",
    SessionKind.PIP_REVIEW: "PIP review",
    SessionKind.RECOGNITION: "Recognition",
    SessionKind.RETURN_TO_WORK: "Return to work",
}


class Owner(StrEnum):
    AGENT = "agent"
    LEAD = "lead"


OWNER_WORDS = {"agent": Owner.AGENT, "me": Owner.LEAD, "lead": Owner.LEAD, "tl": Owner.LEAD, "leader": Owner.LEAD}

SUMMARY_MAX = 2000
NOTES_MAX = 3000
STRENGTHS_MAX = 1000
IMPROVE_MAX = 1000
ACTIONS_MAX = 3000
ACTION_TEXT_MAX = 300
MAX_ACTIONS = 10
MAX_BACKDATE_DAYS = 90  # a session logged later than this is more likely a typo than a late write-up
MAX_FOLLOW_UP_DAYS = 365
DEFAULT_FOLLOW_UP_TIME = "09:00"
_HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")
_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True, slots=True)
class ActionDraft:
    text: str
    owner: Owner
    due_on: date | None


@dataclass(frozen=True, slots=True)
class SessionDraft:
    kind: SessionKind
    held_on: date
    summary: str
    notes: str | None
    strengths: str | None
    improve: str | None
    actions: tuple[ActionDraft, ...]
    follow_up_on: date | None


def parse_date(text: str) -> date | None:
    """A YYYY-MM-DD date, or None when the text is not one."""
    text = text.strip()
    if not _ISO_DATE.match(text):
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None


def parse_action_items(text: str | None, *, held_on: date) -> tuple[tuple[ActionDraft, ...], list[str]]:
    """One action per line: ``what | owner | YYYY-MM-DD`` (owner and due date optional; owner defaults to the
    agent). Returns the drafts and line-numbered problems (empty when all is well)."""
    drafts: list[ActionDraft] = []
    problems: list[str] = []
    lines = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]
    if len(lines) > MAX_ACTIONS:
        return (), [f"At most {MAX_ACTIONS} action items, one per line (there are {len(lines)})."]
    for n, line in lines:
        parts = [p.strip() for p in line.split("|")]
        what = parts[0].lstrip("-•* ").strip()
        if not what:
            problems.append(f"Line {n}: say what the action is before the first |.")
            continue
        if len(what) > ACTION_TEXT_MAX:
            problems.append(f"Line {n}: keep an action under {ACTION_TEXT_MAX} characters.")
            continue
        if len(parts) > 3:
            problems.append(f"Line {n}: use at most two | (what | owner | YYYY-MM-DD).")
            continue
        owner, due = Owner.AGENT, None
        for extra in parts[1:]:
            if not extra:
                continue
            if extra.lower() in OWNER_WORDS:
                owner = OWNER_WORDS[extra.lower()]
            elif (day := parse_date(extra)) is not None:
                if day < held_on:
                    problems.append(f"Line {n}: the due date {day:%d %b %Y} is before the session.")
                due = day
            else:
                problems.append(f"Line {n}: `{extra}` is neither an owner (agent or lead) nor a YYYY-MM-DD date.")
        drafts.append(ActionDraft(what, owner, due))
    return (tuple(drafts) if not problems else ()), problems


def _clean(text: str | None) -> str | None:
    text = (text or "").strip()
    return text or None


def validate_session(
    *,
    kind: str | None,
    held_on: date | None,
    summary: str | None,
    notes: str | None,
    strengths: str | None,
    improve: str | None,
    actions: str | None,
    follow_up_on: date | None,
    today: date,
    notes_allowed: bool = True,
) -> SessionDraft | dict[str, str]:
    """The session form as a draft, or field errors keyed by field name."""
    errors: dict[str, str] = {}
    if kind not in set(SessionKind):
        errors["kind"] = "Pick what kind of conversation this was."
    if held_on is None:
        errors["date"] = "Pick the date the conversation took place."
    elif held_on > today:
        errors["date"] = "The date can't be in the future: log a session once it has happened."
    elif held_on < today - timedelta(days=MAX_BACKDATE_DAYS):
        errors["date"] = f"That is more than {MAX_BACKDATE_DAYS} days ago; check the date."
    summary = _clean(summary)
    if summary is None:
        errors["summary"] = "Write the shared summary: it is what the agent receives and acknowledges."
    for field, value, limit in (
        ("summary", summary, SUMMARY_MAX),
        ("notes", notes, NOTES_MAX),
        ("strengths", strengths, STRENGTHS_MAX),
        ("improve", improve, IMPROVE_MAX),
        ("actions", actions, ACTIONS_MAX),
    ):
        if value is not None and len(value) > limit and field not in errors:
            errors[field] = f"Keep this under {limit} characters."
    notes = _clean(notes)
    if notes is not None and not notes_allowed and "notes" not in errors:
        errors["notes"] = "Private notes are off: RHYTHM_ENCRYPTION_KEY is not set. Ask your Rhythm admin."
    base = held_on if held_on is not None and "date" not in errors else today
    drafts, problems = parse_action_items(actions, held_on=base)
    if problems and "actions" not in errors:
        errors["actions"] = " ".join(problems)[:300]
    if follow_up_on is not None:
        if follow_up_on <= base:
            errors["follow_up"] = "The follow-up must come after the session."
        elif follow_up_on > base + timedelta(days=MAX_FOLLOW_UP_DAYS):
            errors["follow_up"] = "Pick a follow-up within a year."
    if errors:
        return errors
    assert held_on is not None and summary is not None and kind is not None
    return SessionDraft(
        kind=SessionKind(kind),
        held_on=held_on,
        summary=summary,
        notes=notes,
        strengths=_clean(strengths),
        improve=_clean(improve),
        actions=drafts,
        follow_up_on=follow_up_on,
    )


@dataclass(frozen=True, slots=True)
class CoachingSettings:
    """A team's coaching settings from org.yml (``coaching:``); ``cadence_days`` None means the site default."""

    cadence_days: int | None = None
    follow_up_time: str = DEFAULT_FOLLOW_UP_TIME


def parse_coaching_settings(raw: Mapping[str, Any] | None) -> CoachingSettings:
    """Validate a team's ``coaching`` dict; raises ValueError naming the bad key."""
    raw = dict(raw or {})
    unknown = sorted(set(raw) - {"cadence_days", "follow_up_time"})
    if unknown:
        raise ValueError(f"unknown coaching setting(s) {unknown}; use cadence_days, follow_up_time")
    cadence = raw.get("cadence_days")
    if cadence is not None and (isinstance(cadence, bool) or not isinstance(cadence, int) or not 1 <= cadence <= 365):
        raise ValueError("coaching.cadence_days must be a whole number of days from 1 to 365")
    at = raw.get("follow_up_time", DEFAULT_FOLLOW_UP_TIME)
    if not isinstance(at, str) or not _HHMM.match(at):
        raise ValueError("coaching.follow_up_time must be a 24-hour HH:MM time")
    return CoachingSettings(cadence, at)


def months_before(day: date, months: int) -> date:
    """The same day ``months`` calendar months earlier (clamped to the month's last day)."""
    year, month = divmod(day.year * 12 + day.month - 1 - months, 12)
    month += 1
    last = (date(year + (month == 12), month % 12 + 1, 1) - timedelta(days=1)).day
    return date(year, month, min(day.day, last))


def retention_cutoff(today: date, months: int) -> date | None:
    """Coaching records dated before this are purged; None keeps everything (``months`` 0)."""
    return months_before(today, months) if months > 0 else None
