"""The guardrail decision for one step: allow, ask a person, or block, with a reason.

Pure functions over the step's action and params and the run's pinned ``Policy``. Workflow
code calls ``judge`` on the planned params (references not yet resolved are skipped) and
again on the resolved params right before the step runs.
"""

from __future__ import annotations

import hashlib
import json
import posixpath
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from pydantic import JsonValue

from durable_agents.contracts.action_spec import BUILT_IN, ActionSpec, Risk
from durable_agents.contracts.actions import CATALOG
from durable_agents.contracts.plan import Plan, Step
from durable_agents.contracts.policy import Decision, Policy
from durable_agents.rules.egress import url_problem
from durable_agents.rules.patches import applies
from durable_agents.rules.paths import rules_apply, target_problem
from durable_agents.rules.sql_guard import PATCH as SQL_GUARD_PATCH
from durable_agents.rules.sql_guard import sql_effect
from durable_agents.rules.sql_guard_regex import regex_sql_effect

FILE_ACTIONS = frozenset(
    {"file_read", "file_write", "file_list", "file_append", "file_delete", "file_move"}
)
PATH_PARAMS = ("path", "source", "destination")
SAFE_METHODS = frozenset({"GET", "HEAD"})


@dataclass(frozen=True)
class Verdict:
    """What the policy says about a step, and why (shown to the planner and to people)."""

    decision: Decision
    risk: Risk
    reason: str


def _unresolved(value: JsonValue) -> bool:
    return isinstance(value, str) and "${" in value


def path_problem(path: str) -> str | None:
    """Why a workspace path is refused before any I/O (symlinks are checked on use)."""
    decoded = path
    for _ in range(3):  # %252e%252e -> %2e%2e -> ..
        decoded = unquote(decoded)
    decoded = decoded.replace("\\", "/")
    if "\x00" in decoded:
        return f"path {path!r} contains a NUL byte"
    if decoded.startswith(("/", "~")) or (len(decoded) > 1 and decoded[1] == ":"):
        return f"path {path!r} is absolute; use a path relative to the workspace"
    if ".." in posixpath.normpath(decoded).split("/") or ".." in decoded.split("/"):
        return f"path {path!r} climbs out of the workspace ('..'); stay inside it"
    return None


def _target_problem(action: str, path: str) -> str | None:
    """Protected names and non-file targets (``rules.paths``), behind their patch."""
    problem = target_problem(action, path)
    return problem if problem and rules_apply() else None


def _risk_and_problem(
    spec: ActionSpec, params: Mapping[str, JsonValue], policy: Policy, risk: Risk | None
) -> Verdict:
    action = spec.name
    if spec.source != BUILT_IN:  # a custom action: its (or its worker's) risk class
        risk = risk or spec.risk
        why = f"{action} ({spec.source} action) is judged {risk.value}"
        return Verdict(policy.decision_for(risk), risk, why)
    risk = spec.risk
    if action in FILE_ACTIONS:
        for name in PATH_PARAMS:
            path = params.get(name)
            if isinstance(path, str) and not _unresolved(path):
                problem = path_problem(path) or _target_problem(action, path)
                if problem:
                    return Verdict("block", risk, problem)
        return Verdict(policy.decision_for(risk), risk, f"{action} is a {risk.value} action")
    if action == "http_request":
        url, method = params.get("url"), str(params.get("method") or "GET").upper()
        if isinstance(url, str) and not _unresolved(url):
            problem = url_problem(url, policy.allow_hosts)
            if problem:
                return Verdict("block", risk, problem)
        if method in SAFE_METHODS:
            return Verdict(policy.decision_for(Risk.READ), Risk.READ, f"HTTP {method} only reads")
        return Verdict(
            policy.decision_for(risk), risk, f"HTTP {method} may change something outside"
        )
    sql = params.get("sql")
    if isinstance(sql, str) and not _unresolved(sql):
        # runs started before the parser-based guard replay their decisions as they ran
        guard = sql_effect if applies(SQL_GUARD_PATCH) else regex_sql_effect
        effect, why = guard(sql)
        if effect == "blocked":
            return Verdict("block", Risk.DESTRUCTIVE, why)
        risk = Risk.READ if effect == "read" else Risk.EXTERNAL
        return Verdict(policy.decision_for(risk), risk, why)
    return Verdict(policy.decision_for(risk), risk, f"{action} is a {risk.value} action")


