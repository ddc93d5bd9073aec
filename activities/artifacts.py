"""The artifact store and the activity interceptor that keeps big values out of history.

Every action's output (and undo params) above ``threshold`` bytes of JSON is written to
the store, content-addressed within the run that made it (so a retried attempt writes
the same file), and replaced by a reference bound to that run, with a short preview;
every action's params get referenced values back before the action runs, if the calling
run may read them (``contracts.artifacts.may_read``): a reference that names another
run, or none, fails the step with a non-retryable ``ArtifactNotBound`` error, whoever
wrote it (a plan, an LLM, a file or an HTTP response). The interceptor also holds every
activity result to the bounds of ``activities.limits`` (depth, number of values).
Workers that share runs must share the store's folder (AGENT_ARTIFACT_DIR), as they
share the Temporal server.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import json
import os
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import JsonValue
from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
)

from durable_agents.activities.errors import action_error
from durable_agents.activities.limits import check_result, load_json
from durable_agents.contracts import ActionContext, ActionParams, ActionResult
from durable_agents.contracts.artifacts import (
    ARTIFACT_KEY,
    RUN_KEY,
    is_artifact,
    may_read,
    mentions_artifact,
)

DEFAULT_THRESHOLD_BYTES = 256_000
JSON_FIELD: object = JsonValue  # a params field of this type takes any stored value as is
PREVIEW_CHARS = 500
WRITE_CHUNK_CHARS = 1 << 20


@dataclass(frozen=True)
class Reader:
    """Who asks to expand references: the calling run and the runs it was granted."""

    run: str
    granted: Sequence[str] = ()


class ArtifactStore:
    """Content-addressed JSON files under one folder, one subfolder per run."""

    def __init__(self, folder: Path, threshold: int = DEFAULT_THRESHOLD_BYTES) -> None:
        self.folder = folder
        self.threshold = threshold

    def _path(self, run: str, reference: str) -> Path:
        digest = reference.removeprefix("sha256:")
        if len(digest) != 64 or not all(c in "0123456789abcdef" for c in digest):
            raise action_error(
                f"malformed artifact reference {reference!r}",
                error_type="ArtifactMissing",
                retryable=False,
            )
        return self._scope(run) / digest[:2] / f"{digest}.json"

    def _scope(self, run: str) -> Path:
        """The run's own folder (named by a hash: any workflow id is a safe name)."""
        return self.folder / "runs" / hashlib.sha256(run.encode()).hexdigest()[:32]

    def put(self, text: str, run: str) -> dict[str, JsonValue]:
        """Store JSON text for ``run``; the reference that stands for it."""
        return self._write([text], run)

    def _write(self, pieces: Iterable[str], run: str) -> dict[str, JsonValue]:
        """Encode, hash and write JSON text piece by piece (never a second whole copy),
        then rename it to its content address; a retried attempt finds it there."""
        scope = self._scope(run)
        scope.mkdir(parents=True, exist_ok=True)
        temporary = scope / f".{uuid.uuid4().hex}.tmp"
        digest, size, preview = hashlib.sha256(), 0, ""
        try:
            with temporary.open("wb") as handle:
                for piece in pieces:
                    for start in range(0, len(piece), WRITE_CHUNK_CHARS):
                        chunk = piece[start : start + WRITE_CHUNK_CHARS]
                        if len(preview) < PREVIEW_CHARS:
                            preview += chunk[: PREVIEW_CHARS - len(preview)]
                        size += len(chunk)
                        data = chunk.encode()
                        digest.update(data)
                        handle.write(data)
            path = self._path(run, digest.hexdigest())
            if not path.exists():
                path.parent.mkdir(exist_ok=True)
                os.replace(temporary, path)  # readers see all of it or nothing
        finally:
            temporary.unlink(missing_ok=True)
        return {
            ARTIFACT_KEY: f"sha256:{digest.hexdigest()}",
            RUN_KEY: run,
            "bytes": size,
            "preview": preview,
        }

    def get(self, reference: Mapping[str, Any], reader: Reader) -> JsonValue:
        """The value a reference stands for, if ``reader`` may read it."""
        name, owner = reference[ARTIFACT_KEY], reference.get(RUN_KEY)
        if not isinstance(owner, str) or not may_read(owner, reader.run, reader.granted):
            made_by = f"run {owner!r}" if isinstance(owner, str) else "no run"
            raise action_error(
                f"artifact {name} was stored by {made_by}, not by this run ({reader.run}) or "
                "one of its sub-goals; a step can use only outputs its own run produced: "
                "reference them as ${steps.<id>.output}",
                error_type="ArtifactNotBound",
                retryable=False,
            )
        path = self._path(owner, str(name))
        try:
            value = load_json(path.read_bytes())
        except FileNotFoundError:
            raise action_error(
                f"artifact {name} of run {owner} is not in {self.folder}; every worker "
                "of a run needs the same AGENT_ARTIFACT_DIR",
                error_type="ArtifactMissing",
                retryable=False,
            ) from None
        return value

    def expand(self, value: JsonValue, reader: Reader) -> JsonValue:
        """``value`` with every reference replaced by what it stands for."""
        if is_artifact(value):
            assert isinstance(value, dict)
            return self.get(value, reader)
        if isinstance(value, list):
            return [self.expand(item, reader) for item in value]
        if isinstance(value, dict):
            return {key: self.expand(item, reader) for key, item in value.items()}
        return value

    def shrink(self, value: JsonValue, run: str) -> JsonValue:
        """``value`` itself, or a reference bound to ``run`` when its JSON is over the
        threshold."""
        pieces = json_pieces(value)
        head: list[str] = []
        size = 0
        for piece in pieces:
            head.append(piece)
            size += len(piece)
            if size > self.threshold:
                return self._write(itertools.chain(head, pieces), run)
        return value


