"""Protected paths in real runs: blocked by the policy as planned and again once
references are resolved, whatever the run's policy allows. Workspaces named under the
worker's root (``worker:NAME``) resolve there, and cannot name their way out of it."""

from __future__ import annotations

import json
import shutil
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.activities.named_workspace import ROOT_ENV
from durable_agents.contracts import Policy, RunInput
from durable_agents.workflows.agent import AgentWorkflow
from tests.workflows.runs import DEMO_PLAN, assert_replays, plan, run_failure, start

FSMONITOR = "[core]\n\tfsmonitor = touch /tmp/pwned\n"
ALLOW_ALL = Policy(decisions={"write": "allow", "destructive": "allow"})


async def test_a_plan_cannot_touch_git_or_the_code(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git/config").write_text("[core]\n")
    given = plan(
        {
            "id": "hook",
            "action": "file_append",
            "params": {"path": ".git/config", "content": FSMONITOR},
        },
        {"id": "code", "action": "file_write", "params": {"path": "policy.py", "content": "x"}},
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=ALLOW_ALL)
    failure = await run_failure(handle)
    assert "path '.git/config' is protected: hidden files and folders" in str(failure.message)
    assert "path 'policy.py' is protected: code and executables" in str(failure.message)
    assert (workspace / ".git/config").read_text() == "[core]\n"
    assert not (workspace / "policy.py").exists()


async def test_a_path_that_only_a_reference_reveals_is_judged_when_resolved(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    (workspace / ".git").mkdir()
    (workspace / ".git/config").write_text("[core]\n")
    given = plan(
        {"id": "name", "action": "transform", "params": {"input": ".git/config"}},
        {
            "id": "hook",
            "action": "file_append",
            "params": {"path": "${steps.name.output}", "content": FSMONITOR},
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False, policy=ALLOW_ALL)
    failure = await run_failure(handle)
    assert "BlockedByPolicy" in str(failure.message) and "protected" in str(failure.message)
    assert (workspace / ".git/config").read_text() == "[core]\n"
    await assert_replays(handle)


async def test_a_workspace_named_under_the_workers_root_runs_there(
    client: Client,
    task_queue: str,
    workspace: Path,
    agent_worker: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = tmp_path / "worker-root"
    shutil.copytree(workspace, root / "projects/a")
    monkeypatch.setenv(ROOT_ENV, str(root))
    result = await client.execute_workflow(
        AgentWorkflow.run,
        RunInput(goal="g", workspace="worker:projects/a", plan=DEMO_PLAN, review=False),
        id=f"test-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    assert result.status == "succeeded", result
    totals = json.loads((root / "projects/a/out/revenue.json").read_text())
    assert {row["region"] for row in totals} == {"North", "South", "East", "West"}
    assert not (workspace / "out").exists()


@pytest.mark.parametrize("name", ["worker:..", "worker:/tmp", "worker:link"])
async def test_a_workspace_name_out_of_the_root_fails_the_run_unwritten(
    client: Client,
    task_queue: str,
    workspace: Path,
    agent_worker: Worker,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    name: str,
) -> None:
    root = tmp_path / "worker-root"
    root.mkdir()
    (root / "link").symlink_to(workspace)  # a way out by symlink
    monkeypatch.setenv(ROOT_ENV, str(root))
    handle = await client.start_workflow(
        AgentWorkflow.run,
        RunInput(goal="g", workspace=name, plan=DEMO_PLAN, review=False),
        id=f"test-{uuid.uuid4()}",
        task_queue=task_queue,
    )
    failure = await run_failure(handle)
    assert "WorkspaceOutsideRoot" in str(failure.message), failure.message
    assert not (workspace / "out").exists() and not (tmp_path / "out").exists()
