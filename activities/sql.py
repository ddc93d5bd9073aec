"""The ``sql_query`` action on PostgreSQL through one asyncpg pool per worker.

Values travel as bind parameters, never spliced into SQL text. Reads run in a read-only
transaction; a statement that writes runs (in a transaction) only when the run's policy
allows writes or a person approved this exact step, and blocked statements never run
(``rules.sql_guard``, PostgreSQL's own parser): the workflow decided that already,
this is the second check on the final text.
"""

from __future__ import annotations

import asyncio
import base64
import datetime
import decimal
import json
import uuid
from typing import Any

import asyncpg
from pydantic import JsonValue
from temporalio import activity

from durable_agents.activities.errors import action_error
from durable_agents.activities.heartbeat import heartbeating
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.actions import SqlQueryParams
from durable_agents.rules.sql_guard import sql_effect

# SQLSTATE classes that a retry cannot fix: the statement or the data is wrong.
FINAL_CLASSES = {"22": "data error", "23": "constraint violated", "42": "invalid SQL"}
RETRY_CODES = {"40001", "40P01", "55P03", "53300", "57P03"}  # serialization, deadlock, locks


def json_safe(value: Any) -> JsonValue:
    """A PostgreSQL value as JSON: numbers stay numbers, times ISO text, UUIDs text."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, datetime.date | datetime.time | datetime.datetime):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return value.total_seconds()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, list | tuple):
        return [json_safe(item) for item in value]
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    return str(value)


async def _json_codecs(connection: asyncpg.Connection) -> None:
    for kind in ("json", "jsonb"):
        await connection.set_type_codec(
            kind, encoder=json.dumps, decoder=json.loads, schema="pg_catalog"
        )


def _translate(error: asyncpg.PostgresError, seconds: float) -> Exception:
    code = error.sqlstate or ""
    if code == "57014":
        return action_error(
            f"the statement ran longer than {seconds:g} s and was cancelled; narrow it "
            "(WHERE, LIMIT) or raise timeout_seconds",
            error_type="SqlTimeout",
            retryable=False,
        )
    if code == "25006":
        return action_error(
            f"this statement writes, but it ran read-only: {error}",
            error_type="SqlReadOnly",
            retryable=False,
        )
    if code in RETRY_CODES or code.startswith("08"):
        return action_error(f"PostgreSQL: {error}", error_type="SqlTransient", retryable=True)
    kind = FINAL_CLASSES.get(code[:2], "statement failed")
    return action_error(
        f"PostgreSQL {kind} ({code}): {error}", error_type="SqlError", retryable=False
    )


class SqlActions:
    """Holds the worker's pool (created on first use); the bound method is the activity."""

    def __init__(self, database_url: str | None) -> None:
        self._url = database_url
        self._pool: asyncpg.Pool | None = None
        self._lock = asyncio.Lock()

    @property
    def configured(self) -> bool:
        """Whether the worker has a database (DATABASE_URL) at all."""
        return self._url is not None

    async def pool(self) -> asyncpg.Pool:
        """The worker's pool, created on first use (also used by the memory activities)."""
        if self._url is None:
            raise action_error(
                "sql_query needs a database: set DATABASE_URL for the worker, e.g. "
                "postgresql://user@127.0.0.1:5432/dbname",
                error_type="SqlNotConfigured",
                retryable=False,
            )
        async with self._lock:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(
                    self._url, min_size=0, max_size=8, init=_json_codecs
                )
            return self._pool

    async def aclose(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    @activity.defn(name="sql_query")
    async def sql_query(self, context: ActionContext, params: SqlQueryParams) -> ActionResult:
        """Run the statement; see the module docstring for what may run and how."""
        effect, why = sql_effect(params.sql)
        writes_allowed = context.approved or context.policy.decision_for(Risk.EXTERNAL) == "allow"
        if effect == "blocked" or (effect == "write" and not writes_allowed):
            raise action_error(
                f"blocked by the run's policy: {why}",
                error_type="BlockedByPolicy",
                retryable=False,
            )
        try:
            async with heartbeating():
                pool = await self.pool()
                async with pool.acquire() as connection:
                    output = await self._run(connection, params, read_only=effect == "read")
        except asyncpg.PostgresError as exc:
            raise _translate(exc, params.timeout_seconds) from exc
        except (OSError, asyncpg.InterfaceError) as exc:
            raise action_error(
                f"cannot reach PostgreSQL: {exc}", error_type="SqlConnection", retryable=True
            ) from exc
        return ActionResult(output=output, attempt=activity.info().attempt)

    async def _run(
        self,
        connection: asyncpg.Connection | asyncpg.pool.PoolConnectionProxy,
        params: SqlQueryParams,
        *,
        read_only: bool,
    ) -> JsonValue:
        async with connection.transaction(readonly=read_only):
            millis = int(params.timeout_seconds * 1000)
            await connection.execute(f"SET LOCAL statement_timeout = {millis}")
            # The guard parsed the text with standard strings ('a\' ends at the quote); with
            # them off (a role or database default) the server would read other statements.
            await connection.execute("SET LOCAL standard_conforming_strings = on")
            statement = await connection.prepare(params.sql)
            rows: list[JsonValue] = []
            truncated = False
            if statement.get_attributes():  # it returns rows: read at most max_rows + 1
                async for record in statement.cursor(*params.params, prefetch=200):
                    if len(rows) == params.max_rows:
                        truncated = True
                        break
                    rows.append({key: json_safe(value) for key, value in record.items()})
            else:
                await statement.fetch(*params.params)
            return {
                "rows": rows,
                "row_count": len(rows),
                "truncated": truncated,
                "status": statement.get_statusmsg(),
            }
