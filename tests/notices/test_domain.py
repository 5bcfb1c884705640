"""The pure parts: content hash and materiality, reminder maths, command and form parsing, CSV, rendering."""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, timedelta

import pytest

from bot.blocks.ids import BlockId
from bot.blocks.kit import MAX_MESSAGE_BLOCKS
from bot.blocks.notice_form import FormDefaults, NoticeForm, TeamOption, parse_notice_form, render_notice_modal
from bot.blocks.notices import NoticeView, render_notice_post, render_reminder_dm
from bot.domain.errors import UsageError
from bot.domain.notice_commands import NoticeAction, NoticeIntent, parse_notice_command
from bot.domain.notice_export import ExportRow, csv_text
from bot.domain.notice_schedule import (
    ShiftPiece,
    due_reminders,
    escalation_due,
    follow_up_ends,
    latest_shift_start,
    reminders_possible,
    shift_starts,
)
from bot.domain.notices import NoticeContent, Tally, coalesce_window, content_hash, judge_edit

T0 = datetime(2026, 11, 18, 12, 30, tzinfo=UTC)
DEADLINE = datetime(2026, 11, 20, 15, 0, tzinfo=UTC)
CONTENT = NoticeContent("Refunds", "Over R500 needs approval.", None, date(2026, 11, 23))


def test_content_hash_ignores_line_endings_and_trailing_space_but_not_words() -> None:
    same = NoticeContent("Refunds ", "Over R500 needs approval.  \r\n", None, date(2026, 11, 23))
    assert content_hash(same) == content_hash(CONTENT) and len(content_hash(CONTENT)) == 64
    for changed in (
        NoticeContent("Refunds", "Over R300 needs approval.", None, CONTENT.effective_on),
        NoticeContent("Refunds", CONTENT.body, "https://x.example.com", CONTENT.effective_on),
        NoticeContent("Refunds", CONTENT.body, None, date(2026, 11, 24)),
    ):
        assert content_hash(changed) != content_hash(CONTENT)


@pytest.mark.parametrize(
    ("new_hash", "new_deadline", "minor", "changed", "material"),
    [
        ("a", DEADLINE, False, False, False),  # nothing changed
        ("a", DEADLINE + timedelta(days=1), False, True, False),  # a deadline is never material
        ("b", DEADLINE, False, True, True),  # new words: acknowledge again
        ("b", DEADLINE, True, True, False),  # marked a typo fix
    ],
)
def test_judge_edit(new_hash: str, new_deadline: datetime, minor: bool, changed: bool, material: bool) -> None:
    outcome = judge_edit(old_hash="a", new_hash=new_hash, old_deadline=DEADLINE, new_deadline=new_deadline, minor=minor)
    assert (outcome.changed, outcome.material) == (changed, material)


def test_reminders_before_the_deadline_only_after_publication() -> None:
    def due(now: datetime, published: datetime = T0, sent: tuple[str, ...] = ()) -> list[str]:
        return due_reminders(published_at=published, deadline=DEADLINE, now=now, shift_start=None, sent=sent)

    d24, d2 = "before-24h@2026-11-20T15:00Z", "before-2h@2026-11-20T15:00Z"
    assert due(DEADLINE - timedelta(hours=25)) == []
    assert due(DEADLINE - timedelta(hours=24)) == [d24]
    assert due(DEADLINE - timedelta(hours=24), sent=(d24,)) == []
    assert due(DEADLINE - timedelta(hours=1)) == [d24, d2]  # after downtime: one message
    assert due(DEADLINE) == []  # the deadline passed: escalation, not reminders
    late = DEADLINE - timedelta(hours=10)  # published 10 h before: the 24 h mark was before it
    assert due(DEADLINE - timedelta(hours=2), published=late) == [d2]
    # A reminder sent for an earlier deadline does not stand in for the new one.
    assert due(DEADLINE - timedelta(hours=24), sent=("before-24h@2026-11-19T15:00Z",)) == [d24]


def test_shift_start_reminder() -> None:
    start = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)

    def due(now: datetime, shift: datetime | None, deadline: datetime | None = DEADLINE) -> list[str]:
        return due_reminders(published_at=T0, deadline=deadline, now=now, shift_start=shift)

    assert due(start, start) == ["shift"]
    assert "shift" not in due(start + timedelta(hours=13), start)  # too late to be "the start of their shift"
    assert due(start, start, deadline=None) == ["shift"]
    assert due(start, start, deadline=start) == []


def test_shift_starts_merge_touching_segments_and_skip_off_time() -> None:
    s = datetime(2026, 11, 19, 6, 0, tzinfo=UTC)
    pieces = [
        ShiftPiece(s, s + timedelta(hours=4), "open"),
        ShiftPiece(s + timedelta(hours=4), s + timedelta(hours=5), "lunch"),
        ShiftPiece(s + timedelta(hours=5), s + timedelta(hours=9), "open"),
        ShiftPiece(s + timedelta(hours=9), s + timedelta(hours=24), "offline"),
        ShiftPiece(s + timedelta(hours=24), s + timedelta(hours=32), "open"),
    ]
    assert shift_starts(pieces) == [s, s + timedelta(hours=24)]
    assert latest_shift_start(pieces, after=T0, upto=s + timedelta(hours=30)) == s + timedelta(hours=24)
    assert latest_shift_start(pieces, after=s, upto=s + timedelta(hours=23)) is None


