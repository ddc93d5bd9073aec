"""Custom actions an app registers on its worker: planned, judged, approved, undone and
replayed like built-ins (the ticket tracker of ``examples/custom_actions.py``)."""

from __future__ import annotations

import json
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel
from temporalio.client import Client, WorkflowFailureError
from temporalio.worker import Worker

from durable_agents.activities.prompts import catalog_text, custom_key, plan_schema
from durable_agents.contracts import AgentTurn, ApprovalDecision, Policy, Risk, ToolCall, Usage
from durable_agents.contracts.policy import DEFAULT_DECISIONS
from durable_agents.examples.custom_actions import ACTIONS, TICKETS_ENV, read_tickets
from durable_agents.runtime.custom_actions import CustomAction, CustomActionProblem, Toolbox
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.test_approvals_cli import own_worker_env, run
from tests.test_starter import REPO
from tests.workflows.runs import (
    activity_types,
    assert_replays,
    pending_approval,
    plan,
    run_failure,
    start,
)

USAGE = Usage(calls=1, prompt_tokens=10, completion_tokens=5, model="fake-model")
OPEN = {"id": "open", "action": "open_ticket", "params": {"title": "Export failed"}}


@pytest.fixture
def tickets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "tickets.jsonl"
    monkeypatch.setenv(TICKETS_ENV, str(path))
    yield path


@pytest.fixture
async def ticket_worker(
    client: Client, task_queue: str, fake_llm: FakeLlm, tickets: Path
) -> AsyncIterator[Worker]:
    async with running_worker(client, task_queue, fake_llm, ACTIONS) as worker:
        yield worker


async def test_a_given_plan_runs_a_custom_action_as_its_own_activity(
    client: Client, task_queue: str, workspace: Path, ticket_worker: Worker, tickets: Path
) -> None:
    body = "${steps.read.output[0].region}"
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}},
        {**OPEN, "params": {"title": "Check the sales", "body": body}},
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()

    assert result.status == "succeeded"
    assert result.steps[1].output == {"id": 1, "status": "open"}
    ticket = read_tickets(tickets)[1]
    assert ticket["title"] == "Check the sales" and ticket["body"] == "North"
    assert ticket["priority"] == "normal"  # the app's model filled its default
    assert await activity_types(handle, listing=True) == [  # listed once, judged by the app, run
        "list_tools",
        "file_read",
        "classify_tool_call",
        "open_ticket",
    ]
    await assert_replays(handle)


async def test_a_plan_of_built_ins_never_asks_for_custom_actions(
    client: Client, task_queue: str, workspace: Path, ticket_worker: Worker
) -> None:
    given = plan({"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}})
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    assert (await handle.result()).status == "succeeded"
    assert await activity_types(handle, listing=True) == ["file_read"]


async def test_the_workers_judgement_of_the_params_asks_a_person(
    client: Client, task_queue: str, workspace: Path, ticket_worker: Worker, tickets: Path
) -> None:
    """An urgent ticket pages people: the app's risk function says external, so the
    default policy asks; a quiet one in the same plan runs unasked."""
    urgent = {"id": "page", "action": "open_ticket"}
    urgent["params"] = {"title": "Site down", "priority": "urgent"}
    handle = await start(client, task_queue, workspace, plan=plan(OPEN, urgent), review=False)
    pending = await pending_approval(handle, "page")
    assert pending.risk == Risk.EXTERNAL and pending.action == "open_ticket"
    assert pending.arguments == {"title": "Site down", "body": "", "priority": "urgent"}

    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="page", by="ops"))
    result = await handle.result()
    assert result.status == "succeeded"
    status = await handle.query("status")  # the quiet ticket ran unasked, in parallel
    assert [a["step_id"] for a in status["approvals"]] == ["page"]
    assert [t["priority"] for t in read_tickets(tickets).values()] == ["normal", "urgent"]
    types = await activity_types(handle, listing=True)
    assert types.count("classify_tool_call") == 2 and types.count("open_ticket") == 2
    await assert_replays(handle)


async def test_a_policy_that_blocks_external_actions_blocks_an_urgent_ticket(
    client: Client, task_queue: str, workspace: Path, ticket_worker: Worker, tickets: Path
) -> None:
    policy = Policy(decisions={**DEFAULT_DECISIONS, Risk.EXTERNAL: "block"})
    urgent = {**OPEN, "params": {"title": "Site down", "priority": "urgent"}}
    handle = await start(
        client,
        task_queue,
        workspace,
        plan=plan(urgent),
        review=False,
        policy=policy,
        max_replans=0,
    )
    failure = await run_failure(handle)  # judged on the call's params, when it runs
    assert "BlockedByPolicy: open_ticket (app action) is judged external" in str(failure.message)
    assert read_tickets(tickets) == {}


