"""A step's calls: one, or one per ``foreach`` item, with resolved and validated params.

Pure functions run in workflow code, plus ``CallFailed``, the one way a call reports that
it ended without a result (and how its step should settle).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import JsonValue, ValidationError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, RetryState

from durable_agents.contracts.action_spec import ActionParams, ActionSpec
from durable_agents.contracts.actions import CATALOG
from durable_agents.contracts.artifacts import artifact_size, is_artifact
from durable_agents.contracts.errors import format_validation_error
from durable_agents.contracts.plan import FOREACH_MAX_ITEMS, Compensation, Step
from durable_agents.contracts.run import StepStatus
from durable_agents.rules.patches import applies
from durable_agents.workflows.digest import preview
from durable_agents.workflows.references import (
    ReferenceProblem,
    evaluate,
    resolve,
    split_references,
)


@dataclass(frozen=True)
class Call:
    """One execution of a step: the whole step, or one item of its ``foreach``."""

    item: int | None
    params: ActionParams
    scope: dict[str, object]  # what references in this call resolve against


class CallFailed(Exception):
    """A call ended without a result, with what the step needs to settle its failure."""

    def __init__(
        self,
        error: str,
        *,
        for_good: bool = True,
        attempts: int = 1,
        refused: bool = False,
        skip: bool = False,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.for_good = for_good  # the same call would fail the same way again
        self.attempts = attempts
        self.refused = refused  # a person said no (or did not answer): no retry, no recovery
        self.skip = skip  # the recovery proposed skipping the step


def step_calls(
    step: Step, scope: dict[str, object], actions: Mapping[str, ActionSpec] = CATALOG
) -> list[Call]:
    """The step's calls, given the outputs so far (``{"steps": ...}``) and the run's
    catalog (``actions``: built-ins and custom actions)."""
    model = actions[step.action].params_model
    if step.foreach is None:
        return [Call(None, _params(step, scope, None, model), scope)]
    try:
        items = evaluate(step.foreach, scope)
    except ReferenceProblem as exc:
        raise CallFailed(f"foreach could not be evaluated: {exc}") from None
    if is_artifact(items):
        raise CallFailed(
            f"foreach {step.foreach!r} points at an output stored as an artifact "
            f"({artifact_size(items)} bytes, too big for history); a foreach list must stay "
            "small: filter or split it with a transform step first"
        )
    if not isinstance(items, list):
        raise CallFailed(
            f"foreach {step.foreach!r} gave {type(items).__name__}, not a list; "
            "point it at a list, e.g. steps.<id>.output.items"
        )
    if len(items) > FOREACH_MAX_ITEMS:
        raise CallFailed(
            f"foreach {step.foreach!r} gave {len(items)} items; the limit is "
            f"{FOREACH_MAX_ITEMS}: filter the list or split the work"
        )
    calls = []
    for index, item in enumerate(items):
        item_scope = {**scope, "item": item, "index": index}
        calls.append(Call(index, _params(step, item_scope, index, model), item_scope))
    return calls


EMPTY_REFERENCE_FAILS = "empty-reference-v1"  # patch id: a param's reference matching nothing fails
NESTED_REFERENCE_FAILS = "empty-reference-nested-v1"  # patch id: ... inside objects and lists too


def _matched_nothing(
    params: dict[str, JsonValue], resolved: JsonValue, scope: dict[str, object], nested: bool
) -> str | None:
    """Why a param that is one reference into a field got nothing (null), with what the
    output has instead; None when every such param found a value. Measured: "write their
    name" wrote null from ${steps.user.output.name}, the name being under .body; with
    ``nested``, also inside objects and lists (measured: a POST of {"total": null} from
    ${steps.sum.output.total}, the output being the number itself)."""
    for key, raw in _references_to_nothing(params, resolved, "", nested):
        parts = split_references(raw)
        if len(parts) != 1 or not parts[0][1] or not _INTO_OUTPUT.match(parts[0][0]):
            continue
        source = _INTO_OUTPUT.match(parts[0][0])
        assert source is not None
        output = evaluate(f"steps.{source[1]}.output", scope)
        has = (
            f"it has the keys {', '.join(list(output)[:20])}"
            if isinstance(output, dict)
            else f"it is {type(output).__name__} {preview(output, 60)}: write "
            f"${{steps.{source[1]}.output}} for it"
        )
        body = (
            " (an HTTP response's data is under .body)"
            if isinstance(output, dict) and "body" in output
            else ""
        )
        return f"param {key!r}: {raw} matched nothing in steps.{source[1]}.output; {has}{body}"
    return None


def _references_to_nothing(
    params: JsonValue, resolved: JsonValue, path: str, nested: bool
) -> Iterator[tuple[str, str]]:
    """(param path, text) of string params that resolved to null."""
    pairs: list[tuple[str, JsonValue, JsonValue]] = []
    if isinstance(params, dict) and isinstance(resolved, dict):
        pairs = [(f"{path}.{k}" if path else k, v, resolved.get(k)) for k, v in params.items()]
    elif isinstance(params, list) and isinstance(resolved, list) and len(params) == len(resolved):
        both = enumerate(zip(params, resolved, strict=True))
        pairs = [(f"{path}[{i}]", v, r) for i, (v, r) in both]
    for label, raw, value in pairs:
        if isinstance(raw, str):
            if value is None:
                yield label, raw
        elif nested:
            yield from _references_to_nothing(raw, value, label, nested)


_INTO_OUTPUT = re.compile(r"^\s*steps\.([A-Za-z][A-Za-z0-9_]*)\.output\s*[.\[]")

# A small model computes inside references (measured: "${steps.read.output.revenue.max()}").
REFERENCE_HINT = (
    "; a reference only picks a value (${steps.<id>.output} or ${steps.<id>.output.<field>}):"
    " compute totals, sorts and top N in a records step (compute, sort_by, limit)"
)


def _params(
    step: Step, scope: dict[str, object], item: int | None, model: type[ActionParams]
) -> ActionParams:
    where = "" if item is None else f"item {item}: "
    try:
        resolved = resolve(step.params, scope)
        missing = _matched_nothing(step.params, resolved, scope, nested=False)
        if missing and applies(EMPTY_REFERENCE_FAILS):
            raise CallFailed(f"{where}{missing}")
        inside = _matched_nothing(step.params, resolved, scope, nested=True)
        if inside and applies(NESTED_REFERENCE_FAILS):
            raise CallFailed(f"{where}{inside}")
        return model.model_validate(resolved)
    except ReferenceProblem as exc:
        hint = REFERENCE_HINT if "(" in str(exc) else ""
        raise CallFailed(f"{where}could not resolve a reference: {exc}{hint}") from None
    except ValidationError as exc:
        detail = format_validation_error(exc)
        raise CallFailed(f"{where}params invalid after resolving: {detail}") from None


def declared_undo(
    step: Step, call: Call, output: JsonValue, *, judged: bool = False, approved: bool = False
) -> list[Compensation]:
    """The plan's ``compensate`` for a finished call, resolved now (with the call's own
    output as ``steps.<id>.output``); empty when the plan declares none.

    ``judged``: marked as the plan's (judged again before it runs), with ``approved``
    saying whether a person approved it together with its step."""
    declared = step.compensate
    if declared is None:
        return []
    outputs = call.scope.get("steps")
    steps = dict(outputs) if isinstance(outputs, dict) else {}
    steps[step.id] = {"output": output, "status": StepStatus.SUCCEEDED.value}
    try:
        params = resolve(dict(declared.params), {**call.scope, "steps": steps})
    except ReferenceProblem as exc:
        problem = f"the plan's undo of '{step.id}' could not be resolved: {exc}"
        return [Compensation(action=None, description=problem)]
    assert isinstance(params, dict)  # resolving keeps the shape of its input
    description = declared.description or f"{declared.action} declared by the plan"
    return [
        Compensation(
            action=declared.action,
            params=params,
            description=description,
            source="plan" if judged else "action",
            approved=judged and approved,
        )
    ]


def activity_failure(error: ActivityError) -> str:
    """``Type: message`` of an activity's final failure, as the planner and people see it."""
    cause = error.cause
    if isinstance(cause, ApplicationError):
        return _described(cause)
    return str(cause or error)


