"""Bad input on the command line: one line on stderr and exit code 2, never a traceback."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from temporalio.service import RPCError


class UsageProblem(Exception):
    """Bad command-line input; printed as one line, exit code 2."""


@contextlib.contextmanager
def refused_for(run_id: str) -> Iterator[None]:
    """The server refusing a request about RUN (unknown id, closed run) is bad input."""
    try:
        yield
    except RPCError as exc:
        raise UsageProblem(f"run {run_id}: {exc.message}") from exc
