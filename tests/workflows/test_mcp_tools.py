"""MCP servers as tool sources: a real MCP server process (stdio, and streamable HTTP)
whose tools runs list, plan, judge, approve and call like built-in actions."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import ApprovalDecision, Risk
from durable_agents.runtime.custom_actions import Toolbox
from durable_agents.runtime.mcp_tools import McpConfigProblem, McpServer, McpTools, load_servers
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.processes import free_port
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

STOCK = {"id": "stock", "action": "inventory_stock", "params": {"sku": "A1"}}


def inventory(log: Path, **options: object) -> McpServer:
    command = ["{python}", "-m", "durable_agents.examples.mcp_inventory"]
    env = {"INVENTORY_LOG": str(log)}
    settings: dict[str, object] = {"risk": {"stock": Risk.READ, "secrets": Risk.READ}}
    return McpServer("inventory", command=command, env=env, **(settings | options))  # type: ignore[arg-type]


@pytest.fixture
def log(tmp_path: Path) -> Path:
    return tmp_path / "reservations.jsonl"


@pytest.fixture
async def mcp_worker(
    client: Client, task_queue: str, fake_llm: FakeLlm, log: Path
) -> AsyncIterator[Worker]:
    tools = McpTools([inventory(log)])
    async with running_worker(client, task_queue, fake_llm, mcp=tools) as worker:
        yield worker
    await tools.aclose()


async def test_a_run_calls_an_mcp_tool_as_an_action(
    client: Client, task_queue: str, workspace: Path, mcp_worker: Worker
) -> None:
    write = {"id": "write", "action": "file_write"}
    write["params"] = {"path": "out/stock.json", "content": "${steps.stock.output}"}
    handle = await start(client, task_queue, workspace, plan=plan(STOCK, write), review=False)
    result = await handle.result()

    assert result.status == "succeeded"
    assert result.steps[0].output == {"sku": "A1", "count": 7}
    assert json.loads((workspace / "out/stock.json").read_text()) == {"sku": "A1", "count": 7}
    assert await activity_types(handle, listing=True) == [
        "list_tools",
        "inventory_stock",
        "file_write",
    ]
    await assert_replays(handle)


async def test_a_tool_without_a_risk_class_is_external_and_asks_a_person(
    client: Client, task_queue: str, workspace: Path, mcp_worker: Worker, log: Path
) -> None:
    reserve = {"id": "reserve", "action": "inventory_reserve", "params": {"sku": "A1", "count": 2}}
    handle = await start(client, task_queue, workspace, plan=plan(reserve), review=False)
    pending = await pending_approval(handle, "reserve")
    assert pending.risk == Risk.EXTERNAL and pending.arguments == {"sku": "A1", "count": 2}
    assert not log.exists()  # nothing reserved before the decision

    await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="reserve"))
    assert (await handle.result()).steps[0].output == {"result": "reserved 2 of A1"}
    assert json.loads(log.read_text()) == {"sku": "A1", "count": 2}


async def test_a_tool_error_fails_the_step_for_good_with_the_servers_words(
    client: Client, task_queue: str, workspace: Path, mcp_worker: Worker
) -> None:
    wrong = {**STOCK, "params": {"sku": "Z9"}, "on_failure": "fail"}
    handle = await start(client, task_queue, workspace, plan=plan(wrong), review=False)
    message = str((await run_failure(handle)).message)
    assert "McpToolError" in message and "unknown sku Z9" in message
    status = await handle.query(AgentWorkflow.status)
    assert status.steps[0].attempts == 1  # not retried: the same call fails the same way


async def test_the_planner_sees_the_allowed_tools_and_the_server_no_secrets(
    client: Client,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    log: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("DATABASE_URL", "postgresql://secret@db/agents")  # the worker's
    tools = McpTools([inventory(log, tools=["stock", "secrets"])])
    probe = {"id": "probe", "action": "inventory_secrets", "params": {}}
    fake_llm.plans.append(plan(probe))
    async with running_worker(client, task_queue, fake_llm, mcp=tools):
        handle = await start(client, task_queue, workspace, review=False)
        result = await handle.result()
    await tools.aclose()

    offered = fake_llm.plan_requests[0].custom_actions
    assert [tool.name for tool in offered] == ["inventory_stock", "inventory_secrets"]
    assert offered[0].source == "mcp:inventory" and offered[0].risk == Risk.READ
    assert offered[0].params_schema["required"] == ["sku"]
    output = result.steps[0].output
    assert isinstance(output, dict) and output["DATABASE_URL"] is None and output["HOME"]


async def test_a_streamable_http_server_serves_the_same_tools(
    client: Client, task_queue: str, workspace: Path, log: Path
) -> None:
    port = free_port()
    env = {"INVENTORY_LOG": str(log), "PATH": "/usr/bin:/bin"}
    process = subprocess.Popen(
        [sys.executable, "-m", "durable_agents.examples.mcp_inventory", "http", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    try:
        await _until_listening(port)
        tools = McpTools([McpServer("inventory", url=url, risk={"stock": Risk.READ})])
        async with running_worker(client, task_queue, FakeLlm(), mcp=tools):
            handle = await start(client, task_queue, workspace, plan=plan(STOCK), review=False)
            result = await handle.result()
        await tools.aclose()
    finally:
        process.terminate()
        process.wait(timeout=10)
    assert result.steps[0].output == {"sku": "A1", "count": 7}


async def _until_listening(port: int, timeout: float = 20) -> None:
    """Wait until the server accepts connections (a condition, not a fixed sleep)."""
    async with asyncio.timeout(timeout):
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    return
            except OSError:
                await asyncio.sleep(0.05)


async def test_a_server_that_does_not_start_leaves_its_tools_out(
    client: Client, task_queue: str, workspace: Path
) -> None:
    broken = McpServer("broken", command=[sys.executable, "-c", "raise SystemExit(3)"])
    tools = McpTools([broken])
    async with running_worker(client, task_queue, FakeLlm(), mcp=tools):
        handle = await start(client, task_queue, workspace, plan=plan(STOCK), review=False)
        message = str((await run_failure(handle)).message)
    await tools.aclose()
    assert "unknown action 'inventory_stock'" in message


def test_configuration_mistakes_are_refused_with_the_fix(tmp_path: Path) -> None:
    with pytest.raises(McpConfigProblem, match="either command"):
        McpServer("both", command=["x"], url="http://127.0.0.1:1/mcp")
    with pytest.raises(McpConfigProblem, match="lowercase"):
        McpServer("Bad-Name", url="http://127.0.0.1:1/mcp")
    with pytest.raises(McpConfigProblem, match="not allowed: reserve"):
        McpServer("inv", url="http://x/mcp", tools=["stock"], risk={"reserve": Risk.READ})
    config = tmp_path / "mcp.toml"
    config.write_text(
        '[servers.inventory]\ncommand = ["python", "-m", "durable_agents.examples.mcp_inventory"]\n'
        'tools = ["stock"]\ntimeout_seconds = 5\n[servers.inventory.risk]\nstock = "read"\n'
    )
    (server,) = load_servers(str(config))
    assert server.command == ["python", "-m", "durable_agents.examples.mcp_inventory"]
    assert server.risk == {"stock": Risk.READ} and server.timeout == timedelta(seconds=5)
    config.write_text('[servers.inventory]\nurl = "http://x/mcp"\nrisk = {stock = "risky"}\n')
    with pytest.raises(McpConfigProblem, match="'risky' is not a valid Risk"):
        load_servers(str(config))


def test_a_worker_without_servers_registers_no_dynamic_activity() -> None:
    names = [getattr(fn, "__name__", "") for fn in Toolbox(mcp=McpTools()).activities]
    assert names == ["list_tools", "classify_tool_call"]


async def test_the_readmes_command_runs_the_example_server_and_plan(
    client: Client, workspace: Path
) -> None:
    """``AGENT_MCP_CONFIG=examples/mcp.toml python starter.py --plan
    examples/inventory_plan.json``: the starter's own worker starts the server."""
    env = own_worker_env(client, workspace) | {
        "AGENT_MCP_CONFIG": str(REPO / "examples" / "mcp.toml")
    }
    plan_file = REPO / "examples" / "inventory_plan.json"
    command = [sys.executable, str(REPO / "starter.py"), "--plan", str(plan_file)]
    done = await run([*command, "--workspace", str(workspace)], env)

    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads((workspace / "out/stock.json").read_text()) == {"sku": "A1", "count": 7}
