"""Plan validation: every error is a sentence the planner (or a person) can act on."""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlsplit

from pydantic import JsonValue, ValidationError

from durable_agents.contracts.action_spec import ActionSpec
from durable_agents.contracts.actions import CATALOG
from durable_agents.contracts.artifacts import ARTIFACT_KEY, mentions_artifact
from durable_agents.contracts.plan import Plan, Step
from durable_agents.contracts.run import MAX_SUB_GOAL_DEPTH
from durable_agents.rules.patches import applies
from durable_agents.workflows.dag import find_cycle
from durable_agents.workflows.references import (
    check_expression,
    param_expressions,
    referenced_steps,
)

MAX_STEPS = 500  # a run that needs more should be split into sub-goals
NO_NAMED_ARTIFACTS = "no-named-artifacts-v1"


def steps_read(step: Step) -> set[str]:
    """Every step the step's params, ``when`` or ``foreach`` reference (itself included,
    if it wrongly does)."""
    expressions, _ = param_expressions(step.params)
    found: set[str] = set()
    for expression in [*expressions, step.when or "", step.foreach or ""]:
        found |= referenced_steps(expression)
    return found


def step_dependencies(step: Step) -> set[str]:
    """Explicit ``depends_on`` plus every step referenced by params, ``when`` or ``foreach``."""
    return (set(step.depends_on) | steps_read(step)) - {step.id}


def _is_reference(value: object) -> bool:
    return isinstance(value, str) and value.strip().startswith("${")


def _check_params(
    step_id: str,
    action: str,
    params: Mapping[str, JsonValue],
    actions: Mapping[str, ActionSpec],
    what: str = "",
) -> list[str]:
    """Validate params against the action's model; references stand in for any type."""
    spec = actions[action]
    fields = spec.params_model.model_fields
    concrete = {key: value for key, value in params.items() if not _is_reference(value)}
    try:
        spec.params_model.model_validate(concrete)
    except ValidationError as exc:
        problems = []
        for item in exc.errors():
            field = str(item["loc"][0]) if item["loc"] else ""
            if item["type"] == "missing" and field in params:
                continue  # supplied as a reference; checked again once resolved
            where = ".".join(str(part) for part in item["loc"])
            problems.append(f"step '{step_id}' {what}({action}) param {where}: {item['msg']}")
        if problems:
            allowed = ", ".join(fields)
            problems.append(f"step '{step_id}': {action} accepts params: {allowed}")
        return problems
    return []


def _check_compensation(
    step: Step, dependencies: set[str], actions: Mapping[str, ActionSpec]
) -> list[str]:
    """A declared undo names a real action and reads only this step and its dependencies
    (it is resolved when the step succeeds, so nothing later exists yet)."""
    undo = step.compensate
    if undo is None:
        return []
    where = f"step '{step.id}' compensate"
    if undo.action is None or undo.action not in actions:
        return [f"{where}: unknown action {undo.action!r}; use one of: {', '.join(actions)}"]
    if actions[undo.action].runs_in_workflow:
        return [f"{where}: {undo.action} cannot undo anything; use an action with an effect"]
    errors = _check_params(step.id, undo.action, undo.params, actions, "compensate ")
    expressions, problems = param_expressions(undo.params)
    errors += [f"{where}: {problem}" for problem in problems]
    for expression in expressions:
        errors += [
            f"{where}: {problem}"
            for problem in check_expression(expression, per_item=step.foreach is not None)
        ]
        for other in sorted(referenced_steps(expression) - dependencies - {step.id}):
            errors.append(
                f"{where} references step '{other}', which this step does not depend on; "
                "an undo may read only this step's output and its dependencies' outputs"
            )
    return errors


def agent_tools(actions: Mapping[str, ActionSpec]) -> list[str]:
    """What an agent step may call in this run: every action that is one activity call."""
    return [name for name, spec in actions.items() if not spec.runs_in_workflow]


def _agent_tools_known(step: Step, actions: Mapping[str, ActionSpec]) -> list[str]:
    """An agent step names only tools the run has (its worker's custom actions too)."""
    tools = step.params.get("tools") if step.action == "agent" else None
    if not isinstance(tools, list):
        return []
    usable = agent_tools(actions)
    unknown = [str(tool) for tool in tools if tool not in usable]
    if not unknown:
        return []
    return [
        f"step '{step.id}' (agent) param tools: not usable as tools: {', '.join(unknown)}; "
        f"use some of: {', '.join(usable)}"
    ]


def _named_artifacts(step: Step) -> list[str]:
    """A plan never names a stored artifact (``{"$artifact": ...}``): big outputs reach a
    step through ``${steps.<id>.output}``, bound to the run that made them."""
    places = [
        where
        for where, value in (
            ("params", step.params),
            ("compensate", step.compensate.params if step.compensate else None),
        )
        if mentions_artifact(value)
    ]
    if not places or not applies(NO_NAMED_ARTIFACTS):
        return []
    return [
        f"step '{step.id}' {where} name a stored artifact ({ARTIFACT_KEY!r}); a plan may not: "
        "pass an earlier step's output as ${steps.<id>.output} instead"
        for where in places
    ]


