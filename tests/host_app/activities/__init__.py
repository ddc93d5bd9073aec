"""The host application's own activities (a top-level ``activities`` package)."""
