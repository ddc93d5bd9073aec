"""Reading outcomes and comparing them: files as the run left them, numbers within 1 %,
maps of names to numbers. A check raises ``Missed`` with what it found; it never reads
the plan."""

from __future__ import annotations

import csv
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncpg

from evals.api import EvalApi


class Missed(Exception):
    """The outcome is not what the goal asks for; the message says what was found."""


@dataclass
class Ctx:
    workspace: Path
    api: EvalApi
    db: asyncpg.Connection


Check = Callable[[Ctx], Awaitable[None]]


def load(ctx: Ctx, path: str) -> Any:
    target = ctx.workspace / path
    if not target.is_file():
        raise Missed(f"{path} was not written")
    text = target.read_text(encoding="utf-8")
    if path.endswith(".json"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise Missed(f"{path} is not JSON: {exc}; starts {text[:80]!r}") from None
    if path.endswith(".csv"):
        return list(csv.DictReader(text.splitlines()))
    return text


def number(value: Any, what: str) -> float:
    """A number, or a one-entry object holding one ({"count": 12} counts as 12)."""
    if isinstance(value, dict) and len(value) == 1:
        value = next(iter(value.values()))
    if isinstance(value, list) and len(value) == 1:
        value = value[0]
    try:
        return float(value)
    except (TypeError, ValueError):
        raise Missed(f"{what} should be a number, found {json.dumps(value)[:120]}") from None


def same(found: float, expected: float, what: str) -> None:
    if abs(found - expected) > 0.01 * max(1.0, abs(expected)):
        raise Missed(f"{what}: expected {expected:g}, found {found:g}")


def per_key(value: Any, expected: dict[str, float], what: str) -> None:
    """An object mapping each key to its number (or a list of {key, number} records)."""
    if isinstance(value, list):
        merged: dict[str, Any] = {}
        for record in value:
            if isinstance(record, dict):
                keys = [v for v in record.values() if isinstance(v, str)]
                nums = [v for v in record.values() if isinstance(v, int | float)]
                if len(keys) == 1 and len(nums) == 1:
                    merged[keys[0]] = nums[0]
        value = merged
    if not isinstance(value, dict):
        raise Missed(f"{what} should map names to numbers, found {json.dumps(value)[:120]}")
    if set(value) != set(expected):
        raise Missed(f"{what}: keys {sorted(value)} instead of {sorted(expected)}")
    for key, want in expected.items():
        same(number(value[key], f"{what}[{key}]"), want, f"{what}[{key}]")


def records(value: Any, what: str) -> list[dict[str, Any]]:
    if not isinstance(value, list) or not all(isinstance(r, dict) for r in value):
        raise Missed(f"{what} should be a list of records, found {json.dumps(value)[:120]}")
    return value


def file_check(path: str, test: Callable[[Any], None]) -> Check:
    async def check(ctx: Ctx) -> None:
        test(load(ctx, path))

    return check
