"""The compose file and the Dockerfile, checked without Docker (no engine on this machine):
valid YAML, pinned images, a worker built from this repository, and a Dockerfile that
copies what the worker imports."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from urllib.parse import urlsplit

import yaml

REPO = Path(__file__).parents[1]
PINNED_IMAGE = re.compile(r"^[a-z0-9./_-]+:[A-Za-z0-9._-]+$")


def compose() -> dict[str, object]:
    loaded = yaml.safe_load((REPO / "docker-compose.temporal.yml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_every_service_has_a_pinned_image_and_the_worker_is_built_here() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    assert set(services) == {"postgresql", "temporal", "temporal-ui", "worker"}
    for name, service in services.items():
        image = service["image"]
        assert PINNED_IMAGE.match(image) and not image.endswith(":latest"), (name, image)
    worker = services["worker"]
    assert worker["build"] == {"context": ".", "dockerfile": "Dockerfile"}
    assert worker["environment"]["TEMPORAL_ADDRESS"] == "temporal:7233"
    assert worker["depends_on"] == ["temporal"]
    secrets = compose()["secrets"]
    assert isinstance(secrets, dict) and set(worker["secrets"]) <= set(secrets)
    assert worker["environment"]["OPENAI_API_KEY_FILE"] == "/run/secrets/openai_api_key"


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


def test_sql_steps_use_their_own_database_and_a_least_privilege_role() -> None:
    services = compose()["services"]
    assert isinstance(services, dict)
    url = urlsplit(services["worker"]["environment"]["DATABASE_URL"])
    database = services["postgresql"]["environment"]
    assert url.hostname == "postgresql" and url.path == "/agent"
    assert url.path.strip("/") not in {"temporal", "temporal_visibility", "postgres"}
    assert url.username not in {database["POSTGRES_USER"], "postgres", "temporal"}
    mounts = dict(volume.split(":", 1) for volume in services["postgresql"]["volumes"])
    assert mounts["./deploy/postgres-init"] == "/docker-entrypoint-initdb.d:ro"
    script = (REPO / "deploy" / "postgres-init" / "10-agent-sql.sh").read_text()
    assert f"CREATE ROLE {url.username} LOGIN NOSUPERUSER" in script
    assert "CREATE DATABASE agent;" in script and not re.search(r"\bSUPERUSER\b", script)
