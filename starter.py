"""Run a goal as a durable agent workflow: ``python starter.py --goal "..."``.

With nothing configured it starts what it needs: a tuned Temporal dev server (kept
running, state under AGENT_STATE_DIR) and, if no worker polls the task queue, a worker
inside this process. Exit code: 0 when the run succeeds, 1 when it fails, 2 for bad input.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import sys
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError
from temporalio.client import Client, Interceptor, WorkflowFailureError, WorkflowHandle
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from contracts import Budget, Plan, Policy, RunEvent, RunInput, RunResult
from examples.api import ExampleApi
from examples.catalog import (
    EXAMPLE_POLICY,
    EXAMPLES,
    JOB_DONE_EVENT,
    Example,
    prepare_workspace,
)
from runtime import devserver
from runtime.connection import (
    connect,
    connect_config,
    connect_when_ready,
    default_address,
    explicit_address,
    pollers,
)
from runtime.decisions import DecisionRefused, decide, pending_text, prompter, status_text
from runtime.manifest import run_manifest
from runtime.offline_model import OfflineModelUnavailable
from runtime.policy_file import PolicyFileProblem, load_policy
from runtime.progress import compensation_line, follow
from runtime.replay import replay_run
from runtime.report import fetch_report, report_text
from runtime.retry import RetryProblem, retry_input
from runtime.settings import Settings, SettingsProblem
from runtime.telemetry import configure_tracing, tracing_interceptors
from runtime.workers import agent_worker
from runtime.workspace import WorkspaceProblem, ready_workspace, workspace_path
from workflows.agent import AgentWorkflow
from workflows.plan_checks import format_validation_error, validate_plan
from workflows.policy import blocked_steps

EXTERNAL_WORKER_GRACE_SECONDS = 3.0


class UsageProblem(Exception):
    """Bad command-line input; printed as one line, exit code 2."""


def _add_decision_commands(parser: argparse.ArgumentParser) -> None:
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, verb in (("approve", "approve"), ("reject", "reject")):
        decision = commands.add_parser(name, help=f"{verb} a step awaiting approval")
        decision.add_argument("run", help="workflow id of the run")
        decision.add_argument("step", help="id of the waiting step")
        decision.add_argument("--note", default="", help="why, for the audit trail")
    show = commands.add_parser("status", help="a run's phase, steps and pending approvals")
    show.add_argument("run", help="workflow id of the run")
    commands.add_parser("pending", help="every step awaiting approval, across runs")
    for name, what in (("pause", "start no new step or LLM call"), ("resume", "continue")):
        control = commands.add_parser(name, help=f"{what} (running steps finish)")
        control.add_argument("run", help="workflow id of the run")
    show_report = commands.add_parser(
        "report", help="per-step time, tokens and cost; critical path; missed parallelism"
    )
    show_report.add_argument("run", help="workflow id of the run")
    show_report.add_argument("--json", action="store_true", help="machine-readable")
    watch = commands.add_parser("watch", help="follow a run (started anywhere) until it ends")
    watch.add_argument("run", help="workflow id of the run")
    retry = commands.add_parser(
        "retry", help="run a run's plan again, reusing what already succeeded"
    )
    retry.add_argument("run", help="workflow id of the earlier run")
    retry.add_argument("--from-step", metavar="STEP", help="run STEP and everything after it again")
    replay = commands.add_parser(
        "replay", help="replay a run's history against this code: is it still compatible?"
    )
    replay.add_argument("run", help="workflow id of the run")
    event = commands.add_parser("event", help="send a named event to wait_for_event steps")
    event.add_argument("run", help="workflow id of the run")
    event.add_argument("name", help="the event name a wait_for_event step waits for")
    event.add_argument("--payload", default="null", help="JSON payload (the step's output)")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0],
        epilog="Commands: approve RUN STEP | reject RUN STEP | status RUN | pending | "
        "pause RUN | resume RUN | event RUN NAME [--payload JSON] | replay RUN | "
        "report RUN [--json] | watch RUN | retry RUN [--from-step STEP]",
    )
    parser.add_argument("--goal", help="what to achieve, in plain language")
    parser.add_argument("--plan", type=Path, help="run this plan (JSON file), skip planning")
    parser.add_argument(
        "--example",
        choices=sorted(EXAMPLES),
        help="run a shipped example offline (its local API is started for the run)",
    )
    parser.add_argument("--workflow-id", help="id for the run (default: generated)")
    parser.add_argument("--no-wait", action="store_true", help="print the run id and exit")
    parser.add_argument(
        "--workspace",
        type=Path,
        default=None,
        help="folder file steps are confined to (default: ./workspace, created with the "
        "demo's data/sales.csv); never a folder holding the agent's own code",
    )
    parser.add_argument("--max-parallel", type=int, default=4, help="steps run at once")
    parser.add_argument(
        "--review",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="LLM review of results (default: on, off with --plan)",
    )
    parser.add_argument(
        "--compensate",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="if the run fails or is cancelled, undo its finished steps (default: on)",
    )
    parser.add_argument("--policy", type=Path, help="run policy file (.toml or .json)")
    parser.add_argument(
        "--allow-host",
        action="append",
        default=[],
        metavar="HOST",
        help="private host/IP/CIDR HTTP steps may reach (repeatable)",
    )
    parser.add_argument(
        "--approval-timeout", type=float, metavar="SECONDS", help="deny undecided approvals after"
    )
    budget = parser.add_argument_group("budget (a used-up limit asks for an extension)")
    budget.add_argument("--max-steps", type=int, metavar="N", help="steps started")
    budget.add_argument("--max-llm-calls", type=int, metavar="N", help="LLM requests")
    budget.add_argument("--max-tokens", type=int, metavar="N", help="prompt + completion")
    budget.add_argument("--max-minutes", type=float, metavar="M", help="wall time of the run")
    budget.add_argument(
        "--max-cost", type=float, metavar="USD", help="LLM cost (built-in price table)"
    )
    budget.add_argument(
        "--on-budget",
        choices=("ask", "fail"),
        default="ask",
        help="when a limit is used up: ask a person to extend it (default) or fail",
    )
    parser.add_argument(
        "--yes",
        action="store_true",
        help="approve every step that asks (for scripts); blocked steps stay blocked",
    )
    parser.add_argument("--profile", help="Temporal envconfig profile")
    parser.add_argument(
        "--stop-server",
        action="store_true",
        help="stop the dev server this project started, then exit",
    )
    _add_decision_commands(parser)
    return parser.parse_args(argv)


def load_plan(path: Path, policy: Policy) -> Plan:
    """Read and validate a plan file; every problem becomes one readable line."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise UsageProblem(f"cannot read plan file {path}: {exc.strerror}") from exc
    try:
        plan = Plan.model_validate_json(text)
    except ValidationError as exc:
        first = exc.errors()[0]
        if first["type"] == "json_invalid":
            raise UsageProblem(f"plan file {path} is not valid JSON: {first['msg']}") from exc
        raise UsageProblem(f"plan file {path}: {format_validation_error(exc)}") from exc
    errors = validate_plan(plan) or blocked_steps(plan, policy)
    if errors:
        raise UsageProblem(f"plan file {path} is invalid: " + "; ".join(errors))
    return plan


