"""The SQL guard: a table of attacks (each one passed the old regex guard as a read or an
ordinary write), reads that must stay reads, a fuzzer that hides dangerous constructs in
random places and spellings, and a differential check against the real PostgreSQL."""

from __future__ import annotations

import asyncio
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pglast
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from durable_agents.rules import policy, sql_catalog
from durable_agents.rules.sql_guard import MAX_NESTING, SqlEffect, sql_effect
from durable_agents.rules.sql_guard import PATCH as SQL_GUARD_PATCH
from tests.conftest import DATABASE_URL
from tests.workflows.runs import assert_replays, plan, start

ATTACKS: list[tuple[str, SqlEffect, str]] = [
    # comment and literal ordering: the text after the read is a real statement
    ("select 1 --'\n; copy t to program 'id'", "blocked", "COPY ... PROGRAM runs a shell"),
    ("SELECT E'\\'' ; COPY t TO PROGRAM 'id' --'", "blocked", "COPY ... PROGRAM"),
    ("COPY (SELECT 1) TO '/tmp/out'", "blocked", "COPY reads or writes server files"),
    ("DO $$ BEGIN EXECUTE 'DROP TABLE t'; END $$", "blocked", "DO runs procedural code"),
    ("EXPLAIN ANALYZE DELETE FROM t", "blocked", "DELETE without a WHERE"),
    ("EXPLAIN (ANALYZE, FORMAT JSON) UPDATE t SET a = 1", "blocked", "UPDATE without a WHERE"),
    ("MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN DELETE", "blocked", "THEN DELETE"),
    ("WITH x AS (DELETE FROM t RETURNING *) SELECT * FROM x WHERE x.id = 1", "blocked", "WHERE"),
    ("DELETE FROM t WHERE true", "blocked", "without a WHERE on a column"),
    ("PREPARE p AS DELETE FROM t", "blocked", "PREPARE is not allowed"),
    # "reads" with side effects, in every position
    ("SELECT pg_read_file('/etc/passwd')", "blocked", "function pg_read_file is not allowed"),
    ("SELECT * FROM pg_ls_dir('.')", "blocked", "function pg_ls_dir"),
    ("SELECT lo_import('/etc/passwd')", "blocked", "function lo_import"),
    ("SELECT lo_export(16384, '/tmp/x')", "blocked", "function lo_export"),
    ("select set_config('role', 'x', false)", "blocked", "function set_config"),
    ("SELECT query_to_xml('drop table t', true, true, '')", "blocked", "function query_to_xml"),
    ("SELECT ts_stat('SELECT to_tsvector(x) FROM t')", "blocked", "function ts_stat"),
    ("SELECT pg_terminate_backend(pid) FROM pg_stat_activity", "blocked", "pg_terminate_backend"),
    ("SELECT dblink_exec('host=evil', 'DROP TABLE t')", "blocked", "function dblink_exec"),
    ("SELECT * FROM dblink('dbname=x', 'select 1') AS r(a int)", "blocked", "function dblink"),
    ("SELECT cron.schedule('* * * * *', 'DROP TABLE t')", "blocked", "function cron.schedule"),
    ("select pg_sleep(3600)", "blocked", "function pg_sleep"),
    ("SELECT pg_advisory_lock(1)", "blocked", "function pg_advisory_lock"),
    ("SELECT txid_current()", "blocked", "function txid_current"),
    ("SELECT pg_switch_wal()", "blocked", "function pg_switch_wal"),
    ("SELECT pg_reload_conf()", "blocked", "function pg_reload_conf"),
    ("SELECT pg_notify('c', 'x')", "blocked", "function pg_notify"),
    ("SELECT pg_catalog.pg_read_file('x')", "blocked", "pg_catalog.pg_read_file"),
    ("SELECT PG_READ_FILE('x')", "blocked", "function pg_read_file"),
    ("SELECT \"PG_READ_FILE\"('x')", "blocked", "function PG_READ_FILE"),
    ("SELECT U&\"\\0070g_read_file\"('x')", "blocked", "function pg_read_file"),
    ("SELECT 1 FROM t WHERE a = (SELECT pg_read_file('x'))", "blocked", "pg_read_file"),
    ("SELECT 1 UNION SELECT pg_ls_dir('.')", "blocked", "pg_ls_dir"),
    ("SELECT length(pg_read_file('x'))", "blocked", "pg_read_file"),
    ("VALUES (pg_read_file('x'))", "blocked", "pg_read_file"),
    ("CREATE TABLE x (a text DEFAULT pg_read_file('/etc/passwd'))", "blocked", "pg_read_file"),
    ("INSERT INTO t SELECT pg_read_file('/etc/passwd')", "blocked", "pg_read_file"),
    ("SELECT * FROM pg_authid", "blocked", "relation pg_authid holds secrets"),
    ("UPDATE pg_settings SET setting = 'x' WHERE name = 'search_path'", "blocked", "catalog"),
    # statements that are never a step's business
    ("SET ROLE postgres", "blocked", "SET/RESET changes the session"),
    ("SET SESSION AUTHORIZATION postgres", "blocked", "SET/RESET"),
    ("RESET ALL", "blocked", "SET/RESET"),
    ("CALL p()", "blocked", "CALL runs a procedure"),
    ("ALTER SYSTEM SET shared_preload_libraries = 'evil'", "blocked", "ALTER SYSTEM"),
    ("CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'select 1'", "blocked", "CREATE FUNCTION"),
    ("CREATE EXTENSION dblink", "blocked", "CREATE EXTENSION is not allowed"),
    ("CREATE LANGUAGE plx HANDLER plx_handler", "blocked", "CREATE LANGUAGE is not allowed"),
    ("CREATE ROLE x SUPERUSER", "blocked", "CREATE ROLE is not allowed"),
    ("GRANT ALL ON t TO PUBLIC", "blocked", "GRANT/REVOKE"),
    ("LOAD 'evil.so'", "blocked", "LOAD is not allowed"),
    ("BEGIN", "blocked", "transaction control"),
    ("LISTEN x", "blocked", "LISTEN is not allowed"),
    ("NOTIFY x", "blocked", "NOTIFY is not allowed"),
    ("VACUUM FULL t", "blocked", "VACUUM"),
    ("CHECKPOINT", "blocked", "CHECKPOINT is not allowed"),
    ("EXECUTE p", "blocked", "EXECUTE is not allowed"),
    ("LOCK TABLE t IN ACCESS EXCLUSIVE MODE", "blocked", "LOCK is not allowed"),
    ("SECURITY LABEL ON TABLE t IS 'x'", "blocked", "SECURITY LABEL is not allowed"),
    ("SELECT FROM WHERE (", "blocked", "cannot be parsed as PostgreSQL"),
    ("garbage ((( select", "blocked", "cannot be parsed as PostgreSQL"),
    # what the guard cannot vouch for needs a person
    ("SELECT my_function()", "write", "function my_function is not a known side-effect-free"),
    ('SELECT "LOWER"(name) FROM t', "write", "function LOWER"),  # quoted: another function
    ("SELECT public.lower(name) FROM t", "write", "function public.lower"),
    ("SELECT 1 OPERATOR(public.+) 2", "write", "operator public.+"),
    ("SELECT x::evil_type FROM t", "write", "type evil_type"),
    ("SELECT * FROM t TABLESAMPLE system_rows(10)", "write", "TABLESAMPLE system_rows"),
    ("SELECT xpath('/a', doc) FROM t", "write", "function xpath"),
    ("SHOW ALL", "write", "SHOW all is not a harmless setting"),
]

