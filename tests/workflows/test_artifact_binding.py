"""A run cannot reach another run's stored outputs: a plan may not name an artifact, and a
reference smuggled in through data (a file, a response) is refused by the worker."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts.artifacts import is_artifact
from durable_agents.workflows.plan_checks import validate_plan
from tests.workflows.runs import assert_replays, plan, run_failure, start
from tests.workflows.test_large_runs import big_sales

FAKE = {"$artifact": "sha256:" + "0" * 64, "run": "someone-else"}


def test_a_plan_may_not_name_an_artifact() -> None:
    given = plan(
        {"id": "w", "action": "file_write", "params": {"path": "o.json", "content": {"d": FAKE}}},
        {
            "id": "t",
            "action": "transform",
            "params": {"input": [1]},
            "compensate": {"action": "file_write", "params": {"path": "x", "content": FAKE}},
        },
    )
    errors = validate_plan(given)
    assert any("step 'w' params name a stored artifact" in e for e in errors), errors
    assert any("step 't' compensate name a stored artifact" in e for e in errors), errors


async def test_another_runs_artifact_is_refused_and_the_own_run_keeps_working(
    client: Client, task_queue: str, workspace: Path, tmp_path: Path, agent_worker: Worker
) -> None:
    big_sales(workspace, rows=5_000)  # ~400 KB: stored as an artifact
    first = plan(
        {"id": "read", "action": "file_read", "params": {"path": "big.json"}},
        {
            "id": "copy",  # a same-run reference is expanded
            "action": "file_write",
            "params": {"path": "out/copy.json", "content": "${steps.read.output}"},
        },
    )
    owner = await start(client, task_queue, workspace, plan=first, review=False)
    result = await owner.result()
    reference = result.steps[0].output
    assert is_artifact(reference) and isinstance(reference, dict)
    assert reference["run"] == owner.id
    assert (workspace / "out/copy.json").read_text() == json.dumps(
        json.loads((workspace / "big.json").read_text()), indent=2, ensure_ascii=False
    ) + "\n"

    other = tmp_path / "other"
    other.mkdir()
    named = plan(
        {"id": "steal", "action": "file_write", "params": {"path": "o.json", "content": reference}}
    )
    refused = await run_failure(await start(client, task_queue, other, plan=named, review=False))
    assert "the given plan is invalid" in str(refused.message)
    assert "params name a stored artifact" in str(refused.message)

    # the same reference arriving as data (a file here; an HTTP response alike)
    (other / "found.json").write_text(json.dumps(reference))
    smuggled = plan(
        {"id": "read", "action": "file_read", "params": {"path": "found.json"}},
        {
            "id": "steal",
            "action": "file_write",
            "params": {"path": "stolen.json", "content": "${steps.read.output}"},
        },
    )
    handle = await start(client, task_queue, other, plan=smuggled, review=False)
    failure = await run_failure(handle)
    assert "ArtifactNotBound" in str(failure.message), failure.message
    assert f"stored by run '{owner.id}', not by this run ({handle.id})" in str(failure.message)
    assert not (other / "stolen.json").exists()
    await assert_replays(handle)
