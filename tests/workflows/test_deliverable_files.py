"""The files a run delivers, checked as written: formats, shapes, records, emptiness, edits."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision, Plan, Review
from durable_agents.contracts.deliverables import Deliverable, Inspected
from durable_agents.workflows.agent import AgentWorkflow
from durable_agents.workflows.completion import edited_files, written_named_files
from durable_agents.workflows.deliverables import check, deliverables_for
from tests.fake_llm import FakeLlm
from tests.workflows.deliverable_plans import PARIS, inspected, write_step
from tests.workflows.runs import (
    activity_types,
    assert_replays,
    pending_approval,
    plan,
    run_failure,
    run_to_end,
    start,
)


def test_the_goals_files_are_deliverables_and_the_plan_may_say_more() -> None:
    stated = [Deliverable(path="./out/paris.json", shape="list", where={"city": "Paris"})]
    goal = "Save them as a JSON array to out/paris.json, and write their count to out/n.txt"
    found = deliverables_for(goal, stated)
    assert [(d.path, d.file_format(), d.checks_content()) for d in found] == [
        ("out/paris.json", "json", True),
        ("out/n.txt", "text", False),
    ]


def test_a_boolean_where_a_list_of_records_belongs_fails_with_what_the_file_holds() -> None:
    wanted = Deliverable(path="out/x.json", shape="list", where={"city": "Paris"})
    result = check(wanted, inspected(False))
    assert not result.passed and result.content_checked
    assert result.problems == ["out/x.json should hold a JSON list, not the boolean false"]
    assert result.shown == "false"


def test_records_that_do_not_match_are_quoted() -> None:
    wanted = Deliverable(path="out/x.json", item_fields=["name"], where={"city": "Paris"})
    rows = [*PARIS, {"name": "bob", "city": "Lyon"}, {"city": "Paris"}]
    result = check(wanted, inspected(rows))
    assert result.problems == [
        "out/x.json: 1 of 4 items: item 3 lacks ['name']",
        'out/x.json: 1 of 4 items do not have city == "Paris" (item 2 has "Lyon")',
    ]
    assert check(wanted, inspected(PARIS)).passed


def test_values_keys_and_emptiness() -> None:
    numbers = Deliverable(path="out/x.json", shape="object", value_type="number", keys=["A"])
    assert check(numbers, inspected({"A": 1.5, "B": 2})).passed
    assert check(numbers, inspected({"A": "1.5", "B": True})).problems == [
        'out/x.json: 2 of 2 values are not numbers (A: "1.5", B: true)'
    ]
    assert check(numbers, inspected({"B": 2})).problems == [
        "out/x.json lacks keys ['A']; it has ['B']"
    ]
    for empty in ([], {}, "  ", None):
        assert (
            check(Deliverable(path="out/x.json"), inspected(empty))
            .problems[0]
            .startswith("out/x.json is empty")
        )


def test_csv_cells_compare_as_text_and_unreadable_files_fail() -> None:
    wanted = Deliverable(path="out/x.csv", where={"n": 5})
    assert check(wanted, inspected([{"n": "5"}])).passed
    assert check(wanted, Inspected(path="out/x.csv", exists=False)).problems == [
        "out/x.csv was not written"
    ]
    broken = Inspected(path="out/x.csv", exists=True, problem="invalid JSON at line 1")
    assert check(wanted, broken).problems == ["out/x.csv: invalid JSON at line 1"]
    huge = check(wanted, Inspected(path="out/x.csv", exists=True, size=10**6, too_large=True))
    assert huge.passed and not huge.content_checked and "too large" in huge.shown


def test_a_goal_named_file_the_run_wrote_is_a_deliverable_whatever_the_verb() -> None:
    goal = "List the distinct regions in data/sales.csv as a JSON array in out/regions.json"
    written = {"out/regions.json", "out/other.json"}
    assert written_named_files(goal, written) == ["out/regions.json"]
    assert written_named_files(goal, set()) == []  # nothing written: the reviewer judges
    said = "Write the regions to out/regions.json"
    assert written_named_files(said, written) == []  # already promised in so many words
    [found] = deliverables_for(goal, [], written=["out/regions.json"])
    assert check(found, inspected([])).problems == ["out/regions.json is empty ([])"]


async def test_an_empty_list_in_a_goal_named_file_fails_the_run(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """Measured false success: "List the distinct regions ... as a JSON array in
    out/regions.json" wrote [] and the reviewer accepted it."""
    goal = "List the distinct regions in data/sales.csv as a JSON array in out/regions.json"
    write = {"id": "write", "action": "file_write"}
    write["params"] = {"path": "out/regions.json", "content": []}
    handle = await start(client, task_queue, workspace, goal=goal, plan=plan(write), review=False)
    failure = await run_failure(handle)
    assert "out/regions.json is empty" in str(failure.message)
    await assert_replays(handle)