READS = [
    "SELECT * FROM t WHERE a = $1",
    "select o.id, c.name from orders o join customers c on c.id = o.customer_id limit $2",
    "SELECT region, count(*), sum(amount), avg(amount)::numeric(10,2) FROM t GROUP BY region",
    "SELECT region, rank() OVER (PARTITION BY region ORDER BY amount DESC) FROM t",
    "WITH m AS (SELECT date_trunc('month', at) AS m, sum(x) AS s FROM t GROUP BY 1) "
    "SELECT m, s, lag(s) OVER (ORDER BY m) FROM m ORDER BY m",
    "SELECT extract(year FROM at), age(at), now() - interval '1 day', current_date FROM t",
    "SELECT doc->>'name', doc #> '{a,b}', doc @> '{\"k\": 1}', jsonb_array_length(doc->'xs') "
    "FROM t WHERE doc ? 'name'",
    "SELECT jsonb_build_object('n', count(*)), json_agg(name ORDER BY name) FROM t",
    "SELECT coalesce(a, 0), nullif(b, ''), greatest(a, 1), CASE WHEN a > 1 THEN 'x' END FROM t",
    "SELECT lower(name), upper(name), substring(name FROM 2 FOR 3), name ILIKE '%x%' FROM t",
    "SELECT DISTINCT ON (a) a, b FROM t ORDER BY a, b DESC NULLS LAST",
    "SELECT * FROM t, LATERAL unnest(tags) AS tag WHERE tag = ANY($1::text[])",
    "SELECT a FROM t UNION SELECT b FROM u EXCEPT SELECT c FROM v",
    "VALUES (1, 'a'), (2, 'b')",
    "TABLE t",
    "SELECT count(*) FILTER (WHERE a > 0) FROM t GROUP BY ROLLUP (b, c)",
    "SELECT * FROM generate_series(1, 10) AS g(n) WHERE n % 2 = 0",
    "SELECT 'drop table x; delete from t' AS s, $q$DO $$ DROP TABLE t $$$q$ AS d",
    "/* DROP TABLE t */ SELECT 1 -- truncate",
    'SELECT "drop" FROM t',
    "SELECT pg_catalog.lower('X'), \"lower\"('Y')",
    "EXPLAIN SELECT * FROM t WHERE a = 1",
    "EXPLAIN ANALYZE SELECT count(*) FROM t",
    "SHOW search_path",
    "SHOW TRANSACTION ISOLATION LEVEL",
    "SELECT 1;",
]