async def test_a_failed_run_closes_the_ticket_it_opened(
    client: Client, task_queue: str, workspace: Path, ticket_worker: Worker, tickets: Path
) -> None:
    missing = {"id": "after", "action": "file_read", "params": {"path": "nowhere.csv"}}
    given = plan(OPEN, {**missing, "depends_on": ["open"], "on_failure": "fail"})
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    with pytest.raises(WorkflowFailureError):
        await handle.result()
    status = await handle.query(AgentWorkflow.status)

    assert [(c.step_id, c.outcome) for c in status.compensations] == [("open", "undone")]
    assert read_tickets(tickets)[1]["status"] == "closed"
    await assert_replays(handle)


async def test_plans_are_checked_against_the_custom_actions_schemas(
    client: Client, task_queue: str, workspace: Path, ticket_worker: Worker
) -> None:
    wrong = {**OPEN, "params": {"title": "x", "priority": "whenever", "owner": "me"}}
    unknown = {"id": "ship", "action": "ship_it", "params": {}}
    handle = await start(client, task_queue, workspace, plan=plan(wrong, unknown), review=False)
    message = str((await run_failure(handle)).message)
    assert "the given plan is invalid" in message
    assert "param priority" in message and "param owner" in message
    assert "unknown action 'ship_it'" in message and "open_ticket, close_ticket" in message


async def test_the_planner_is_offered_the_workers_custom_actions(
    client: Client,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    ticket_worker: Worker,
    tickets: Path,
) -> None:
    fake_llm.plans.append(plan(OPEN))
    handle = await start(client, task_queue, workspace, review=False)
    assert (await handle.result()).status == "succeeded"

    offered = fake_llm.plan_requests[0].custom_actions
    assert [tool.name for tool in offered] == ["open_ticket", "close_ticket"]
    assert offered[0].classified and offered[1].risk == Risk.WRITE
    text = catalog_text(False, custom_key(offered))
    assert "\nopen_ticket: Open a ticket in the team's tracker" in text
    assert "priority (optional" in text or "priority" in text
    schema = json.dumps(plan_schema(False, custom_key(offered)))
    assert '"const": "open_ticket"' in schema and '"urgent"' in schema
    assert len(read_tickets(tickets)) == 1
    await assert_replays(handle)


async def test_an_agent_step_calls_a_custom_action_as_a_judged_tool(
    client: Client,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    ticket_worker: Worker,
    tickets: Path,
) -> None:
    arguments = json.dumps({"title": "Disk full", "priority": "low"})
    fake_llm.turns.extend(
        [
            AgentTurn(
                tool_calls=[ToolCall(id="c0", name="open_ticket", arguments=arguments)],
                usage=USAGE,
            ),
            AgentTurn(content="Opened ticket 1.", usage=USAGE),
        ]
    )
    task = {"task": "Open a ticket about the full disk", "tools": ["open_ticket"]}
    given = plan({"id": "agent", "action": "agent", "params": task})
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()

    assert result.status == "succeeded"
    offered = fake_llm.turn_requests[0].custom_actions
    assert [tool.name for tool in offered] == ["open_ticket"]
    assert read_tickets(tickets)[1]["title"] == "Disk full"
    await assert_replays(handle)


class Quiet(BaseModel):
    """Say nothing."""


async def _nothing(params: Quiet) -> None:
    return None


def test_an_action_that_cannot_be_registered_says_why() -> None:
    with pytest.raises(CustomActionProblem, match="taken by a built-in"):
        CustomAction("file_write", Quiet, _nothing)
    with pytest.raises(CustomActionProblem, match="async function"):
        CustomAction("quiet", Quiet, lambda params: None)  # type: ignore[arg-type,return-value]
    with pytest.raises(CustomActionProblem, match="registered twice"):
        Toolbox([CustomAction("quiet", Quiet, _nothing), CustomAction("quiet", Quiet, _nothing)])
    with pytest.raises(CustomActionProblem, match="Quiet-ish"):
        CustomAction("Quiet-ish", Quiet, _nothing)


def _spec_names(actions: list[Any]) -> list[str]:
    return [action.spec().name for action in actions]


def test_the_examples_actions_describe_themselves() -> None:
    assert _spec_names(ACTIONS) == ["open_ticket", "close_ticket"]


async def test_the_readmes_command_runs_the_example_with_the_starters_own_worker(
    client: Client, workspace: Path, tickets: Path
) -> None:
    """``AGENT_ACTIONS=...:ACTIONS python starter.py --plan examples/tickets_plan.json``."""
    env = own_worker_env(client, workspace) | {
        "AGENT_ACTIONS": "durable_agents.examples.custom_actions:ACTIONS",
        TICKETS_ENV: str(tickets),
    }
    plan_file = REPO / "examples" / "tickets_plan.json"
    command = [sys.executable, str(REPO / "starter.py"), "--plan", str(plan_file)]
    done = await run([*command, "--workspace", str(workspace)], env)

    assert done.returncode == 0, done.stdout + done.stderr
    (ticket,) = read_tickets(tickets).values()
    assert ticket["title"] == "Weekly revenue check"
    assert str(ticket["body"]).startswith("Total revenue: ")
