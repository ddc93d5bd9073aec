"""``AgentPlugin``: add agent runs to an existing Temporal client and its workers.

    async with AgentPlugin() as agents:
        client = await Client.connect("temporal.internal:7233", plugins=[agents])
        worker = Worker(client, task_queue="my-queue", workflows=[MyWorkflow])

Every worker made from that client also runs ``AgentWorkflow`` and its activities on
its own task queue, next to its own workflows. The plugin brings the pydantic data
converter (with the payload codec when AGENT_PAYLOAD_KEY is set; a codec the client
already has is kept), the sandbox pass-throughs, a thread pool for the sync activities
when the worker has none, the LLM, HTTP and SQL clients, closed on exit, and activity
failures scrubbed of the worker's secrets and URL credentials. Entering it logs a warning
when DATABASE_URL is a privileged role, as ``agent_worker`` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from types import TracebackType
from typing import Any

from temporalio.converter import DataConverter
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from durable_agents.runtime.codec import codec_from_env, data_converter
from durable_agents.runtime.custom_actions import CustomAction
from durable_agents.runtime.mcp_tools import McpServer
from durable_agents.runtime.resources import AgentResources
from durable_agents.runtime.settings import Settings
from durable_agents.workflows.agent import AgentWorkflow

PLUGIN_NAME = "durable-agents.AgentPlugin"
# Imported by workflow code; passed through so the sandbox does not re-import them per run.
PASSTHROUGH_MODULES = ("pydantic", "pydantic_core", "jmespath", "pglast")


class AgentPlugin(SimplePlugin):
    """Registers the agent workflow, its activities, converter and sandbox settings."""

    def __init__(
        self,
        settings: Settings | None = None,
        *,
        actions: Sequence[CustomAction[Any]] | None = None,
        mcp_servers: Sequence[McpServer] | None = None,
    ) -> None:
        """``actions``: custom actions runs may use (default: those AGENT_ACTIONS names);
        ``mcp_servers``: MCP servers whose tools they may use (default: AGENT_MCP_CONFIG's)."""
        self._codec = codec_from_env()
        self._resources = AgentResources(settings or Settings.from_env(), actions, mcp_servers)
        super().__init__(
            PLUGIN_NAME,
            data_converter=self._converter,
            workflows=[AgentWorkflow],
            activities=self._resources.activities,
            workflow_runner=_with_passthrough,
            interceptors=self._resources.interceptors,
        )

    def _converter(self, existing: DataConverter | None) -> DataConverter:
        codec = existing.payload_codec if existing and existing.payload_codec else self._codec
        return data_converter(codec)

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        if config.get("activity_executor") is None:  # transform is a sync activity
            config["activity_executor"] = self._resources.pool
        return config

    async def aclose(self) -> None:
        """Close the HTTP client, the SQL pool and the LLM client; stop the thread pool."""
        await self._resources.aclose()

    async def __aenter__(self) -> AgentPlugin:
        await self._resources.open()  # the privileged SQL role warning; never raises
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        await self.aclose()


def _with_passthrough(existing: WorkflowRunner | None) -> WorkflowRunner:
    runner = existing or SandboxedWorkflowRunner()
    if not isinstance(runner, SandboxedWorkflowRunner):
        return runner  # an unsandboxed runner needs no pass-throughs
    restrictions = runner.restrictions.with_passthrough_modules(*PASSTHROUGH_MODULES)
    return dataclasses.replace(runner, restrictions=restrictions)
