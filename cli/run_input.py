"""A run's input from the command line: goal or plan file, policy, budget, workspace.

Everything is checked here, before a server is started or a workflow exists, so a typo
costs one line of output and exit code 2 instead of a failed run in the history.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from pydantic import ValidationError

from durable_agents.activities.named_workspace import worker_relative
from durable_agents.cli.errors import UsageProblem
from durable_agents.cli.policy_file import PolicyFileProblem, load_policy
from durable_agents.contracts import CATALOG, Budget, Plan, Policy, RunInput
from durable_agents.contracts.errors import format_validation_error
from durable_agents.examples.catalog import EXAMPLE_POLICY, EXAMPLES, Example, prepare_workspace
from durable_agents.rules.policy import blocked_steps, limit_problems
from durable_agents.runtime.custom_actions import CustomActionProblem, load_actions
from durable_agents.runtime.mcp_tools import McpConfigProblem, load_servers
from durable_agents.runtime.settings import Settings
from durable_agents.runtime.workspace import (
    WorkspaceProblem,
    ready_run_workspace,
    ready_workspace,
    workspace_name,
)
from durable_agents.workflows.plan_checks import validate_plan


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
    # custom actions this side knows of (AGENT_ACTIONS, AGENT_MCP_CONFIG's servers) are
    # left to the worker, which checks them against its own; any other name is a mistake
    others = {step.action for step in plan.steps} - set(CATALOG)
    errors = (
        validate_plan(plan, unknown_actions_ok=others <= local_custom_actions(others))
        or limit_problems(plan, policy)
        or blocked_steps(plan, policy)
    )
    if errors:
        raise UsageProblem(f"plan file {path} is invalid: " + "; ".join(errors))
    return plan


def read_goal(goal: str | None, goal_file: Path | None) -> str:
    """The goal: ``--goal TEXT``, ``--goal -`` (standard input) or ``--goal-file PATH``."""
    if goal is not None and goal_file is not None:
        raise UsageProblem("give the goal once: --goal or --goal-file, not both")
    if goal_file is not None:
        try:
            text = goal_file.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise UsageProblem(f"cannot read goal file {goal_file}: {exc}") from exc
    elif goal == "-":
        text = sys.stdin.read()
    else:
        text = goal or ""
    return text.strip()  # its length is checked with the rest of RunInput


def local_custom_actions(names: set[str]) -> set[str]:
    """Those of ``names`` this environment's worker settings declare: a custom action of
    AGENT_ACTIONS, or a tool of a server AGENT_MCP_CONFIG names (``<server>_<tool>``)."""
    if not names:
        return set()
    settings = Settings.from_env()
    try:
        declared = {action.name for action in load_actions(settings.actions)}
        servers = [server.name for server in load_servers(settings.mcp_config)]
    except (CustomActionProblem, McpConfigProblem) as exc:
        raise UsageProblem(str(exc)) from exc
    return {n for n in names if n in declared or any(n.startswith(f"{s}_") for s in servers)}


def build_input(args: argparse.Namespace, example_api: str | None = None) -> RunInput:
    """The input of a new run (``example_api``: the URL of a running example API)."""
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
    goal = read_goal(args.goal, args.goal_file)
    if not goal and plan is None:
        raise UsageProblem('give a goal: --goal "what to achieve" (or a plan: --plan FILE)')
    if args.max_parallel < 1:
        raise UsageProblem("--max-parallel must be at least 1")
    review = args.review if args.review is not None else plan is None
    try:
        run_input = RunInput(
            goal=goal or f"Run the plan in {args.plan}",
            workspace=workspace_name(args.workspace),
            plan=plan,
            review=review,
            max_parallel=args.max_parallel,
            local_llm_steps=args.local_llm_steps,
            policy=policy,
            budget=budget,
            compensate=args.compensate,
        )
    except ValidationError as exc:  # e.g. a goal over the limit, or --max-parallel too high
        raise UsageProblem(format_validation_error(exc)) from exc
    return run_input.model_copy(update={"workspace": checked_workspace(args)})


def reviews_checked(args: argparse.Namespace, settings: Settings) -> bool:
    """Whether the reviewer also judges results checked in code (``--review-checked``):
    by default a configured provider's does, the embedded model's does not."""
    given: bool | None = getattr(args, "review_checked", None)
    return given if given is not None else settings.provider_configured


def checked_workspace(args: argparse.Namespace) -> str:
    """``--workspace`` (a folder or ``worker:NAME``) or the default ./workspace (created),
    refused if unusable."""
    try:
        return ready_run_workspace(args.workspace)
    except WorkspaceProblem as exc:
        raise UsageProblem(str(exc)) from exc


def example_input(
    args: argparse.Namespace, example: Example, api_url: str | None, policy: Policy
) -> RunInput:
    """A shipped example: its plan and (unless --policy is given) its policy, no review."""
    if args.workspace is not None and worker_relative(args.workspace) is not None:
        raise UsageProblem(
            f"--example {example.name} puts its data in a workspace on this machine; "
            "give a local --workspace (or none) instead of a worker: name"
        )
    try:
        workspace = ready_workspace(Path(args.workspace) if args.workspace is not None else None)
    except WorkspaceProblem as exc:
        raise UsageProblem(str(exc)) from exc
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
