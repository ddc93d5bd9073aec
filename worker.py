"""Run a standalone agent worker: ``python worker.py [--profile NAME] [--log-format json]``.

Connects with ``temporalio.envconfig`` (TEMPORAL_ADDRESS etc.; localhost:7233 by
default), and polls AGENT_TASK_QUEUE until Ctrl-C or SIGTERM. Installed, the same is
the ``durable-agents-worker`` command; the code is in ``durable_agents.runtime.worker_main``.
"""

from durable_agents.runtime.worker_main import entry

if __name__ == "__main__":
    entry()
