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
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 1000 agent \
    && mkdir -p /workspace && chown agent /workspace

USER agent
ENV AGENT_STATE_DIR=/home/agent/.agent-state \
    PYTHONUNBUFFERED=1
CMD ["python", "worker.py"]
