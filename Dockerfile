# The agent worker as a container: docker compose -f docker-compose.temporal.yml up -d
# It needs an LLM provider (OPENAI_API_KEY / OPENAI_API_KEY_FILE, or OPENAI_BASE_URL):
# the embedded offline model (the "offline" extra, 1.2 GB) is not installed here.
FROM python:3.11-slim

WORKDIR /app
COPY pyproject.toml README.md ./
COPY contracts ./contracts
COPY workflows ./workflows
COPY rules ./rules
COPY activities ./activities
COPY runtime ./runtime
COPY examples ./examples
COPY data ./data
COPY cli ./cli
COPY durable_agents ./durable_agents
COPY worker.py starter.py ./
# Bytecode is compiled here, as root: the worker runs as "agent", who cannot write
# __pycache__ under /app or site-packages, so without it every start (and any sandboxed
# workflow, whose module the sandbox imports again for each run) would compile the
# sources anew. checked-hash .pyc files stay valid whatever the files' timestamps and are
# read whether or not PYTHONDONTWRITEBYTECODE is set at run time. worker.py imports
# durable_agents from /app (its symlinks lead to the folders above), the installed
# console scripts from site-packages: both are compiled.
RUN pip install --no-cache-dir --compile . \
    && python -m compileall -q --invalidation-mode checked-hash /app \
        "$(python -c 'import sysconfig; print(sysconfig.get_path("purelib"))')/durable_agents" \
    && useradd --create-home --uid 1000 agent \
    && mkdir -p /workspace && chown agent /workspace

USER agent
ENV AGENT_STATE_DIR=/home/agent/.agent-state \
    AGENT_WORKSPACE_ROOT=/workspace \
    PYTHONUNBUFFERED=1
CMD ["python", "worker.py"]
