"""kill -9 of the worker process mid-run: a new worker finishes the run from history, and
no side effect that had finished happens twice (counted at the HTTP server and in files)."""

from __future__ import annotations

import asyncio
import json
import signal
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest
from temporalio.client import Client

from contracts import ApprovalDecision, Policy
from tests.local_http import LocalHttp
from tests.scripted_llm import Hold, ScriptedLlm
from tests.test_starter import REPO, clean_env
from tests.workflows.runs import DEMO_PLAN, activity_types, pending_approval, plan, start
from workflows.agent import AgentWorkflow


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
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "worker.py"),
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )
    try:
        yield process
    finally:
        if process.returncode is None:
            process.terminate()
        await process.wait()


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
    try:
        async with worker_process(client, task_queue) as first:
            handle = await start(
                client,
                task_queue,
                workspace,
                plan=plan(*world.plan_steps(False)),
                review=False,
                policy=POLICY,
            )
            assert await asyncio.to_thread(world.slow_started.wait, 30)
            first.send_signal(signal.SIGKILL)  # mid-call: the slow GET is in flight
            await first.wait()
        world.release.set()  # the retried GET (on the new worker) answers at once
        async with worker_process(client, task_queue):
            async with asyncio.timeout(60):  # the old attempt times out on its heartbeat
                result = await handle.result()
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
    try:
        async with worker_process(client, task_queue) as first:
            handle = await start(
                client,
                task_queue,
                workspace,
                plan=plan(*world.plan_steps(True)),
                review=False,
                policy=POLICY,
            )
            await pending_approval(handle, "cleanup", timeout=30)
            first.send_signal(signal.SIGKILL)
            await first.wait()
        await handle.signal(AgentWorkflow.approve, ApprovalDecision(step_id="cleanup"))
        async with worker_process(client, task_queue):
            async with asyncio.timeout(60):
                result = await handle.result()
    finally:
        world.server.stop()
    assert result.status == "succeeded" and world.posts == 1
    assert (workspace / "log.txt").read_text() == "1\n" and not (workspace / "old.txt").exists()
    assert [a.outcome for a in result.approvals] == ["approved"]


async def kinds_seen(llm: ScriptedLlm, kind: str) -> None:
    async with asyncio.timeout(30):
        while kind not in llm.kinds():
            await asyncio.sleep(0.05)


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
    try:
        async with worker_process(client, task_queue, scripted_llm.base_url) as first:
            handle = await start(client, task_queue, workspace)
            await kinds_seen(scripted_llm, moment)
            first.send_signal(signal.SIGKILL)  # while the model is "thinking"
            await first.wait()
        hold.release.set()
        async with worker_process(client, task_queue, scripted_llm.base_url):
            async with asyncio.timeout(60):  # the lost call times out on its heartbeat
                result = await handle.result()
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
    steps = [world.plan_steps(False)[0], *slow]
    try:
        async with worker_process(client, task_queue) as first:
            handle = await start(
                client, task_queue, workspace, plan=plan(*steps), review=False, policy=POLICY
            )
            assert await asyncio.to_thread(world.slow_started.wait, 30)
            first.send_signal(signal.SIGKILL)  # the three GETs run in parallel now
            await first.wait()
        world.release.set()
        async with worker_process(client, task_queue):
            async with asyncio.timeout(60):
                result = await handle.result()
    finally:
        world.release.set()
        world.server.stop()
    assert result.status == "succeeded" and world.posts == 1
    assert [s.status.value for s in result.steps] == ["succeeded"] * 4
