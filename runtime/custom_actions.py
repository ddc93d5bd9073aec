"""Custom actions on the worker: each one's activity, and the toolbox runs ask.

    async def open_ticket(params: TicketParams) -> JsonValue: ...

    ticket = CustomAction("open_ticket", TicketParams, open_ticket, risk=Risk.EXTERNAL)
    async with AgentPlugin(actions=[ticket]) as agents: ...

A run asks its worker for them (``list_tools``, recorded in history), offers them to the
planner next to the built-ins, judges each call by the policy like a built-in (a risk
class, or the app's function of the params, asked at the gate through
``classify_tool_call``) and runs each as an activity under its own name on this worker.
``CustomAction`` itself is ``contracts.custom_action`` (re-exported here).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel, JsonValue, ValidationError
from temporalio import activity

from durable_agents.activities.errors import action_error
from durable_agents.contracts import ActionContext, ActionResult, Risk
from durable_agents.contracts.custom_action import CustomAction, CustomActionProblem
from durable_agents.contracts.errors import format_validation_error
from durable_agents.contracts.tools import (
    CLASSIFY_TOOL_CALL,
    LIST_TOOLS,
    ToolCallRisk,
    ToolListing,
)
from durable_agents.runtime.mcp_tools import McpTools

__all__ = ["CustomAction", "CustomActionProblem", "Toolbox", "load_actions"]
P = TypeVar("P", bound=BaseModel)


def parse(action: CustomAction[P], params: dict[str, JsonValue]) -> P:
    """The app's own model on the params the run sends: invalid ones are final."""
    try:
        return action.params.model_validate(params)
    except ValidationError as exc:
        raise action_error(
            f"params invalid for {action.name}: {format_validation_error(exc)}",
            error_type="InvalidParams",
            retryable=False,
        ) from None


def action_activity(action: CustomAction[Any]) -> Callable[..., Awaitable[ActionResult]]:
    """The activity that runs it: the app's params model, its coroutine, its undo."""

    async def call(context: ActionContext, params: dict[str, JsonValue]) -> ActionResult:
        parsed = parse(action, params)
        output = await action.run(parsed)
        undo = action.undo(parsed, output) if action.undo else None
        return ActionResult(
            output=output,
            attempt=activity.info().attempt,
            undo=[undo] if undo is not None else [],
        )

    call.__name__ = call.__qualname__ = action.name
    return activity.defn(name=action.name)(call)


class Toolbox:
    """A worker's custom actions and MCP servers' tools: their listing, their risk per
    call, their activities."""

    def __init__(
        self, actions: Sequence[CustomAction[Any]] = (), mcp: McpTools | None = None
    ) -> None:
        names = [action.name for action in actions]
        twice = sorted({name for name in names if names.count(name) > 1})
        if twice:
            raise CustomActionProblem(f"custom actions registered twice: {', '.join(twice)}")
        self.actions: dict[str, CustomAction[Any]] = {a.name: a for a in actions}
        self.mcp = mcp
        self._specs = [action.spec() for action in actions]

    @activity.defn(name=LIST_TOOLS)
    async def list_tools(self) -> ToolListing:
        """What runs on this worker may use beyond the built-in catalog: the app's
        actions, then the tools of the MCP servers that answer (an app's name wins)."""
        tools = list(self._specs)
        if self.mcp is not None:
            tools += [spec for spec in await self.mcp.specs() if spec.name not in self.actions]
        return ToolListing(tools=tools)

    @activity.defn(name=CLASSIFY_TOOL_CALL)
    async def classify_tool_call(self, request: ToolCallRisk) -> Risk:
        """The app's risk class for one call, from its resolved params."""
        action = self.actions.get(request.name)
        if action is None:
            raise action_error(
                f"no custom action {request.name!r} on this worker",
                error_type="UnknownAction",
                retryable=False,
            )
        if isinstance(action.risk, Risk):
            return action.risk
        return Risk(action.risk(parse(action, request.params)))

    @property
    def activities(self) -> list[Callable[..., Any]]:
        mcp_calls = [self.mcp.call] if self.mcp and self.mcp.connections else []
        return [
            self.list_tools,
            self.classify_tool_call,
            *(action_activity(action) for action in self.actions.values()),
            *mcp_calls,
        ]

    async def aclose(self) -> None:
        """Close the MCP servers' connections (stdio servers exit)."""
        if self.mcp is not None:
            await self.mcp.aclose()


def load_actions(spec: str | None) -> list[CustomAction[Any]]:
    """``AGENT_ACTIONS=package.module:NAME`` (a list of ``CustomAction``) for workers
    started by ``worker.py`` or the starter; none when unset."""
    if not spec:
        return []
    module_name, _, attribute = spec.partition(":")
    if not module_name or not attribute:
        raise CustomActionProblem(
            f"AGENT_ACTIONS={spec!r}: write it as package.module:NAME, NAME being a list "
            "of CustomAction"
        )
    try:
        found = getattr(importlib.import_module(module_name), attribute)
    except (ImportError, AttributeError) as exc:
        raise CustomActionProblem(f"AGENT_ACTIONS={spec!r}: {exc}") from None
    actions = list(found) if isinstance(found, list | tuple) else [found]
    wrong = [repr(a) for a in actions if not isinstance(a, CustomAction)]
    if wrong:
        raise CustomActionProblem(
            f"AGENT_ACTIONS={spec!r}: not CustomAction objects: {', '.join(wrong)[:200]}"
        )
    return actions
