"""``look``: what the planner is shown of the goal's inputs, read like ``file_read`` reads
(same guards, same number parsing), from real files and a real PostgreSQL table."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import asyncpg
import pytest
from temporalio.testing import ActivityEnvironment

import durable_agents.activities.look as look_module
from durable_agents.activities.look import (
    LookActivities,
    count_text_words,
    describe_file,
    describe_files,
    mentioned_paths,
)
from durable_agents.activities.sql import SqlActions
from durable_agents.contracts import ActionContext, Looked, LookRequest, Policy
from durable_agents.contracts.action_spec import Risk
from tests.conftest import DATABASE_URL


def request(workspace: Path, goal: str, policy: Policy | None = None) -> LookRequest:
    context = ActionContext(
        run_id="r", step_id="look", workspace=str(workspace), policy=policy or Policy()
    )
    return LookRequest(goal=goal, context=context)


async def look(sql: SqlActions, workspace: Path, goal: str, **options: Policy) -> Looked:
    activities = LookActivities(sql)
    looked: Looked = await ActivityEnvironment().run(
        activities.look, request(workspace, goal, **options)
    )
    return looked


def test_paths_are_found_in_the_goal_with_punctuation_cut() -> None:
    goal = (
        "Read data/sales.csv, then `data/users.json` and (notes.txt). Write out/x.json; "
        "see https://example.com/a.json and ./data/sales.csv."
    )
    assert mentioned_paths(goal) == [
        "data/sales.csv",
        "data/users.json",
        "notes.txt",
        "out/x.json",
    ]


def test_a_csv_shows_its_columns_and_its_numbers_but_no_values(workspace: Path) -> None:
    """No sample rows: the 1.5B model copied their values into filters (measured)."""
    seen = describe_file(str(workspace), "data/sales.csv")
    assert seen == (
        "data/sales.csv: CSV, 12 rows, columns date, region, product, units, revenue "
        "(numbers: units, revenue)"
    )


def test_a_long_csv_is_read_in_part_and_says_so(workspace: Path) -> None:
    rows = "".join(f"{n},{'x' * 50}\n" for n in range(20_000))
    (workspace / "big.csv").write_text("id,text\n" + rows)
    seen = describe_file(str(workspace), "big.csv")
    assert seen is not None and seen.startswith("big.csv: CSV, over ")
    assert "columns id, text (numbers: id)" in seen and len(seen) <= 600


def test_json_lists_objects_and_text_are_described(workspace: Path) -> None:
    users = [{"id": 1, "name": "Ann", "score": 3.5}, {"id": 2, "name": "Bo", "email": "b@x"}]
    (workspace / "data/users.json").write_text(json.dumps(users))
    (workspace / "data/config.json").write_text(json.dumps({"rate": 0.2, "regions": users}))
    (workspace / "notes.txt").write_text("first line\nsecond\nthird\n")
    (workspace / "broken.json").write_text("{not json")
    root = str(workspace)

    assert describe_file(root, "data/users.json") == (
        "data/users.json: JSON list of 2 objects with fields id, name, score, email "
        "(numbers: id, score)"
    )
    config = describe_file(root, "data/config.json")
    assert config is not None and config.startswith(
        "data/config.json: JSON object with keys rate (number), regions (list of 2 objects "
        'with fields id, name, score, email (numbers: id, score)); value: {"rate": 0.2'
    )
    assert describe_file(root, "notes.txt") == (
        'notes.txt: text, 3 lines; starts: "first line\\nsecond\\nthird\\n"'
    )
    broken = describe_file(root, "broken.json")
    assert broken is not None and broken.startswith("broken.json: not valid JSON: ")


def test_missing_protected_and_outside_files_are_never_read(
    workspace: Path, tmp_path: Path
) -> None:
    (workspace / ".env").write_text("API_KEY=sk-secret")
    (workspace / "id_rsa.key").write_text("PRIVATE")
    outside = tmp_path / "outside.csv"
    outside.write_text("secret,column\n1,2\n")
    (workspace / "data/link.csv").symlink_to(outside)
    goal = (
        "Use .env, id_rsa.key, data/link.csv, ../outside.csv and data/sales.csv; "
        "write out/result.json"
    )
    seen = describe_files(str(workspace), goal)
    assert [s.split(":")[0] for s in seen] == ["data/sales.csv"]
    assert "secret" not in json.dumps(seen)


async def test_the_activity_describes_files_and_the_tables_the_goal_names(
    workspace: Path,
) -> None:
    table = f"look_orders_{uuid.uuid4().hex[:8]}"
    connection = await asyncpg.connect(DATABASE_URL)  # fails loudly without PostgreSQL
    await connection.execute(
        f"CREATE TABLE {table} (id serial PRIMARY KEY, customer text, amount numeric(10,2), "
        "status text)"
    )
    await connection.execute(
        f"INSERT INTO {table} (customer, amount, status) VALUES ('ann', 10, 'paid'), "
        "('bo', 5.5, 'open'), ('cy', 7, 'paid')"
    )
    sql = SqlActions(DATABASE_URL)
    try:
        looked = await look(sql, workspace, f"Sum amount per status in {table} and data/sales.csv")
    finally:
        await sql.aclose()
        await connection.execute(f"DROP TABLE {table}")
        await connection.close()
    assert len(looked.observations) == 2
    assert looked.observations[0].startswith("data/sales.csv: CSV, 12 rows")
    assert looked.observations[1] == (
        f"PostgreSQL table {table} (read it with sql_query): columns id integer, customer text, "
        "amount numeric, status text; 3 rows"
    )


async def test_without_a_database_or_with_a_broken_one_files_are_still_seen(
    workspace: Path,
) -> None:
    goal = "Total the revenue in data/sales.csv and the orders table"
    looked = await look(SqlActions(None), workspace, goal)
    assert [s.split(":")[0] for s in looked.observations] == ["data/sales.csv"]

    unreachable = SqlActions("postgresql://postgres@127.0.0.1:1/test")
    try:
        looked = await look(unreachable, workspace, goal)
    finally:
        await unreachable.aclose()
    assert [s.split(":")[0] for s in looked.observations] == ["data/sales.csv"]


async def test_nothing_is_read_when_the_policy_does_not_allow_reads(workspace: Path) -> None:
    careful = Policy(decisions={Risk.READ: "approve"})
    looked = await look(SqlActions(None), workspace, "data/sales.csv", policy=careful)
    assert looked.observations == []


async def test_a_file_that_fails_to_read_is_skipped(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "notes.txt").write_text("hello\n")

    def broken(path: Path) -> tuple[str, bool]:
        if path.name == "sales.csv":
            raise PermissionError(13, "Permission denied")
        return "hello\n", False

    monkeypatch.setattr(look_module, "_head", broken)
    seen = describe_files(str(workspace), "data/sales.csv and notes.txt")
    assert seen == ['notes.txt: text, 1 line; starts: "hello\\n"']


def test_a_goal_naming_no_file_is_told_to_read_none(workspace: Path) -> None:
    """Measured: a POST goal with its body given read an invented data/tickets.json; told
    which files existed, URL goals read data/sales.csv instead. So: read none."""
    seen = describe_files(str(workspace), 'POST {"title": "printer"} to http://x.test/tickets')
    assert seen == [
        "The goal names no workspace file: take its data from the goal itself, or from the "
        "URL or table it names; read no file"
    ]


async def test_the_words_of_each_text_file_are_counted_for_a_summary_budget(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (workspace / "notes.txt").write_text("Exports gained a header row.\nSessions last longer.\n")
    (workspace / ".env").write_text("SECRET=1 2 3\n")
    goal = "Summarize notes.txt, data/sales.csv, .env and out/missing.txt"
    looked = await look(SqlActions(None), workspace, goal)
    assert looked.text_words == {"notes.txt": 8}  # no CSV, no protected file, no output

    monkeypatch.setattr(look_module, "LOOK_BYTES", 10)  # a text read in part is not counted
    assert count_text_words(str(workspace), goal) == {}