def build_input(args: argparse.Namespace, example_api: str | None = None) -> RunInput:
    try:
        policy = load_policy(
            args.policy,
            allow_hosts=args.allow_host,
            approval_timeout_seconds=args.approval_timeout,
        )
    except PolicyFileProblem as exc:
        raise UsageProblem(str(exc)) from exc
    if args.example:
        return example_input(args, EXAMPLES[args.example], example_api, policy)
    try:
        budget = Budget(
            max_steps=args.max_steps,
            max_llm_calls=args.max_llm_calls,
            max_tokens=args.max_tokens,
            max_wall_seconds=args.max_minutes * 60 if args.max_minutes is not None else None,
            max_cost_usd=args.max_cost,
            on_exhausted=args.on_budget,
        )
    except ValidationError as exc:
        raise UsageProblem(f"budget: {format_validation_error(exc)}") from exc
    plan = load_plan(args.plan, policy) if args.plan else None
    goal = (args.goal or "").strip()
    if not goal and plan is None:
        raise UsageProblem('give a goal: --goal "what to achieve" (or a plan: --plan FILE)')
    if args.max_parallel < 1:
        raise UsageProblem("--max-parallel must be at least 1")
    review = args.review if args.review is not None else plan is None
    try:
        run_input = RunInput(
            goal=goal or f"Run the plan in {args.plan}",
            workspace=str(workspace_path(args.workspace)),
            plan=plan,
            review=review,
            max_parallel=args.max_parallel,
            policy=policy,
            budget=budget,
            compensate=args.compensate,
        )
    except ValidationError as exc:  # e.g. a goal over the limit, or --max-parallel too high
        raise UsageProblem(format_validation_error(exc)) from exc
    return run_input.model_copy(update={"workspace": str(checked_workspace(args))})


