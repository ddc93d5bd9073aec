"""Run a goal as a durable agent workflow: ``python starter.py --goal "..."``.

With nothing configured it starts what it needs: a tuned Temporal dev server (kept
running, state under AGENT_STATE_DIR) and, if no worker polls the task queue, a worker
inside this process. Exit code: 0 when the run succeeds, 1 when it fails, 2 for bad input.
Commands and options: ``python starter.py --help``. Installed, the same is the
``durable-agents`` command; the code is in ``durable_agents.cli``.
"""

from durable_agents.cli.app import entry

if __name__ == "__main__":
    entry()
