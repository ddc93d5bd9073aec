"""How deep data may nest, shared by activities (every result) and workflow inputs
(event payloads): pydantic's JSON parser stops at 200 levels, and a value is wrapped in
a few more (foreach lists, sub-goal and agent outputs, run results, continue-as-new
state) before it is decoded again, so data itself stays well below that."""

from __future__ import annotations

from typing import Any

MAX_DEPTH = 64


def deeper_than(value: object, limit: int = MAX_DEPTH) -> bool:
    """Whether lists/objects in ``value`` nest more than ``limit`` levels (iterative)."""
    stack: list[tuple[Any, int]] = [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list | tuple):
            if depth + 1 > limit:
                return True
            children = item.values() if isinstance(item, dict) else item
            stack.extend(
                (child, depth + 1) for child in children if isinstance(child, dict | list | tuple)
            )
    return False