def _described(failure: ApplicationError) -> str:
    return f"{failure.type or 'Error'}: {failure.message}"


def _reported_attempt(failure: BaseException | None) -> int | None:
    """The attempt an activity reported in its failure's details, if it did."""
    if isinstance(failure, ApplicationError) and failure.details:
        detail = failure.details[0]
        if isinstance(detail, dict) and isinstance(detail.get("attempt"), int):
            return int(detail["attempt"])
    return None


def call_failed(error: ActivityError | ApplicationError, policy: RetryPolicy) -> CallFailed:
    """The ``CallFailed`` of an activity's final failure: for good when it said so. A
    local activity's own failure arrives as its ``ApplicationError``, not wrapped."""
    if isinstance(error, ApplicationError):
        attempt = _reported_attempt(error)
        if attempt is None:
            attempt = 1 if error.non_retryable else policy.maximum_attempts
        return CallFailed(_described(error), for_good=error.non_retryable, attempts=attempt)
    cause = error.cause
    for_good = isinstance(cause, ApplicationError) and cause.non_retryable
    return CallFailed(
        activity_failure(error), for_good=for_good, attempts=attempts_of(error, policy)
    )


def attempts_of(error: ActivityError, policy: RetryPolicy) -> int:
    """How many attempts a failed activity made (the activity reports it when it can)."""
    reported = _reported_attempt(error.cause)
    if reported is not None:
        return reported
    if error.retry_state is RetryState.MAXIMUM_ATTEMPTS_REACHED:
        return policy.maximum_attempts
    return 1