def test_escalation_and_horizons() -> None:
    assert not escalation_due(None, T0, T0)
    assert not escalation_due(DEADLINE, DEADLINE - timedelta(seconds=1), T0)
    assert escalation_due(DEADLINE, DEADLINE, T0)
    assert not escalation_due(DEADLINE, DEADLINE + timedelta(days=3), T0)
    assert not escalation_due(DEADLINE, DEADLINE + timedelta(hours=1), DEADLINE)  # a version born overdue
    assert follow_up_ends(DEADLINE, T0) == DEADLINE + timedelta(days=2)
    assert follow_up_ends(None, T0) == T0 + timedelta(days=16)
    assert reminders_possible(None, T0, T0 + timedelta(days=13))
    assert not reminders_possible(None, T0, T0 + timedelta(days=15))


@pytest.mark.parametrize(
    ("text", "intent"),
    [
        ("", NoticeIntent(NoticeAction.HELP)),
        ("new", NoticeIntent(NoticeAction.NEW)),
        ("LIST", NoticeIntent(NoticeAction.LIST)),
        ("status #12", NoticeIntent(NoticeAction.STATUS, 12)),
        ("edit 3", NoticeIntent(NoticeAction.EDIT, 3)),
        ("export 7", NoticeIntent(NoticeAction.EXPORT, 7)),
    ],
)
def test_parse_notice_command(text: str, intent: NoticeIntent) -> None:
    assert parse_notice_command(text) == intent


@pytest.mark.parametrize("text", ["remind", "remind x", "status 1 2", "new 3", "delete 3"])
def test_bad_notice_commands_explain_usage(text: str) -> None:
    with pytest.raises(UsageError, match="How to use `/notice`"):
        parse_notice_command(text)


def _values(stamp: int | None) -> dict[str, object]:
    return {
        BlockId.NOTICE_TITLE: {"value": {"value": "Refunds"}},
        BlockId.NOTICE_BODY: {"value": {"value": "Over R500 needs approval."}},
        BlockId.NOTICE_EFFECTIVE: {"value": {"selected_date": "2026-11-23"}},
        BlockId.NOTICE_DEADLINE: {"value": {"selected_date_time": stamp}},
        BlockId.NOTICE_AUDIENCE: {"value": {"selected_options": [{"value": "2"}, {"value": "1"}]}},
        BlockId.NOTICE_LINK: {"value": {"value": None}},
    }


def test_the_modal_and_its_parser_agree() -> None:
    modal = render_notice_modal(FormDefaults((TeamOption(1, "Alpha"), TeamOption(2, "Bravo")), date(2026, 11, 18)))
    ids = {b.get("block_id") for b in modal["blocks"]}
    assert {BlockId.NOTICE_TITLE, BlockId.NOTICE_AUDIENCE, BlockId.NOTICE_DEADLINE, BlockId.NOTICE_LINK} <= ids
    form = parse_notice_form("", _values(int(DEADLINE.timestamp())), now=T0, allowed_teams=[1, 2])
    assert form == NoticeForm(CONTENT, DEADLINE, (1, 2), False, None, None)
    no_deadline = parse_notice_form("", _values(None), now=T0, allowed_teams=[1, 2])
    assert isinstance(no_deadline, NoticeForm) and no_deadline.deadline is None


def test_csv_rows_and_spreadsheet_safety() -> None:
    row = ExportRow(4, "=HYPERLINK(x)", 2, "ab" * 32, "Team, Alpha", "Ann", "ann@example.com", None, T0, True)
    assert csv_text([row]).splitlines()[1] == (
        f'4,\'=HYPERLINK(x),2,{"ab" * 32},"Team, Alpha",Ann,ann@example.com,outstanding,2026-11-18T12:30:00Z,yes'
    )


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
@pytest.mark.parametrize("field", ["member", "email", "team", "title"])
def test_cells_a_spreadsheet_would_run_as_formulas_are_defused(start: str, field: str) -> None:
    values = {"title": "Refunds", "team": "Alpha", "member": "Ann", "email": "ann@example.com"}
    values[field] = f"{start}cmd|' /C calc'!A0"
    row = ExportRow(4, values["title"], 1, "ab" * 32, values["team"], values["member"], values["email"], None, None)
    (cells,) = list(csv.DictReader(io.StringIO(csv_text([row]), newline="")))
    assert cells[field] == f"'{start}cmd|' /C calc'!A0"
    assert all(not cells[k].startswith(("=", "+", "-", "@", "\t", "\r")) for k in values)


def test_coalescing_widens_with_the_number_of_channels() -> None:
    assert [coalesce_window(n).total_seconds() for n in (1, 2, 3, 5, 7, 40)] == [3, 3, 4.5, 7.5, 10, 10]


def test_a_long_notice_stays_inside_slack_limits() -> None:
    view = NoticeView(1, 1, 1, "T" * 400, "B" * 5000, None, date(2026, 11, 23), DEADLINE, "abc", "Africa/Johannesburg")
    post = render_notice_post(view, Tally(12, 25))
    assert len(post["blocks"]) <= MAX_MESSAGE_BLOCKS
    assert len(post["blocks"][0]["text"]["text"]) <= 150 and len(post["blocks"][1]["text"]["text"]) <= 3000
    assert post["blocks"][-1]["elements"][0]["text"] == "*12/25 acknowledged*"
    assert "<!date^1795186800^" in str(post["blocks"][2]) and "Fri 20 Nov 17:00 SAST" in str(post["blocks"][2])
    dm = render_reminder_dm(view)
    assert dm["blocks"][-1]["elements"][0]["value"] == "1:1"


@pytest.mark.parametrize("meta", ["not json", '{"notice": "1"}', "[1, 2]"])
def test_a_form_with_foreign_metadata_is_refused(meta: str) -> None:
    errors = parse_notice_form(meta, _values(None), now=T0, allowed_teams=[1, 2])
    assert errors == {BlockId.NOTICE_TITLE: "This form is out of date: close it and run the command again."}
