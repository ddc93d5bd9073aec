"""Prompts and response schemas for the planner and the reviewer.

The plan schema is generated from the catalog: one step variant per action, each with
``action`` fixed and ``params`` set to that action's own model, so a schema-constrained
model can only produce params that fit the action it chose.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Literal, Union

from pydantic import BaseModel, Field, create_model

from durable_agents.contracts import (
    CATALOG,
    AgentTurnRequest,
    PlanRequest,
    RecoverRequest,
    Review,
    ReviewRequest,
    StepDigest,
)
from durable_agents.contracts.action_spec import ActionParams, ActionSpec
from durable_agents.contracts.deliverables import Deliverable
from durable_agents.contracts.llm import ERRORS_MET
from durable_agents.contracts.plan import STEP_ID_PATTERN, OnFailure
from durable_agents.contracts.tools import ToolSpec

# Bounds a schema-constrained model must respect, so a degenerate generation that repeats
# a step or a phrase (measured with the 1.5B model) ends instead of running to max_tokens.
MAX_PLANNED_STEPS = 10
TEXT_LIMIT = 160

STEP_OPTION_RULES = """\
- A step may also have when: null, or a JMESPath condition over {"steps": ...} (no ${});
  the step runs only if it holds.
- A step may also have foreach: a JMESPath to a list in an EARLIER step's output (e.g.
  "steps.files.output"); the step then runs once per element, and its params use ${item}
  (and ${index}).
- A step may also have on_failure: "replan" (default), "retry" (flaky services), "skip"
  (the step is optional), "fail" (stop the run), "recover" (fix the params, try again).
- Next to "steps", state "deliverables": for each file the goal asks for, what its content
  must be, checked in code once the steps ran, e.g. {"path": "out/paris.json", "shape":
  "list", "item_fields": ["name"], "where": {"city": "Paris"}}; "shape" is "list",
  "object", "number", "string" or "collection" (one value per group).
"""

PLANNER_RULES = """\
You are the planner of a workflow engine. Turn the user's goal into a plan: a JSON object
{"steps": [...]}. Each step has: id (unique, snake_case), title, action, params,
depends_on (ids of steps that must finish first).

