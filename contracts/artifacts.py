"""Artifact references: how a step output too big for history is pointed to from it.

``{"$artifact": "sha256:<hex>", "bytes": <n>, "preview": "<first characters>"}`` stands
in history (and in step outputs, prompts and results) for a value kept in the artifact
store; activities get the full value back automatically, workflow code never needs it.
"""

from __future__ import annotations

from pydantic import JsonValue

ARTIFACT_KEY = "$artifact"


def is_artifact(value: object) -> bool:
    """Whether a JSON value is an artifact reference."""
    return isinstance(value, dict) and isinstance(value.get(ARTIFACT_KEY), str)


def artifact_size(value: JsonValue) -> int:
    """The stored value's size in bytes (0 for anything that is not a reference)."""
    if isinstance(value, dict) and is_artifact(value):
        size = value.get("bytes")
        return size if isinstance(size, int) else 0
    return 0
