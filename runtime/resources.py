"""What an agent worker's activities share: the LLM provider, one HTTP client, one SQL pool,
a thread pool for the sync activities, and the interceptors that scrub failures and move
big outputs to the artifact store.

``AgentResources`` builds them once for ``agent_worker`` and ``AgentPlugin`` alike, and
closes them once. Building does no I/O (a plugin builds it in ``__init__``); ``open()``
logs the start-up warning for a privileged SQL role.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AsyncExitStack
from types import TracebackType
from typing import Any, Self

import httpx
from temporalio.worker import Interceptor

from durable_agents.activities.artifacts import ArtifactInterceptor, ArtifactStore
from durable_agents.activities.files import (
    file_append,
    file_delete,
    file_list,
    file_move,
    file_read,
    file_write,
)
from durable_agents.activities.http import HttpActions
from durable_agents.activities.inspect import inspect
from durable_agents.activities.llm import LlmActivities
from durable_agents.activities.look import LookActivities
from durable_agents.activities.memory import DEFAULT_TABLE, MemoryActivities
from durable_agents.activities.records import records, set_keys
from durable_agents.activities.redaction import RedactingInterceptor
from durable_agents.activities.sql import SqlActions
from durable_agents.activities.transform import transform
from durable_agents.runtime.custom_actions import CustomAction, Toolbox, load_actions
from durable_agents.runtime.llm_provider import LlmProvider
from durable_agents.runtime.mcp_tools import McpServer, McpTools, load_servers
from durable_agents.runtime.secrets import redactor
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.sql_role import privileged_role_warning

ACTIVITY_THREADS = 8  # for plain (CPU-bound) activities such as transform and records
HTTP_TIMEOUT_SECONDS = 30.0
HTTP_CONNECT_TIMEOUT_SECONDS = 10.0


def action_activities(http: HttpActions, sql: SqlActions) -> list[Callable[..., Any]]:
    """The catalog's actions (everything but the LLM), looking at the goal's inputs
    before planning and reading deliverables back, under their stable names: what runs
    next to the workspace."""
    return [
        inspect,
        LookActivities(sql).look,
        http.http_request,
        sql.sql_query,
        file_read,
        file_write,
        file_append,
        file_delete,
        file_move,
        file_list,
        transform,
        records,
        set_keys,
    ]


def llm_activities(llm: LlmActivities) -> list[Callable[..., Any]]:
    """The activities that call the LLM (what an LLM task queue serves)."""
    return [llm.plan, llm.review, llm.recover, llm.agent_turn, llm.llm]


def agent_activities(
    llm: LlmActivities,
    http: HttpActions,
    sql: SqlActions,
    memory_table: str = DEFAULT_TABLE,
    toolbox: Toolbox | None = None,
) -> Sequence[Callable[..., Any]]:
    """Every activity the catalog and the workflow call, under its stable name, with the
    toolbox's (its listing, even when empty: runs ask every worker for it)."""
    memory = MemoryActivities(sql, memory_table)
    return [
        *llm_activities(llm),
        *action_activities(http, sql),
        memory.remember,
        memory.recall,
        *(toolbox or Toolbox()).activities,
    ]


class AgentResources:
    """The shared clients, thread pool, activities and interceptors of one agent worker.

    ``activities`` is everything the workflow and the catalog call, ``llm_activities``
    what an LLM task queue serves, ``interceptors`` go on every worker that runs them,
    ``pool`` is the ``activity_executor``. ``actions`` are custom actions (default: those
    ``AGENT_ACTIONS`` names), ``mcp_servers`` MCP servers (default: those of
    ``AGENT_MCP_CONFIG``). Raises ``OfflineModelUnavailable`` when no LLM provider can be
    reached, ``CustomActionProblem`` / ``McpConfigProblem`` for tools it cannot register.
    """

    def __init__(
        self,
        settings: Settings,
        actions: Sequence[CustomAction[Any]] | None = None,
        mcp_servers: Sequence[McpServer] | None = None,
    ) -> None:
        self.settings = settings
        servers = load_servers(settings.mcp_config) if mcp_servers is None else mcp_servers
        self.toolbox = Toolbox(
            load_actions(settings.actions) if actions is None else actions, McpTools(servers)
        )
        provider = LlmProvider(settings)
        provider.check()
        self.interceptors: list[Interceptor] = [
            RedactingInterceptor(redactor(settings=settings)),
            ArtifactInterceptor(ArtifactStore(settings.artifacts, settings.artifact_threshold)),
        ]
        sql = SqlActions(settings.database_url)  # pools and clients connect on first use
        timeout = httpx.Timeout(HTTP_TIMEOUT_SECONDS, connect=HTTP_CONNECT_TIMEOUT_SECONDS)
        http_client = httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        llm = LlmActivities(provider)
        self.llm_activities = llm_activities(llm)
        self.activities = agent_activities(
            llm, HttpActions(http_client), sql, settings.memory_table, self.toolbox
        )
        # As many threads as activity slots (started only when used): a smaller pool made
        # the SDK warn on every start, and a sync activity could wait for a thread while
        # its timeout ran.
        threads = max(ACTIVITY_THREADS, settings.max_activities)
        self.pool = ThreadPoolExecutor(threads, thread_name_prefix="agent-activity")
        # Closed in reverse order, each even if another fails; a second close does nothing.
        self._closing = AsyncExitStack()
        self._closing.push_async_callback(asyncio.to_thread, self.pool.shutdown)
        self._closing.push_async_callback(provider.aclose)
        self._closing.push_async_callback(sql.aclose)
        self._closing.push_async_callback(http_client.aclose)
        self._closing.push_async_callback(self.toolbox.aclose)

    async def open(self) -> Self:
        """Log a warning when DATABASE_URL is a privileged role (never stops the worker)."""
        await privileged_role_warning(self.settings.database_url)
        return self

    async def aclose(self) -> None:
        """Close the HTTP client, the SQL pool and the LLM client; wait for the threads."""
        await self._closing.aclose()

    async def __aenter__(self) -> Self:
        try:
            return await self.open()
        except BaseException:  # cancelled while checking: nothing else will close them
            await self.aclose()
            raise

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()
