"""The installed name of the project: ``durable_agents.workflows``, ``.activities``, ...

The repository keeps its folders at the top (``workflows/``, ``activities/``, ...); this
package links to them, so an application that embeds the worker and has its own
``workflows`` or ``activities`` packages never clashes with ours.
"""
