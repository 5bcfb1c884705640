"""The pure coaching rules: action items, the session form, team settings, what's due, plan status, retention,
command parsing."""

from __future__ import annotations

from datetime import date

import pytest
from pydantic import ValidationError

from bot.domain.coaching import (
    ActionDraft,
    CoachingSettings,
    Owner,
    SessionKind,
    months_before,
    parse_action_items,
    parse_coaching_settings,
    retention_cutoff,
    validate_session,
)
from bot.domain.coaching_commands import Intent, parse_one_on_one, parse_pip
from bot.domain.coaching_due import AgentRecord, OpenAction, due_report
from bot.domain.coaching_effect import coaching_effect
from bot.domain.coaching_plans import PlanChange, PlanStatus, check_extension, next_status, validate_plan
from bot.domain.errors import UsageError, UserFacingError
from bot.domain.org import TeamSpec

TODAY = date(2026, 11, 18)


def test_action_items_one_per_line_with_optional_owner_and_date() -> None:
    drafts, problems = parse_action_items(
        "- Shadow Sipho | agent | 2026-11-25\n\n• Send checklist | lead\nRead macro | 2026-12-01\nJust this",
        held_on=TODAY,
    )
    assert problems == []
    assert drafts == (
        ActionDraft("Shadow Sipho", Owner.AGENT, date(2026, 11, 25)),
        ActionDraft("Send checklist", Owner.LEAD, None),
        ActionDraft("Read macro", Owner.AGENT, date(2026, 12, 1)),
        ActionDraft("Just this", Owner.AGENT, None),
    )


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("| agent", "Line 1: say what the action is"),
        ("Do it | whenever", "`whenever` is neither an owner"),
        ("Do it | 2026-02-30", "`2026-02-30` is neither"),
        ("Do it | agent | 2026-11-01", "is before the session"),
        ("a | b | c | d", "at most two |"),
        ("x" * 301, "under 300 characters"),
        ("\n".join(f"item {n}" for n in range(11)), "At most 10 action items"),
    ],
)
def test_bad_action_lines_are_named(text: str, problem: str) -> None:
    drafts, problems = parse_action_items(text, held_on=TODAY)
    assert drafts == () and problem in " ".join(problems)


def _form(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "kind": "coaching",
        "held_on": TODAY,
        "summary": " Good chat ",
        "notes": None,
        "strengths": "",
        "improve": None,
        "actions": None,
        "follow_up_on": None,
        "today": TODAY,
    }
    return {**base, **kw}


def test_a_valid_session_is_cleaned() -> None:
    draft = validate_session(**_form(follow_up_on=date(2026, 12, 2), notes="  private  "))  # type: ignore[arg-type]
    assert not isinstance(draft, dict)
    assert (draft.kind, draft.summary, draft.notes, draft.strengths, draft.follow_up_on) == (
        SessionKind.COACHING,
        "Good chat",
        "private",
        None,
        date(2026, 12, 2),
    )


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "chat"}, "kind"),
        ({"held_on": None}, "date"),
        ({"held_on": date(2026, 11, 19)}, "date"),
        ({"held_on": date(2026, 8, 1)}, "date"),
        ({"summary": "   "}, "summary"),
        ({"summary": "x" * 2001}, "summary"),
        ({"follow_up_on": TODAY}, "follow_up"),
        ({"follow_up_on": date(2027, 12, 1)}, "follow_up"),
        ({"notes": "secret", "notes_allowed": False}, "notes"),
        ({"actions": "do | someday"}, "actions"),
    ],
)
def test_session_errors_name_the_field(change: dict[str, object], field: str) -> None:
    errors = validate_session(**_form(**change))  # type: ignore[arg-type]
    assert isinstance(errors, dict) and list(errors) == [field]


def test_team_coaching_settings_are_validated_in_org_yml() -> None:
    assert parse_coaching_settings({"cadence_days": 7, "follow_up_time": "08:30"}) == CoachingSettings(7, "08:30")
    assert parse_coaching_settings(None) == CoachingSettings()
    for bad, message in (
        ({"cadence": 7}, "unknown coaching setting"),
        ({"cadence_days": 0}, "1 to 365"),
        ({"cadence_days": True}, "1 to 365"),
        ({"follow_up_time": "9am"}, "HH:MM"),
    ):
        with pytest.raises(ValueError, match=message):
            parse_coaching_settings(bad)
        with pytest.raises(ValidationError, match=message):
            TeamSpec(key="alpha", name="Alpha", coaching=bad)


