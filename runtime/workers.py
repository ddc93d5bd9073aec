"""The reusable worker factory: everything an agent worker registers, and its clients.

Other code embeds agent workflows with ``build_worker`` (bring your own clients) or the
``agent_worker`` context manager (clients opened and closed for you).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from typing import Any

from temporalio.client import Client
from temporalio.worker import Worker

from durable_agents.activities.http import HttpActions
from durable_agents.activities.llm import LlmActivities
from durable_agents.activities.memory import DEFAULT_TABLE
from durable_agents.activities.sql import SqlActions
from durable_agents.runtime.custom_actions import CustomAction
from durable_agents.runtime.mcp_tools import McpServer
from durable_agents.runtime.resources import (
    ACTIVITY_THREADS,
    HTTP_CONNECT_TIMEOUT_SECONDS,
    AgentResources,
    action_activities,
    agent_activities,
    llm_activities,
)
from durable_agents.runtime.settings import Settings
from durable_agents.workflows.agent import AgentWorkflow

__all__ = [
    "ACTIVITY_THREADS",
    "HTTP_CONNECT_TIMEOUT_SECONDS",
    "action_activities",
    "agent_activities",
    "agent_worker",
    "build_worker",
    "llm_activities",
]


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
    client: Client,
    settings: Settings,
    actions: Sequence[CustomAction[Any]] | None = None,
    mcp_servers: Sequence[McpServer] | None = None,
    **worker_options: Any,
) -> AsyncIterator[Worker]:
    """Run an agent worker (and its LLM/HTTP clients) for the duration of the block.

    Two workers share the clients: the main one (workflows and every activity) on
    ``settings.task_queue``, and one for LLM calls on ``settings.llm_queue`` with its own
    concurrency limit; runs started with that ``llm_task_queue`` send LLM calls there.
    Activity failures leave both scrubbed of the worker's secrets and URL credentials.
    Logs a warning when DATABASE_URL is a privileged role (the worker starts anyway).
    ``actions``: custom actions (default: those ``AGENT_ACTIONS`` names); ``mcp_servers``:
    MCP servers (default: those ``AGENT_MCP_CONFIG`` describes).
    """
    async with AgentResources(settings, actions, mcp_servers) as resources:
        limits: dict[str, Any] = {
            "max_concurrent_activities": settings.max_activities,
            "max_concurrent_workflow_tasks": settings.max_workflow_tasks,
            "interceptors": resources.interceptors,
        }
        worker = Worker(
            client,
            task_queue=settings.task_queue,
            workflows=[AgentWorkflow],
            activities=resources.activities,
            activity_executor=resources.pool,
            **(limits | worker_options),
        )
        llm_worker = Worker(
            client,
            task_queue=settings.llm_queue,
            activities=resources.llm_activities,
            max_concurrent_activities=settings.max_llm_calls,
            interceptors=resources.interceptors,
        )
        async with worker, llm_worker:
            yield worker