WRITES = [
    ("INSERT INTO t VALUES ($1)", "INSERT changes data"),
    ("INSERT INTO t (a) VALUES (1) ON CONFLICT (a) DO UPDATE SET b = excluded.b", "INSERT"),
    ("UPDATE t SET a = a + 1 WHERE id = $1", "UPDATE changes data"),
    ("DELETE FROM t WHERE id = 3", "DELETE changes data"),
    (
        "MERGE INTO t USING s ON t.id = s.id WHEN MATCHED THEN UPDATE SET a = s.a "
        "WHEN NOT MATCHED THEN INSERT VALUES (s.id, s.a)",
        "MERGE changes data",
    ),
    ("WITH d AS (DELETE FROM t WHERE x < 1 RETURNING *) SELECT * FROM d", "DELETE"),
    ("CREATE TABLE t (id serial PRIMARY KEY, at timestamptz DEFAULT now())", "CREATE TABLE"),
    ("CREATE VIEW v AS SELECT * FROM t", "CREATE VIEW"),
    ("CREATE INDEX ON t (lower(name))", "CREATE INDEX"),
    ("CREATE TABLE x AS SELECT * FROM t", "CREATE TABLE/MATERIALIZED VIEW AS"),
    ("SELECT * INTO backup FROM t", "SELECT ... INTO creates a table"),
    ("ALTER TABLE t ADD COLUMN b int", "ALTER TABLE"),
    ("SELECT * FROM t FOR UPDATE SKIP LOCKED", "FOR UPDATE/SHARE locks rows"),
    ("SELECT nextval('s')", "function nextval"),
    ("EXPLAIN INSERT INTO t VALUES (1)", "INSERT"),
]


@pytest.mark.parametrize(("sql", "expected", "reason"), ATTACKS)
def test_attacks(sql: str, expected: SqlEffect, reason: str) -> None:
    assert sql_effect(sql) == sql_effect(sql)  # a pure function of the text
    effect, why = sql_effect(sql)
    assert (effect, reason in why) == (expected, True), why
    assert len(why) < 200


@pytest.mark.parametrize("sql", READS)
def test_reads_stay_reads(sql: str) -> None:
    assert sql_effect(sql) == ("read", "only reads")


@pytest.mark.parametrize(("sql", "reason"), WRITES)
def test_writes_need_a_person(sql: str, reason: str) -> None:
    effect, why = sql_effect(sql)
    assert (effect, reason in why) == ("write", True), why


def test_an_approver_sees_every_reason_to_ask() -> None:
    effect, why = sql_effect("CREATE VIEW v AS SELECT evil(x) FROM t")
    assert effect == "write"
    assert why == (
        "CREATE VIEW changes the database; function evil is not a known side-effect-free built-in"
    )