def validate_plan(
    plan: Plan,
    finished: Mapping[str, Step] | None = None,
    actions: Mapping[str, ActionSpec] = CATALOG,
    *,
    unknown_actions_ok: bool = False,
) -> list[str]:
    """All problems with ``plan`` (empty means valid).

    ``finished`` holds steps kept from earlier plan versions: they may be depended on and
    referenced, and their ids may not be reused. ``actions``: the run's catalog (the
    built-ins and its worker's custom actions); ``unknown_actions_ok``: a client that
    cannot know a worker's custom actions leaves steps naming others to the worker.
    """
    finished = finished or {}
    errors: list[str] = []
    if not plan.steps and not finished:
        return ["the plan has no steps; add at least one step"]
    if len(plan.steps) + len(finished) > MAX_STEPS:
        errors.append(f"the plan has more than {MAX_STEPS} steps; combine steps")
    seen: set[str] = set()
    for step in plan.steps:
        if step.id in seen:
            errors.append(f"step id '{step.id}' is used twice; ids must be unique")
        seen.add(step.id)
    known = seen | set(finished)
    graph: dict[str, set[str]] = {key: step_dependencies(step) for key, step in finished.items()}
    for step in plan.steps:
        if step.action not in actions and unknown_actions_ok:
            graph[step.id] = step_dependencies(step) & known
            continue
        if step.action not in actions:
            errors.append(
                f"step '{step.id}': unknown action '{step.action}'; "
                f"use one of: {', '.join(actions)}"
            )
            continue
        errors += _check_params(step.id, step.action, step.params, actions)
        errors += [] if unknown_actions_ok else _agent_tools_known(step, actions)
        errors += _named_artifacts(step)
        expressions, problems = param_expressions(step.params)
        errors += [f"step '{step.id}': {problem}" for problem in problems]
        per_item = step.foreach is not None
        for expression in expressions:
            errors += [
                f"step '{step.id}': {problem}"
                for problem in check_expression(expression, per_item=per_item)
            ]
        for name, condition in (("when", step.when), ("foreach", step.foreach)):
            if condition:  # evaluated once for the whole step, before any item exists
                errors += [
                    f"step '{step.id}' {name}: {problem}" for problem in check_expression(condition)
                ]
        dependencies = step_dependencies(step)
        if step.id in steps_read(step):
            errors.append(
                f"step '{step.id}' reads its own output (steps.{step.id}), which does not exist "
                "before it runs; reference an earlier step's output instead"
            )
        undo = step.compensate.action if step.compensate else None
        if not (unknown_actions_ok and undo is not None and undo not in actions):
            errors += _check_compensation(step, dependencies, actions)
        for missing in sorted(dependencies - known):
            errors.append(
                f"step '{step.id}' depends on or references unknown step '{missing}'; "
                f"known steps: {', '.join(sorted(known))}"
            )
        graph[step.id] = dependencies & known
    cycle = find_cycle(graph)
    if cycle:
        errors.append(f"dependency cycle: {' -> '.join(cycle)}; remove one dependency")
    return errors


_PLACEHOLDER_DOMAINS = ("example.com", "example.net", "example.org")  # RFC 2606
_PLACEHOLDER_TLDS = ("example", "invalid")


def placeholder_requests(plan: Plan, goal: str) -> list[str]:
    """HTTP steps to a documentation address (api.example.com) the goal never names: the
    catalog's examples use one, and a small planner copies it (measured: "insert a row
    into the PostgreSQL table evals_notes" planned a POST to api.example.com, twice)."""
    problems = []
    for step in plan.steps:
        url = step.params.get("url") if step.action == "http_request" else None
        host = (urlsplit(url).hostname or "") if isinstance(url, str) else ""
        documentation = any(host == d or host.endswith(f".{d}") for d in _PLACEHOLDER_DOMAINS)
        placeholder = documentation or host.rsplit(".", 1)[-1] in _PLACEHOLDER_TLDS
        if host and placeholder and host not in goal.lower():
            problems.append(
                f"step '{step.id}' requests {url}, a placeholder address from the examples "
                "that the goal does not name; request a URL the goal names, or use the "
                "action that fits what the goal names (a table: sql_query; a file: file_*)"
            )
    return problems


def overlong_waits(plan: Plan, seconds_left: float) -> list[str]:
    """``wait`` steps longer than what is left of the run's wall-clock budget: each could
    only end the run when the budget runs out, after the steps before it ran for nothing.
    (``wait_for_event`` may get its event early; it is cut at the budget instead.)"""
    problems = []
    for step in plan.steps:
        seconds = step.params.get("seconds") if step.action == "wait" else None
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            continue  # a reference, or no wait: its value is checked when it runs
        if seconds > seconds_left:
            problems.append(
                f"step '{step.id}' waits {seconds:g} s, but the run has {seconds_left:.0f} s "
                "of its wall-clock budget left: wait less, or run the goal with a larger "
                "budget (--max-minutes)"
            )
    return problems


def fingerprint(step: Step) -> str:
    """What a step would do (action, params, condition), independent of its id and title."""
    return json.dumps([step.action, step.params, step.when], sort_keys=True)


def repeated_failures(plan: Plan, failed: Mapping[str, str]) -> list[str]:
    """Steps that repeat, exactly, a step that failed in a way that cannot change.

    ``failed`` maps fingerprints to their errors. Without this check a small planner
    re-plans the same failing step until the re-plan budget is gone (measured).
    """
    return [
        f"step '{step.id}' repeats the exact {step.action} params that already failed with: "
        f"{failed[key]}; change the params or take another approach"
        for step in plan.steps
        if (key := fingerprint(step)) in failed
    ]


def nesting_problems(plan: Plan, depth: int) -> list[str]:
    """A run already ``MAX_SUB_GOAL_DEPTH`` deep may not start more sub-goal runs."""
    if depth < MAX_SUB_GOAL_DEPTH:
        return []
    return [
        f"step '{step.id}': this run is a sub-goal {depth} levels deep, the limit; "
        "do the work with the other actions instead of sub_goal"
        for step in plan.steps
        if step.action == "sub_goal"
    ]
