"""The compliance export of notice acknowledgements, pure: rows in, CSV text out.

One row per person per material version: for a notice's current version everyone in its audience (who has
acknowledged, when, and which exact version; or ``outstanding``); for earlier, replaced versions the people
who acknowledged them (their acknowledgement stays on record for the version they read).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime

COLUMNS = (
    "notice",
    "title",
    "version",
    "content_hash",
    "team",
    "member",
    "email",
    "acknowledged_at",
    "reminded_at",
    "on_leave",
)
OUTSTANDING = "outstanding"
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")  # spreadsheet formula injection


@dataclass(frozen=True, slots=True)
class ExportRow:
    notice_id: int
    title: str
    version: int  # the version acknowledged, or the current one for someone outstanding
    content_hash: str
    team: str
    member: str
    email: str
    acknowledged_at: datetime | None
    reminded_at: datetime | None
    on_leave: bool = False


def iso(at: datetime | None) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ") if at else ""


def _cell(value: str) -> str:
    return "'" + value if value.startswith(_FORMULA_START) else value


def csv_text(rows: Iterable[ExportRow]) -> str:
    out = io.StringIO()
    # RFC 4180 line ends: the writer then quotes any cell holding \r or \n, so no cell can start a new row.
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(COLUMNS)
    for r in rows:
        writer.writerow(
            [
                r.notice_id,
                _cell(r.title),
                r.version,
                r.content_hash,
                _cell(r.team),
                _cell(r.member),
                _cell(r.email),
                iso(r.acknowledged_at) or OUTSTANDING,
                iso(r.reminded_at),
                "yes" if r.on_leave else "",
            ]
        )
    return out.getvalue()
