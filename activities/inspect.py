"""``inspect``: read a run's deliverables back, parsed, for workflow code to check.

Read-only and confined to the workspace like ``file_read``. Content larger than
``MAX_INSPECT_BYTES`` is not returned (it would land in history): such a file is
reported present and unchecked, never passed.
"""

from __future__ import annotations

import asyncio

from pydantic import JsonValue
from temporalio import activity
from temporalio.exceptions import ApplicationError

from durable_agents.activities.formats import parse_text
from durable_agents.activities.workspace import confine
from durable_agents.contracts.deliverables import Deliverable, Inspected, InspectRequest
from durable_agents.contracts.run import WorkflowActivity

MAX_INSPECT_BYTES = 200_000


@activity.defn(name=WorkflowActivity.INSPECT)
async def inspect(request: InspectRequest) -> list[Inspected]:
    """Each deliverable's file, parsed in its format, or why it could not be."""
    return [await asyncio.to_thread(_inspect, request.workspace, d) for d in request.deliverables]


def _inspect(workspace: str, deliverable: Deliverable) -> Inspected:
    path = deliverable.path
    try:
        real = confine(workspace, path)
    except ApplicationError as refused:
        return Inspected(path=path, exists=False, problem=refused.message)
    if not real.is_file():
        return Inspected(path=path, exists=False)
    size = real.stat().st_size
    if size > MAX_INSPECT_BYTES:
        return Inspected(path=path, exists=True, size=size, too_large=True)
    text = real.read_text(encoding="utf-8", errors="replace")
    try:
        content: JsonValue = parse_text(text, deliverable.file_format(), path)
    except ApplicationError as unparsable:
        return Inspected(path=path, exists=True, size=size, problem=unparsable.message)
    return Inspected(path=path, exists=True, size=size, content=content)
