"""The compose file and the Dockerfile, checked without Docker (no engine on this machine):
valid YAML; pinned images; Temporal's own shape (schema job, server, namespace job) with
every wait on a condition its target can meet; volumes, secrets, scripts and config that
exist; the search attributes the agent publishes; a worker built from this repository,
whose image compiles its bytecode and resolves ``worker:`` workspaces under /workspace."""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

import yaml

from durable_agents.contracts.visibility import SEARCH_ATTRIBUTES
from durable_agents.runtime.visibility import create_commands

REPO = Path(__file__).parents[1]
COMPOSE = REPO / "docker-compose.temporal.yml"
PINNED_IMAGE = re.compile(r"^[a-z0-9./_-]+:[A-Za-z0-9._-]+$")
CONDITIONS = {"service_started", "service_healthy", "service_completed_successfully"}
SCHEMA_JOB, NAMESPACE_JOB = "temporal-admin-tools", "temporal-create-namespace"


def compose() -> dict[str, Any]:
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def services() -> dict[str, dict[str, Any]]:
    found = compose()["services"]
    assert isinstance(found, dict)
    return found


def waits(service: dict[str, Any]) -> dict[str, str]:
    """depends_on as {service: condition}; the long form only, so every wait is explicit."""
    depends = service.get("depends_on", {})
    assert isinstance(depends, dict), f"depends_on without conditions: {depends}"
    return {name: entry["condition"] for name, entry in depends.items()}


def mounts(service: dict[str, Any]) -> dict[str, str]:
    """Volume target -> source (a named volume or a path relative to the compose file)."""
    found = {}
    for volume in service.get("volumes", []):
        source, target, *_ = volume.split(":")
        found[target] = source
    return found


def host_path(service: dict[str, Any], container_path: str) -> Path:
    """The repository file a bind mount puts at ``container_path`` in the container."""
    path = PurePosixPath(container_path)
    for target, source in mounts(service).items():
        if path.is_relative_to(target) and source.startswith("./"):
            return REPO / source / path.relative_to(target)
    raise AssertionError(f"{container_path} is not mounted from the repository")


