"""Runs that stay small: a 5 MB step output lives in the artifact store (history holds a
reference), and history grows linearly with the number of steps."""

from __future__ import annotations

import json
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.contracts import Policy, StepStatus
from durable_agents.contracts.artifacts import is_artifact
from tests.workflows.runs import assert_replays, plan, run_failure, start

REGIONS = ("North", "South", "East", "West")


def big_sales(workspace: Path, rows: int = 60_000) -> int:
    records = [
        {"region": REGIONS[n % 4], "revenue": n % 100, "note": "x" * 40} for n in range(rows)
    ]
    text = json.dumps(records)
    (workspace / "big.json").write_text(text)
    return len(text)


async def test_a_5_mb_output_goes_to_the_store_and_back(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    size = big_sales(workspace)
    assert size > 5_000_000
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "big.json"}},
        {
            "id": "total",
            "action": "transform",
            "params": {
                "input": "${steps.read.output}",
                "group_by": "region",
                "aggregate": {"revenue": "sum"},
            },
        },
        {
            "id": "copy",
            "action": "file_write",
            "params": {"path": "out/copy.json", "content": "${steps.read.output}"},
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    result = await handle.result()

    read, total, _ = result.steps
    assert is_artifact(read.output) and read.output["bytes"] == size  # type: ignore[index,call-overload]
    assert [row["region"] for row in total.output] == list(REGIONS)  # type: ignore[union-attr,index]
    copied = json.loads((workspace / "out/copy.json").read_text())
    assert copied == json.loads((workspace / "big.json").read_text())
    history = (await handle.fetch_history()).to_json()
    assert len(history) < 200_000  # a reference and a preview, not 5 MB
    await assert_replays(handle)


async def test_workflow_code_cannot_look_inside_an_artifact(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    big_sales(workspace)
    given = plan(
        {"id": "read", "action": "file_read", "params": {"path": "big.json"}},
        {
            "id": "first",
            "action": "file_write",
            "params": {"path": "o.json", "content": "${steps.read.output[0]}"},
        },
    )
    handle = await start(client, task_queue, workspace, plan=given, review=False)
    failure = await run_failure(handle)
    assert "looks inside steps.read.output, which is stored as an artifact" in str(failure.message)
    assert "pass ${steps.read.output} whole to a transform step" in str(failure.message)


async def history_bytes(client: Client, task_queue: str, workspace: Path, steps: int) -> int:
    chain = [{"id": "s0", "action": "file_list", "params": {"path": "data"}}]
    chain += [
        {
            "id": f"s{n}",
            "action": "file_list",
            "depends_on": [f"s{n - 1}"],
            "params": {"path": "data"},
        }
        for n in range(1, steps)
    ]
    handle = await start(client, task_queue, workspace, plan=plan(*chain), review=False)
    result = await handle.result()
    assert len(result.steps) == steps and all(
        s.status is StepStatus.SUCCEEDED for s in result.steps
    )
    return len((await handle.fetch_history()).to_json())


async def test_history_grows_linearly_up_to_300_steps(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    small = await history_bytes(client, task_queue, workspace, 30)
    large = await history_bytes(client, task_queue, workspace, 300)
    per_step_small, per_step_large = small / 30, large / 300
    print(f"history bytes per step: {per_step_small:.0f} (30 steps), {per_step_large:.0f} (300)")
    # flat bytes per step: a quadratic history (state re-sent every step) would be ~10x
    assert per_step_large < 1.3 * per_step_small, (per_step_small, per_step_large)


async def test_an_activitys_input_carries_only_what_it_reads(
    client: Client, task_queue: str, workspace: Path, agent_worker: Worker
) -> None:
    """Every call is in history: its context holds the run's pinned decisions and hosts,
    not the rest of the policy, and leaves out fields at their defaults."""
    policy = Policy(allow_hosts=["10.0.0.0/8"], approval_timeout_seconds=60, plan_signoff=False)
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}
    handle = await start(
        client, task_queue, workspace, plan=plan(read), review=False, policy=policy
    )
    assert (await handle.result()).status == "succeeded"

    (scheduled,) = [
        event.activity_task_scheduled_event_attributes
        for event in (await handle.fetch_history()).events
        if event.HasField("activity_task_scheduled_event_attributes")
    ]
    context = json.loads(scheduled.input.payloads[0].data)
    assert sorted(context) == ["policy", "run_id", "step_id", "workspace"]
    assert context["policy"] == {
        "decisions": {
            "read": "allow",
            "write": "allow",
            "external": "approve",
            "destructive": "approve",
        },
        "allow_hosts": ["10.0.0.0/8"],
    }
    await assert_replays(handle)
