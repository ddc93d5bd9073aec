"""Record the committed histories in tests/histories/ (representative runs, fake LLM).

Run deliberately, after a workflow change that is meant to change new runs (behind
``workflow.patched``) and once the old histories still replay:
    .venv/bin/python -m tests.record_histories [SCENARIO ...]
Keep the old files too when they still describe runs that may be open in production
(rename them, e.g. success-v1.json): tests/test_histories.py replays every file.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sys
import tempfile
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from temporalio.client import Client, WorkflowFailureError, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

from durable_agents.contracts import (
    AgentTurn,
    ApprovalDecision,
    Recovery,
    Review,
    RunEvent,
    ToolCall,
    Usage,
)
from durable_agents.runtime.devserver import SPEED_ARGS, find_temporal_cli
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.workflows.runs import DEMO_PLAN, pending_approval, plan, replace_file_plan, start

HISTORIES = Path(__file__).parent / "histories"
REPO = Path(__file__).parents[1]
Scenario = Callable[[Client, str, Path, FakeLlm], Awaitable[WorkflowHandle[AgentWorkflow, object]]]
MISSING = {"id": "read", "action": "file_read", "params": {"path": "data/sale.csv"}}
USAGE = Usage(calls=1, prompt_tokens=10, completion_tokens=5, model="fake-model")


async def success(client: Client, queue: str, workspace: Path, llm: FakeLlm) -> WorkflowHandle:
    llm.plans.append(DEMO_PLAN)
    llm.reviews.append(Review(verdict="done", answer="North 643"))
    return await start(client, queue, workspace)


async def replan(client: Client, queue: str, workspace: Path, llm: FakeLlm) -> WorkflowHandle:
    llm.plans.extend([plan(MISSING), DEMO_PLAN])
    llm.reviews.append(Review(verdict="done", answer="North 643"))
    return await start(client, queue, workspace)


async def approval(client: Client, queue: str, workspace: Path, llm: FakeLlm) -> WorkflowHandle:
    handle = await start(client, queue, workspace, plan=replace_file_plan(workspace), review=False)
    await pending_approval(handle, "write")
    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="write", note="ok"))
    return handle


async def failure_undone(
    client: Client, queue: str, workspace: Path, llm: FakeLlm
) -> WorkflowHandle:
    steps = plan(
        {"id": "write", "action": "file_write", "params": {"path": "out/a.txt", "content": "x"}},
        {**MISSING, "depends_on": ["write"]},
    )
    return await start(client, queue, workspace, plan=steps, review=False)


async def step_kinds(client: Client, queue: str, workspace: Path, llm: FakeLlm) -> WorkflowHandle:
    (workspace / "names.json").write_text('[{"name": "a"}, {"name": "b"}]')
    llm.recoveries.append(Recovery(reason="typo", decision="retry", params={"path": "names.json"}))
    call = ToolCall(id="c0", name="file_list", arguments='{"path": "out"}')
    llm.turns.extend(
        [AgentTurn(tool_calls=[call], usage=USAGE), AgentTurn(content="2 files", usage=USAGE)]
    )
    steps = plan(
        {
            "id": "names",
            "action": "file_read",
            "on_failure": "recover",
            "params": {"path": "name.json"},
        },
        {
            "id": "each",
            "action": "file_write",
            "foreach": "steps.names.output",
            "params": {"path": "out/${item.name}.txt", "content": "${index}"},
        },
        {"id": "go", "action": "wait_for_event", "depends_on": ["each"], "params": {"event": "go"}},
        {
            "id": "agent",
            "action": "agent",
            "depends_on": ["go"],
            "params": {"task": "count the files in out", "tools": ["file_list"]},
        },
    )
    handle = await start(client, queue, workspace, plan=steps, review=False)
    await handle.signal(AgentWorkflow.event, RunEvent(name="go", payload={"ok": True}))
    return handle


async def continued(client: Client, queue: str, workspace: Path, llm: FakeLlm) -> WorkflowHandle:
    llm.plans.extend([plan(MISSING), DEMO_PLAN])
    llm.reviews.append(Review(verdict="done", answer="North 643"))
    handle = await start(client, queue, workspace, continue_after_events=1)
    await handle.result()  # the history kept is the first run's, which continued as new
    return client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)


SCENARIOS: dict[str, Scenario] = {
    "success": success,
    "replan": replan,
    "approval": approval,
    "failure_undone": failure_undone,
    "step_kinds": step_kinds,
    "continued": continued,
}


async def record(names: list[str]) -> None:
    logging.getLogger("temporalio").setLevel(logging.ERROR)  # failing steps are expected
    env = await WorkflowEnvironment.start_local(
        dev_server_existing_path=find_temporal_cli(),
        dev_server_extra_args=[*SPEED_ARGS, "--log-level", "error"],
        data_converter=pydantic_data_converter,
    )
    HISTORIES.mkdir(exist_ok=True)
    try:
        for name in names:
            scenario = SCENARIOS[name]
            queue, llm = f"record-{uuid.uuid4().hex[:8]}", FakeLlm()
            with tempfile.TemporaryDirectory() as folder:
                workspace = Path(folder)
                (workspace / "data").mkdir()
                shutil.copy(REPO / "data/sales.csv", workspace / "data/sales.csv")
                async with running_worker(env.client, queue, llm):
                    handle = await scenario(env.client, queue, workspace, llm)
                    with contextlib.suppress(WorkflowFailureError):  # failures count too
                        await handle.result()
                history = await handle.fetch_history()
            (HISTORIES / f"{name}.json").write_text(history.to_json())
            print(f"recorded {name}: {len(history.events)} events")
    finally:
        await env.shutdown()


if __name__ == "__main__":
    asyncio.run(record(sys.argv[1:] or list(SCENARIOS)))  # names: record only those