def test_several_statements_deep_trees_and_odd_text_are_blocked() -> None:
    assert sql_effect("SELECT 1; SELECT 2")[1].startswith("several statements in one step")
    assert sql_effect("")[1] == "no SQL statement found"
    assert sql_effect("-- only a comment")[0] == "blocked"
    assert sql_effect("SELECT 1 \x00; DROP TABLE t")[1] == "the SQL text contains a NUL character"
    assert sql_effect("SELECT '\udcff'")[1].startswith("cannot be parsed as PostgreSQL")
    deep = "SELECT " + "1+" * 50_000 + "1"  # its Python tree would overflow a thread's stack
    assert sql_effect(deep)[0] == "blocked"
    assert sql_effect("SELECT " + "1+" * MAX_NESTING + "1")[1].startswith("the SQL is nested")
    assert sql_effect("SELECT " + "1+" * 300 + "1")[0] == "read"


async def test_allowed_functions_are_not_volatile_in_the_real_catalogue() -> None:
    """Every allow-listed function this server has is immutable or stable, or one of the
    few volatile ones that only read a clock or a random source; none is denied."""
    harmless_volatile = {"random", "random_normal", "clock_timestamp", "timeofday"}
    harmless_volatile |= {"gen_random_uuid", "uuidv4", "uuidv7", "array_shuffle", "array_sample"}
    connection = await asyncpg.connect(DATABASE_URL)
    try:
        rows = await connection.fetch(
            "SELECT DISTINCT proname FROM pg_proc WHERE pronamespace = 'pg_catalog'::regnamespace"
            " AND provolatile = 'v' AND proname = any($1::text[])",
            sorted(sql_catalog.ALLOWED_FUNCTIONS),
        )
        known = await connection.fetchval(
            "SELECT count(DISTINCT proname) FROM pg_proc WHERE proname = any($1::text[])",
            sorted(sql_catalog.ALLOWED_FUNCTIONS),
        )
    finally:
        await connection.close()
    assert {row["proname"] for row in rows} <= harmless_volatile
    assert known > 250  # the list names real functions
    assert not [
        name for name in sql_catalog.ALLOWED_FUNCTIONS if sql_catalog.denied_function([name])
    ]


