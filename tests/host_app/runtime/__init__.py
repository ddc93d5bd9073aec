"""The host application's own start-up helpers (a top-level ``runtime`` package)."""
