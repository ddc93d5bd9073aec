"""The artifact store and the activity interceptor that keeps big values out of history.

Every action's output (and undo params) above ``threshold`` bytes of JSON is written to
the store, content-addressed (so a retried attempt writes the same file), and replaced
by a reference with a short preview; every action's params get referenced values back
before the action runs. Workers that share runs must share the store's folder
(AGENT_ARTIFACT_DIR), as they share the Temporal server.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import uuid
from pathlib import Path
from typing import Any

from pydantic import JsonValue
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from activities.errors import action_error
from contracts import ActionParams, ActionResult, Compensation
from contracts.artifacts import ARTIFACT_KEY, is_artifact

DEFAULT_THRESHOLD_BYTES = 256_000
PREVIEW_CHARS = 500


class ArtifactStore:
    """Content-addressed JSON files under one folder."""

    def __init__(self, folder: Path, threshold: int = DEFAULT_THRESHOLD_BYTES) -> None:
        self.folder = folder
        self.threshold = threshold

    def _path(self, reference: str) -> Path:
        digest = reference.removeprefix("sha256:")
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise action_error(
                f"malformed artifact reference {reference!r}",
                error_type="ArtifactMissing",
                retryable=False,
            )
        return self.folder / digest[:2] / f"{digest}.json"

    def put(self, text: str) -> dict[str, JsonValue]:
        """Store JSON text; the reference that stands for it."""
        digest = hashlib.sha256(text.encode()).hexdigest()
        path = self._path(digest)
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_name(f".{uuid.uuid4().hex}.tmp")
            temporary.write_text(text, encoding="utf-8")
            os.replace(temporary, path)  # readers see all of it or nothing
        return {
            ARTIFACT_KEY: f"sha256:{digest}",
            "bytes": len(text),
            "preview": text[:PREVIEW_CHARS],
        }

    def get(self, reference: dict[str, Any]) -> JsonValue:
        path = self._path(str(reference[ARTIFACT_KEY]))
        try:
            value: JsonValue = json.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise action_error(
                f"artifact {reference[ARTIFACT_KEY]} is not in {self.folder}; every worker "
                "of a run needs the same AGENT_ARTIFACT_DIR",
                error_type="ArtifactMissing",
                retryable=False,
            ) from None
        return value

    def expand(self, value: JsonValue) -> JsonValue:
        """``value`` with every reference replaced by what it stands for."""
        if is_artifact(value):
            assert isinstance(value, dict)
            return self.get(value)
        if isinstance(value, list):
            return [self.expand(item) for item in value]
        if isinstance(value, dict):
            return {key: self.expand(item) for key, item in value.items()}
        return value

    def shrink(self, value: JsonValue) -> JsonValue:
        """``value`` itself, or a reference when its JSON is over the threshold."""
        text = json.dumps(value, ensure_ascii=False)
        return self.put(text) if len(text) > self.threshold else value


class ArtifactInterceptor(Interceptor):
    """Worker interceptor: big outputs out of history, references expanded for actions."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.store)


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, store: ArtifactStore) -> None:
        super().__init__(next)
        self._store = store

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        input.args = await asyncio.to_thread(lambda: [self._expand(a) for a in input.args])
        result = await self.next.execute_activity(input)
        if isinstance(result, ActionResult):
            return await asyncio.to_thread(self._shrink, result)
        return result

    def _expand(self, argument: Any) -> Any:
        if not isinstance(argument, ActionParams):
            return argument
        data = argument.model_dump(mode="json")
        expanded = self._store.expand(data)
        return argument if expanded == data else type(argument).model_validate(expanded)

    def _shrink(self, result: ActionResult) -> ActionResult:
        undo = [
            Compensation(
                action=u.action,
                params={key: self._store.shrink(value) for key, value in u.params.items()},
                description=u.description,
            )
            for u in result.undo
        ]
        return result.model_copy(update={"output": self._store.shrink(result.output), "undo": undo})
