"""The eval suite: goals run end to end with ``starter.py`` and checked by outcome (files,
rows, requests received), never by plan text. ``python -m evals --help``."""