def checked_workspace(args: argparse.Namespace) -> Path:
    """``--workspace`` or the default ./workspace (created), refused if unusable."""
    try:
        return ready_workspace(args.workspace)
    except WorkspaceProblem as exc:
        raise UsageProblem(str(exc)) from exc


def example_input(
    args: argparse.Namespace, example: Example, api_url: str | None, policy: Policy
) -> RunInput:
    """A shipped example: its plan and (unless --policy is given) its policy, no review."""
    workspace = checked_workspace(args)
    if example.uses_api and args.no_wait:
        raise UsageProblem(
            f"--example {example.name} needs the starter to serve its API; drop --no-wait"
        )
    prepare_workspace(workspace)
    return RunInput(
        goal=f"Example {example.name}: {example.shows}",
        workspace=str(workspace),
        plan=example.plan(api_url),
        review=False,
        max_parallel=args.max_parallel,
        policy=policy if args.policy else EXAMPLE_POLICY,
        compensate=args.compensate,
    )


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


async def open_client(
    args: argparse.Namespace, settings: Settings, interceptors: Sequence[Interceptor] = ()
) -> Client:
    """Connect as configured; with nothing configured, start the dev server if needed."""
    config = connect_config(args.profile)
    if explicit_address(config) is None:
        host, port = devserver.DEFAULT_HOST, devserver.DEFAULT_PORT
        if not devserver.port_open(host, port):
            pid = devserver.start_detached(settings.state_dir, port)
            print(
                f"Started the Temporal dev server (pid {pid}, data in "
                f"{settings.state_dir}); stop it with: python starter.py --stop-server"
            )
        print(f"Temporal Web UI: http://{host}:{port + devserver.UI_PORT_OFFSET}")
        return await connect_when_ready(config, default_address(), interceptors)
    return await connect(config, interceptors=interceptors)


async def needs_local_worker(
    client: Client, handle: WorkflowHandle[AgentWorkflow, RunResult], task_queue: str
) -> bool:
    """True unless another worker picks up the run's first workflow task quickly.

    The server keeps listing a stopped worker's poller for a while, so the list alone
    cannot tell a live worker from a dead one; watching the run can.
    """
    if not await pollers(client, task_queue):
        return True
    loop = asyncio.get_running_loop()
    deadline = loop.time() + EXTERNAL_WORKER_GRACE_SECONDS
    while loop.time() < deadline:
        if (await handle.describe()).history_length > 2:  # beyond started + scheduled
            return False
        await asyncio.sleep(0.1)
    return True


@contextlib.asynccontextmanager
async def maybe_local_worker(
    enabled: bool, client: Client, settings: Settings
) -> AsyncIterator[None]:
    if not enabled:
        yield
        return
    log_file = settings.state_dir / "worker.log"
    log_file.parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(log_file)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logging.basicConfig(level=logging.INFO, handlers=[handler], force=True)
    print(
        f"No worker is polling task queue '{settings.task_queue}'; running one in this "
        f"process (log: {log_file})."
    )
    async with agent_worker(client, settings):
        yield


def report(result: RunResult) -> None:
    tokens = result.usage.prompt_tokens + result.usage.completion_tokens
    print(f"\nAnswer:\n{result.answer}\n")
    print(
        f"{len(result.steps)} steps, {len(result.plans)} plan version(s), "
        f"{result.usage.calls} LLM calls, {tokens} tokens"
        + (f", ${result.usage.cost_usd:.4f}" if result.usage.cost_usd else "")
    )


async def run(args: argparse.Namespace) -> int:
    settings = Settings.from_env()
    if args.stop_server:
        pid = devserver.stop(settings.state_dir)
        print(f"Stopped the dev server (pid {pid})." if pid else "No dev server to stop.")
        return 0
    if args.command and args.command != "retry":
        return await run_command(args)
    tracing = configure_tracing()
    try:
        with example_api(args) as api:
            return await start_and_follow(args, settings, api, tracing_interceptors(tracing))
    finally:
        if tracing is not None:
            tracing.shutdown()  # sends the last spans


