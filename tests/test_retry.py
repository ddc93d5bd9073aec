"""starter.py retry: a new run that takes finished steps' outputs (same id, same arguments)
and runs the rest; side effects of finished steps do not happen again."""

from __future__ import annotations

import json
import re
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Policy, RunResult, StepStatus
from tests.local_http import LocalHttp
from tests.test_approvals_cli import starter
from tests.workflows.runs import plan, run_failure, start


async def test_retry_reuses_what_finished_and_from_step_runs_it_again(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    hits: list[bytes] = []

    def record(handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        hits.append(body)
        return 201, {"Content-Type": "application/json"}, json.dumps({"n": len(hits)}).encode()

    server = LocalHttp({"/orders": record})
    given = plan(
        {
            "id": "order",
            "action": "http_request",
            "params": {"method": "POST", "url": server.url("/orders"), "json_body": {"sku": "A1"}},
        },
        {
            "id": "note",
            "action": "file_write",
            "params": {"path": "out/order.json", "content": "${steps.order.output.body}"},
        },
        {
            "id": "config",
            "action": "file_read",
            "depends_on": ["note"],
            "params": {"path": "data/config.json"},
        },
    )
    policy = Policy(allow_hosts=["127.0.0.1"], decisions={"external": "allow"})
    try:
        first = await start(client, task_queue, workspace, plan=given, review=False, policy=policy)
        await run_failure(first)  # data/config.json is missing
        assert len(hits) == 1
        (workspace / "data/config.json").write_text('{"ok": true}')

        env_queue = {"AGENT_TASK_QUEUE": task_queue}
        retried = await starter(client, "retry", first.id, env=env_queue)
        assert retried.returncode == 0, retried.stdout + retried.stderr
        # the failed run undid 'note' (deleted its file): that step runs again
        assert f"Retrying {first.id}: reusing order; running note, config" in retried.stdout
        assert len(hits) == 1  # the POST did not happen again
        second = await result_of(client, retried.stdout)
        assert [s.reused_from for s in second.steps] == [first.id, None, None]
        assert second.steps[2].status is StepStatus.SUCCEEDED
        assert json.loads((workspace / "out/order.json").read_text()) == {"n": 1}
        (workspace / "out/order.json").unlink()  # so the next retry writes it unasked

        again = await starter(client, "retry", first.id, "--from-step", "order", env=env_queue)
        assert again.returncode == 0, again.stdout + again.stderr
        assert "reusing nothing; running order, note, config" in again.stdout
        assert len(hits) == 2  # named: it runs again, and so does what depends on it
        assert json.loads((workspace / "out/order.json").read_text()) == {"n": 2}

        wrong = await starter(client, "retry", first.id, "--from-step", "nope", env=env_queue)
        assert (
            wrong.returncode == 2
            and "has no step 'nope'; its steps: order, note, config" in wrong.stderr
        )
    finally:
        server.stop()


async def result_of(client: Client, stdout: str) -> RunResult:
    started = re.search(r"Started run (\S+)", stdout)
    assert started, stdout
    return await client.get_workflow_handle(started[1], result_type=RunResult).result()
