"""The worker factory: LLM calls on their own task queue and concurrency limit."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path

import pytest
from temporalio.client import Client

from contracts import StepStatus
from runtime.settings import Settings
from runtime.workers import agent_worker
from tests.scripted_llm import Hold, ScriptedLlm
from tests.workflows.runs import activity_types, plan, start
from workflows.agent import AgentWorkflow


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
