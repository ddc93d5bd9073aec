"""The worker factory: every activity registered, LLM calls on their own task queue and
concurrency limit."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.worker import WorkerConfig

from durable_agents.contracts import CATALOG, StepStatus
from durable_agents.runtime.plugin import AgentPlugin
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.workers import agent_worker
from durable_agents.workflows.agent import AgentWorkflow
from tests.scripted_llm import Hold, ScriptedLlm
from tests.workflows.runs import activity_types, plan, start

# What the workflow itself calls by name, next to the catalog's actions.
WORKFLOW_ACTIVITIES = {
    *("plan", "review", "recover", "agent_turn", "recall", "remember", "inspect", "look")
}


def activity_names(functions: Sequence[Callable[..., Any]]) -> set[str]:
    return {activity._Definition.must_from_callable(fn).name for fn in functions}


async def test_every_activity_the_workflow_calls_is_registered_by_worker_and_plugin(
    client: Client, task_queue: str, scripted_llm: ScriptedLlm
) -> None:
    in_workflow = {spec.name for spec in CATALOG.values() if spec.runs_in_workflow}
    assert {"wait", "wait_for_event", "sub_goal", "agent"} <= in_workflow  # timers, children
    wanted = {spec.name for spec in CATALOG.values() if not spec.runs_in_workflow}
    wanted |= WORKFLOW_ACTIVITIES
    settings = Settings(
        openai_base_url=scripted_llm.base_url,
        model="m",
        task_queue=task_queue,
        max_activities=8,  # no more than the worker's activity threads
    )

    async with agent_worker(client, settings) as worker:
        by_worker = activity_names(worker.config()["activities"])
    async with AgentPlugin(settings) as agents:
        config = agents.configure_worker(WorkerConfig(client=client, task_queue=task_queue))
        by_plugin = activity_names(config["activities"])

    assert not wanted - by_worker, f"agent_worker misses {sorted(wanted - by_worker)}"
    assert not wanted - by_plugin, f"AgentPlugin misses {sorted(wanted - by_plugin)}"
    assert not in_workflow & (by_worker | by_plugin)  # those never reach a worker


async def test_a_slow_model_does_not_take_the_slots_of_other_work(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    hold = Hold(threading.Event(), "a sentence")
    scripted_llm.queue("llm", hold)
    settings = Settings(
        openai_base_url=scripted_llm.base_url,
        model="m",
        task_queue=task_queue,
        max_activities=1,  # one slot for everything but LLM calls
        max_llm_calls=1,
    )
    given = plan(
        {"id": "think", "action": "llm", "params": {"prompt": "take your time"}},
        {"id": "ls", "action": "file_list", "params": {"path": "data"}},
    )
    try:
        async with agent_worker(client, settings):
            handle = await start(
                client,
                task_queue,
                workspace,
                plan=given,
                review=False,
                llm_task_queue=settings.llm_queue,
            )
            async with asyncio.timeout(20):
                while True:
                    states = {
                        s.id: s.status for s in (await handle.query(AgentWorkflow.status)).steps
                    }
                    if states["ls"] is StepStatus.SUCCEEDED:
                        break
                    await asyncio.sleep(0.05)
            assert states["think"] is StepStatus.RUNNING  # the model is still thinking
            hold.release.set()
            result = await handle.result()
    finally:
        hold.release.set()
    assert result.steps[0].output == "a sentence"
    assert await activity_types(handle) == ["llm", "file_list"]
    history = await handle.fetch_history()
    queues = [
        e.activity_task_scheduled_event_attributes.task_queue.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert queues == [f"{task_queue}-llm", task_queue]


def test_worker_limits_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {"AGENT_TASK_QUEUE": "q", "AGENT_MAX_LLM_CALLS": "2", "AGENT_MAX_ACTIVITIES": "50"}
    )
    assert (settings.llm_queue, settings.max_llm_calls, settings.max_activities) == ("q-llm", 2, 50)
    assert Settings.from_env({"AGENT_LLM_TASK_QUEUE": "gpu"}).llm_queue == "gpu"
    with pytest.raises(ValueError, match="AGENT_MAX_LLM_CALLS must be a whole number of at "):
        Settings.from_env({"AGENT_MAX_LLM_CALLS": "0"})
