"""The reusable worker factory: everything an agent worker registers, and its clients.

Other code embeds agent workflows with ``build_worker`` (bring your own clients) or the
``agent_worker`` context manager (clients opened and closed for you).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

import httpx
from temporalio.client import Client
from temporalio.worker import Worker

from activities.artifacts import ArtifactInterceptor, ArtifactStore
from activities.files import (
    file_append,
    file_delete,
    file_list,
    file_move,
    file_read,
    file_write,
)
from activities.http import HttpActions
from activities.llm import LlmActivities
from activities.memory import DEFAULT_TABLE, MemoryActivities
from activities.redaction import RedactingInterceptor
from activities.sql import SqlActions
from activities.transform import transform
from runtime.llm_provider import LlmProvider
from runtime.secrets import redactor
from runtime.settings import Settings
from runtime.sql_role import privileged_role_warning
from workflows.agent import AgentWorkflow

ACTIVITY_THREADS = 8  # for plain (CPU-bound) activities such as transform
HTTP_CONNECT_TIMEOUT_SECONDS = 10.0


def action_activities(http: HttpActions, sql: SqlActions) -> list[Callable[..., Any]]:
    """The catalog's actions (everything but the LLM), under their stable names."""
    return [
        http.http_request,
        sql.sql_query,
        file_read,
        file_write,
        file_append,
        file_delete,
        file_move,
        file_list,
        transform,
    ]


def llm_activities(llm: LlmActivities) -> list[Callable[..., Any]]:
    """The activities that call the LLM (what an LLM task queue serves)."""
    return [llm.plan, llm.review, llm.recover, llm.agent_turn, llm.llm]


def agent_activities(
    llm: LlmActivities, http: HttpActions, sql: SqlActions, memory_table: str = DEFAULT_TABLE
) -> Sequence[Callable[..., Any]]:
    """Every activity the catalog and the workflow call, under its stable name."""
    memory = MemoryActivities(sql, memory_table)
    return [*llm_activities(llm), *action_activities(http, sql), memory.remember, memory.recall]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    llm: LlmActivities,
    http: HttpActions,
    sql: SqlActions,
    activity_executor: ThreadPoolExecutor,
    memory_table: str = DEFAULT_TABLE,
    **worker_options: Any,
) -> Worker:
    """A worker for ``AgentWorkflow`` and its activities; options pass to ``Worker``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[AgentWorkflow],
        activities=agent_activities(llm, http, sql, memory_table),
        activity_executor=activity_executor,
        **worker_options,
    )


@asynccontextmanager
async def agent_worker(
    client: Client, settings: Settings, **worker_options: Any
) -> AsyncIterator[Worker]:
    """Run an agent worker (and its LLM/HTTP clients) for the duration of the block.

    Two workers share the clients: the main one (workflows and every activity) on
    ``settings.task_queue``, and one for LLM calls on ``settings.llm_queue`` with its own
    concurrency limit; runs started with that ``llm_task_queue`` send LLM calls there.
    Activity failures leave both scrubbed of the worker's secrets and URL credentials.
    """
    provider = LlmProvider(settings)
    provider.check()
    await privileged_role_warning(settings.database_url)  # logs; never stops the worker
    sql = SqlActions(settings.database_url)
    timeout = httpx.Timeout(30.0, connect=HTTP_CONNECT_TIMEOUT_SECONDS)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as http_client:
            with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="activity") as pool:
                llm = LlmActivities(provider)
                artifacts = ArtifactInterceptor(
                    ArtifactStore(settings.artifacts, settings.artifact_threshold)
                )
                redacting = RedactingInterceptor(redactor(settings=settings))
                limits = {
                    "max_concurrent_activities": settings.max_activities,
                    "max_concurrent_workflow_tasks": settings.max_workflow_tasks,
                    "interceptors": [redacting, artifacts],
                }
                worker = build_worker(
                    client,
                    task_queue=settings.task_queue,
                    llm=llm,
                    http=HttpActions(http_client),
                    sql=sql,
                    activity_executor=pool,
                    memory_table=settings.memory_table,
                    **(limits | worker_options),
                )
                llm_worker = Worker(
                    client,
                    task_queue=settings.llm_queue,
                    activities=llm_activities(llm),
                    max_concurrent_activities=settings.max_llm_calls,
                    interceptors=[redacting, artifacts],
                )
                async with worker, llm_worker:
                    yield worker
    finally:
        await provider.aclose()
        await sql.aclose()
