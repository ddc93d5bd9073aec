"""Every JSON snippet in the README is what the code accepts: a plan validates as a
plan (and its params as its actions' params), a step as a step."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest

from durable_agents.contracts import CATALOG, Plan, Step
from durable_agents.workflows.plan_checks import validate_plan

README = (Path(__file__).parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"```json\n(.*?)```", README, re.DOTALL)


def documents(block: str) -> list[Any]:
    """One JSON document, or several objects one after another (step examples)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while at < len(block):
        if block[at].isspace():
            at += 1
            continue
        value, at = decoder.raw_decode(block, at)
        found.append(value)
    return found


def test_the_readme_has_json_snippets() -> None:
    assert len(BLOCKS) >= 3


@pytest.mark.parametrize("block", BLOCKS, ids=[f"snippet{n}" for n in range(len(BLOCKS))])
def test_each_json_snippet_is_accepted(block: str) -> None:
    for document in documents(block):
        if "steps" in document:
            plan = Plan.model_validate(document)
            assert validate_plan(plan) == []
            steps = plan.steps
        else:
            steps = [Step.model_validate(document)]
        for step in steps:
            CATALOG[step.action].params_model.model_validate(step.params)
            if step.compensate is not None and step.compensate.action is not None:
                CATALOG[step.compensate.action].params_model.model_validate(step.compensate.params)
