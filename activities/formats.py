"""Text <-> data conversions shared by file and transform actions (CSV, JSON)."""

from __future__ import annotations

import csv
import io
import json
from typing import Literal

from pydantic import JsonValue

from activities.errors import action_error

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


def parse_csv(text: str) -> list[JsonValue]:
    """CSV with a header row -> list of records, numeric cells as numbers."""
    reader = csv.DictReader(io.StringIO(text))
    if not reader.fieldnames:
        return []
    return [
        {key: _number_or_text(value or "") for key, value in row.items() if key is not None}
        for row in reader
    ]


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
    if requested != "auto":
        return requested
    lowered = path.lower()
    if lowered.endswith(".json"):
        return "json"
    if lowered.endswith(".csv"):
        return "csv"
    return "text"


def parse_text(text: str, fmt: Format, source: str) -> JsonValue:
    """Parse text as the given format; a parse error is non-retryable and says where."""
    if fmt == "csv":
        return parse_csv(text)
    if fmt == "json":
        try:
            parsed: JsonValue = json.loads(text)
        except json.JSONDecodeError as exc:
            raise action_error(
                f"{source} is not valid JSON: {exc}", error_type="InvalidData", retryable=False
            ) from exc
        return parsed
    return text


def render(content: JsonValue, fmt: Format) -> str:
    """Content as file text: strings as-is (unless CSV of records), else JSON."""
    if fmt == "csv" and not isinstance(content, str):
        return to_csv(content)
    if isinstance(content, str):
        return content
    return json.dumps(content, indent=2, ensure_ascii=False) + "\n"
