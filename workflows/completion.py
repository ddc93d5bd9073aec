"""Checks a run's completion in code, before any reviewer sees it.

A goal that says "write ... to out/revenue.json" is not done until a step wrote that file.
Small reviewer models call such runs "done" anyway (measured: 5 of 5 runs whose write
step was missing), so the workflow decides this itself and re-plans with the reason.
"""

from __future__ import annotations

import posixpath
import re
from collections.abc import Iterable, Mapping

from durable_agents.contracts.plan import Step
from durable_agents.contracts.run import StepState, StepStatus

# "write/save/export/store ... to|into|as <path.ext>"; the verb keeps "read data/x.csv"
# out, the extension keeps ordinary words out; a dot inside a word (data/x.csv) does not end
# the sentence. Quotes and trailing punctuation are cut.
_PROMISED_FILE = re.compile(
    r"\b(?:write|writes|writing|save|saves|saving|store|export|output|put)\b"
    r"(?:[^.;\n]|\.(?=\S))*?\b(?:to|into|as)\s+[`'\"]?(?P<path>[\w./-]*\w\.[A-Za-z0-9]{1,5})\b",
    re.IGNORECASE,
)


def promised_files(goal: str) -> list[str]:
    """Workspace paths the goal asks to be written, normalised, in order of mention."""
    found: list[str] = []
    for match in _PROMISED_FILE.finditer(goal):
        path = posixpath.normpath(match.group("path"))
        if path not in found and not path.startswith(("/", "..")):
            found.append(path)
    return found


# a workspace path as goals write one: folders, a name, an extension (no URL: "://" is cut)
_NAMED_PATH = re.compile(r"(?<![\w/.:-])[`'\"]?(?P<path>(?:[\w-]+/)*[\w-]+\.[A-Za-z0-9]{1,5})\b")


def named_paths(goal: str) -> list[str]:
    """Every workspace path the goal names (read or written), normalised, in order."""
    found: list[str] = []
    for match in _NAMED_PATH.finditer(goal):
        path = posixpath.normpath(match.group("path"))
        if path not in found:
            found.append(path)
    return found


def written_named_files(goal: str, written: Iterable[str]) -> list[str]:
    """Files the goal names that the run wrote, in order of mention, beyond those it asks
    to be written in so many words: "list the regions as a JSON array in out/r.json" has
    no "write ... to" (measured: an empty list there passed unchecked)."""
    done, promised = set(written), promised_files(goal)
    return [path for path in named_paths(goal) if path in done and path not in promised]


_PER_GROUP = re.compile(
    r"\b(?:per|for\s+(?:each|every))\s+(?P<group>[a-z_][\w-]*)"
    r"|\b(?:totals?|sums?|counts?|averages?|means?|group(?:ed)?)\b[^.;\n]*?\bby\s+"
    r"(?P<by>[a-z_][\w-]*)",
    re.IGNORECASE,
)


# "price per unit", "cost per head": a rate, one number, not a result per group
_RATES = frozenset(
    [
        "unit",
        "units",
        "item",
        "items",
        "piece",
        "hour",
        "minute",
        "second",
        "capita",
        "person",
        "head",
        "cent",
        "percent",
        "mile",
        "kilometer",
        "km",
        "kg",
        "pound",
        "liter",
        "litre",
        "gallon",
    ]
)


def per_group(goal: str) -> str | None:
    """What the goal asks one result for ("total per region", "count by city"), or None:
    such a result is one value per group, never a single number."""
    for found in _PER_GROUP.finditer(goal):
        group = found.group("group") or found.group("by")
        if group.lower() not in _RATES:
            return group
    return None


_ONE_NUMBER = re.compile(r"\b(?:the|a|one|single)\s+(?:number|figure)\b", re.IGNORECASE)


def one_number(goal: str) -> bool:
    """Whether the goal asks for a single number ("write the number to out/total.json")
    and not one per group: such a file holds a number, not a table of them (measured: a
    recalled per-region plan wrote {"North": 643, ...} for "the total revenue")."""
    return bool(_ONE_NUMBER.search(goal)) and per_group(goal) is None