def json_pieces(value: JsonValue) -> Iterator[str]:
    """``json.dumps(value, ensure_ascii=False)`` in pieces: a list or object item by item
    (each by the C encoder), so a big output is never held twice as text."""
    if isinstance(value, list) and value:
        yield "["
        for index, item in enumerate(value):
            yield (", " if index else "") + json.dumps(item, ensure_ascii=False)
        yield "]"
    elif isinstance(value, dict) and value and all(isinstance(key, str) for key in value):
        yield "{"
        for index, (key, item) in enumerate(value.items()):
            pair = f"{json.dumps(key, ensure_ascii=False)}: {json.dumps(item, ensure_ascii=False)}"
            yield (", " if index else "") + pair
        yield "}"
    else:
        yield json.dumps(value, ensure_ascii=False)


class ArtifactInterceptor(Interceptor):
    """Worker interceptor: big outputs out of history, references expanded for actions,
    every result held to the limits of ``activities.limits``."""

    def __init__(self, store: ArtifactStore) -> None:
        self.store = store

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _Inbound(next, self.store)


def reader_of(args: Sequence[Any]) -> Reader:
    """The calling run, as Temporal names it (the workflow id; the context's run id only
    outside a workflow), and the runs workflow code granted it in the action context."""
    context = next((a for a in args if isinstance(a, ActionContext)), None)
    run = activity.info().workflow_id or (context.run_id if context else "")
    return Reader(run, tuple(context.artifact_runs) if context else ())


class _Inbound(ActivityInboundInterceptor):
    def __init__(self, next: ActivityInboundInterceptor, store: ArtifactStore) -> None:
        super().__init__(next)
        self._store = store

    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        reader = reader_of(input.args)
        input.args = await asyncio.to_thread(lambda: [self._expand(a, reader) for a in input.args])
        result = await self.next.execute_activity(input)
        return await asyncio.to_thread(self._finish, result, reader.run)

    def _expand(self, argument: Any, reader: Reader) -> Any:
        """Params with references expanded. A JSON-typed field takes the stored value as
        it is (it was JSON when stored): no validation copy of a big value."""
        if not isinstance(argument, ActionParams):
            return argument
        updates: dict[str, Any] = {}
        validate = False
        for name, field in type(argument).model_fields.items():
            value = getattr(argument, name)
            if mentions_artifact(value):
                updates[name] = self._store.expand(value, reader)
                validate |= field.annotation is not JSON_FIELD
        if not updates:
            return argument
        if validate:
            return type(argument).model_validate(argument.model_dump(mode="json") | updates)
        return argument.model_copy(update=updates)

    def _finish(self, result: Any, run: str) -> Any:
        check_result(result, activity.info().activity_type)
        return self._shrink(result, run) if isinstance(result, ActionResult) else result

    def _shrink(self, result: ActionResult, run: str) -> ActionResult:
        undo = [
            u.model_copy(
                update={"params": {k: self._store.shrink(v, run) for k, v in u.params.items()}}
            )
            for u in result.undo
        ]
        output = self._store.shrink(result.output, run)
        return result.model_copy(update={"output": output, "undo": undo})