def test_every_service_has_a_pinned_image_and_the_worker_is_built_here() -> None:
    found = services()
    assert set(found) == {
        "postgresql",
        SCHEMA_JOB,
        "temporal",
        NAMESPACE_JOB,
        "temporal-ui",
        "worker",
    }
    for name, service in found.items():
        image = service["image"]
        assert PINNED_IMAGE.match(image) and not image.endswith(":latest"), (name, image)
    assert found["temporal"]["image"].startswith("temporalio/server:")  # not auto-setup
    server_version = found["temporal"]["image"].split(":")[1]
    for job in (SCHEMA_JOB, NAMESPACE_JOB):  # schema tools of the server's own release
        assert found[job]["image"] == f"temporalio/admin-tools:{server_version}"
    worker = found["worker"]
    assert worker["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert worker["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert worker["environment"]["OPENAI_API_KEY_FILE"] == "/run/secrets/openai_api_key"


def test_every_wait_names_a_service_and_a_condition_it_can_meet() -> None:
    found = services()
    for name, service in found.items():
        for target, condition in waits(service).items():
            assert target in found and target != name, (name, target)
            assert condition in CONDITIONS, (name, target, condition)
            if condition == "service_healthy":
                assert found[target].get("healthcheck", {}).get("test"), (name, target)
            if condition == "service_completed_successfully":  # a job that ends
                assert str(found[target].get("restart", "no")).startswith(("no", "on-failure"))
                assert "command" in found[target] and "ports" not in found[target]
    order: list[str] = []  # a start order exists: no cycle of waits
    while len(order) < len(found):
        ready = [n for n, s in found.items() if n not in order and set(waits(s)) <= set(order)]
        assert ready, f"a cycle among {set(found) - set(order)}"
        order += ready


def test_temporals_own_order_schema_server_namespace_then_ui_and_worker() -> None:
    found = services()
    assert waits(found[SCHEMA_JOB]) == {"postgresql": "service_healthy"}
    assert waits(found["temporal"]) == {SCHEMA_JOB: "service_completed_successfully"}
    assert waits(found[NAMESPACE_JOB]) == {"temporal": "service_healthy"}
    assert waits(found["temporal-ui"]) == {"temporal": "service_healthy"}
    assert waits(found["worker"]) == {
        "temporal": "service_healthy",
        NAMESPACE_JOB: "service_completed_successfully",  # namespace and attributes exist
        "postgresql": "service_healthy",  # its SQL steps' database
    }
    server = found["temporal"]["environment"]
    assert server["DB"] == "postgres12" and server["POSTGRES_SEEDS"] == "postgresql"
    dynamic = PurePosixPath("/etc/temporal") / server["DYNAMIC_CONFIG_FILE_PATH"]
    assert yaml.safe_load(host_path(found["temporal"], str(dynamic)).read_text())


def test_named_volumes_secrets_and_mounted_files_exist() -> None:
    loaded = compose()
    for name, service in services().items():
        for source in mounts(service).values():
            if source.startswith("./"):  # ./workspace and ./secrets are the user's to make
                relative = source.removeprefix("./")
                assert relative in {"workspace"} or (REPO / relative).exists(), (name, source)
            elif not source.startswith("/"):
                assert source in (loaded.get("volumes") or {}), (name, source)
        for secret in service.get("secrets", []):
            assert secret in (loaded.get("secrets") or {}), (name, secret)
    assert loaded["secrets"]["openai_api_key"] == {"file": "./secrets/openai_api_key"}


def job_scripts(service: dict[str, Any]) -> list[Path]:
    """The repository scripts a one-shot job runs, in order."""
    command = service["command"]
    text = " ".join(command) if isinstance(command, list) else command
    return [host_path(service, word) for word in shlex.split(text) if word.endswith(".sh")]


def test_the_jobs_run_temporals_scripts_and_they_parse() -> None:
    found = services()
    schema, namespace = job_scripts(found[SCHEMA_JOB]), job_scripts(found[NAMESPACE_JOB])
    assert [p.name for p in schema] == ["setup-postgres.sh"]
    assert [p.name for p in namespace] == ["create-namespace.sh", "create-search-attributes.sh"]
    for script in schema + namespace:
        checked = subprocess.run(["sh", "-n", str(script)], capture_output=True, text=True)
        assert checked.returncode == 0, (script, checked.stderr)
    setup = schema[0].read_text()
    for database in ("temporal", "temporal_visibility"):
        assert (
            f"--db {database} setup-schema" in setup and f"--db {database} update-schema" in setup
        )
    assert "temporal operator namespace create" in namespace[0].read_text()


def test_the_namespace_job_creates_the_search_attributes_the_agent_publishes() -> None:
    job = services()[NAMESPACE_JOB]
    pairs = job["environment"]["AGENT_SEARCH_ATTRIBUTES"].split()
    assert dict(pair.split("=", 1) for pair in pairs) == SEARCH_ATTRIBUTES
    namespace = job["environment"]["DEFAULT_NAMESPACE"]
    script = job_scripts(job)[-1].read_text()
    assert "for pair in $AGENT_SEARCH_ATTRIBUTES" in script
    command = (
        'search-attribute create --namespace "$NAMESPACE" \\\n      --name "$name" --type "$type"'
    )
    assert command in script
    assert create_commands(namespace)[0].startswith(  # the command the docs give by hand
        f"temporal operator search-attribute create --namespace {namespace} --name"
    )


def test_the_worker_resolves_worker_names_in_the_mounted_workspace() -> None:
    worker = services()["worker"]
    root = worker["environment"]["AGENT_WORKSPACE_ROOT"]
    assert mounts(worker)[root] == "./workspace"
    assert "--workspace worker:" in COMPOSE.read_text()  # the header shows how to start runs
    assert f"AGENT_WORKSPACE_ROOT={root}" in (REPO / "Dockerfile").read_text()


def test_the_dockerfile_copies_every_package_the_worker_needs() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    packages = pyproject["tool"]["setuptools"]["packages"]
    assert "durable_agents" in packages
    for package in packages:  # durable_agents.X links to the top-level folder X
        folder = package.removeprefix("durable_agents.")
        assert f"COPY {folder} ./{folder}" in dockerfile, package
    copied = re.findall(r"^COPY (.+) \./\S*$", dockerfile, re.MULTILINE)
    for sources in copied:
        for source in sources.split():
            assert (REPO / source).exists(), source
    assert dockerfile.splitlines()[-1] == 'CMD ["python", "worker.py"]'
    assert re.search(r"^FROM python:3\.11-slim$", dockerfile, re.MULTILINE)
    assert "USER agent" in dockerfile  # not root


COMPILEALL = re.compile(r"python -m compileall (?P<options>(?:-\S+ (?:\S+ )?)*)/app\b")


def test_the_dockerfile_compiles_bytecode_before_dropping_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text()
    compiled = COMPILEALL.search(dockerfile)
    assert compiled, "no python -m compileall ... /app"
    assert "--invalidation-mode checked-hash" in compiled["options"]  # mtimes do not matter
    assert 'get_path("purelib"))\')/durable_agents' in dockerfile  # the installed package
    last_copy = max(m.start() for m in re.finditer(r"^COPY ", dockerfile, re.MULTILINE))
    assert last_copy < compiled.start() < dockerfile.index("USER agent")


def test_compiled_modules_load_without_writing_whatever_pythondontwritebytecode(
    tmp_path: Path,
) -> None:
    """The Dockerfile's compileall on a copy laid out like /app: with bytecode writes off,
    the workflow module comes from the .pyc, through the durable_agents symlinks too."""
    compiled = COMPILEALL.search((REPO / "Dockerfile").read_text())
    assert compiled
    app = tmp_path / "app"
    packages = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    for folder in [p.removeprefix("durable_agents.") for p in packages["packages"][1:]]:
        shutil.copytree(REPO / folder, app / folder, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copytree(REPO / "durable_agents", app / "durable_agents", symlinks=True)
    options = shlex.split(compiled["options"])
    subprocess.run([sys.executable, "-m", "compileall", *options, str(app)], check=True)
    for dont_write in ("1", ""):
        env = {**os.environ, "PYTHONDONTWRITEBYTECODE": dont_write, "PYTHONPATH": str(app)}
        loaded = subprocess.run(
            [sys.executable, "-v", "-c", "import durable_agents.workflows.agent"],
            cwd=app,
            env=env,
            capture_output=True,
            text=True,
            check=True,
        ).stderr
        cached = app / "durable_agents/workflows/__pycache__"
        assert re.search(rf"# {re.escape(str(cached))}/agent\.cpython-\S+\.pyc matches ", loaded)
        from_source = re.findall(rf"code object from {re.escape(str(app))}\S+\.py$", loaded, re.M)
        assert not from_source, from_source  # no module of ours compiled at import


def test_sql_steps_use_their_own_database_and_a_least_privilege_role() -> None:
    found = services()
    url = urlsplit(found["worker"]["environment"]["DATABASE_URL"])
    database = found["postgresql"]["environment"]
    assert url.hostname == "postgresql" and url.path == "/agent"
    assert url.path.strip("/") not in {"temporal", "temporal_visibility", "postgres"}
    assert url.username not in {database["POSTGRES_USER"], "postgres", "temporal"}
    assert mounts(found["postgresql"])["/docker-entrypoint-initdb.d"] == "./deploy/postgres-init"
    script = (REPO / "deploy" / "postgres-init" / "10-agent-sql.sh").read_text()
    assert f"CREATE ROLE {url.username} LOGIN NOSUPERUSER" in script
    assert "CREATE DATABASE agent;" in script and not re.search(r"\bSUPERUSER\b", script)
