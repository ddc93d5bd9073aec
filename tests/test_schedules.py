"""``starter.py schedule``: agent runs on a Temporal Schedule, on the session's dev server."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from temporalio.client import Client, ScheduleHandle
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from durable_agents.cli import main
from durable_agents.contracts import RunInput
from durable_agents.contracts.visibility import AGENT_PHASE
from durable_agents.workflows.agent import AgentWorkflow
from tests.workflows.runs import plan

Outcome = tuple[int, str, str]  # exit code, stdout, stderr
Starter = Callable[..., Awaitable[Outcome]]


@pytest.fixture
def starter(
    client: Client,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Starter:
    """``starter.py ARGS`` in this process, against the session's server and this test's
    task queue; in a thread, so the worker in this test's event loop keeps serving."""
    for name in list(os.environ):
        if name.startswith(("OPENAI_", "TEMPORAL_")):
            monkeypatch.delenv(name)
    monkeypatch.setenv("TEMPORAL_ADDRESS", client.service_client.config.target_host)
    monkeypatch.setenv("AGENT_TASK_QUEUE", task_queue)
    monkeypatch.setenv("AGENT_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("AGENT_MEMORY", "0")

    async def run(*args: str) -> Outcome:
        code = await asyncio.to_thread(main, list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
async def name(client: Client) -> AsyncIterator[str]:
    """A fresh schedule id, its schedule deleted after the test if it is still there."""
    schedule_id = f"sched-{uuid.uuid4().hex[:8]}"
    yield schedule_id
    try:
        await client.get_schedule_handle(schedule_id).delete()
    except RPCError as exc:
        if exc.status != RPCStatusCode.NOT_FOUND:
            raise


async def first_run(handle: ScheduleHandle, timeout: float = 30) -> str:
    """The workflow id of the schedule's first run, once it has started one."""
    async with asyncio.timeout(timeout):
        while True:
            recent = (await handle.describe()).info.recent_actions
            if recent:
                return str(getattr(recent[0].action, "workflow_id", ""))
            await asyncio.sleep(0.1)


async def listed(starter: Starter, schedule_id: str, timeout: float = 30) -> str:
    """The ``schedule list`` line of SCHEDULE_ID, once the (eventually consistent) list
    of schedules includes it."""
    async with asyncio.timeout(timeout):
        while True:
            code, out, err = await starter("schedule", "list")
            assert code == 0, err
            for line in out.splitlines():
                if line.startswith(f"{schedule_id}  "):
                    return line
            await asyncio.sleep(0.2)


async def test_a_scheduled_plan_runs_is_listed_paused_and_deleted(
    client: Client,
    workspace: Path,
    tmp_path: Path,
    agent_worker: Worker,
    starter: Starter,
    name: str,
) -> None:
    plan_file = tmp_path / "plan.json"
    read = {"id": "read", "action": "file_read", "params": {"path": "data/sales.csv"}}
    plan_file.write_text(plan(read).model_dump_json())
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text('allow_hosts = ["10.1.2.3"]\n')
    code, out, err = await starter(
        "schedule", "create", name, "--every", "1d", "--plan", str(plan_file), "--no-review",
        "--workspace", str(workspace), "--policy", str(policy_file), "--note", "daily read",
    )  # fmt: skip
    assert code == 0, err
    assert out.startswith(f"Created schedule {name}  every 1d  active  next "), out
    assert "no run yet  note: daily read" in out and "no worker polls" not in out, out
    policy_file.write_text('allow_hosts = ["10.9.9.9"]\n')  # too late: the schedule has its own

    code, out, err = await starter("schedule", "trigger", name)
    assert (code, out) == (0, f"triggered schedule {name}: its run's id starts with {name}-\n")
    handle = client.get_schedule_handle(name)
    run_id = await first_run(handle)
    run = client.get_workflow_handle_for(AgentWorkflow.run, run_id)
    result = await run.result()
    assert run_id.startswith(f"{name}-") and result.status == "succeeded", result.error
    assert [(s.id, s.status) for s in result.steps] == [("read", "succeeded")]
    started = (await run.fetch_history()).events[0].workflow_execution_started_event_attributes
    [given] = await client.data_converter.decode(started.input.payloads, [RunInput])
    assert given.policy.allow_hosts == ["10.1.2.3"] and given.search_attributes
    assert given.goal == f"Run the plan in {plan_file}" and given.workspace == str(workspace)
    described = await run.describe()
    assert await described.static_summary() == given.goal
    assert "catalog_version" in (await described.memo())["manifest"]
    assert described.typed_search_attributes.get(AGENT_PHASE) == "succeeded"

    line = await listed(starter, name)
    upcoming = (await handle.describe()).info.next_action_times[0]
    assert line == (
        f"{name}  every 1d  active  next {upcoming:%Y-%m-%d %H:%M:%S} UTC  "
        f"last {run_id} completed (succeeded)  note: daily read"
    )

    code, out, err = await starter("schedule", "pause", name, "--note", "holiday")
    assert (code, out) == (0, f"paused schedule {name}\n"), err
    state = (await handle.describe()).schedule.state
    assert (state.paused, state.note) == (True, "holiday")
    assert (await listed(starter, name)).startswith(f"{name}  every 1d  paused  last {run_id} ")
    code, out, err = await starter("schedule", "unpause", name)
    assert (code, out) == (0, f"unpaused schedule {name}\n"), err
    assert not (await handle.describe()).schedule.state.paused
    assert f"{name}  every 1d  active  next " in await listed(starter, name)

    code, out, err = await starter("schedule", "delete", name)
    assert (code, out) == (0, f"deleted schedule {name}\n"), err
    with pytest.raises(RPCError) as gone:
        await handle.describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    code, out, err = await starter("schedule", "list")
    assert code == 0 and name not in out, out


async def test_the_server_refusing_a_schedule_is_one_line_and_exit_2(
    workspace: Path, starter: Starter, name: str
) -> None:
    for action in ("pause", "unpause", "trigger", "delete"):
        code, _, err = await starter("schedule", action, name)
        assert (code, err) == (2, f"error: no schedule {name} (see: schedule list)\n")

    create = ("schedule", "create", name, "--goal", "g", "--workspace", str(workspace))
    code, _, err = await starter(*create, "--cron", "not a cron")
    assert code == 2 and err.startswith(f"error: schedule {name}: Invalid schedule spec"), err
    assert len(err.splitlines()) == 1, err

    code, _, err = await starter(*create, "--cron", "0 7 * * *")
    assert code == 0, err
    code, _, err = await starter(*create, "--every", "1h")
    assert (code, err) == (2, f"error: schedule {name} already exists (see: schedule list)\n")


@pytest.mark.parametrize(
    ("when", "message"),
    [
        ([], 'give when to run: --cron "0 7 * * *" or --every 1h (one of them)'),
        (["--cron", "0 7 * * *", "--every", "1h"], "give when to run: --cron"),
        (["--every", "5x"], "--every 5x: give a number and a unit (s, m, h, d)"),
        (["--every", "0m"], "--every 0m: must be more than 0"),
        (["--every", "1h", "--workflow-id", "w"], "a scheduled run's id is the schedule's"),
        (["--every", "1h", "--goal", " "], 'give a goal: --goal "what to achieve"'),
    ],
)
def test_bad_schedule_input_is_one_line_and_exit_2(
    when: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Checked before any server is reached: no TEMPORAL_ADDRESS needed."""
    assert main(["schedule", "create", "nightly", *when]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"error: {message}") and len(err.strip().splitlines()) == 1, err
