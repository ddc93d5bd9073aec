"""A host application with its own top-level ``workflows``, ``activities`` and ``runtime``
packages installs durable-agents as a wheel (not editable) and runs agent runs through
``AgentPlugin`` next to its own workflow (issue 13).

The wheel is built from a copy of the repository and installed into a fresh virtualenv
that sees this project's dependencies (a ``.pth`` line naming our site-packages) but not
its editable install, so ``durable_agents`` can only come from the wheel. The host app
(``tests/host_app``) runs in its own folder, so its own packages come first on sys.path.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest
from temporalio.testing import WorkflowEnvironment

from tests.scripted_llm import ScriptedLlm

ROOT = Path(__file__).resolve().parents[1]
HOST_APP = Path(__file__).resolve().parent / "host_app"
# Top-level folders that are not sources of the wheel (copying them only slows the build).
NOT_SOURCES = {
    ".git",
    ".venv",
    ".agent-state",
    ".hypothesis",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "bench",
    "build",
    "deploy",
    "docs",
    "out",
    "tests",
    "workspace",
}
STEP_TIMEOUT = 120  # seconds for one build, install or host app run
# Inherited settings that would change what the host app does (a payload key, a database).
SETTING_PREFIXES = ("AGENT_", "OPENAI_", "LLM_", "DATABASE_URL", "TEMPORAL_", "PYTHONPATH")


def _run(args: list[str | Path], cwd: Path | None = None, env: dict[str, str] | None = None) -> str:
    """Run a command; fail with its output unless it exits with 0."""
    done = subprocess.run(
        [str(arg) for arg in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=STEP_TIMEOUT,
        check=False,
    )
    assert done.returncode == 0, f"{args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _ignore(folder: str, names: list[str]) -> set[str]:
    skip = {name for name in names if name == "__pycache__" or name.endswith(".egg-info")}
    if Path(folder) == ROOT:
        skip |= NOT_SOURCES.intersection(names)
    return skip


@dataclass(frozen=True)
class HostVenv:
    python: Path
    site: Path  # its site-packages, where the wheel went


@pytest.fixture(scope="module")
def host_venv(tmp_path_factory: pytest.TempPathFactory) -> HostVenv:
    """A fresh venv holding durable-agents from a freshly built wheel."""
    tmp = tmp_path_factory.mktemp("host")
    # A copy, so the in-tree build (build/, egg-info) never touches the working tree.
    sources = tmp / "sources"
    shutil.copytree(ROOT, sources, symlinks=True, ignore=_ignore)
    # With isolation: the venv's setuptools is older than the build requires and has no
    # bdist_wheel (measured: --no-build-isolation fails; the isolated build takes ~2 s).
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "-w", tmp / "dist", sources])
    (wheel,) = (tmp / "dist").glob("durable_agents-*.whl")

    venv = tmp / "venv"
    _run([sys.executable, "-m", "venv", "--without-pip", venv])
    site = venv / Path(sysconfig.get_path("purelib")).relative_to(sys.prefix)
    assert site.is_dir(), f"no site-packages at {site}"
    # A .pth line only adds the folder: our editable finder's own .pth there is not run.
    ours = {sysconfig.get_path("purelib"), sysconfig.get_path("platlib")}
    (site / "project_dependencies.pth").write_text("\n".join(sorted(ours)) + "\n")
    _run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "--target", site, wheel])
    return HostVenv(venv / "bin" / "python", site)


def _host_env(tmp: Path, **settings: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(SETTING_PREFIXES)}
    # No bytecode written next to the host app's sources (they are in the working tree).
    env |= {"PYTHONDONTWRITEBYTECODE": "1", "AGENT_STATE_DIR": str(tmp / "state")}
    return env | settings


def _inside(path: str, folder: Path) -> bool:
    return Path(path).resolve().is_relative_to(folder.resolve())


async def test_host_app_runs_agent_runs_next_to_its_own_workflow(
    host_venv: HostVenv,
    temporal_env: WorkflowEnvironment,
    scripted_llm: ScriptedLlm,
    tmp_path: Path,
) -> None:
    workspace = tmp_path / "workspace"
    (workspace / "data").mkdir(parents=True)
    (workspace / "data" / "sales.csv").write_text(
        "region,revenue\nNorth,100\nSouth,40\nNorth,25.5\n", encoding="utf-8"
    )
    address = temporal_env.client.service_client.config.target_host
    env = _host_env(tmp_path, OPENAI_BASE_URL=scripted_llm.base_url, OPENAI_API_KEY="unused")

    output = _run(
        [host_venv.python, "main.py", address, f"host-{uuid.uuid4().hex[:8]}", workspace],
        cwd=HOST_APP,
        env=env,
    )

    report = json.loads(output.splitlines()[-1])
    modules = report["modules"]
    assert _inside(modules["durable_agents"], host_venv.site), modules  # not the repo
    assert _inside(modules["durable_agents.workflows.agent"], host_venv.site), modules
    for own in ("workflows", "activities", "runtime"):
        assert _inside(modules[own], HOST_APP), modules
    assert report["greeting"] == "hello OPS"
    assert report["status"] == "succeeded", report
    assert report["steps"] == dict.fromkeys(["read", "total", "write", "announce"], "succeeded")
    assert report["announced"] == {"announced": "TOTALS FOR NORTH ARE IN"}  # its own action
    totals = json.loads((workspace / "out" / "revenue.json").read_text(encoding="utf-8"))
    assert sorted((row["region"], row["revenue"]) for row in totals) == [
        ("North", 125.5),
        ("South", 40),
    ]
    assert scripted_llm.requests == []  # a given plan without review needs no LLM


def _files(folder: Path) -> set[str]:
    return {
        path.relative_to(folder).as_posix()
        for path in folder.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_the_wheel_holds_every_file_and_the_example_data(
    host_venv: HostVenv, tmp_path: Path
) -> None:
    """Every file of the linked folders is installed (pyproject lists packages and data by
    hand); the console scripts' modules import from the wheel, which installs no generic
    top-level names; the examples find their data."""
    expected = set()
    for link in (ROOT / "durable_agents").iterdir():
        if link.name == "__pycache__":  # bytecode of a local run, not a source
            continue
        real = link.resolve()  # rglob does not follow the links
        names = {f"{link.name}/{name}" for name in _files(real)} if real.is_dir() else set()
        expected |= names or {link.name}
    assert expected - _files(host_venv.site / "durable_agents") == set()
    top_level = {path.name for path in host_venv.site.iterdir()}
    assert not top_level & {"starter.py", "worker.py", "workflows", "activities", "runtime"}

    workspace = tmp_path / "workspace"
    check = (
        "import sys; from pathlib import Path;"
        "import durable_agents.cli.app, durable_agents.runtime.worker_main;"
        "from durable_agents.examples.catalog import EXAMPLES, prepare_workspace;"
        "[example.plan('http://127.0.0.1:1') for example in EXAMPLES.values()];"
        "prepare_workspace(Path(sys.argv[1]))"
    )
    _run([host_venv.python, "-c", check, workspace], cwd=tmp_path, env=_host_env(tmp_path))
    assert (workspace / "data" / "sales.csv").read_text(encoding="utf-8").startswith("date,")
