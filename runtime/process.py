"""Leaving the process after a command or a worker ended."""

from __future__ import annotations

import os
import sys
from typing import NoReturn


def exit_now(code: int) -> NoReturn:
    """Flush and exit without the interpreter's shutdown, which can crash on the SDK's
    native threads (temporalio/sdk-python#300)."""
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
