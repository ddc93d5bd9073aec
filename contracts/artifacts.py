"""Artifact references: how a step output too big for history is pointed to from it.

``{"$artifact": "sha256:<hex>", "run": "<workflow id>", "bytes": <n>, "preview": "..."}``
stands in history (and in step outputs, prompts and results) for a value kept in the
artifact store; activities get the full value back automatically, workflow code never
needs it. A reference is bound to the run that stored it (``run``, the workflow id, the
same across continue-as-new): only that run, the runs above it (a sub-goal run's parent)
and runs granted it (``ActionContext.artifact_runs``) can have it expanded (``may_read``).
"""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import JsonValue

ARTIFACT_KEY = "$artifact"
RUN_KEY = "run"


def is_artifact(value: object) -> bool:
    """Whether a JSON value is an artifact reference."""
    return isinstance(value, dict) and isinstance(value.get(ARTIFACT_KEY), str)


def artifact_size(value: JsonValue) -> int:
    """The stored value's size in bytes (0 for anything that is not a reference)."""
    if isinstance(value, dict) and is_artifact(value):
        size = value.get("bytes")
        return size if isinstance(size, int) else 0
    return 0


def may_read(owner: str, run: str, granted: Iterable[str] = ()) -> bool:
    """Whether ``run`` may use an artifact stored by run ``owner``: its own, its sub-goal
    runs' (ids ``<run>.<step>[.<item>]``, whose outputs and undo it receives), and those
    of the runs it was granted and their sub-goals. A sub-goal run does not read its
    parent's: it gets a goal in words, never its parent's outputs."""
    return bool(owner) and any(
        owner == reader or owner.startswith(f"{reader}.") for reader in (run, *granted) if reader
    )


def mentions_artifact(value: object) -> bool:
    """Whether a ``$artifact`` key appears anywhere in ``value`` (iterative: any depth)."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if ARTIFACT_KEY in item:
                return True
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)
    return False