async def test_a_given_plan_whose_file_is_wrong_fails_honestly(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    given = plan(write_step(False)).model_copy(
        update={"deliverables": [Deliverable(path="out/paris.json", shape="list")]}
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    failure = await run_failure(handle)
    assert "out/paris.json should hold a JSON list, not the boolean false" in str(failure.message)
    # read back, found wrong, and the run's own write undone
    assert await activity_types(handle) == ["file_write", "inspect", "file_delete"]
    assert not (workspace / "out/paris.json").exists()
    await assert_replays(handle)


async def test_a_wrong_deliverable_goes_back_to_the_planner_with_its_content(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    checked = [Deliverable(path="out/paris.json", shape="list", where={"city": "Paris"})]
    fake_llm.plans.append(Plan(steps=plan(write_step(False)).steps, deliverables=checked))
    fake_llm.plans.append(Plan(steps=plan(write_step(PARIS)).steps, deliverables=checked))
    fake_llm.reviews.append(Review(verdict="done", answer="two people live in Paris"))
    goal = "Keep the users whose city is Paris and save them as a JSON array to out/paris.json"
    handle = await start(client, task_queue, workspace, goal=goal)
    # the new plan replaces the file the first one wrote: a person confirms that
    pending = await pending_approval(handle, "write")
    assert "out/paris.json exists" in pending.reason
    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="write"))
    result = await handle.result()

    feedback = fake_llm.plan_requests[1].feedback or ""
    assert "should hold a JSON list, not the boolean false" in feedback
    assert "out/paris.json holds: false" in feedback
    # the reviewer judged the file as written, next to the goal
    [review] = fake_llm.review_requests
    assert [(c.path, c.shown) for c in review.deliverables] == [
        ("out/paris.json", json.dumps(PARIS))
    ]
    assert result.status == "succeeded"
    assert [(c.path, c.passed, c.content_checked) for c in result.deliverables] == [
        ("out/paris.json", True, True)
    ]
    assert json.loads((workspace / "out/paris.json").read_text()) == PARIS
    await assert_replays(handle)


def test_a_file_the_goal_edits_in_place_is_named() -> None:
    assert edited_files("In data/config.json, set debug to true") == ["data/config.json"]
    assert edited_files("Change the port in data/config.json to 9090") == ["data/config.json"]
    assert edited_files("Remove the rows of data/s.csv below 100 and save them to out/k.csv") == []
    assert edited_files("Count the rows in data/sales.csv") == []  # no edit verb


async def test_an_edit_never_written_back_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    """Measured: config_debug read the file, set the key in memory, wrote nothing, and
    the reviewer said the file was changed."""
    (workspace / "data/config.json").write_text('{"debug": false, "port": 8080}')
    read = {"id": "read", "action": "file_read", "params": {"path": "data/config.json"}}
    change = {
        "id": "change",
        "action": "set_keys",
        "depends_on": ["read"],
        "params": {"input": "${steps.read.output}", "values": {"debug": True}},
    }
    write = {
        "id": "write",
        "action": "file_write",
        "depends_on": ["change"],
        "params": {"path": "data/config.json", "content": "${steps.change.output}"},
    }
    fake_llm.plans.extend([plan(read, change), plan(read, change, write)])
    fake_llm.reviews.append(Review(verdict="done", answer="debug is on"))
    goal = "In data/config.json, set debug to true"
    # replacing an existing file asks
    result = await run_to_end(client, task_queue, workspace, goal=goal, approve=("write",))
    feedback = fake_llm.plan_requests[1].feedback or ""
    assert "the goal changes data/config.json, but no step wrote it back" in feedback
    assert json.loads((workspace / "data/config.json").read_text()) == {
        "debug": True,
        "port": 8080,
    }
    assert result.status == "succeeded"
