"""kill -9 of the worker process mid-run: a new worker finishes the run from history, and
no side effect that had finished happens twice (counted at the HTTP server and in files)."""

from __future__ import annotations

import asyncio
import json
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from temporalio.client import Client, WorkflowHandle

from durable_agents.contracts import ApprovalDecision, Policy, RunResult
from durable_agents.workflows.agent import AgentWorkflow
from tests.local_http import LocalHttp
from tests.processes import spawn_worker
from tests.scripted_llm import Hold, ScriptedLlm
from tests.test_starter import clean_env
from tests.workflows.runs import DEMO_PLAN, activity_types, pending_approval, plan, start


@asynccontextmanager
async def worker_process(
    client: Client, task_queue: str, llm_url: str | None = None
) -> AsyncIterator[asyncio.subprocess.Process]:
    """worker.py as its own process (killed with SIGKILL by the test, or stopped here)."""
    env = clean_env(
        TEMPORAL_ADDRESS=client.service_client.config.target_host, AGENT_TASK_QUEUE=task_queue
    )
    if llm_url:
        env |= {"OPENAI_BASE_URL": llm_url, "OPENAI_API_KEY": "sk-chaos"}
    process = await spawn_worker(env)
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


Handle = WorkflowHandle[Any, RunResult]
Moment = Callable[[Handle], Awaitable[object]]


async def through_a_kill(
    client: Client,
    task_queue: str,
    begin: Callable[[], Awaitable[Handle]],
    moment: Moment,
    after_kill: Moment,
    llm_url: str | None = None,
) -> tuple[Handle, RunResult]:
    """Start a run on a worker.py, SIGKILL that process at ``moment``, do ``after_kill``
    (release a call, a person's decision), then let a new worker.py finish the run."""
    async with worker_process(client, task_queue, llm_url) as first:
        handle = await begin()
        await moment(handle)
        first.send_signal(signal.SIGKILL)
        await first.wait()
    await after_kill(handle)
    async with worker_process(client, task_queue, llm_url):
        async with asyncio.timeout(60):  # a lost call first times out on its heartbeat
            return handle, await handle.result()


class World:
    """The outside world of the run: a POST endpoint that counts, and a slow GET."""

    def __init__(self) -> None:
        self.posts = 0
        self.slow_started = threading.Event()
        self.release = threading.Event()
        self.server = LocalHttp({"/orders": self._order, "/slow": self._slow})

    def _order(self, handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.posts += 1
        return 201, {"Content-Type": "application/json"}, json.dumps({"id": self.posts}).encode()

    def _slow(self, handler: object, body: bytes) -> tuple[int, dict[str, str], bytes]:
        self.slow_started.set()
        self.release.wait(timeout=60)
        return 200, {"Content-Type": "application/json"}, b'{"slow": "done"}'

    async def slow_call_in_flight(self, handle: Handle) -> None:
        assert await asyncio.to_thread(self.slow_started.wait, 30)

    async def let_slow_calls_answer(self, handle: Handle) -> None:
        self.release.set()

    def plan_steps(self, approve_write: bool) -> list[dict[str, object]]:
        steps: list[dict[str, object]] = [
            {
                "id": "order",
                "action": "http_request",
                "params": {"method": "POST", "url": self.server.url("/orders")},
            },
            {
                "id": "slow",
                "action": "http_request",
                "depends_on": ["order"],
                "params": {"url": self.server.url("/slow")},
            },
            {
                "id": "note",
                "action": "file_append",
                "depends_on": ["slow"],
                "params": {"path": "log.txt", "content": "${steps.order.output.body.id}\n"},
            },
        ]
        if approve_write:
            steps.append(
                {
                    "id": "cleanup",
                    "action": "file_delete",
                    "depends_on": ["note"],
                    "params": {"path": "old.txt"},
                }
            )
        return steps


POLICY = Policy(allow_hosts=["127.0.0.1"], decisions={"external": "allow"})


async def test_killing_the_worker_during_a_call_loses_nothing_and_repeats_nothing(
    client: Client, task_queue: str, workspace: Path
) -> None:
    world = World()

    async def begin() -> Handle:
        steps = plan(*world.plan_steps(False))
        return await start(client, task_queue, workspace, plan=steps, review=False, policy=POLICY)

    try:  # killed mid-call: the slow GET is in flight; the retried one answers at once
        _, result = await through_a_kill(
            client, task_queue, begin, world.slow_call_in_flight, world.let_slow_calls_answer
        )
    finally:
        world.release.set()
        world.server.stop()
    assert result.status == "succeeded"
    assert world.posts == 1  # the POST finished before the kill: it is not sent again
    assert (workspace / "log.txt").read_text() == "1\n"
    slow = next(s for s in result.steps if s.id == "slow")
    assert slow.attempts >= 2


async def test_killing_the_worker_while_a_person_decides(
    client: Client, task_queue: str, workspace: Path
) -> None:
    world = World()
    world.release.set()
    (workspace / "old.txt").write_text("old")

    async def begin() -> Handle:
        steps = plan(*world.plan_steps(True))
        return await start(client, task_queue, workspace, plan=steps, review=False, policy=POLICY)

    async def waiting(handle: Handle) -> None:
        await pending_approval(handle, "cleanup", timeout=30)

    async def approve(handle: Handle) -> None:
        await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="cleanup"))

    try:
        _, result = await through_a_kill(client, task_queue, begin, waiting, approve)
    finally:
        world.server.stop()
    assert result.status == "succeeded" and world.posts == 1
    assert (workspace / "log.txt").read_text() == "1\n" and not (workspace / "old.txt").exists()
    assert [a.outcome for a in result.approvals] == ["approved"]


