"""The command line behind ``starter.py``: start a run, follow it, decide, steer, inspect,
schedule.

``commands.COMMANDS`` is the table of commands; each handler lives in a short module
(``approvals``, ``control``, ``inspection``, ``schedules``, ``start``); the rest are what they use.
"""

from durable_agents.cli.app import main

__all__ = ["main"]
