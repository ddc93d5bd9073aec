"""A run's policy from the command line: a TOML or JSON file plus a few flags on top."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

from pydantic import ValidationError

from durable_agents.contracts import Policy
from durable_agents.contracts.errors import format_validation_error


class PolicyFileProblem(Exception):
    """The policy file cannot be read or is invalid; the message says where and why."""


def load_policy(
    path: Path | None,
    *,
    allow_hosts: list[str] | None = None,
    approval_timeout_seconds: float | None = None,
) -> Policy:
    """The default policy, or ``path`` (``.toml`` or ``.json``), with flags applied last."""
    data: dict[str, object] = {}
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
            data = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
        except OSError as exc:
            raise PolicyFileProblem(f"cannot read policy file {path}: {exc.strerror}") from exc
        except (tomllib.TOMLDecodeError, json.JSONDecodeError) as exc:
            raise PolicyFileProblem(f"policy file {path} cannot be parsed: {exc}") from exc
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        problems = format_validation_error(exc, "policy")
        raise PolicyFileProblem(f"policy file {path}: {problems}") from exc
    updates: dict[str, object] = {}
    if allow_hosts:
        updates["allow_hosts"] = [*policy.allow_hosts, *allow_hosts]
    if approval_timeout_seconds is not None:
        if approval_timeout_seconds <= 0:
            raise PolicyFileProblem("--approval-timeout must be more than 0 seconds")
        updates["approval_timeout_seconds"] = approval_timeout_seconds
    return policy.model_copy(update=updates)