@pytest.mark.parametrize("moment", ["plan", "review"])
async def test_killing_the_worker_during_an_llm_call(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm, moment: str
) -> None:
    hold = Hold(threading.Event(), "")
    plan_json = DEMO_PLAN.model_dump_json()
    review_json = json.dumps({"answer": "North 643", "verdict": "done"})
    if moment == "plan":
        scripted_llm.queue("plan", Hold(hold.release, plan_json), plan_json)
        scripted_llm.queue("review", review_json)
    else:
        scripted_llm.queue("plan", plan_json)
        scripted_llm.queue("review", Hold(hold.release, review_json), review_json)

    async def thinking(handle: Handle) -> None:  # the model has the call and holds it
        async with asyncio.timeout(30):
            while moment not in scripted_llm.kinds():
                await asyncio.sleep(0.05)

    async def release(handle: Handle) -> None:
        hold.release.set()

    try:
        handle, result = await through_a_kill(
            client,
            task_queue,
            lambda: start(client, task_queue, workspace),
            thinking,
            release,
            scripted_llm.base_url,
        )
    finally:
        hold.release.set()
    assert result.status == "succeeded" and result.answer == "North 643"
    assert scripted_llm.kinds().count(moment) == 2  # the lost call, then its retry
    assert (await activity_types(handle)).count("file_write") == 1  # written once


async def test_killing_the_worker_during_a_parallel_batch(
    client: Client, task_queue: str, workspace: Path
) -> None:
    world = World()
    slow = [
        {
            "id": f"slow{n}",
            "action": "http_request",
            "depends_on": ["order"],
            "params": {"url": world.server.url(f"/slow?n={n}")},
        }
        for n in range(3)
    ]
    steps = plan(world.plan_steps(False)[0], *slow)

    async def begin() -> Handle:
        return await start(client, task_queue, workspace, plan=steps, review=False, policy=POLICY)

    try:  # killed while the three GETs run in parallel
        _, result = await through_a_kill(
            client, task_queue, begin, world.slow_call_in_flight, world.let_slow_calls_answer
        )
    finally:
        world.release.set()
        world.server.stop()
    assert result.status == "succeeded" and world.posts == 1
    assert [s.status.value for s in result.steps] == ["succeeded"] * 4
