"""What several deliverable test files share: Paris people, a file inspected, a write step."""

from __future__ import annotations

from durable_agents.contracts.deliverables import Inspected

PARIS = [{"name": "ann", "city": "Paris"}, {"name": "cy", "city": "Paris"}]


def inspected(content: object, **more: object) -> Inspected:
    return Inspected.model_validate(
        {"path": "out/x.json", "exists": True, "content": content} | more
    )


def write_step(content: object) -> dict[str, object]:
    return {
        "id": "write",
        "action": "file_write",
        "params": {"path": "out/paris.json", "content": content},
    }
