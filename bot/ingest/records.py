"""Reading import files into (line number, record) pairs: CSV with a header row, or JSON lines."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Record = dict[str, Any]


@dataclass(frozen=True, slots=True)
class RowError:
    line: int
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.message}"


class ImportFileError(Exception):
    """The file as a whole is unreadable (wrong format, missing columns); nothing was changed."""


def read_records(path: Path, required: set[str] | None = None) -> list[tuple[int, Record]]:
    """Records with the file's own line numbers; ``.jsonl``/``.ndjson`` are JSON lines, anything else CSV."""
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ImportFileError(f"cannot read {path}: {exc}") from None
    if path.suffix.lower() in {".jsonl", ".ndjson"}:
        return list(_json_lines(raw))
    return _csv(raw, required or set())


def _csv(raw: str, required: set[str]) -> list[tuple[int, Record]]:
    reader = csv.DictReader(io.StringIO(raw))
    header = [h.strip().lower() for h in reader.fieldnames or []]
    if not header:
        raise ImportFileError("the file is empty (a header row is needed)")
    missing = required - set(header)
    if missing:
        raise ImportFileError(f"missing column(s): {', '.join(sorted(missing))}; found: {', '.join(header)}")
    reader.fieldnames = header
    out = []
    for row in reader:
        if not any((v or "").strip() for k, v in row.items() if k is not None):
            continue  # blank line
        extra = row.pop(None, None)  # type: ignore[call-overload, unused-ignore]
        record: Record = {k: (v.strip() if isinstance(v, str) else v) for k, v in row.items()}
        if extra:
            record["__extra__"] = extra
        out.append((reader.line_num, record))
    return out


def _json_lines(raw: str) -> Iterator[tuple[int, Record]]:
    for number, line in enumerate(raw.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield number, {"__error__": f"not valid JSON ({exc.msg})"}
            continue
        yield number, value if isinstance(value, dict) else {"__error__": "each line must be a JSON object"}


def text(record: Record, key: str) -> str:
    value = record.get(key)
    return "" if value is None else str(value).strip()
