"""Runnable examples (``starter.py --example NAME``) and the local API they use."""
