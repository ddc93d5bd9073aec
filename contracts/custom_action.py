"""A custom action as an app declares it (``CustomAction``): what it is, not how it runs.

The worker side (its activity, the toolbox that lists it) is ``runtime.custom_actions``;
this definition has no I/O, so an app's modules and the examples can hold their actions.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Generic, TypeVar

from pydantic import BaseModel, JsonValue, ValidationError

from durable_agents.contracts.action_spec import Risk
from durable_agents.contracts.actions import CATALOG
from durable_agents.contracts.errors import format_validation_error
from durable_agents.contracts.plan import Compensation
from durable_agents.contracts.tools import (
    CLASSIFY_TOOL_CALL,
    LIST_TOOLS,
    MAX_TOOL_SECONDS,
    ToolSpec,
)

P = TypeVar("P", bound=BaseModel)
RESERVED = frozenset({LIST_TOOLS, CLASSIFY_TOOL_CALL})


class CustomActionProblem(ValueError):
    """A custom action cannot be registered as given; the message says what to change."""


@dataclass(frozen=True)
class CustomAction(Generic[P]):
    """One action an app adds: its params model, the coroutine that does it, its risk
    class (or a function of the params returning one), limits and an optional undo that
    returns how to take back what one call did (judged by the policy when it runs)."""

    name: str
    params: type[P]
    run: Callable[[P], Awaitable[JsonValue]]
    risk: Risk | Callable[[P], Risk] = Risk.EXTERNAL
    description: str = ""  # default: the params model's docstring
    timeout: timedelta = timedelta(seconds=60)
    max_attempts: int = 3
    heartbeat: timedelta | None = None
    example: str = ""
    undo: Callable[[P, JsonValue], Compensation | None] | None = field(default=None)

    def __post_init__(self) -> None:
        if self.name in CATALOG or self.name in RESERVED:
            raise CustomActionProblem(
                f"custom action {self.name!r}: the name is taken by a built-in; choose another"
            )
        if not inspect.iscoroutinefunction(self.run):
            raise CustomActionProblem(
                f"custom action {self.name!r}: run must be an async function (async def)"
            )
        if not 0 < self.timeout.total_seconds() <= MAX_TOOL_SECONDS:
            raise CustomActionProblem(
                f"custom action {self.name!r}: timeout must be between 0 and 24 hours"
            )
        self.spec()  # a name or schema the catalog cannot hold fails here, not in a run

    def spec(self) -> ToolSpec:
        """How runs see it (recorded in their history)."""
        described = self.description or (self.params.__doc__ or "").strip()
        try:
            return ToolSpec(
                name=self.name,
                description=described or self.name,
                params_schema=self.params.model_json_schema(),
                risk=self.risk if isinstance(self.risk, Risk) else Risk.EXTERNAL,
                classified=not isinstance(self.risk, Risk),
                timeout_seconds=self.timeout.total_seconds(),
                max_attempts=self.max_attempts,
                heartbeat_seconds=self.heartbeat.total_seconds() if self.heartbeat else None,
                example=self.example,
            )
        except ValidationError as exc:
            detail = format_validation_error(exc)
            raise CustomActionProblem(f"custom action {self.name!r}: {detail}") from None
