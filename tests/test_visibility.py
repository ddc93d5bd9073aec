"""Runs you can find without their worker: the phase and waiting steps in visibility
(custom search attributes), and ``starter.py status|pending|list`` reading them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from temporalio.api.sdk.v1 import WorkflowMetadata
from temporalio.client import Client, WorkflowHandle

from durable_agents.contracts.visibility import AGENT_PENDING, AGENT_PHASE, AGENT_TITLE
from durable_agents.runtime.visibility import create_commands, search_attributes_ready
from durable_agents.workflows.agent import AgentWorkflow
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.local_http import LocalHttp
from tests.test_approvals_cli import LOCAL, post_plan, server, starter
from tests.workflows.runs import assert_replays, pending_approval, start

__all__ = ["server"]  # the fixture, used by name


async def visible(handle: WorkflowHandle[Any, Any], phase: str, timeout: float = 20) -> list[str]:
    """Wait (on describe) until visibility shows ``phase``; returns the waiting steps."""
    async with asyncio.timeout(timeout):
        while True:
            found = (await handle.describe()).typed_search_attributes
            if found.get(AGENT_PHASE) == phase:
                return list(found.get(AGENT_PENDING) or [])
            await asyncio.sleep(0.1)


async def test_a_waiting_run_is_found_and_shown_while_its_worker_is_down(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, server: LocalHttp
) -> None:
    assert await search_attributes_ready(client, register=False)  # the test server has them
    goal = "POST hi to the echo service"
    async with running_worker(client, task_queue, fake_llm):
        handle = await start(
            client,
            task_queue,
            workspace,
            goal=goal,
            plan=post_plan(server),
            review=False,
            policy=LOCAL,
            search_attributes=True,
            visible_title=goal,
        )
        await pending_approval(handle, "post")
        assert await visible(handle, "awaiting_approval") == ["post"]
        metadata = await handle.query("__temporal_workflow_metadata", result_type=WorkflowMetadata)
        # the Web UI's details: the arguments indented, one per line, not one clipped line
        assert '\n  "method": "POST",\n' in metadata.current_details
    # the worker is gone: visibility still knows, and the CLI says what it knows
    status = await starter(client, "status", handle.id)
    assert status.returncode == 0, status.stderr
    assert "running  awaiting_approval (post)" in status.stdout
    assert f"approve {handle.id} post" in status.stdout and "no worker answered" in status.stdout
    pending = await starter(client, "pending")
    assert f"run {handle.id}: " in pending.stdout and "'post' awaits approval" in pending.stdout
    listed = await starter(client, "list")
    assert any(
        line.startswith(handle.id) and "awaiting_approval (post)" in line and goal in line
        for line in listed.stdout.splitlines()
    ), listed.stdout
    async with running_worker(client, task_queue, fake_llm):
        await handle.signal(AgentWorkflow.approve, {"step_id": "post"})
        await handle.result()
        assert await visible(handle, "succeeded") == []
    found = (await handle.describe()).typed_search_attributes
    assert found.get(AGENT_TITLE) == goal
    await assert_replays(handle)


async def test_a_run_not_asked_to_publish_sets_nothing(
    client: Client, task_queue: str, workspace: Path, fake_llm: FakeLlm, server: LocalHttp
) -> None:
    """A cluster without the attributes would fail the upsert: runs publish only when
    their starter found them (RunInput.search_attributes)."""
    async with running_worker(client, task_queue, fake_llm):
        handle = await start(
            client, task_queue, workspace, plan=post_plan(server), review=False, policy=LOCAL
        )
        await pending_approval(handle, "post")
        await handle.signal(AgentWorkflow.approve, {"step_id": "post"})
        await handle.result()
    found = (await handle.describe()).typed_search_attributes
    assert found.get(AGENT_PHASE) is None


def test_other_clusters_get_the_commands_to_create_them() -> None:
    assert create_commands("prod") == [
        "temporal operator search-attribute create --namespace prod --name AgentPhase "
        "--type Keyword",
        "temporal operator search-attribute create --namespace prod "
        "--name AgentPendingApprovals --type KeywordList",
        "temporal operator search-attribute create --namespace prod --name AgentTitle --type Text",
    ]
