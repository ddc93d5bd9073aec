"""``look``: read-only probes of the inputs a goal names, run before the first plan, so
the planner sees the real column and field names instead of guessing them.

What is probed:

- workspace files the goal names (``data/sales.csv``, ``notes.txt``) that exist, confined
  and guarded exactly like ``file_read`` (``activities.workspace.confine``): protected
  names (.env, keys) and symlinks out of the workspace are never read. At most
  ``LOOK_BYTES`` of each are read and parsed as ``file_read`` parses them
  (``activities.formats``). Files that do not exist yet (outputs) are skipped.
- PostgreSQL tables of the ``public`` schema whose names are words of the goal, when the
  worker has a DATABASE_URL: their columns and a capped row count, read-only.

Not probed: HTTP. Even a GET may need a person's approval under the run's policy, and a
probe must never ask; nothing at all is probed unless the policy allows reads outright.

A help, never a dependency: every problem is logged and skipped, and the activity
returns what it could see.
"""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import posixpath
import re
from pathlib import Path

import asyncpg
from pydantic import JsonValue
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_agents.activities.formats import effective_format, parse_csv
from durable_agents.activities.limits import parse_json
from durable_agents.activities.sql import SqlActions
from durable_agents.activities.workspace import confine
from durable_agents.contracts import Looked, LookRequest
from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.run import WorkflowActivity

LOOK_BYTES = 256 * 1024  # read of each file, at most
OBSERVATION_CHARS = 600
SAMPLE_CHARS = 200  # of one shown row, item or text start
MAX_FILES = 5
MAX_TABLES = 5
MAX_NAMES = 30  # columns, fields or keys listed per input
COUNT_CAP = 100_000  # rows counted per table, at most
SQL_SECONDS = 10.0  # for all of the table probes, connecting included
STATEMENT_MILLIS = 5_000  # per query

logger = logging.getLogger(__name__)
_EDGES = "\"'`()[]{}<>,;:!?*"
_PATH = re.compile(r"^\w[\w./-]*\.[A-Za-z0-9]{1,8}$")  # a name with an extension
_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,62}")


class LookActivities:
    """Holds the worker's SQL actions (for their pool); the bound method is the activity."""

    def __init__(self, sql: SqlActions) -> None:
        self._sql = sql

    @activity.defn(name=WorkflowActivity.LOOK)
    async def look(self, request: LookRequest) -> Looked:
        """What the goal's files and tables look like; see the module docstring."""
        context = request.context
        if context.policy.decision_for(Risk.READ) != "allow":
            logger.info("Nothing looked at: the run's policy does not allow reads outright")
            return Looked()
        seen = await asyncio.to_thread(describe_files, context.workspace, request.goal)
        words = await asyncio.to_thread(count_text_words, context.workspace, request.goal)
        if self._sql.configured:
            try:
                async with asyncio.timeout(SQL_SECONDS):
                    seen += await self._tables(request.goal)
            except Exception as exc:  # a probe never fails the run: no database, no rights
                logger.info("Tables not looked at: %s", exc)
        return Looked(observations=seen, text_words=words)

    async def _tables(self, goal: str) -> list[str]:
        pool = await self._sql.pool()
        async with pool.acquire() as connection, connection.transaction(readonly=True):
            await connection.execute(f"SET LOCAL statement_timeout = {STATEMENT_MILLIS}")
            return await describe_tables(connection, goal)


def mentioned_paths(goal: str) -> list[str]:
    """Workspace-relative file names in the goal, in order, punctuation and quotes cut."""
    found: list[str] = []
    for token in goal.split():
        path = token.strip(_EDGES).rstrip(".").strip(_EDGES).removeprefix("./")
        if "://" in token or not _PATH.match(path):
            continue
        path = posixpath.normpath(path)
        if path not in found:
            found.append(path)
    return found


def describe_files(workspace: str, goal: str) -> list[str]:
    """One observation per existing file the goal names (at most ``MAX_FILES``)."""
    seen: list[str] = []
    for relative in mentioned_paths(goal):
        if len(seen) == MAX_FILES:
            break
        try:
            observation = describe_file(workspace, relative)
        except Exception as exc:  # a probe never fails the run
            logger.info("Not looked at %s: %s", relative, exc)
            continue
        if observation is not None:
            seen.append(observation)
    if not seen:
        # measured: with no word on files a POST goal read an invented data/tickets.json;
        # told which files exist, goals about a URL read data/sales.csv instead
        seen.append(
            "The goal names no workspace file: take its data from the goal itself, or "
            "from the URL or table it names; read no file"
        )
    return seen


def count_text_words(workspace: str, goal: str) -> dict[str, int]:
    """Words in each text file the goal names that fits in ``LOOK_BYTES`` (path -> words):
    what a summary of it must stay under (``workflows.summaries``)."""
    counted: dict[str, int] = {}
    for relative in mentioned_paths(goal)[:MAX_FILES]:
        if effective_format(relative, "auto") != "text":
            continue
        try:
            path = _readable(workspace, relative)
            if path is None:
                continue
            text, truncated = _head(path)
        except Exception as exc:  # a probe never fails the run
            logger.info("Not counted %s: %s", relative, exc)
            continue
        if not truncated:
            counted[relative] = len(text.split())
    return counted


def _readable(workspace: str, relative: str) -> Path | None:
    """The file, confined like ``file_read``; None when it is not there or may not be read."""
    try:
        path = confine(workspace, relative)
    except ApplicationError as refused:
        logger.info("Not looked at %s: %s", relative, refused.message)
        return None
    return path if path.is_file() else None  # not there: an output the run is to write


