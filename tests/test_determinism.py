"""Workflow code stays deterministic by construction: every module it can run (the
``workflows``, ``rules`` and ``contracts`` layers) imports only modules known to do no
I/O, and reads no clock, environment, randomness, file or event-loop timer.

``AgentWorkflow`` runs outside Temporal's sandbox (``sandboxed=False``): its modules were
already passed through the sandbox (re-importing them per run cost memory and CPU), so
the sandbox guarded only the workflow class's own module. This check guards them all,
before any code runs; the replay tests (tests/test_histories.py and each workflow
test's ``assert_replays``) guard behaviour.
"""

from __future__ import annotations

import ast
from pathlib import Path

from durable_agents.contracts import WORKFLOW_NAME
from durable_agents.workflows.agent import AgentWorkflow

ROOT = Path(__file__).parents[1]
LAYERS = ("workflows", "rules", "contracts")
# Modules workflow code may import: pure computation, or Temporal's workflow API.
ALLOWED_IMPORTS = {
    "__future__",
    "asyncio",  # tasks, locks, gather on the workflow's own loop; timers are refused below
    "collections",
    "dataclasses",
    "datetime",  # types and arithmetic; reading the clock is refused below
    "enum",
    "functools",
    "hashlib",
    "inspect",
    "ipaddress",
    "jmespath",
    "json",
    "operator",
    "pglast",
    "posixpath",
    "pydantic",
    "re",
    "temporalio",
    "typing",
    "unicodedata",
    "urllib.parse",
    "warnings",
    "durable_agents",
}
# Attribute reads that are I/O or non-deterministic in workflow code.
REFUSED_ATTRIBUTES = {
    "datetime": {"now", "utcnow", "today", "fromtimestamp"},
    "date": {"today", "fromtimestamp"},
    "asyncio": {"sleep", "wait_for", "timeout", "to_thread", "get_event_loop", "run"},
}
REFUSED_NAMES = {"open", "print", "exec", "eval", "__import__"}


def problems(source: str, where: str) -> list[str]:
    """What in one module's source would make workflow code non-deterministic."""
    found = []
    for node in ast.walk(ast.parse(source)):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module]
        for name in names:
            if not any(name == ok or name.startswith(f"{ok}.") for ok in ALLOWED_IMPORTS):
                found.append(f"{where}:{node.lineno} imports {name}")
        if (
            isinstance(node, ast.Attribute)
            and isinstance(node.value, ast.Name)
            and node.attr in REFUSED_ATTRIBUTES.get(node.value.id, set())
        ):
            found.append(f"{where}:{node.lineno} reads {node.value.id}.{node.attr}")
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Name)
            and node.func.id in REFUSED_NAMES
        ):
            found.append(f"{where}:{node.lineno} calls {node.func.id}()")
    return found


def test_workflow_code_imports_and_reads_nothing_non_deterministic() -> None:
    found = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).glob("*.py")):
            found += problems(path.read_text(), f"{layer}/{path.name}")
    assert found == [], (
        "workflow code must be deterministic: use workflow.now(), workflow.random(), "
        "workflow.uuid4(), workflow.sleep(), and activities for I/O; a new import is "
        f"allowed only if it does no I/O (ALLOWED_IMPORTS): {found}"
    )


def test_the_check_finds_what_the_sandbox_would_have_refused() -> None:
    source = (
        "import os\n"
        "import random\n"
        "from time import time\n"
        "from datetime import datetime\n"
        "import asyncio\n"
        "stamp = datetime.now()\n"
        "async def f():\n"
        "    await asyncio.sleep(1)\n"
        "    return open('x').read()\n"
    )
    assert problems(source, "m.py") == [
        "m.py:1 imports os",
        "m.py:2 imports random",
        "m.py:3 imports time",
        "m.py:6 reads datetime.now",
        "m.py:8 reads asyncio.sleep",
        "m.py:9 calls open()",
    ]


def test_the_agent_workflow_runs_outside_the_sandbox() -> None:
    definition = getattr(AgentWorkflow, "__temporal_workflow_definition")
    assert definition.name == WORKFLOW_NAME
    assert definition.sandboxed is False
