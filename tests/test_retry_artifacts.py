"""starter.py retry reuses outputs kept as artifacts: the new run is granted the runs it
reuses (ActionContext.artifact_runs), and a retry of a retry still reaches the run that
made them."""

from __future__ import annotations

import json
import re
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts.artifacts import is_artifact
from tests.test_approvals_cli import starter
from tests.test_retry import result_of
from tests.workflows.runs import plan, run_failure, start
from tests.workflows.test_large_runs import big_sales


async def test_a_retry_uses_the_artifacts_of_the_runs_it_reuses(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    big_sales(workspace, rows=5_000)  # ~400 KB: kept as an artifact
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "big.json"}},
        {
            "id": "config",
            "action": "file_read",
            "depends_on": ["read"],
            "params": {"path": "data/config.json"},
        },
        {
            "id": "copy",
            "action": "file_write",
            "depends_on": ["config"],
            "params": {"path": "out/copy.json", "content": "${steps.read.output}"},
        },
    )
    first = await start(client, task_queue, workspace, plan=given, review=False)
    await run_failure(first)  # data/config.json is missing
    (workspace / "data/config.json").write_text('{"ok": true}')

    env = {"AGENT_TASK_QUEUE": task_queue}
    retried = await starter(client, "retry", first.id, env=env)
    assert retried.returncode == 0, retried.stdout + retried.stderr
    second = await result_of(client, retried.stdout)
    read = second.steps[0]
    assert read.reused_from == first.id and is_artifact(read.output)
    copied = json.loads((workspace / "out/copy.json").read_text())
    assert copied == json.loads((workspace / "big.json").read_text())

    (workspace / "out/copy.json").unlink()
    second_id = re.search(r"Started run (\S+)", retried.stdout)
    assert second_id, retried.stdout
    again = await starter(client, "retry", second_id[1], "--from-step", "copy", env=env)
    assert again.returncode == 0, again.stdout + again.stderr
    third = await result_of(client, again.stdout)
    assert third.steps[0].reused_from == first.id  # the run that made it, still granted
    assert (workspace / "out/copy.json").exists()