To use an earlier step's output, write a reference in a string param:
"${steps.<id>.output}" is the whole output; "${steps.<id>.output.<field>}" is one field
of it (an HTTP response's data: "${steps.<id>.output.body}"). A param that is exactly
one reference receives the value itself (list, object, number); a reference inside
longer text is inserted as text.

Rules:
- Use only the actions listed below, with only their params.
- File paths are relative to the workspace; copy them exactly as the goal writes them.
- A URL (http:// or https://) is fetched or posted to with http_request, never file_read.
- PostgreSQL tables are read and changed with sql_query, never with file actions.
- Lists of records (CSV rows, JSON arrays, API or SQL results): filter, count, sum,
  average, min, max, sort, top N, pick fields or distinct values with records. Change
  keys of a JSON object with set_keys. Text in, text out (summaries): llm. Never compute
  numbers with llm.
- If the goal asks to write or save something, the last step is a file_write.
- Use as few steps as the goal needs (at most 10).
{step_options}
Actions:
"""

REVIEWER_RULES = """\
You check the results of a finished workflow run against its goal.
Each step shows its action, status and output. Status "succeeded" means the action
completed without error; a succeeded file_write has written the file named in its output.
When the files the goal asks for are shown as written, judge by their content, not by
step titles: "done" only if that content is what the goal asks for.
Reply with JSON:
- "answer": the outcome for the user in one or two sentences, quoting the key values
  from the outputs (numbers, file paths).
- "verdict": "done" if the outputs achieve the goal; "replan" if something the goal asks
  for is missing or wrong; "fail" only if no plan could achieve the goal.
- "feedback": for "replan", exactly what the next plan must do differently; else "".
"""

RECOVER_RULES = """\
You help a workflow engine recover from one failed step. You see the goal, the step, the
params it ran with and the exact error. Reply with JSON:
- "reason": one sentence on why your proposal fixes the error.
- "decision": "retry" when corrected params for the same action can fix the error (a wrong
  path, field name, URL or query); "skip" when the goal can be reached without this step;
  "replan" when the approach itself is wrong.
- "params": for "retry", the complete corrected params; otherwise null.
Never retry with the same params. Keep every param the error does not concern.
"""

AGENT_RULES = """\
You are an agent inside a workflow engine. Work on the task by calling the tools; each
call runs for real and returns its result (long results are shortened). A call may be
refused by the run's policy or by a person: then take another way. File paths are
relative to the workspace. When you have what the task asks for, answer in plain text
without calling a tool; quote the key values.
"""


def _param_line(name: str, schema: dict[str, Any], required: bool) -> str:
    kind = (
        schema.get("type")
        or "/".join(str(option.get("type", "any")) for option in schema.get("anyOf", []))
        or "any"
    )
    if "enum" in schema:
        kind = "|".join(json.dumps(value) for value in schema["enum"])
    elif "const" in schema:
        kind = json.dumps(schema["const"])
    parts = [f"  - {name} ({kind}{', required' if required else ''})"]
    if "default" in schema and schema["default"] not in (None, {}, []):
        parts.append(f"default {json.dumps(schema['default'])}")
    if schema.get("description"):
        parts.append(schema["description"])
    return "; ".join(parts)


def planner_rules(step_options: bool) -> str:
    """The planner's rules, with the foreach/on_failure rules when they are offered."""
    return PLANNER_RULES.replace("{step_options}", STEP_OPTION_RULES if step_options else "")


def custom_key(tools: list[ToolSpec]) -> str:
    """A run's custom actions as one hashable text (the cache key of what they shape)."""
    return json.dumps([tool.model_dump(mode="json") for tool in tools])


def _custom_specs(custom: str) -> list[ActionSpec]:
    return [ToolSpec.model_validate(tool).action_spec() for tool in json.loads(custom)]


def planner_actions(expert: bool, custom: str = "[]") -> list[ActionSpec]:
    """The actions a planner is offered: all to an expert (configured) model, the ones a
    small model uses well to the embedded one; then the worker's custom actions."""
    builtins = [spec for spec in CATALOG.values() if expert or not spec.expert_only]
    return builtins + [spec for spec in _custom_specs(custom) if spec.name not in CATALOG]


def offered_params(spec: ActionSpec, expert: bool) -> type[BaseModel]:
    """The params model a planner writes: without the expert-only params for a small one."""
    if expert or not spec.expert_params:
        return spec.params_model
    fields: dict[str, Any] = {
        name: (field.annotation, field)
        for name, field in spec.params_model.model_fields.items()
        if name not in spec.expert_params
    }
    model: type[BaseModel] = create_model(
        spec.params_model.__name__,
        __base__=ActionParams,
        __doc__=spec.params_model.__doc__,
        **fields,
    )
    return model


@cache
def catalog_text(expert: bool = True, custom: str = "[]") -> str:
    """The action catalog as the planner reads it: description, params, example."""
    blocks = []
    for spec in planner_actions(expert, custom):
        schema = offered_params(spec, expert).model_json_schema()
        required = set(schema.get("required", []))
        lines = [f"{spec.name}: {' '.join(spec.description.split())}"]
        lines += [
            _param_line(name, prop, name in required)
            for name, prop in schema.get("properties", {}).items()
        ]
        lines.append(f"  example params: {spec.example}")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)


@cache
def plan_schema(step_options: bool = False, custom: str = "[]") -> dict[str, Any]:
    """JSON schema of a plan whose steps are a union of per-action variants;
    ``step_options`` (an expert model) adds the when, foreach and on_failure fields and
    the expert-only actions (measured: the 1.5B model wrapped 2 of 31 goals' conditions
    in ``${}``, and none of its goals needed one)."""
    variants = []
    options: dict[str, Any] = {}
    if step_options:
        on_failure: Any = OnFailure
        options = {
            "when": (str | None, ...),
            "foreach": (str | None, Field(default=None, max_length=TEXT_LIMIT)),
            "on_failure": (on_failure, Field(default="replan")),
        }
    for spec in planner_actions(step_options, custom):
        variant: type[BaseModel] = create_model(
            f"{spec.name.title().replace('_', '')}Step",
            id=(str, Field(pattern=STEP_ID_PATTERN)),
            title=(str, Field(max_length=TEXT_LIMIT)),
            action=(Literal[spec.name], ...),  # type: ignore[arg-type]
            params=(offered_params(spec, step_options), ...),
            depends_on=(list[str], ...),
            **options,
        )
        variants.append(variant)
    step_union: Any = Union[tuple(variants)]  # noqa: UP007 (a runtime-built union)
    stated: dict[str, Any] = (
        {"deliverables": (list[Deliverable], Field(default_factory=list))} if step_options else {}
    )
    plan_model = create_model(
        "PlanAnswer",
        steps=(list[step_union], Field(min_length=1, max_length=MAX_PLANNED_STEPS)),
        **stated,
    )
    return plan_model.model_json_schema()


def review_schema() -> dict[str, Any]:
    """JSON schema of the reviewer's answer."""
    return Review.model_json_schema()


def _steps_block(steps: list[StepDigest]) -> str:
    lines = []
    for step in steps:
        line = f"- {step.id} [{step.action}, {step.status}] {step.title}"
        if step.status == "failed" and step.params_preview:
            line += f"\n  params: {step.params_preview}"
        if step.output_preview:
            line += f"\n  output: {step.output_preview}"
        if step.error:
            line += f"\n  problem: {step.error}"
        lines.append(line)
    return "\n".join(lines)


def plan_messages(request: PlanRequest, step_options: bool = False) -> list[dict[str, str]]:
    """Chat messages for a plan, a re-plan, or a repair of a rejected plan."""
    user = [f"Goal: {request.goal}"]
    if request.observations:
        user.append(
            "What the inputs look like (read before planning; use these exact field and "
            "column names):\n" + "\n".join(f"- {seen[:600]}" for seen in request.observations)
        )
    if request.finished_steps:
        user.append(
            "Steps already finished (their outputs can be referenced; do not repeat them):\n"
            + _steps_block(request.finished_steps)
        )
    if request.failed_steps:
        user.append(
            "Steps that failed (change their params or approach; do not repeat them as is):\n"
            + _steps_block(request.failed_steps)
        )
    # an example shows what worked; the errors its run met on the way are not part of it
    # (measured: "failed: where region == \"North\" ..." in a succeeded run's lesson was
    # planned again as a step of the example, by a goal that asked for every record)
    succeeded = [lesson for lesson in request.lessons if lesson.startswith("succeeded")]
    worked = [lesson.split(f". {ERRORS_MET}")[0] for lesson in succeeded]
    failed = [lesson for lesson in request.lessons if lesson not in succeeded]
    if worked:
        user.append(
            "Plans that worked for similar goals (examples: follow this goal's own files, "
            "fields and values):\n" + "\n".join(f"- {lesson[:600]}" for lesson in worked)
        )
    if failed:
        user.append(
            "Mistakes made on similar goals (warnings: avoid them, never copy their steps):\n"
            + "\n".join(f"- {lesson[:600]}" for lesson in failed)
        )
    if request.feedback:
        user.append(f"The reviewer asks for a new plan: {request.feedback}")
    if request.errors:
        if request.rejected_plan:
            user.append(f"Your previous answer was:\n{request.rejected_plan[:4000]}")
        user.append(
            "It was rejected. Fix every problem and answer with the full corrected plan:\n"
            + "\n".join(f"- {error}" for error in request.errors)
        )
    return [
        {
            "role": "system",
            "content": planner_rules(step_options)
            + catalog_text(step_options, custom_key(request.custom_actions)),
        },
        {"role": "user", "content": "\n\n".join(user)},
    ]


def review_messages(request: ReviewRequest) -> list[dict[str, str]]:
    """Chat messages asking for a verdict on the run's results."""
    succeeded = sum(1 for step in request.steps if step.status == "succeeded")
    user = (
        f"Goal: {request.goal}\n\nStep results:\n{_steps_block(request.steps)}\n\n"
        f"{succeeded} of {len(request.steps)} steps succeeded."
    )
    if request.deliverables:  # what the goal asked for, as the files really hold it
        user += "\n\nFiles the goal asks for, as written:\n" + "\n".join(
            f"- {check.path}: {check.shown}" for check in request.deliverables
        )
    return [
        {"role": "system", "content": REVIEWER_RULES},
        {"role": "user", "content": user},
    ]


def recover_messages(request: RecoverRequest) -> list[dict[str, str]]:
    """Chat messages asking how to get past one failed step."""
    spec = action_spec(request.step.action, request.custom_action)
    user = (
        f"Goal: {request.goal}\n\n"
        f"Step '{request.step.id}' ({request.step.title}), action {spec.name}: "
        f"{spec.description.strip()}\n"
        f"Params it ran with: {json.dumps(request.arguments)[:4000]}\n"
        f"Error: {request.error[:2000]}\n"
        f"This is recovery attempt {request.attempt}."
    )
    return [
        {"role": "system", "content": RECOVER_RULES},
        {"role": "user", "content": user},
    ]


def action_spec(action: str, custom: ToolSpec | None) -> ActionSpec:
    """A built-in action's catalog entry, or the custom one a request carries."""
    if action in CATALOG or custom is None:
        return CATALOG[action]
    return custom.action_spec()


def recover_schema(action: str, custom: ToolSpec | None = None) -> dict[str, Any]:
    """JSON schema of a recovery whose params fit ``action``'s params model."""
    return _recover_schema(action, custom.model_dump_json() if custom else "")


@cache
def _recover_schema(action: str, custom: str) -> dict[str, Any]:
    decision: Any = Literal["retry", "skip", "replan"]
    tool = ToolSpec.model_validate_json(custom) if custom else None
    params: Any = action_spec(action, tool).params_model | None
    answer: type[BaseModel] = create_model(
        "RecoveryAnswer",
        reason=(str, Field(max_length=TEXT_LIMIT)),
        decision=(decision, ...),
        params=(params, ...),
    )
    return answer.model_json_schema()


def agent_messages(request: AgentTurnRequest) -> list[dict[str, Any]]:
    """System rules, the task, then the transcript (tool calls and shortened results)."""
    messages: list[dict[str, Any]] = [
        {"role": "system", "content": AGENT_RULES},
        {"role": "user", "content": request.task},
        *request.transcript,
    ]
    if request.final:
        messages.append(
            {"role": "user", "content": "No more tool calls: give your final answer now."}
        )
    return messages


def agent_tools(names: list[str], custom: list[ToolSpec] | None = None) -> list[dict[str, Any]]:
    """OpenAI tool definitions: one function per allowed action, its params as schema
    (a custom action's as its worker describes them)."""
    described = {tool.name: tool for tool in custom or []}
    tools = []
    for name in names:
        tool = described.get(name)
        spec = CATALOG.get(name)
        function: dict[str, Any] = {"name": name}
        if spec is not None:
            function["description"] = spec.description.strip()
            function["parameters"] = spec.params_model.model_json_schema()
        elif tool is not None:
            function["description"] = tool.description.strip()
            function["parameters"] = tool.params_schema
        else:
            continue  # workflow code offers only actions the run knows
        tools.append({"type": "function", "function": function})
    return tools
