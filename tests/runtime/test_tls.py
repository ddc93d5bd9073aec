"""Connecting through an envconfig profile over real mutual TLS (a TLS-terminating proxy on
loopback in front of the dev server, with certificates made by the test)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from temporalio.client import Client
from temporalio.envconfig import ClientConfigProfile
from temporalio.testing import WorkflowEnvironment

from durable_agents.runtime.connection import connect, connect_config
from tests.conftest import running_worker
from tests.fake_llm import FakeLlm
from tests.processes import spawn_worker
from tests.test_approvals_cli import run
from tests.test_starter import REPO, clean_env
from tests.tls_proxy import Pki, TlsProxy, make_pki
from tests.workflows.runs import DEMO_PLAN, start


@pytest.fixture
async def tls(
    temporal_env: WorkflowEnvironment, tmp_path: Path
) -> AsyncIterator[tuple[Pki, TlsProxy]]:
    pki = make_pki(tmp_path)
    proxy = await TlsProxy(pki, temporal_env.client.service_client.config.target_host).start()
    yield pki, proxy
    await proxy.stop()


def profile_file(folder: Path, pki: Pki, address: str) -> Path:
    """What a self-hosted TLS profile looks like (examples/temporal.toml has more)."""
    path = folder / "temporal.toml"
    path.write_text(
        f"""
[profile.selfhosted]
address = "{address}"
namespace = "default"

[profile.selfhosted.tls]
server_ca_cert_path = "{pki.ca}"
client_cert_path = "{pki.client_cert}"
client_key_path = "{pki.client_key}"
server_name = "localhost"

[profile.no_client_cert]
address = "{address}"

[profile.no_client_cert.tls]
server_ca_cert_path = "{pki.ca}"
"""
    )
    return path


async def test_a_run_over_mutual_tls_through_a_profile(
    tls: tuple[Pki, TlsProxy],
    tmp_path: Path,
    task_queue: str,
    workspace: Path,
    fake_llm: FakeLlm,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki, proxy = tls
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(profile_file(tmp_path, pki, proxy.address)))
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    client = await connect(connect_config("selfhosted"))
    async with running_worker(client, task_queue, fake_llm):
        handle = await start(client, task_queue, workspace, plan=DEMO_PLAN, review=False)
        assert (await handle.result()).status == "succeeded"
    assert proxy.handshakes >= 1  # every call went through TLS

    with pytest.raises(RuntimeError):  # the proxy demands a client certificate
        await Client.connect(**connect_config("no_client_cert"))


async def test_the_starter_and_its_worker_connect_through_the_profile(
    tls: tuple[Pki, TlsProxy], tmp_path: Path, workspace: Path
) -> None:
    pki, proxy = tls
    env = clean_env(
        TEMPORAL_CONFIG_FILE=str(profile_file(tmp_path, pki, proxy.address)),
        AGENT_TASK_QUEUE=f"tls-{tmp_path.name[-8:]}",
        AGENT_STATE_DIR=str(workspace / ".state"),
    )
    command = [sys.executable, str(REPO / "starter.py"), "--profile", "selfhosted"]
    command += ["--plan", str(REPO / "examples/revenue_plan.json"), "--workspace", str(workspace)]
    done = await run(command, env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert (workspace / "out/revenue.json").exists()

    missing = await run([*command[:3], "nope", *command[4:]], env)
    assert missing.returncode == 2 and "nope" in missing.stderr


@pytest.mark.parametrize("name", ["local", "selfhosted", "cloud"])
def test_the_example_profiles_load(name: str) -> None:
    example = REPO / "examples/temporal.toml"
    profile = ClientConfigProfile.load(
        name, config_source=example, disable_env=True, config_file_strict=True
    )
    assert profile.address and profile.namespace
    if name == "selfhosted":
        assert profile.tls and profile.tls.server_name == "temporal.internal"
        assert profile.tls.client_cert == Path("/etc/temporal/tls/agent-worker.pem")
    if name == "cloud":
        assert profile.api_key


async def test_worker_py_serves_runs_through_the_profile(
    tls: tuple[Pki, TlsProxy],
    tmp_path: Path,
    task_queue: str,
    workspace: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pki, proxy = tls
    config_file = profile_file(tmp_path, pki, proxy.address)
    env = clean_env(TEMPORAL_CONFIG_FILE=str(config_file), AGENT_TASK_QUEUE=task_queue)
    monkeypatch.setenv("TEMPORAL_CONFIG_FILE", str(config_file))
    for name in ("TEMPORAL_ADDRESS", "TEMPORAL_NAMESPACE", "TEMPORAL_API_KEY"):
        monkeypatch.delenv(name, raising=False)
    worker = await spawn_worker(env, "--profile", "selfhosted", stderr=asyncio.subprocess.PIPE)
    try:
        client = await connect(connect_config("selfhosted"))
        handle = await start(client, task_queue, workspace, plan=DEMO_PLAN, review=False)
        async with asyncio.timeout(60):
            assert (await handle.result()).status == "succeeded"
    finally:
        worker.terminate()
        _, errors = await worker.communicate()
    assert worker.returncode == 0, errors.decode()[-2000:]
    assert b"worker polling task queue" in errors
