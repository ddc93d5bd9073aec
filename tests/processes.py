"""worker.py as a separate process, the way an operator runs it (for chaos, logging and
TLS tests), and a free port for the servers tests start."""

from __future__ import annotations

import asyncio
import socket
import sys

from tests.test_starter import REPO


async def spawn_worker(
    env: dict[str, str], *args: str, stderr: int = asyncio.subprocess.DEVNULL
) -> asyncio.subprocess.Process:
    """Start ``python worker.py ARGS`` with ``env``; stderr may be captured (PIPE)."""
    return await asyncio.create_subprocess_exec(
        sys.executable,
        str(REPO / "worker.py"),
        *args,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=stderr,
    )


def free_port() -> int:
    """A TCP port nothing listens on now (on 127.0.0.1)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])
