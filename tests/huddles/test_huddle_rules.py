"""Pure huddle rules: settings from org.yml, slots across DST, who is expected, tallies, mood, report maths,
command parsing and the renderers' limits."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from pydantic import ValidationError

from bot.blocks.huddle import PromptView, parse_checkin_form, render_prompt
from bot.blocks.huddle_digest import mood_line
from bot.blocks.ids import BlockId
from bot.domain.errors import UsageError
from bot.domain.huddle import expected_agents, mood_stats, on_shift, tally
from bot.domain.huddle_commands import HuddleAction, parse_huddle_command
from bot.domain.huddle_report import HuddleRecord, build_report
from bot.domain.huddle_settings import HuddleSettings, day_slots, parse_huddle_settings
from bot.domain.org import OrgSpec
from bot.domain.periods import DateRange
from tests.support.org import ORG

LONDON = ZoneInfo("Europe/London")


def t(hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 11, 18, hour, minute, tzinfo=UTC)


def test_settings_defaults_and_full() -> None:
    assert parse_huddle_settings({}) == HuddleSettings()
    full = parse_huddle_settings(
        {
            "close_at": "09:45",
            "remind_before_close_minutes": 0,
            "late_after_minutes": 20,
            "second_shift": "14:00",
            "anonymous_mood": True,
        },
        "09:00",
    )
    assert (full.close_at, full.remind_before_close_minutes, full.second_shift, full.anonymous_mood) == (
        time(9, 45),
        0,
        time(14, 0),
        True,
    )


@pytest.mark.parametrize(
    ("raw", "error"),
    [
        ({"close_after": 30}, "unknown setting(s) ['close_after']"),
        ({"close_after_minutes": 2}, "close_after_minutes: must be a whole number of minutes from 5 to 480"),
        ({"close_after_minutes": "30"}, "close_after_minutes: must be a whole number"),
        ({"close_at": "9:45"}, "close_at: '9:45' is not a 24-hour HH:MM time"),
        ({"close_at": "08:30"}, "close_at: 08:30 must be at least 5 minutes after 09:00"),
        ({"close_at": "09:45", "close_after_minutes": 30}, "give close_at or close_after_minutes, not both"),
        ({"close_after_minutes": 20, "remind_before_close_minutes": 20}, "from 0 to 19"),
        ({"second_shift": "08:00"}, "second_shift: 08:00 must be later than huddle_time 09:00"),
        ({"anonymous_mood": "yes"}, "anonymous_mood: must be true or false"),
    ],
)
def test_bad_settings_name_the_key(raw: dict[str, object], error: str) -> None:
    with pytest.raises(ValueError, match=None) as caught:
        parse_huddle_settings(raw, "09:00")
    assert error in str(caught.value)


def test_org_yml_rejects_bad_huddle_settings() -> None:
    spec = copy.deepcopy(ORG)
    spec["teams"][0].update({"huddle_time": "09:00", "huddle": {"close_at": "08:00"}})
    with pytest.raises(ValidationError, match="close_at: 08:00 must be at least 5 minutes after 09:00"):
        OrgSpec.model_validate(spec)
    spec["teams"][0]["huddle"] = {"close_at": "09:40"}
    assert OrgSpec.model_validate(spec).teams[0].huddle == {"close_at": "09:40"}


def test_slots_follow_local_time_across_the_spring_change() -> None:
    settings = parse_huddle_settings({"second_shift": "14:00", "close_after_minutes": 20}, "10:00")
    before = day_slots(date(2026, 3, 27), "10:00", settings, LONDON)
    after = day_slots(date(2026, 3, 30), "10:00", settings, LONDON)
    assert [(s.seq, s.starts.hour, s.closes.minute) for s in before] == [(1, 10, 20), (2, 14, 20)]
    assert [(s.seq, s.starts.hour, s.closes.minute) for s in after] == [(1, 9, 20), (2, 13, 20)]


def test_on_shift_means_a_working_segment_overlapping_the_huddle() -> None:
    assert on_shift([(t(6), t(15), "open")], t(7), t(7, 30))
    assert not on_shift([(t(6), t(15), "offline")], t(7), t(7, 30))
    assert not on_shift([(t(7, 30), t(15), "open")], t(7), t(7, 30))  # starts as the huddle closes
    assert on_shift([(t(6), t(7, 10), "break")], t(7), t(7, 30))


def test_expected_agents_roster_leave_and_schedules() -> None:
    assert expected_agents([1, 2, 3], {2}, None, t(7), t(7, 30)) == {1, 3}
    schedules = {1: [(t(6), t(15), "open")], 2: [(t(6), t(15), "open")], 3: [(t(10), t(19), "open")]}
    assert expected_agents([1, 2, 3], {2}, schedules, t(7), t(7, 30)) == {1}


def test_tally_counts_present_even_when_not_expected() -> None:
    result = tally([1, 2, 3, 4], {1, 2}, {1: False, 3: True}, {4, 3})
    assert (result.present, result.late, result.absent, result.on_leave) == ({1, 3}, {3}, {2}, {4})


def test_mood_stats_and_anonymity() -> None:
    stats = mood_stats([4, 2, None, 7])
    assert (stats.count, stats.average, stats.distribution) == (2, 3.0, {1: 0, 2: 1, 3: 0, 4: 1, 5: 0})
    assert mood_line(stats, anonymous=True).startswith("*Mood:* hidden")
    assert mood_line(mood_stats([3, 3, 4]), anonymous=True).startswith("*Mood:* 3.3 average from 3 answers")
    assert mood_line(mood_stats([]), anonymous=False) == "*Mood:* no answers"


def test_report_attendance_counts_only_expected_huddles() -> None:
    a = HuddleRecord(date(2026, 11, 16), tally([1, 2], {1, 2}, {1: False}, ()), {1: 4}, {1: 1})
    b = HuddleRecord(date(2026, 11, 17), tally([1, 2], {1}, {1: True, 2: False}, ()), {1: 2, 2: 5})
    report = build_report([a, b], [1, 2, 3], DateRange(date(2026, 11, 16), date(2026, 11, 17)))
    lines = {line.member_id: (line.expected, line.attended, line.late, line.blockers) for line in report.agents}
    assert lines == {1: (2, 2, 1, 1), 2: (1, 0, 0, 0), 3: (0, 0, 0, 0)}
    assert (report.team_rate, report.blockers, report.mood_average) == (2 / 3, 1, 11 / 3)
    assert report.mood_change == 3.5 - 4.0


@pytest.mark.parametrize(
    ("text", "action", "field", "value"),
    [
        ("", HuddleAction.HELP, "team_key", None),
        ("focus  Refunds   first ", HuddleAction.FOCUS, "whole_text", "Refunds   first"),  # if no team "refunds"
        ("focus bravo Refunds first", HuddleAction.FOCUS, "team_key", "bravo"),
        ("focus Refunds", HuddleAction.FOCUS, "text", "Refunds"),
        ("now bravo", HuddleAction.NOW, "team_key", "bravo"),
        ("skip tomorrow", HuddleAction.SKIP, "relative_days", 1),
        ("skip alpha 2026-12-24", HuddleAction.SKIP, "day", date(2026, 12, 24)),
        ("unskip", HuddleAction.UNSKIP, "day", None),
        ("leave <@UAGENT0001|thandi> 2026-12-21", HuddleAction.LEAVE, "last", date(2026, 12, 21)),
    ],
)
def test_command_parsing(text: str, action: HuddleAction, field: str, value: object) -> None:
    cmd = parse_huddle_command(text)
    assert cmd.action is action and getattr(cmd, field) == value


@pytest.mark.parametrize(
    "text", ["skip alpha 2026-12-24 extra", "now alpha bravo", "leave <@U1> 2026-01-01 2027-06-01", "report 1d"]
)
def test_command_usage_errors(text: str) -> None:
    with pytest.raises(UsageError):
        parse_huddle_command(text)


def test_prompt_stays_inside_slack_limits() -> None:
    view = PromptView(
        huddle_id=7,
        team_name="T" * 200,
        day="Wed 18 Nov",
        label="",
        closes="09:30",
        late_after="09:15",
        kpi_day="Tue 17 Nov",
        kpi_lines=tuple(f"🟢 Metric {i} 99.0%" for i in range(40)),
        notices=tuple((f"Notice {i} " + "x" * 300, i) for i in range(12)),
    )
    payload = render_prompt(view)
    assert len(payload["blocks"]) <= 50
    assert len(payload["blocks"][0]["text"]["text"]) <= 150
    assert all(len(b["text"]["text"]) <= 3000 for b in payload["blocks"] if b["type"] == "section")
    assert "…and 7 more" in payload["blocks"][3]["text"]["text"]
    assert PromptView.from_json(view.as_json()) == view


def test_checkin_form_limits() -> None:
    values = {
        BlockId.HUDDLE_MOOD: {"value": {"selected_option": {"value": "3"}}},
        BlockId.HUDDLE_BLOCKERS: {"value": {"value": "b" * 501}},
    }
    assert parse_checkin_form("5", values) == {BlockId.HUDDLE_BLOCKERS: "Keep it under 500 characters."}


def test_prompt_escapes_what_people_and_org_yml_wrote() -> None:
    view = PromptView(
        huddle_id=7,
        team_name="Alpha <&> Co",
        day="Wed 18 Nov",
        label="",
        closes="09:30",
        late_after="09:15",
        kpi_day="Tue 17 Nov",
        kpi_lines=("🟢 AHT < 420s",),
        notices=(("<!channel> new refund policy", 3),),
        focus="<@U123> & <https://evil.example|click>",
    )
    payload = render_prompt(view)
    shown = "\n".join(b["text"]["text"] for b in payload["blocks"] if b["type"] == "section")
    assert "*Today's focus:* &lt;@U123&gt; &amp; &lt;https://evil.example|click&gt;" in shown
    assert "🟢 AHT &lt; 420s" in shown and "• &lt;!channel&gt; new refund policy — 3 still to acknowledge" in shown
    assert payload["text"] == "Alpha &lt;&amp;&gt; Co huddle Wed 18 Nov: check in by 09:30"
    assert payload["blocks"][0]["text"]["text"] == "☀️ Alpha <&> Co huddle — Wed 18 Nov"  # plain text: as typed
