"""Actions beyond the built-in catalog, as workflow code sees them: ``ToolSpec``.

An embedding app registers custom actions on its worker (``runtime.custom_actions``);
a run asks its worker for them once (the ``list_tools`` activity) and keeps the answer in
history, so replay never depends on what a worker registers today. Workflow code then
treats each like a built-in: a params model (built from the tool's JSON schema, for the
shape; the worker validates with the app's own model), a risk class the policy judges,
timeouts and retries at the call site.
"""

from __future__ import annotations

import json
import re
from datetime import timedelta
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, JsonValue, create_model, field_validator
from temporalio.common import RetryPolicy

from durable_agents.contracts.action_spec import ActionParams, ActionSpec, Risk
from durable_agents.contracts.actions import CATALOG

TOOL_NAME_PATTERN = r"^[a-z][a-z0-9_]{0,63}$"
LIST_TOOLS = "list_tools"  # the activity a run asks for its worker's custom actions
CLASSIFY_TOOL_CALL = "classify_tool_call"  # the activity that judges a call's risk
TOOLS_LISTED_PATCH = "tools-listed-v1"  # workflow.patched id: runs ask for custom actions
MAX_TOOL_SECONDS = 24 * 3600
PARAM_NAME_PATTERN = r"(?!model_)[A-Za-z_][A-Za-z0-9_]{0,63}"


class ToolSpec(BaseModel):
    """A custom action as its worker describes it (recorded in the run's history)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=TOOL_NAME_PATTERN)
    description: str
    params_schema: dict[str, JsonValue] = Field(description="JSON schema of its params")
    risk: Risk = Field(
        default=Risk.EXTERNAL,
        description="Its risk class; with ``classified``, the class of a call whose params "
        "are not known yet (plan time)",
    )
    classified: bool = Field(
        default=False, description="The worker judges each call's risk from its params"
    )
    timeout_seconds: float = Field(default=60, gt=0, le=MAX_TOOL_SECONDS)
    max_attempts: int = Field(default=3, ge=1, le=20)
    heartbeat_seconds: float | None = Field(default=None, gt=0, le=3600)
    example: str = ""
    source: str = Field(default="app", description="Who provides it: app, or mcp:<server>")

    @field_validator("params_schema")
    @classmethod
    def _object_of_named_params(cls, schema: dict[str, JsonValue]) -> dict[str, JsonValue]:
        """Params are an object whose keys a plan can write as fields."""
        if schema.get("type", "object") != "object":
            raise ValueError("params_schema must describe an object (type: object)")
        properties = schema.get("properties") or {}
        if not isinstance(properties, dict):
            raise ValueError("params_schema properties must be an object")
        for key in properties:
            if not re.fullmatch(PARAM_NAME_PATTERN, key) or hasattr(BaseModel, key):
                raise ValueError(
                    f"param name {key!r} cannot be a field: use letters, digits and _, "
                    "not starting with a digit or model_"
                )
        return schema

    def action_spec(self) -> ActionSpec:
        """The catalog entry workflow code calls it by, like a built-in action."""
        return ActionSpec(
            self.name,
            self.description,
            params_model(self.name, json.dumps(self.params_schema)),
            self.risk,
            timedelta(seconds=self.timeout_seconds),
            RetryPolicy(
                maximum_attempts=self.max_attempts,
                initial_interval=timedelta(seconds=1),
                maximum_interval=timedelta(seconds=30),
            ),
            self.example or "{...params...}",
            heartbeat=(
                timedelta(seconds=self.heartbeat_seconds) if self.heartbeat_seconds else None
            ),
            source=self.source,
            classified=self.classified,
        )


def run_actions(tools: list[ToolSpec]) -> dict[str, ActionSpec]:
    """The built-in catalog plus a run's custom actions (a built-in name always wins:
    a worker cannot redefine what ``file_write`` means)."""
    actions = dict(CATALOG)
    for tool in tools:
        actions.setdefault(tool.name, tool.action_spec())
    return actions


_SIMPLE_TYPES: dict[str, Any] = {
    "string": str,
    "integer": int,
    "number": float,
    "boolean": bool,
    "array": list[JsonValue],
    "object": dict[str, JsonValue],
    "null": None,
}


def _field_type(schema: dict[str, Any]) -> Any:
    """A pydantic type for one property: JSON's simple types, enums and unions of them;
    anything richer is any JSON value here (the worker's own model checks it)."""
    if "enum" in schema and all(isinstance(v, str | int | bool) for v in schema["enum"]):
        return Literal[tuple(schema["enum"])]
    kind = schema.get("type")
    if isinstance(kind, str) and kind in _SIMPLE_TYPES:
        return _SIMPLE_TYPES[kind]
    if isinstance(kind, list) and all(k in _SIMPLE_TYPES for k in kind):
        types = [_SIMPLE_TYPES[k] for k in kind]
        union: Any = types[0]
        for more in types[1:]:
            union = union | more
        return union
    for key in ("anyOf", "oneOf"):
        options = schema.get(key)
        if isinstance(options, list) and options:
            union = _field_type(options[0])
            for option in options[1:]:
                union = union | _field_type(option)
            return union
    return JsonValue


@cache
def params_model(name: str, schema_text: str) -> type[ActionParams]:
    """A params model with the schema's properties (required or defaulted, described):
    plan checks, reference resolution and the planner's grammar then treat a custom
    action's params like a built-in's."""
    schema = json.loads(schema_text)
    properties = schema.get("properties") or {}
    required = set(schema.get("required") or [])
    fields: dict[str, Any] = {}
    for key, prop in properties.items():
        prop = prop if isinstance(prop, dict) else {}
        default = ... if key in required else prop.get("default")
        fields[key] = (
            _field_type(prop),
            Field(default=default, description=prop.get("description")),
        )
    model_name = "".join(part.title() for part in name.split("_")) + "Params"
    model: type[ActionParams] = create_model(model_name, __base__=ActionParams, **fields)
    return model


class ToolListing(BaseModel):
    """The ``list_tools`` answer."""

    tools: list[ToolSpec] = Field(default_factory=list)


class ToolCallRisk(BaseModel):
    """The ``classify_tool_call`` request: a custom action's resolved params."""

    name: str
    params: dict[str, JsonValue]
