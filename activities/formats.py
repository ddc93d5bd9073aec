"""Text <-> data conversions shared by file and transform actions (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterable
from typing import Literal

from pydantic import JsonValue

from durable_agents.activities.errors import action_error
from durable_agents.activities.limits import (
    MAX_VALUES,
    SHARED_CHARS,
    SHARED_MAX,
    parse_json,
    too_large,
)
from durable_agents.contracts.deliverables import format_by_extension

Format = Literal["auto", "text", "json", "csv"]


def _number_or_text(value: str) -> JsonValue:
    """CSV cells are text; numbers are parsed so sums and comparisons work."""
    stripped = value.strip()
    try:
        return int(stripped)
    except ValueError:
        pass
    try:
        number = float(stripped)
    except ValueError:
        return value
    return number if number == number and abs(number) != float("inf") else value


def parse_csv(lines: str | Iterable[str], source: str = "input") -> list[JsonValue]:
    """CSV with a header row -> list of records, numeric cells as numbers.

    ``lines`` is the text or an open file (read as it goes, never whole). Parsing stops
    with ``DataTooLarge`` once records and cells pass ``MAX_VALUES``. Repeated short cells
    (regions, dates, prices) share one value object: a categorical column costs a pointer
    per row, not a new string or float.
    """
    reader = csv.DictReader(io.StringIO(lines) if isinstance(lines, str) else lines)
    seen: dict[str, JsonValue] = {}
    records: list[JsonValue] = []
    try:
        if not reader.fieldnames:
            return []
        count = len(reader.fieldnames)
        for row in reader:
            count += 1 + len(row)
            if count > MAX_VALUES:
                raise too_large(source, f"over {MAX_VALUES:,}")
            records.append({k: _cell(v or "", seen) for k, v in row.items() if k is not None})
    except csv.Error as exc:
        raise action_error(
            f"{source} is not valid CSV (line {reader.line_num}): {exc}",
            error_type="InvalidData",
            retryable=False,
        ) from exc
    return records


def _cell(text: str, seen: dict[str, JsonValue]) -> JsonValue:
    value = seen.get(text)
    if value is None:
        value = _number_or_text(text)
        if len(text) <= SHARED_CHARS and len(seen) < SHARED_MAX:
            seen[text] = value
    return value


def to_csv(records: JsonValue) -> str:
    """A list of flat records -> CSV text with a header row."""
    rows = [r for r in records if isinstance(r, dict)] if isinstance(records, list) else []
    if not isinstance(records, list) or len(rows) != len(records):
        raise action_error(
            "CSV output needs a list of records (objects); got "
            f"{type(records).__name__}; write it as JSON instead",
            error_type="InvalidData",
            retryable=False,
        )
    columns: dict[str, None] = {}
    for record in rows:
        columns.update(dict.fromkeys(record))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for record in rows:
        writer.writerow(
            {k: v if isinstance(v, str | int | float) else json.dumps(v) for k, v in record.items()}
        )
    return out.getvalue()


def effective_format(path: str, requested: Format) -> Format:
    """``auto`` picks by extension: .json -> json, .csv -> csv, else text."""
    return requested if requested != "auto" else format_by_extension(path)


def parse_text(text: str, fmt: Format, source: str) -> JsonValue:
    """Parse text as the given format; a parse error or a limit (``activities.limits``) is
    non-retryable and says where."""
    if fmt == "csv":
        return parse_csv(text, source)
    if fmt == "json":
        return parse_json(text, source)
    return text


def render(content: JsonValue, fmt: Format) -> str:
    """Content as file text: strings as-is (unless CSV of records), else JSON."""
    if fmt == "csv" and not isinstance(content, str):
        return to_csv(content)
    if isinstance(content, str):
        return content
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"
