"""``AgentPlugin``: add agent runs to an existing Temporal client and its workers.

    async with AgentPlugin() as agents:
        client = await Client.connect("temporal.internal:7233", plugins=[agents])
        worker = Worker(client, task_queue="my-queue", workflows=[MyWorkflow])

Every worker made from that client also runs ``AgentWorkflow`` and its activities on
its own task queue, next to its own workflows. The plugin brings the pydantic data
converter (with the payload codec when AGENT_PAYLOAD_KEY is set; a codec the client
already has is kept), the sandbox pass-throughs, a thread pool for the sync activities
when the worker has none, the LLM, HTTP and SQL clients, closed on exit, and activity
failures scrubbed of the worker's secrets and URL credentials.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from types import TracebackType

import httpx
from temporalio.converter import DataConverter
from temporalio.plugin import SimplePlugin
from temporalio.worker import WorkerConfig, WorkflowRunner
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner

from activities.artifacts import ArtifactInterceptor, ArtifactStore
from activities.http import HttpActions
from activities.llm import LlmActivities
from activities.redaction import RedactingInterceptor
from activities.sql import SqlActions
from runtime.codec import codec_from_env, data_converter
from runtime.llm_provider import LlmProvider
from runtime.secrets import redactor
from runtime.settings import Settings
from runtime.workers import (
    ACTIVITY_THREADS,
    HTTP_CONNECT_TIMEOUT_SECONDS,
    agent_activities,
)
from workflows.agent import AgentWorkflow

PLUGIN_NAME = "durable-agents.AgentPlugin"
# Imported by workflow code; passed through so the sandbox does not re-import them per run.
PASSTHROUGH_MODULES = ("pydantic", "pydantic_core", "jmespath", "pglast")


class AgentPlugin(SimplePlugin):
    """Registers the agent workflow, its activities, converter and sandbox settings."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings or Settings.from_env()
        self._provider = LlmProvider(self._settings)
        self._provider.check()
        self._codec = codec_from_env()
        timeout = httpx.Timeout(30.0, connect=HTTP_CONNECT_TIMEOUT_SECONDS)
        self._http = httpx.AsyncClient(timeout=timeout, follow_redirects=True)
        self._sql = SqlActions(self._settings.database_url)
        self._pool = ThreadPoolExecutor(ACTIVITY_THREADS, thread_name_prefix="agent-activity")
        activities = agent_activities(
            LlmActivities(self._provider),
            HttpActions(self._http),
            self._sql,
            self._settings.memory_table,
        )
        super().__init__(
            PLUGIN_NAME,
            data_converter=self._converter,
            workflows=[AgentWorkflow],
            activities=activities,
            workflow_runner=_with_passthrough,
            interceptors=[
                RedactingInterceptor(redactor(settings=self._settings)),
                ArtifactInterceptor(
                    ArtifactStore(self._settings.artifacts, self._settings.artifact_threshold)
                ),
            ],
        )

    def _converter(self, existing: DataConverter | None) -> DataConverter:
        codec = existing.payload_codec if existing and existing.payload_codec else self._codec
        return data_converter(codec)

    def configure_worker(self, config: WorkerConfig) -> WorkerConfig:
        config = super().configure_worker(config)
        if config.get("activity_executor") is None:  # transform is a sync activity
            config["activity_executor"] = self._pool
        return config

    async def aclose(self) -> None:
        """Close the HTTP client, the SQL pool and the LLM client; stop the thread pool."""
        await self._http.aclose()
        await self._sql.aclose()
        await self._provider.aclose()
        self._pool.shutdown(wait=False)

    async def __aenter__(self) -> AgentPlugin:
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