def judge(
    action: str,
    params: Mapping[str, JsonValue],
    policy: Policy,
    actions: Mapping[str, ActionSpec] = CATALOG,
    *,
    risk: Risk | None = None,
) -> Verdict:
    """The policy's decision for one step; unknown actions are left to plan validation.
    ``actions``: the run's catalog (built-ins and its worker's custom actions); ``risk``:
    a custom action's class for this call, as its worker judged the params."""
    spec = actions.get(action)
    if spec is None:
        return Verdict("allow", Risk.READ, "unknown action (refused by plan validation)")
    return _risk_and_problem(spec, params, policy, risk)


def arguments_hash(action: str, params: Mapping[str, JsonValue]) -> str:
    """What an approval binds to: the action and its exact, resolved arguments."""
    text = json.dumps([action, params], sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def undo_verdict(
    step: Step, policy: Policy, actions: Mapping[str, ActionSpec] = CATALOG
) -> Verdict | None:
    """The policy on the undo a step declares (``compensate``), judged like a step on its
    planned params (references resolve only once the step ran); None if it has none."""
    undo = step.compensate
    if undo is None or undo.action is None:
        return None
    return judge(undo.action, undo.params, policy, actions)


def limit_problems(
    plan: Plan, policy: Policy, actions: Mapping[str, ActionSpec] = CATALOG
) -> list[str]:
    """Plan-check errors for steps whose own timeout or attempts exceed the policy's limits
    (or that set them on an action run by workflow code, where they mean nothing)."""
    errors = []
    for step in plan.steps:
        if step.timeout_seconds is None and step.max_attempts is None:
            continue
        spec = actions.get(step.action)
        if spec is not None and spec.runs_in_workflow:
            errors.append(
                f"step '{step.id}': timeout_seconds and max_attempts do not apply to "
                f"{step.action} (it runs in the workflow); leave them out"
            )
        if (
            step.timeout_seconds is not None
            and step.timeout_seconds > policy.max_step_timeout_seconds
        ):
            errors.append(
                f"step '{step.id}': timeout_seconds {step.timeout_seconds:g} is over the "
                f"policy's max_step_timeout_seconds ({policy.max_step_timeout_seconds:g})"
            )
        if step.max_attempts is not None and step.max_attempts > policy.max_step_attempts:
            errors.append(
                f"step '{step.id}': max_attempts {step.max_attempts} is over the policy's "
                f"max_step_attempts ({policy.max_step_attempts})"
            )
    return errors


def blocked_steps(
    plan: Plan,
    policy: Policy,
    *,
    undo: bool = True,
    actions: Mapping[str, ActionSpec] = CATALOG,
) -> list[str]:
    """Plan-check errors for steps the policy blocks, judged on their planned params;
    with ``undo``, a step whose declared undo the policy blocks is blocked too."""
    errors = []
    for step in plan.steps:
        spec = actions.get(step.action)
        # a custom action its worker judges per call is judged when it runs, on its params
        verdict = (
            None if spec and spec.classified else judge(step.action, step.params, policy, actions)
        )
        if verdict is not None and verdict.decision == "block":
            errors.append(
                f"step '{step.id}' is blocked by the run's policy: {verdict.reason}; "
                "change it or leave it out"
            )
        undone = undo_verdict(step, policy, actions) if undo else None
        if undone is not None and undone.decision == "block":
            errors.append(
                f"step '{step.id}' declares an undo (compensate) that the run's policy "
                f"blocks: {undone.reason}; change the undo or leave it out"
            )
    return errors
