"""File actions, confined to the run's workspace: ``file_read``, ``file_write``,
``file_list``. Writes go to a temporary file that is renamed into place, so a crash
never leaves half a file."""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import aiofiles
import aiofiles.os
from temporalio import activity

from activities.errors import action_error
from activities.formats import effective_format, parse_text, render
from activities.workspace import confine, not_found, relative_name
from contracts import ActionContext, ActionResult
from contracts.actions import NEEDS_APPROVAL, FileListParams, FileReadParams, FileWriteParams, Risk

MAX_READ_BYTES = 20_000_000
MAX_LIST_ENTRIES = 10_000


def _attempt() -> int:
    return activity.info().attempt


@activity.defn(name="file_read")
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
    async with aiofiles.open(path, encoding="utf-8", errors="replace") as handle:
        text = await handle.read()
    fmt = effective_format(params.path, params.format)
    return ActionResult(output=parse_text(text, fmt, params.path), attempt=_attempt())


@activity.defn(name="file_write")
async def file_write(context: ActionContext, params: FileWriteParams) -> ActionResult:
    """Write a file atomically (temp file + rename); parent folders are created."""
    path = confine(context.workspace, params.path)
    text = render(params.content, effective_format(params.path, params.format))
    if await aiofiles.os.path.isfile(path):
        await _check_replace(context, params.path, path, text)
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
    data = text.encode()
    return ActionResult(
        output={"path": relative_name(context.workspace, path), "bytes": len(data)},
        attempt=_attempt(),
    )


async def _check_replace(context: ActionContext, name: str, path: Path, text: str) -> None:
    """Replacing different content is destructive: the policy decides, or a person does.

    The same content again (a retried attempt that already wrote it) is not a change.
    """
    async with aiofiles.open(path, encoding="utf-8", errors="replace") as handle:
        if await handle.read() == text:
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
async def file_list(context: ActionContext, params: FileListParams) -> ActionResult:
    """Paths (relative to the workspace) under a folder that match a glob, sorted."""
    folder = confine(context.workspace, params.path)
    if not await aiofiles.os.path.isdir(folder):
        raise not_found(params.path)
    found = await asyncio.to_thread(_glob, Path(context.workspace).resolve(), folder, params)
    return ActionResult(output=list(found), attempt=_attempt())


def _glob(root: Path, folder: Path, params: FileListParams) -> list[str]:
    """Blocking directory walk, run in a thread; symlinks leading out are left out."""
    matches = folder.rglob(params.pattern) if params.recursive else folder.glob(params.pattern)
    found: list[str] = []
    for match in sorted(matches):
        real = match.resolve()
        if match.is_file() and root in real.parents:
            found.append(match.relative_to(root).as_posix())
        if len(found) >= MAX_LIST_ENTRIES:
            break
    return found