def test_due_report_follow_ups_actions_cadence_and_leave() -> None:
    agents = [
        AgentRecord(1, "Thandi", 10, 5, date(2026, 10, 29), date(2026, 11, 15)),
        AgentRecord(2, "Sipho", 10),
        AgentRecord(3, "Ayesha", 10, 6, date(2026, 11, 10), date(2026, 11, 18)),
        AgentRecord(4, "Zola", 10, on_leave=True),
        AgentRecord(5, "Bob", 20, 7, date(2026, 11, 10), None),
    ]
    actions = [
        OpenAction(1, 1, "Thandi", "Shadow", "agent", date(2026, 11, 10)),
        OpenAction(2, 1, "Thandi", "Later", "agent", date(2026, 11, 30)),
        OpenAction(3, 3, "Ayesha", "No date", "lead", None),
    ]
    report = due_report(agents, actions, today=TODAY, cadence_days={10: 14, 20: 7})
    assert [(o.agent.name, o.days) for o in report.follow_ups if o.agent] == [("Thandi", 3), ("Ayesha", 0)]
    assert [(o.action.item_id, o.days) for o in report.actions if o.action] == [(1, 8)]
    assert [(a.name, since) for a, since in report.uncoached] == [("Sipho", None), ("Thandi", 20), ("Bob", 8)]
    assert [a.name for a in report.on_leave] == ["Zola"] and not report.empty


def test_plan_status_rules() -> None:
    assert next_status(PlanStatus.OPEN, PlanChange.EXTEND) is PlanStatus.EXTENDED
    assert next_status(PlanStatus.EXTENDED, PlanChange.EXTEND) is PlanStatus.EXTENDED
    assert next_status(PlanStatus.EXTENDED, PlanChange.EDIT) is PlanStatus.EXTENDED
    assert next_status(PlanStatus.OPEN, PlanChange.PASS) is PlanStatus.PASSED
    assert next_status(PlanStatus.EXTENDED, PlanChange.CLOSE) is PlanStatus.CLOSED
    for done in (PlanStatus.PASSED, PlanStatus.CLOSED):
        for change in (PlanChange.EDIT, PlanChange.EXTEND, PlanChange.PASS, PlanChange.CLOSE):
            with pytest.raises(UserFacingError, match="can't be changed"):
                next_status(done, change)
    with pytest.raises(UserFacingError, match="after the current end date"):
        check_extension(date(2026, 12, 16), date(2026, 12, 16), today=TODAY)
    with pytest.raises(UserFacingError, match="a year at most"):
        check_extension(date(2026, 12, 16), date(2028, 1, 1), today=TODAY)


def test_plan_form_rules() -> None:
    draft = validate_plan(
        goals="CSAT | ≥ 85%\n", reviews="2026-12-02 2026-11-25,2026-11-25", end_on=date(2026, 12, 16), today=TODAY
    )
    assert not isinstance(draft, dict)
    assert draft.reviews == (date(2026, 11, 25), date(2026, 12, 2)) and draft.goals[0].target == "≥ 85%"
    errors = validate_plan(goals="", reviews="2027-01-01", end_on=date(2026, 12, 16), today=TODAY)
    assert isinstance(errors, dict) and set(errors) == {"goals", "reviews"}


def test_retention_counts_calendar_months() -> None:
    assert retention_cutoff(TODAY, 0) is None
    assert retention_cutoff(TODAY, 24) == date(2024, 11, 18)
    assert months_before(date(2026, 3, 31), 1) == date(2026, 2, 28)
    assert months_before(date(2024, 3, 31), 1) == date(2024, 2, 29)
    assert months_before(date(2026, 1, 15), 13) == date(2024, 12, 15)


def test_coaching_effect_says_better_or_worse_by_direction() -> None:
    then = {
        "metrics": [
            {"key": "aht", "label": "Handle time", "unit": "s", "higher_is_better": False, "value": 480.0},
            {"key": "csat", "label": "CSAT", "unit": "%", "higher_is_better": True, "value": 90.0},
        ]
    }
    since = {
        "metrics": [
            {"key": "aht", "label": "Handle time", "unit": "s", "higher_is_better": False, "value": 420.0},
            {"key": "csat", "label": "CSAT", "unit": "%", "higher_is_better": True, "value": 85.5},
        ]
    }
    lines = coaching_effect(then, since)
    assert [(x.label, x.before, x.after, x.change) for x in lines] == [
        ("Handle time", "8m 00s", "7m 00s", "▼ −60s better"),
        ("CSAT", "90.0%", "85.5%", "▼ −4.5 pts worse"),
    ]


def test_command_parsing() -> None:
    assert parse_one_on_one("").intent is Intent.LOG
    assert parse_one_on_one("<@U1ABC|x>").slack_user_id == "U1ABC"
    q = parse_one_on_one("history <@U1ABC> 7")
    assert (q.intent, q.slack_user_id, q.count) == (Intent.HISTORY, "U1ABC", 7)
    assert parse_one_on_one("history").slack_user_id is None
    assert parse_one_on_one("history me 2").count == 2
    assert parse_one_on_one("done #12").item_id == 12
    assert parse_pip("").intent is Intent.PIP_SHOW
    assert parse_pip("<@U1ABC>").slack_user_id == "U1ABC"
    q = parse_pip("extend <@U1ABC> 2027-01-31")
    assert (q.intent, q.end_on) == (Intent.PIP_EXTEND, date(2027, 1, 31))
    for bad in ("history <@U1ABC> 11", "due now", "done", "<@U1> <@U2>"):
        with pytest.raises(UsageError):
            parse_one_on_one(bad)
    for bad in ("open", "extend <@U1ABC>", "pass <@U1ABC> now", "fire <@U1ABC>", "open @thandi"):
        with pytest.raises(UsageError):
            parse_pip(bad)