async def test_a_read_step_judged_in_the_sandbox_runs_and_replays(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """pglast imports its submodules while parsing: the sandbox must find the host's."""
    given = plan(
        {"id": "q", "action": "sql_query", "params": {"sql": "SELECT lower('OK') AS v"}},
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()
    assert result.steps[0].output["rows"] == [{"v": "ok"}]  # type: ignore[index,call-overload]
    await assert_replays(handle)  # a Replayer with the default sandbox


async def test_runs_from_before_the_parser_replay_as_they_ran_and_the_activity_refuses(
    client: Client,
    task_queue: str,
    workspace: Path,
    agent_worker: Worker,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A run recorded without the patch marker (the regex guard called pg_read_file a
    read) replays with the regex guard; the activity's own check refused the step."""
    sql = "SELECT pg_read_file('/etc/hostname')"
    given = plan({"id": "q", "action": "sql_query", "params": {"sql": sql}})
    monkeypatch.setattr(policy, "applies", lambda patch: False)
    old = await start(client, task_queue, workspace, plan=given, review=False)
    with pytest.raises(WorkflowFailureError):
        await old.result()
    monkeypatch.undo()
    history = await old.fetch_history()
    failures = [
        e.activity_task_failed_event_attributes.failure
        for e in history.events
        if e.HasField("activity_task_failed_event_attributes")
    ]
    assert [f.application_failure_info.type for f in failures] == ["BlockedByPolicy"]
    markers = [
        str(e.marker_recorded_event_attributes)
        for e in history.events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert not [m for m in markers if SQL_GUARD_PATCH in m], markers
    assert any("shared-call-slots-v1" in m for m in markers), markers  # a marker reads so
    await assert_replays(old)  # patched() is False without the marker: the regex decides

    new = await start(client, task_queue, workspace, plan=given, review=False)
    with pytest.raises(WorkflowFailureError) as refused:  # the plan check blocks it now
        await new.result()
    assert "function pg_read_file is not allowed" in str(refused.value.cause)
    patches = [
        e.marker_recorded_event_attributes.details["patch-data"].payloads[0].data
        for e in (await new.fetch_history()).events
        if e.HasField("marker_recorded_event_attributes")
    ]
    assert f'"id":"{SQL_GUARD_PATCH}"'.encode() in b"".join(patches)
    await assert_replays(new)


# --- fuzz: a dangerous construct hidden anywhere, spelled any way, is never a read -------

DENIED = [
    "pg_read_file",
    "pg_ls_dir",
    "lo_import",
    "lo_export",
    "set_config",
    "pg_terminate_backend",
    "dblink",
    "query_to_xml",
    "pg_sleep",
    "pg_advisory_lock",
    "txid_current",
    "pg_switch_wal",
    "pg_reload_conf",
    "ts_stat",
    "pg_notify",
    "pg_stat_file",
    "pg_cancel_backend",
]
DECOYS = ["'x'", "$$ select 1 $$", "$t$ '; -- */ $t$", "E'\\''", "'--'", "1", "'/*'", "$$;$$"]
DECOY_TEXT = st.text(alphabet="abc '\";$-", max_size=12)


@st.composite
def gap(draw: st.DrawFn) -> str:
    """Whitespace, a block comment or a line comment holding decoy text."""
    kind = draw(st.sampled_from(["space", "tab", "newline", "block", "line"]))
    text = draw(DECOY_TEXT)
    return {
        "space": " ",
        "tab": "\t",
        "newline": "\n",
        "block": f" /* {text} */ ",
        "line": f" -- {text}\n",
    }[kind]


@st.composite
def cased(draw: st.DrawFn, word: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    return "".join(c.upper() if flip else c for c, flip in zip(word, flips, strict=True))


@st.composite
def denied_call(draw: st.DrawFn) -> str:
    name = draw(st.sampled_from(DENIED))
    spelled = {
        "plain": name,
        "cased": draw(cased(name)),
        "quoted": f'"{name}"',
        "QUOTED": f'"{name.upper()}"',  # another (nonexistent) function: still no read
        "unicode": 'U&"' + "".join(f"\\{ord(c):04x}" for c in name) + '"',
    }[draw(st.sampled_from(["plain", "cased", "quoted", "QUOTED", "unicode"]))]
    schema = draw(st.sampled_from(["", "pg_catalog.", '"pg_catalog".', "public.", "x."]))
    args = draw(st.lists(st.sampled_from(DECOYS), min_size=0, max_size=3))
    return f"{schema}{spelled}{draw(gap())}({', '.join(args)})"


EXPRESSION_SLOTS = [
    "SELECT {e}",
    "SELECT 1 FROM t WHERE a = {e}",
    "SELECT * FROM (SELECT {e}) AS s",
    "WITH c AS (SELECT {e}) SELECT * FROM c",
    "SELECT 1 UNION ALL SELECT {e}",
    "SELECT abs(coalesce({e}, 1))",
    "SELECT * FROM {e} AS f",
    "EXPLAIN ANALYZE SELECT {e}",
    "EXPLAIN SELECT {e}",
    "VALUES (1), ({e})",
    "SELECT CASE WHEN true THEN {e} END",
    "SELECT EXISTS (SELECT {e})",
    "SELECT 1 FROM t ORDER BY {e}",
    "SELECT count(*) FILTER (WHERE {e} IS NOT NULL) FROM t",
    "SELECT ({e})::text",
    "SELECT * FROM t JOIN LATERAL (SELECT {e}) AS l ON true",
    "SELECT ARRAY[{e}]",
]
STATEMENTS = [
    "DELETE FROM t",
    "UPDATE t SET a = 1",
    "INSERT INTO t VALUES (1)",
    "DROP TABLE t",
    "TRUNCATE t",
    "COPY t TO PROGRAM 'id'",
    "COPY t FROM '/etc/passwd'",
    "DO $$ BEGIN NULL; END $$",
    "SET search_path = evil",
    "CALL p()",
    "MERGE INTO t USING s ON t.a = s.a WHEN MATCHED THEN DELETE",
]
STATEMENT_SLOTS = [
    "{s}",
    "SELECT 1; {s}",
    "SELECT 1 --'\n; {s}",
    "{s}; SELECT 1",
]
DML = [*STATEMENTS[:3], STATEMENTS[-1]]  # what EXPLAIN ANALYZE and WITH can hold
DML_SLOTS = ["WITH x AS ({s} RETURNING 1) SELECT * FROM x", "EXPLAIN ANALYZE {s}"]


def spaced(draw: st.DrawFn, template: str) -> str:
    """``template`` with every space replaced by random gaps and keywords case-mixed;
    dollar-quoted bodies stay as written (a gap there is body text, and its decoy may
    hold a ``$$`` that would end the quote)."""
    pieces = template.split("$$")
    pieces[::2] = [_spaced(draw, piece) for piece in pieces[::2]]
    return "$$".join(pieces)


def _spaced(draw: st.DrawFn, template: str) -> str:
    words = template.split(" ")
    out = draw(cased(words[0])) if words[0].isalpha() else words[0]
    for word in words[1:]:
        out += draw(gap()) + (draw(cased(word)) if word.isalpha() else word)
    return out


@st.composite
def hidden_danger(draw: st.DrawFn) -> tuple[str, SqlEffect]:
    """A statement hiding one dangerous construct, and the least the guard must say."""
    kind = draw(st.sampled_from(["call", "tripwire", "statement", "dml"]))
    if kind in ("call", "tripwire"):
        slot = draw(st.sampled_from(EXPRESSION_SLOTS))
        inner = draw(denied_call()) if kind == "call" else draw(cased("tripwire")) + "()"
        return spaced(draw, slot).replace("{e}", inner), "blocked" if kind == "call" else "write"
    if kind == "statement":
        slot, inner = draw(st.sampled_from(STATEMENT_SLOTS)), draw(st.sampled_from(STATEMENTS))
        alone = slot == "{s}"
        least: SqlEffect = "write" if inner.startswith("INSERT") and alone else "blocked"
        return spaced(draw, slot.replace("{s}", inner)), least
    slot, inner = draw(st.sampled_from(DML_SLOTS)), draw(st.sampled_from(DML))
    return spaced(draw, slot.replace("{s}", inner)), "write" if "INSERT" in inner else "blocked"


RANK = {"read": 0, "write": 1, "blocked": 2}


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hidden_danger())
def test_a_hidden_dangerous_construct_is_never_a_read(case: tuple[str, SqlEffect]) -> None:
    sql, least = case
    pglast.parse_sql(sql)  # the generator writes valid SQL: the guard must see, not guess
    effect, why = sql_effect(sql)
    assert RANK[effect] >= RANK[least], (sql, effect, why)
    assert not why.startswith("cannot be parsed"), why


# --- differential: what the guard calls a read never changes anything in PostgreSQL -----

SCHEMA = f"guard_{uuid.uuid4().hex[:8]}"
SETUP = f"""
CREATE SCHEMA {SCHEMA};
CREATE TABLE {SCHEMA}.items (id int, name text, price numeric, tags jsonb, at timestamptz);
INSERT INTO {SCHEMA}.items VALUES (1, 'Ann', 9.5, '{{"k": "a", "xs": [1, 2]}}', now()),
    (2, 'bob', NULL, '{{"k": "b"}}', now() - interval '3 days');
CREATE TABLE {SCHEMA}.log (hit text);
CREATE SEQUENCE {SCHEMA}.seq;
-- records its call in a session setting, which a read-only transaction does not prevent
CREATE FUNCTION {SCHEMA}.tripwire() RETURNS int LANGUAGE sql VOLATILE
    AS $$ SELECT length(set_config('guard.tripwire', 'fired', false)) $$;
"""
SAFE_EXPRESSIONS = [
    "id",
    "lower(name)",
    "upper(name)",
    "round(price, 1)",
    "coalesce(price, 0)",
    "date_trunc('day', at)",
    "tags->>'k'",
    "jsonb_array_length(tags->'xs')",
    "length(name)",
    "now() - at",
    "abs(id - 2)",
    "name || '!'",
    "price * 2",
    "(SELECT max(id) FROM items)",
    "count(*) OVER ()",
    "extract(day FROM at)",
    "to_char(at, 'YYYY')",
    "id::text",
]
RISKY_EXPRESSIONS = [
    "tripwire()",
    f"{SCHEMA}.tripwire()",
    "nextval('seq')",
    "setval('seq', 5)",
    "set_config('guard.tripwire', 'fired', false)",
    "(SELECT tripwire())",
    "currval('seq')",
    "TRIPWIRE()",
    '"tripwire"()',
]
SELECT_SHAPES = [
    "SELECT {a}, {b} FROM items",
    "SELECT {a} FROM items WHERE {b} IS NOT NULL",
    "SELECT {a} FROM items ORDER BY {b}",
    "WITH c AS (SELECT {a} AS x FROM items) SELECT x, {b} FROM c, items",
    "SELECT * FROM (SELECT {a}, {b} FROM items) s",
    "SELECT {a} FROM items UNION ALL SELECT {b} FROM items",
    "SELECT coalesce(({a})::text, ({b})::text) FROM items",
    "EXPLAIN ANALYZE SELECT {a}, {b} FROM items",
    "SELECT {a} FROM items FOR UPDATE",
    "WITH w AS (INSERT INTO log VALUES ('cte') RETURNING 1) SELECT {a}, {b} FROM items, w",
    "SELECT {a} FROM items WHERE EXISTS (SELECT {b})",
]


@st.composite
def generated_select(draw: st.DrawFn) -> str:
    pick = st.sampled_from(SAFE_EXPRESSIONS) | st.sampled_from(RISKY_EXPRESSIONS)
    shape = draw(st.sampled_from(SELECT_SHAPES))
    return spaced(draw, shape).replace("{a}", draw(pick)).replace("{b}", draw(pick))


class Probe:
    """One connection on its own event loop (hypothesis runs sync), inside the fixture
    schema, with the tripwire and the log table to watch."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.connection: asyncpg.Connection = self.loop.run_until_complete(
            asyncpg.connect(DATABASE_URL, server_settings={"search_path": SCHEMA})
        )

    def run(self, sql: str) -> tuple[str | None, str, int]:
        """SQLSTATE of the read-only run (None: it worked), the tripwire setting after it,
        and the rows a read-write run (rolled back) added to the log."""
        return self.loop.run_until_complete(self._run(sql))

    async def _run(self, sql: str) -> tuple[str | None, str, int]:
        db = self.connection
        await db.execute("SELECT set_config('guard.tripwire', '', false)")
        state = None
        try:
            async with db.transaction(readonly=True):
                await db.execute("SET LOCAL statement_timeout = 2000")
                await db.fetch(sql)
        except asyncpg.PostgresError as exc:
            state = exc.sqlstate
        tripwire = await db.fetchval("SELECT current_setting('guard.tripwire', true)")
        added = 0
        transaction = db.transaction()
        await transaction.start()
        try:
            await db.execute("SET LOCAL statement_timeout = 2000")
            try:
                async with db.transaction():  # a savepoint: the statement may fail
                    await db.fetch(sql)
            except asyncpg.PostgresError:
                pass
            added = await db.fetchval("SELECT count(*) FROM log")
        finally:
            await transaction.rollback()
        return state, tripwire, added

    def close(self) -> None:
        self.loop.run_until_complete(self.connection.close())
        self.loop.close()


@pytest.fixture(scope="module")
def probe() -> Iterator[Probe]:
    async def setup(sql: str) -> None:
        connection = await asyncpg.connect(DATABASE_URL)
        try:
            await connection.execute(sql)
        finally:
            await connection.close()

    loop = asyncio.new_event_loop()
    loop.run_until_complete(setup(SETUP))
    probe = Probe()
    try:
        yield probe
    finally:
        probe.close()
        loop.run_until_complete(setup(f"DROP SCHEMA {SCHEMA} CASCADE"))
        loop.close()


def test_a_read_never_has_an_effect_in_postgresql(probe: Probe) -> None:
    seen: Counter[str] = Counter()

    @settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
    @given(generated_select())
    def check(sql: str) -> None:
        effect, _ = sql_effect(sql)
        seen[effect] += 1
        if effect != "read":
            return
        state, tripwire, added = probe.run(sql)
        assert state != "25006", (sql, "PostgreSQL refused a write in a read-only transaction")
        assert tripwire == "", (sql, "a user function ran")
        assert added == 0, (sql, "rows were written")

    check()
    assert seen["read"] > 10 and seen["write"] > 10, seen  # both sides were exercised
