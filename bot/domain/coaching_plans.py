"""Performance improvement plans: goals with measurable targets, review dates, an end date, and the status
rules (open → extended → passed | closed). Pure; ``today`` is the team's local date."""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from bot.domain.coaching import parse_date
from bot.domain.errors import UserFacingError


class PlanStatus(StrEnum):
    OPEN = "open"
    EXTENDED = "extended"
    PASSED = "passed"
    CLOSED = "closed"


class PlanChange(StrEnum):
    OPEN = "open"
    EDIT = "edit"
    EXTEND = "extend"
    PASS = "pass"
    CLOSE = "close"


ACTIVE = frozenset({PlanStatus.OPEN, PlanStatus.EXTENDED})
STATUS_LABELS = {
    PlanStatus.OPEN: "open",
    PlanStatus.EXTENDED: "extended",
    PlanStatus.PASSED: "passed",
    PlanStatus.CLOSED: "closed",
}
MAX_GOALS = 8
GOAL_MAX = 300
GOALS_TEXT_MAX = 3000  # Slack's input limit: the plan's goals must fit the edit form again, as written back
MAX_REVIEWS = 12
MAX_PLAN_DAYS = 365
_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True, slots=True)
class Goal:
    goal: str
    target: str  # the measurable target: "CSAT ≥ 85% over 2 weeks"


@dataclass(frozen=True, slots=True)
class PlanDraft:
    goals: tuple[Goal, ...]
    reviews: tuple[date, ...]
    end_on: date


def parse_goals(text: str | None) -> tuple[tuple[Goal, ...], list[str]]:
    """One goal per line: ``goal | measurable target``."""
    goals: list[Goal] = []
    problems: list[str] = []
    lines = [(n, line.strip()) for n, line in enumerate((text or "").splitlines(), start=1) if line.strip()]
    if not lines:
        return (), ["Write at least one goal: `goal | measurable target`, one per line."]
    if len(lines) > MAX_GOALS:
        return (), [f"At most {MAX_GOALS} goals (there are {len(lines)})."]
    for n, line in lines:
        parts = [p.strip() for p in line.split("|")]
        goal = parts[0].lstrip("-•* ").strip()
        if len(parts) != 2 or not goal or not parts[1]:
            problems.append(f"Line {n}: write `goal | measurable target`, e.g. `Raise CSAT | CSAT ≥ 85% for 2 weeks`.")
        elif len(goal) > GOAL_MAX or len(parts[1]) > GOAL_MAX:
            problems.append(f"Line {n}: keep goal and target under {GOAL_MAX} characters each.")
        else:
            goals.append(Goal(goal, parts[1]))
    if not problems and len("\n".join(f"{g.goal} | {g.target}" for g in goals)) > GOALS_TEXT_MAX:
        problems.append(f"Keep the goals under {GOALS_TEXT_MAX} characters in all (written `goal | target`).")
    return (tuple(goals) if not problems else ()), problems


def parse_review_dates(text: str | None) -> tuple[tuple[date, ...], list[str]]:
    days: list[date] = []
    problems: list[str] = []
    for token in (t for t in _SPLIT.split(text or "") if t):
        day = parse_date(token)
        if day is None:
            problems.append(f"`{token}` is not a YYYY-MM-DD date.")
        else:
            days.append(day)
    if not days and not problems:
        problems.append("Give at least one review date (YYYY-MM-DD, separated by commas).")
    if len(days) > MAX_REVIEWS:
        problems.append(f"At most {MAX_REVIEWS} review dates.")
    return tuple(sorted(set(days))), problems


def validate_plan(
    *,
    goals: str | None,
    reviews: str | None,
    end_on: date | None,
    today: date,
    current_reviews: Collection[date] = (),
    current_end: date | None = None,
) -> PlanDraft | dict[str, str]:
    """The plan form as a draft, or field errors keyed by field name (goals, reviews, end).

    Editing a plan (``current_*`` given): the dates it already has may be in the past (a review held, an end date
    reached while the plan is still open); only a changed end date and newly added review dates must be ahead.
    """
    errors: dict[str, str] = {}
    parsed_goals, problems = parse_goals(goals)
    if problems:
        errors["goals"] = " ".join(problems)[:300]
    if end_on is None:
        errors["end"] = "Pick the date the plan ends."
    elif end_on != current_end:
        if end_on <= today:
            errors["end"] = "The end date must be in the future."
        elif end_on > today + timedelta(days=MAX_PLAN_DAYS):
            errors["end"] = "A plan can run for a year at most."
    days, problems = parse_review_dates(reviews)
    if problems:
        errors["reviews"] = " ".join(problems)[:300]
    elif end_on is not None and "end" not in errors:
        kept = set(current_reviews)
        outside = [d for d in days if d > end_on or (d < today and d not in kept)]
        if outside:
            errors["reviews"] = f"Review dates must fall between today and the end date ({outside[0]:%d %b %Y})."
    if errors:
        return errors
    assert end_on is not None
    return PlanDraft(parsed_goals, days, end_on)


_ALLOWED: dict[PlanChange, frozenset[PlanStatus]] = {
    PlanChange.EDIT: ACTIVE,
    PlanChange.EXTEND: ACTIVE,
    PlanChange.PASS: ACTIVE,
    PlanChange.CLOSE: ACTIVE,
}
_RESULT = {
    PlanChange.EXTEND: PlanStatus.EXTENDED,
    PlanChange.PASS: PlanStatus.PASSED,
    PlanChange.CLOSE: PlanStatus.CLOSED,
}


def next_status(current: PlanStatus, change: PlanChange) -> PlanStatus:
    """The status after ``change``; a finished plan (passed or closed) cannot change: open a new one instead."""
    if change is PlanChange.OPEN:
        raise ValueError("a plan is opened, not changed into open")
    if current not in _ALLOWED[change]:
        raise UserFacingError(
            f"This plan is already {STATUS_LABELS[current]}; it can't be changed. Open a new plan if needed."
        )
    return _RESULT.get(change, current)


def check_extension(current_end: date, new_end: date, *, today: date) -> None:
    if new_end <= current_end:
        raise UserFacingError(f"An extension must end after the current end date ({current_end:%d %b %Y}).")
    if new_end > today + timedelta(days=MAX_PLAN_DAYS):
        raise UserFacingError("A plan can run for a year at most.")