_A_LIST = re.compile(r"\b(?:as\s+)?an?\s+(?:JSON\s+)?(?:array|list)\b", re.IGNORECASE)


def asks_list(goal: str) -> bool:
    """Whether the goal asks for its file as a list ("save them as a JSON array"), not one
    value per group: such a file holds a JSON list (measured with memory on: "keep those
    whose city is Paris and save them as a JSON array" wrote the count, 3)."""
    return bool(_A_LIST.search(goal)) and per_group(goal) is None


_EDIT_VERB = re.compile(
    r"\b(?:set|sets|change|changes|update|updates|modify|edit|rename|replace|remove|add)\b",
    re.IGNORECASE,
)
_IN_FILE = re.compile(
    r"\b(?:in|of)\s+[`'\"]?(?P<path>[\w./-]*\w\.[A-Za-z0-9]{1,5})\b", re.IGNORECASE
)


def edited_files(goal: str) -> list[str]:
    """Files the goal changes in place ("in data/config.json, set debug to true", "change
    the port in data/config.json"): a step must write them back."""
    if not _EDIT_VERB.search(goal) or promised_files(goal):
        return []  # a goal that writes its result elsewhere leaves its inputs alone
    found: list[str] = []
    for match in _IN_FILE.finditer(goal):
        path = posixpath.normpath(match.group("path"))
        if path not in found and not path.startswith(("/", "..")):
            found.append(path)
    return found


_NUMBERS = {"one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "a": 1, "a single": 1}
_SENTENCES = re.compile(
    r"\b(?:in|with|to|of)\s+(?:at\s+most\s+)?(?P<count>\d+|one|two|three|four|five|a single|a)"
    r"\s+sentences?\b",
    re.IGNORECASE,
)


def asked_sentences(goal: str) -> int | None:
    """How many sentences the goal allows ("summarize ... in two sentences"), or None."""
    found = _SENTENCES.search(goal)
    if found is None:
        return None
    count = found.group("count").lower()
    return int(count) if count.isdigit() else _NUMBERS[count]


_URL = re.compile(r"https?://[^\s'\"<>`]+", re.IGNORECASE)


def named_urls(goal: str) -> list[str]:
    """The URLs the goal names, trailing punctuation cut."""
    found: list[str] = []
    for match in _URL.finditer(goal):
        url = match.group(0).rstrip(".,;:!?)]}")
        if url not in found:
            found.append(url)
    return found


def unrequested_urls(
    goal: str, states: Iterable[StepState], definitions: Mapping[str, Step]
) -> list[str]:
    """URLs the goal names that no succeeded http_request step called (a URL built from a
    reference counts as calling any): the run's data did not come from where the goal
    says. Measured: a "fetch ... from <url>" goal filtered records it made up itself."""
    called: list[str] = []
    for state in states:
        if state.action != "http_request" or state.status is not StepStatus.SUCCEEDED:
            continue
        url = definitions[state.id].params.get("url") if state.id in definitions else None
        if not isinstance(url, str) or "${" in url:
            return []
        called.append(url.rstrip("/"))
    if not _CALL_VERB.search(goal):
        return []  # a URL merely mentioned ("write the link ...") need not be called
    return [
        url
        for url in named_urls(goal)
        if not any(c.startswith(url.rstrip("/")) or url.startswith(c) for c in called)
    ]


_CALL_VERB = re.compile(
    r"\b(?:fetch|get|download|call|post|put|patch|send|look\s+up|request|retrieve|from|at)\b",
    re.IGNORECASE,
)


def written_files(states: Iterable[StepState]) -> set[str]:
    """Paths that succeeded ``file_write`` steps report having written."""
    written: set[str] = set()
    for state in states:
        if state.action != "file_write" or state.status is not StepStatus.SUCCEEDED:
            continue
        path = state.output.get("path") if isinstance(state.output, dict) else None
        if isinstance(path, str):
            written.add(posixpath.normpath(path))
    return written


def missing_files(goal: str, states: Iterable[StepState]) -> list[str]:
    """Files the goal promises that no succeeded step wrote; empty when nothing is missing."""
    written = written_files(states)
    return [path for path in promised_files(goal) if path not in written]
