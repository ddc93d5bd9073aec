"""sql_query against the real PostgreSQL (DATABASE_URL, default the local test database)."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from durable_agents.activities.sql import SqlActions
from durable_agents.contracts import ActionContext, ActionResult
from durable_agents.contracts.actions import SqlQueryParams
from durable_agents.rules.sql_guard import sql_effect
from tests.conftest import DATABASE_URL

CTX = ActionContext(run_id="r", step_id="s", workspace="/tmp")
APPROVED = CTX.model_copy(update={"approved": True})


@pytest.fixture
async def table() -> AsyncIterator[str]:
    """A fresh table with the value kinds rows must survive: numeric, date, uuid, jsonb."""
    name = f"sales_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)  # fails loudly without PostgreSQL
    await connection.execute(
        f"CREATE TABLE {name} (id serial PRIMARY KEY, region text, revenue numeric(10,2), "
        "sold date, ref uuid, extra jsonb)"
    )
    await connection.execute(
        f"INSERT INTO {name} (region, revenue, sold, ref, extra) VALUES "
        "('North', 240.50, '2026-01-05', 'a8098c1a-f86e-11da-bd1a-00112444be1e', "
        """'{"rep": "ann"}'), ('South', 140, '2026-01-06', NULL, NULL), """
        "('North', 0.25, '2026-01-07', NULL, NULL)"
    )
    yield name
    await connection.execute(f"DROP TABLE {name}")
    await connection.close()


@pytest.fixture
async def sql() -> AsyncIterator[SqlActions]:
    actions = SqlActions(DATABASE_URL)
    yield actions
    await actions.aclose()


async def run(actions: SqlActions, context: ActionContext = CTX, **params: object) -> ActionResult:
    return await ActivityEnvironment().run(
        actions.sql_query, context, SqlQueryParams.model_validate(params)
    )


async def test_reads_are_parameterized_and_json_safe(sql: SqlActions, table: str) -> None:
    result = await run(
        sql, sql=f"SELECT * FROM {table} WHERE region = $1 ORDER BY id", params=["North"]
    )
    output = result.output
    assert isinstance(output, dict) and output["row_count"] == 2 and not output["truncated"]
    assert output["rows"][0] == {  # type: ignore[index,call-overload]
        "id": 1,
        "region": "North",
        "revenue": 240.5,
        "sold": "2026-01-05",
        "ref": "a8098c1a-f86e-11da-bd1a-00112444be1e",
        "extra": {"rep": "ann"},
    }
    totals = await run(sql, sql=f"SELECT sum(revenue) AS total FROM {table}")
    assert totals.output["rows"] == [{"total": 380.75}]  # type: ignore[index,call-overload]


async def test_a_value_is_never_sql(sql: SqlActions, table: str) -> None:
    sneaky = "North'; DROP TABLE " + table + "; --"
    result = await run(sql, sql=f"SELECT id FROM {table} WHERE region = $1", params=[sneaky])
    assert result.output["rows"] == []  # type: ignore[index,call-overload]
    still = await run(sql, sql=f"SELECT count(*) AS n FROM {table}")
    assert still.output["rows"] == [{"n": 3}]  # type: ignore[index,call-overload]


async def test_rows_are_capped_with_a_flag(sql: SqlActions, table: str) -> None:
    result = await run(sql, sql=f"SELECT id FROM {table} ORDER BY id", max_rows=2)
    output = result.output
    assert isinstance(output, dict)
    assert (output["rows"], output["row_count"], output["truncated"]) == (
        [{"id": 1}, {"id": 2}],
        2,
        True,
    )


async def test_writes_need_approval_and_drops_never_run(sql: SqlActions, table: str) -> None:
    insert = f"INSERT INTO {table} (region, revenue) VALUES ($1, $2)"
    with pytest.raises(ApplicationError, match="blocked by the run's policy") as refused:
        await run(sql, sql=insert, params=["East", 10])
    assert refused.value.type == "BlockedByPolicy" and refused.value.non_retryable
    done = await run(sql, APPROVED, sql=insert, params=["East", 10])
    assert done.output["status"] == "INSERT 0 1"  # type: ignore[index,call-overload]
    with pytest.raises(ApplicationError, match="DROP destroys objects"):
        await run(sql, APPROVED, sql=f"DROP TABLE {table}")
    with pytest.raises(ApplicationError, match=r"COPY \.\.\. PROGRAM runs a shell command"):
        await run(sql, APPROVED, sql=f"SELECT 1 --'\n; COPY {table} TO PROGRAM 'id'")


async def test_a_read_that_writes_is_stopped_by_the_read_only_transaction(
    sql: SqlActions, table: str
) -> None:
    # The guard cannot see into a view; the read-only transaction still stops the write.
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        await connection.execute(
            f"CREATE VIEW {table}_next AS SELECT nextval('{table}_id_seq') AS id"
        )
        with pytest.raises(ApplicationError) as caught:
            await run(sql, sql=f"SELECT id FROM {table}_next")
        assert caught.value.type == "SqlReadOnly" and caught.value.non_retryable
    finally:
        await connection.execute(f"DROP VIEW {table}_next")
        await connection.close()


async def test_the_server_reads_the_text_as_the_guard_did() -> None:
    """With standard_conforming_strings off, 'a\\' would not end at the quote and the
    server would run a call the guard saw inside a literal (here a harmless one)."""
    smuggled = "SELECT 'a\\' , ' , version() AS v, ' AS x --'\n, 1 AS n"
    assert sql_effect(smuggled) == ("read", "only reads")
    role = f"scs_off_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)
    await connection.execute(f"CREATE ROLE {role} LOGIN NOSUPERUSER")
    await connection.execute(f"ALTER ROLE {role} SET standard_conforming_strings = off")
    actions = SqlActions(DATABASE_URL.replace("postgres@", f"{role}@", 1))
    try:
        done = await run(actions, sql=smuggled)
    finally:
        await actions.aclose()
        await connection.execute(f"DROP ROLE {role}")
        await connection.close()
    rows = done.output["rows"]  # type: ignore[index,call-overload]
    assert rows == [{"?column?": "a\\", "x": " , version() AS v, ", "n": 1}]


async def test_errors_say_what_to_fix_and_whether_to_retry(sql: SqlActions, table: str) -> None:
    with pytest.raises(ApplicationError) as syntax:  # the guard's parser refuses it first
        await run(sql, sql=f"SELECT * FROM {table} WHERE")
    assert syntax.value.type == "BlockedByPolicy" and syntax.value.non_retryable
    assert "cannot be parsed as PostgreSQL: syntax error" in syntax.value.message
    with pytest.raises(ApplicationError) as unknown:
        await run(sql, sql=f"SELECT no_such_column FROM {table}")
    assert unknown.value.type == "SqlError" and unknown.value.non_retryable
    assert "invalid SQL (42703)" in unknown.value.message
    slow_read = "SELECT count(*) FROM generate_series(1, 100000) a, generate_series(1, 100000) b"
    with pytest.raises(ApplicationError) as slow:
        await run(sql, sql=slow_read, timeout_seconds=0.2)
    assert slow.value.type == "SqlTimeout" and "longer than 0.2 s" in slow.value.message
    with pytest.raises(ApplicationError, match="set DATABASE_URL"):
        await ActivityEnvironment().run(
            SqlActions(None).sql_query, CTX, SqlQueryParams(sql="SELECT 1")
        )
    unreachable = SqlActions("postgresql://postgres@127.0.0.1:9/test")
    with pytest.raises(ApplicationError) as down:
        await ActivityEnvironment().run(unreachable.sql_query, CTX, SqlQueryParams(sql="SELECT 1"))
    assert down.value.type == "SqlConnection" and not down.value.non_retryable
