"""LLM faults at a scripted provider, through the real client, activities and workflow:
429 with Retry-After, 500s, malformed and truncated JSON still end in a finished run;
a 401 fails the run at once with a message that says what to fix."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
from opentelemetry.trace import Tracer
from temporalio.client import Client

from durable_agents.activities.http import HttpActions
from durable_agents.activities.llm import LlmActivities
from durable_agents.activities.sql import SqlActions
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.workers import build_worker
from tests.scripted_llm import Fault, ScriptedLlm
from tests.workflows.runs import DEMO_PLAN, activity_types, run_failure, start


@asynccontextmanager
async def real_llm_worker(
    client: Client, task_queue: str, base_url: str, tracer: Tracer | None = None
) -> AsyncIterator[None]:
    """A worker with the real LLM activities, talking to the scripted provider."""
    provider = LlmProvider(Settings(openai_base_url=base_url, openai_api_key="sk-x", model="m"))
    try:
        async with httpx.AsyncClient() as http:
            with ThreadPoolExecutor(2) as pool:
                async with build_worker(
                    client,
                    task_queue=task_queue,
                    llm=LlmActivities(provider, tracer),
                    http=HttpActions(http),
                    sql=SqlActions(None),
                    activity_executor=pool,
                ):
                    yield
    finally:
        await provider.aclose()


async def test_a_run_gets_through_throttling_errors_and_bad_json(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    scripted_llm.queue(
        "plan",
        Fault(429, headers={"Retry-After": "1"}),
        Fault(500),
        '{"steps": [{"id": "read", "title": ',  # truncated: goes back as a repair
        DEMO_PLAN.model_dump(mode="json"),
    )
    scripted_llm.queue(
        "review",
        '{"answer": "North 643", "verdict": "maybe"}',  # malformed verdict: retried
        {"answer": "North 643", "verdict": "done"},
    )
    async with real_llm_worker(client, task_queue, scripted_llm.base_url):
        handle = await start(client, task_queue, workspace)
        result = await handle.result()

    assert result.status == "succeeded" and result.answer == "North 643"
    assert scripted_llm.kinds() == ["plan"] * 4 + ["review"] * 2
    assert await activity_types(handle) == [
        "look",
        "plan",
        "plan",
        "file_read",
        "transform",
        "file_write",
        "review",
    ]
    assert result.plans[0].reason == "initial plan" and len(result.plans) == 1


async def test_a_rejected_key_fails_the_run_at_once_and_says_so(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    scripted_llm.queue("plan", Fault(401, '{"error": {"message": "Incorrect API key"}}'))
    async with real_llm_worker(client, task_queue, scripted_llm.base_url):
        handle = await start(client, task_queue, workspace)
        failure = await run_failure(handle)

    assert scripted_llm.kinds() == ["plan"]  # no retry of a 401
    assert failure.type == "LlmFailed"
    assert str(failure.message).startswith("the plan call to the LLM failed: ")
    assert "401" in str(failure.message) and "Incorrect API key" in str(failure.message)


async def test_runs_complete_when_a_third_of_llm_calls_fail(
    client: Client, task_queue: str, workspace: Path, scripted_llm: ScriptedLlm
) -> None:
    scripted_llm.answer_always("plan", DEMO_PLAN.model_dump(mode="json"))
    scripted_llm.answer_always("review", {"answer": "North 643", "verdict": "done"})
    scripted_llm.inject_faults(0.3, seed=3)
    async with real_llm_worker(client, task_queue, scripted_llm.base_url):
        handles = [await start(client, task_queue, workspace) for _ in range(6)]
        results = await asyncio.gather(*(handle.result() for handle in handles))

    assert [r.status for r in results] == ["succeeded"] * 6
    assert len(scripted_llm.faults_sent) >= 3  # seeded: about 30 % of ~18 calls
    assert {"429", "500", '{"answer": "cut'} >= set(scripted_llm.faults_sent)
