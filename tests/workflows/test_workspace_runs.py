"""Protected paths in real runs: blocked by the policy as planned and again once
references are resolved, whatever the run's policy allows."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Policy
from tests.workflows.runs import assert_replays, plan, run_failure, start

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