async def start_and_follow(
    args: argparse.Namespace,
    settings: Settings,
    api: ExampleApi | None,
    interceptors: Sequence[Interceptor] = (),
) -> int:
    run_input = None if args.command == "retry" else build_input(args, api.url if api else None)
    if run_input is not None:
        run_input.memory = settings.memory_enabled and not args.example
    client = await open_client(args, settings, interceptors)
    if run_input is None:
        try:
            run_input, note = await retry_input(client, args.run, args.from_step)
        except RPCError as exc:
            raise UsageProblem(f"run {args.run}: {exc.message}") from exc
        except RetryProblem as exc:
            raise UsageProblem(str(exc)) from exc
        print(f"Retrying {args.run}: {note}")
    run_input.llm_task_queue = settings.llm_queue
    workflow_id = args.workflow_id or (
        f"agent-{datetime.now(UTC):%Y%m%d-%H%M%S}-{uuid.uuid4().hex[:6]}"
    )
    handle: WorkflowHandle[AgentWorkflow, RunResult] = await client.start_workflow(
        AgentWorkflow.run,
        run_input,
        id=workflow_id,
        task_queue=settings.task_queue,
        static_summary=run_input.goal[:200],  # the run's title in the Web UI
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
            result = await follow(handle, sys.stdout, ask)
        except WorkflowFailureError as exc:
            return failed(exc)
    report(result)
    return 0


async def run_command(args: argparse.Namespace) -> int:
    """approve / reject / status / pending / pause / resume: talk to a running server."""
    config = connect_config(args.profile)
    try:
        client = await connect(config)
    except RuntimeError as exc:
        where = explicit_address(config) or default_address()
        raise UsageProblem(
            f"cannot reach the Temporal server at {where} ({str(exc)[:120]}); is it running? "
            "Set TEMPORAL_ADDRESS or --profile for another server"
        ) from exc
    if args.command == "status":
        print(await status_text(client, args.run))
    elif args.command == "pending":
        print(await pending_text(client))
    elif args.command == "report":
        try:
            found = await fetch_report(client, args.run)
        except RPCError as exc:
            raise UsageProblem(f"run {args.run}: {exc.message}") from exc
        print(found.model_dump_json(indent=2) if args.json else report_text(found))
    elif args.command == "watch":
        followed: WorkflowHandle[Any, RunResult] = client.get_workflow_handle(
            args.run, result_type=RunResult
        )
        try:
            report(await follow(followed, sys.stdout))
        except WorkflowFailureError as exc:
            return failed(exc)
        except RPCError as exc:
            raise UsageProblem(f"run {args.run}: {exc.message}") from exc
    elif args.command == "replay":
        try:
            verdict = await replay_run(client, args.run)
        except RPCError as exc:
            raise UsageProblem(f"run {args.run}: {exc.message}") from exc
        print(verdict.text())
        return 0 if verdict.compatible else 1
    elif args.command in ("pause", "resume", "event"):
        handle: WorkflowHandle[Any, Any] = client.get_workflow_handle(args.run)
        message = [event_input(args.name, args.payload)] if args.command == "event" else []
        try:
            await handle.signal(args.command, *message)
        except RPCError as exc:
            raise UsageProblem(f"run {args.run}: {exc.message}") from exc
        print(f"sent {args.command} to {args.run}")
    else:
        approve = args.command == "approve"
        record = await decide(client, args.run, args.step, approve=approve, note=args.note)
        print(f"{record.outcome} step '{record.step_id}' of {args.run} (as {record.by})")
    return 0


def event_input(name: str, payload: str) -> RunEvent:
    """The ``event`` signal's input, checked here so a typo never reaches the run."""
    try:
        return RunEvent.model_validate({"name": name, "payload": json.loads(payload)})
    except json.JSONDecodeError as exc:
        raise UsageProblem(f"--payload is not JSON: {exc}") from exc
    except ValidationError as exc:
        raise UsageProblem(f"event: {format_validation_error(exc)}") from exc


def failed(error: WorkflowFailureError) -> int:
    cause = error.cause
    message = cause.message if isinstance(cause, ApplicationError) else str(cause)
    print(f"\nRun failed: {message}", file=sys.stderr)
    if isinstance(cause, ApplicationError) and cause.details:
        with contextlib.suppress(ValidationError, TypeError):
            partial = RunResult.model_validate(cause.details[0])
            done = sum(1 for s in partial.steps if s.status.value == "succeeded")
            print(
                f"{done}/{len(partial.steps)} steps succeeded before the failure.", file=sys.stderr
            )
            for record in partial.compensations:
                print(f"  {compensation_line(record)}", file=sys.stderr)
    return 1


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        return asyncio.run(run(args))
    except (
        UsageProblem,
        DecisionRefused,
        OfflineModelUnavailable,
        SettingsProblem,
        devserver.DevServerError,
    ) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nInterrupted; the run continues on the server.", file=sys.stderr)
        return 130
    except RuntimeError as exc:  # connection failures from the Temporal client
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    code = main()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # avoids a known crash at interpreter exit (temporalio/sdk-python#300)
