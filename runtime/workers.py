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
from activities.sql import SqlActions
from activities.transform import transform
from runtime.llm_provider import LlmProvider
from runtime.settings import Settings
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


def agent_activities(
    llm: LlmActivities, http: HttpActions, sql: SqlActions
) -> Sequence[Callable[..., Any]]:
    """Every activity the catalog and the workflow call, under its stable name."""
    llm_calls: list[Callable[..., Any]] = [llm.plan, llm.review, llm.recover, llm.agent_turn]
    return [*llm_calls, llm.llm, *action_activities(http, sql)]


def build_worker(
    client: Client,
    *,
    task_queue: str,
    llm: LlmActivities,
    http: HttpActions,
    sql: SqlActions,
    activity_executor: ThreadPoolExecutor,
    **worker_options: Any,
) -> Worker:
    """A worker for ``AgentWorkflow`` and its activities; options pass to ``Worker``."""
    return Worker(
        client,
        task_queue=task_queue,
        workflows=[AgentWorkflow],
        activities=agent_activities(llm, http, sql),
        activity_executor=activity_executor,
        **worker_options,
    )


@asynccontextmanager
async def agent_worker(
    client: Client, settings: Settings, **worker_options: Any
) -> AsyncIterator[Worker]:
    """Run an agent worker (and its LLM/HTTP clients) for the duration of the block."""
    provider = LlmProvider(settings)
    provider.check()
    sql = SqlActions(settings.database_url)
    timeout = httpx.Timeout(30.0, connect=HTTP_CONNECT_TIMEOUT_SECONDS)
    try:
        async with httpx.AsyncClient(timeout=timeout, follow_redirects=True) as http_client:
            with ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="activity") as pool:
                worker = build_worker(
                    client,
                    task_queue=settings.task_queue,
                    llm=LlmActivities(provider),
                    http=HttpActions(http_client),
                    sql=sql,
                    activity_executor=pool,
                    **worker_options,
                )
                async with worker:
                    yield worker
    finally:
        await provider.aclose()
        await sql.aclose()
