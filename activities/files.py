"""File actions, confined to the run's workspace: ``file_read``, ``file_write``,
``file_append``, ``file_delete``, ``file_move``, ``file_list``. Writes go to a temporary
file that is renamed into place, so a crash never leaves half a file; retried attempts
do not repeat what an earlier attempt already did. Every change returns its undo (the
previous content, up to ``UNDO_CAPTURE_BYTES``), which the run uses if it fails later."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import aiofiles
import aiofiles.os
from pydantic import JsonValue
from temporalio import activity

from durable_agents.activities.errors import action_error, file_system_errors
from durable_agents.activities.formats import (
    Format,
    effective_format,
    parse_csv,
    parse_text,
    render,
)
from durable_agents.activities.workspace import (
    confine,
    not_found,
    relative_name,
    state_folders,
    visible,
    workspace_root,
    writable_file,
)
from durable_agents.contracts import ActionContext, ActionResult, Compensation
from durable_agents.contracts.action_spec import NEEDS_APPROVAL, Risk
from durable_agents.contracts.actions import (
    FileAppendParams,
    FileDeleteParams,
    FileListParams,
    FileMoveParams,
    FileReadParams,
    FileWriteParams,
)

MAX_READ_BYTES = 20_000_000
MAX_LIST_ENTRIES = 10_000
UNDO_CAPTURE_BYTES = 1_000_000  # previous content kept (in history) to undo a change


def _attempt() -> int:
    return activity.info().attempt


@activity.defn(name="file_read")
@file_system_errors
async def file_read(context: ActionContext, params: FileReadParams) -> ActionResult:
    """Read a file; .csv/.json are parsed (see ``FileReadParams.format``)."""
    path = confine(context.workspace, params.path)
    if not await aiofiles.os.path.isfile(path):
        raise not_found(params.path)
    size = (await aiofiles.os.stat(path)).st_size
    if size > MAX_READ_BYTES:
        raise action_error(
            f"{params.path} is {size} bytes; the limit is {MAX_READ_BYTES}",
            error_type="FileTooLarge",
            retryable=False,
        )
    fmt = effective_format(params.path, params.format)
    data = await asyncio.to_thread(_load, path, fmt, params.path)
    # JSON by construction: skip pydantic's validation, which would copy every record
    return ActionResult.model_construct(output=data, attempt=_attempt())


def _load(path: Path, fmt: Format, name: str) -> JsonValue:
    """Read and parse (blocking, in a thread); CSV is parsed as it is read, never whole."""
    newline = "" if fmt == "csv" else None  # the csv module handles line ends itself
    with path.open(encoding="utf-8", errors="replace", newline=newline) as handle:
        if fmt == "csv":
            return parse_csv(handle, name)
        return parse_text(handle.read(), fmt, name)


@activity.defn(name="file_write")
@file_system_errors
async def file_write(context: ActionContext, params: FileWriteParams) -> ActionResult:
    """Write a file atomically (temp file + rename); parent folders are created."""
    path = writable_file(context.workspace, params.path, "file_write")
    name = relative_name(context.workspace, path)
    text = render(params.content, effective_format(params.path, params.format))
    if not await aiofiles.os.path.isfile(path):
        undo = _removal(name)
    elif _attempt() > 1 and await _read_text(path) == text:
        undo = _unknown_before(name)
    else:
        undo = await _restoring(path, name)
        await _check_replace(context, params.path, path, text)
    await _atomic_write(path, text)
    return ActionResult(
        output={"path": name, "bytes": len(text.encode())}, attempt=_attempt(), undo=[undo]
    )


def _removal(name: str) -> Compensation:
    return Compensation(
        action="file_delete",
        params={"path": name, "missing_ok": True},
        description=f"delete {name}, which the run created",
    )


def _rewrite(name: str, text: str) -> Compensation:
    return Compensation(
        action="file_write",
        params={"path": name, "content": text, "format": "text"},
        description=f"restore the previous content of {name}",
    )


def _unknown_before(name: str) -> Compensation:
    return Compensation(
        action=None,
        description=f"cannot tell what {name} held before: an earlier attempt of the same "
        "call may already have changed it",
    )


async def _restoring(path: Path, name: str) -> Compensation:
    """The undo that puts back the file at ``path`` as it is now."""
    size = (await aiofiles.os.stat(path)).st_size
    if size > UNDO_CAPTURE_BYTES:
        return Compensation(
            action=None,
            description=f"cannot restore {name}: it held {size} bytes, more than the "
            f"{UNDO_CAPTURE_BYTES} kept for undo",
        )
    async with aiofiles.open(path, "rb") as handle:
        data = await handle.read()
    try:
        return _rewrite(name, data.decode("utf-8"))
    except UnicodeDecodeError:
        return Compensation(action=None, description=f"cannot restore {name}: it is not text")


async def _atomic_write(path: Path, text: str) -> None:
    """Temp file + fsync + rename: readers see the old or the new file, never half. The
    temporary file sits next to ``path``, which ``writable_file`` put inside the workspace
    (never the workspace itself), so nothing is created outside it."""
    await aiofiles.os.makedirs(path.parent, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    try:
        async with aiofiles.open(temporary, "w", encoding="utf-8") as handle:
            await handle.write(text)
            await handle.flush()
            os.fsync(handle.fileno())
        await aiofiles.os.replace(temporary, path)
    finally:
        if await aiofiles.os.path.exists(temporary):
            await aiofiles.os.remove(temporary)


async def _read_text(path: Path) -> str:
    async with aiofiles.open(path, encoding="utf-8", errors="replace") as handle:
        return await handle.read()


@activity.defn(name="file_append")
@file_system_errors
async def file_append(context: ActionContext, params: FileAppendParams) -> ActionResult:
    """Append atomically (the whole new file is renamed into place). A retry after an
    attempt that already appended this text does not append it twice."""
    path = writable_file(context.workspace, params.path, "file_append")
    name = relative_name(context.workspace, path)
    addition = params.content if isinstance(params.content, str) else render(params.content, "json")
    existed = await aiofiles.os.path.isfile(path)
    existing = await _read_text(path) if existed else ""
    if _attempt() > 1 and addition and existing.endswith(addition):
        before = existing[: -len(addition)]  # an earlier attempt appended it
    else:
        before = existing
        existing += addition
        await _atomic_write(path, existing)
    if not existed or (not before and _attempt() > 1):
        undo = _removal(name)  # (a retry that finds only its own text: it created the file)
    elif len(before.encode()) > UNDO_CAPTURE_BYTES:
        undo = Compensation(
            action=None, description=f"cannot restore {name}: over {UNDO_CAPTURE_BYTES} bytes"
        )
    else:
        undo = _rewrite(name, before)
    return ActionResult(
        output={"path": name, "bytes": len(existing.encode())}, attempt=_attempt(), undo=[undo]
    )


@activity.defn(name="file_delete")
@file_system_errors
async def file_delete(context: ActionContext, params: FileDeleteParams) -> ActionResult:
    """Delete a file; a retry that finds it gone (deleted by an earlier attempt) succeeds."""
    path = confine(context.workspace, params.path, writing=True)
    if await aiofiles.os.path.isdir(path):
        raise action_error(
            f"{params.path} is a folder; file_delete removes single files",
            error_type="IsAFolder",
            retryable=False,
        )
    deleted = await aiofiles.os.path.isfile(path)
    undo: list[Compensation] = []
    if deleted:
        undo = [await _restoring(path, relative_name(context.workspace, path))]
        await aiofiles.os.remove(path)
    elif not (params.missing_ok or _attempt() > 1):
        raise not_found(params.path)
    elif _attempt() > 1:
        undo = [_unknown_before(params.path)]
    return ActionResult(
        output={"path": params.path, "deleted": deleted}, attempt=_attempt(), undo=undo
    )


@activity.defn(name="file_move")
@file_system_errors
async def file_move(context: ActionContext, params: FileMoveParams) -> ActionResult:
    """Rename within the workspace (atomic on one filesystem); keeps an existing
    destination unless ``overwrite``; a retry after a done move succeeds."""
    source = confine(context.workspace, params.source, writing=True)
    destination = writable_file(context.workspace, params.destination, "file_move")
    moved_before = _attempt() > 1 and await aiofiles.os.path.isfile(destination)
    to_name = relative_name(context.workspace, destination)
    back = Compensation(
        action="file_move",
        params={"source": to_name, "destination": relative_name(context.workspace, source)},
        description=f"move {to_name} back to {params.source}",
    )
    if not await aiofiles.os.path.isfile(source):
        if moved_before:
            return ActionResult(output={"to": params.destination}, attempt=_attempt(), undo=[back])
        raise not_found(params.source)
    undo = [back]
    if await aiofiles.os.path.exists(destination):
        if not params.overwrite:
            raise action_error(
                f"{params.destination} exists; set overwrite to true to replace it",
                error_type="DestinationExists",
                retryable=False,
            )
        undo.append(await _restoring(destination, to_name))  # after moving back: restore it
    await aiofiles.os.makedirs(destination.parent, exist_ok=True)
    await aiofiles.os.replace(source, destination)
    return ActionResult(
        output={"from": params.source, "to": to_name}, attempt=_attempt(), undo=undo
    )


async def _check_replace(context: ActionContext, name: str, path: Path, text: str) -> None:
    """Replacing different content is destructive: the policy decides, or a person does.

    The same content again (a retried attempt that already wrote it) is not a change.
    """
    if await _read_text(path) == text:
        return
    decision = context.policy.decision_for(Risk.DESTRUCTIVE)
    if decision == "allow" or context.approved:
        return
    reason = f"{name} exists; writing replaces its content"
    if decision == "block":
        raise action_error(
            f"blocked by the run's policy: {reason}",
            error_type="BlockedByPolicy",
            retryable=False,
        )
    raise action_error(reason, error_type=NEEDS_APPROVAL, retryable=False)


@activity.defn(name="file_list")
@file_system_errors
async def file_list(context: ActionContext, params: FileListParams) -> ActionResult:
    """Paths (relative to the workspace) under a folder that match a glob, sorted."""
    folder = confine(context.workspace, params.path)
    if not await aiofiles.os.path.isdir(folder):
        raise not_found(params.path)
    found = await asyncio.to_thread(_glob, workspace_root(context.workspace), folder, params)
    return ActionResult(output=list(found), attempt=_attempt())


def _glob(root: Path, folder: Path, params: FileListParams) -> list[str]:
    """Blocking directory walk, run in a thread; symlinks leading out and protected
    paths (hidden, keys, the state folder; as named or as resolved) are left out."""
    matches = folder.rglob(params.pattern) if params.recursive else folder.glob(params.pattern)
    found: list[str] = []
    state = state_folders()
    for match in sorted(matches):
        real = match.resolve()
        name = match.relative_to(root).as_posix()
        if (
            match.is_file()
            and root in real.parents
            and visible(name)
            and visible(real.relative_to(root).as_posix())
            and not any(real == s or s in real.parents for s in state)
        ):
            found.append(name)
        if len(found) >= MAX_LIST_ENTRIES:
            break
    return found
