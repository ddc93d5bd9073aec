"""The host application's own workflows (a top-level ``workflows`` package, as in
Temporal's samples): the name durable_agents must not take."""
