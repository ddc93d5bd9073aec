"""``starter.py --example NAME`` end to end, and the examples' undo against their API."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Plan, Step
from durable_agents.examples.api import ORDERS, ExampleApi
from durable_agents.examples.catalog import EXAMPLE_POLICY, EXAMPLES
from durable_agents.workflows.plan_checks import validate_plan
from tests.test_approvals_cli import own_worker_env, run
from tests.test_starter import REPO
from tests.workflows.runs import run_failure, start

OPEN_ORDERS = [order["id"] for order in ORDERS if order["status"] == "open"]


def check_data_pipeline(workspace: Path) -> None:
    north = json.loads((workspace / "out/pipeline/regions/North.json").read_text())
    assert north == {"region": "North", "revenue": 643.0, "units": 25}
    with (workspace / "out/pipeline/revenue.csv").open() as handle:
        assert [row["region"] for row in csv.DictReader(handle)] == [
            "North",
            "South",
            "East",
            "West",
        ]
    assert "big regions:" in (workspace / "out/pipeline/flags.log").read_text()


def check_api_orchestration(workspace: Path) -> None:
    invoices = json.loads((workspace / "out/api/invoices.json").read_text())
    assert [invoice["order_id"] for invoice in invoices] == OPEN_ORDERS


def check_job_execution(workspace: Path) -> None:
    job = json.loads((workspace / "out/job/result.json").read_text())
    assert job["status"] == "done" and job["result"]["rows"] == 4


CHECKS = {
    "data_pipeline": check_data_pipeline,
    "api_orchestration": check_api_orchestration,
    "job_execution": check_job_execution,
}


@pytest.mark.parametrize("name", sorted(EXAMPLES))
async def test_each_example_runs_offline(client: Client, tmp_path: Path, name: str) -> None:
    workspace = tmp_path / "ws"
    workspace.mkdir()
    command = [sys.executable, str(REPO / "starter.py"), "--example", name]
    done = await run([*command, "--workspace", str(workspace)], own_worker_env(client, workspace))

    assert done.returncode == 0, done.stdout + done.stderr
    CHECKS[name](workspace)


async def test_a_failed_orchestration_deletes_the_invoices_it_created(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    api = ExampleApi().start()
    try:
        given = EXAMPLES["api_orchestration"].plan(api.url)
        boom = Step(
            id="boom",
            title="a later failure",
            action="file_read",
            params={"path": "missing.json"},
            depends_on=["invoice"],
        )
        handle = await start(
            client,
            task_queue,
            workspace,
            plan=Plan(steps=[*given.steps, boom]),
            review=False,
            policy=EXAMPLE_POLICY,
        )
        result = (await run_failure(handle)).details[0]
    finally:
        api.stop()
    assert isinstance(result, dict)
    undone = [(c["step_id"], c["item"], c["outcome"]) for c in result["compensations"]]
    assert ("invoice", 0, "undone") in undone and len(undone) >= 3
    assert api.invoices == {}
    deletes = [path for method, path in api.requests if method == "DELETE"]
    assert len(deletes) == len(OPEN_ORDERS)


@pytest.mark.parametrize(
    "name", ["revenue_plan", "tickets_plan", "inventory_plan", "classify_plan"]
)
def test_the_readmes_plan_files_are_valid_plans(name: str) -> None:
    """The plan files the README runs with ``--plan`` (custom and MCP actions are the
    worker's to check: tested end to end in tests/workflows)."""
    plan = Plan.model_validate_json((REPO / "examples" / f"{name}.json").read_text())
    assert validate_plan(plan, unknown_actions_ok=True) == []
