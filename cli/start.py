"""Starting a run (no command) or a retry (``retry RUN``) and following it to its end.

Both may need to start the dev server, the example API and a worker, and both follow the
run with live progress and approval prompts; they differ only in where the input comes
from: the command line, or the earlier run.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import sys
import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

from temporalio.client import Client, Interceptor, WorkflowFailureError, WorkflowHandle

from durable_agents.cli.decisions import prompter
from durable_agents.cli.errors import UsageProblem, refused_for
from durable_agents.cli.local_worker import maybe_local_worker, needs_local_worker
from durable_agents.cli.manifest import run_manifest
from durable_agents.cli.outcome import failed, print_result
from durable_agents.cli.progress import follow
from durable_agents.cli.retry import RetryProblem, retry_input
from durable_agents.cli.run_input import build_input, reviews_checked
from durable_agents.cli.server import open_client
from durable_agents.contracts import RunEvent, RunInput, RunResult
from durable_agents.examples.api import ExampleApi
from durable_agents.examples.catalog import EXAMPLES, JOB_DONE_EVENT
from durable_agents.runtime.connection import connect_config, explicit_address, llm_queue_for
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.telemetry import configure_tracing, tracing_interceptors
from durable_agents.runtime.visibility import search_attributes_ready
from durable_agents.workflows.agent import AgentWorkflow

TITLE_CHARS = 200  # of the goal: the run's title in the Web UI (its static summary)


async def start_run(args: argparse.Namespace, settings: Settings) -> int:
    """No command: run the goal, plan file or example given by the options."""
    with _session(args) as (api, interceptors):
        run_input = build_input(args, api.url if api else None)
        run_input.memory = settings.memory_enabled and not args.example
        run_input.review_checked = reviews_checked(args, settings)
        client = await open_client(args, settings, interceptors)
        return await start_and_follow(args, settings, client, run_input, api)


async def retry(args: argparse.Namespace, settings: Settings) -> int:
    """``retry RUN``: the earlier run's goal and plan again, reusing what succeeded."""
    with _session(args) as (api, interceptors):
        client = await open_client(args, settings, interceptors)
        try:
            with refused_for(args.run):
                run_input, note = await retry_input(client, args.run, args.from_step)
        except RetryProblem as exc:
            raise UsageProblem(str(exc)) from exc
        print(f"Retrying {args.run}: {note}")
        return await start_and_follow(args, settings, client, run_input, api)


@contextlib.contextmanager
def _session(args: argparse.Namespace) -> Iterator[tuple[ExampleApi | None, Sequence[Interceptor]]]:
    """Tracing for the run (flushed at the end) and the example API it may call."""
    tracing = configure_tracing()
    try:
        with example_api(args) as api:
            yield api, tracing_interceptors(tracing)
    finally:
        if tracing is not None:
            tracing.shutdown()  # sends the last spans


async def start_and_follow(
    args: argparse.Namespace,
    settings: Settings,
    client: Client,
    run_input: RunInput,
    api: ExampleApi | None,
) -> int:
    """Start the workflow, serve it with a local worker if none runs, follow it to its end."""
    await fit_to_cluster(args, settings, client, run_input)
    workflow_id = args.workflow_id or (
        f"agent-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    )
    handle: WorkflowHandle[AgentWorkflow, RunResult] = await client.start_workflow(
        AgentWorkflow.run,
        run_input,
        id=workflow_id,
        task_queue=settings.task_queue,
        static_summary=run_input.goal[:TITLE_CHARS],
        memo={"manifest": run_manifest(settings, run_input)},
    )
    print(f"Started run {workflow_id}")
    if api is not None:
        forward_job_callbacks(api, handle)
    local = await needs_local_worker(client, handle, settings.task_queue)
    if args.no_wait:
        if local:
            print("Note: no worker is running; start one with: python worker.py")
        return 0
    async with maybe_local_worker(local, client, settings):
        try:
            ask = None
            if args.yes or sys.stdin.isatty():
                ask = prompter(client, workflow_id, auto_approve=args.yes, out=sys.stdout)
            result = await follow(handle, sys.stdout, ask, client.data_converter)
        except WorkflowFailureError as exc:
            return failed(exc)
    return print_result(result, accept_unverified=args.accept_unverified)


async def fit_to_cluster(
    args: argparse.Namespace, settings: Settings, client: Client, run_input: RunInput
) -> None:
    """What a new run's input takes from the cluster it starts on: the queue of its LLM
    calls, whether it may publish search attributes, its visible title (none if sealed)."""
    run_input.llm_task_queue = await llm_queue_for(client, settings.task_queue, settings.llm_queue)
    own_server = explicit_address(connect_config(args.profile)) is None  # the local dev server
    run_input.search_attributes = await search_attributes_ready(client, register=own_server)
    sealed = client.data_converter.payload_codec is not None
    run_input.visible_title = None if sealed else run_input.goal


@contextlib.contextmanager
def example_api(args: argparse.Namespace) -> Iterator[ExampleApi | None]:
    """The example API for the run's duration, when the chosen example uses it."""
    if not (args.example and EXAMPLES[args.example].uses_api):
        yield None
        return
    api = ExampleApi().start()
    print(f"Example API at {api.url}")
    try:
        yield api
    finally:
        api.stop()


def forward_job_callbacks(api: ExampleApi, handle: WorkflowHandle[Any, Any]) -> None:
    """The example API's job webhook becomes the run's ``job.done`` event."""
    loop = asyncio.get_running_loop()

    def job_done(job: dict[str, Any]) -> None:  # called on the API's thread
        event = RunEvent(name=JOB_DONE_EVENT, payload=job)
        asyncio.run_coroutine_threadsafe(handle.signal("event", event), loop)

    api.on_job_done = job_done
