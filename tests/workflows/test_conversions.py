"""A conversion keeps every record: "convert data/sales.csv to JSON" writes all its rows,
each with its fields (``workflows.conversions``)."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Review
from durable_agents.contracts.deliverables import Deliverable
from durable_agents.workflows.conversions import as_conversion, converted_file
from durable_agents.workflows.deliverables import check
from tests.fake_llm import FakeLlm
from tests.workflows.deliverable_plans import inspected
from tests.workflows.runs import plan, run_to_end

GOAL = "Convert data/sales.csv to JSON and save it as out/sales.json"
ROWS: list[dict[str, object]] = [{"region": "North", "units": 3}, {"region": "South", "units": 5}]


def test_the_goal_names_the_file_it_converts() -> None:
    assert converted_file(GOAL) == "data/sales.csv"
    assert converted_file("convert `./data/users.json` into a CSV file out/u.csv") == (
        "data/users.json"
    )
    assert converted_file("Total the revenue in data/sales.csv to out/t.json") is None


def test_a_converted_file_holds_every_row_with_its_fields() -> None:
    wanted = as_conversion(Deliverable(path="out/sales.json"), "data/sales.csv", ROWS)
    assert (wanted.shape, wanted.item_fields, wanted.items) == ("list", ["region", "units"], 2)
    assert check(wanted, inspected(ROWS)).passed
    assert check(wanted, inspected(3)).problems == [
        "out/sales.json should hold a JSON list, not the number 3"
    ]
    [fewer] = check(wanted, inspected(ROWS[:1])).problems
    assert fewer == (
        "out/sales.json holds 1 items; the goal converts 2 records, and a conversion keeps "
        "every one: write the rows as read"
    )
    assert not check(wanted, inspected([{"region": "North"}, {"region": "South"}])).passed
    source = Deliverable(path="data/sales.csv")
    assert as_conversion(source, "data/sales.csv", ROWS) == source  # the input is no output
    text = Deliverable(path="out/sales.txt")
    assert as_conversion(text, "data/sales.csv", ROWS) == text


async def test_a_conversion_that_drops_records_goes_back_to_the_planner(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, agent_worker: Worker
) -> None:
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}
    count = {
        "id": "count",
        "action": "records",
        "depends_on": ["read"],
        "params": {
            "input": "${steps.read.output}",
            "where": [{"field": "region", "op": "==", "value": "North"}],
            "compute": "count",
        },
    }

    def write(source: str) -> dict[str, object]:
        content = f"${{steps.{source}.output}}"
        params = {"path": "out/sales.json", "content": content, "format": "json"}
        return {"id": "write", "action": "file_write", "depends_on": [source], "params": params}

    fake_llm.plans.extend([plan(read, count, write("count")), plan(write("read"))])
    fake_llm.reviews.append(Review(verdict="done", answer="converted"))
    result = await run_to_end(client, task_queue, workspace, goal=GOAL, approve=("write",))

    feedback = fake_llm.plan_requests[1].feedback or ""
    assert "out/sales.json should hold a JSON list, not the number" in feedback
    assert result.status == "succeeded"
    written = json.loads((workspace / "out/sales.json").read_text())
    assert len(written) == 12 and set(written[0]) == {
        "date",
        "region",
        "product",
        "units",
        "revenue",
    }
    assert [(c.path, c.passed, c.content_checked) for c in result.deliverables] == [
        ("out/sales.json", True, True)
    ]