def describe_file(workspace: str, relative: str) -> str | None:
    """What the file looks like, or None when it is not there or may not be read."""
    path = _readable(workspace, relative)
    if path is None:
        return None
    text, truncated = _head(path)
    fmt = effective_format(relative, "auto")
    try:
        if fmt == "csv":
            described = describe_csv(text, relative, truncated=truncated)
        elif fmt == "json":
            described = (
                f"JSON, {path.stat().st_size} bytes, too large to look inside"
                if truncated
                else describe_json(parse_json(text, relative))
            )
        else:
            described = describe_text(text, truncated=truncated)
    except ApplicationError as unparsable:
        described = f"not valid {fmt.upper()}: {unparsable.message}"
    return shorten(f"{relative}: {described}")


def _head(path: Path) -> tuple[str, bool]:
    """The file's first ``LOOK_BYTES`` as text, cut at the last line end if it goes on."""
    with path.open("rb") as handle:
        data = handle.read(LOOK_BYTES + 1)
    truncated = len(data) > LOOK_BYTES
    if truncated:
        data = data[: data.rfind(b"\n", 0, LOOK_BYTES) + 1] or data[:LOOK_BYTES]
    return data.decode("utf-8", errors="replace"), truncated


def describe_csv(text: str, source: str, *, truncated: bool = False) -> str:
    """Rows, columns, and which columns are numbers (as ``file_read`` parses them)."""
    header = next(csv.reader(io.StringIO(text)), [])
    records = [r for r in parse_csv(text, source) if isinstance(r, dict)]
    rows = _count(len(records), "row", truncated=truncated)
    described = f"CSV, {rows}, columns {_names(header)}"
    numbers = _numeric(records)
    if numbers:
        described += f" (numbers: {_names(numbers)})"
    return described  # no sample rows: the 1.5B model copied their values into filters


def describe_json(value: JsonValue) -> str:
    """The top-level shape: a list (of objects, with their fields), an object, a value."""
    if isinstance(value, list):  # no sample item: its values were copied into filters
        return f"JSON {_list_shape(value)}"
    if isinstance(value, dict):
        keys = ", ".join(f"{key} ({_kind(item)})" for key, item in list(value.items())[:MAX_NAMES])
        return f"JSON object with keys {keys}; value: {compact(value)}"
    return f"JSON {_kind(value)}: {compact(value)}"


def describe_text(text: str, *, truncated: bool = False) -> str:
    """How many lines, and how the text starts."""
    lines = _count(len(text.splitlines()), "line", truncated=truncated)
    return f"text, {lines}; starts: {compact(text[:SAMPLE_CHARS])}"


async def describe_tables(
    connection: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy, goal: str
) -> list[str]:
    """Tables of the ``public`` schema named by words of the goal: columns, row count
    (run it in a read-only transaction)."""
    words = list(dict.fromkeys(word.lower() for word in _WORD.findall(goal)))
    rows = await connection.fetch(
        """SELECT table_name, column_name, data_type FROM information_schema.columns
           WHERE table_schema = 'public' AND lower(table_name) = ANY($1::text[])
           ORDER BY table_name, ordinal_position""",
        words,
    )
    columns: dict[str, list[str]] = {}
    for row in rows:
        columns.setdefault(row["table_name"], []).append(f"{row['column_name']} {row['data_type']}")
    named = sorted(columns, key=lambda table: words.index(table.lower()))[:MAX_TABLES]
    seen = []
    for table in named:
        quoted = '"' + table.replace('"', '""') + '"'
        count = await connection.fetchval(
            f"SELECT count(*) FROM (SELECT 1 FROM public.{quoted} LIMIT {COUNT_CAP + 1}) AS t"
        )
        size = _count(min(count, COUNT_CAP), "row", truncated=count > COUNT_CAP)
        listed = ", ".join(columns[table][:MAX_NAMES])
        seen.append(
            shorten(f"PostgreSQL table {table} (read it with sql_query): columns {listed}; {size}")
        )
    return seen


def _list_shape(items: list[JsonValue]) -> str:
    objects = [item for item in items if isinstance(item, dict)]
    if not items or len(objects) != len(items):
        return f"list of {len(items)} values"
    fields = list(dict.fromkeys(key for item in objects for key in item))
    shape = f"list of {len(items)} objects with fields {_names(fields)}"
    numbers = _numeric(objects)
    return shape + (f" (numbers: {_names(numbers)})" if numbers else "")


def _kind(value: JsonValue) -> str:
    if isinstance(value, list):
        return _list_shape(value)
    if isinstance(value, dict):
        return "object"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    return "null" if value is None else "string"


def _numeric(records: list[dict[str, JsonValue]]) -> list[str]:
    """Fields whose every non-empty value is a number (so sums and comparisons work)."""
    kinds: dict[str, bool] = {}
    for record in records:
        for key, value in record.items():
            if value is None or value == "":
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool)
            kinds[key] = kinds.get(key, True) and number
    return [key for key, number in kinds.items() if number]


def _count(number: int, noun: str, *, truncated: bool) -> str:
    counted = f"{number} {noun}" + ("" if number == 1 else "s")
    return f"over {counted}" if truncated else counted


def _names(names: list[str]) -> str:
    more = f" and {len(names) - MAX_NAMES} more" if len(names) > MAX_NAMES else ""
    return ", ".join(names[:MAX_NAMES]) + more


def compact(value: JsonValue) -> str:
    """One-line JSON, cut at ``SAMPLE_CHARS``."""
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= SAMPLE_CHARS else text[: SAMPLE_CHARS - 1] + "…"


def shorten(text: str) -> str:
    return text if len(text) <= OBSERVATION_CHARS else text[: OBSERVATION_CHARS - 1] + "…"
